"""Every version-dependent decision about Istio and Kubernetes, in one place.

The plan asks this module which apiVersion or field name a target version takes; templates never
compare versions. oauth2-proxy's per-release flags live in :mod:`meshauth.proxyflags`.
Sources: Istio release notes and the istio/api protos (see the design notes).
"""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

MIN_ISTIO = (1, 9)
NEWEST_KNOWN_ISTIO = (1, 30)
DEFAULT_KUBERNETES = "1.30"


@dataclass(frozen=True)
class IstioFeatures:
    """What the target Istio minor version serves, as the plan needs it."""

    version: tuple[int, int]
    security_api: str  # AuthorizationPolicy, RequestAuthentication
    peer_authentication_api: str
    networking_api: str  # Gateway, VirtualService
    include_headers_key: str  # envoyExtAuthzHttp field naming the request headers sent to the check
    headers_to_downstream_on_allow: bool
    target_refs: bool


def istio_features(version: tuple[int, int]) -> IstioFeatures:
    at_least = version.__ge__
    return IstioFeatures(
        version=version,
        security_api="security.istio.io/v1" if at_least((1, 17)) else "security.istio.io/v1beta1",
        peer_authentication_api=(
            "security.istio.io/v1" if at_least((1, 22)) else "security.istio.io/v1beta1"
        ),
        networking_api=(
            "networking.istio.io/v1" if at_least((1, 22)) else "networking.istio.io/v1beta1"
        ),
        include_headers_key=(
            "includeRequestHeadersInCheck" if at_least((1, 10)) else "includeHeadersInCheck"
        ),
        headers_to_downstream_on_allow=at_least((1, 14)),
        target_refs=at_least((1, 22)),
    )


def istio_version_problem(version: tuple[int, int]) -> str | None:
    """Why meshauth cannot target this Istio version, or None when it can."""
    if version < MIN_ISTIO:
        return (
            "must be 1.9 or newer: Istio before 1.9 has no CUSTOM authorization action and no "
            "extension providers, which the login at the gateway is built on"
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
