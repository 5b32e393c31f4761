"""Rules on where policies and routes attach (the ambient mesh, Gateway API, workload selectors):
policies and routes that would silently not apply."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from meshauth.k8s import mapping, name_of, namespace_of, pod_template, sequence
from meshauth.validation.rules.facts import Facts, Hit

AMBIENT = "istio.io/dataplane-mode"
USE_WAYPOINT = "istio.io/use-waypoint"
INGRESS_USE_WAYPOINT = "istio.io/ingress-use-waypoint"
GATEWAY_GROUP = "gateway.networking.k8s.io"
POLICY_KINDS = ("AuthorizationPolicy", "RequestAuthentication")
L7_OPERATION_FIELDS = ("hosts", "notHosts", "paths", "notPaths", "methods", "notMethods", "ports")
# Objects that run pods, and the labels of those pods (the pod template's; a Pod's own).
POD_KINDS = (
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "ReplicationController",
    "Job",
    "CronJob",
    "Pod",
    "Rollout",  # Argo Rollouts: a Deployment's pod template
)
# Pod labels that Kubernetes or Istio add when they create the pods (never in a pod template), and
# those of the gateway pods Istio deploys for a Gateway API Gateway: a selector on them cannot be
# judged from the manifests.
ADDED_POD_LABELS = frozenset(
    {
        "pod-template-hash",
        "controller-revision-hash",
        "statefulset.kubernetes.io/pod-name",
        "apps.kubernetes.io/pod-index",
        "job-name",
        "controller-uid",
        "batch.kubernetes.io/job-name",
        "batch.kubernetes.io/controller-uid",
        "security.istio.io/tlsMode",
        "service.istio.io/canonical-name",
        "service.istio.io/canonical-revision",
        "gateway.networking.k8s.io/gateway-name",
        "istio.io/gateway-name",
    }
)
MANAGED_BY = "app.kubernetes.io/managed-by"


def _namespaces(facts: Facts) -> dict[str, Mapping[str, str]]:
    return {
        str(mapping(ns.get("metadata")).get("name")): mapping(mapping(ns.get("metadata")).get("labels"))
        for ns in facts.of_kind("Namespace")
    }


def _ambient(labels: Mapping[str, str]) -> bool:
    return labels.get(AMBIENT) == "ambient" and labels.get("istio-injection") != "enabled"


def _is_l7(policy: Mapping[str, Any]) -> bool:
    """True when ztunnel (L4 only) cannot enforce the policy."""
    spec = mapping(policy.get("spec"))
    if policy.get("kind") == "RequestAuthentication" or spec.get("action") in ("CUSTOM", "AUDIT"):
        return True
    for r in sequence(spec.get("rules")):
        sources = [mapping(mapping(f).get("source")) for f in sequence(mapping(r).get("from"))]
        operations = [mapping(mapping(t).get("operation")) for t in sequence(mapping(r).get("to"))]
        if any("requestPrincipals" in s or "notRequestPrincipals" in s for s in sources):
            return True
        if any(field in op for op in operations for field in L7_OPERATION_FIELDS if field != "ports"):
            return True
        if any(
            str(c.get("key", "")).startswith("request.")
            for c in map(mapping, sequence(mapping(r).get("when")))
        ):
            return True
    return False


def l7_policy_at_ztunnel(facts: Facts) -> Iterator[Hit]:
    """In a namespace in the ambient mesh (`istio.io/dataplane-mode: ambient`, without
    sidecar injection), a policy without `targetRefs` is enforced by ztunnel, which sees only L4. A
    RequestAuthentication, a CUSTOM or AUDIT policy, or an ALLOW/DENY rule on request principals, hosts,
    paths, methods or `request.*` conditions cannot be checked there: ztunnel ignores the
    RequestAuthentication, and an ALLOW policy with such rules denies every request. Judged only for
    namespaces whose Namespace object is in the manifests.

    Fix: attach the policy to the namespace's waypoint (`targetRefs` to its Gateway) or to the app's
    Service, and enroll the namespace in the waypoint (see MA071).
    """
    namespaces = _namespaces(facts)
    for policy in facts.of_kind(*POLICY_KINDS):
        labels = namespaces.get(namespace_of(policy, ""))
        spec = mapping(policy.get("spec"))
        if labels is None or not _ambient(labels) or spec.get("targetRefs") or spec.get("targetRef"):
            continue
        if _is_l7(policy):
            yield (
                policy,
                "spec.selector",
                (
                    f"{namespace_of(policy, '')} is in the ambient mesh, where a policy without "
                    "targetRefs is enforced by ztunnel, which only sees L4: it cannot check tokens, "
                    "paths or hosts (an ALLOW policy with such rules denies every request, a "
                    "RequestAuthentication is ignored). Attach it to the namespace's waypoint or the "
                    "app's Service with targetRefs"
                ),
            )


def target_without_waypoint(facts: Facts) -> Iterator[Hit]:
    """A policy with `targetRefs` to a Service, or to a waypoint Gateway
    (`gatewayClassName: istio-waypoint`), is enforced only by a waypoint. If the namespace is not
    enrolled in one (`istio.io/use-waypoint` is not set), nothing applies the policy. If it is enrolled
    but lacks `istio.io/ingress-use-waypoint: "true"`, requests from the ingress gateway go straight to
    the pods, past the waypoint, and the policy does not apply to them: the login can be bypassed.
    Judged only for namespaces whose Namespace object is in the manifests.

    Fix: label the namespace `istio.io/use-waypoint: <waypoint name>` and
    `istio.io/ingress-use-waypoint: "true"`.
    """
    namespaces = _namespaces(facts)
    for policy in facts.of_kind(*POLICY_KINDS):
        namespace = namespace_of(policy, "")
        labels = namespaces.get(namespace)
        if labels is None:
            continue  # a namespace meshauth does not render: nothing to judge by
        for index, ref in enumerate(map(mapping, sequence(mapping(policy.get("spec")).get("targetRefs")))):
            waypoint = _waypoint_gateway(facts, namespace, ref)
            if ref.get("kind") != "Service" and not waypoint:
                continue
            if not labels.get(USE_WAYPOINT):
                yield (
                    policy,
                    f"spec.targetRefs[{index}]",
                    (
                        f"namespace {namespace} is not enrolled in a waypoint ({USE_WAYPOINT} is not "
                        f"set), so nothing enforces this policy for {ref.get('kind')} "
                        f"{ref.get('name')}: label the namespace with the waypoint's name"
                    ),
                )
            elif not labels.get(INGRESS_USE_WAYPOINT) == "true":
                yield (
                    policy,
                    f"spec.targetRefs[{index}]",
                    (
                        f'namespace {namespace} lacks {INGRESS_USE_WAYPOINT}: "true", so requests '
                        "from the ingress gateway go straight to the pods, past the waypoint, and "
                        "this policy does not apply to them"
                    ),
                )


def _waypoint_gateway(facts: Facts, namespace: str, ref: Mapping[str, Any]) -> bool:
    if ref.get("kind") != "Gateway" or ref.get("group") != GATEWAY_GROUP:
        return False
    return any(
        namespace_of(g, "") == namespace
        and mapping(g.get("metadata")).get("name") == ref.get("name")
        and mapping(g.get("spec")).get("gatewayClassName") == "istio-waypoint"
        for g in facts.of_kind("Gateway")
    )


def _gateway_api_gateways(facts: Facts) -> dict[tuple[str, str], Mapping[str, Any]]:
    return {
        (namespace_of(g, ""), str(mapping(g.get("metadata")).get("name"))): g
        for g in facts.of_kind("Gateway")
        if str(g.get("apiVersion", "")).startswith(GATEWAY_GROUP + "/")
    }


def target_gateway_missing(facts: Facts) -> Iterator[Hit]:
    """The manifests contain Gateway API Gateways, and a policy's `targetRefs` names a
    Gateway in its own namespace that is not among them (a typo, or a Gateway in another namespace:
    `targetRefs` cannot cross namespaces). A policy attached to a Gateway that does not exist applies to
    nothing. A warning, since the Gateway may be managed outside meshauth.

    Fix: name the Gateway as rendered, and put the policy in the Gateway's namespace.
    """
    gateways = _gateway_api_gateways(facts)
    if not gateways:
        return
    for policy in facts.of_kind(*POLICY_KINDS):
        for index, ref in enumerate(map(mapping, sequence(mapping(policy.get("spec")).get("targetRefs")))):
            if (
                ref.get("kind") == "Gateway"
                and (namespace_of(policy, ""), str(ref.get("name"))) not in gateways
            ):
                yield (
                    policy,
                    f"spec.targetRefs[{index}]",
                    (
                        f"Gateway {namespace_of(policy, '')}/{ref.get('name')} is not in this bundle; a "
                        "policy attached to a Gateway that does not exist applies to nothing"
                    ),
                )


def route_not_admitted(facts: Facts) -> Iterator[Hit]:
    """An HTTPRoute's `parentRefs` entry names a Gateway in the manifests and a
    `sectionName`, and that listener does not admit the route: the Gateway has no listener of that
    name, the listener's `hostname` is not among the route's `hostnames`, or its
    `allowedRoutes.namespaces` (`Same` by default, or a `Selector` the route's namespace labels do not
    match) leaves the route's namespace out. The route is not attached, and its hosts answer 404.

    Fix: use the listener's name, add its hostname to the route, or let the listener admit the route's
    namespace (`from: All`, or a selector the namespace matches).
    """
    gateways = _gateway_api_gateways(facts)
    namespaces = _namespaces(facts)
    for route in facts.of_kind("HTTPRoute"):
        spec = mapping(route.get("spec"))
        for index, parent in enumerate(map(mapping, sequence(spec.get("parentRefs")))):
            gateway = gateways.get(
                (str(parent.get("namespace") or namespace_of(route, "")), str(parent.get("name")))
            )
            if gateway is None or not parent.get("sectionName"):
                continue
            problem = _listener_problem(gateway, parent["sectionName"], route, spec, namespaces)
            if problem:
                yield route, f"spec.parentRefs[{index}]", problem + "; the route is not attached"


def _listener_problem(
    gateway: Mapping[str, Any],
    section: str,
    route: Mapping[str, Any],
    spec: Mapping[str, Any],
    namespaces: Mapping[str, Mapping[str, str]],
) -> str | None:
    listener = next(
        (
            x
            for x in sequence(mapping(gateway.get("spec")).get("listeners"))
            if mapping(x).get("name") == section
        ),
        None,
    )
    if listener is None:
        return f"Gateway {name_of(gateway)} has no listener {section}"
    hostname = listener.get("hostname")
    if hostname and sequence(spec.get("hostnames")) and hostname not in sequence(spec.get("hostnames")):
        return f"listener {section} serves {hostname}, which is not among the route's hostnames"
    allowed = mapping(mapping(listener.get("allowedRoutes")).get("namespaces"))
    namespace = namespace_of(route, "")
    if allowed.get("from", "Same") == "Same" and namespace != namespace_of(gateway, ""):
        return f"listener {section} only admits routes from {namespace_of(gateway, '')}"
    if allowed.get("from") == "Selector":
        wanted = mapping(mapping(allowed.get("selector")).get("matchLabels")).items()
        labels = {**namespaces.get(namespace, {}), "kubernetes.io/metadata.name": namespace}
        if any(labels.get(k) != v for k, v in wanted):
            return f"listener {section} does not admit routes from namespace {namespace}"
    return None


def selector_matches_a_workload(facts: Facts) -> Iterator[Hit]:
    """An AuthorizationPolicy or RequestAuthentication in an app's namespace selects pods with
    `selector.matchLabels`, and no workload of that namespace in the manifests (the pod template
    labels of a Deployment, StatefulSet, DaemonSet, Job, CronJob, Pod, ...) has those labels: a typo,
    or the app's pods are labelled differently. The policy then applies to nothing: without another
    ALLOW policy on them, the app's pods accept every request, including calls from inside the mesh
    that never passed the login; a DENY policy denies nothing; a RequestAuthentication checks no
    token. The login at the gateway hides this: the app looks protected. Judged only for
    namespaces where the manifests have workloads other than the ones meshauth renders (a bundle
    from `meshauth render` alone has none of your apps), and not for policies without a selector
    (they apply to the whole namespace), in the root namespace, selecting ingress gateway pods, or
    on labels the cluster adds to pods (such as `pod-template-hash`). A warning, since the workload
    may be deployed from elsewhere.

    Fix: use the labels of the app's pod template in `selector.matchLabels`; in meshauth.yaml that
    is `apps[].selector` (default `app: <name>`).
    """
    pods: dict[str, list[tuple[Mapping[str, Any], bool]]] = {}
    for obj in facts.of_kind(*POD_KINDS):
        labels = mapping(mapping(pod_template(obj).get("metadata")).get("labels"))
        ours = mapping(mapping(obj.get("metadata")).get("labels")).get(MANAGED_BY) == "meshauth"
        pods.setdefault(namespace_of(obj), []).append((labels, ours))
    for policy in facts.of_kind(*POLICY_KINDS):
        spec = mapping(policy.get("spec"))
        wanted = mapping(mapping(spec.get("selector")).get("matchLabels"))
        namespace = namespace_of(policy)
        workloads = pods.get(namespace, [])
        if (
            not wanted
            or spec.get("targetRef")
            or spec.get("targetRefs")
            or namespace == facts.root_namespace
            or ADDED_POD_LABELS & set(wanted)
            or all(ours for _, ours in workloads)  # none at all, or only meshauth's own
            or any(_selects(wanted, w.labels) for w in facts.gateway_workloads if w.namespace == namespace)
            or any(_selects(wanted, labels) for labels, _ in workloads)
        ):
            continue
        selector = ", ".join(f"{k}: {v}" for k, v in wanted.items())
        yield (
            policy,
            "spec.selector.matchLabels",
            (
                f"{policy.get('kind')} {namespace}/{name_of(policy)} selects "
                f"{{{selector}}}, but no workload of namespace {namespace} in these manifests has "
                "those pod labels, so the policy applies to nothing. Use the labels of the app's "
                "pod template (in meshauth.yaml: apps[].selector, default app: <name>)"
            ),
        )


def _selects(wanted: Mapping[str, Any], labels: Mapping[str, Any]) -> bool:
    return all(k in labels and str(labels[k]) == str(v) for k, v in wanted.items())
