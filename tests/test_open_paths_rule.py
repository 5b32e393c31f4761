"""MA017 on hand-written gateway setups: a path kept from the login that the gateway's ALLOW
policy then answers 403, found once, for each kind of path pattern and host list, and never
guessed when the ALLOW policy's answer is unknown."""

from __future__ import annotations

import copy

import pytest

import meshauth

GATEWAY = {"istio": "ingressgateway"}


def _policy(name, action, rules, **spec):
    return {
        "apiVersion": "security.istio.io/v1",
        "kind": "AuthorizationPolicy",
        "metadata": {"name": name, "namespace": "istio-system"},
        "spec": {"selector": {"matchLabels": GATEWAY}, "action": action, "rules": rules, **spec},
    }


def setup(not_paths, allow_rules, custom_hosts=("app.example.com",)):
    operation = {"notPaths": list(not_paths)}
    if custom_hosts is not None:
        operation["hosts"] = list(custom_hosts)
    return [
        {
            "apiVersion": "networking.istio.io/v1",
            "kind": "Gateway",
            "metadata": {"name": "public", "namespace": "istio-system"},
            "spec": {
                "selector": GATEWAY,
                "servers": [
                    {"port": {"number": 80, "name": "http", "protocol": "HTTP"}, "hosts": ["*.example.com"]}
                ],
            },
        },
        *(
            {
                "apiVersion": "networking.istio.io/v1",
                "kind": "VirtualService",
                "metadata": {"name": host.split(".")[0], "namespace": "istio-system"},
                "spec": {
                    "hosts": [host],
                    "gateways": ["public"],
                    "http": [{"route": [{"destination": {"host": "web.apps.svc.cluster.local"}}]}],
                },
            }
            for host in ("app.example.com", "wiki.example.com")
        ),
        _policy(
            "login",
            "CUSTOM",
            [{"to": [{"operation": operation}]}],
            provider={"name": "oauth2-proxy"},
        ),
        _policy("access", "ALLOW", allow_rules),
    ]


SIGNED_IN = {"from": [{"source": {"requestPrincipals": ["*"]}}]}


def ma017(docs):
    return [f for f in meshauth.validate(docs) if f.rule == "MA017"]


def test_an_excluded_path_the_allow_policy_denies_is_reported_once():
    [finding] = ma017(setup(["/healthz"], [SIGNED_IN]))
    assert finding.severity == "error"
    assert finding.object == "AuthorizationPolicy istio-system/access"
    assert "app.example.com/healthz is excluded from the login" in finding.message
    assert "login" in finding.message  # the CUSTOM policy that excludes it


def test_an_excluded_path_the_allow_policy_admits_is_fine():
    allowed = {"to": [{"operation": {"hosts": ["app.example.com"], "paths": ["/healthz"]}}]}
    assert ma017(setup(["/healthz"], [SIGNED_IN, allowed])) == []


def test_an_allow_rule_for_another_host_does_not_admit_the_path():
    other = {"to": [{"operation": {"hosts": ["wiki.example.com"], "paths": ["/healthz"]}}]}
    assert len(ma017(setup(["/healthz"], [SIGNED_IN, other]))) == 1


@pytest.mark.parametrize(
    "pattern, allowed, reported",
    [
        ("*.css", "*.css", False),
        ("*.css", "*.js", True),
        ("/static/*", "/static/*", False),
        ("/static/*", "/stat*", False),  # /stat* admits /static/... too
        ("/static/*", "/stat/*", True),
        ("/static/*", "/assets/*", True),
    ],
)
def test_suffix_and_prefix_patterns_are_judged_by_a_path_they_match(pattern, allowed, reported):
    rule = {"to": [{"operation": {"hosts": ["app.example.com"], "paths": [allowed]}}]}
    findings = ma017(setup([pattern], [SIGNED_IN, rule]))
    assert bool(findings) is reported
    if reported:
        assert f"app.example.com{pattern} is excluded" in findings[0].message


def test_a_template_path_is_not_guessed():
    # /api/{*}/health: no single probe stands for every path it matches
    assert ma017(setup(["/api/{*}/health"], [SIGNED_IN])) == []


