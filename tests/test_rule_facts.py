"""What the rules read from a set of manifests (meshauth.validation.rules.facts), asked directly.

Every rule stands on these answers: which provider is oauth2-proxy, where the ingress gateway pods
run, which app a host and path reach, whether a namespace has sidecars, which policies apply to a
workload. Each test is one hand-written set in a shape people deploy, and the answer Istio would
give for it.
"""

from __future__ import annotations

from typing import Any

import pytest

from meshauth.files.manifests import mesh_source
from meshauth.validation.rules.facts import INGRESS_LABELS, Facts, Workload, injected, service_host


def facts(*objects: dict[str, Any], providers: list[dict[str, Any]] | None = None) -> Facts:
    mesh = []
    if providers is not None:
        operator = {
            "apiVersion": "install.istio.io/v1alpha1",
            "kind": "IstioOperator",
            "metadata": {"name": "mesh", "namespace": "istio-system"},
            "spec": {"meshConfig": {"extensionProviders": providers}},
        }
        mesh.append(mesh_source(operator))
    return Facts(list(objects), [m for m in mesh if m is not None], (1, 24), (1, 30))


def obj(kind: str, name: str, namespace: str | None, spec: Any = None, api: str = "v1", **meta: Any) -> dict:
    metadata: dict[str, Any] = {"name": name, **meta}
    if namespace is not None:
        metadata["namespace"] = namespace
    found: dict[str, Any] = {"apiVersion": api, "kind": kind, "metadata": metadata}
    if spec is not None:
        found["spec"] = spec
    return found


def service(name: str, namespace: str, selector: dict[str, str] | None = None) -> dict:
    spec: dict[str, Any] = {"ports": [{"name": "http", "port": 80}]}
    if selector is not None:
        spec["selector"] = selector
    return obj("Service", name, namespace, spec)


def deployment(name: str, namespace: str, labels: dict[str, str], kind: str = "Deployment") -> dict:
    api = "batch/v1" if kind == "Job" else "apps/v1"
    template = {"metadata": {"labels": labels}, "spec": {"containers": [{"name": name, "image": "app:1"}]}}
    return obj(kind, name, namespace, {"selector": {"matchLabels": labels}, "template": template}, api)


def istio_gateway(name: str, namespace: str, selector: dict[str, str] | None) -> dict:
    spec: dict[str, Any] = {
        "servers": [{"port": {"number": 80, "name": "http", "protocol": "HTTP"}, "hosts": ["*"]}]
    }
    if selector is not None:
        spec["selector"] = selector
    return obj("Gateway", name, namespace, spec, "networking.istio.io/v1")


def virtual_service(name: str, namespace: str, hosts: list[str], *http: dict[str, Any]) -> dict:
    spec = {"hosts": hosts, "gateways": ["istio-system/public"], "http": list(http)}
    return obj("VirtualService", name, namespace, spec, "networking.istio.io/v1")


def route(*destinations: str, **uri: str) -> dict[str, Any]:
    found: dict[str, Any] = {"route": [{"destination": {"host": host}} for host in destinations]}
    if uri:
        found["match"] = [{"uri": uri}]
    return found


def policy(name: str, namespace: str, action: str | None = None, **spec: Any) -> dict:
    if action is not None:
        spec["action"] = action
    return obj("AuthorizationPolicy", name, namespace, spec, "security.istio.io/v1")


def namespace(name: str, **labels: str) -> dict:
    return obj("Namespace", name, None, None, labels=labels) if labels else obj("Namespace", name, None)


# --- which provider is oauth2-proxy ------------------------------------------------------------------


def ext_authz(name: str, service_host: str, grpc: bool = False) -> dict[str, Any]:
    key = "envoyExtAuthzGrpc" if grpc else "envoyExtAuthzHttp"
    return {"name": name, key: {"service": service_host, "port": 4180}}


@pytest.mark.parametrize(
    ("entry", "is_proxy"),
    [
        # Nothing in the set says what serves these: the names are all there is to go by.
        (ext_authz("sso", "oauth2-proxy.auth.svc.cluster.local"), True),
        (ext_authz("oauth2-proxy", "authn.auth.svc.cluster.local"), True),
        (ext_authz("OAuth2-Proxy", "authn.auth.svc.cluster.local", grpc=True), True),
        (ext_authz("opa", "opa.opa-system.svc.cluster.local"), False),
        # A tracer named after the login is still a tracer: only ext_authz providers log people in.
        (
            {
                "name": "oauth2-tracing",
                "zipkin": {"service": "oauth2-proxy.auth.svc.cluster.local", "port": 9411},
            },
            False,
        ),
    ],
)
def test_a_provider_is_oauth2_proxy_by_its_service_or_its_name(entry, is_proxy):
    found = facts(providers=[entry])
    assert [found.is_proxy_provider(p) for p in found.providers] == [is_proxy]


