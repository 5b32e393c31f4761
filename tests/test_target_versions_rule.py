"""MA014 on hand-written manifests: an apiVersion or field the target Istio or Kubernetes release
does not have. One finding at apiVersion (and then none for its fields) or at the field; silent at
the first release that has it, and when no target version is given."""

from __future__ import annotations

import pytest
from handwritten import istio_operator

import meshauth


def obj(api_version, kind, spec=None, namespace="apps"):
    return {
        "apiVersion": api_version,
        "kind": kind,
        "metadata": {"name": "x", "namespace": namespace},
        "spec": spec or {},
    }


def ma014(docs, istio=None, kubernetes=None):
    findings = meshauth.validate(docs, istio_version=istio, kubernetes_version=kubernetes)
    return [(f.object, f.path, f.message) for f in findings if f.rule == "MA014"]


INGRESS = obj("networking.k8s.io/v1beta1", "Ingress", {"rules": []})


def test_a_removed_kubernetes_api_fails_the_apply():
    assert ma014([INGRESS], kubernetes="1.22") == [
        (
            "Ingress apps/x",
            "apiVersion",
            "Ingress networking.k8s.io/v1beta1 was removed in Kubernetes 1.22: the apply fails. Use networking.k8s.io/v1",
        )
    ]
    assert ma014([INGRESS], kubernetes="1.21") == []


@pytest.mark.parametrize("kubernetes, served", [("1.29", False), ("1.30", True), ("1.24", True)])
def test_a_kind_the_target_kubernetes_does_not_serve(kubernetes, served):
    # 1.24 is older than the schemas meshauth carries: not judged
    policy = obj("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicy", namespace="")
    expected = f"Kubernetes {kubernetes} does not serve ValidatingAdmissionPolicy in admissionregistration.k8s.io/v1: the apply fails"
    assert [m for *_, m in ma014([policy], kubernetes=kubernetes)] == ([] if served else [expected])


@pytest.mark.parametrize(
    "api_version, kind, first",
    [
        ("security.istio.io/v1", "AuthorizationPolicy", (1, 17)),
        ("security.istio.io/v1", "PeerAuthentication", (1, 22)),
        ("networking.istio.io/v1", "VirtualService", (1, 22)),
    ],
)
def test_an_istio_api_newer_than_the_target_release(api_version, kind, first):
    before = f"{first[0]}.{first[1] - 1}"
    assert ma014([obj(api_version, kind)], istio=before) == [
        (
            f"{kind} apps/x",
            "apiVersion",
            f"{api_version} exists from Istio {first[0]}.{first[1]}; Istio {before} rejects or ignores it "
            f"(use {api_version.rpartition('/')[0]}/v1beta1)",
        )
    ]
    assert ma014([obj(api_version, kind)], istio=f"{first[0]}.{first[1]}") == []
    assert ma014([obj(api_version, kind)]) == []


@pytest.mark.parametrize("kind", ["AuthorizationPolicy", "RequestAuthentication"])
def test_target_refs_are_newer_than_istio_1_22(kind):
    policy = obj("security.istio.io/v1beta1", kind, {"targetRefs": [{"kind": "Gateway", "name": "web"}]})
    assert ma014([policy], istio="1.21") == [
        (
            f"{kind} apps/x",
            "spec.targetRefs",
            "spec.targetRefs exists from Istio 1.22; Istio 1.21 rejects or ignores it",
        )
    ]
    assert ma014([policy], istio="1.22") == []
    assert (
        ma014([obj("security.istio.io/v1beta1", "PeerAuthentication", {"targetRefs": []})], istio="1.21")
        == []
    )


def test_an_old_api_version_is_the_one_finding_of_its_object():
    policy = obj(
        "security.istio.io/v1", "AuthorizationPolicy", {"targetRefs": [{"kind": "Gateway", "name": "web"}]}
    )
    assert [path for _, path, _ in ma014([policy], istio="1.16")] == ["apiVersion"]


def _mesh(**http):
    return istio_operator(service="o.o.svc.cluster.local", port=4180, **http)


@pytest.mark.parametrize(
    "field, first",
    [("includeRequestHeadersInCheck", (1, 10)), ("headersToDownstreamOnAllow", (1, 14))],
)
def test_a_provider_field_newer_than_the_target_release(field, first):
    before = f"{first[0]}.{first[1] - 1}"
    where = f"spec.meshConfig.extensionProviders[0].envoyExtAuthzHttp.{field}"
    assert ma014([_mesh(**{field: ["cookie"]})], istio=before) == [
        (
            "IstioOperator istio-system/mesh",
            where,
            f"{field} exists from Istio {first[0]}.{first[1]}; Istio {before} rejects or ignores it",
        )
    ]
    assert ma014([_mesh(**{field: ["cookie"]})], istio=f"{first[0]}.{first[1]}") == []
    assert ma014([_mesh(includeHeadersInCheck=["cookie"])], istio=before) == []


def test_the_oldest_carried_kubernetes_release_is_judged():
    policy = obj("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicy", namespace="")
    assert [path for _, path, _ in ma014([policy], kubernetes="1.25")] == ["apiVersion"]


def test_each_object_with_an_old_api_is_its_own_finding():
    policy = obj("security.istio.io/v1", "AuthorizationPolicy")
    route = obj("networking.istio.io/v1", "VirtualService")
    assert [(o, p) for o, p, _ in ma014([policy, route], istio="1.16")] == [
        ("AuthorizationPolicy apps/x", "apiVersion"),
        ("VirtualService apps/x", "apiVersion"),
    ]


def test_without_a_target_kubernetes_version_only_removed_apis_are_reported():
    # what a release serves is not guessed; an API every current release has removed is
    policy = obj("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicy", namespace="")
    assert [(o, p) for o, p, _ in ma014([policy, INGRESS])] == [("Ingress apps/x", "apiVersion")]


def test_without_kubernetes_schemas_what_a_release_serves_is_not_judged(monkeypatch):
    from meshauth.compat import versions

    monkeypatch.setattr(versions, "kubernetes_versions", lambda: ())
    policy = obj("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicy", namespace="")
    assert ma014([policy], kubernetes="1.29") == []
