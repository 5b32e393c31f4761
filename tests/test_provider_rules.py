"""MA001, MA002, MA011 and MA012 on a rendered bundle with one fault put into its mesh config or
objects: the extension provider the login calls must exist, be a DNS label, reach oauth2-proxy's
Service and pass the session cookie both ways. Each fault is one finding at the exact field; the
fixed twin is silent."""

from __future__ import annotations

import copy

import pytest
from conftest import ROOT

import meshauth

QUICKSTART = meshauth.render(ROOT / "examples" / "quickstart.yaml")
PROVIDER = "spec.meshConfig.extensionProviders[0]"
MESH = "IstioOperator istio-system/quickstart-mesh"
LOGIN = "AuthorizationPolicy istio-system/quickstart-login"


def bundle():
    return copy.deepcopy(list(QUICKSTART.objects)), copy.deepcopy(QUICKSTART.mesh_config)


def provider(mesh):
    return mesh["spec"]["meshConfig"]["extensionProviders"][0]


def http(mesh):
    return provider(mesh)["envoyExtAuthzHttp"]


def get(objects, kind, name):
    return next(o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name)


def found(objects, mesh, *rules):
    docs = [*objects, mesh] if mesh is not None else objects
    return [(f.rule, f.object, f.path) for f in meshauth.validate(docs) if f.rule in rules]


def test_the_rendered_bundle_is_silent():
    objects, mesh = bundle()
    assert found(objects, mesh, "MA001", "MA002", "MA011", "MA012") == []


# --- MA001 / MA002 ------------------------------------------------------------------------------------


def test_a_login_naming_an_undefined_provider_is_denied_for_everyone():
    objects, mesh = bundle()
    get(objects, "AuthorizationPolicy", "quickstart-login")["spec"]["provider"]["name"] = "oauth2proxy"
    assert found(objects, mesh, "MA001", "MA002") == [("MA001", LOGIN, "spec.provider.name")]
    # without the mesh config there is nothing to compare with
    assert found(objects, None, "MA001") == []


@pytest.mark.parametrize(
    "name, valid",
    [
        ("oauth2-proxy", True),
        ("a", True),
        ("0auth", True),
        ("x" * 63, True),
        ("x" * 64, False),
        ("OAuth2-Proxy", False),
        ("oauth2_proxy", False),
        ("oauth2.proxy", False),
        ("-oauth2", False),
        ("oauth2-", False),
    ],
)
def test_a_provider_name_must_be_a_lowercase_dns_label(name, valid):
    objects, mesh = bundle()
    provider(mesh)["name"] = name
    get(objects, "AuthorizationPolicy", "quickstart-login")["spec"]["provider"]["name"] = name
    assert found(objects, mesh, "MA001", "MA002") == ([] if valid else [("MA002", MESH, f"{PROVIDER}.name")])


def test_without_a_mesh_config_the_logins_provider_name_is_judged():
    objects, _ = bundle()
    get(objects, "AuthorizationPolicy", "quickstart-login")["spec"]["provider"]["name"] = "OAuth2-Proxy"
    assert found(objects, None, "MA002") == [("MA002", LOGIN, "spec.provider.name")]
    get(objects, "AuthorizationPolicy", "quickstart-login")["spec"]["provider"]["name"] = "oauth2-proxy"
    assert found(objects, None, "MA002") == []


# --- MA011: the provider reaches oauth2-proxy ----------------------------------------------------------


def test_a_provider_service_that_is_not_oauth2_proxys_service():
    objects, mesh = bundle()
    http(mesh)["service"] = "oauth2-proxy.auth.svc.cluster.local"
    assert found(objects, mesh, "MA011") == [("MA011", MESH, f"{PROVIDER}.envoyExtAuthzHttp.service")]
    # no oauth2-proxy Service in the manifests: nothing to say where it should point
    objects = [o for o in objects if o["kind"] != "Service" or o["metadata"]["name"] != "oauth2-proxy"]
    assert found(objects, mesh, "MA011") == []


