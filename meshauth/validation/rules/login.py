"""Rules on the gateway login (CUSTOM policies) and the access policies beside it: what CUSTOM cannot
evaluate, and paths kept from the login that an ALLOW policy then denies.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from meshauth.authz import matcher as authz
from meshauth.authz.matcher import Request
from meshauth.k8s import custom_policies, mapping, name_of, sequence
from meshauth.validation.rules.facts import Facts, Hit, Workload
from meshauth.validation.rules.policyparts import (
    ACME_DIR,
    ANY_HOST,
    conditions,
    gateway_applied,
    operations,
    probe_host,
    probe_path,
    routed_hosts,
    rules_of,
)

_IDENTITY_SOURCE_FIELDS = (
    "principals",
    "notPrincipals",
    "requestPrincipals",
    "notRequestPrincipals",
    "namespaces",
    "notNamespaces",
)
_IDENTITY_CONDITIONS = ("request.auth.", "source.principal", "source.namespace")


def custom_without_identity(facts: Facts) -> Iterator[Hit]:
    """A CUSTOM policy uses `principals`, `requestPrincipals`, `namespaces` (or their
    `not` forms), or a `request.auth.*`, `source.principal` or `source.namespace` condition. The
    external authorizer runs before authentication, so Istio rejects such a policy and the login it
    was meant to enforce does not happen.

    Fix: keep the CUSTOM policy to hosts, paths, methods and ports; put identity checks in an ALLOW
    or DENY policy (they run after the JWT check).
    """
    why = (
        "CUSTOM policies run before authentication, so Istio rejects them when they use "
        "principals, requestPrincipals, namespaces or request.auth.* conditions, and the login "
        "is not enforced. Move the identity check to an ALLOW or DENY policy"
    )
    for policy in custom_policies(facts.of_kind("AuthorizationPolicy")):
        for i, r in rules_of(policy):
            for k, entry in enumerate(sequence(r.get("from"))):
                source = mapping(entry).get("source") if isinstance(entry, Mapping) else None
                for field in _IDENTITY_SOURCE_FIELDS:
                    if isinstance(source, Mapping) and field in source:
                        yield policy, f"spec.rules[{i}].from[{k}].source.{field}", f"{field}: {why}"
            for j, condition in conditions(r):
                key = str(condition.get("key", ""))
                if key.startswith(_IDENTITY_CONDITIONS):
                    yield policy, f"spec.rules[{i}].when[{j}].key", f"{key}: {why}"


def open_paths_allowed(facts: Facts) -> Iterator[Hit]:
    """A CUSTOM policy at the gateway excludes paths from the login with `notPaths`
    (public paths, the ACME challenge path). Those requests carry no JWT. If the gateway's ALLOW
    policies (or, for public paths, the ALLOW policies of the app the path is routed to, when its
    namespace has sidecars) have no rule
    that matches such a request without a token, it is answered 403: the health check, static files
    or the certificate renewal fail.

    Fix: add an ALLOW rule with `to.operation` `hosts` and `paths` for exactly the excluded paths.
    """
    seen: set[tuple[int, str]] = set()
    for workload, custom in gateway_applied(facts, "CUSTOM"):
        for host, path, pattern in _excluded(facts, custom):
            apps = [] if path.startswith(ACME_DIR) else facts.routed_workloads(host, path)
            # a namespace without sidecars enforces no policy: nothing there answers 403
            apps = [app for app in apps if not facts.sidecarless(app.namespace)]
            for target in [workload, *apps]:
                request = Request(host, path, peer_known=target.gateway)
                denied = _denied(facts, target, request)
                if denied is None:
                    continue
                message = (
                    f"{'' if host == ANY_HOST else host}{pattern} is excluded from the login (notPaths of CUSTOM policy "
                    f"{name_of(custom)}), so it carries no JWT; no rule of this ALLOW policy "
                    "lets a request without a token through, so it is answered 403. Add a "
                    "rule with to.operation hosts and paths for exactly those paths"
                )
                if (id(denied), message) not in seen:  # the same gateway pods seen from two Gateways
                    seen.add((id(denied), message))
                    yield denied, "spec.rules", message
                break


def _excluded(facts: Facts, policy: Mapping[str, Any]) -> Iterator[tuple[str, str, str]]:
    """(host, probe path, pattern) for the paths a CUSTOM policy's notPaths keep from the login."""
    seen = set()
    for _, r in rules_of(policy):
        for _, op in operations(r):
            hosts = [h for h in map(probe_host, map(str, sequence(op.get("hosts")))) if h]
            hosts = hosts or ([] if op.get("hosts") else routed_hosts(facts)) or [ANY_HOST]
            for pattern in sequence(op.get("notPaths")):
                path = probe_path(str(pattern))
                if not path:
                    continue
                for host in hosts:
                    if (host, path) not in seen:
                        seen.add((host, path))
                        yield host, path, str(pattern)


def _denied(facts: Facts, workload: Workload, request: Request) -> Mapping[str, Any] | None:
    """The ALLOW policy that definitely denies the request at the workload, if one does: it surely
    applies, and no ALLOW policy that may apply there matches the request."""
    allows = facts.policies("ALLOW", workload)
    applying = [policy for policy, verdict in allows if verdict]
    if applying and authz.or_(facts.matches(p, request) for p, _ in allows) is False:
        return applying[0]
    return None
