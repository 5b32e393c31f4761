"""Version matrix: for Istio 1.6 ... newest and Kubernetes 1.25 ... 1.37, every mode that a version
supports renders the apiVersions and fields that version serves, validates against the upstream
CRDs and the Kubernetes schemas, and every mode a version does not support is refused with the
reason."""

from __future__ import annotations

from pathlib import Path

import pytest
from topology_support import MODES, config, of_kind
from upstream import UpstreamSchemas, require_ref

import meshauth
from meshauth.compat.versions import NEWEST_KNOWN_ISTIO, kubernetes_versions
from meshauth.validation.validate import is_core_group

ISTIO = [f"1.{minor}" for minor in range(6, NEWEST_KNOWN_ISTIO[1] + 1)]
KUBERNETES = [f"{major}.{minor}" for major, minor in kubernetes_versions()]
SINCE = {
    "sidecar": (1, 6),
    "envoyfilter": (1, 6),
    "authservice": (1, 9),
    "gateway-api": (1, 22),
    "ambient": (1, 25),
    "ambient+gateway-api": (1, 25),
}


def minor(version: str) -> tuple[int, int]:
    major, minor_ = version.split(".")
    return int(major), int(minor_)


def mode_config(mode: str, istio: str, kubernetes: str = "1.30") -> dict:
    overrides = {k: v for k, v in MODES[mode].items() if k != "platform"}
    return config(istio=istio, kubernetes=kubernetes, **overrides)


CASES = [
    (mode, istio)
    for istio in ISTIO
    for mode in sorted(MODES)
    if mode != "envoyfilter"
    if minor(istio) >= SINCE[mode]
]


def test_the_matrix_spans_the_supported_versions():
    assert ISTIO[0] == "1.6" and ISTIO[-1] == "1.32"
    assert KUBERNETES[0] == "1.25" and KUBERNETES[-1] == "1.37"
    assert len(CASES) > 60


@pytest.mark.parametrize("mode, istio", CASES, ids=[f"{m}-{i}" for m, i in CASES])
def test_mode_renders_the_api_shapes_of_its_istio_version(mode, istio):
    bundle = meshauth.render(mode_config(mode, istio))
    version = minor(istio)
    kinds = {}
    for obj in bundle.objects:
        kinds.setdefault(obj["kind"], set()).add(obj["apiVersion"])
    security = "security.istio.io/v1" if version >= (1, 17) else "security.istio.io/v1beta1"
    assert kinds["AuthorizationPolicy"] == kinds["RequestAuthentication"] == {security}
    assert kinds["PeerAuthentication"] == {
        "security.istio.io/v1" if version >= (1, 22) else "security.istio.io/v1beta1"
    }
    networking = "networking.istio.io/v1" if version >= (1, 22) else "networking.istio.io/v1beta1"
    assert kinds["DestinationRule"] == {networking}
    assert kinds["ServiceEntry"] == {
        "networking.istio.io/v1" if version >= (1, 22) else "networking.istio.io/v1alpha3"
    }
    if "gateway-api" in mode:
        assert kinds["HTTPRoute"] == kinds["Gateway"] == {"gateway.networking.k8s.io/v1"}
        assert "VirtualService" not in kinds and "IngressClass" not in kinds
    else:
        assert kinds["VirtualService"] == {networking}
        assert networking in kinds["Gateway"]
    # every version: the EnvoyFilter that removes client-sent identity headers first at the gateway
    assert kinds["EnvoyFilter"] == {"networking.istio.io/v1alpha3"}
    logins = [f for f in of_kind(bundle, "EnvoyFilter") if f["metadata"]["name"].endswith("-login")]
    if version < (1, 9):
        assert logins
        assert not [p for p in of_kind(bundle, "AuthorizationPolicy") if p["spec"]["action"] == "CUSTOM"]
    else:
        assert not logins
        assert [p for p in of_kind(bundle, "AuthorizationPolicy") if p["spec"]["action"] == "CUSTOM"]
    uses_target_refs = [o for o in bundle.objects if "targetRefs" in o.get("spec", {})]
    assert bool(uses_target_refs) == (mode != "sidecar" and mode != "authservice")
    assert all(version >= (1, 22) for _ in uses_target_refs)


