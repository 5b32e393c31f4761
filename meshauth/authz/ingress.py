"""The ingress half of the walk: which gateway takes a request for a host and port, and what its
router does with it (rules in :mod:`meshauth.authz.routes`). :class:`Ingress` is a part of
:class:`~meshauth.authz.meshview.MeshView` (its object index, notes and stops)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from meshauth.authz import matcher as authz
from meshauth.authz import routes as routing
from meshauth.authz.decision import Request, Stopped
from meshauth.authz.routes import Entry, Route, host_in
from meshauth.authz.walk import Walk
from meshauth.findings import object_ref

ACME_PREFIX = "/.well-known/acme-challenge/"


class Ingress(Walk):
    """Gateways and routes, indexed by host (mixed into MeshView, which provides the rest)."""

    namespaces: dict[str, dict[str, str]]

    def index_routes(self) -> None:
        """Index the gateways and routes of the objects by the hosts they name."""
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
        self._listeners = _HostIndex(
            [(g, lis) for g in self.k8s_gateways for lis in (g.get("spec") or {}).get("listeners") or []],
            lambda pair: [pair[1].get("hostname") or "*"],
        )
        self._http_routes = _HostIndex(
            self.http_routes, lambda r: (r.get("spec") or {}).get("hostnames") or ["*"]
        )

    def entry_for(self, request: Request) -> Entry:
        serving = [
            (g, s)
            for g, s in self._servers.candidates(request.host)
            if any(host_in(h, request.host) for h in s.get("hosts") or [])
        ]
        listening = [
            (g, listener)
            for g, listener in self._listeners.candidates(request.host)
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
            found = routing.listeners_for(self.listeners_of(gateway, request.host), request.host, port)
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
        except Stopped:
            return None

    def listeners_of(self, gateway: Mapping[str, Any], host: str) -> list[Mapping[str, Any]]:
        return [lis for g, lis in self._listeners.candidates(host) if g is gateway]

    def route_of(self, entry: Entry, request: routing.HttpRequest) -> Route:
        """What the gateway's router does with the request (decided before the filters run, as
        Envoy selects the route first; it acts after them)."""
        acme = (
            entry.port == 80 and request.path.startswith(ACME_PREFIX) and self.http01_for(request.host, entry)
        )
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
                matched = next((m for m in matches if routing.istio_match(m, request, ref, namespace)), None)
                if matched is not None:
                    target = self.istio_target(service, http, namespace, entry.port)
                    path, host = routing.istio_rewrite(http, matched, request.path)
                    return replace(target, path=path, host=host)
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
        listeners = routing.listeners_for(
            self.listeners_of(entry.gateway, request.host), request.host, entry.port
        )
        if not listeners:
            return Route(
                missing=f"no listener of {object_ref(entry.gateway)} for {request.host} on port {entry.port}"
            )
        attached = routing.attached_routes(
            entry.gateway,
            listeners,
            self._http_routes.candidates(request.host),
            request.host,
            self.namespaces,
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
                target = self.gateway_api_target(route, rule or {}, entry.port)
                path, host = routing.gateway_api_rewrite(rule or {}, m, request.path)
                return replace(target, path=path, host=host)
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
            target = str(ref.get("namespace") or namespace)
            if target != namespace and not self.granted(namespace, target, str(ref["name"])):
                return Route(via, missing=f"no ReferenceGrant in {target} admits the backend (500)")
            host = f"{ref['name']}.{target}.svc.cluster.local"
            return Route(via, backend=self.backend(host, number))
        if kind == "Hostname" and group == "networking.istio.io":
            return Route(via, backend={"kind": "external", "host": str(ref["name"]), "port": number})
        raise authz.Unsupported(f"{via}: a backendRef of kind {group}/{kind} is not modelled")

    def granted(self, source: str, target: str, name: str) -> bool:
        """Does a ReferenceGrant in ``target`` admit an HTTPRoute from ``source`` to Service ``name``?"""
        for grant in self.kind("ReferenceGrant", target):
            spec = grant.get("spec") or {}
            froms = [
                f
                for f in spec.get("from") or []
                if (f.get("group"), f.get("kind"), f.get("namespace"))
                == (routing.GATEWAY_API, "HTTPRoute", source)
            ]
            tos = [
                t
                for t in spec.get("to") or []
                if t.get("group", "") in ("", "core")
                and t.get("kind") == "Service"
                and t.get("name") in (None, name)
            ]
            if froms and tos:
                return True
        return False

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

    def http01_for(self, host: str, entry: Entry) -> bool:
        """Does cert-manager answer HTTP-01 challenges for the host at this gateway? Its solver is an
        Ingress (Istio's ingress gateway serves those) or, with Gateway API, an HTTPRoute made in
        the Certificate's namespace on the solver's ``gatewayHTTPRoute.parentRefs``."""
        for certificate in self.kind("Certificate"):
            spec = certificate.get("spec") or {}
            if not any(host_in(h, host) for h in spec.get("dnsNames") or []):
                continue
            namespace = certificate["metadata"].get("namespace") or "default"
            issuer = self.issuer(spec.get("issuerRef") or {}, namespace)
            solvers = ((issuer or {}).get("spec") or {}).get("acme", {}).get("solvers") or []
            for http01 in [s["http01"] or {} for s in solvers if isinstance(s, Mapping) and "http01" in s]:
                if not routing.is_gateway_api(entry.gateway):
                    if "gatewayHTTPRoute" not in http01:
                        return True
                    continue
                solver = {"metadata": {"name": "cm-acme-http-solver", "namespace": namespace}}
                for ref in (http01.get("gatewayHTTPRoute") or {}).get("parentRefs") or []:
                    if not routing.parent_matches(ref, solver, entry.gateway):
                        continue
                    listeners = [
                        lis
                        for lis in self.listeners_of(entry.gateway, host)
                        if ref.get("sectionName") in (None, lis.get("name"))
                        and int(lis.get("port", 0)) == entry.port
                    ]
                    if any(routing.admits(lis, entry.gateway, solver, self.namespaces) for lis in listeners):
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


def _fqdn(host: str, namespace: str) -> str:
    return host if "." in host else f"{host}.{namespace}.svc.cluster.local"


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
