"""Every version-dependent decision about Istio and Kubernetes, in one place.

The render context and the shapes ask this module which apiVersion or field name a target version takes; templates never
compare versions. oauth2-proxy's per-release flags live in :mod:`meshauth.compat.proxyflags`.
Sources: Istio release notes and the istio/api protos (see the design notes).
"""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

MIN_ISTIO = (1, 6)
PROVIDER_ISTIO = (1, 9)  # extension providers and the CUSTOM action; before: an EnvoyFilter
GATEWAY_API_ISTIO = (1, 22)  # targetRefs on AuthorizationPolicy / RequestAuthentication
AMBIENT_ISTIO = (1, 25)  # istio.io/ingress-use-waypoint on a namespace
# RequestAuthentication jwtRules[].outputClaimToHeaders: first in the released CRDs of 1.17.0
# (manifests/charts/base/crds/crd-all.gen.yaml; absent from 1.16.x and before).
CLAIM_HEADERS_ISTIO = (1, 17)
# Newest minor whose API meshauth checked: 1.31 (insecureSkipVerify on Gateway TLS, redirect
# prefixRewrite) and 1.32 (RequestAuthentication jwtRules[].presence, Gateway tls alpnProtocols /
# ecdhCurves, EnvoyFilter filterChain.transportSocket) only added fields meshauth does not write, and
# the extension provider (mesh/v1alpha1 EnvoyExternalAuthorizationHttpProvider) is unchanged:
# istio.io/api v1.31.4 and v1.32.0, CRDs and protos, compared with v1.30.8.
NEWEST_KNOWN_ISTIO = (1, 32)
DEFAULT_KUBERNETES = "1.30"


@dataclass(frozen=True)
class IstioFeatures:
    """What the target Istio minor version serves, as the shapes need it."""

    security_api: str  # AuthorizationPolicy, RequestAuthentication
    peer_authentication_api: str
    networking_api: str  # Gateway, VirtualService
    include_headers_key: str  # envoyExtAuthzHttp field naming the request headers sent to the check
    headers_to_downstream_on_allow: bool
    extension_providers: bool = True  # False: the login is an EnvoyFilter (Istio before 1.9)
    service_entry_api: str = "networking.istio.io/v1"
    envoy_filter: EnvoyFilterShape | None = None
    # How cert-manager's HTTP-01 solver Ingress names the class Istio serves: the
    # kubernetes.io/ingress.class annotation (``class``) is what Istio's ingress controller has
    # always honoured; meshauth uses ingressClassName (with an IngressClass) from 1.9 on.
    acme_ingress_class_key: str = "ingressClassName"


def istio_features(version: tuple[int, int]) -> IstioFeatures:
    at_least = version.__ge__
    return IstioFeatures(
        security_api="security.istio.io/v1" if at_least((1, 17)) else "security.istio.io/v1beta1",
        peer_authentication_api=(
            "security.istio.io/v1" if at_least((1, 22)) else "security.istio.io/v1beta1"
        ),
        networking_api=("networking.istio.io/v1" if at_least((1, 22)) else "networking.istio.io/v1beta1"),
        include_headers_key=(
            "includeRequestHeadersInCheck" if at_least((1, 10)) else "includeHeadersInCheck"
        ),
        headers_to_downstream_on_allow=at_least((1, 14)),
        extension_providers=at_least(PROVIDER_ISTIO),
        # networking.istio.io/v1alpha3 is served for ServiceEntry in every release; v1 from 1.22
        service_entry_api=("networking.istio.io/v1" if at_least((1, 22)) else "networking.istio.io/v1alpha3"),
        envoy_filter=None if at_least(PROVIDER_ISTIO) else envoy_filter_shape(version),
        acme_ingress_class_key="ingressClassName" if at_least(PROVIDER_ISTIO) else "class",
    )


