"""Rules on Istio Gateways: every routed host is served by the Gateway it is bound to, and every
server's TLS credential is written by a Certificate.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from meshauth.k8s import mapping, name_of, namespace_of, sequence
from meshauth.validation.rules.facts import Facts, Hit


def gateway_hosts_and_credentials(facts: Facts) -> Iterator[Hit]:
    """A VirtualService names a Gateway that the manifests do not contain while they contain
    Gateways (a typo, or the namespace left out of `<namespace>/<name>`), or is bound to a Gateway in
    the manifests and has a host that none of the Gateway's servers serves (respecting
    `namespace/host` and wildcards): the gateway never routes it, requests get 404. Or a Gateway server's `tls.credentialName` is a Secret that no Certificate
    (nor Secret, nor SealedSecret) in the gateway's namespace provides, while the manifests do manage
    certificates: TLS handshakes for that server fail.

    Fix: add the host to a server of the right Gateway; set a Certificate's `secretName` to the
    credential, in the gateway's namespace.
    """
    gateways = {(namespace_of(g), name_of(g)): g for g in facts.of_kind("Gateway") if _istio(g)}
    served = {key: _gateway_hosts(g) for key, g in gateways.items()}
    for vs in facts.of_kind("VirtualService"):
        spec = mapping(vs.get("spec"))
        for i, ref in enumerate(sequence(spec.get("gateways"))):
            key = _gateway_key(str(ref), namespace_of(vs))
            hosts = served.get(key)
            if hosts is None:
                if gateways and str(ref) != "mesh":
                    yield vs, f"spec.gateways[{i}]", _missing_gateway(str(ref), key, gateways)
                continue
            for host in sequence(spec.get("hosts")):
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


def _missing_gateway(ref: str, key: tuple[str, str], gateways: Mapping[tuple[str, str], Any]) -> str:
    known = ", ".join(f"{ns}/{name}" for ns, name in sorted(gateways))
    return (
        f"Gateway {ref} ({key[0]}/{key[1]}) is not among the Gateways of these manifests ({known}): no "
        "gateway routes this VirtualService's hosts, and requests for them get 404. Name the "
        "Gateway as <namespace>/<name>, or add it"
    )


def _istio(obj: Mapping[str, Any]) -> bool:
    return str(obj.get("apiVersion", "")).startswith("networking.istio.io/")


def _gateway_key(ref: str, namespace: str) -> tuple[str, str]:
    if "/" not in ref and "." in ref:  # the legacy <name>.<namespace>.svc.cluster.local form
        name, ns = ref.split(".")[:2]
        return ns, name
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
    for server in sequence(mapping(gateway.get("spec")).get("servers")):
        for entry in sequence(mapping(server).get("hosts")) if isinstance(server, Mapping) else []:
            ns, _, pattern = str(entry).lower().rpartition("/")
            ns = namespace_of(gateway) if ns == "." else ns
            (patterns.append((ns, pattern)) if "*" in pattern else exact.add((ns, pattern)))
    return exact, patterns


def _host_covers(pattern: str, host: str) -> bool:
    if pattern.startswith("*"):  # "*" covers every host; "*.example.com" its subdomains and wildcards
        return host.endswith(pattern[1:])
    return pattern == host  # a wildcard elsewhere than leftmost is no wildcard to Istio


def _credentials_without_certificate(facts: Facts, gateways: Iterable[Mapping[str, Any]]) -> Iterator[Hit]:
    certificates = facts.of_kind("Certificate")
    if not certificates:
        return  # certificates are not managed in these manifests: nothing to compare with
    for gateway in gateways:
        namespace = namespace_of(gateway)
        produced = {
            str(mapping(c.get("spec")).get("secretName"))
            for c in certificates
            if namespace_of(c) == namespace
        }
        produced |= {
            name_of(s) for s in facts.of_kind("Secret", "SealedSecret") if namespace_of(s) == namespace
        }
        for i, server in enumerate(sequence(mapping(gateway.get("spec")).get("servers"))):
            credential = (
                mapping(mapping(server).get("tls")).get("credentialName")
                if isinstance(server, Mapping)
                else None
            )
            if isinstance(credential, str) and credential and credential not in produced:
                yield (
                    gateway,
                    f"spec.servers[{i}].tls.credentialName",
                    (
                        f"no Certificate in namespace {namespace} writes the Secret {credential!r}: "
                        "the gateway has no certificate for this server and TLS handshakes fail. Set "
                        "a Certificate's secretName to it, in the gateway's namespace"
                    ),
                )
