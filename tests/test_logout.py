"""Logout: /oauth2/sign_out, the IdP's end-session redirect, and oauth2-proxy's backend logout."""

from __future__ import annotations

import pytest
from policy_sim import judge
from upstream_flags import proxy_container

import meshauth

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
KEYCLOAK = {"preset": "keycloak", "issuerUrl": "https://sso.example.com/realms/ops", "clientId": "c"}
AZURE = {"preset": "azure", "tenant": TENANT, "clientId": "c"}


def render(identity, **proxy):
    proxy.setdefault("cookie", {"refresh": "4m"})
    proxy.setdefault("sessionStore", {"type": "redis", "deploy": True})
    return meshauth.render(
        {
            "apiVersion": "meshauth.dev/v1alpha1",
            "kind": "MeshAuthConfig",
            "metadata": {"name": "l"},
            "spec": {
                "platform": {"istioVersion": "1.22"},
                "tls": {},
                "identity": identity,
                "oauth2Proxy": proxy,
                "apps": [{"name": "a", "host": "a.example.com"}],
            },
        }
    )


def args(bundle, prefix):
    return [a for a in proxy_container(bundle)["args"] if a.startswith(prefix)]


def test_sign_out_reaches_oauth2_proxy_through_the_login_policy():
    bundle = render(KEYCLOAK)
    signout = {"host": "a.example.com", "path": "/oauth2/sign_out", "headers": {}}
    assert judge(list(bundle.objects), {"app": "istio-ingressgateway"}, signout) == "ext_authz"


@pytest.mark.parametrize("version, flag", [("v7.6.0", True), ("v7.15.3", True), ("v7.5.1", False)])
def test_keycloak_gets_backend_logout_where_the_release_has_it(version, flag):
    bundle = render(KEYCLOAK, version=version)
    expected = (
        [
            "--backend-logout-url=https://sso.example.com/realms/ops/protocol/openid-connect/logout"
            "?id_token_hint={id_token}"
        ]
        if flag
        else []
    )
    assert args(bundle, "--backend-logout-url") == expected
    assert [w.rule for w in bundle.warnings] == ([] if flag else ["MA064"])


def test_backend_logout_can_be_turned_off_or_forced():
    assert args(render(KEYCLOAK, logout={"backend": False}), "--backend-logout") == []
    forced = render({**AZURE}, logout={"backend": True}, cookie={"refresh": "30m"})
    assert args(forced, "--backend-logout-url") == [
        f"--backend-logout-url=https://login.microsoftonline.com/{TENANT}/oauth2/v2.0/logout"
        "?id_token_hint={id_token}"
    ]
    assert args(render({**AZURE}, cookie={"refresh": "30m"}), "--backend-logout") == []  # not by default


def test_an_end_session_url_with_a_query_gets_the_hint_appended():
    identity = {
        "preset": "generic",
        "issuerUrl": "https://idp.example.com",
        "jwksUri": "https://idp.example.com/k",
        "endSessionUrl": "https://idp.example.com/logout?client_id=c",
        "clientId": "c",
    }
    assert args(render(identity, logout={"backend": True}), "--backend-logout-url") == [
        "--backend-logout-url=https://idp.example.com/logout?client_id=c&id_token_hint={id_token}"
    ]


def test_the_end_session_host_is_whitelisted_for_the_rd_redirect():
    bundle = render(AZURE, cookie={"refresh": "30m"})
    assert args(bundle, "--whitelist-domain") == [
        "--whitelist-domain=a.example.com",
        "--whitelist-domain=login.microsoftonline.com",
    ]
    off = render(AZURE, cookie={"refresh": "30m"}, logout={"endSession": False})
    assert args(off, "--whitelist-domain") == ["--whitelist-domain=a.example.com"]
    google = render({"preset": "google", "clientId": "c"}, cookie={"refresh": "30m"})
    assert args(google, "--whitelist-domain") == ["--whitelist-domain=a.example.com"]


def test_an_explicit_whitelist_without_the_end_session_host_is_flagged():
    bundle = render(AZURE, cookie={"refresh": "30m"}, whitelistDomains=["a.example.com"])
    assert [w.rule for w in bundle.warnings] == ["MA065"]
    ok = render(AZURE, cookie={"refresh": "30m"}, whitelistDomains=["a.example.com", ".microsoftonline.com"])
    assert ok.warnings == ()
