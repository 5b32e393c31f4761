"""MA071, MA072 and MA073 on hand-written Gateway API setups: a policy only a waypoint enforces in a
namespace without one (or one the ingress bypasses), a policy attached to a Gateway that is not
there, and an HTTPRoute its listener does not admit. One finding at the exact ref; fixed twin silent."""

from __future__ import annotations

import pytest

import meshauth

GW = "gateway.networking.k8s.io"


def namespace(name="apps", **labels):
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}


ENROLLED = {"istio.io/use-waypoint": "waypoint", "istio.io/ingress-use-waypoint": "true"}


def policy(*refs, namespace="apps", kind="AuthorizationPolicy"):
    return {
        "apiVersion": "security.istio.io/v1",
        "kind": kind,
        "metadata": {"name": "p", "namespace": namespace},
        "spec": {"targetRefs": list(refs), "rules": [{}]},
    }


def gateway(name="waypoint", namespace="apps", cls="istio-waypoint", listeners=None):
    return {
        "apiVersion": f"{GW}/v1",
        "kind": "Gateway",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "gatewayClassName": cls,
            "listeners": listeners or [{"name": "mesh", "port": 15008, "protocol": "HBONE"}],
        },
    }


SERVICE_REF = {"kind": "Service", "group": "", "name": "web"}
WAYPOINT_REF = {"kind": "Gateway", "group": GW, "name": "waypoint"}


def found(docs, rule):
    return [(f.object, f.path) for f in meshauth.validate(docs) if f.rule == rule]


# --- MA071 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "labels, problem",
    [
        (ENROLLED, None),
        ({"istio.io/ingress-use-waypoint": "true"}, "not enrolled"),
        ({"istio.io/use-waypoint": "waypoint"}, "lacks"),
        ({"istio.io/use-waypoint": "waypoint", "istio.io/ingress-use-waypoint": "True"}, "lacks"),
    ],
)
def test_a_policy_on_a_service_needs_the_namespace_enrolled_for_ingress_too(labels, problem):
    findings = [f for f in meshauth.validate([namespace(**labels), policy(SERVICE_REF)]) if f.rule == "MA071"]
    assert [(f.object, f.path) for f in findings] == (
        [] if problem is None else [("AuthorizationPolicy apps/p", "spec.targetRefs[0]")]
    )
    if problem:
        assert problem in findings[0].message


def test_a_policy_on_the_waypoint_gateway_needs_it_too():
    docs = [namespace(), gateway(), policy({"kind": "Gateway", "name": "other"}, WAYPOINT_REF)]
    assert found(docs, "MA071") == [("AuthorizationPolicy apps/p", "spec.targetRefs[1]")]
    docs[0] = namespace(**ENROLLED)
    assert found(docs, "MA071") == []


@pytest.mark.parametrize(
    "gw, ref",
    [
        (gateway(cls="istio"), WAYPOINT_REF),  # an ingress Gateway, not a waypoint
        (gateway(namespace="other"), WAYPOINT_REF),
        (gateway(name="waypoint-2"), WAYPOINT_REF),
        (gateway(), {**WAYPOINT_REF, "group": ""}),
    ],
)
def test_a_policy_on_a_gateway_that_is_no_waypoint_here_is_not_judged(gw, ref):
    assert found([namespace(), gw, policy(ref)], "MA071") == []


def test_a_namespace_the_manifests_do_not_define_is_not_judged():
    assert found([policy(SERVICE_REF)], "MA071") == []


# --- MA072 ---------------------------------------------------------------------------------------


def test_a_policy_attached_to_a_gateway_that_is_not_there():
    ingress = gateway(name="public", cls="istio")
    ref = {"kind": "Gateway", "group": GW, "name": "publik"}
    docs = [ingress, policy({"kind": "Service", "name": "web"}, ref)]
    assert found(docs, "MA072") == [("AuthorizationPolicy apps/p", "spec.targetRefs[1]")]
    assert found([ingress, policy({**ref, "name": "public"})], "MA072") == []
    assert found([ingress, policy(ref, namespace="other")], "MA072") == [
        ("AuthorizationPolicy other/p", "spec.targetRefs[0]")
    ]
    assert found([policy(ref)], "MA072") == []  # no Gateway API Gateway here: managed elsewhere


