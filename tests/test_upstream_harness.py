"""Tests of the upstream-CRD harness (tests/upstream.py) itself.

Each case is checked against both bundles: ``newest`` (upstream default branches) and
``released`` (latest releases, top-level files for kinds without a released copy).
Everything that reads ../shared/ref goes through ``require_ref()`` and skips without it.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

try:  # pytest's default (rootdir/prepend) import puts tests/ on sys.path
    import upstream
except ImportError:  # e.g. --import-mode=importlib run from the repository root
    from tests import upstream

SKIP_REASON = upstream.SKIP_REASON
UpstreamSchemas = upstream.UpstreamSchemas
ref_dir = upstream.ref_dir
require_ref = upstream.require_ref

BUNDLES = ("newest", "released")


@pytest.fixture(scope="module")
def ref() -> Path:
    return require_ref()


@pytest.fixture(scope="module", params=BUNDLES)
def schemas(request, ref: Path) -> UpstreamSchemas:
    return getattr(UpstreamSchemas, request.param)(ref)


# ---------------------------------------------------------------------------------------------
# Minimal valid objects (field names taken from the CRDs in ../shared/ref/crds)


def authorization_policy(version: str) -> dict[str, Any]:
    return {
        "apiVersion": f"security.istio.io/{version}",
        "kind": "AuthorizationPolicy",
        "metadata": {
            "name": "web-ext-authz",
            "namespace": "apps",
            "labels": {"app.kubernetes.io/managed-by": "meshauth"},
        },
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "action": "CUSTOM",
            "provider": {"name": "oauth2-proxy"},
            "rules": [{"to": [{"operation": {"hosts": ["web.example.com"], "notPaths": ["/healthz"]}}]}],
        },
    }


def request_authentication(version: str) -> dict[str, Any]:
    return {
        "apiVersion": f"security.istio.io/{version}",
        "kind": "RequestAuthentication",
        "metadata": {"name": "web-jwt", "namespace": "apps"},
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "jwtRules": [
                {
                    "issuer": "https://idp.example.com/realms/apps",
                    "jwksUri": "https://idp.example.com/realms/apps/protocol/openid-connect/certs",
                    "audiences": ["web"],
                    "forwardOriginalToken": True,
                }
            ],
        },
    }


def peer_authentication(version: str) -> dict[str, Any]:
    return {
        "apiVersion": f"security.istio.io/{version}",
        "kind": "PeerAuthentication",
        "metadata": {"name": "default", "namespace": "apps"},
        "spec": {"mtls": {"mode": "STRICT"}},
    }


def istio_gateway(version: str) -> dict[str, Any]:
    return {
        "apiVersion": f"networking.istio.io/{version}",
        "kind": "Gateway",
        "metadata": {"name": "web-gateway", "namespace": "istio-ingress"},
        "spec": {
            "selector": {"istio": "ingressgateway"},
            "servers": [
                {
                    "port": {"number": 443, "name": "https", "protocol": "HTTPS"},
                    "hosts": ["web.example.com"],
                    "tls": {"mode": "SIMPLE", "credentialName": "web-example-com-tls"},
                }
            ],
        },
    }


def virtual_service(version: str) -> dict[str, Any]:
    return {
        "apiVersion": f"networking.istio.io/{version}",
        "kind": "VirtualService",
        "metadata": {"name": "web", "namespace": "apps"},
        "spec": {
            "hosts": ["web.example.com"],
            "gateways": ["istio-ingress/web-gateway"],
            "http": [
                {
                    "match": [{"uri": {"prefix": "/"}}],
                    "route": [
                        {"destination": {"host": "web.apps.svc.cluster.local", "port": {"number": 8080}}}
                    ],
                }
            ],
        },
    }


def certificate() -> dict[str, Any]:
    return {
        "apiVersion": "cert-manager.io/v1",
        "kind": "Certificate",
        "metadata": {"name": "web-example-com", "namespace": "istio-ingress"},
        "spec": {
            "secretName": "web-example-com-tls",
            "dnsNames": ["web.example.com"],
            "issuerRef": {"name": "letsencrypt", "kind": "ClusterIssuer", "group": "cert-manager.io"},
        },
    }


def cluster_issuer() -> dict[str, Any]:
    return {
        "apiVersion": "cert-manager.io/v1",
        "kind": "ClusterIssuer",
        "metadata": {"name": "letsencrypt"},
        "spec": {
            "acme": {
                "server": "https://acme-v02.api.letsencrypt.org/directory",
                "email": "ops@example.com",
                "privateKeySecretRef": {"name": "letsencrypt-account-key"},
                "solvers": [{"http01": {"ingress": {"ingressClassName": "istio"}}}],
            }
        },
    }


def issuer() -> dict[str, Any]:
    return {
        "apiVersion": "cert-manager.io/v1",
        "kind": "Issuer",
        "metadata": {"name": "internal-ca", "namespace": "apps"},
        "spec": {"ca": {"secretName": "internal-ca-keypair"}},
    }


def external_secret() -> dict[str, Any]:
    return {
        "apiVersion": "external-secrets.io/v1",
        "kind": "ExternalSecret",
        "metadata": {"name": "oidc-client", "namespace": "apps"},
        "spec": {
            "refreshInterval": "1h",
            "secretStoreRef": {"name": "vault", "kind": "ClusterSecretStore"},
            "target": {"name": "oidc-client", "creationPolicy": "Owner"},
            "data": [
                {"secretKey": "client-secret", "remoteRef": {"key": "apps/oidc", "property": "client_secret"}}
            ],
        },
    }


def sealed_secret() -> dict[str, Any]:
    return {
        "apiVersion": "bitnami.com/v1alpha1",
        "kind": "SealedSecret",
        "metadata": {"name": "oidc-client", "namespace": "apps"},
        "spec": {
            "encryptedData": {"client-secret": "AgBy3i4OJSWK+PiTySYZZA=="},
            "template": {"metadata": {"name": "oidc-client", "namespace": "apps"}, "type": "Opaque"},
        },
    }


def argo_application() -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": "meshauth", "namespace": "argocd"},
        "spec": {
            "project": "default",
            "source": {
                "repoURL": "https://git.example.com/platform/meshauth-out.git",
                "targetRevision": "main",
                "path": "overlays/prod",
            },
            "destination": {"server": "https://kubernetes.default.svc", "namespace": "apps"},
            "syncPolicy": {
                "automated": {"prune": True, "selfHeal": True},
                "syncOptions": ["CreateNamespace=true"],
            },
        },
    }


def flux_kustomization() -> dict[str, Any]:
    return {
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": "meshauth", "namespace": "flux-system"},
        "spec": {
            "interval": "10m",
            "path": "./overlays/prod",
            "prune": True,
            "sourceRef": {"kind": "GitRepository", "name": "platform"},
            "targetNamespace": "apps",
        },
    }


def gateway_api_gateway() -> dict[str, Any]:
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "Gateway",
        "metadata": {"name": "web", "namespace": "istio-ingress"},
        "spec": {
            "gatewayClassName": "istio",
            "listeners": [
                {
                    "name": "https",
                    "hostname": "web.example.com",
                    "port": 443,
                    "protocol": "HTTPS",
                    "tls": {
                        "mode": "Terminate",
                        "certificateRefs": [{"kind": "Secret", "name": "web-example-com-tls"}],
                    },
                    "allowedRoutes": {"namespaces": {"from": "All"}},
                }
            ],
        },
    }


def http_route() -> dict[str, Any]:
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": "web", "namespace": "apps"},
        "spec": {
            "parentRefs": [{"name": "web", "namespace": "istio-ingress", "sectionName": "https"}],
            "hostnames": ["web.example.com"],
            "rules": [
                {
                    "matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
                    "backendRefs": [{"name": "web", "port": 8080}],
                }
            ],
        },
    }


@dataclass(frozen=True)
class Case:
    id: str
    make: Callable[[], dict[str, Any]]
    nested: tuple[str | int, ...]  # an existing object inside spec that gets an unknown field
    wrong: tuple[tuple[str | int, ...], Any]  # (path, value of the wrong type)


def _istio_security(version: str) -> list[Case]:
    return [
        Case(
            f"AuthorizationPolicy-{version}",
            lambda: authorization_policy(version),
            ("spec", "rules", 0, "to", 0, "operation"),
            (("spec", "rules", 0, "to", 0, "operation", "notPaths"), "/healthz"),
        ),
        Case(
            f"RequestAuthentication-{version}",
            lambda: request_authentication(version),
            ("spec", "jwtRules", 0),
            (("spec", "jwtRules", 0, "forwardOriginalToken"), "yes"),
        ),
        Case(
            f"PeerAuthentication-{version}",
            lambda: peer_authentication(version),
            ("spec", "mtls"),
            (("spec", "mtls", "mode"), 1),
        ),
    ]


def _istio_networking(version: str) -> list[Case]:
    return [
        Case(
            f"IstioGateway-{version}",
            lambda: istio_gateway(version),
            ("spec", "servers", 0, "tls"),
            (("spec", "servers", 0, "port", "number"), "443"),
        ),
        Case(
            f"VirtualService-{version}",
            lambda: virtual_service(version),
            ("spec", "http", 0, "route", 0, "destination"),
            (("spec", "hosts"), "web.example.com"),
        ),
    ]


CASES = [
    *_istio_security("v1"),
    *_istio_security("v1beta1"),
    *_istio_networking("v1"),
    *_istio_networking("v1beta1"),
    Case("Certificate", certificate, ("spec", "issuerRef"), (("spec", "dnsNames"), "web.example.com")),
    Case(
        "ClusterIssuer",
        cluster_issuer,
        ("spec", "acme", "solvers", 0, "http01", "ingress"),
        (("spec", "acme", "solvers"), {"http01": {}}),
    ),
    Case("Issuer", issuer, ("spec", "ca"), (("spec", "ca", "secretName"), 5)),
    Case(
        "ExternalSecret",
        external_secret,
        ("spec", "data", 0, "remoteRef"),
        (("spec", "data", 0, "secretKey"), 7),
    ),
    Case("SealedSecret", sealed_secret, ("spec", "template"), (("spec", "encryptedData"), ["x"])),
    Case(
        "Application",
        argo_application,
        ("spec", "destination"),
        (("spec", "syncPolicy", "automated", "prune"), "true"),
    ),
    Case("Kustomization", flux_kustomization, ("spec", "sourceRef"), (("spec", "prune"), "true")),
    Case(
        "GatewayAPIGateway",
        gateway_api_gateway,
        ("spec", "listeners", 0, "tls", "certificateRefs", 0),
        (("spec", "listeners", 0, "port"), "443"),
    ),
    Case(
        "HTTPRoute",
        http_route,
        ("spec", "rules", 0, "backendRefs", 0),
        (("spec", "hostnames"), "web.example.com"),
    ),
]


# ---------------------------------------------------------------------------------------------
# helpers


def _get(obj: Any, path: tuple[str | int, ...]) -> Any:
    for part in path:
        obj = obj[part]
    return obj


def _set(obj: Any, path: tuple[str | int, ...], value: Any) -> None:
    _get(obj, path[:-1])[path[-1]] = value


def _path_text(path: tuple[str | int, ...]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def _label(obj: dict[str, Any]) -> str:
    return f"{obj['kind']}/{obj['metadata']['name']}"


def _split(message: str) -> tuple[str, str, str]:
    label, where, text = message.split(": ", 2)
    return label, where, text


# ---------------------------------------------------------------------------------------------
# per-kind cases, both bundles


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_minimal_valid_object_passes(schemas: UpstreamSchemas, case: Case) -> None:
    obj = case.make()
    assert schemas.knows(obj["apiVersion"], obj["kind"])
    assert schemas.errors(obj) == []


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_unknown_field_at_spec_level_is_rejected(schemas: UpstreamSchemas, case: Case) -> None:
    obj = case.make()
    obj["spec"]["bogus"] = True
    errors = schemas.errors(obj)
    assert [_split(e)[:2] for e in errors] == [(_label(obj), "spec.bogus")], errors
    assert _split(errors[0])[2].startswith("unknown field")


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_unknown_nested_field_is_rejected(schemas: UpstreamSchemas, case: Case) -> None:
    obj = case.make()
    _get(obj, case.nested)["bogus"] = "x"
    errors = schemas.errors(obj)
    assert [_split(e)[:2] for e in errors] == [(_label(obj), _path_text((*case.nested, "bogus")))], errors
    assert _split(errors[0])[2].startswith("unknown field")


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_wrong_type_is_rejected(schemas: UpstreamSchemas, case: Case) -> None:
    obj = case.make()
    path, value = case.wrong
    _set(obj, path, value)
    errors = schemas.errors(obj)
    assert errors, "a value of the wrong type was accepted"
    assert {_split(e)[1] for e in errors} == {_path_text(path)}, errors
    assert any("is not of type" in _split(e)[2] for e in errors), errors


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_invalid_metadata_name_is_rejected(schemas: UpstreamSchemas, case: Case) -> None:
    obj = case.make()
    obj["metadata"]["name"] = "Web_Gateway"
    errors = schemas.errors(obj)
    assert [_split(e)[:2] for e in errors] == [(f"{obj['kind']}/Web_Gateway", "metadata.name")], errors
    assert "DNS-1123 subdomain" in errors[0]


# ---------------------------------------------------------------------------------------------
# apiVersion / kind / scope


def test_unserved_external_secrets_v1beta1_is_rejected(schemas: UpstreamSchemas) -> None:
    obj = external_secret()
    obj["apiVersion"] = "external-secrets.io/v1beta1"
    assert schemas.errors(obj) == [
        "ExternalSecret/oidc-client: apiVersion: external-secrets.io/v1beta1 is not served by CRD "
        "externalsecrets.external-secrets.io (served: false); served versions: v1"
    ]


@pytest.mark.parametrize("make", [authorization_policy, request_authentication, peer_authentication])
def test_istio_security_v1alpha1_is_rejected(schemas: UpstreamSchemas, make) -> None:
    obj = make("v1alpha1")
    errors = schemas.errors(obj)
    assert len(errors) == 1, errors
    label, where, text = _split(errors[0])
    assert (label, where) == (_label(obj), "apiVersion")
    assert "security.istio.io/v1alpha1 is not a version of CRD" in text
    assert text.endswith("served versions: v1, v1beta1")


def test_istio_networking_v1alpha3_is_still_served(schemas: UpstreamSchemas) -> None:
    assert schemas.errors(istio_gateway("v1alpha3")) == []
    assert schemas.errors(virtual_service("v1alpha3")) == []


def test_cluster_scoped_kind_with_namespace_is_rejected(schemas: UpstreamSchemas) -> None:
    obj = cluster_issuer()
    obj["metadata"]["namespace"] = "cert-manager"
    assert schemas.errors(obj) == [
        "ClusterIssuer/letsencrypt: metadata.namespace: ClusterIssuer is cluster-scoped: "
        "metadata.namespace must not be set"
    ]


def test_namespaced_kind_may_leave_namespace_to_kustomize(schemas: UpstreamSchemas) -> None:
    obj = certificate()
    del obj["metadata"]["namespace"]
    assert schemas.errors(obj) == []


def test_unknown_kind_in_known_group_is_reported(schemas: UpstreamSchemas) -> None:
    obj = authorization_policy("v1")
    obj["kind"] = "AuthorisationPolicy"
    assert schemas.knows(obj["apiVersion"], obj["kind"])  # group-wide: errors() must speak up
    errors = schemas.errors(obj)
    assert len(errors) == 1 and _split(errors[0])[1] == "kind", errors
    assert "no upstream CRD for kind 'AuthorisationPolicy' in group security.istio.io" in errors[0]


def test_unknown_group_and_core_kinds(schemas: UpstreamSchemas) -> None:
    assert not schemas.knows("v1", "Secret")
    assert not schemas.knows("apps/v1", "Deployment")
    assert not schemas.knows("networking.k8s.io/v1", "Ingress")
    assert schemas.knows("external-secrets.io/v1beta1", "ExternalSecret")
    obj = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    assert schemas.errors(obj) == ["Widget/w: apiVersion: no upstream CRD defines API group 'example.com'"]
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}}
    assert [_split(e)[1] for e in schemas.errors(secret)] == ["apiVersion"]


# ---------------------------------------------------------------------------------------------
# Kubernetes schema extensions


def test_nullable_accepts_null_and_other_fields_do_not(schemas: UpstreamSchemas) -> None:
    obj = virtual_service("v1")
    obj["spec"]["http"][0]["retries"] = {"attempts": 3, "retryRemoteLocalities": None}  # nullable: true
    assert schemas.errors(obj) == []
    obj["spec"]["http"][0]["retries"]["attempts"] = None  # not nullable
    assert schemas.errors(obj) == [
        "VirtualService/web: spec.http[0].retries.attempts: null is not allowed (the field is not nullable)"
    ]


def test_fields_newer_than_the_release_are_unknown_to_released(ref: Path) -> None:
    # tls.insecureSkipVerify came with Istio 1.31, not in the released 1.30: the bundles tell them apart
    obj = istio_gateway("v1")
    obj["spec"]["servers"][0]["tls"]["insecureSkipVerify"] = None  # nullable: true on master
    assert UpstreamSchemas.newest(ref).errors(obj) == []
    errors = UpstreamSchemas.released(ref).errors(obj)
    assert [_split(e)[1] for e in errors] == ["spec.servers[0].tls.insecureSkipVerify"], errors
    assert "unknown field" in errors[0]


def test_preserve_unknown_fields_keeps_unknown_fields(schemas: UpstreamSchemas) -> None:
    obj = sealed_secret()
    obj["spec"]["template"]["metadata"]["anything"] = {"goes": ["here"]}  # preserve-unknown-fields
    obj["spec"]["encryptedData"]["other-key"] = "AgAAAA=="
    assert schemas.errors(obj) == []
    obj["spec"]["template"]["metadata"] = None  # nullable + preserve-unknown-fields
    obj["spec"]["template"]["data"] = None  # nullable map
    assert schemas.errors(obj) == []


@pytest.mark.parametrize("count", [2, "2"])
def test_int_or_string_accepts_int_and_string(schemas: UpstreamSchemas, count) -> None:
    obj = argo_application()
    obj["spec"]["source"]["kustomize"] = {"replicas": [{"name": "web", "count": count}]}
    assert schemas.errors(obj) == []


@pytest.mark.parametrize("count", [2.5, True, None, [2], {"n": 2}])
def test_int_or_string_rejects_everything_else(schemas: UpstreamSchemas, count) -> None:
    obj = argo_application()
    obj["spec"]["source"]["kustomize"] = {"replicas": [{"name": "web", "count": count}]}
    errors = schemas.errors(obj)
    assert len(errors) == 1, errors
    _, where, text = _split(errors[0])
    assert where == "spec.source.kustomize.replicas[0].count"
    assert text.startswith("expected an integer or a string") or text.startswith("null is not allowed"), text


def test_defaults_are_applied_before_validation_without_touching_the_input(schemas: UpstreamSchemas) -> None:
    # addresses[].type defaults to IPAddress; the upstream oneOf is only satisfiable after defaulting
    obj = gateway_api_gateway()
    obj["spec"]["addresses"] = [{"value": "10.0.0.10"}]
    before = copy.deepcopy(obj)
    assert schemas.errors(obj) == []
    assert obj == before
    obj["spec"]["addresses"] = [{"type": "IPAddress", "value": "not-an-ip"}]
    errors = schemas.errors(obj)
    assert errors and {_split(e)[1] for e in errors} == {"spec.addresses[0]"}, errors


def test_list_type_map_rejects_duplicate_keys(schemas: UpstreamSchemas) -> None:
    obj = gateway_api_gateway()
    listener = copy.deepcopy(obj["spec"]["listeners"][0])
    listener["hostname"] = "other.example.com"
    obj["spec"]["listeners"].append(listener)  # same name "https"
    errors = schemas.errors(obj)
    assert [_split(e)[1] for e in errors] == ["spec.listeners[1]"], errors
    assert "duplicate entry" in errors[0] and "keyed by name" in errors[0]


def test_byte_format_is_checked(schemas: UpstreamSchemas) -> None:
    obj = cluster_issuer()
    obj["spec"]["acme"]["caBundle"] = "LS0tLS1CRUdJTi0tLS0t"
    assert schemas.errors(obj) == []
    obj["spec"]["acme"]["caBundle"] = "not base64!"
    assert [_split(e)[1] for e in schemas.errors(obj)] == ["spec.acme.caBundle"]


def test_cel_rules_are_not_evaluated(schemas: UpstreamSchemas) -> None:
    # Upstream CEL: "only one of jwks or jwksUri can be set". Documented limitation: passes here.
    obj = request_authentication("v1")
    obj["spec"]["jwtRules"][0]["jwks"] = '{"keys": []}'
    assert schemas.errors(obj) == []


# ---------------------------------------------------------------------------------------------
# metadata


def test_metadata_rules(schemas: UpstreamSchemas) -> None:
    obj = peer_authentication("v1")
    obj["metadata"].update(
        {
            "namespace": "Apps",
            "labels": {"app": 1, "bad key!": "x", "tier": "-bad-"},
            "annotations": {"example.com/ok": "yes", "note": 3},
            "labelz": {},
        }
    )
    assert schemas.errors(obj) == sorted(schemas.errors(obj))
    assert {_split(e)[1] for e in schemas.errors(obj)} == {
        "metadata.namespace",
        "metadata.labels.app",
        'metadata.labels["bad key!"]',
        "metadata.labels.tier",
        "metadata.annotations.note",
        "metadata.labelz",
    }


def test_missing_name_and_metadata(schemas: UpstreamSchemas) -> None:
    obj = peer_authentication("v1")
    del obj["metadata"]["name"]
    assert schemas.errors(obj) == ["PeerAuthentication/<no name>: metadata.name: required field is missing"]
    del obj["metadata"]
    assert schemas.errors(obj) == ["PeerAuthentication/<no name>: metadata: required field is missing"]


def test_name_longer_than_253_is_rejected(schemas: UpstreamSchemas) -> None:
    obj = certificate()
    obj["metadata"]["name"] = "a" * 254
    assert [_split(e)[1] for e in schemas.errors(obj)] == ["metadata.name"]


# ---------------------------------------------------------------------------------------------
# output, caching, bundles


def test_messages_are_sorted_and_stable(schemas: UpstreamSchemas) -> None:
    obj = http_route()
    obj["spec"]["zeta"] = 1
    obj["spec"]["alpha"] = 1
    obj["spec"]["hostnames"] = "web.example.com"
    obj["metadata"]["name"] = "Bad"
    first = schemas.errors(obj)
    assert first == sorted(first)
    assert len(first) == 4
    assert all(schemas.errors(copy.deepcopy(obj)) == first for _ in range(3))


def test_bundles_and_validators_are_cached(ref: Path) -> None:
    assert UpstreamSchemas.newest(ref) is UpstreamSchemas.newest(ref)
    assert UpstreamSchemas.released(ref) is UpstreamSchemas.released(ref)
    assert UpstreamSchemas.newest(ref) is not UpstreamSchemas.released(ref)
    schemas = UpstreamSchemas.newest(ref)
    first = schemas._validator_for("security.istio.io", "v1", "AuthorizationPolicy")
    assert schemas._validator_for("security.istio.io", "v1", "AuthorizationPolicy") is first


def test_released_prefers_released_files_and_falls_back_to_newest(ref: Path) -> None:
    released = UpstreamSchemas.released(ref)
    newest = UpstreamSchemas.newest(ref)
    crds = (ref / "crds").resolve()
    [istio_released] = sorted((crds / "released").glob("istio-crds-*.yaml"))
    assert released.source("security.istio.io/v1", "AuthorizationPolicy") == istio_released
    assert newest.source("security.istio.io/v1", "AuthorizationPolicy") == crds / "istio-crds.yaml"
    # no released copy: the top-level file stands in
    assert (
        released.source("external-secrets.io/v1", "ExternalSecret")
        == crds / "external-secrets-externalsecrets.yaml"
    )
    assert released.kinds() == newest.kinds()


def test_duplicate_definitions_are_refused(ref: Path) -> None:
    crds = ref / "crds"
    [istio_released] = sorted((crds / "released").glob("istio-crds-*.yaml"))
    with pytest.raises(ValueError, match="defined twice"):
        UpstreamSchemas([crds / "istio-crds.yaml", istio_released])


@pytest.mark.parametrize("bundle", BUNDLES)
def test_every_served_version_builds_and_only_reports_required_fields(ref: Path, bundle: str) -> None:
    """Smoke test over all loaded CRDs: the transformed schemas compile (patterns included) and
    a bare envelope with an empty spec gets no complaint other than missing required fields."""
    schemas = getattr(UpstreamSchemas, bundle)(ref)
    checked = 0
    for group, kind in schemas.kinds():
        for entry in schemas._crds[(group, kind)]["spec"]["versions"]:
            if not entry.get("served"):
                continue
            obj = {
                "apiVersion": f"{group}/{entry['name']}",
                "kind": kind,
                "metadata": {"name": "x"},
                "spec": {},
            }
            for message in schemas.errors(obj):
                assert message.endswith("required field is missing"), message
            checked += 1
    assert checked >= 40


# ---------------------------------------------------------------------------------------------
# location of the reference data


def test_require_ref_skips_with_clear_reason_when_absent(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv(upstream.ENV_VAR, str(tmp_path / "no-such-ref"))
    assert ref_dir() is None
    with pytest.raises(pytest.skip.Exception) as skipped:
        require_ref()
    assert skipped.value.msg == SKIP_REASON
    assert "tools/upstream_data.py" in SKIP_REASON and "skipped" in SKIP_REASON


def test_env_var_overrides_default_location(monkeypatch, tmp_path: Path) -> None:
    (tmp_path / "ref").mkdir()
    monkeypatch.setenv(upstream.ENV_VAR, str(tmp_path / "ref"))
    assert ref_dir() == (tmp_path / "ref").resolve()


def test_default_location_is_the_fetched_cache_then_the_shared_folder(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.delenv(upstream.ENV_VAR, raising=False)
    fetched, shared = tmp_path / "repo" / ".cache" / "upstream" / "ref", tmp_path / "shared" / "ref"
    monkeypatch.setattr(upstream, "REPO", tmp_path / "repo")
    monkeypatch.setattr(upstream, "FETCHED", fetched)
    assert ref_dir() is None
    shared.mkdir(parents=True)
    assert ref_dir() == shared
    fetched.mkdir(parents=True)
    assert ref_dir() == shared  # a fetch that did not complete (no pins.json) is not used
    (fetched / "pins.json").write_text("{}")
    assert ref_dir() == fetched
