"""Import, hardening side: the objects meshauth renders around each workload, read back.

meshauth gives oauth2-proxy, its Redis and every demo workload a ServiceAccount, a NetworkPolicy, a
PodDisruptionBudget (more than one replica) and, for oauth2-proxy and Redis, an ALLOW policy on the
callers' mTLS identity, all named after the workload (:mod:`meshauth.rendering.aspects.hardening`). Objects of those
kinds with that name and namespace are the ones meshauth's output replaces: they are accounted for
here, and any way they differ from the rendering shows in the import's differences. Objects named
otherwise stay reported as not imported.

What they carry back into the config: the gateway's service account (the principal oauth2-proxy
admits, ``ingress.serviceAccount``), and Istio CNI (``mesh.cni``, which is why namespaces enforce the
restricted Pod Security Standard) with the Kubernetes version the profile is pinned to.
"""

from __future__ import annotations

import re
from typing import Any

from meshauth.importer.context import Context, strings, walk_rules
from meshauth.importer.sources import Source
from meshauth.k8s import spec_of

_GUARD_KINDS = ("ServiceAccount", "NetworkPolicy", "PodDisruptionBudget")
_PRINCIPAL = re.compile(r"^[^/]+/ns/([^/]+)/sa/([^/]+)$")
_ENFORCE = "pod-security.kubernetes.io/enforce"
_ENFORCE_VERSION = "pod-security.kubernetes.io/enforce-version"
DEFAULT_GATEWAY_ACCOUNT = "istio-ingressgateway-service-account"


def use_guards(ctx: Context, name: str, namespace: str) -> Source | None:
    """Account for the guard objects meshauth renders for workload ``name``; return its ALLOW policy
    on mTLS identities (principals only), when there is one of that name."""
    for kind in _GUARD_KINDS:
        ctx.use(ctx.named(kind, name, namespace))
    policy = ctx.named("AuthorizationPolicy", name, namespace)
    if policy is None or not _principals_only(policy.obj):
        return None
    ctx.use(policy)
    return policy


def _principals_only(policy: dict[str, Any]) -> bool:
    rules = [rule for _, rule in walk_rules(policy)]
    return (
        spec_of(policy).get("action", "ALLOW") == "ALLOW"
        and bool(rules)
        and all(
            set(rule) == {"from"}
            and all(set((f or {}).get("source") or {}) == {"principals"} for f in rule["from"])
            for rule in rules
        )
    )


def principals(policy: Source | None) -> list[str]:
    if policy is None:
        return []
    return [
        p
        for _, rule in walk_rules(policy.obj)
        for f in rule.get("from") or []
        for p in strings(((f or {}).get("source") or {}).get("principals"))
    ]


def gateway_account(ctx: Context, policy: Source | None, gateway_namespace: str) -> str | None:
    """The service account of the gateway pods oauth2-proxy admits, when it is not istioctl's."""
    accounts = [
        match.group(2)
        for match in map(_PRINCIPAL.match, principals(policy))
        if match and match.group(1) == gateway_namespace
    ]
    if not accounts:
        return None
    if len(set(accounts)) > 1 or len(accounts) != len(principals(policy)):
        ctx.warn(
            f"oauth2-proxy admits several identities ({', '.join(principals(policy))}): meshauth "
            f"admits only the ingress gateway's, {accounts[0]}",
            policy,
        )
    return None if accounts[0] == DEFAULT_GATEWAY_ACCOUNT else accounts[0]


def pod_security(ctx: Context) -> tuple[bool, str | None]:
    """(mesh.cni, the Kubernetes version the restricted profile is pinned to), from Namespaces
    that enforce the restricted Pod Security Standard, which meshauth labels only with Istio CNI."""
    versions = [
        str(labels.get(_ENFORCE_VERSION, "")).lstrip("v")
        for source in ctx.of_kind("Namespace")
        for labels in [(source.obj.get("metadata") or {}).get("labels") or {}]
        if labels.get(_ENFORCE) == "restricted"
    ]
    if not versions:
        return False, None
    pinned = [v for v in versions if re.fullmatch(r"[0-9]+\.[0-9]+", v)]
    return True, (pinned[0] if pinned else None)


def run_as_user(pod: dict[str, Any]) -> int | None:
    """The UID a pod runs as, when its securityContext names one."""
    uid = (pod.get("securityContext") or {}).get("runAsUser")
    return uid if isinstance(uid, int) and not isinstance(uid, bool) else None
