"""Which proxy stands before a workload: a sidecar (where one is injected) or, in ambient mode, the
waypoint a Service's traffic passes and ztunnel, and what ztunnel makes of a policy.

What it follows (istio.io "Use Layer 4 security policy", "Configure waypoint proxies"; pilot's
ambient ``convertAuthorizationPolicy``/``handleRule``):

* a workload is in the ambient mesh when its namespace is labelled ``istio.io/dataplane-mode:
  ambient`` (a pod label ``istio.io/dataplane-mode: none`` takes it out);
* a Service uses the waypoint named by its ``istio.io/use-waypoint`` label, else its namespace's
  (``none``: no waypoint; ``istio.io/use-waypoint-namespace`` names another namespace); an ingress
  gateway sends through it only where the Service or namespace says ``istio.io/ingress-use-waypoint:
  "true"``; a waypoint's identity is the service account named like its Gateway;
* ztunnel, at the destination, enforces the policies that select the workload (selector, namespace
  or mesh-wide; never ``targetRefs``, never CUSTOM) on L4 attributes only: in an ALLOW policy a rule
  with any HTTP attribute (hosts, methods, paths, requestPrincipals, remoteIpBlocks, a ``when`` key
  other than source.ip, source.namespace, source.principal, destination.ip, destination.port) never
  matches; in a DENY policy the HTTP attributes are dropped and the rest decides (more restrictive).
  Behind a waypoint ztunnel sees the waypoint's identity, not the client's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from meshauth.authz.routes import GATEWAY_NAME_LABEL, Pods, labels_text

DATAPLANE = "istio.io/dataplane-mode"
USE_WAYPOINT = "istio.io/use-waypoint"
USE_WAYPOINT_NAMESPACE = "istio.io/use-waypoint-namespace"
INGRESS_USE_WAYPOINT = "istio.io/ingress-use-waypoint"
INJECT = "sidecar.istio.io/inject"

_L7_OPERATION = ("hosts", "notHosts", "methods", "notMethods", "paths", "notPaths")
_L7_SOURCE = ("remoteIpBlocks", "notRemoteIpBlocks", "requestPrincipals", "notRequestPrincipals")
_L4_WHEN = {"source.ip", "source.namespace", "source.principal", "destination.ip", "destination.port"}
_NEVER: dict[str, Any] = {"to": [{"operation": {"ports": []}}]}  # a rule that matches nothing


def in_ambient(
    namespace_labels: Mapping[str, str] | None, pod_labels: Mapping[str, str], default: bool
) -> bool:
    if pod_labels.get(DATAPLANE) == "none":
        return False
    if namespace_labels is None:
        return default
    return namespace_labels.get(DATAPLANE) == "ambient"


def injected(namespace_labels: Mapping[str, str] | None, pod_labels: Mapping[str, str]) -> bool:
    """Does a (non-ambient) pod get a sidecar? Istio's injector: ``sidecar.istio.io/inject`` on the
    pod decides, else the namespace's ``istio-injection: enabled`` or ``istio.io/rev``; a namespace
    the bundle does not render is taken to be injected (meshauth labels every namespace it renders)."""
    if namespace_labels is None:
        return pod_labels.get(INJECT) != "false"
    if namespace_labels.get("istio-injection") == "disabled" or pod_labels.get(INJECT) == "false":
        return False
    return (
        pod_labels.get(INJECT) == "true"
        or namespace_labels.get("istio-injection") == "enabled"
        or "istio.io/rev" in namespace_labels
    )


def waypoint_of(
    service: Mapping[str, Any] | None, namespace: str, namespace_labels: Mapping[str, str]
) -> tuple[str, str] | None:
    """The (namespace, name) of the waypoint a Service's traffic passes, or None."""
    labels = ((service or {}).get("metadata") or {}).get("labels") or {}
    for source in (labels, namespace_labels):
        if USE_WAYPOINT in source:
            name = str(source[USE_WAYPOINT])
            if name == "none":
                return None
            return str(source.get(USE_WAYPOINT_NAMESPACE) or namespace), name
    return None


def ingress_uses_waypoint(service: Mapping[str, Any] | None, namespace_labels: Mapping[str, str]) -> bool:
    labels = ((service or {}).get("metadata") or {}).get("labels") or {}
    value = labels.get(INGRESS_USE_WAYPOINT, namespace_labels.get(INGRESS_USE_WAYPOINT))
    return str(value).lower() == "true"


def waypoint_pods(namespace: str, name: str, services: tuple[tuple[str, str], ...]) -> Pods:
    labels = {GATEWAY_NAME_LABEL: name}
    return Pods(f"{namespace}/{labels_text(labels)}", namespace, labels, name, True, services)


def at_ztunnel(policy: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The policy as ztunnel enforces it (see the module's notes); None: ztunnel ignores it."""
    spec = policy.get("spec") or {}
    action = spec.get("action") or "ALLOW"
    if action not in ("ALLOW", "DENY"):
        return None
    rules = []
    for rule in spec.get("rules") or []:
        rule = rule or {}
        operations = [(t or {}).get("operation") or {} for t in rule.get("to") or []]
        sources = [(f or {}).get("source") or {} for f in rule.get("from") or []]
        conditions = [c for c in rule.get("when") or [] if isinstance(c, Mapping)]
        layer7 = (
            any(o.get(k) for o in operations for k in _L7_OPERATION)
            or any(s.get(k) for s in sources for k in _L7_SOURCE)
            or any(c.get("key") not in _L4_WHEN for c in conditions)
        )
        if action == "ALLOW" and layer7:
            rules.append(_NEVER)
            continue
        kept: dict[str, Any] = {}
        if rule.get("to"):
            kept["to"] = [
                {"operation": {k: v for k, v in o.items() if k not in _L7_OPERATION}} for o in operations
            ]
        if rule.get("from"):
            kept["from"] = [{"source": {k: v for k, v in s.items() if k not in _L7_SOURCE}} for s in sources]
        when = [c for c in conditions if c.get("key") in _L4_WHEN]
        if when:
            kept["when"] = when
        rules.append(kept)
    return {**policy, "spec": {**spec, "rules": rules}}
