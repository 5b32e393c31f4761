"""The ACME HTTP-01 challenge path skips the login on plain HTTP only, in every shape.

HTTP-01 challenges arrive on port 80. Over HTTPS the path is an app path like any other: an external
service (no sidecar behind the gateway) would otherwise answer ``/.well-known/acme-challenge/...``
(``..%2Fadmin`` included) to anyone.
"""

from __future__ import annotations

import copy

import pytest
from topology_support import MODES, config

import meshauth
from meshauth.authz import matcher as authz
from meshauth.authz.matcher import Call

ATTACK = "/.well-known/acme-challenge/..%2Fadmin"
CHALLENGE = "/.well-known/acme-challenge/x9Tk3"


def _mode(mode: str) -> dict:
    overrides = copy.deepcopy(MODES[mode])
    platform = overrides.pop("platform", {})
    return config(istio=platform.get("istioVersion", "1.30"), **overrides)


def _gateway_rules(bundle, action):
    return [
        rule
        for o in bundle.objects
        if o["kind"] == "AuthorizationPolicy"
        and o["metadata"]["namespace"] == "istio-system"
        and o["spec"].get("action", "ALLOW") == action
        for rule in o["spec"].get("rules", [])
    ]


def _matches(rules, host, path, port) -> bool:
    call = Call(host, path, "GET", port)
    return any(authz.rule_matches(rule, call) is True for rule in rules)


@pytest.mark.parametrize("mode", sorted(MODES))
@pytest.mark.parametrize("host", ["wiki.example.com", "grafana.example.com"])
def test_over_https_the_challenge_path_needs_the_login_and_a_token(mode, host):
    bundle = meshauth.render(_mode(mode))
    logins, allows = _gateway_rules(bundle, "CUSTOM"), _gateway_rules(bundle, "ALLOW")
    for path in (ATTACK, CHALLENGE):
        if mode != "envoyfilter":  # the EnvoyFilter's ext_authz runs on every HTTPS request
            assert _matches(logins, host, path, 443), (mode, path)
        assert not _matches(allows, host, path, 443), (mode, path)  # no token: denied


@pytest.mark.parametrize("mode", sorted(MODES))
def test_on_plain_http_the_challenge_reaches_the_solver_without_login(mode):
    bundle = meshauth.render(_mode(mode))
    logins, allows = _gateway_rules(bundle, "CUSTOM"), _gateway_rules(bundle, "ALLOW")
    assert not _matches(logins, "wiki.example.com", CHALLENGE, 80)
    assert _matches(allows, "wiki.example.com", CHALLENGE, 80)
    assert not _matches(allows, "wiki.example.com", "/admin", 80)  # only the challenge path


@pytest.mark.parametrize("mode", ["sidecar", "ambient", "envoyfilter"])
def test_simulate_an_attacker_on_https_gets_the_login_not_the_external_service(mode):
    data = _mode(mode)
    https = meshauth.simulate(data, host="wiki.example.com", path=ATTACK, port=443)
    assert not https.allowed, https.explain()
    assert "wiki.internal" not in (https.destination or "")
    solver = meshauth.simulate(data, host="wiki.example.com", path=CHALLENGE, port=80)
    assert solver.allowed and "cert-manager" in solver.decided_by, solver.explain()


def test_istio_gateway_ports_cover_both_ingress_gateway_installs():
    """istioctl's ingress gateway listens on 8080 for Service port 80; the Helm chart on 80."""
    rules = _gateway_rules(meshauth.render(_mode("sidecar")), "ALLOW")
    assert _matches(rules, "wiki.example.com", CHALLENGE, 8080)
    assert not _matches(rules, "wiki.example.com", CHALLENGE, 8443)
    gateway_api = _gateway_rules(meshauth.render(_mode("gateway-api")), "ALLOW")
    assert not _matches(gateway_api, "wiki.example.com", CHALLENGE, 8080)
