"""meshauth's own CRD schemas (schemas/crds/): strict, written by hand, in step with upstream.

* Everything meshauth renders validates against them (and, in test_upstream_conformance.py,
  against the upstream CRDs).
* For each kind, hand-written invalid objects are rejected by them AND by the upstream CRDs
  (newest and released, through tests/upstream.py), so neither side is laxer on these.
* Their field sets match the upstream released CRDs: no documented field is missing (which would
  make a correct manifest fail), none is invented (which would let a typo through).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
from conftest import ROOT
from jsonschema import Draft202012Validator
from test_upstream_conformance import CONFIGS
from test_upstream_harness import (
    authorization_policy,
    certificate,
    cluster_issuer,
    external_secret,
    gateway_api_gateway,
    http_route,
    issuer,
    istio_gateway,
    peer_authentication,
    request_authentication,
    sealed_secret,
    virtual_service,
)
from upstream import UpstreamSchemas, require_ref, shared_dir

import meshauth
from meshauth.validation.schemas import bundled as crdschemas
from meshauth.validation.validate import is_core_group, object_findings

SCHEMAS = sorted((ROOT / "schemas" / "crds").glob("*.json"))
EMITTED = {
    ("security.istio.io/v1", "AuthorizationPolicy"),
    ("security.istio.io/v1beta1", "AuthorizationPolicy"),
    ("security.istio.io/v1", "RequestAuthentication"),
    ("security.istio.io/v1beta1", "RequestAuthentication"),
    ("security.istio.io/v1", "PeerAuthentication"),
    ("security.istio.io/v1beta1", "PeerAuthentication"),
    ("networking.istio.io/v1", "Gateway"),
    ("networking.istio.io/v1beta1", "Gateway"),
    ("networking.istio.io/v1", "VirtualService"),
    ("networking.istio.io/v1beta1", "VirtualService"),
    ("cert-manager.io/v1", "Certificate"),
    ("cert-manager.io/v1", "Issuer"),
    ("cert-manager.io/v1", "ClusterIssuer"),
    ("external-secrets.io/v1", "ExternalSecret"),
    ("bitnami.com/v1alpha1", "SealedSecret"),
    ("networking.istio.io/v1", "ServiceEntry"),
    ("networking.istio.io/v1beta1", "ServiceEntry"),
    ("networking.istio.io/v1alpha3", "ServiceEntry"),
    ("networking.istio.io/v1", "DestinationRule"),
    ("networking.istio.io/v1beta1", "DestinationRule"),
    ("networking.istio.io/v1alpha3", "EnvoyFilter"),
    ("gateway.networking.k8s.io/v1", "Gateway"),
    ("gateway.networking.k8s.io/v1", "HTTPRoute"),
}


def schema_errors(obj):
    return [f for f in object_findings(obj, "1.30") if f.rule == "schema"]


def test_every_kind_and_version_meshauth_emits_has_a_schema():
    assert EMITTED <= set(crdschemas.index())
    emitted = {(o["apiVersion"], o["kind"]) for c in CONFIGS.values() for o in meshauth.render(c).objects}
    custom = {key for key in emitted if not is_core_group(key[0])}
    assert custom <= set(crdschemas.index())


@pytest.mark.parametrize("path", SCHEMAS, ids=[p.stem for p in SCHEMAS])
def test_schema_files_are_valid_closed_and_hand_written(path):
    schema = json.loads(path.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    assert "Written by hand" in schema["$comment"]
    assert schema["$id"].endswith(path.name)
    if not path.name.startswith("_"):
        assert schema["additionalProperties"] is False


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_rendered_custom_resources_validate_against_the_bundled_schemas(name):
    bundle = meshauth.render(CONFIGS[name])
    checked = [o for o in bundle.objects if (o["apiVersion"], o["kind"]) in crdschemas.index()]
    assert checked
    assert [str(f) for o in checked for f in schema_errors(o)] == []


def test_validators_are_built_once_per_kind_and_version():
    first = crdschemas.bundled_validator("security.istio.io/v1", "AuthorizationPolicy")
    assert crdschemas.bundled_validator("security.istio.io/v1", "AuthorizationPolicy") is first
    assert crdschemas.bundled_validator("security.istio.io/v1beta1", "AuthorizationPolicy") is not first
    assert crdschemas.bundled_validator("example.com/v1", "Widget") is None


def service_entry(version: str) -> dict[str, Any]:
    return {
        "apiVersion": f"networking.istio.io/{version}",
        "kind": "ServiceEntry",
        "metadata": {"name": "idp", "namespace": "istio-ingress"},
        "spec": {
            "hosts": ["login.example.org"],
            "ports": [{"number": 443, "name": "https", "protocol": "TLS"}],
            "location": "MESH_EXTERNAL",
            "resolution": "DNS",
            "exportTo": ["."],
        },
    }


def destination_rule(version: str) -> dict[str, Any]:
    return {
        "apiVersion": f"networking.istio.io/{version}",
        "kind": "DestinationRule",
        "metadata": {"name": "idp", "namespace": "istio-ingress"},
        "spec": {
            "host": "login.example.org",
            "exportTo": ["."],
            "trafficPolicy": {"tls": {"mode": "SIMPLE", "sni": "login.example.org"}},
            "subsets": [{"name": "v1", "labels": {"version": "v1"}}],
        },
    }


def envoy_filter() -> dict[str, Any]:
    return {
        "apiVersion": "networking.istio.io/v1alpha3",
        "kind": "EnvoyFilter",
        "metadata": {"name": "login", "namespace": "istio-system"},
        "spec": {
            "workloadSelector": {"labels": {"istio": "ingressgateway"}},
            "configPatches": [
                {
                    "applyTo": "HTTP_FILTER",
                    "match": {
                        "context": "GATEWAY",
                        "listener": {
                            "filterChain": {
                                "filter": {
                                    "name": "envoy.filters.network.http_connection_manager",
                                    "subFilter": {"name": "envoy.filters.http.router"},
                                }
                            }
                        },
                    },
                    "patch": {
                        "operation": "INSERT_BEFORE",
                        "value": {"name": "envoy.filters.http.ext_authz"},
                    },
                }
            ],
        },
    }


# --- invalid objects: rejected by both --------------------------------------------------------

Mutation = Callable[[dict[str, Any]], None]


def _set(path: str, value: Any) -> Mutation:
    def mutate(obj: dict[str, Any]) -> None:
        *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
        node: Any = obj
        for part in parents:
            node = node[part]
        node[last] = value

    return mutate


def _delete(path: str) -> Mutation:
    def mutate(obj: dict[str, Any]) -> None:
        *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
        node: Any = obj
        for part in parents:
            node = node[part]
        del node[last]

    return mutate


COMMON = {
    "unknown spec field": _set("spec.bogus", True),
    "invalid metadata name": _set("metadata.name", "Not_A_Name"),
}
INVALID: dict[str, tuple[Callable[[], dict[str, Any]], dict[str, Mutation]]] = {
    "AuthorizationPolicy": (
        lambda: authorization_policy("v1"),
        {
            "unknown action": _set("spec.action", "PERMIT"),
            "notPaths not a list": _set("spec.rules.0.to.0.operation.notPaths", "/healthz"),
            "condition without key": _set("spec.rules.0.when", [{"values": ["x"]}]),
            "typo in operation": _set("spec.rules.0.to.0.operation.path", ["/x"]),
            "unserved version": _set("apiVersion", "security.istio.io/v1alpha1"),
        },
    ),
    "AuthorizationPolicy-v1beta1": (
        lambda: authorization_policy("v1beta1"),
        {
            "selector labels not a map": _set("spec.selector.matchLabels", ["app"]),
        },
    ),
    "RequestAuthentication": (
        lambda: request_authentication("v1"),
        {
            "forwardOriginalToken not a boolean": _set("spec.jwtRules.0.forwardOriginalToken", "yes"),
            "audiences not a list": _set("spec.jwtRules.0.audiences", "web"),
            "fromHeaders entry without name": _set("spec.jwtRules.0.fromHeaders", [{"prefix": "Bearer "}]),
        },
    ),
    "PeerAuthentication": (
        lambda: peer_authentication("v1"),
        {
            "lowercase mode": _set("spec.mtls.mode", "strict"),
            "mtls not an object": _set("spec.mtls", "STRICT"),
        },
    ),
    "Gateway": (
        lambda: istio_gateway("v1"),
        {
            "port number as a string": _set("spec.servers.0.port.number", "443"),
            "server without hosts": _delete("spec.servers.0.hosts"),
            "unknown tls mode": _set("spec.servers.0.tls.mode", "TERMINATE"),
        },
    ),
    "VirtualService": (
        lambda: virtual_service("v1beta1"),
        {
            "hosts not a list": _set("spec.hosts", "web.example.com"),
            "destination without host": _delete("spec.http.0.route.0.destination.host"),
            "typo in route": _set("spec.http.0.routes", []),
        },
    ),
    "Certificate": (
        certificate,
        {
            "no secretName": _delete("spec.secretName"),
            "issuerRef without name": _delete("spec.issuerRef.name"),
            "dnsNames not a list": _set("spec.dnsNames", "web.example.com"),
            "unknown key algorithm": _set("spec.privateKey", {"algorithm": "DSA"}),
        },
    ),
    "ClusterIssuer": (
        cluster_issuer,
        {
            "acme without server": _delete("spec.acme.server"),
            "unknown field in the http01 solver": _set("spec.acme.solvers.0.http01.ingress.bogus", 1),
            "namespace on a cluster-scoped kind": _set("metadata.namespace", "cert-manager"),
            "solvers not a list": _set("spec.acme.solvers", {"http01": {}}),
        },
    ),
    "Issuer": (
        issuer,
        {
            "ca without secretName": _set("spec.ca", {}),
            "secretName not a string": _set("spec.ca.secretName", 5),
        },
    ),
    "ExternalSecret": (
        external_secret,
        {
            "data entry without remoteRef": _delete("spec.data.0.remoteRef"),
            "secretKey not a string": _set("spec.data.0.secretKey", 7),
            "unknown creation policy": _set("spec.target.creationPolicy", "Always"),
            "unserved v1beta1": _set("apiVersion", "external-secrets.io/v1beta1"),
        },
    ),
    "SealedSecret": (
        sealed_secret,
        {
            "encryptedData not a map": _set("spec.encryptedData", ["x"]),
            "unknown template field": _set("spec.template.bogus", 1),
        },
    ),
    "ServiceEntry": (
        lambda: service_entry("v1"),
        {
            "hosts not a list": _set("spec.hosts", "login.example.org"),
            "port without name": _delete("spec.ports.0.name"),
            "lowercase resolution": _set("spec.resolution", "dns"),
            "unknown location": _set("spec.location", "EXTERNAL"),
        },
    ),
    "ServiceEntry-v1alpha3": (
        lambda: service_entry("v1alpha3"),
        {
            "no hosts": _delete("spec.hosts"),
        },
    ),
    "DestinationRule": (
        lambda: destination_rule("v1"),
        {
            "no host": _delete("spec.host"),
            "unknown tls mode": _set("spec.trafficPolicy.tls.mode", "TLS"),
            "subset without name": _delete("spec.subsets.0.name"),
            "typo in trafficPolicy": _set("spec.trafficPolicy.loadbalancer", {"simple": "RANDOM"}),
        },
    ),
    "DestinationRule-v1beta1": (
        lambda: destination_rule("v1beta1"),
        {
            "subsets not a list": _set("spec.subsets", {"name": "v1"}),
        },
    ),
    "EnvoyFilter": (
        envoy_filter,
        {
            "unknown patch operation": _set("spec.configPatches.0.patch.operation", "PREPEND"),
            "unknown match context": _set("spec.configPatches.0.match.context", "INGRESS"),
            "workloadSelector with matchLabels": _set(
                "spec.workloadSelector", {"matchLabels": {"istio": "ingressgateway"}}
            ),
        },
    ),
    "GatewayAPI-Gateway": (
        gateway_api_gateway,
        {
            "no gatewayClassName": _delete("spec.gatewayClassName"),
            "listener without protocol": _delete("spec.listeners.0.protocol"),
            "port out of range": _set("spec.listeners.0.port", 70000),
            "unknown allowedRoutes from": _set("spec.listeners.0.allowedRoutes.namespaces.from", "Any"),
            "certificateRef without name": _delete("spec.listeners.0.tls.certificateRefs.0.name"),
        },
    ),
    "HTTPRoute": (
        http_route,
        {
            "parentRef without name": _delete("spec.parentRefs.0.name"),
            "unknown path match type": _set("spec.rules.0.matches.0.path.type", "Prefix"),
            "weight as a string": _set("spec.rules.0.backendRefs.0.weight", "1"),
            "hostnames not a list": _set("spec.hostnames", "web.example.com"),
            "filter without type": _set(
                "spec.rules.0.filters", [{"requestHeaderModifier": {"remove": ["x"]}}]
            ),
        },
    ),
}
CASES = [
    (kind, name, make, mutate)
    for kind, (make, mutations) in INVALID.items()
    for name, mutate in {**COMMON, **mutations}.items()
]


@pytest.fixture(scope="module", params=["newest", "released"])
def upstream(request):
    return getattr(UpstreamSchemas, request.param)(require_ref())


@pytest.mark.parametrize("kind,name,make,mutate", CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_invalid_objects_are_rejected_by_both(upstream, kind, name, make, mutate):
    valid = make()
    assert schema_errors(valid) == [] and upstream.errors(valid) == []
    broken = copy.deepcopy(valid)
    mutate(broken)
    upstream_errors = upstream.errors(broken)
    ours = schema_errors(broken) + [
        f
        for f in meshauth.validate([broken])
        if f.rule == "MA014"  # an unserved version
    ]
    assert upstream_errors, f"upstream accepted: {name}"
    assert ours, f"meshauth's schema accepted: {name}"


# --- field sets in step with upstream -----------------------------------------------------------

# Fields upstream keeps for compatibility and hides from its docs: left out on purpose.
HIDDEN_ALIASES = {"spec.jwtRules[].jwks_uri", "spec.http[].mirror_percent"}


def _resolve(node: Any, base: str, schemas: dict[str, Any]) -> tuple[Any, str]:
    while isinstance(node, dict) and "$ref" in node:
        target, _, pointer = node["$ref"].partition("#")
        base = target or base
        resolved: Any = schemas[base]
        for part in pointer.strip("/").split("/"):
            resolved = resolved[part]
        node = {**resolved, **{k: v for k, v in node.items() if k != "$ref" and k not in resolved}}
    return node, base


def _ours(node: Any, base: str, schemas: dict[str, Any], prefix: str, out: set[str]) -> None:
    node, base = _resolve(node, base, schemas)
    if not isinstance(node, dict) or len(prefix) > 400:
        return
    types = node.get("type") if isinstance(node.get("type"), list) else [node.get("type")]
    if "properties" not in node and "object" in types and "additionalProperties" not in node:
        out.add(prefix + ".*")  # a block checked as an object only
        return
    for key, sub in (node.get("properties") or {}).items():
        out.add(f"{prefix}.{key}")
        _ours(sub, base, schemas, f"{prefix}.{key}", out)
    if isinstance(node.get("items"), dict):
        _ours(node["items"], base, schemas, prefix + "[]", out)
    if isinstance(node.get("additionalProperties"), dict):
        _ours(node["additionalProperties"], base, schemas, prefix + "{}", out)
    for sub in node.get("allOf") or ():
        _ours(sub, base, schemas, prefix, out)


def _theirs(node: Any, prefix: str, out: set[str]) -> None:
    if not isinstance(node, dict) or len(prefix) > 400:
        return
    for key, sub in (node.get("properties") or {}).items():
        out.add(f"{prefix}.{key}")
        _theirs(sub, f"{prefix}.{key}", out)
    if isinstance(node.get("items"), dict):
        _theirs(node["items"], prefix + "[]", out)
    if isinstance(node.get("additionalProperties"), dict):
        _theirs(node["additionalProperties"], prefix + "{}", out)


FIELD_CASES = sorted(crdschemas.index())


@pytest.mark.parametrize("api_version,kind", FIELD_CASES, ids=[f"{k}-{v}" for v, k in FIELD_CASES])
def test_field_set_matches_the_released_upstream_crd(api_version, kind):
    released, newest = (UpstreamSchemas.released(require_ref()), UpstreamSchemas.newest(require_ref()))
    schemas = {p.name: json.loads(p.read_text(encoding="utf-8")) for p in SCHEMAS}
    name = crdschemas.index()[(api_version, kind)]
    ours: set[str] = set()
    _ours(schemas[name]["properties"]["spec"], name, schemas, "spec", ours)
    loose = [p[:-2] for p in ours if p.endswith(".*")]

    def upstream_fields(bundle: UpstreamSchemas) -> set[str]:
        group, _, version = api_version.partition("/")
        crd = bundle._crds[(group, kind)]
        entry = next(v for v in crd["spec"]["versions"] if v["name"] == version)
        found: set[str] = set()
        _theirs(entry["schema"]["openAPIV3Schema"]["properties"]["spec"], "spec", found)
        return found

    def covered(path: str) -> bool:
        return path in ours or any(path.startswith((p + ".", p + "[", p + "{")) for p in loose)

    known = upstream_fields(newest)
    shared = shared_dir()
    if shared is not None and require_ref() != shared:
        # External Secrets v2 is on no registry meshauth reaches (the Go proxy serves v1.3.2):
        # the shared folder's main-branch CRD vouches for the newer fields where it is present
        known |= upstream_fields(UpstreamSchemas.newest(shared))
    missing = sorted(p for p in upstream_fields(released) - HIDDEN_ALIASES if not covered(p))
    invented = sorted(p for p in ours if not p.endswith(".*") and p not in known)
    if invented and shared is None and kind == "ExternalSecret":
        pytest.skip(
            f"{kind}: {', '.join(invented)} are newer than the newest release the Go module proxy serves"
        )
    assert missing == [], "documented upstream fields the schema lacks"
    assert invented == [], "fields no upstream version has"


# --- versions no release serves ------------------------------------------------------------------


@pytest.mark.parametrize(
    "api_version,kind,served",
    [
        ("networking.istio.io/v1", "EnvoyFilter", "networking.istio.io/v1alpha3"),
        ("security.istio.io/v2", "AuthorizationPolicy", "security.istio.io/v1 or security.istio.io/v1beta1"),
        ("cert-manager.io/v2", "Certificate", "cert-manager.io/v1"),
    ],
)
def test_a_version_no_release_serves_is_an_error(api_version, kind, served):
    obj = {"apiVersion": api_version, "kind": kind, "metadata": {"name": "x", "namespace": "y"}, "spec": {}}
    found = [(f.rule, f.severity, f.path) for f in meshauth.validate([obj]) if f.path == "apiVersion"]
    assert found == [("schema", "error", "apiVersion")]
    message = next(f.message for f in meshauth.validate([obj]) if f.path == "apiVersion")
    assert message.endswith(f"it is served as {served}. For a newer release, give its CRDs with --crds")


def test_a_removed_version_is_explained_once_by_ma014():
    obj = {
        "apiVersion": "security.istio.io/v1alpha1",
        "kind": "AuthorizationPolicy",
        "metadata": {"name": "x", "namespace": "y"},
        "spec": {},
    }
    assert [f.rule for f in meshauth.validate([obj]) if f.path == "apiVersion"] == ["MA014"]


def test_a_kind_meshauth_has_no_schema_for_is_left_alone():
    obj = {
        "apiVersion": "networking.istio.io/v1",
        "kind": "Sidecar",
        "metadata": {"name": "x", "namespace": "y"},
        "spec": {},
    }
    assert meshauth.validate([obj]) == []


@pytest.mark.parametrize("api_version,kind", FIELD_CASES, ids=[f"{k}-{v}" for v, k in FIELD_CASES])
def test_the_versions_known_for_a_kind_are_those_upstream_serves(api_version, kind):
    """The "no release serves" error rests on this: meshauth's schemas list every served version."""
    newest = UpstreamSchemas.newest(require_ref())
    group = api_version.partition("/")[0]
    crd = newest._crds[(group, kind)]
    upstream = sorted(f"{group}/{v['name']}" for v in crd["spec"]["versions"] if v.get("served"))
    assert sorted(crdschemas.served(api_version, kind)) == upstream
