"""The one family of errors a user can cause.

Every problem that bad input can produce is a :class:`MeshAuthError` carrying where it happened (the
file and the field path), so the CLI can print ``file: spec.apps[0].host: message`` and exit 1 in one
place. Anything else that escapes is a bug in meshauth and may show a traceback.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One located problem: ``file: path: message`` (file and path may be empty)."""

    message: str
    file: str = ""
    path: str = ""

    def __str__(self) -> str:
        return ": ".join(part for part in (self.file, self.path, self.message) if part)


class MeshAuthError(Exception):
    """Base of every error caused by input (config, overlays, manifests) or by the output target."""

    def __init__(self, problems: Problem | Iterable[Problem]) -> None:
        self.problems: tuple[Problem, ...] = (problems,) if isinstance(problems, Problem) else tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class ConfigError(MeshAuthError):
    """The config file or an overlay is unreadable or does not satisfy the contract."""


class ValidationFailed(MeshAuthError):
    """The rendered (or given) manifests have error findings."""

    def __init__(self, findings: Sequence[object]) -> None:
        self.findings = tuple(findings)
        super().__init__(Problem(str(f)) for f in self.findings)


class OutputError(MeshAuthError):
    """The output directory cannot be written safely."""


class DiscoveryError(MeshAuthError):
    """An issuer's OpenID Connect discovery document cannot be fetched, read or trusted."""