def test_a_provider_whose_service_runs_something_else_is_judged_by_its_name():
    # The Service exists and selects other pods: that alone does not make the provider oauth2-proxy.
    found = facts(
        service("authn", "auth", {"app": "authn"}),
        deployment("authn", "auth", {"app": "authn"}),
        providers=[ext_authz("sso", "authn.auth.svc.cluster.local")],
    )
    assert found.is_proxy_provider(found.providers[0]) is False


def test_a_bare_service_name_resolves_to_nothing():
    # Istio needs the namespace to find a bare name; a Service of that name is not it.
    found = facts(service("oauth2-proxy", "default", {"app": "oauth2-proxy"}))
    assert found.service_for("oauth2-proxy") is None
    assert found.service_for("oauth2-proxy", "default") is not None
    assert found.service_for("default/oauth2-proxy") is not None
    assert found.service_for("oauth2-proxy.default.svc.cluster.local") is not None
    assert found.service_for("oauth2-proxy.example.com") is None


def test_a_service_without_a_name_is_no_hosts_service():
    nameless = service("", "apps", {"app": "web"})
    del nameless["metadata"]["name"]
    found = facts(nameless)
    assert found.service_for("", "apps") is None
    assert found.service_for(".apps") is None
    assert found.service_for("apps/") is None


# --- where the ingress gateway pods run --------------------------------------------------------------


def test_without_an_istio_gateway_the_default_ingress_gateway_is_assumed():
    # A Gateway API Gateway is also kind Gateway, but selects no pods by labels.
    api_gateway = obj(
        "Gateway",
        "web",
        "web",
        {"gatewayClassName": "istio", "listeners": []},
        "gateway.networking.k8s.io/v1",
    )
    assert facts(api_gateway).gateway_workloads == [Workload("istio-system", INGRESS_LABELS, True, "ingress")]


def test_a_gateway_with_its_own_selector_is_its_own_pods():
    found = facts(istio_gateway("public", "web", {"istio": "web-gateway"})).gateway_workloads
    assert found == [Workload("web", {"istio": "web-gateway"}, True, "ingress")]
    assert all(w.gateway for w in found)


def test_a_gateway_selecting_one_default_label_selects_the_default_gateway_pods():
    found = facts(istio_gateway("public", "istio-system", {"istio": "ingressgateway"})).gateway_workloads
    assert found == [Workload("istio-system", INGRESS_LABELS, True, "ingress")]


def test_gateway_pods_are_where_the_manifests_deploy_them():
    # The Gateway sits in the app's namespace; the pods it selects run in istio-ingress.
    found = facts(
        istio_gateway("public", "web", {"istio": "web-gateway"}),
        deployment("web-gateway", "istio-ingress", {"istio": "web-gateway", "app": "web-gateway"}),
        deployment("web", "web", {"app": "web"}),
    ).gateway_workloads
    assert [(w.namespace, dict(w.labels)) for w in found] == [("istio-ingress", {"istio": "web-gateway"})]


def test_else_gateway_pods_are_where_policies_select_them():
    selecting = policy("login", "istio-ingress", "CUSTOM", selector={"matchLabels": {"istio": "web-gateway"}})
    other = policy("other", "elsewhere", "CUSTOM", selector={"matchLabels": {"istio": "other"}})
    found = facts(
        istio_gateway("public", "web", {"istio": "web-gateway"}), selecting, other
    ).gateway_workloads
    assert [w.namespace for w in found] == ["istio-ingress"]


def test_a_gateway_without_a_selector_does_not_take_every_workload_for_a_gateway():
    found = facts(
        istio_gateway("public", "web", None), deployment("api", "apps", {"app": "api"})
    ).gateway_workloads
    assert [w.namespace for w in found] == ["web"]


# --- which app a host and path reach -----------------------------------------------------------------


def web_app(name: str = "web", namespace: str = "apps", **labels: str) -> list[dict]:
    return [service(name, namespace, {"app": name}), deployment(name, namespace, {"app": name, **labels})]


