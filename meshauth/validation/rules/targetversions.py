"""Rules on the target versions: apiVersions and fields the target Istio or Kubernetes release lacks."""

from __future__ import annotations

from collections.abc import Iterator

from meshauth.compat import versions
from meshauth.k8s import mapping
from meshauth.validation.rules.facts import Facts, Hit
from meshauth.validation.schemas.kubernetes import core_validator


def available_in_target_versions(facts: Facts) -> Iterator[Hit]:
    """The apply fails, or Istio ignores the field, when:

    - the apiVersion was removed: `networking.k8s.io/v1beta1` Ingress and IngressClass (Kubernetes
      1.22), `policy/v1beta1` PodDisruptionBudget (1.25), cert-manager's pre-v1 APIs (cert-manager
      1.7), `external-secrets.io/v1beta1` (no longer served), Istio's alpha security APIs (1.6), or
      the target Kubernetes version does not serve a core apiVersion/kind at all;
    - the target Istio version is older than the API: `security.istio.io/v1` AuthorizationPolicy and
      RequestAuthentication (Istio 1.17), PeerAuthentication and `networking.istio.io/v1` (1.22);
    - a field is newer than the target Istio version: `targetRefs` (1.22), the extension provider's
      `includeRequestHeadersInCheck` (1.10; 1.9 has `includeHeadersInCheck`) and
      `headersToDownstreamOnAllow` (1.14).

    Fix: use the apiVersion the message names, or raise the target version.
    """
    for obj in facts.objects:
        api_version, kind = str(obj.get("apiVersion")), str(obj.get("kind"))
        message = _api_problem(facts, api_version, kind)
        if message:
            yield obj, "apiVersion", message
            continue
        for (field_kind, spec_field), since in versions.ISTIO_FIELD_SINCE.items():
            if field_kind == kind and spec_field in mapping(obj.get("spec")) and _older(facts, since):
                yield obj, f"spec.{spec_field}", _too_old(facts, f"spec.{spec_field}", since)
    for provider in facts.providers:
        http = mapping(provider.http)
        for field, since in versions.EXT_AUTHZ_FIELD_SINCE.items():
            if field in http and _older(facts, since):
                path = f"{provider.path}.envoyExtAuthzHttp.{field}"
                yield provider.source.document, path, _too_old(facts, field, since)


def _api_problem(facts: Facts, api_version: str, kind: str) -> str | None:
    removal = versions.api_removal(api_version, kind, facts.kubernetes_version)
    if removal:
        return f"{kind} {api_version} was removed in {removal[0]}: the apply fails. Use {removal[1]}"
    known = versions.kubernetes_versions()
    if (
        versions.is_kubernetes_group(api_version)
        and facts.kubernetes_version
        and known
        and facts.kubernetes_version >= known[0]
    ):
        target = "{}.{}".format(*facts.kubernetes_version)
        if core_validator(target, api_version, kind) is None:
            return f"Kubernetes {target} does not serve {kind} in {api_version}: the apply fails"
    since = versions.ISTIO_API_SINCE.get((api_version, kind))
    if since and _older(facts, since):
        return _too_old(facts, api_version, since) + f" (use {api_version.rpartition('/')[0]}/v1beta1)"
    return None


def _older(facts: Facts, since: tuple[int, int]) -> bool:
    return facts.istio_version is not None and facts.istio_version < since


def _too_old(facts: Facts, what: str, since: tuple[int, int]) -> str:
    target = "{}.{}".format(*(facts.istio_version or (0, 0)))
    return f"{what} exists from Istio {since[0]}.{since[1]}; Istio {target} rejects or ignores it"