@pytest.mark.parametrize(
    "port, reaches", [(4180, True), ("4180", True), (" 4180 ", True), (8080, False), ("http", False)]
)
def test_the_provider_port_must_be_a_port_of_the_service(port, reaches):
    objects, mesh = bundle()
    http(mesh)["port"] = port
    assert found(objects, mesh, "MA011") == (
        [] if reaches else [("MA011", MESH, f"{PROVIDER}.envoyExtAuthzHttp.port")]
    )


def test_a_service_that_selects_no_oauth2_proxy_pods_has_no_endpoints():
    objects, mesh = bundle()
    service = get(objects, "Service", "oauth2-proxy")
    service["spec"]["selector"] = {"app": "something-else"}
    assert found(objects, mesh, "MA011") == [("MA011", "Service oauth2-proxy/oauth2-proxy", "spec.selector")]
    # without oauth2-proxy's pods in the manifests there is nothing to compare with
    objects = [o for o in objects if o["kind"] != "Deployment" or o["metadata"]["name"] != "oauth2-proxy"]
    assert found(objects, mesh, "MA011") == []


def test_a_provider_that_is_not_oauth2_proxy_is_not_judged():
    objects, mesh = bundle()
    provider(mesh)["name"] = "opa"
    http(mesh).update(service="opa.opa.svc.cluster.local", port=9191, includeRequestHeadersInCheck=[])
    get(objects, "AuthorizationPolicy", "quickstart-login")["spec"]["provider"]["name"] = "opa"
    assert found(objects, mesh, "MA011", "MA012") == []


# --- MA012: the session cookie both ways ----------------------------------------------------------------


@pytest.mark.parametrize(
    "deny, passes",
    [
        (None, True),  # not set: Envoy passes every header of the denial on
        (["content-type", "set-cookie"], True),
        (["Set-Cookie"], True),  # header names ignore case
        (["content-type"], False),
        ([], False),
    ],
)
def test_the_login_cookie_must_reach_the_browser(deny, passes):
    objects, mesh = bundle()
    if deny is None:
        del http(mesh)["headersToDownstreamOnDeny"]
    else:
        http(mesh)["headersToDownstreamOnDeny"] = deny
    where = f"{PROVIDER}.envoyExtAuthzHttp.headersToDownstreamOnDeny"
    assert found(objects, mesh, "MA012") == ([] if passes else [("MA012", MESH, where)])


@pytest.mark.parametrize(
    "field, headers, passes",
    [
        ("includeRequestHeadersInCheck", ["authorization", "cookie"], True),
        ("includeRequestHeadersInCheck", ["COOKIE"], True),
        ("includeHeadersInCheck", ["cookie"], True),  # before Istio 1.10
        ("includeRequestHeadersInCheck", ["authorization"], False),
        ("includeHeadersInCheck", ["authorization"], False),
        (None, None, False),  # Envoy then sends only host, method and path
    ],
)
def test_the_session_cookie_must_reach_oauth2_proxy(field, headers, passes):
    objects, mesh = bundle()
    del http(mesh)["includeRequestHeadersInCheck"]
    if field:
        http(mesh)[field] = headers
    where = f"{PROVIDER}.envoyExtAuthzHttp.includeRequestHeadersInCheck"
    assert found(objects, mesh, "MA012") == ([] if passes else [("MA012", MESH, where)])


def _opa_first(mesh):
    opa = {"name": "opa", "envoyExtAuthzHttp": {"service": "opa.opa.svc.cluster.local", "port": 9191}}
    mesh["spec"]["meshConfig"]["extensionProviders"].insert(0, opa)
    return "spec.meshConfig.extensionProviders[1]"


def test_another_provider_listed_first_does_not_hide_oauth2_proxys():
    objects, mesh = bundle()
    where = _opa_first(mesh)
    oauth2 = mesh["spec"]["meshConfig"]["extensionProviders"][1]["envoyExtAuthzHttp"]
    oauth2.update(port=8080, headersToDownstreamOnDeny=["content-type"])
    assert found(objects, mesh, "MA011", "MA012") == [
        ("MA011", MESH, f"{where}.envoyExtAuthzHttp.port"),
        ("MA012", MESH, f"{where}.envoyExtAuthzHttp.headersToDownstreamOnDeny"),
    ]
    oauth2.update(port=4180, service="oauth2-proxy.auth.svc.cluster.local")
    assert found(objects, mesh, "MA011") == [("MA011", MESH, f"{where}.envoyExtAuthzHttp.service")]


