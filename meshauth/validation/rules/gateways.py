"""Rules on Istio Gateways: every routed host is served by the Gateway it is bound to, and every
server's TLS credential is written by a Certificate.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from meshauth.k8s import name_of, namespace_of
from meshauth.validation.rules.facts import Facts, Hit


def gateway_hosts_and_credentials(facts: Facts) -> Iterator[Hit]:
    """A VirtualService bound to a Gateway in the manifests has a host that none of the
    Gateway's servers serves (respecting `namespace/host` and wildcards): the gateway never routes
    it, requests get 404. Or a Gateway server's `tls.credentialName` is a Secret that no Certificate
    (nor Secret, nor SealedSecret) in the gateway's namespace provides, while the manifests do manage
    certificates: TLS handshakes for that server fail.

    Fix: add the host to a server of the right Gateway; set a Certificate's `secretName` to the
    credential, in the gateway's namespace.
    """
    gateways = {(namespace_of(g), name_of(g)): g for g in facts.of_kind("Gateway") if _istio(g)}
    served = {key: _gateway_hosts(g) for key, g in gateways.items()}
    for vs in facts.of_kind("VirtualService"):
        spec = vs.get("spec") or {}
        for i, ref in enumerate(spec.get("gateways") or []):
            hosts = served.get(_gateway_key(str(ref), namespace_of(vs)))
            if hosts is None:
                continue
            for host in spec.get("hosts") or []:
                if not _served_by(str(host), namespace_of(vs), hosts):
                    yield (
                        vs,
                        f"spec.gateways[{i}]",
                        (
                            f"host {host} is not among the hosts of Gateway {ref}'s servers: the "
                            "gateway never routes it here and requests for it get 404. Add the host to "
                            "a server of the Gateway, or bind the VirtualService to the right Gateway"
                        ),
                    )
    yield from _credentials_without_certificate(facts, gateways.values())


def _istio(obj: Mapping[str, Any]) -> bool:
    return str(obj.get("apiVersion", "")).startswith("networking.istio.io/")


def _gateway_key(ref: str, namespace: str) -> tuple[str, str]:
    ns, _, name = ref.rpartition("/")
    return ns or namespace, name


def _served_by(host: str, namespace: str, hosts: tuple[set[tuple[str, str]], list[tuple[str, str]]]) -> bool:
    exact, patterns = hosts
    host = host.lower()
    if any((ns, host) in exact for ns in ("", "*", namespace)):
        return True
    for ns, pattern in patterns:
        if ns in ("", "*", namespace) and _host_covers(pattern, host):
            return True
    return False


def _gateway_hosts(gateway: Mapping[str, Any]) -> tuple[set[tuple[str, str]], list[tuple[str, str]]]:
    """A Gateway's server hosts as (namespace qualifier, host): exact ones in a set, wildcards."""
    exact: set[tuple[str, str]] = set()
    patterns: list[tuple[str, str]] = []
    for server in (gateway.get("spec") or {}).get("servers") or []:
        for entry in (server or {}).get("hosts") or [] if isinstance(server, Mapping) else []:
            ns, _, pattern = str(entry).lower().rpartition("/")
            ns = namespace_of(gateway) if ns == "." else ns
            (patterns.append((ns, pattern)) if "*" in pattern else exact.add((ns, pattern)))
    return exact, patterns


def _host_covers(pattern: str, host: str) -> bool:
    if pattern == "*" or pattern == host:
        return True
    if pattern.startswith("*"):
        return host.endswith(pattern[1:]) or (host.startswith("*") and host.endswith(pattern[1:]))
    return False


def _credentials_without_certificate(facts: Facts, gateways: Iterable[Mapping[str, Any]]) -> Iterator[Hit]:
    certificates = facts.of_kind("Certificate")
    if not certificates:
        return  # certificates are not managed in these manifests: nothing to compare with
    for gateway in gateways:
        namespace = namespace_of(gateway)
        produced = {
            str((c.get("spec") or {}).get("secretName")) for c in certificates if namespace_of(c) == namespace
        }
        produced |= {
            name_of(s) for s in facts.of_kind("Secret", "SealedSecret") if namespace_of(s) == namespace
        }
        for i, server in enumerate((gateway.get("spec") or {}).get("servers") or []):
            credential = (
                ((server or {}).get("tls") or {}).get("credentialName")
                if isinstance(server, Mapping)
                else None
            )
            if credential and credential not in produced:
                yield (
                    gateway,
                    f"spec.servers[{i}].tls.credentialName",
                    (
                        f"no Certificate in namespace {namespace} writes the Secret {credential!r}: "
                        "the gateway has no certificate for this server and TLS handshakes fail. Set "
                        "a Certificate's secretName to it, in the gateway's namespace"
                    ),
                )