@dataclass(frozen=True)
class EnvoyFilterShape:
    """How an EnvoyFilter inserts ext_authz into the ingress gateway, before extension providers.

    Istio 1.6 proxies speak xDS v2 (the ext_authz config is ``envoy.config.filter.http.ext_authz.v2``);
    from 1.7 the v3 API. The connection manager is matched as ``envoy.http_connection_manager`` on
    every 1.6-1.8 release: Istio matches the filter name exactly, and 1.7.0 (go-control-plane
    ``ba7954ce7df4``, ``wellknown.go``) still names it so; only 1.7.1+ and 1.8 also accept
    ``envoy.filters.network.http_connection_manager``. Matching the canonical name on 1.7.0 leaves
    the patch unapplied and every app host answering 403.
    The JWT filter is ``envoy.filters.http.jwt_authn`` throughout (RequestAuthentication,
    security.istio.io/v1beta1, from 1.5). ext_authz goes right before it, giving the same order as
    the CUSTOM action from 1.9: ext_authz, jwt_authn, rbac.
    """

    api_version: str  # EnvoyFilter: networking.istio.io/v1alpha3 in every release
    connection_manager: str
    jwt_filter: str
    ext_authz_filter: str
    ext_authz_type: str
    ext_authz_per_route_type: str


def envoy_filter_shape(version: tuple[int, int]) -> EnvoyFilterShape:
    if version >= (1, 7):
        api = "type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3."
    else:
        api = "type.googleapis.com/envoy.config.filter.http.ext_authz.v2."
    return EnvoyFilterShape(
        api_version="networking.istio.io/v1alpha3",
        connection_manager="envoy.http_connection_manager",  # the name every 1.6-1.8 release matches
        jwt_filter="envoy.filters.http.jwt_authn",
        ext_authz_filter="envoy.filters.http.ext_authz",
        ext_authz_type=api + "ExtAuthz",
        ext_authz_per_route_type=api + "ExtAuthzPerRoute",
    )


def istio_version_problem(version: tuple[int, int]) -> str | None:
    """Why meshauth cannot target this Istio version, or None when it can."""
    if version < (1, 5):
        return (
            "must be 1.6 or newer: Istio before 1.5 has no RequestAuthentication and "
            "PeerAuthentication (security.istio.io/v1beta1), which check the token the login adds "
            "and encrypt every hop"
        )
    if version < MIN_ISTIO:
        return (
            "must be 1.6 or newer: before 1.9 the login is an EnvoyFilter on the ingress gateway, "
            "and meshauth knows its shape (filter names, xDS API) for Istio 1.6 to 1.8 only"
        )
    return None


def gateway_api_problem(version: tuple[int, int]) -> str | None:
    """Why ``ingress.api: gateway-api`` cannot work on this Istio version, or None."""
    if version < GATEWAY_API_ISTIO:
        return (
            "gateway-api needs Istio 1.22 or newer: the login and token policies attach to a "
            "Gateway API Gateway with targetRefs, which older Istio ignores (the apps would be "
            "served without login); use api: istio"
        )
    return None


def claim_headers_problem(version: tuple[int, int]) -> str | None:
    """Why ``claimHeaders`` cannot be rendered for this Istio version, or None."""
    if version < CLAIM_HEADERS_ISTIO:
        return (
            f"needs Istio 1.17 or newer (RequestAuthentication outputClaimToHeaders), not "
            f"{version[0]}.{version[1]}; before 1.17 let apps read oauth2-proxy's x-auth-request-user, "
            "-email and -groups headers, which meshauth passes (and strips from clients) on every version"
        )
    return None


@dataclass(frozen=True)
class HeaderRemovalShape:
    """The HTTP filter that removes client-sent identity headers first in the gateway's chain: Lua
    (in every Envoy Istio ships), by its xDS v2 name and type on Istio 1.6, v3 from 1.7."""

    connection_manager: str
    filter_name: str
    filter_type: str


def header_removal_shape(version: tuple[int, int]) -> HeaderRemovalShape:
    if version < (1, 7):
        return HeaderRemovalShape(
            "envoy.http_connection_manager",
            "envoy.lua",
            "type.googleapis.com/envoy.config.filter.http.lua.v2.Lua",
        )
    return HeaderRemovalShape(
        "envoy.filters.network.http_connection_manager",
        "envoy.filters.http.lua",
        "type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua",
    )


def ambient_problem(version: tuple[int, int]) -> str | None:
    """Why ``mesh.dataplane: ambient`` cannot work on this Istio version, or None."""
    if version < AMBIENT_ISTIO:
        return (
            "ambient needs Istio 1.25 or newer: before 1.25 the ingress gateway sends traffic "
            "straight to the app pods, past the waypoint that enforces the per-app policies, "
            "unless every Service is labelled istio.io/ingress-use-waypoint (1.25 honours it on "
            "the namespace, which meshauth labels); use dataplane: sidecar"
        )
    return None


