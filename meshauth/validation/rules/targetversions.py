"""Rules on the target versions: apiVersions and fields the target Istio or Kubernetes release lacks."""

from __future__ import annotations

from collections.abc import Iterator

from meshauth.compat import versions
from meshauth.validation.rules.facts import Facts, Hit
from meshauth.validation.schemas.kubernetes import core_validator


def available_in_target_versions(facts: Facts) -> Iterator[Hit]:
    for obj in facts.objects:
        api_version, kind = str(obj.get("apiVersion")), str(obj.get("kind"))
        message = _api_problem(facts, api_version, kind)
        if message:
            yield obj, "apiVersion", message
            continue
        for (field_kind, spec_field), since in versions.ISTIO_FIELD_SINCE.items():
            if field_kind == kind and spec_field in (obj.get("spec") or {}) and _older(facts, since):
                yield obj, f"spec.{spec_field}", _too_old(facts, f"spec.{spec_field}", since)
    for provider in facts.providers:
        http = provider.http or {}
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