@pytest.mark.parametrize(
    "istio, manager, api",
    [
        ("1.6", "envoy.http_connection_manager", "envoy.config.filter.http.ext_authz.v2"),
        # Istio 1.7.0 (go-control-plane ba7954ce7df4) matches the filter name exactly and knows the
        # connection manager only by its old name; 1.7.1+ and 1.8 accept both: the old name works
        # on every release, the canonical one would leave 1.7.0 without login (403 everywhere).
        ("1.7", "envoy.http_connection_manager", "envoy.extensions.filters.http.ext_authz.v3"),
        ("1.8", "envoy.http_connection_manager", "envoy.extensions.filters.http.ext_authz.v3"),
    ],
)
def test_envoy_filter_shape_follows_the_proxy_s_api(istio, manager, api):
    bundle = meshauth.render(config(istio=istio))
    login = next(f for f in of_kind(bundle, "EnvoyFilter") if f["metadata"]["name"].endswith("-login"))
    patches = login["spec"]["configPatches"]
    http = [p for p in patches if p["applyTo"] == "HTTP_FILTER"]
    assert {p["match"]["listener"]["filterChain"]["filter"]["name"] for p in http} == {manager}
    assert {p["patch"]["value"]["typed_config"]["@type"] for p in http} == {
        f"type.googleapis.com/{api}.ExtAuthz"
    }
    routes = [p for p in patches if p["applyTo"] == "HTTP_ROUTE"]
    per_route = routes[0]["patch"]["value"]["typed_per_filter_config"]["envoy.filters.http.ext_authz"]
    assert per_route["@type"] == f"type.googleapis.com/{api}.ExtAuthzPerRoute"
    authz = http[0]["patch"]["value"]["typed_config"]["http_service"]["authorization_response"]
    assert "allowed_client_headers_on_success" not in authz  # Envoy 1.17 (Istio 1.9) and later


@pytest.mark.parametrize("mode", sorted(set(SINCE) - {"sidecar", "envoyfilter"}))
def test_mode_is_refused_below_its_istio_version(mode):
    too_old = f"{SINCE[mode][0]}.{SINCE[mode][1] - 1}"
    with pytest.raises(meshauth.ConfigError) as caught:
        meshauth.load_config(mode_config(mode, too_old))
    message = str(caught.value)
    assert f"needs Istio {SINCE[mode][0]}.{SINCE[mode][1]} or newer" in message


@pytest.mark.parametrize("istio", ["1.4", "1.5"])
def test_istio_before_1_6_is_refused_with_the_reason(istio):
    with pytest.raises(meshauth.ConfigError, match="must be 1.6 or newer"):
        meshauth.load_config(config(istio=istio))


@pytest.fixture(scope="module", params=["newest", "released"])
def schemas(request):
    return getattr(UpstreamSchemas, request.param)(require_ref())


@pytest.mark.parametrize("mode, istio", CASES, ids=[f"{m}-{i}" for m, i in CASES])
def test_mode_validates_against_the_upstream_crds(schemas, mode, istio):
    bundle = meshauth.render(mode_config(mode, istio))
    custom = [o for o in bundle.objects if not is_core_group(o["apiVersion"])]
    assert [e for o in custom for e in schemas.errors(o)] == []
    assert all(schemas.knows(o["apiVersion"], o["kind"]) for o in custom)


def _istio_release_crds() -> dict[str, Path]:
    """Istio minor -> the CRDs of its served istio.io/api release (tools/upstream_data.py)."""
    folder = require_ref() / "crds" / "istio"
    found = {
        p.stem.removeprefix("istio-crds-").rpartition(".")[0]: p for p in folder.glob("istio-crds-*.yaml")
    }
    if not found:
        pytest.skip(f"{folder} is absent: the per-release Istio CRDs come from python tools/upstream_data.py")
    return found


