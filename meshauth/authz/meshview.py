"""The walk of one request over a bundle's objects, hop by hop (see :mod:`meshauth.authz.simulate`).

:class:`MeshView` indexes the objects once, then follows a request from the gateway (an Istio
Gateway or a Gateway API Gateway, :mod:`meshauth.authz.routes`) over its route to the destination:
its sidecar, or in ambient mode its waypoint and ztunnel (:mod:`meshauth.authz.ambient`), noting
every step, until a hop decides. What the bundle does not say raises
:class:`~meshauth.authz.matcher.Unsupported`, which :meth:`MeshView.decide` turns into an undecided
decision naming the reason.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, NoReturn

from meshauth.authz import ambient
from meshauth.authz import matcher as authz
from meshauth.authz import requests as authz_eval
from meshauth.authz import routes as routing
from meshauth.authz.decision import Decision, Environment, Request, Step
from meshauth.authz.logins import Logins, extension_providers
from meshauth.authz.routes import Entry, Pods, Route, host_in, labels_text
from meshauth.findings import object_ref

__all__ = ["ACME_PREFIX", "MeshView", "Pods", "extension_providers", "host_in"]

ACME_PREFIX = "/.well-known/acme-challenge/"


class _Done(Exception):
    def __init__(self, decision: Decision) -> None:
        self.decision = decision


class MeshView(Logins):
    """The objects of a bundle, indexed once, and the walk of one request at a time over them."""

    def __init__(self, objects: list[Mapping[str, Any]], mesh: Mapping[str, Any], env: Environment):
        self.objects, self.mesh, self.env = objects, mesh, env
        self.steps: list[Step] = []
        self.last_allow = ""  # the ALLOW policy and rule that let the request through last
        self._kinds: dict[str, list[Mapping[str, Any]]] = {}
        self._placed: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
        for obj in objects:
            namespace = str((obj.get("metadata") or {}).get("namespace") or "")
            self._kinds.setdefault(str(obj.get("kind")), []).append(obj)
            self._placed.setdefault((str(obj.get("kind")), namespace), []).append(obj)
        self._rules: dict[int, tuple[Mapping[str, Any], authz.PolicyIndex]] = {}
        self._routes = _HostIndex(
            [vs for vs in self.kind("VirtualService") if not routing.is_gateway_api(vs)],
            lambda vs: (vs.get("spec") or {}).get("hosts") or [],
        )
        self._servers = _HostIndex(
            [
                (g, server)
                for g in self.kind("Gateway")
                if not routing.is_gateway_api(g)
                for server in (g.get("spec") or {}).get("servers") or []
            ],
            lambda pair: pair[1].get("hosts") or [],
        )
        self.k8s_gateways = [
            g
            for g in self.kind("Gateway")
            if routing.is_gateway_api(g)
            and (g.get("spec") or {}).get("gatewayClassName") != routing.WAYPOINT_CLASS
        ]
        self.http_routes = sorted(self.kind("HTTPRoute"), key=routing.route_order)
        self.namespaces = {
            str(n["metadata"]["name"]): dict(n["metadata"].get("labels") or {})
            for n in self.kind("Namespace")
        }

    def match(self, policy: Mapping[str, Any], call: authz.Call) -> int | None:
        return authz.matching_rule(policy, call, self.rule_index(policy))

    def rule_index(self, policy: Mapping[str, Any]) -> authz.PolicyIndex:
        found = self._rules.get(id(policy))
        if found is None or found[0] is not policy:  # ztunnel's views of policies come and go
            found = self._rules[id(policy)] = (policy, authz.PolicyIndex(policy))
        return found[1]

    def rules_about(self, policy: Mapping[str, Any], host: str) -> list[Mapping[str, Any]]:
        """The rules of a policy that can concern requests for ``host``."""
        rules = (policy.get("spec") or {}).get("rules") or []
        return [rules[n] or {} for n in self.rule_index(policy).candidates(host)]

    @classmethod
    def of(cls, bundle: Any, env: Environment) -> MeshView:
        objects, mesh = (bundle.objects, bundle.mesh_config) if hasattr(bundle, "objects") else bundle
        return cls(list(objects), mesh or {}, env)

    def decide(self, request: Request) -> Decision:
        self.steps, self.last_allow = [], ""
        try:
            return self.run(request)
        except _Done as done:
            return done.decision
        except (authz.Unsupported, RecursionError) as error:
            reason = str(error) if isinstance(error, authz.Unsupported) else "nested too deeply"
            self.note("simulate", "-", f"cannot decide: {reason}")
            return Decision(False, 0, "simulate", reason, None, tuple(self.steps), decided=False)

    def kind(self, kind: str, namespace: str | None = None) -> list[Mapping[str, Any]]:
        if namespace is None:
            return self._kinds.get(kind, [])
        return self._placed.get((kind, namespace), [])

    def selecting(self, kind: str, pods: Pods) -> list[Mapping[str, Any]]:
        """The policies of ``kind`` that attach to the pods' proxy (their namespace, and the root's)."""
        root = self.env.root_namespace
        candidates = self.kind(kind, pods.namespace)
        if root != pods.namespace:
            candidates = candidates + self.kind(kind, root)
        return [p for p in candidates if authz_eval.attaches(p, pods, root)]

    # --- the walk --------------------------------------------------------------------------------

    def run(self, request: Request) -> Decision:
        try:
            path = authz_eval.normalize_path(request.path)
            method = authz_eval.check_method(request.method)
        except ValueError as error:
            self.stop(False, 400, "Envoy", str(error))
        entry = self.entry_for(request)
        headers = {k.lower(): v for k, v in request.headers.items()}
        call = authz.Call(host=request.host, path=path, method=method, port=entry.port, headers=headers)
        query = request.path.split("?", 1)[1].split("#", 1)[0] if "?" in request.path else ""
        http = routing.HttpRequest(request.host, path, query, method, entry.port, headers)
        route = self.route_of(entry, http)
        token, call = self.hop("gateway", entry.pods, call, request.claims, token=None, route=route)
        backend = self.follow(entry, route)
        if backend["kind"] == "acme":
            return self.done(
                True,
                200,
                "cert-manager HTTP-01 solver",
                "the ACME challenge passes the gateway's policies",
                "ACME solver",
            )
        if backend["kind"] == "external":
            return self.done(
                True,
                200,
                self.last_allow or "no policy at the gateway",
                "allowed at the gateway; the upstream is outside the mesh",
                backend["host"],
            )
        forwarded = authz.Call(
            request.host, path, method, backend["port"], self.env.gateway_principal, headers=headers
        )
        self.workload("sidecar", backend["host"], forwarded, token)
        return self.done(
            True,
            200,
            self.last_allow or "no policy at the app",
            "allowed at the gateway and at the app",
            backend["host"],
        )

    def stop(self, allowed: bool, status: int, by: str, reason: str, dest: str | None = None) -> NoReturn:
        raise _Done(self.done(allowed, status, by, reason, dest))

    def done(self, allowed: bool, status: int, by: str, reason: str, dest: str | None) -> Decision:
        return Decision(allowed, status, by, reason, dest, tuple(self.steps))

    def note(self, hop: str, stage: str, outcome: str, policy: str = "") -> None:
        self.steps.append(Step(hop, stage, outcome, policy))

    # --- one proxy: ext_authz, jwt_authn, rbac ---------------------------------------------------

    def hop(
        self,
        hop: str,
        pods: Pods,
        call: authz.Call,
        session: Mapping[str, Any] | None,
        *,
        token: Mapping[str, Any] | None,
        route: Route | None = None,
    ) -> tuple[Mapping[str, Any] | None, authz.Call]:
        """Run one proxy's filters; return the token it passes upstream and the call as checked."""
        policies = [p for p in self.selecting("AuthorizationPolicy", pods) if authz_eval.enforced(p)]
        for policy in _action(policies, "CUSTOM"):
            rule = self.match(policy, call)
            if rule is not None:
                self.note(hop, "CUSTOM", f"rule {rule} matches: ask the provider", object_ref(policy))
                if hop == "provider":  # the check of a check: Envoy would loop until it fails
                    self.stop(
                        False,
                        403,
                        object_ref(policy),
                        "a CUSTOM policy guards the extension provider itself, so its own checks are sent to it",
                    )
                token = self.ext_authz(policy, call, session)
                break
        else:
            login = self.envoy_filter_login(pods, call, route) if hop == "gateway" else None
            if login is not None:
                filter_ref, http = login
                self.note(hop, "CUSTOM", "ext_authz of an EnvoyFilter: ask oauth2-proxy", filter_ref)
                token = self.ask_provider(filter_ref, http, call, session)
            else:
                self.note(hop, "CUSTOM", "no CUSTOM policy matches: no login check")
        token, call = self.jwt(hop, pods, call, token)
        self.rbac(hop, policies, call)
        return token, call

    def rbac(self, hop: str, policies: Sequence[Mapping[str, Any]], call: authz.Call) -> None:
        for policy in _action(policies, "DENY"):
            rule = self.match(policy, call)
            if rule is not None:
                self.note(hop, "DENY", f"rule {rule} matches", object_ref(policy))
                self.stop(False, 403, object_ref(policy), f"DENY rule {rule} matches at the {hop}")
        allow = _action(policies, "ALLOW")
        for policy in allow:
            rule = self.match(policy, call)
            if rule is not None:
                self.note(hop, "ALLOW", f"rule {rule} matches", object_ref(policy))
                self.last_allow = f"{object_ref(policy)} rule {rule}"
                return
        if allow:
            names = ", ".join(object_ref(p) for p in allow)
            self.note(hop, "ALLOW", "no ALLOW rule matches", names)
            status = 403
            self.stop(
                False,
                status,
                names,
                f"no rule of the ALLOW policies at the {hop} matches (RBAC: access denied)",
            )
        self.note(hop, "ALLOW", "no ALLOW policy: allowed")

    def jwt(
        self, hop: str, pods: Pods, call: authz.Call, token: Mapping[str, Any] | None
    ) -> tuple[Mapping[str, Any] | None, authz.Call]:
        authentications = self.selecting("RequestAuthentication", pods)
        check = authz_eval.check_token(authentications, token)
        self.note(hop, "jwt", check.reason, check.policy)
        if check.outcome == "rejected":
            self.stop(False, 401, check.policy, check.reason)
        return (token if check.forward else None), replace(call, auth=check.identity)

    # --- the destination: a sidecar, or a waypoint and ztunnel -------------------------------------

    def workload(self, hop: str, fqdn: str, call: authz.Call, token: Mapping[str, Any] | None) -> None:
        """Pass the destination's proxies: its sidecar, or in ambient mode (the gateway sends
        through the Service's waypoint where ``istio.io/ingress-use-waypoint`` says so) ztunnel."""
        pods = self.pods_of(fqdn)
        self.last_allow = ""
        namespace_labels = self.namespaces.get(pods.namespace)
        if not ambient.in_ambient(namespace_labels, pods.labels, self.env.dataplane == "ambient"):
            if not ambient.injected(namespace_labels, pods.labels):
                self.note(hop, "-", "no sidecar is injected here: nothing enforces policies", pods.name)
                return
            self.hop(hop, pods, call, None, token=token)
            return
        service = self.service(fqdn)
        waypoint = ambient.waypoint_of(service, pods.namespace, namespace_labels or {})
        if waypoint is not None and ambient.ingress_uses_waypoint(service, namespace_labels or {}):
            served = ((pods.namespace, fqdn.split(".")[0]),)
            self.hop("waypoint", ambient.waypoint_pods(*waypoint, served), call, None, token=token)
            call = replace(call, source_principal=f"cluster.local/ns/{waypoint[0]}/sa/{waypoint[1]}")
        elif waypoint is not None:
            self.note(
                "route", "route", f"the gateway does not send through waypoint {waypoint[0]}/{waypoint[1]}"
            )
        policies = [
            ambient.at_ztunnel(p)
            for p in self.selecting("AuthorizationPolicy", pods)
            if authz_eval.enforced(p)
        ]
        enforced = [p for p in policies if p is not None]
        ignored = len(policies) - len(enforced)
        self.note(
            "ztunnel",
            "L4",
            f"{len(enforced)} policies on L4 attributes" + (f", {ignored} CUSTOM ignored" if ignored else ""),
            pods.name,
        )
        self.rbac("ztunnel", enforced, replace(call, auth=None))

    def enforcers(self, fqdn: str) -> list[Pods]:
        """The proxies whose policies decide at an app reached from the gateway: its sidecar, or
        its waypoint (where the gateway sends through it) and ztunnel."""
        pods = self.pods_of(fqdn)
        namespace_labels = self.namespaces.get(pods.namespace)
        if not ambient.in_ambient(namespace_labels, pods.labels, self.env.dataplane == "ambient"):
            return [pods] if ambient.injected(namespace_labels, pods.labels) else []
        service = self.service(fqdn)
        waypoint = ambient.waypoint_of(service, pods.namespace, namespace_labels or {})
        if waypoint is not None and ambient.ingress_uses_waypoint(service, namespace_labels or {}):
            return [ambient.waypoint_pods(*waypoint, ((pods.namespace, fqdn.split(".")[0]),)), pods]
        return [pods]

    # --- routing ---------------------------------------------------------------------------------

    def entry_for(self, request: Request) -> Entry:
        serving = [
            (g, s)
            for g, s in self._servers.candidates(request.host)
            if any(host_in(h, request.host) for h in s.get("hosts") or [])
        ]
        listening = [
            (g, listener)
            for g in self.k8s_gateways
            for listener in (g.get("spec") or {}).get("listeners") or []
            if routing.specificity(listener.get("hostname"), request.host) is not None
        ]
        if serving and listening:
            raise authz.Unsupported(
                f"both {object_ref(serving[0][0])} and {object_ref(listening[0][0])} serve {request.host}: "
                "which one its DNS name points at is not in the bundle"
            )
        if listening:
            gateway = listening[0][0]
            https = [lis for g, lis in listening if g is gateway and lis.get("protocol") == "HTTPS"]
            port = request.port or (int(https[0]["port"]) if https else 80)
            found = routing.listeners_for(gateway, request.host, port)
            return Entry(gateway, routing.gateway_pods(gateway), port, found[0] if found else None)
        if not serving:
            self.stop(False, 404, "Gateway", f"no Gateway in the bundle serves {request.host}")
        port = request.port or (443 if any(s["port"]["number"] == 443 for _, s in serving) else 80)
        gateway = serving[0][0]
        on_port = [s for g, s in serving if g is gateway and s["port"]["number"] == port]
        server = max(on_port, key=lambda s: _most_specific(s, request.host), default=None)
        return Entry(gateway, routing.gateway_pods(gateway), port, server)

    def entry_or_none(self, host: str) -> Entry | None:
        """The gateway that serves the host (over HTTPS where it can), or None."""
        try:
            return self.entry_for(Request(host=host, path="/"))
        except _Done:
            return None

    def route_of(self, entry: Entry, request: routing.HttpRequest) -> Route:
        """What the gateway's router does with the request (decided before the filters run, as
        Envoy selects the route first; it acts after them)."""
        acme = entry.port == 80 and request.path.startswith(ACME_PREFIX) and self.http01_for(request.host)
        if routing.is_gateway_api(entry.gateway):
            if acme:  # cert-manager's Exact-path solver route outranks every prefix
                return Route(via="cert-manager", backend={"kind": "acme"})
            return self.gateway_api_route(entry, request)
        if entry.server is None:
            if acme:
                return Route(via="cert-manager", backend={"kind": "acme"})
            return Route(missing=f"no server for {request.host} on port {entry.port}")
        if (entry.server.get("tls") or {}).get("httpsRedirect"):
            return Route(via=object_ref(entry.gateway), redirect=301)
        meta = entry.gateway["metadata"]
        ref = f"{meta['namespace']}/{meta['name']}"
        bound = []  # VirtualServices on this Gateway for the host, by how specifically they name it
        for service in self._routes.candidates(request.host):
            spec, namespace = service.get("spec") or {}, service["metadata"]["namespace"]
            gateways = [g if "/" in g else f"{namespace}/{g}" for g in spec.get("gateways") or []]
            ranks = [routing.specificity(h, request.host) for h in spec.get("hosts") or []]
            found = [r for r in ranks if r is not None]
            if ref in gateways and found:
                bound.append((max(found), service))
        if not bound:
            return Route(missing=f"no VirtualService routes {request.host}")
        best = max(rank for rank, _ in bound)
        # one virtual host: the VirtualServices' routes merged in Istio's order (oldest, name, namespace)
        merged = sorted((s for rank, s in bound if rank == best), key=routing.virtual_service_order)
        for service in merged:
            namespace = service["metadata"]["namespace"]
            for http in (service.get("spec") or {}).get("http") or []:
                matches = http.get("match") or [{}]
                if any(routing.istio_match(m, request, ref, namespace) for m in matches):
                    return self.istio_target(service, http, namespace, entry.port)
        names = ", ".join(object_ref(s) for s in merged)
        return Route(via=names, missing=f"no route of {names} matches {request.path}")

    def istio_target(
        self, service: Mapping[str, Any], http: Mapping[str, Any], namespace: str, port: int
    ) -> Route:
        via, name = object_ref(service), str(http.get("name") or "")
        if http.get("redirect"):
            return Route(via, name, redirect=int(http["redirect"].get("redirectCode", 301)))
        if http.get("directResponse"):
            return Route(via, name, redirect=int(http["directResponse"].get("status", 200)))
        destinations = [
            d.get("destination") or {} for d in http.get("route") or [] if d.get("weight", 1) != 0
        ]
        if not destinations:
            return Route(via, name, missing="the route has no destination")
        if len({(d.get("host"), str(d.get("port"))) for d in destinations}) > 1:
            raise authz.Unsupported(f"{via}: a route split over several destinations is decided per request")
        host = _fqdn(str(destinations[0].get("host")), namespace)
        number = int((destinations[0].get("port") or {}).get("number", port))
        return Route(via, name, backend=self.backend(host, number))

    def gateway_api_route(self, entry: Entry, request: routing.HttpRequest) -> Route:
        listeners = routing.listeners_for(entry.gateway, request.host, entry.port)
        if not listeners:
            return Route(
                missing=f"no listener of {object_ref(entry.gateway)} for {request.host} on port {entry.port}"
            )
        attached = routing.attached_routes(
            entry.gateway, listeners, self.http_routes, request.host, self.namespaces
        )
        if not attached:
            return Route(missing=f"no HTTPRoute on {object_ref(entry.gateway)} serves {request.host}")
        best = max(rank for _, rank in attached)
        candidates = [
            (routing.gateway_api_order(m), n, route, rule, m)
            for n, (route, rank) in enumerate(attached)
            if rank == best
            for rule in (route.get("spec") or {}).get("rules") or [{}]
            for m in (rule or {}).get("matches") or [{}]
        ]
        candidates.sort(key=lambda c: c[0])  # stable: the routes' and rules' order breaks ties
        for _, _, route, rule, m in candidates:
            if routing.gateway_api_match(m, request):
                return self.gateway_api_target(route, rule or {}, entry.port)
        return Route(missing=f"no rule of the HTTPRoutes for {request.host} matches {request.path}")

    def gateway_api_target(self, route: Mapping[str, Any], rule: Mapping[str, Any], port: int) -> Route:
        via, namespace = object_ref(route), route["metadata"].get("namespace") or "default"
        for f in rule.get("filters") or []:
            if f.get("type") == "RequestRedirect":
                return Route(via, redirect=int((f.get("requestRedirect") or {}).get("statusCode", 302)))
        refs = [r for r in rule.get("backendRefs") or [] if r.get("weight", 1) != 0]
        if not refs:
            return Route(via, missing="the rule has no backend (500)")
        keys = {
            (r.get("group", ""), r.get("kind", "Service"), r.get("name"), r.get("namespace"), r.get("port"))
            for r in refs
        }
        if len(keys) > 1:
            raise authz.Unsupported(f"{via}: a rule split over several backends is decided per request")
        ref = refs[0]
        kind, group = ref.get("kind", "Service"), ref.get("group", "")
        number = int(ref.get("port") or port)
        if kind == "Service" and group in ("", "core"):
            host = f"{ref['name']}.{ref.get('namespace') or namespace}.svc.cluster.local"
            return Route(via, backend=self.backend(host, number))
        if kind == "Hostname" and group == "networking.istio.io":
            return Route(via, backend={"kind": "external", "host": str(ref["name"]), "port": number})
        raise authz.Unsupported(f"{via}: a backendRef of kind {group}/{kind} is not modelled")

    def backend(self, host: str, number: int) -> dict[str, Any]:
        if not host.endswith(".svc.cluster.local"):
            return {"kind": "external", "host": host, "port": number}
        return {"kind": "service", "host": host, "port": self.target_port(host, number)}

    def follow(self, entry: Entry, route: Route) -> dict[str, Any]:
        """The router's part, after the gateway's filters allowed the request."""
        if route.backend.get("kind") == "acme":
            self.note("route", "route", "ACME HTTP-01 challenge: cert-manager's solver")
        elif route.redirect:
            self.note("route", "route", f"redirect ({route.redirect})", route.via)
            self.stop(
                False,
                route.redirect,
                route.via or object_ref(entry.gateway),
                "the route answers with a redirect (plain HTTP to HTTPS)"
                if route.redirect in (301, 302, 308)
                else "the route answers directly",
            )
        elif route.missing:
            self.note("route", "route", route.missing, route.via)
            status = 500 if "500" in route.missing else 404
            self.stop(False, status, route.via or object_ref(entry.gateway), route.missing)
        else:
            self.note("route", "route", f"to {route.backend['host']}:{route.backend['port']}", route.via)
        return dict(route.backend)

    def http01_for(self, host: str) -> bool:
        for certificate in self.kind("Certificate"):
            spec = certificate.get("spec") or {}
            if any(host_in(h, host) for h in spec.get("dnsNames") or []):
                issuer = self.issuer(spec.get("issuerRef") or {}, certificate["metadata"].get("namespace"))
                solvers = ((issuer or {}).get("spec") or {}).get("acme", {}).get("solvers") or []
                if any("http01" in s for s in solvers):
                    return True
        return False

    def issuer(self, ref: Mapping[str, Any], namespace: str | None) -> Mapping[str, Any] | None:
        kind = ref.get("kind", "Issuer")
        return next(
            (
                i
                for i in self.kind(kind)
                if i["metadata"]["name"] == ref.get("name")
                and (kind == "ClusterIssuer" or i["metadata"].get("namespace") == namespace)
            ),
            None,
        )

    # --- services and pods -----------------------------------------------------------------------

    def service(self, fqdn: str) -> Mapping[str, Any] | None:
        name, _, rest = fqdn.partition(".")
        namespace = rest.split(".", 1)[0]
        return next((s for s in self.kind("Service", namespace) if s["metadata"]["name"] == name), None)

    def deployment_for(self, service: Mapping[str, Any]) -> Mapping[str, Any] | None:
        selector = (service.get("spec") or {}).get("selector") or {}
        return next(
            (
                d
                for d in self.kind("Deployment", service["metadata"].get("namespace"))
                if selector and all(pod_labels(d).get(k) == v for k, v in selector.items())
            ),
            None,
        )

    def target_port(self, fqdn: str, port: int) -> int:
        service = self.service(fqdn)
        for entry in ((service or {}).get("spec") or {}).get("ports") or []:
            if entry.get("port") == port and isinstance(entry.get("targetPort"), int):
                return int(entry["targetPort"])
        return port

    def pods_of(self, fqdn: str) -> Pods:
        namespace = fqdn.split(".")[1] if "." in fqdn else "default"
        service = self.service(fqdn)
        deployment = self.deployment_for(service) if service else None
        if deployment is not None:
            labels: Mapping[str, str] = pod_labels(deployment)
        else:  # the app's pods are not rendered: the environment says what labels they carry
            labels = self.env.service_labels.get(fqdn, {})
        return Pods(f"{namespace}/{labels_text(labels)}", namespace, labels)


