"""How the workloads meshauth renders are locked down: one place for every hardening decision.

The shapes (:mod:`meshauth.rendering.shapes`) ask this module for the pieces that make a pod hard
to abuse and hard to take down, for oauth2-proxy, its Redis and the demo workloads alike:

* who a workload is: a dedicated ServiceAccount without an API token, and the mTLS identity
  (``cluster.local/ns/<namespace>/sa/<account>``) that AuthorizationPolicies name;
* who may reach it: an ALLOW AuthorizationPolicy on that identity (L7, mTLS) and a NetworkPolicy
  (L3/L4, also holds when a pod has no sidecar);
* how it survives a node drain: a PodDisruptionBudget and topology spreading once it has more than
  one replica (one replica cannot be both available and evicted, so it gets neither);
* where it may run: the restricted Pod Security Standard on namespaces whose pods all comply.

Why ``cluster.local`` in principals, whatever the mesh's trust domain: in AuthorizationPolicies
Istio reads ``cluster.local`` as "the mesh's own trust domain and its aliases", so the policy keeps
working when the trust domain is renamed (Istio docs, trust domain migration).

Why the restricted profile needs ``mesh.cni``: without Istio's CNI plugin every injected pod gets
the ``istio-init`` container, which adds NET_ADMIN and NET_RAW; neither ``restricted`` nor even
``baseline`` admits that, so enforcing would block every meshed pod. With the CNI plugin the
injected containers (``istio-validation``, ``istio-proxy``) run as UID 1337 without privileges, and
pass ``restricted`` once the pod sets ``seccompProfile: RuntimeDefault``, which every pod meshauth
renders does.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from meshauth.findings import Finding

if TYPE_CHECKING:
    from meshauth.config.model import Spec

TRUST_DOMAIN = "cluster.local"  # Istio's alias for the mesh's own trust domain, in policies
HIGH_UID = 10000  # below this a UID may collide with a host user (checkov CKV_K8S_40)
# The official Redis image runs as UID 999, but needs no file it owns: its only writable path is
# /data, an emptyDir here. So it runs as a high UID of its own.
REDIS_UID = 10001
SPREAD_KEYS = ("kubernetes.io/hostname", "topology.kubernetes.io/zone")
TMP_SIZE = "64Mi"


def principal(namespace: str, service_account: str) -> str:
    """The mTLS identity of a workload as AuthorizationPolicy ``principals`` name it."""
    return f"{TRUST_DOMAIN}/ns/{namespace}/sa/{service_account}"


def pull_policy(image: str) -> str | None:
    """``Always`` for a tag (it may move; the kubelet then re-checks access to a private image);
    none (IfNotPresent) for an image pinned by digest, which cannot change."""
    return None if "@sha256:" in image else "Always"


def spread(selector: Mapping[str, str], replicas: int) -> list[dict[str, Any]]:
    """Spread replicas over nodes and zones; preferred, so a one-node test cluster still schedules."""
    if replicas < 2:
        return []
    return [
        {
            "maxSkew": 1,
            "topologyKey": key,
            "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": {"matchLabels": dict(selector)},
        }
        for key in SPREAD_KEYS
    ]


def disruption_budget(replicas: int) -> dict[str, Any] | None:
    """At most one replica evicted at a time; none with a single replica (it would block drains)."""
    return {"maxUnavailable": 1} if replicas > 1 else None


def pod_security_labels(version: str) -> dict[str, str]:
    """Namespace labels that enforce (and warn about) the restricted profile of ``version``.

    The version is pinned to the target Kubernetes minor, so that a cluster upgrade does not change
    what is enforced until the config says so.
    """
    pinned = f"v{version}"
    return {
        "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/enforce-version": pinned,
        "pod-security.kubernetes.io/warn": "restricted",
        "pod-security.kubernetes.io/warn-version": pinned,
    }


def ingress_from(namespace: str, selector: Mapping[str, str], port: int) -> dict[str, Any]:
    """A NetworkPolicy ingress rule: pods with ``selector`` labels in ``namespace``, one TCP port."""
    return {
        "from": [
            {
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}},
                "podSelector": {"matchLabels": dict(selector)},
            }
        ],
        "ports": [{"protocol": "TCP", "port": port}],
    }


# --- checkov exceptions ----------------------------------------------------------------------------
# Each one is explained in docs/security.md; the annotation says why in one line, so that whoever
# runs checkov on the output sees the reason next to the skipped check. Only rendered when the
# condition holds (an image pinned by digest gets no CKV_K8S_43 skip).


def checkov_skips(
    image: str,
    *,
    low_uid: str | None = None,
    secret_env: str | None = None,
    api_token: str | None = None,
) -> dict[str, str]:
    """``checkov.io/skipN`` annotations for the exceptions that apply to one workload: the image
    has no digest; ``low_uid``, why it runs below UID 10000; ``secret_env``, why it reads a secret
    from its environment."""
    reasons = []
    if "@sha256:" not in image:
        reasons.append(("CKV_K8S_43", "pinned by tag; set a digest in the config to pin it"))
    if low_uid:
        reasons.append(("CKV_K8S_40", low_uid))
    if secret_env:
        reasons.append(("CKV_K8S_35", secret_env))
    if api_token:
        reasons.append(("CKV_K8S_38", api_token))
    return {f"checkov.io/skip{i}": f"{check}={why}" for i, (check, why) in enumerate(reasons, 1)}


def findings(spec: Spec) -> Iterator[Finding]:
    """Warnings about hardening that the config gives up on purpose."""
    for index, app in enumerate(spec.apps):
        uid = app.deploy.run_as_user if app.deploy else None
        if uid is not None and uid < HIGH_UID:
            yield Finding(
                "config",
                "warning",
                f"the demo workload runs as UID {uid}, below {HIGH_UID}: if it ever escapes its "
                "container it shares a UID with users of the node; choose 10000 or more if the "
                "image allows it",
                path=f"spec.apps[{index}].deploy.runAsUser",
            )
    namespaces = [("spec.oauth2Proxy.namespace", spec.oauth2_proxy.namespace)]
    namespaces += [
        (f"spec.apps[{i}].namespace", a.namespace or a.name) for i, a in enumerate(spec.apps) if a.deploy
    ]
    for path, namespace in namespaces:
        if namespace == "default":
            yield Finding(
                "config",
                "warning",
                "workloads in the namespace default share it with whatever else lands there by "
                "accident, and their policies and labels with it; give them a namespace of their own",
                path=path,
            )
