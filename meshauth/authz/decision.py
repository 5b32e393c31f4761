"""What :mod:`meshauth.authz.simulate` is asked (a request, and the cluster facts no object states)
and what it answers (a decision, with the steps that led to it)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Request:
    """What a client sends. ``claims`` None: no login session (anonymous); otherwise the claims of
    the ID token the IdP issues at login (``iss`` and ``aud`` default to oauth2-proxy's issuer and
    client id, ``sub`` to ``simulated-user``)."""

    host: str
    path: str
    method: str = "GET"
    claims: Mapping[str, Any] | None = None
    port: int | None = None  # default: 443 where a Gateway serves the host over HTTPS, else 80
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Environment:
    """Facts about the cluster that no rendered object states."""

    gateway_principal: str  # the ingress gateway pods' mTLS identity
    service_labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # FQDN -> pod labels
    root_namespace: str = "istio-system"
    dataplane: str = "sidecar"  # for a namespace the bundle does not render: "sidecar" or "ambient"
    # the port the ingress gateway's Envoy listens on for each port of its Service: what policies'
    # ``ports`` and ``destination.port`` see there (istioctl's istio-ingressgateway: 80 -> 8080, 443 -> 8443)
    gateway_ports: Mapping[int, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Step:
    hop: str  # "gateway", "provider" (the login service), "route", "sidecar", "waypoint", "ztunnel"
    stage: str  # "CUSTOM", "jwt", "DENY", "ALLOW", "route", "login"
    outcome: str
    policy: str = ""


@dataclass(frozen=True)
class Decision:
    allowed: bool
    status: int
    decided_by: str
    reason: str
    destination: str | None = None
    steps: tuple[Step, ...] = ()
    decided: bool = True  # False: the bundle does not say what the cluster would do (``reason`` says why)

    @property
    def verdict(self) -> str:
        if not self.decided:
            return "UNDECIDED"
        return "ALLOW" if self.allowed else "DENY"

    def __str__(self) -> str:
        target = f" -> {self.destination}" if self.destination else ""
        if not self.decided:
            return f"UNDECIDED: cannot simulate: {self.reason}"
        return f"{self.verdict} ({self.status}) by {self.decided_by}: {self.reason}{target}"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "verdict": self.verdict}

    def explain(self) -> str:
        lines = [str(self)]
        lines += [
            f"  {s.hop:<12} {s.stage:<6} {s.outcome}" + (f"  [{s.policy}]" if s.policy else "")
            for s in self.steps
        ]
        return "\n".join(lines)


class Stopped(Exception):
    """A hop decided: the walk ends with this decision."""

    def __init__(self, decision: Decision) -> None:
        self.decision = decision
