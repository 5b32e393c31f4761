"""Rules for ambient and Gateway API bundles: each has a case that passes and one that fails."""

from __future__ import annotations

import copy

from handwritten import deployment
from topology_support import of_kind, render_mode

from meshauth.validation.rules import registry as rules

AMBIENT = render_mode("ambient+gateway-api")
SIDECAR = render_mode("sidecar")


def findings(objects, rule_id):
    return [(f.object, f.path) for f in rules.check(objects, None) if f.rule == rule_id]


def get(objects, kind, name, namespace):
    return next(
        o
        for o in objects
        if o["kind"] == kind and o["metadata"]["name"] == name and o["metadata"].get("namespace") == namespace
    )


def test_rendered_bundles_pass_every_topology_rule():
    for bundle in (AMBIENT, SIDECAR, render_mode("gateway-api"), render_mode("ambient")):
        assert [
            f
            for f in rules.check(bundle.objects, bundle.mesh_config)
            if f.rule in ("MA070", "MA071", "MA072", "MA073")
        ] == []


def test_ma070_selector_policy_with_l7_rules_in_an_ambient_namespace():
    objects = copy.deepcopy(list(AMBIENT.objects))
    policy = get(objects, "AuthorizationPolicy", "quickstart-docs-access", "docs")
    del policy["spec"]["targetRefs"]
    policy["spec"]["selector"] = {"matchLabels": {"app": "docs"}}
    assert findings(objects, "MA070") == [
        ("AuthorizationPolicy docs/quickstart-docs-access", "spec.selector")
    ]
    # the same policy at a sidecar is fine, and an L4-only selector policy in ambient too
    assert findings(SIDECAR.objects, "MA070") == []
    policy["spec"]["rules"] = [{"from": [{"source": {"principals": ["cluster.local/ns/a/sa/b"]}}]}]
    assert findings(objects, "MA070") == []


def test_ma070_request_authentication_with_a_selector_in_ambient():
    objects = copy.deepcopy(list(AMBIENT.objects))
    jwt = get(objects, "RequestAuthentication", "quickstart-waypoint-jwt", "monitoring")
    jwt["spec"]["selector"] = {"matchLabels": {"app": "grafana"}}
    del jwt["spec"]["targetRefs"]
    assert findings(objects, "MA070") == [
        ("RequestAuthentication monitoring/quickstart-waypoint-jwt", "spec.selector")
    ]


def test_ma071_target_without_waypoint_enrollment():
    objects = copy.deepcopy(list(AMBIENT.objects))
    namespace = get(objects, "Namespace", "docs", None)
    del namespace["metadata"]["labels"]["istio.io/use-waypoint"]
    hits = findings(objects, "MA071")
    assert ("AuthorizationPolicy docs/quickstart-docs-access", "spec.targetRefs[0]") in hits
    assert ("RequestAuthentication docs/quickstart-waypoint-jwt", "spec.targetRefs[0]") in hits
    assert all(obj.split()[1].startswith("docs/") for obj, _ in hits)


def test_ma071_ingress_bypasses_the_waypoint():
    objects = copy.deepcopy(list(AMBIENT.objects))
    del get(objects, "Namespace", "monitoring", None)["metadata"]["labels"]["istio.io/ingress-use-waypoint"]
    messages = [f.message for f in rules.check(objects, None) if f.rule == "MA071"]
    assert messages and all("past the waypoint" in m for m in messages)


def test_ma072_policy_attached_to_a_gateway_not_rendered():
    objects = copy.deepcopy(list(AMBIENT.objects))
    get(objects, "AuthorizationPolicy", "quickstart-login", "istio-system")["spec"]["targetRefs"][0][
        "name"
    ] = "other"
    assert findings(objects, "MA072") == [
        ("AuthorizationPolicy istio-system/quickstart-login", "spec.targetRefs[0]")
    ]
    assert findings(SIDECAR.objects, "MA072") == []


def test_ma073_route_not_admitted_by_its_listener():
    objects = copy.deepcopy(list(AMBIENT.objects))
    route = get(objects, "HTTPRoute", "quickstart-grafana", "monitoring")
    route["metadata"]["namespace"] = "docs"
    assert findings(objects, "MA073") == [("HTTPRoute docs/quickstart-grafana", "spec.parentRefs[0]")]
    route["metadata"]["namespace"] = "monitoring"
    route["spec"]["parentRefs"][0]["sectionName"] = "https-docs.example.com"
    messages = [f.message for f in rules.check(objects, None) if f.rule == "MA073"]
    assert messages == [
        "listener https-docs.example.com serves docs.example.com, which is not among the "
        "route's hostnames; the route is not attached"
    ]
    assert len(of_kind(AMBIENT, "HTTPRoute")) == 3  # grafana, docs, wiki: all checked above