def test_a_login_without_hosts_is_judged_for_every_routed_host():
    findings = ma017(setup(["/healthz"], [SIGNED_IN], custom_hosts=None))
    messages = sorted(f.message.split(" is excluded")[0] for f in findings)
    assert messages == ["app.example.com/healthz", "wiki.example.com/healthz"]


def test_a_wildcard_login_host_is_judged_by_a_host_it_covers():
    findings = ma017(setup(["/healthz"], [SIGNED_IN], custom_hosts=["*.example.com"]))
    assert len(findings) == 1 and "probe.example.com/healthz" in findings[0].message


def test_when_the_allow_policy_answer_is_unknown_nothing_is_reported():
    # A header condition: some requests to /healthz may carry it; the rule cannot say 403.
    header = {"when": [{"key": "request.headers[x-probe]", "values": ["1"]}]}
    assert ma017(setup(["/healthz"], [SIGNED_IN, header])) == []


def test_an_allow_policy_that_may_not_apply_is_not_judged():
    docs = setup(["/healthz"], [SIGNED_IN])
    docs[-1]["spec"]["selector"] = {"matchLabels": {"istio": "ingressgateway", "zone": "b"}}
    assert ma017(docs) == []


def test_two_gateways_over_the_same_pods_give_one_finding():
    docs = setup(["/healthz"], [SIGNED_IN])
    second = copy.deepcopy(docs[0])
    second["metadata"] = {"name": "internal", "namespace": "apps"}
    assert len(ma017([*docs, second])) == 1


def test_each_denied_path_is_its_own_finding():
    findings = ma017(setup(["/healthz", "/metrics"], [SIGNED_IN]))
    assert sorted(f.message.split(" is excluded")[0] for f in findings) == [
        "app.example.com/healthz",
        "app.example.com/metrics",
    ]


def _maybe(policy):
    """The same policy on a selector only some of the gateway's pods may carry."""
    policy = copy.deepcopy(policy)
    policy["metadata"]["name"] += "-zone-b"
    policy["spec"]["selector"] = {"matchLabels": {"istio": "ingressgateway", "zone": "b"}}
    return policy


def test_a_policy_that_may_apply_decides_nothing_unless_it_would_admit_the_path():
    docs = setup(["/healthz"], [SIGNED_IN])
    [finding] = ma017([*docs, _maybe(docs[-1])])  # denied whether zone b's policy applies or not
    assert finding.object == "AuthorizationPolicy istio-system/access"
    admits = {"to": [{"operation": {"paths": ["/healthz"]}}]}
    may_admit = _maybe(setup(["/healthz"], [admits])[-1])
    assert ma017([*docs, may_admit]) == []  # where zone b's policy applies, /healthz gets through


def test_a_login_without_hosts_and_no_routes_is_judged_for_any_host():
    docs = [d for d in setup(["/healthz"], [SIGNED_IN], custom_hosts=None) if d["kind"] != "VirtualService"]
    [finding] = ma017(docs)
    assert finding.message.startswith("/healthz is excluded from the login")


def test_a_login_whose_hosts_give_no_probe_is_judged_for_any_host_not_the_routed_ones():
    [finding] = ma017(setup(["/healthz"], [SIGNED_IN], custom_hosts=["*"]))
    assert finding.message.startswith("/healthz is excluded from the login")


def test_a_template_path_does_not_hide_the_paths_after_it():
    findings = ma017(setup(["/api/{*}/health", "/healthz", "/healthz"], [SIGNED_IN]))
    assert [f.message.split(" is excluded")[0] for f in findings] == ["app.example.com/healthz"]


def test_a_mesh_wide_allow_policy_denying_the_path_at_two_gateways_is_one_finding():
    docs = setup(["/healthz"], [SIGNED_IN])
    internal = copy.deepcopy(docs[0])
    internal["metadata"]["name"] = "internal"
    internal["spec"]["selector"] = {"istio": "internal-gateway"}
    for doc in docs:
        if doc["kind"] == "VirtualService":
            doc["spec"]["gateways"] = ["public", "internal"]
        if doc["kind"] == "AuthorizationPolicy":
            del doc["spec"]["selector"]  # in the root namespace: every workload of the mesh
    [finding] = ma017([*docs, internal])
    assert finding.object == "AuthorizationPolicy istio-system/access"
