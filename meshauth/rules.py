"""Cross-resource rules: what the cluster would accept but get wrong at runtime.

One small function per rule, registered with its ID and severity. Each looks at the objects (and
the mesh configuration when there is one) and yields ``(object, path, message)`` for every problem.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Mapping, Optional

from meshauth.findings import Finding, Severity, object_ref

Objects = list[Mapping[str, Any]]
Hit = tuple[Optional[Mapping[str, Any]], str, str]


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    summary: str
    check: Callable[[Objects, Optional[Mapping[str, Any]]], Iterable[Hit]]


RULES: list[Rule] = []


def rule(id: str, severity: Severity, summary: str):
    def register(check: Callable[[Objects, Optional[Mapping[str, Any]]], Iterable[Hit]]):
        RULES.append(Rule(id, severity, summary, check))
        return check

    return register


def check(objects: Iterable[Mapping[str, Any]], mesh: Optional[Mapping[str, Any]]) -> list[Finding]:
    objects = list(objects)
    return [
        Finding(r.id, r.severity, message, object=object_ref(obj) if obj else "", path=path)
        for r in RULES
        for obj, path, message in r.check(objects, mesh)
    ]


def of_kind(objects: Objects, kind: str) -> Iterator[Mapping[str, Any]]:
    return (o for o in objects if o.get("kind") == kind)


def extension_providers(mesh: Optional[Mapping[str, Any]]) -> Optional[list[Mapping[str, Any]]]:
    """The providers a mesh configuration defines (IstioOperator or istiod values); None if unknown."""
    if not mesh:
        return None
    mesh_config = (mesh.get("spec") or {}).get("meshConfig") if "spec" in mesh else mesh.get("meshConfig")
    return list((mesh_config or {}).get("extensionProviders") or [])


@rule("MA001", "error", "a CUSTOM policy names a provider that no mesh config defines")
def _custom_provider_defined(objects: Objects, mesh: Optional[Mapping[str, Any]]) -> Iterator[Hit]:
    providers = extension_providers(mesh)
    if providers is None:
        return
    names = {p.get("name") for p in providers}
    for policy in of_kind(objects, "AuthorizationPolicy"):
        spec = policy.get("spec") or {}
        name = (spec.get("provider") or {}).get("name")
        if spec.get("action") == "CUSTOM" and name not in names:
            yield policy, "spec.provider.name", (
                f"provider {name!r} is not an extension provider of the mesh config "
                f"(defined: {', '.join(sorted(map(str, names))) or 'none'}); Istio denies every "
                "request this policy matches. Add the provider to meshConfig.extensionProviders "
                "or fix the name"
            )


_CUSTOM_FORBIDDEN_SOURCES = (
    "principals", "notPrincipals", "requestPrincipals", "notRequestPrincipals", "namespaces",
    "notNamespaces",
)


@rule("MA066", "error", "a CUSTOM policy uses a condition Istio rejects for CUSTOM")
def _custom_conditions(objects: Objects, mesh: Optional[Mapping[str, Any]]) -> Iterator[Hit]:
    """ext_authz runs before jwt_authn and needs no peer identity, so Istio's validation refuses
    source principals/namespaces and ``source.*`` / ``request.auth.*`` conditions in CUSTOM rules
    (``request.headers[...]`` is fine)."""
    for policy in of_kind(objects, "AuthorizationPolicy"):
        spec = policy.get("spec") or {}
        if spec.get("action") != "CUSTOM":
            continue
        for i, rule_ in enumerate(spec.get("rules") or []):
            for j, source in enumerate(rule_.get("from") or []):
                for key in _CUSTOM_FORBIDDEN_SOURCES:
                    if (source.get("source") or {}).get(key):
                        yield policy, f"spec.rules[{i}].from[{j}].source.{key}", (
                            f"{key} is not supported with CUSTOM action: Istio refuses the policy. "
                            "Move the condition to an ALLOW or DENY policy")
            for j, condition in enumerate(rule_.get("when") or []):
                key = str(condition.get("key", ""))
                if key in ("source.namespace", "source.principal") or key.startswith("request.auth."):
                    yield policy, f"spec.rules[{i}].when[{j}].key", (
                        f"{key} is not supported with CUSTOM action (no token is checked before "
                        "ext_authz runs): Istio refuses the policy. Use request.headers[...] here, "
                        "and request.auth conditions in an ALLOW or DENY policy")