def test_an_app_workload_is_the_routed_services_pods_with_all_their_labels_and_hosts():
    found = facts(
        *web_app(version="v1"),
        virtual_service("web", "apps", ["Web.example.com"], route("web.apps.svc.cluster.local")),
        virtual_service("web-alt", "apps", ["alt.example.com"], route("web")),
    ).app_workloads
    assert found == [
        Workload(
            "apps",
            {"app": "web", "version": "v1"},
            False,
            "web",
            True,
            ("web.example.com", "alt.example.com"),
        )
    ]


def test_an_app_whose_pods_are_not_in_the_set_is_known_by_its_selector_only():
    found = facts(
        service("web", "apps", {"app": "web"}),
        virtual_service("web", "apps", ["web.example.com"], route("web")),
    ).app_workloads
    assert found == [Workload("apps", {"app": "web"}, False, "web", False, ("web.example.com",))]


def test_a_destination_without_a_service_or_a_selector_does_not_hide_the_next_one():
    found = facts(
        service("external", "apps"),  # no selector: endpoints kept by hand
        *web_app(),
        virtual_service("mixed", "apps", ["web.example.com"], route("missing", "external", "web")),
    ).app_workloads
    assert [w.name for w in found] == ["web"]


def test_an_app_workload_has_the_labels_of_the_pods_its_service_selects_with_every_label():
    front = deployment("web-front", "apps", {"app": "web", "tier": "front"})
    back = deployment("web-back", "apps", {"app": "web", "tier": "back"})
    found = facts(
        service("web", "apps", {"app": "web", "tier": "back"}),
        front,
        back,
        virtual_service("web", "apps", ["web.example.com"], route("web")),
    ).app_workloads
    assert [dict(w.labels) for w in found] == [{"app": "web", "tier": "back"}]


def routed(found: Facts, host: str, path: str) -> list[str]:
    return sorted(w.name for w in found.routed_workloads(host, path))


def test_a_request_reaches_the_app_of_any_host_its_virtual_service_lists():
    found = facts(
        *web_app(),
        virtual_service("other", "apps", ["other.example.com"], route("missing")),
        virtual_service("web", "apps", ["www.example.com", "web.example.com"], route("web")),
    )
    assert routed(found, "web.example.com", "/") == ["web"]
    assert routed(found, "www.example.com", "/") == ["web"]
    assert routed(found, "else.example.com", "/") == []


def test_the_most_specific_route_wins_whatever_its_order():
    found = facts(
        *web_app("exact"),
        *web_app("prefix"),
        *web_app("catchall"),
        virtual_service(
            "site",
            "apps",
            ["*.example.com"],
            route("exact", exact="/api/v1"),
            route("prefix", prefix="/api"),
            route("catchall"),
        ),
    )
    assert routed(found, "web.example.com", "/api/v1") == ["exact"]
    assert routed(found, "web.example.com", "/api/v2") == ["prefix"]
    assert routed(found, "web.example.com", "/") == ["catchall"]
    assert routed(found, "example.com", "/") == []


def test_an_exact_match_is_more_specific_than_a_prefix_as_long():
    found = facts(
        *web_app("exact"),
        *web_app("prefix"),
        virtual_service(
            "site", "apps", ["web.example.com"], route("prefix", prefix="/api"), route("exact", exact="/api")
        ),
    )
    assert routed(found, "web.example.com", "/api") == ["exact"]
    assert routed(found, "web.example.com", "/api/") == ["prefix"]


def test_a_route_with_several_matches_is_as_specific_as_its_best_match_for_the_path():
    found = facts(
        *web_app("v1"),
        *web_app("api"),
        virtual_service(
            "site",
            "apps",
            ["web.example.com"],
            {**route("v1"), "match": [{"uri": {"prefix": "/api"}}, {"uri": {"exact": "/api/v1"}}]},
            route("api", prefix="/api/"),
        ),
    )
    assert routed(found, "web.example.com", "/api/v1") == ["v1"]
    assert routed(found, "web.example.com", "/api/v2") == ["api"]


def test_routes_equally_specific_in_two_virtual_services_both_count():
    found = facts(
        *web_app("blue"),
        *web_app("green"),
        virtual_service("blue", "apps", ["web.example.com"], route("blue", prefix="/")),
        virtual_service("green", "apps", ["web.example.com"], route("green", prefix="/")),
        virtual_service("less", "apps", ["web.example.com"], route("missing")),
    )
    assert routed(found, "web.example.com", "/shop") == ["blue", "green"]