def authservice_problem(version: tuple[int, int]) -> str | None:
    """Why ``authorizer: authservice`` cannot work on this Istio version, or None."""
    if version < PROVIDER_ISTIO:
        return (
            "authservice needs Istio 1.9 or newer: it is wired in as an envoyExtAuthzGrpc "
            "extension provider with a CUSTOM policy, which Istio before 1.9 does not have; "
            "use authorizer: oauth2-proxy (meshauth configures it with an EnvoyFilter there)"
        )
    return None


@lru_cache(maxsize=1)
def kubernetes_versions() -> tuple[tuple[int, int], ...]:
    """The Kubernetes minor versions whose schemas kubernetes-validate ships (read, not imported)."""
    spec = importlib.util.find_spec("kubernetes_validate")
    if spec is None or not spec.submodule_search_locations:
        return ()
    schemas = Path(next(iter(spec.submodule_search_locations))) / "kubernetes-json-schema"
    found = set()
    for entry in schemas.iterdir() if schemas.is_dir() else ():
        match = re.match(r"^v(\d+)\.(\d+)\.\d+-local$", entry.name)
        if match:
            found.add((int(match.group(1)), int(match.group(2))))
    return tuple(sorted(found))


def kubernetes_version_problem(version: tuple[int, int]) -> str | None:
    known = kubernetes_versions()
    if known and not known[0] <= version <= known[-1]:
        low, high = (".".join(map(str, v)) for v in (known[0], known[-1]))
        return f"must be between {low} and {high}, the versions whose schemas meshauth validates against"
    return None


# --- what each version serves, for validating manifests (rule MA014) ------------------------------

# Kubernetes' own API groups (anything else, even under *.k8s.io, is a custom resource).
KUBERNETES_GROUPS = frozenset(
    {
        "",
        "apps",
        "batch",
        "autoscaling",
        "policy",
        "extensions",
        "networking.k8s.io",
        "rbac.authorization.k8s.io",
        "storage.k8s.io",
        "admissionregistration.k8s.io",
        "apiextensions.k8s.io",
        "apiregistration.k8s.io",
        "scheduling.k8s.io",
        "coordination.k8s.io",
        "node.k8s.io",
        "discovery.k8s.io",
        "flowcontrol.apiserver.k8s.io",
        "certificates.k8s.io",
        "authentication.k8s.io",
        "authorization.k8s.io",
        "events.k8s.io",
        "internal.apiserver.k8s.io",
        "resource.k8s.io",
        "storagemigration.k8s.io",
    }
)

# (apiVersion, kind or "*") -> (removed in, what to use instead). Kubernetes: the deprecated API
# migration guide; cert-manager: v1.7 removed every pre-v1 API; External Secrets stopped serving
# v1beta1; Istio 1.6 removed the alpha security APIs.
REMOVED_APIS: dict[tuple[str, str], tuple[str, tuple[int, int], str]] = {
    ("networking.k8s.io/v1beta1", "IngressClass"): ("Kubernetes", (1, 22), "networking.k8s.io/v1"),
    ("networking.k8s.io/v1beta1", "Ingress"): ("Kubernetes", (1, 22), "networking.k8s.io/v1"),
    ("extensions/v1beta1", "Ingress"): ("Kubernetes", (1, 22), "networking.k8s.io/v1"),
    ("extensions/v1beta1", "*"): ("Kubernetes", (1, 16), "apps/v1"),
    ("apps/v1beta1", "*"): ("Kubernetes", (1, 16), "apps/v1"),
    ("apps/v1beta2", "*"): ("Kubernetes", (1, 16), "apps/v1"),
    ("rbac.authorization.k8s.io/v1beta1", "*"): ("Kubernetes", (1, 22), "rbac.authorization.k8s.io/v1"),
    ("apiextensions.k8s.io/v1beta1", "*"): ("Kubernetes", (1, 22), "apiextensions.k8s.io/v1"),
    ("admissionregistration.k8s.io/v1beta1", "*"): ("Kubernetes", (1, 22), "admissionregistration.k8s.io/v1"),
    ("policy/v1beta1", "PodDisruptionBudget"): ("Kubernetes", (1, 25), "policy/v1"),
    ("batch/v1beta1", "CronJob"): ("Kubernetes", (1, 25), "batch/v1"),
    ("autoscaling/v2beta1", "*"): ("Kubernetes", (1, 25), "autoscaling/v2"),
    ("autoscaling/v2beta2", "*"): ("Kubernetes", (1, 26), "autoscaling/v2"),
    ("cert-manager.io/v1alpha2", "*"): ("cert-manager", (1, 7), "cert-manager.io/v1"),
    ("cert-manager.io/v1alpha3", "*"): ("cert-manager", (1, 7), "cert-manager.io/v1"),
    ("cert-manager.io/v1beta1", "*"): ("cert-manager", (1, 7), "cert-manager.io/v1"),
    ("certmanager.k8s.io/v1alpha1", "*"): ("cert-manager", (0, 11), "cert-manager.io/v1"),
    ("acme.cert-manager.io/v1alpha2", "*"): ("cert-manager", (1, 7), "acme.cert-manager.io/v1"),
    ("acme.cert-manager.io/v1alpha3", "*"): ("cert-manager", (1, 7), "acme.cert-manager.io/v1"),
    ("acme.cert-manager.io/v1beta1", "*"): ("cert-manager", (1, 7), "acme.cert-manager.io/v1"),
    ("external-secrets.io/v1beta1", "*"): ("External Secrets", (0, 17), "external-secrets.io/v1"),
    ("external-secrets.io/v1alpha1", "*"): ("External Secrets", (0, 17), "external-secrets.io/v1"),
    ("security.istio.io/v1alpha1", "*"): ("Istio", (1, 6), "security.istio.io/v1beta1 (or v1 from 1.17)"),
    ("authentication.istio.io/v1alpha1", "*"): (
        "Istio",
        (1, 6),
        "security.istio.io RequestAuthentication/PeerAuthentication",
    ),
    ("rbac.istio.io/v1alpha1", "*"): ("Istio", (1, 6), "security.istio.io AuthorizationPolicy"),
}

