"""The parts of policies and routes the rules read, and probe requests built from them.

Istio matches hosts and paths by pattern; a rule that asks "would this request reach the login?"
needs a concrete request, so the patterns are turned into probe hosts and paths here.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from meshauth.k8s import mapping, sequence
from meshauth.validation.rules.facts import Facts, Workload

ANY_HOST = "any-host.invalid"  # a probe for policies that match every host
ACME_DIR = "/.well-known/acme-challenge/"  # served by cert-manager's solver, never by an app
ACME_PROBE = ACME_DIR + "probe-token"


def rules_of(policy: Mapping[str, Any]) -> list[tuple[int, Mapping[str, Any]]]:
    """(index, rule) of a policy's well-shaped rules."""
    rules = mapping(policy.get("spec")).get("rules")
    return [(i, r) for i, r in enumerate(rules if isinstance(rules, list) else []) if isinstance(r, Mapping)]


def operations(rule_: Mapping[str, Any]) -> Iterator[tuple[int, Mapping[str, Any]]]:
    """(index, operation) of a policy rule's ``to`` entries."""
    for i, entry in enumerate(sequence(rule_.get("to"))):
        if isinstance(entry, Mapping) and isinstance(entry.get("operation"), Mapping):
            yield i, entry["operation"]


def conditions(rule_: Mapping[str, Any]) -> Iterator[tuple[int, Mapping[str, Any]]]:
    """(index, condition) of a policy rule's ``when`` entries."""
    for i, condition in enumerate(sequence(rule_.get("when"))):
        if isinstance(condition, Mapping):
            yield i, condition


def probe_host(pattern: str) -> str | None:
    """A concrete host from a policy or Gateway host pattern (``app.example.com:*`` -> app...)."""
    host = pattern.split("/")[-1].split(":")[0].lower()
    if host.startswith("*."):
        host = "probe" + host[1:]
    return host if host and "*" not in host else None


def probe_path(pattern: str) -> str | None:
    """A request path that an Istio path pattern matches."""
    if pattern == "*" or "{" in pattern:
        return None
    if pattern.endswith("*"):
        return pattern[:-1] + "probe"
    if pattern.startswith("*"):
        return "/probe" + pattern[1:]
    return pattern


def custom_hosts(facts: Facts, policy: Mapping[str, Any]) -> list[str]:
    """The hosts a CUSTOM policy sends to its provider (all routed hosts when it names none)."""
    hosts: list[str] = []
    for _, r in rules_of(policy):
        ops = [op for _, op in operations(r)]
        if not ops or any("hosts" not in op for op in ops):
            hosts += routed_hosts(facts)
        for op in ops:
            hosts += [h for h in map(probe_host, map(str, sequence(op.get("hosts")))) if h]
    return list(dict.fromkeys(hosts))


def routed_hosts(facts: Facts) -> list[str]:
    """Hosts that reach the gateway: VirtualServices bound to one, and the Gateways' servers."""
    hosts = []
    for vs in facts.of_kind("VirtualService"):
        spec = mapping(vs.get("spec"))
        if any(g != "mesh" for g in sequence(spec.get("gateways"))):
            hosts += [h for h in map(probe_host, map(str, sequence(spec.get("hosts")))) if h]
    for gateway in facts.of_kind("Gateway"):
        for server in sequence(mapping(gateway.get("spec")).get("servers")):
            entries = server.get("hosts") if isinstance(server, Mapping) else None
            hosts += [
                h for h in map(probe_host, map(str, sequence(entries))) if h and not h.startswith("probe.")
            ]
    return list(dict.fromkeys(hosts))


def gateway_applied(facts: Facts, action: str) -> Iterator[tuple[Workload, Mapping[str, Any]]]:
    """(gateway workload, policy) for each policy of ``action`` that surely applies at a gateway."""
    for workload in facts.gateway_workloads:
        for policy, verdict in facts.policies(action, workload):
            if verdict is True:
                yield workload, policy