# --- MA074: a per-app policy's selector and the workloads of its namespace --------------------------


def with_apps(bundle, **labels_by_app):
    """The rendered bundle and the quickstart's apps (grafana in monitoring, docs in docs), as a user
    validates `meshauth render` output together with their own manifests."""
    namespaces = {"grafana": "monitoring", "docs": "docs"}
    apps = [deployment(app, namespaces[app], labels) for app, labels in labels_by_app.items()]
    return copy.deepcopy(list(bundle.objects)) + apps


def test_ma074_silent_when_the_apps_carry_the_default_selector():
    objects = with_apps(SIDECAR, grafana={"app": "grafana", "version": "v1"}, docs={"app": "docs"})
    selected = [
        o
        for o in objects
        if o["kind"] in ("AuthorizationPolicy", "RequestAuthentication")
        and o["metadata"]["namespace"] in ("monitoring", "docs")
    ]
    assert selected and all(o["spec"]["selector"]["matchLabels"] for o in selected)  # judged, not skipped
    assert findings(objects, "MA074") == []


def test_ma074_a_workload_labelled_otherwise_leaves_its_policies_applying_to_nothing():
    objects = with_apps(SIDECAR, grafana={"app.kubernetes.io/name": "grafana"}, docs={"app": "docs"})
    hits = [f for f in rules.check(objects, None) if f.rule == "MA074"]
    assert hits and {f.object.split()[1].split("/")[0] for f in hits} == {"monitoring"}
    assert {f.severity for f in hits} == {"warning"}
    assert {f.path for f in hits} == {"spec.selector.matchLabels"}
    message = hits[0].message
    assert message.startswith(
        f"{hits[0].object} selects {{app: grafana}}, but no workload of namespace monitoring"
    )
    assert "applies to nothing" in message


def test_ma074_silent_without_workloads_of_the_user_in_the_namespace():
    # a rendered bundle alone: only meshauth's own workloads (oauth2-proxy), none of the apps
    assert findings(SIDECAR.objects, "MA074") == []
    assert findings(AMBIENT.objects, "MA074") == []
    # a workload meshauth rendered does not count as the namespace's apps being in the set
    objects = copy.deepcopy(list(SIDECAR.objects))
    objects.append(deployment("sidecar-helper", "monitoring", {"app": "helper"}, managed_by="meshauth"))
    assert findings(objects, "MA074") == []
    # a workload in another namespace is no evidence about this one
    objects.append(deployment("grafana", "elsewhere", {"app": "other"}))
    assert findings(objects, "MA074") == []


def test_ma074_silent_for_namespace_wide_gateway_root_and_cluster_added_selectors():
    app = deployment("web", "apps", {"app": "web"})
    # workloads in every namespace below, so that only the selector decides (gateway pods: not in the set)
    others = [
        deployment("helper", "istio-ingress", {"app": "helper"}),
        deployment("istiod", "istio-system", {"app": "istiod"}),
    ]

    def policy(namespace, spec):
        meta = {"name": "p", "namespace": namespace}
        return {
            "apiVersion": "security.istio.io/v1",
            "kind": "AuthorizationPolicy",
            "metadata": meta,
            "spec": spec,
        }

    silent = [
        policy("apps", {"action": "DENY", "rules": [{}]}),  # no selector: the whole namespace
        policy("apps", {"selector": {"matchLabels": {}}}),
        policy("apps", {"selector": {"matchLabels": {"app": "web"}}}),
        policy("apps", {"selector": {"matchLabels": {"pod-template-hash": "5d9c"}}}),
        policy("apps", {"selector": {"matchLabels": {"app": "x"}}, "targetRefs": [{"kind": "Service"}]}),
        policy("istio-ingress", {"selector": {"matchLabels": {"istio": "ingressgateway"}}}),
        policy("apps", {"selector": {"matchLabels": {"gateway.networking.k8s.io/gateway-name": "w"}}}),
        policy("istio-system", {"selector": {"matchLabels": {"app": "web"}}}),  # root: mesh-wide
    ]
    for obj in silent:
        assert findings([app, *others, obj], "MA074") == [], obj["spec"]
    fires = policy("apps", {"selector": {"matchLabels": {"app": "web", "version": "v2"}}})
    assert findings([app, fires], "MA074") == [("AuthorizationPolicy apps/p", "spec.selector.matchLabels")]