# (apiVersion, kind) -> first Istio minor that serves it (older apiVersions are served by all).
ISTIO_API_SINCE: dict[tuple[str, str], tuple[int, int]] = {
    ("security.istio.io/v1", "AuthorizationPolicy"): (1, 17),
    ("security.istio.io/v1", "RequestAuthentication"): (1, 17),
    ("security.istio.io/v1", "PeerAuthentication"): (1, 22),
    ("networking.istio.io/v1", "Gateway"): (1, 22),
    ("networking.istio.io/v1", "VirtualService"): (1, 22),
    ("networking.istio.io/v1", "DestinationRule"): (1, 22),
    ("networking.istio.io/v1", "ServiceEntry"): (1, 22),
    ("networking.istio.io/v1", "Sidecar"): (1, 22),
}

# (kind, top-level spec field) -> first Istio minor that knows it.
ISTIO_FIELD_SINCE: dict[tuple[str, str], tuple[int, int]] = {
    ("AuthorizationPolicy", "targetRefs"): (1, 22),
    ("RequestAuthentication", "targetRefs"): (1, 22),
}

# envoyExtAuthzHttp field -> first Istio minor that knows it.
EXT_AUTHZ_FIELD_SINCE: dict[str, tuple[int, int]] = {
    "includeRequestHeadersInCheck": (1, 10),
    "includeAdditionalHeadersInCheck": (1, 10),
    "includeRequestBodyInCheck": (1, 10),
    "headersToDownstreamOnAllow": (1, 14),
}


def api_removal(
    api_version: str, kind: str, kubernetes: tuple[int, int] | None = None
) -> tuple[str, str] | None:
    """(removed in, replacement) when the apiVersion is gone (for Kubernetes' own APIs: gone in
    the target ``kubernetes`` version); None otherwise."""
    entry = REMOVED_APIS.get((api_version, kind)) or REMOVED_APIS.get((api_version, "*"))
    if entry is None:
        return None
    product, since, replacement = entry
    if product == "Kubernetes" and kubernetes is not None and kubernetes < since:
        return None
    return f"{product} {since[0]}.{since[1]}", replacement


def is_kubernetes_group(api_version: str) -> bool:
    return api_version.rpartition("/")[0] in KUBERNETES_GROUPS


# Gateway API objects: Gateway, HTTPRoute and GatewayClass are served as v1 from Gateway API v1.0,
# which every Istio that meshauth renders Gateway API objects for (1.22+) supports.
GATEWAY_API_VERSION = "gateway.networking.k8s.io/v1"
GATEWAY_API_GROUP = "gateway.networking.k8s.io"
