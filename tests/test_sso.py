"""One login for all apps: the derived cookie domain, public suffixes, and explicit settings."""

from __future__ import annotations

import copy

import pytest
import yaml
from conftest import ROOT

import meshauth
from meshauth.config import sso

QUICKSTART = yaml.safe_load((ROOT / "examples" / "quickstart.yaml").read_text())


def config(hosts_per_app: list[list[str]], **cookie) -> dict:
    data = copy.deepcopy(QUICKSTART)
    data["spec"]["apps"] = [{"name": f"app{i}", "hosts": hosts} for i, hosts in enumerate(hosts_per_app)]
    data["spec"]["oauth2Proxy"]["cookie"].update(cookie)
    return data


def proxy_args(data: dict) -> list[str]:
    bundle = meshauth.render(meshauth.load_config(data))
    deployment = next(
        o for o in bundle.objects if o["kind"] == "Deployment" and o["metadata"]["name"] == "oauth2-proxy"
    )
    return deployment["spec"]["template"]["spec"]["containers"][0]["args"]


def cookie_flags(data: dict) -> list[str]:
    return [a for a in proxy_args(data) if a.startswith("--cookie-domain=")]


@pytest.mark.parametrize(
    "hosts, parent",
    [
        (["a.example.com", "b.example.com"], "example.com"),
        (["a.team.example.com", "b.team.example.com"], "team.example.com"),
        (["a.example.com", "b.team.example.com"], "example.com"),
        (["example.com", "app.example.com"], "example.com"),
        (["shop.acme.co.uk", "blog.acme.co.uk"], "acme.co.uk"),
        (["a.example.com", "b.example.org"], None),
        (["a.example.com"], "a.example.com"),
    ],
)
def test_common_parent(hosts, parent):
    assert sso.common_parent(hosts) == parent


@pytest.mark.parametrize(
    "domain, public",
    [
        ("com", True),
        ("co.uk", True),
        ("github.io", True),
        ("com.au", True),
        ("example.com", False),
        ("acme.co.uk", False),
        ("internal", True),
        (".co.uk", True),
        ("user.github.io", False),
    ],
)
def test_public_suffixes(domain, public):
    assert sso.is_public_suffix(domain) is public


def test_apps_under_one_parent_share_one_cookie():
    data = config([["grafana.apps.example.com"], ["kiali.apps.example.com", "jaeger.apps.example.com"]])
    assert cookie_flags(data) == ["--cookie-domain=apps.example.com"]
    whitelist = [a for a in proxy_args(data) if a.startswith("--whitelist-domain=")]
    assert whitelist == [
        "--whitelist-domain=grafana.apps.example.com",
        "--whitelist-domain=kiali.apps.example.com",
        "--whitelist-domain=jaeger.apps.example.com",
    ]


def test_one_host_keeps_a_host_only_cookie():
    assert cookie_flags(config([["grafana.example.com"]])) == []


def test_unrelated_domains_are_refused_with_the_fix():
    with pytest.raises(meshauth.ConfigError) as caught:
        meshauth.load_config(config([["a.example.com"], ["b.example.org"]]))
    (problem,) = caught.value.problems
    assert problem.path == "spec.oauth2Proxy.cookie.domains"
    assert "(a.example.com, b.example.org) share no parent domain" in problem.message
    assert "set oauth2Proxy.cookie.domains" in problem.message and "shared: false" in problem.message


def test_a_shared_public_suffix_is_not_a_parent():
    with pytest.raises(meshauth.ConfigError, match="only share the public suffix co.uk"):
        meshauth.load_config(config([["shop.acme.co.uk"], ["blog.other.co.uk"]]))
    with pytest.raises(meshauth.ConfigError, match="only share the public suffix github.io"):
        meshauth.load_config(config([["one.github.io"], ["two.github.io"]]))


def test_explicit_domains_override_the_derivation():
    data = config([["a.example.com"], ["b.example.org"]], domains=["example.com", ".example.org"])
    assert cookie_flags(data) == ["--cookie-domain=example.com", "--cookie-domain=example.org"]
    data = config([["a.team.example.com"], ["b.team.example.com"]], domains=["example.com"])
    assert cookie_flags(data) == ["--cookie-domain=example.com"]


@pytest.mark.parametrize(
    "domains, message",
    [(["co.uk"], "co.uk is a public suffix"), (["example.org"], "host a.example.com lies outside every")],
)
def test_explicit_domains_that_cannot_work(domains, message):
    with pytest.raises(meshauth.ConfigError, match=message):
        meshauth.load_config(config([["a.example.com"]], domains=domains))


def test_shared_false_keeps_a_cookie_per_host():
    assert cookie_flags(config([["a.example.com"], ["b.example.org"]], shared=False)) == []


def test_whitelist_entries_keep_their_subdomain_prefix():
    data = config([["a.example.com"]])
    data["spec"]["oauth2Proxy"]["whitelistDomains"] = [".example.com", "*.example.org", "login.example.net:*"]
    assert [a for a in proxy_args(data) if a.startswith("--whitelist-domain=")] == [
        "--whitelist-domain=.example.com",
        "--whitelist-domain=*.example.org",
        "--whitelist-domain=login.example.net:*",
    ]


def test_multi_app_configs_share_one_login_in_every_repository_config():
    """Every shipped example and valid case with several hosts sets a cookie domain covering them."""
    paths = sorted((ROOT / "examples").glob("*.yaml")) + sorted((ROOT / "tests/cases/valid").glob("*.yaml"))
    checked = 0
    for path in paths:
        loaded = meshauth.load_config(path)
        hosts = loaded.spec.hosts()
        if (
            len(hosts) < 2
            or not loaded.spec.oauth2_proxy.cookie.shared
            or loaded.spec.authorizer != "oauth2-proxy"
        ):
            continue  # one host, a cookie per host, or authservice (no oauth2-proxy)
        domains = [a.split("=", 1)[1] for a in proxy_args(loaded) if a.startswith("--cookie-domain=")]
        assert domains, path.name
        for host in hosts:
            assert any(sso.within(host, d) for d in domains), (path.name, host)
        checked += 1
    assert checked >= 5


def test_builtin_suffixes_are_public_suffix_list_entries():
    """Where the system ships the Public Suffix List (Debian's publicsuffix package), every built-in
    multi-label suffix must be one of its rules."""
    from pathlib import Path

    path = Path("/usr/share/publicsuffix/public_suffix_list.dat")
    if not path.is_file():
        pytest.skip("no system copy of the Public Suffix List (Debian package publicsuffix)")
    rules = {
        line.strip()
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("//")
    }
    assert (
        sorted(s for s in sso.MULTI_LABEL_PUBLIC_SUFFIXES if s not in rules and f"*.{s}" not in rules) == []
    )