RELEASE_CASES = [(mode, istio) for mode, istio in CASES if istio in ("1.24", "1.30", "1.31", "1.32")]


@pytest.mark.parametrize("mode, istio", RELEASE_CASES, ids=[f"{m}-{i}" for m, i in RELEASE_CASES])
def test_mode_validates_against_the_crds_of_its_own_istio_release(mode, istio):
    """What meshauth renders for Istio 1.X validates against istio.io/api 1.X's own CRDs."""
    crds = _istio_release_crds()
    schemas = UpstreamSchemas([crds[istio]], fallback_files=sorted((require_ref() / "crds").glob("*.yaml")))
    assert schemas.source("security.istio.io/v1", "AuthorizationPolicy") == crds[istio].resolve()
    bundle = meshauth.render(mode_config(mode, istio))
    custom = [o for o in bundle.objects if not is_core_group(o["apiVersion"])]
    assert [e for o in custom for e in schemas.errors(o)] == []


@pytest.mark.parametrize("kubernetes", KUBERNETES)
@pytest.mark.parametrize("mode", sorted(MODES))
def test_mode_validates_against_each_kubernetes_version(mode, kubernetes):
    istio = "1.8" if mode == "envoyfilter" else "1.30"
    bundle = meshauth.render(mode_config(mode, istio, kubernetes))
    assert [str(f) for f in meshauth.validate(bundle) if f.severity == "error"] == []
    assert {o["apiVersion"] for o in bundle.objects if o["kind"] in ("Role", "RoleBinding")} <= {
        "rbac.authorization.k8s.io/v1"
    }
    assert {o["apiVersion"] for o in bundle.objects if o["kind"] == "Deployment"} == {"apps/v1"}


@pytest.mark.parametrize(
    "istio, key",
    [("1.6", "class"), ("1.8", "class"), ("1.9", "ingressClassName"), ("1.30", "ingressClassName")],
)
def test_acme_solver_names_the_istio_ingress_class_as_the_version_honours_it(istio, key):
    issuer = next(iter(of_kind(meshauth.render(config(istio=istio)), "ClusterIssuer")))
    assert issuer["spec"]["acme"]["solvers"] == [{"http01": {"ingress": {key: "istio"}}}]


def _refresh_warnings(bundle: meshauth.Bundle) -> list[str]:
    return [w.message for w in bundle.warnings if w.path == "spec.oauth2Proxy.cookie.refresh"]


@pytest.mark.parametrize("istio", ["1.6", "1.7", "1.8"])
def test_cookie_refresh_before_istio_1_9_warns_that_the_new_cookie_is_dropped(istio):
    # Envoy 1.14-1.16 (Istio 1.6-1.8) has no allowed_client_headers_on_success: the Set-Cookie of a
    # refreshed session goes to the app, never to the browser, which refreshes on every request.
    bundle = meshauth.render(config(istio=istio, oauth2Proxy={"cookie": {"refresh": "30m"}}))
    [message] = _refresh_warnings(bundle)
    assert f"cookie.refresh 30m never reaches the browser on Istio {istio}" in message
    assert 'refresh: "0"' in message
    validated = meshauth.validate(bundle)
    assert [f.path for f in validated if "never reaches the browser" in f.message] == [
        "spec.oauth2Proxy.cookie.refresh"
    ]


@pytest.mark.parametrize("istio, refresh", [("1.8", "0"), ("1.8", "0s"), ("1.14", "30m"), ("1.30", "1h")])
def test_no_refresh_warning_when_refresh_is_off_or_the_provider_passes_the_cookie(istio, refresh):
    bundle = meshauth.render(config(istio=istio, oauth2Proxy={"cookie": {"refresh": refresh}}))
    assert _refresh_warnings(bundle) == []
