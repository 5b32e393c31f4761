"""MA008 on hand-written gateway logins: a CUSTOM policy that asks who the caller is (the external
authorizer runs before the JWT is checked, so Istio rejects it and no login happens) is reported at
the exact field; what CUSTOM can evaluate, and identity checks in ALLOW or DENY policies, are not."""

from __future__ import annotations

import pytest

import meshauth

GATEWAY = {"istio": "ingressgateway"}


def _policy(action, rules, name="login"):
    spec = {"selector": {"matchLabels": GATEWAY}, "action": action, "rules": rules}
    if action == "CUSTOM":
        spec["provider"] = {"name": "oauth2-proxy"}
    return {
        "apiVersion": "security.istio.io/v1",
        "kind": "AuthorizationPolicy",
        "metadata": {"name": name, "namespace": "istio-system"},
        "spec": spec,
    }


def ma008(*policies):
    return [(f.path, f.message.split(":")[0]) for f in meshauth.validate(list(policies)) if f.rule == "MA008"]


LOGIN = {"to": [{"operation": {"hosts": ["app.example.com"], "notPaths": ["/healthz"]}}]}


@pytest.mark.parametrize(
    "field",
    [
        "principals",
        "notPrincipals",
        "requestPrincipals",
        "notRequestPrincipals",
        "namespaces",
        "notNamespaces",
    ],
)
def test_each_identity_field_of_a_custom_login_is_reported_where_it_is(field):
    rule = {**LOGIN, "from": [{"source": {"ipBlocks": ["10.0.0.0/8"]}}, {"source": {field: ["x"]}}]}
    assert ma008(_policy("CUSTOM", [LOGIN, rule])) == [(f"spec.rules[1].from[1].source.{field}", field)]


@pytest.mark.parametrize(
    "key, reported",
    [
        ("request.auth.claims[groups]", True),
        ("request.auth.principal", True),
        ("source.principal", True),
        ("source.namespace", True),
        ("request.headers[x-team]", False),
        ("source.ip", False),
        ("destination.port", False),
    ],
)
def test_a_custom_login_condition_on_who_is_calling_is_reported(key, reported):
    rule = {**LOGIN, "when": [{"key": "destination.port", "values": ["443"]}, {"key": key, "values": ["x"]}]}
    expected = [("spec.rules[0].when[1].key", key)] if reported else []
    assert ma008(_policy("CUSTOM", [rule])) == expected


def test_identity_checks_belong_in_allow_and_deny_policies_and_are_fine_there():
    rule = {
        **LOGIN,
        "from": [{"source": {"requestPrincipals": ["*"], "namespaces": ["apps"]}}],
        "when": [{"key": "request.auth.claims[groups]", "values": ["admins"]}],
    }
    assert (
        ma008(_policy("ALLOW", [rule], "access"), _policy("DENY", [rule], "deny"), _policy("CUSTOM", [LOGIN]))
        == []
    )


def test_a_custom_login_on_hosts_paths_methods_and_ports_is_fine():
    rule = {
        "to": [{"operation": {"hosts": ["app.example.com"], "methods": ["GET"], "ports": ["443"]}}],
        "from": [
            {"source": {"ipBlocks": ["10.0.0.0/8"], "remoteIpBlocks": ["192.0.2.0/24"]}},
            {"source": None},
        ],
    }
    assert ma008(_policy("CUSTOM", [rule, LOGIN])) == []