# --- MA073 ---------------------------------------------------------------------------------------


def route(section="https", namespace="apps", hostnames=("app.example.com",), parent_namespace="gateways"):
    parent = {"name": "public", "sectionName": section}
    if parent_namespace:
        parent["namespace"] = parent_namespace
    return {
        "apiVersion": f"{GW}/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": "app", "namespace": namespace},
        "spec": {"parentRefs": [{"name": "elsewhere"}, parent], "hostnames": list(hostnames)},
    }


def public(**listener):
    base = {"name": "https", "port": 443, "protocol": "HTTPS", **listener}
    return gateway(
        name="public", namespace="gateways", cls="istio", listeners=[{"name": "http", "port": 80}, base]
    )


ALL = {"namespaces": {"from": "All"}}


@pytest.mark.parametrize(
    "listener, route_kwargs, admitted",
    [
        ({"allowedRoutes": ALL}, {}, True),
        ({"allowedRoutes": ALL}, {"section": "httpz"}, False),
        ({"allowedRoutes": ALL, "hostname": "app.example.com"}, {}, True),
        ({"allowedRoutes": ALL, "hostname": "docs.example.com"}, {}, False),
        ({"allowedRoutes": ALL, "hostname": "docs.example.com"}, {"hostnames": ()}, True),
        ({}, {}, False),  # Same by default
        ({"allowedRoutes": {"namespaces": {}}}, {}, False),
        (
            {"allowedRoutes": {"namespaces": {"from": "Same"}}},
            {"namespace": "gateways", "parent_namespace": None},
            True,
        ),
        ({}, {"namespace": "gateways"}, True),
        (
            {
                "allowedRoutes": {
                    "namespaces": {"from": "Selector", "selector": {"matchLabels": {"team": "a"}}}
                }
            },
            {},
            True,
        ),
        (
            {
                "allowedRoutes": {
                    "namespaces": {"from": "Selector", "selector": {"matchLabels": {"team": "b"}}}
                }
            },
            {},
            False,
        ),
        (
            {
                "allowedRoutes": {
                    "namespaces": {
                        "from": "Selector",
                        "selector": {"matchLabels": {"kubernetes.io/metadata.name": "apps"}},
                    }
                }
            },
            {},
            True,
        ),
    ],
)
def test_a_route_its_listener_does_not_admit_is_not_attached(listener, route_kwargs, admitted):
    r = route(**route_kwargs)
    docs = [namespace(team="a"), public(**listener), r]
    expected = [] if admitted else [(f"HTTPRoute {r['metadata']['namespace']}/app", "spec.parentRefs[1]")]
    assert found(docs, "MA073") == expected


def test_a_parent_without_a_section_or_outside_the_manifests_is_not_judged():
    r = route()
    del r["spec"]["parentRefs"][1]["sectionName"]
    assert found([namespace(), public(), r], "MA073") == []
    assert found([namespace(), route()], "MA073") == []  # its Gateway is managed elsewhere


def test_a_parent_without_a_namespace_is_in_the_routes_namespace():
    r = route(section="httpz", namespace="gateways", parent_namespace=None)
    assert found([namespace(), public(allowedRoutes=ALL), r], "MA073") == [
        ("HTTPRoute gateways/app", "spec.parentRefs[1]")
    ]


def test_a_listener_admitting_from_an_unnamed_source_admits_its_own_namespace_only():
    # allowedRoutes.namespaces without `from`: Same
    listener = {"allowedRoutes": {"namespaces": {"selector": {"matchLabels": {"team": "a"}}}}}
    assert found([namespace(team="a"), public(**listener), route()], "MA073") == [
        ("HTTPRoute apps/app", "spec.parentRefs[1]")
    ]


@pytest.mark.parametrize("kind", ["HTTPRoute", "GatewayClass"])
def test_a_ref_of_another_kind_named_like_the_waypoint_needs_no_waypoint(kind):
    docs = [namespace(), gateway(), policy({**WAYPOINT_REF, "kind": kind})]
    assert found(docs, "MA071") == []
