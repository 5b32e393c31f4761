"""MA010 on hand-written Gateways and routes: a VirtualService bound to a Gateway that is not there,
or with a host none of the Gateway's servers serves (404), and a server credential that no
Certificate or Secret provides (TLS fails). One finding at the exact field; the fixed twin is silent."""

from __future__ import annotations

import pytest

import meshauth


def gateway(hosts, name="web", namespace="istio-system", credential=None, api="networking.istio.io/v1"):
    server = {"port": {"number": 443, "name": "https", "protocol": "HTTPS"}, "hosts": list(hosts)}
    if credential is not None:
        server["tls"] = {"mode": "SIMPLE", "credentialName": credential}
    return {
        "apiVersion": api,
        "kind": "Gateway",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"selector": {"istio": "ingressgateway"}, "servers": [server]},
    }


def route(hosts, gateways, namespace="apps"):
    return {
        "apiVersion": "networking.istio.io/v1",
        "kind": "VirtualService",
        "metadata": {"name": "app", "namespace": namespace},
        "spec": {
            "hosts": list(hosts),
            "gateways": list(gateways),
            "http": [{"route": [{"destination": {"host": "app.apps.svc.cluster.local"}}]}],
        },
    }


def certificate(secret, namespace="istio-system"):
    return {
        "apiVersion": "cert-manager.io/v1",
        "kind": "Certificate",
        "metadata": {"name": secret, "namespace": namespace},
        "spec": {"secretName": secret, "dnsNames": ["app.example.com"], "issuerRef": {"name": "ca"}},
    }


def ma010(docs):
    return [(f.object, f.path) for f in meshauth.validate(docs) if f.rule == "MA010"]


ROUTE = "VirtualService apps/app"


@pytest.mark.parametrize(
    "ref, route_namespace, bound",
    [
        ("istio-system/web", "apps", True),
        ("web", "istio-system", True),  # no namespace: the route's own
        ("web", "apps", False),  # apps/web: not there
        ("web.istio-system.svc.cluster.local", "apps", True),  # the legacy form
        ("web.apps.svc.cluster.local", "apps", False),
        ("istio-system/webs", "apps", False),
        ("apps/web", "apps", False),
    ],
)
def test_a_route_bound_to_a_gateway_that_is_not_there_gets_404(ref, route_namespace, bound):
    docs = [gateway(["app.example.com"]), route(["app.example.com"], [ref], namespace=route_namespace)]
    assert ma010(docs) == ([] if bound else [(f"VirtualService {route_namespace}/app", "spec.gateways[0]")])


def test_the_mesh_and_unknown_gateways_without_any_gateway_are_not_judged():
    assert (
        ma010([gateway(["app.example.com"]), route(["app.example.com"], ["mesh", "istio-system/web"])]) == []
    )
    assert ma010([route(["app.example.com"], ["istio-system/web"])]) == []
    # a Gateway API Gateway of that name is not an Istio Gateway
    k8s = gateway(["app.example.com"], api="gateway.networking.k8s.io/v1")
    assert ma010([k8s, route(["app.example.com"], ["istio-system/web"])]) == []


@pytest.mark.parametrize(
    "server_host, route_host, served",
    [
        ("app.example.com", "app.example.com", True),
        ("APP.example.com", "App.Example.COM", True),  # host names ignore case
        ("app.example.com", "docs.example.com", False),
        ("app.example.com", "app.example.com.evil.net", False),
        ("*.example.com", "app.example.com", True),
        ("*.example.com", "a.b.example.com", True),
        ("*.example.com", "*.app.example.com", True),
        ("*.example.com", "example.com", False),
        ("*.example.com", "app.example.org", False),
        ("*.example.com", "*", False),
        ("*", "anything.example.net", True),
        ("apps/app.example.com", "app.example.com", True),  # the route's namespace
        ("docs/app.example.com", "app.example.com", False),
        ("*/app.example.com", "app.example.com", True),
        ("./app.example.com", "app.example.com", False),  # the Gateway's namespace, not the route's
        ("apps/*.example.com", "app.example.com", True),
        ("docs/*.example.com", "app.example.com", False),
        ("*/*.example.com", "app.example.com", True),
        ("./*.example.com", "app.example.com", False),
    ],
)
def test_a_host_no_server_of_the_gateway_serves_gets_404(server_host, route_host, served):
    docs = [gateway([server_host]), route([route_host], ["istio-system/web"])]
    assert ma010(docs) == ([] if served else [(ROUTE, "spec.gateways[0]")])