def test_a_grpc_provider_has_no_http_headers_to_judge():
    objects, mesh = bundle()
    grpc = {
        "name": "oauth2-proxy-grpc",
        "envoyExtAuthzGrpc": {"service": "oauth2-proxy.oauth2-proxy.svc.cluster.local", "port": 4180},
    }
    mesh["spec"]["meshConfig"]["extensionProviders"].insert(0, grpc)
    assert found(objects, mesh, "MA011", "MA012") == []


def test_a_login_without_a_provider_name_is_not_a_naming_problem():
    objects, _ = bundle()
    del get(objects, "AuthorizationPolicy", "quickstart-login")["spec"]["provider"]
    assert found(objects, None, "MA002") == []


def test_a_provider_pointing_nowhere_does_not_hide_the_next_one():
    objects, mesh = bundle()
    stale = {
        "name": "oauth2-proxy-old",
        "envoyExtAuthzHttp": {"service": "oauth2-proxy.old.svc.cluster.local", "port": 4180},
    }
    mesh["spec"]["meshConfig"]["extensionProviders"].insert(0, stale)
    mesh["spec"]["meshConfig"]["extensionProviders"][1]["envoyExtAuthzHttp"]["port"] = 8080
    providers = "spec.meshConfig.extensionProviders"
    assert found(objects, mesh, "MA011") == [
        ("MA011", MESH, f"{providers}[0].envoyExtAuthzHttp.service"),
        ("MA011", MESH, f"{providers}[1].envoyExtAuthzHttp.port"),
    ]


# --- which provider is oauth2-proxy: its Service selects the proxy's pods, in their namespace -------


def renamed_provider(namespace="sso-system", selector=None):
    """The login's provider renamed `sso`, the proxy moved to `sso-system`, and the provider calling
    a Service `sso` in ``namespace`` (no "oauth2" in any name the provider shows), which selects
    the proxy's pods unless ``selector`` says otherwise; the check does not pass the cookie."""
    objects, mesh = bundle()
    get(objects, "Deployment", "oauth2-proxy")["metadata"]["namespace"] = "sso-system"
    service = copy.deepcopy(get(objects, "Service", "oauth2-proxy"))
    service["metadata"].update(name="sso", namespace=namespace)
    if selector is not None:
        service["spec"]["selector"] = selector
    objects.append(service)
    provider(mesh)["name"] = "sso"
    http(mesh)["service"] = f"sso.{namespace}.svc.cluster.local"
    http(mesh)["includeRequestHeadersInCheck"] = ["authorization"]
    get(objects, "AuthorizationPolicy", "quickstart-login")["spec"]["provider"]["name"] = "sso"
    return objects, mesh


def test_a_provider_whose_service_selects_the_proxy_is_checked_as_oauth2_proxy_whatever_its_name():
    objects, mesh = renamed_provider()
    other = copy.deepcopy(get(objects, "Deployment", "oauth2-proxy"))
    other["metadata"]["namespace"] = "team-b"  # another team's proxy does not change the answer
    objects.append(other)
    assert found(objects, mesh, "MA012") == [
        ("MA012", MESH, f"{PROVIDER}.envoyExtAuthzHttp.includeRequestHeadersInCheck")
    ]


@pytest.mark.parametrize(
    ("namespace", "selector"),
    [("auth", None), ("sso-system", {}), ("sso-system", {"app.kubernetes.io/name": "other"})],
    ids=["same-labels-other-namespace", "no-selector", "other-pods"],
)
def test_a_service_that_does_not_select_the_proxy_pods_makes_no_oauth2_proxy(namespace, selector):
    objects, mesh = renamed_provider(namespace, selector)
    assert found(objects, mesh, "MA012") == []
