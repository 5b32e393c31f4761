"""What a set of manifests says, as the cross-resource rules need it.

The rules (listed in :mod:`meshauth.validation.rules.registry`) stay small by asking this module:
which extension providers the mesh configuration defines, which workloads run oauth2-proxy and
with which flags (read by :mod:`meshauth.validation.rules.proxycontainer`), which workloads are
ingress gateways, which policies apply to a workload. It reads manifests that meshauth rendered and
manifests people wrote by hand alike, so it never assumes meshauth's names.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from meshauth.authz.matcher import PolicyIndex, Request, Tri
from meshauth.files.manifests import MeshSource
from meshauth.k8s import mapping, name_of, namespace_of, pod_template, sequence
from meshauth.validation.rules.proxycontainer import Proxy, proxies_in

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job")
DEFAULT_ROOT_NAMESPACE = "istio-system"
# Labels of Istio's default ingress gateway pods; a Gateway selecting one has both.
INGRESS_LABELS = {"istio": "ingressgateway", "app": "istio-ingressgateway"}

# What a rule yields for each problem: the object (None for none), the path inside it, the message.
Hit = tuple[Mapping[str, Any] | None, str, str]


@dataclass(frozen=True)
class Provider:
    entry: Mapping[str, Any]
    source: MeshSource
    path: str  # inside source.document

    @property
    def name(self) -> str:
        return str(self.entry.get("name", ""))

    @property
    def http(self) -> Mapping[str, Any] | None:
        value = self.entry.get("envoyExtAuthzHttp")
        return value if isinstance(value, Mapping) else None

    @property
    def ext_authz(self) -> tuple[str, Mapping[str, Any]] | None:
        for key in ("envoyExtAuthzHttp", "envoyExtAuthzGrpc"):
            if isinstance(self.entry.get(key), Mapping):
                return key, self.entry[key]
        return None


@dataclass(frozen=True)
class Workload:
    """Pods a policy may apply to: a namespace and (some of) their labels."""

    namespace: str
    labels: Mapping[str, str]
    gateway: bool  # an ingress gateway: clients come from outside the mesh
    name: str = ""
    complete: bool = False  # labels are all the pod's labels (read from a pod template)
    hosts: tuple[str, ...] = ()  # for apps: the hosts VirtualServices route to them


@dataclass
class Facts:
    objects: Sequence[Mapping[str, Any]]
    mesh: Sequence[MeshSource] = ()
    istio_version: tuple[int, int] | None = None
    kubernetes_version: tuple[int, int] | None = None
    _kinds: dict[str, list[Mapping[str, Any]]] = field(default_factory=dict, repr=False)
    _indexes: dict[int, PolicyIndex] = field(default_factory=dict, repr=False)
    _applied: dict[tuple[str, int], list[tuple[Mapping[str, Any], Tri]]] = field(
        default_factory=dict, repr=False
    )

    def __post_init__(self) -> None:
        # Objects whose metadata or spec is not even a mapping are the schemas' to report.
        self.objects = [o for o in self.objects if _well_shaped(o)]
        kinds: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
        for obj in self.objects:
            kinds[str(obj.get("kind"))].append(obj)
        self._kinds = dict(kinds)

    def of_kind(self, *kinds: str) -> list[Mapping[str, Any]]:
        return [obj for kind in kinds for obj in self._kinds.get(kind, ())]

    # --- mesh configuration ------------------------------------------------------------------

    @property
    def mesh_known(self) -> bool:
        return bool(self.mesh)

    @cached_property
    def providers(self) -> list[Provider]:
        found = []
        for source in self.mesh:
            for index, entry in enumerate(sequence(source.config.get("extensionProviders"))):
                if isinstance(entry, Mapping):
                    found.append(Provider(entry, source, f"{source.path}.extensionProviders[{index}]"))
        return found

    @cached_property
    def root_namespace(self) -> str:
        for source in self.mesh:
            if source.config.get("rootNamespace"):
                return str(source.config["rootNamespace"])
        return DEFAULT_ROOT_NAMESPACE

    # --- oauth2-proxy -------------------------------------------------------------------------

    @cached_property
    def proxies(self) -> list[Proxy]:
        return [proxy for obj in self.of_kind(*WORKLOAD_KINDS, "Pod") for proxy in proxies_in(obj)]

    def selects_proxy(self, service: Mapping[str, Any]) -> bool:
        selector = mapping(mapping(service.get("spec")).get("selector"))
        return bool(selector) and any(
            namespace_of(service) == proxy.namespace and _subset(selector, proxy.pod_labels)
            for proxy in self.proxies
        )

    def is_proxy_provider(self, provider: Provider) -> bool:
        """An ext_authz provider that is (very likely) oauth2-proxy."""
        found = provider.ext_authz
        if found is None:
            return False
        service = self.service_for(str(found[1].get("service", "")))
        if service is not None and self.selects_proxy(service):
            return True
        return "oauth2" in provider.name.lower() or "oauth2" in str(found[1].get("service", "")).lower()

    # --- services and workloads ----------------------------------------------------------------

    def service(self, namespace: str, name: str) -> Mapping[str, Any] | None:
        return self._services.get((namespace, name))

    @cached_property
    def _services(self) -> dict[tuple[str, str], Mapping[str, Any]]:
        found: dict[tuple[str, str], Mapping[str, Any]] = {}
        for obj in self.of_kind("Service"):
            if name_of(obj):  # a Service without a name is the schemas' to report; no host names it
                found.setdefault((namespace_of(obj), name_of(obj)), obj)
        return found

    def service_for(self, host: str, default_namespace: str = "") -> Mapping[str, Any] | None:
        """The Service a host names; None when the host leaves its name or namespace open.
        (A Service's namespace is never empty: :func:`namespace_of` defaults it.)"""
        name, namespace = service_host(host, default_namespace)
        return self.service(namespace, name)

    @cached_property
    def gateway_workloads(self) -> list[Workload]:
        """Ingress gateway pods: per Gateway selector, in the Gateway's namespace and in every
        namespace whose policies select those labels (gateway pods often run elsewhere)."""
        selectors = [
            (
                namespace_of(g),
                {str(k): str(v) for k, v in mapping(mapping(g.get("spec")).get("selector")).items()},
            )
            for g in self.of_kind("Gateway")
            if str(g.get("apiVersion", "")).startswith("networking.istio.io/")
        ] or [(self.root_namespace, dict(INGRESS_LABELS))]
        found: dict[tuple[str, tuple[tuple[str, str], ...]], Workload] = {}
        for namespace, selector in selectors:
            if any(selector.get(k) == v for k, v in INGRESS_LABELS.items()):
                selector = {**INGRESS_LABELS, **selector}
            # Istio applies a Gateway to matching pods in any namespace: where they run is where
            # the manifests deploy them, else where policies select them, else the Gateway's own.
            where = self._namespaces_running(selector) or self._namespaces_selecting(selector) or [namespace]
            for ns in where:
                found.setdefault(
                    (ns, tuple(sorted(selector.items()))), Workload(ns, selector, True, "ingress")
                )
        return list(found.values())

    def _namespaces_running(self, labels: Mapping[str, str]) -> list[str]:
        found = []
        for namespace, workloads in self._workloads_by_namespace.items():
            for obj in workloads:
                pod_labels = mapping(mapping(pod_template(obj).get("metadata")).get("labels"))
                if labels and _subset(labels, pod_labels):
                    found.append(namespace)
        return sorted(set(found))

    def _namespaces_selecting(self, labels: Mapping[str, str]) -> list[str]:
        found = []
        for policy in self.of_kind("AuthorizationPolicy", "RequestAuthentication"):
            wanted = mapping(mapping(mapping(policy.get("spec")).get("selector")).get("matchLabels"))
            if wanted and _subset(wanted, labels):
                found.append(namespace_of(policy))
        return sorted(set(found))

    @cached_property
    def app_workloads(self) -> list[Workload]:
        """Workloads the VirtualServices bound to a gateway route to, with the hosts routed."""
        found: dict[tuple[str, str], Workload] = {}
        for vs in self.of_kind("VirtualService"):
            hosts = tuple(str(h).lower() for h in sequence(mapping(vs.get("spec")).get("hosts")))
            for host in _destination_hosts(vs):
                service = self.service_for(host, namespace_of(vs))
                if service is None:
                    continue
                selector = mapping(mapping(service.get("spec")).get("selector"))
                if not selector:  # endpoints kept by hand: which pods is not known
                    continue
                key = (namespace_of(service), name_of(service))
                known = found.get(key)
                labels, complete = self._pod_labels(key[0], selector)
                merged = tuple(dict.fromkeys((*(known.hosts if known else ()), *hosts)))
                found[key] = Workload(key[0], labels, False, key[1], complete, merged)
        return list(found.values())

    def routed_workloads(self, host: str, path: str) -> list[Workload]:
        """The app workloads a request for ``host`` and ``path`` is routed to: of the gateway
        VirtualServices' HTTP routes for the host, the ones whose match is the most specific."""
        best = (0, 0)  # the score of the least specific route that takes the path
        chosen: list[Workload] = []
        for vs in self.of_kind("VirtualService"):
            spec = mapping(vs.get("spec"))
            hosts = [str(h).lower() for h in sequence(spec.get("hosts"))]
            if not any(_host_covers(h, host) for h in hosts):
                continue
            for route in sequence(spec.get("http")):
                score = _route_score(mapping(route), path)
                if score is None or score < best:
                    continue
                workloads = [
                    w
                    for d in sequence(mapping(route).get("route"))
                    for w in self._workloads_of_host(
                        str(mapping(mapping(d).get("destination")).get("host", "")), namespace_of(vs)
                    )
                ]
                chosen = workloads if score > best else chosen + workloads
                best = score
        return list({(w.namespace, w.name): w for w in chosen}.values())

    def _workloads_of_host(self, host: str, default_namespace: str) -> list[Workload]:
        name, namespace = service_host(host, default_namespace)
        return [w for w in self.app_workloads if (w.namespace, w.name) == (namespace, name)]

    def sidecarless(self, namespace: str) -> bool:
        """The manifests define the namespace, with no sidecar injection nor ambient mode, and not
        every workload in it opts in: Istio enforces no policy on its pods."""
        ns = next((n for n in self.of_kind("Namespace") if name_of(n) == namespace), None)
        return ns is not None and not injected(ns) and not self._all_workloads_opt_in(namespace)

    def _all_workloads_opt_in(self, namespace: str) -> bool:
        workloads = [o for o in self._workloads_by_namespace.get(namespace, ()) if o.get("kind") != "Job"]
        labels = [mapping(mapping(pod_template(o).get("metadata")).get("labels")) for o in workloads]
        return bool(workloads) and all(
            str(label.get("sidecar.istio.io/inject")) == "true" for label in labels
        )

    @cached_property
    def app_namespaces(self) -> set[str]:
        """Namespaces of the Services that VirtualServices route to."""
        found = set()
        for vs in self.of_kind("VirtualService"):
            for host in _destination_hosts(vs):
                _, namespace = service_host(host, namespace_of(vs))
                if namespace:
                    found.add(namespace)
        return found

    def _pod_labels(self, namespace: str, selector: Mapping[str, str]) -> tuple[dict[str, str], bool]:
        for obj in self._workloads_by_namespace.get(namespace, ()):
            labels = mapping(mapping(pod_template(obj).get("metadata")).get("labels"))
            if _subset(selector, labels):
                return dict(labels), True
        return dict(selector), False

    @cached_property
    def _workloads_by_namespace(self) -> dict[str, list[Mapping[str, Any]]]:
        found: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
        for obj in self.of_kind(*WORKLOAD_KINDS):
            found[namespace_of(obj)].append(obj)
        return dict(found)

    @cached_property
    def _policies_by_namespace(self) -> dict[str, list[Mapping[str, Any]]]:
        found: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
        for policy in self.of_kind("AuthorizationPolicy"):
            found[namespace_of(policy)].append(policy)
        return dict(found)

    def applies(self, policy: Mapping[str, Any], workload: Workload) -> Tri:
        """Whether a policy (AuthorizationPolicy, RequestAuthentication) applies to the workload."""
        spec = mapping(policy.get("spec"))
        namespace = namespace_of(policy)
        if namespace not in (workload.namespace, self.root_namespace):
            return False
        if spec.get("targetRef") or spec.get("targetRefs"):
            return None
        wanted = mapping(mapping(spec.get("selector")).get("matchLabels"))
        verdicts: list[Tri] = []
        for key, value in wanted.items():
            if key in workload.labels:
                verdicts.append(workload.labels[key] == value)
            else:
                verdicts.append(False if workload.complete else None)
        from meshauth.authz.matcher import and_

        return and_(verdicts)

    def matches(self, policy: Mapping[str, Any], request: Request) -> Tri:
        """Whether the policy matches the request (its rules indexed once per policy)."""
        index = self._indexes.get(id(policy))
        if index is None:
            index = self._indexes[id(policy)] = PolicyIndex(policy)
        return index.matches(request)

    def policies(self, action: str, workload: Workload) -> list[tuple[Mapping[str, Any], Tri]]:
        """AuthorizationPolicies with that action (ALLOW when unset) and whether they apply."""
        key = (action, id(workload))
        if key not in self._applied:
            self._applied[key] = self._policies(action, workload)
        return self._applied[key]

    def _policies(self, action: str, workload: Workload) -> list[tuple[Mapping[str, Any], Tri]]:
        found: list[tuple[Mapping[str, Any], Tri]] = []
        scopes = dict.fromkeys((workload.namespace, self.root_namespace))
        for policy in (p for ns in scopes for p in self._policies_by_namespace.get(ns, ())):
            if str(mapping(policy.get("spec")).get("action") or "ALLOW") != action:
                continue
            verdict = self.applies(policy, workload)
            if verdict is not False:
                found.append((policy, verdict))
        return found


# --- object helpers ----------------------------------------------------------------------------------


def service_host(host: str, default_namespace: str = "") -> tuple[str, str]:
    """``[ns/]name.ns.svc.cluster.local`` (or ``name.ns``, ``name``) -> (name, namespace)."""
    namespace, _, hostname = host.rpartition("/")
    parts = hostname.split(".")
    if len(parts) >= 2 and (len(parts) == 2 or parts[2] == "svc"):
        return parts[0], parts[1]
    if len(parts) == 1:
        return parts[0], namespace or default_namespace
    return "", ""


def _destination_hosts(vs: Mapping[str, Any]) -> Iterator[str]:
    spec = mapping(vs.get("spec"))
    for route_kind in ("http", "tls", "tcp"):
        for route in sequence(spec.get(route_kind)):
            for destination in sequence(mapping(route).get("route")):
                host = mapping(mapping(destination).get("destination")).get("host")
                if isinstance(host, str):
                    yield host


def injected(namespace: Mapping[str, Any]) -> bool:
    """A Namespace whose pods get a sidecar (istio-injection, istio.io/rev) or run in ambient mode."""
    labels = mapping(mapping(namespace.get("metadata")).get("labels"))
    return (
        labels.get("istio-injection") == "enabled"
        or ("istio.io/rev" in labels and labels.get("istio-injection") != "disabled")
        or labels.get("istio.io/dataplane-mode") == "ambient"
    )


def _host_covers(pattern: str, host: str) -> bool:
    if pattern in ("*", host):
        return True
    return pattern.startswith("*.") and host.endswith(pattern[1:])


def _route_score(route: Mapping[str, Any], path: str) -> tuple[int, int] | None:
    """How specifically an HTTP route's matches take ``path`` (None: they do not)."""
    matches = [mapping(m) for m in sequence(route.get("match"))]
    if not matches:
        return (0, 0)
    scores = []
    for match in matches:
        uri = mapping(match.get("uri"))
        if not uri:
            scores.append((0, 0))
        elif isinstance(uri.get("exact"), str) and uri["exact"] == path:
            scores.append((3, len(path)))
        elif isinstance(uri.get("prefix"), str) and path.startswith(uri["prefix"]):
            scores.append((2, len(uri["prefix"])))
        elif isinstance(uri.get("regex"), str) and _regex_matches(uri["regex"], path):
            scores.append((1, 0))
    return max(scores) if scores else None


def _regex_matches(pattern: str, path: str) -> bool:
    try:
        return re.fullmatch(pattern, path) is not None
    except re.error:
        return False


def _subset(small: Mapping[str, Any], big: Mapping[str, Any]) -> bool:
    return all(big.get(k) == v for k, v in small.items())


def _well_shaped(obj: Mapping[str, Any]) -> bool:
    return all(isinstance(obj.get(key, {}), Mapping) for key in ("metadata", "spec"))
