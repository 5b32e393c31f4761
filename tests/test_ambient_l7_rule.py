"""MA070 on hand-written ambient namespaces: a policy ztunnel (L4 only) would enforce but cannot,
one finding on its selector; L4 policies, policies with targetRefs, and namespaces that are not
(only) ambient are silent."""

from __future__ import annotations

import pytest

import meshauth


def namespace(**labels):
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "apps", "labels": labels}}


AMBIENT = namespace(**{"istio.io/dataplane-mode": "ambient"})


def policy(rules=None, kind="AuthorizationPolicy", **spec):
    body = {"selector": {"matchLabels": {"app": "web"}}, **spec}
    if rules is not None:
        body["rules"] = rules
    return {
        "apiVersion": "security.istio.io/v1",
        "kind": kind,
        "metadata": {"name": "p", "namespace": "apps"},
        "spec": body,
    }


def ma070(docs):
    return [(f.object, f.path) for f in meshauth.validate(docs) if f.rule == "MA070"]


FOUND = [("AuthorizationPolicy apps/p", "spec.selector")]


@pytest.mark.parametrize(
    "rule",
    [
        {"from": [{"source": {"requestPrincipals": ["*"]}}]},
        {"from": [{"source": {"principals": ["x"]}}, {"source": {"notRequestPrincipals": ["*"]}}]},
        {"to": [{"operation": {"paths": ["/admin"]}}]},
        {"to": [{"operation": {"ports": ["8080"]}}, {"operation": {"notMethods": ["GET"]}}]},
        {"to": [{"operation": {"hosts": ["a.example.com"]}}]},
        {
            "when": [
                {"key": "source.ip", "values": ["10.0.0.1"]},
                {"key": "request.headers[x]", "values": ["1"]},
            ]
        },
    ],
)
def test_an_l7_rule_in_an_ambient_namespace_cannot_be_enforced_by_ztunnel(rule):
    assert ma070([AMBIENT, policy([{"to": [{"operation": {"ports": ["80"]}}]}, rule])]) == FOUND


@pytest.mark.parametrize(
    "rule",
    [
        {"from": [{"source": {"principals": ["cluster.local/ns/a/sa/b"], "namespaces": ["a"]}}]},
        {"to": [{"operation": {"ports": ["8080"]}}]},
        {
            "when": [
                {"key": "source.ip", "values": ["10.0.0.1"]},
                {"key": "destination.port", "values": ["80"]},
            ]
        },
        {},
    ],
)
def test_an_l4_rule_is_fine_at_ztunnel(rule):
    assert ma070([AMBIENT, policy([rule])]) == []


@pytest.mark.parametrize("action, l7", [("CUSTOM", True), ("AUDIT", True), ("DENY", False), ("ALLOW", False)])
def test_custom_and_audit_need_a_waypoint(action, l7):
    assert ma070([AMBIENT, policy([{}], action=action)]) == (FOUND if l7 else [])


def test_a_request_authentication_needs_a_waypoint():
    assert ma070([AMBIENT, policy(kind="RequestAuthentication", jwtRules=[{"issuer": "x"}])]) == [
        ("RequestAuthentication apps/p", "spec.selector")
    ]


def test_a_policy_attached_with_target_refs_is_the_waypoints():
    ref = {"kind": "Service", "group": "", "name": "web"}
    rule = [{"to": [{"operation": {"paths": ["/admin"]}}]}]
    assert ma070([AMBIENT, policy(rule, targetRefs=[ref])]) == []
    assert ma070([AMBIENT, policy(rule, targetRef=ref)]) == []


@pytest.mark.parametrize(
    "labels, judged",
    [
        ({"istio.io/dataplane-mode": "ambient"}, True),
        ({"istio.io/dataplane-mode": "ambient", "istio-injection": "enabled"}, False),  # sidecars win
        ({"istio.io/dataplane-mode": "ambient", "istio-injection": "disabled"}, True),
        ({"istio.io/dataplane-mode": "none"}, False),
        ({"istio-injection": "enabled"}, False),
    ],
)
def test_only_an_ambient_namespace_without_sidecars_is_judged(labels, judged):
    rule = [{"to": [{"operation": {"paths": ["/admin"]}}]}]
    assert ma070([namespace(**labels), policy(rule)]) == (FOUND if judged else [])


def test_a_namespace_the_manifests_do_not_define_is_not_judged():
    assert ma070([policy([{"to": [{"operation": {"paths": ["/admin"]}}]}])]) == []


def test_each_policy_is_judged_on_its_own():
    l4 = policy([{}])
    l7 = {
        **policy([{"to": [{"operation": {"paths": ["/admin"]}}]}]),
        "metadata": {"name": "q", "namespace": "apps"},
    }
    assert ma070([AMBIENT, l4, l7]) == [("AuthorizationPolicy apps/q", "spec.selector")]
