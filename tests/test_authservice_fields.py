"""With ``authorizer: authservice`` every setting has its effect or is reported: the oauth2Proxy
fields authservice cannot honour are refused (when they would admit more) or warned about, the
session always ends (Redis always gets a TTL), and oauth2-proxy's cookie-size warning stays quiet."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
import yaml
from conftest import ROOT

import meshauth

EXAMPLE = yaml.safe_load((ROOT / "examples" / "authservice.yaml").read_text(encoding="utf-8"))


def config(**proxy: Any) -> dict[str, Any]:
    data = copy.deepcopy(EXAMPLE)
    if proxy:
        data["spec"]["oauth2Proxy"] = proxy
    return data


def oidc(bundle: meshauth.Bundle) -> dict[str, Any]:
    config_map = next(
        o for o in bundle.objects if o["kind"] == "ConfigMap" and o["metadata"]["name"] == "authservice"
    )
    chains = json.loads(config_map["data"]["config.json"])["chains"]
    settings = [c["filters"][0]["oidc"] for c in chains]
    same = {json.dumps({k: v for k, v in s.items() if k != "callback_uri"}, sort_keys=True) for s in settings}
    assert len(same) == 1  # every host's chain logs in the same way, with its own callback
    return settings[0]


def test_email_domains_are_refused_because_authservice_would_admit_every_domain():
    with pytest.raises(meshauth.ConfigError) as error:
        meshauth.load_config(config(emailDomains=["example.com"]))
    message = str(error.value)
    assert "spec.oauth2Proxy.emailDomains" in message
    assert "checks no email domain" in message and "apps[].authorization.emails" in message


def test_the_default_email_domains_admit_any_domain_as_authservice_does():
    assert meshauth.render(config(emailDomains=["*"])).objects


def test_a_strict_same_site_cookie_is_refused_authservice_sets_lax():
    with pytest.raises(meshauth.ConfigError, match=r"spec\.oauth2Proxy\.cookie\.sameSite: has no effect"):
        meshauth.load_config(config(cookie={"sameSite": "strict"}))


@pytest.mark.parametrize(
    ("proxy", "path"),
    [
        ({"cookie": {"refresh": "30m"}}, "spec.oauth2Proxy.cookie.refresh"),
        ({"cookie": {"domains": ["example.com"]}}, "spec.oauth2Proxy.cookie.domains"),
        ({"whitelistDomains": [".example.com"]}, "spec.oauth2Proxy.whitelistDomains"),
        ({"replicas": 3}, "spec.oauth2Proxy.replicas"),
        (
            {"sessionStore": {"type": "redis", "url": "redis://r.example.com:6379"}},
            "spec.oauth2Proxy.sessionStore",
        ),
        ({"extraArgs": {"skip-provider-button": True}}, "spec.oauth2Proxy.extraArgs"),
    ],
)
def test_settings_authservice_ignores_are_named_in_a_warning(proxy, path):
    bundle = meshauth.render(config(**proxy))
    named = [w for w in bundle.warnings if w.path == path]
    assert named and "has no effect with authorizer: authservice" in named[0].message


def test_the_example_gets_no_warning_about_oauth2_proxy_settings():
    bundle = meshauth.render(config())
    assert not [w for w in bundle.warnings if (w.path or "").startswith("spec.oauth2Proxy")]


def test_sessions_end_after_cookie_expire_by_default():
    """authservice sets no Redis TTL when both timeouts are 0 (internal/oidc/redis.go)."""
    assert oidc(meshauth.render(config()))["absolute_session_timeout"] == 4 * 3600
    assert "idle_session_timeout" not in oidc(meshauth.render(config()))


def test_cookie_expire_and_the_idle_timeout_are_rendered():
    data = config(cookie={"expire": "8h"})
    data["spec"]["authservice"]["idleSessionTimeout"] = "30m"
    settings = oidc(meshauth.render(data))
    assert settings["absolute_session_timeout"] == 8 * 3600
    assert settings["idle_session_timeout"] == 1800
    assert settings["redis_session_store_config"] == {
        "server_uri": "redis://redis.authservice.svc.cluster.local:6379"
    }


def test_sessions_that_would_never_end_are_refused():
    with pytest.raises(meshauth.ConfigError, match=r"spec\.authservice\.idleSessionTimeout: required"):
        meshauth.load_config(config(cookie={"expire": "0"}))
    data = config(cookie={"expire": "0"})
    data["spec"]["authservice"]["idleSessionTimeout"] = "1h"
    settings = oidc(meshauth.render(data))
    assert (
        settings == {**settings, "idle_session_timeout": 3600} and "absolute_session_timeout" not in settings
    )


def test_authservice_needs_tls_its_cookie_is_always_secure():
    data = config(cookie={"secure": False})
    del data["spec"]["tls"]
    with pytest.raises(
        meshauth.ConfigError, match=r"spec\.tls: authservice's session cookie is always Secure"
    ):
        meshauth.load_config(data)


def test_the_cookie_size_warning_is_oauth2_proxys_only():
    """keycloak's tokens make oauth2-proxy's cookie about 5 KB; authservice's holds a session id."""
    authservice = meshauth.render(config())
    assert not [w for w in authservice.warnings if w.rule == "MA062"]
    assert not [f for f in meshauth.validate(authservice) if f.rule == "MA062"]
    proxy = copy.deepcopy(EXAMPLE)
    proxy["spec"].pop("authorizer")
    proxy["spec"].pop("authservice")
    assert [w for w in meshauth.render(proxy).warnings if w.rule == "MA062"]