def test_a_gateway_namespace_qualifier_serves_routes_in_the_gateways_namespace():
    docs = [
        gateway(["./app.example.com", "./*.example.org"]),
        route(["app.example.com", "x.example.org"], ["web"], namespace="istio-system"),
    ]
    assert ma010(docs) == []


def test_each_unserved_host_is_reported_at_the_gateway_that_does_not_serve_it():
    docs = [
        gateway(["app.example.com", "docs.example.com"]),
        gateway(["app.example.com"], name="internal"),
        route(["app.example.com", "docs.example.com"], ["istio-system/web", "istio-system/internal"]),
    ]
    assert ma010(docs) == [(ROUTE, "spec.gateways[1]")]
    docs[2]["spec"]["hosts"].append("wiki.example.com")
    assert ma010(docs) == [
        (ROUTE, "spec.gateways[0]"),
        (ROUTE, "spec.gateways[1]"),
        (ROUTE, "spec.gateways[1]"),
    ]


@pytest.mark.parametrize(
    "provided, fine",
    [
        ([certificate("web-cert")], True),
        ([certificate("other-cert"), certificate("web-cert", namespace="apps")], False),  # elsewhere
        (
            [
                certificate("other-cert"),
                {
                    "apiVersion": "v1",
                    "kind": "Secret",
                    "metadata": {"name": "web-cert", "namespace": "istio-system"},
                },
            ],
            True,
        ),
        (
            [
                certificate("other-cert"),
                {
                    "apiVersion": "bitnami.com/v1alpha1",
                    "kind": "SealedSecret",
                    "metadata": {"name": "web-cert", "namespace": "istio-system"},
                },
            ],
            True,
        ),
        (
            [
                certificate("other-cert"),
                {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "web-cert", "namespace": "apps"}},
            ],
            False,
        ),
        ([], True),  # certificates are not managed in these manifests: nothing to compare with
    ],
)
def test_a_server_credential_nothing_provides_fails_tls(provided, fine):
    docs = [
        gateway(["app.example.com"], credential="web-cert"),
        route(["app.example.com"], ["istio-system/web"]),
        *provided,
    ]
    expected = [] if fine else [("Gateway istio-system/web", "spec.servers[0].tls.credentialName")]
    assert ma010(docs) == expected


def test_a_server_without_a_credential_needs_no_certificate():
    docs = [
        gateway(["app.example.com"], credential=""),
        route(["app.example.com"], ["istio-system/web"]),
        certificate("x"),
    ]
    assert ma010(docs) == []


def test_the_mesh_or_a_missing_gateway_does_not_hide_the_gateways_after_it():
    docs = [gateway(["app.example.com"]), route(["docs.example.com"], ["mesh", "istio-system/web"])]
    assert ma010(docs) == [(ROUTE, "spec.gateways[1]")]
    docs = [
        gateway(["app.example.com"]),
        route(["docs.example.com"], ["istio-system/gone", "istio-system/web"]),
    ]
    assert ma010(docs) == [(ROUTE, "spec.gateways[0]"), (ROUTE, "spec.gateways[1]")]


def test_a_credential_that_is_not_a_name_is_left_to_the_schema_check():
    docs = [
        gateway(["app.example.com"], credential=123),
        route(["app.example.com"], ["istio-system/web"]),
        certificate("x"),
    ]
    assert ma010(docs) == []


@pytest.mark.parametrize(
    "route_host, served",
    [("app.*.example.com", True), ("app.x.example.com", False), ("docs.example.com", False)],
)
def test_a_wildcard_that_is_not_the_leftmost_label_matches_only_itself(route_host, served):
    docs = [gateway(["app.*.example.com"]), route([route_host], ["istio-system/web"])]
    assert ma010(docs) == ([] if served else [(ROUTE, "spec.gateways[0]")])


def test_a_gateway_whose_name_has_a_dot_is_found_by_namespace_and_name():
    docs = [gateway(["app.example.com"], name="web.v2"), route(["app.example.com"], ["istio-system/web.v2"])]
    assert ma010(docs) == []
