"""What validation reports: one finding per problem, with rule, severity, object, path and message."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, order=True)
class Finding:
    rule: str  # MA001 ... for cross-resource rules; "schema" for schema validation; "config"
    severity: Severity
    message: str
    object: str = ""  # "Kind namespace/name" or "Kind name"
    path: str = ""  # field path inside the object
    file: str = ""

    def __str__(self) -> str:
        where = ": ".join(part for part in (self.file, self.object, self.path) if part)
        return f"{where + ': ' if where else ''}{self.severity} {self.rule}: {self.message}"

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


def object_ref(obj: Mapping[str, Any]) -> str:
    """``Kind namespace/name`` (or ``Kind name`` for cluster-scoped objects)."""
    metadata = obj.get("metadata") or {}
    name = metadata.get("name", "?") if isinstance(metadata, dict) else "?"
    namespace = metadata.get("namespace") if isinstance(metadata, dict) else None
    return f"{obj.get('kind', '?')} {f'{namespace}/' if namespace else ''}{name}"


def errors(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity == "error"]