# --- namespaces without sidecars ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("objects", "sidecarless"),
    [
        ([namespace("apps")], True),
        ([namespace("apps", **{"istio-injection": "enabled"})], False),
        ([], False),  # a namespace the set does not define is not judged
        # Every long-running workload opts in on its pods: Istio enforces policies there.
        (
            [namespace("apps"), deployment("web", "apps", {"app": "web", "sidecar.istio.io/inject": "true"})],
            False,
        ),
        (
            [
                namespace("apps"),
                deployment("web", "apps", {"app": "web", "sidecar.istio.io/inject": "true"}),
                deployment("db", "apps", {"app": "db"}),
            ],
            True,
        ),
        # A Job is left without a sidecar so that it can finish; it does not make the rest sidecar-less.
        (
            [
                namespace("apps"),
                deployment("web", "apps", {"app": "web", "sidecar.istio.io/inject": "true"}),
                deployment("migrate", "apps", {"job": "migrate"}, kind="Job"),
            ],
            False,
        ),
        (
            [
                namespace("apps"),
                deployment("migrate", "apps", {"sidecar.istio.io/inject": "true"}, kind="Job"),
            ],
            True,
        ),
        (
            [
                namespace("apps"),
                deployment("web", "apps", {"app": "web", "sidecar.istio.io/inject": "false"}),
            ],
            True,
        ),
    ],
)
def test_a_namespace_is_sidecarless_unless_injected_or_every_workload_opts_in(objects, sidecarless):
    assert facts(*objects).sidecarless("apps") is sidecarless


# --- which policies apply to a workload --------------------------------------------------------------

WEB = Workload("apps", {"app": "web", "version": "v1"}, False, "web", True)
WEB_PARTLY_KNOWN = Workload("apps", {"app": "web"}, False, "web", False)


@pytest.mark.parametrize(
    ("spec", "namespace_", "workload", "verdict"),
    [
        ({}, "apps", WEB, True),
        ({}, "istio-system", WEB, True),  # the root namespace's policies apply mesh-wide
        ({}, "other", WEB, False),
        ({"selector": {"matchLabels": {"app": "web"}}}, "apps", WEB, True),
        ({"selector": {"matchLabels": {"app": "api"}}}, "apps", WEB, False),
        ({"selector": {"matchLabels": {"track": "canary"}}}, "apps", WEB, False),
        # Only some labels are known: a label the selector wants may be on the pods or not.
        ({"selector": {"matchLabels": {"track": "canary"}}}, "apps", WEB_PARTLY_KNOWN, None),
        ({"selector": {"matchLabels": {"app": "api", "track": "canary"}}}, "apps", WEB_PARTLY_KNOWN, False),
        # What a targetRef attaches to is not decided from labels.
        ({"targetRef": {"kind": "Gateway", "name": "web"}}, "apps", WEB, None),
        ({"targetRefs": [{"kind": "Service", "name": "web"}]}, "apps", WEB, None),
        ({"targetRefs": [{"kind": "Service", "name": "web"}]}, "other", WEB, False),
    ],
)
def test_whether_a_policy_applies_to_a_workload(spec, namespace_, workload, verdict):
    assert facts().applies(policy("p", namespace_, **spec), workload) is verdict


def test_the_policies_of_an_action_are_those_of_the_workloads_and_the_root_namespace():
    allow_unset = policy("allow", "apps", None, rules=[{}])
    allow_root = policy("allow-root", "istio-system", "ALLOW", rules=[{}])
    deny = policy("deny", "apps", "DENY", rules=[{}])
    elsewhere = policy("elsewhere", "other", "ALLOW", rules=[{}])
    unsure = policy("unsure", "apps", "ALLOW", selector={"matchLabels": {"track": "canary"}})
    found = facts(allow_unset, allow_root, deny, elsewhere, unsure)
    assert [(p["metadata"]["name"], v) for p, v in found.policies("ALLOW", WEB_PARTLY_KNOWN)] == [
        ("allow", True),
        ("unsure", None),
        ("allow-root", True),
    ]
    assert [p["metadata"]["name"] for p, _ in found.policies("DENY", WEB)] == ["deny"]
    assert found.policies("CUSTOM", WEB) == []


