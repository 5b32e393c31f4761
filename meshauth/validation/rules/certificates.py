"""Rules on certificates: an ACME HTTP-01 challenge must reach cert-manager's solver, not the login."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from meshauth.authz.matcher import Request
from meshauth.k8s import mapping, name_of, namespace_of, sequence
from meshauth.validation.rules.facts import Facts, Hit
from meshauth.validation.rules.policyparts import (
    ACME_PROBE,
    ANY_HOST,
    custom_hosts,
    gateway_applied,
    probe_host,
    routed_hosts,
)


def acme_challenge_not_behind_login(facts: Facts) -> Iterator[Hit]:
    """An `Issuer`/`ClusterIssuer` solves ACME challenges over HTTP-01, and a CUSTOM
    policy at the ingress gateway sends `/.well-known/acme-challenge/<token>` for a certificate's host
    (or a routed host) to the login. Let's Encrypt then gets a redirect to the IdP instead of the token:
    issuing and every renewal fail, and the site's certificate expires 90 days later.

    Fix: add `notPaths: ["/.well-known/acme-challenge/*"]` to the CUSTOM policy's operations (and let
    that path through the gateway's ALLOW policies, see MA017), or use a DNS-01 solver.
    """
    issuers = [i for i in facts.of_kind("Issuer", "ClusterIssuer") if _http01(i)]
    if not issuers:
        return
    hosts = [h for i in issuers for h in _certificate_hosts(facts, i)] or routed_hosts(facts)
    for _, policy in gateway_applied(facts, "CUSTOM"):
        probes = hosts or custom_hosts(facts, policy) or [ANY_HOST]
        host = next((h for h in probes if facts.matches(policy, Request(h, ACME_PROBE))), None)
        if host:
            issuer = issuers[0]
            shown = "every host's " if host == ANY_HOST else host
            yield (
                policy,
                "spec.rules",
                (
                    f"sends {shown}/.well-known/acme-challenge/ to the login, but {issuer['kind']} "
                    f"{name_of(issuer)} solves ACME HTTP-01 challenges: Let's Encrypt cannot fetch the "
                    "token, so issuing and renewing the certificate fails. Add notPaths: "
                    "[/.well-known/acme-challenge/*] to the policy's operations, or use a DNS-01 solver"
                ),
            )


def _http01(issuer: Mapping[str, Any]) -> bool:
    solvers = sequence(mapping(mapping(issuer.get("spec")).get("acme")).get("solvers"))
    return any(isinstance(s, Mapping) and "http01" in s for s in solvers)


def _certificate_hosts(facts: Facts, issuer: Mapping[str, Any]) -> list[str]:
    hosts = []
    for cert in facts.of_kind("Certificate"):
        ref = mapping(mapping(cert.get("spec")).get("issuerRef"))
        same_kind = ref.get("kind", "Issuer") == issuer.get("kind")
        same_ns = issuer.get("kind") == "ClusterIssuer" or namespace_of(cert) == namespace_of(issuer)
        if ref.get("name") == name_of(issuer) and same_kind and same_ns:
            hosts += [
                h for h in map(probe_host, map(str, sequence(mapping(cert.get("spec")).get("dnsNames")))) if h
            ]
    return hosts
