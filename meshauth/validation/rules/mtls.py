"""Rules on mutual TLS: STRICT mode needs sidecars in every namespace the login setup relies on."""

from __future__ import annotations

from collections.abc import Iterator

from meshauth.k8s import mapping, name_of, namespace_of
from meshauth.validation.rules.facts import Facts, Hit


def strict_mtls_needs_sidecars(facts: Facts) -> Iterator[Hit]:
    """A PeerAuthentication makes mTLS STRICT (mesh-wide in the root namespace, or in the
    namespace), and a namespace that runs oauth2-proxy, an app routed from the gateway, a workload a
    RequestAuthentication or AuthorizationPolicy selects, or a workload meshauth rendered has no
    sidecar injection (`istio-injection: enabled`, `istio.io/rev`, or ambient mode), unless every
    workload in it opts in with the `sidecar.istio.io/inject: "true"` label. Its pods' plain-text
    calls to meshed workloads are refused, and the app's RequestAuthentication and AuthorizationPolicy
    are not enforced: other pods reach it without any login. Judged only for namespaces whose
    Namespace object is in the manifests.

    Fix: label the namespace `istio-injection: enabled` (or `istio.io/rev: <revision>`) and restart
    its pods.
    """
    namespaces = {name_of(n): n for n in reversed(list(facts.of_kind("Namespace")))}
    for namespace in sorted(_meshauth_namespaces(facts)):
        if _mtls_mode(facts, namespace) != "STRICT":
            continue
        ns = namespaces.get(namespace)  # the first Namespace of that name, as before
        if ns is None or not facts.sidecarless(namespace):
            continue
        yield (
            ns,
            "metadata.labels",
            (
                f"namespace {namespace} runs meshauth workloads (oauth2-proxy or an app) but has no "
                "sidecar injection, while mTLS is STRICT: its pods' plain-text calls to meshed "
                "workloads are refused, and the app's own RequestAuthentication and "
                "AuthorizationPolicy are not enforced. Label it istio-injection: enabled (or "
                "istio.io/rev) and restart its pods"
            ),
        )


def _mtls_mode(facts: Facts, namespace: str) -> str | None:
    mode = None
    for scope in (facts.root_namespace, namespace):
        for pa in facts.of_kind("PeerAuthentication"):
            spec = mapping(pa.get("spec"))
            if namespace_of(pa) == scope and not mapping(spec.get("selector")).get("matchLabels"):
                found = mapping(spec.get("mtls")).get("mode")
                mode = found if found and found != "UNSET" else mode
    return mode


def _meshauth_namespaces(facts: Facts) -> set[str]:
    """Namespaces whose workloads the login setup needs meshed: oauth2-proxy's, the apps' (routed
    from a gateway, or guarded by a workload policy), and those of workloads meshauth rendered."""
    found = {p.namespace for p in facts.proxies} | facts.app_namespaces
    for policy in facts.of_kind("AuthorizationPolicy", "RequestAuthentication"):
        if mapping(mapping(mapping(policy.get("spec")).get("selector")).get("matchLabels")):
            found.add(namespace_of(policy))
    for obj in facts.of_kind("Deployment", "StatefulSet", "DaemonSet"):
        if (
            mapping(mapping(obj.get("metadata")).get("labels")).get("app.kubernetes.io/managed-by")
            == "meshauth"
        ):
            found.add(namespace_of(obj))
    return found - {w.namespace for w in facts.gateway_workloads} - {facts.root_namespace}
