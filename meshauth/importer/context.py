"""What the import steps share: the objects read, which of them are accounted for, and findings.

Every object read must end up accounted for: mapped into the config (``use``: meshauth's output
replaces it, so it may be deleted once that works), kept with a reason (``keep`` and ``warn``: the
user goes on applying it), or reported (``warn`` / ``error``). :func:`meshauth.importer.run.import_manifests` reports whatever is left.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from meshauth.findings import Finding, Severity, object_ref
from meshauth.importer.sources import Source
from meshauth.k8s import name_of, namespace_of, spec_of

RULE = "import"


@dataclass(frozen=True)
class ImportOptions:
    name: str = "sso"
    istio_version: str | None = None
    inline_secrets: bool = False


@dataclass
class Context:
    sources: list[Source]
    variables: dict[str, str]
    options: ImportOptions
    findings: list[Finding] = field(default_factory=list)
    used: set[int] = field(default_factory=set)
    kept: set[int] = field(default_factory=set)
    memo: dict[str, Any] = field(default_factory=dict)  # lookups the steps share, computed once

    # --- looking objects up ----------------------------------------------------------------------

    def of_kind(self, kind: str, namespace: str | None = None) -> list[Source]:
        return list(self._by_kind.get((kind, namespace), ()))

    def named(self, kind: str, name: str, namespace: str | None = None) -> Source | None:
        return next((s for s in self._by_kind.get((kind, namespace), ()) if name_of(s.obj) == name), None)

    @cached_property
    def _by_kind(self) -> dict[tuple[str, str | None], list[Source]]:
        """Sources by (kind, None) and by (kind, namespace), in the order they were read."""
        index: dict[tuple[str, str | None], list[Source]] = {}
        for source in self.sources:
            kind = str(source.obj.get("kind"))
            index.setdefault((kind, None), []).append(source)
            index.setdefault((kind, namespace_of(source.obj)), []).append(source)
        return index

    # --- accounting ------------------------------------------------------------------------------

    def use(self, source: Source | None) -> None:
        if source is not None and id(source) not in self.kept:
            self.used.add(id(source))

    def is_used(self, source: Source) -> bool:
        """The object is carried into the config: meshauth's output replaces it."""
        return id(source) in self.used

    def keep(self, source: Source | None) -> None:
        """The object is accounted for by a finding but not (wholly) carried: the user keeps
        applying it, so it is never on the list of objects to delete, even when partly used."""
        if source is not None:
            self.kept.add(id(source))
            self.used.discard(id(source))

    def accounted(self, source: Source) -> bool:
        return id(source) in self.used or id(source) in self.kept

    def warn(self, message: str, source: Source | None = None, path: str = "") -> None:
        self._add("warning", message, source, path)

    def error(self, message: str, source: Source | None = None, path: str = "") -> None:
        self._add("error", message, source, path)

    def _add(self, severity: Severity, message: str, source: Source | None, path: str) -> None:
        self.findings.append(
            Finding(
                RULE,
                severity,
                message,
                object=ref(source.obj) if source else "",
                path=path,
                file=source.origin if source else "",
            )
        )


def ref(obj: Mapping[str, Any]) -> str:
    """``Kind namespace/name``; just the kind for an object without a name (an IstioOperator)."""
    return object_ref(obj) if name_of(obj) else str(obj.get("kind", "?"))


# --- plain helpers on objects ----------------------------------------------------------------------


def match_labels(obj: Mapping[str, Any]) -> dict[str, str]:
    """A policy's ``selector.matchLabels`` (a Gateway's plain ``selector``)."""
    selector = spec_of(obj).get("selector") or {}
    labels = selector.get("matchLabels", selector) if isinstance(selector, dict) else {}
    return {str(k): str(v) for k, v in (labels or {}).items()}


def selects(selector: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def strings(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def walk_rules(policy: Mapping[str, Any]) -> Iterator[tuple[int, dict[str, Any]]]:
    for index, rule in enumerate(spec_of(policy).get("rules") or []):
        if isinstance(rule, dict):
            yield index, rule


def plain_host(host: str) -> str:
    """``app.example.com:*`` or ``app.example.com:443`` as the bare host."""
    return host.rsplit(":", 1)[0] if ":" in host else host


def denies_without_token(policy: Mapping[str, Any]) -> bool:
    """A DENY policy that only refuses requests without a token (``notRequestPrincipals: ["*"]``,
    Istio's "require JWT" pattern): meshauth's ALLOW policies already require one."""
    spec = spec_of(policy)
    rules = [r for _, r in walk_rules(policy)]
    return (
        spec.get("action") == "DENY"
        and bool(rules)
        and all(
            set(rule) <= {"from", "to"}
            and bool(rule.get("from"))
            and all(
                set((f or {}).get("source") or {}) == {"notRequestPrincipals"}
                and strings(f["source"]["notRequestPrincipals"]) == ["*"]
                for f in rule["from"]
            )
            for rule in rules
        )
    )
