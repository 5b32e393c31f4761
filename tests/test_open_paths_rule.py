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


def _app_behind(docs, app_rules):
    """The routed app (web in namespace apps, sidecars on) with its own ALLOW policy."""
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "apps"},
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "web:1"}]},
            },
        },
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "namespace": "apps"},
        "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80}]},
    }
    policy = {
        "apiVersion": "security.istio.io/v1",
        "kind": "AuthorizationPolicy",
        "metadata": {"name": "web", "namespace": "apps"},
        "spec": {"selector": {"matchLabels": {"app": "web"}}, "action": "ALLOW", "rules": app_rules},
    }
    return [*docs, deployment, service, policy]


def test_a_path_the_gateway_already_denies_is_not_reported_again_at_the_app():
    # The request never reaches the app: the gateway's 403 is the one to fix.
    docs = _app_behind(setup(["/healthz"], [SIGNED_IN]), [SIGNED_IN])
    assert [(f.rule, f.object, f.path) for f in ma017(docs)] == [
        ("MA017", "AuthorizationPolicy istio-system/access", "spec.rules")
    ]


def test_a_path_the_gateway_admits_is_reported_where_the_app_denies_it():
    admitted = {"to": [{"operation": {"hosts": ["app.example.com"], "paths": ["/healthz"]}}]}
    docs = _app_behind(setup(["/healthz"], [SIGNED_IN, admitted]), [SIGNED_IN])
    assert [(f.rule, f.object, f.path) for f in ma017(docs)] == [
        ("MA017", "AuthorizationPolicy apps/web", "spec.rules")
    ]
    fixed = _app_behind(setup(["/healthz"], [SIGNED_IN, admitted]), [SIGNED_IN, admitted])
    assert ma017(fixed) == []


def test_one_excluded_request_is_one_finding_whichever_patterns_name_it():
    # /static/* is judged by the request /static/probe: the same request as the exact path, so
    # naming both excludes one request, denied once.
    findings = ma017(setup(["/static/*", "/static/probe"], [SIGNED_IN]))
    assert [f.message.split(" is excluded")[0] for f in findings] == ["app.example.com/static/*"]


def test_malformed_to_and_when_entries_do_not_hide_the_login_beside_them():
    docs = setup(["/healthz"], [SIGNED_IN])
    login = docs[3]["spec"]["rules"][0]
    login["to"] = ["GET /healthz", {"operation": "GET"}, *login["to"]]
    login["when"] = ["x-probe"]
    findings = meshauth.validate(docs)
    assert [f.rule for f in findings if "internal error" in f.message] == []
    assert [
        (f.rule, f.object, f.message.split(" is excluded")[0])
        for f in findings
        if f.rule in ("MA008", "MA017")
    ] == [("MA017", "AuthorizationPolicy istio-system/access", "app.example.com/healthz")]


@pytest.mark.parametrize(
    "host", ["app.example.com:443", "APP.Example.com", "app.example.com:*"], ids=["port", "case", "any-port"]
)
def test_a_login_host_with_a_port_or_capitals_is_judged_as_the_host(host):
    [finding] = ma017(setup(["/healthz"], [SIGNED_IN], custom_hosts=[host]))
    assert finding.message.startswith("app.example.com/healthz is excluded")


def test_a_route_for_the_mesh_only_does_not_reach_the_gateway():
    docs = setup(["/healthz"], [SIGNED_IN], custom_hosts=None)
    for doc in docs:
        if doc["kind"] == "VirtualService" and doc["spec"]["hosts"] == ["wiki.example.com"]:
            doc["spec"]["gateways"] = ["mesh"]
    assert [f.message.split(" is excluded")[0] for f in ma017(docs)] == ["app.example.com/healthz"]
    for doc in docs:
        if doc["kind"] == "VirtualService" and doc["spec"]["hosts"] == ["wiki.example.com"]:
            doc["spec"]["gateways"] = ["mesh", "public"]  # the gateway too
    assert sorted(f.message.split(" is excluded")[0] for f in ma017(docs)) == [
        "app.example.com/healthz",
        "wiki.example.com/healthz",
    ]


def test_a_gateway_servers_namespaced_host_is_a_routed_host():
    docs = [d for d in setup(["/healthz"], [SIGNED_IN], custom_hosts=None) if d["kind"] != "VirtualService"]
    docs[0]["spec"]["servers"][0]["hosts"] = ["*/docs.example.com:80", "./*.example.com"]
    assert [f.message.split(" is excluded")[0] for f in ma017(docs)] == ["docs.example.com/healthz"]


def test_a_login_that_may_not_apply_at_the_gateway_is_not_judged():
    docs = setup(["/healthz"], [SIGNED_IN])
    docs[3]["spec"]["selector"] = {"matchLabels": {"istio": "ingressgateway", "zone": "b"}}
    assert ma017(docs) == []


def test_a_login_that_excludes_every_path_is_not_judged_path_by_path():
    # notPaths ["*"]: no single request stands for "every path" (as for templates), so no probe
    assert ma017(setup(["*"], [SIGNED_IN])) == []
    assert len(ma017(setup(["*", "/healthz"], [SIGNED_IN]))) == 1


def test_an_allow_rule_for_every_path_admits_an_excluded_suffix():
    # "*.css" stands for requests such as /app.css: every one of them starts with "/"
    rule = {"to": [{"operation": {"hosts": ["app.example.com"], "paths": ["/*"]}}]}
    assert ma017(setup(["*.css"], [SIGNED_IN, rule])) == []