# --- names ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "name_and_namespace"),
    [
        ("web", ("web", "apps")),
        ("sso/web", ("web", "sso")),
        ("web.sso", ("web", "sso")),
        ("web.sso.svc", ("web", "sso")),
        ("web.sso.svc.cluster.local", ("web", "sso")),
        ("web.example.com", ("", "")),
    ],
)
def test_a_service_host_names_a_service_and_its_namespace(host, name_and_namespace):
    assert service_host(host, "apps") == name_and_namespace


@pytest.mark.parametrize(
    ("labels", "has_sidecars"),
    [
        ({"istio-injection": "enabled"}, True),
        ({"istio-injection": "disabled"}, False),
        ({"istio.io/rev": "1-24"}, True),
        ({"istio.io/rev": "1-24", "istio-injection": "disabled"}, False),
        ({"istio.io/dataplane-mode": "ambient"}, True),
        ({}, False),
    ],
)
def test_a_namespace_is_in_the_mesh_by_its_labels(labels, has_sidecars):
    assert injected(namespace("apps", **labels)) is has_sidecars


def test_app_namespaces_are_those_of_every_routed_service_tcp_and_tls_included():
    vs = virtual_service("web", "apps", ["web.example.com"], route("web"))
    vs["spec"]["tcp"] = [{"route": [{"destination": {"host": "db.data.svc.cluster.local"}}]}]
    vs["spec"]["tls"] = [
        {"route": [{"destination": {"host": "mail.post.svc.cluster.local"}}, {"destination": {"host": 7}}]}
    ]
    vs["spec"]["http"].append({"route": [{"destination": {"host": "web.example.com"}}]})  # not a Service
    assert facts(vs).app_namespaces == {"apps", "data", "post"}


@pytest.mark.parametrize(
    ("match", "path", "reaches"),
    [
        ({"headers": {"x-canary": {"exact": "1"}}}, "/anything", True),  # no uri: every path
        ({"uri": {"regex": "/api/v[0-9]+"}}, "/api/v2", True),
        ({"uri": {"regex": "/api/v[0-9]+"}}, "/api/v2/users", False),  # a regex matches the whole path
        ({"uri": {"regex": "/api/(v1"}}, "/api/v1", False),  # a broken regex matches nothing
        ({"uri": {"exact": "/api"}}, "/api/", False),
        ({"uri": {"prefix": "/api"}}, "/apis", True),
    ],
)
def test_a_route_reaches_an_app_when_its_match_takes_the_path(match, path, reaches):
    found = facts(
        *web_app(), virtual_service("web", "apps", ["web.example.com"], {**route("web"), "match": [match]})
    )
    assert routed(found, "web.example.com", path) == (["web"] if reaches else [])


@pytest.mark.parametrize(
    ("pattern", "host", "covers"),
    [
        ("*", "web.example.com", True),
        ("*.example.com", "web.example.com", True),
        ("*.example.com", "evilexample.com", False),
        ("*.example.com", "example.com", False),
        ("web.example.com", "web.example.com", True),
        ("web.example.com", "www.example.com", False),
    ],
)
def test_a_virtual_service_host_covers_a_request_host(pattern, host, covers):
    found = facts(*web_app(), virtual_service("web", "apps", [pattern], route("web")))
    assert routed(found, host, "/") == (["web"] if covers else [])


def test_objects_whose_metadata_or_spec_is_not_a_mapping_are_left_to_the_schemas():
    broken = [obj("Service", "a", "apps"), obj("Service", "b", "apps"), service("c", "apps")]
    broken[0]["metadata"] = ["name", "a"]
    broken[1]["spec"] = "selector: app=b"
    found = facts(*broken)
    assert [o["metadata"]["name"] for o in found.objects] == ["c"]
    assert found.of_kind("Service") == [broken[2]]


def test_a_route_on_headers_alone_may_take_any_path_beside_the_catch_all():
    # Whether the request carries the header is not known: it may reach either app.
    found = facts(
        *web_app("canary"),
        *web_app("api"),
        *web_app("web"),
        virtual_service(
            "site",
            "apps",
            ["web.example.com"],
            {**route("canary"), "match": [{"headers": {"x-canary": {"exact": "1"}}}]},
            route("api", regex="/api/.*"),
            route("web"),
        ),
    )
    assert routed(found, "web.example.com", "/shop") == ["canary", "web"]
    assert routed(found, "web.example.com", "/api/users") == ["api"]