# --- small readers -----------------------------------------------------------------------------------


def _action(policies: Sequence[Mapping[str, Any]], action: str) -> list[Mapping[str, Any]]:
    return [p for p in policies if ((p.get("spec") or {}).get("action") or "ALLOW") == action]


def _fqdn(host: str, namespace: str) -> str:
    return host if "." in host else f"{host}.{namespace}.svc.cluster.local"


def pod_labels(deployment: Mapping[str, Any]) -> Mapping[str, str]:
    return (((deployment.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("labels") or {}


def _most_specific(server: Mapping[str, Any], host: str) -> tuple[int, int]:
    ranks = [routing.specificity(h, host) for h in server.get("hosts") or []]
    return max((r for r in ranks if r is not None), default=(-1, 0))


class _HostIndex:
    """Objects by the hosts they name: exact names in a dict, patterns with ``*`` always tried.
    Candidates come in the objects' order and are still matched in full."""

    def __init__(self, objects: Sequence[Any], hosts_of: Any) -> None:
        self.objects = list(objects)
        self.always: list[int] = []
        self.exact: dict[str, list[int]] = {}
        for number, obj in enumerate(self.objects):
            for host in hosts_of(obj):
                name = str(host).rsplit("/", 1)[-1].lower()
                if "*" in name:
                    self.always.append(number)
                else:
                    self.exact.setdefault(name, []).append(number)

    def candidates(self, host: str) -> list[Any]:
        bare = routing.bare_host(host).lower()
        return [self.objects[n] for n in sorted({*self.always, *self.exact.get(bare, ())})]
