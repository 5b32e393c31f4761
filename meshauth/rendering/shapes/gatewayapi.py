"""``ingress.api: gateway-api``: a Gateway API Gateway, an HTTPRoute per app, targetRefs policies.

* The Gateway (class ``ingress.gatewayClass``, Istio deploys its pods) has one HTTPS listener per
  host, terminating TLS with the Secret of the site's cert-manager Certificate (same namespace as
  the Gateway, so no ReferenceGrant is needed). Each listener admits routes only from the namespace
  of the app it serves (``allowedRoutes`` selects ``kubernetes.io/metadata.name``).
* Port 80 has one listener, ``http``, for routes in the Gateway's namespace: cert-manager's HTTP-01
  solver route (``gatewayHTTPRoute``; cert-manager needs its Gateway API support enabled) or, with
  DNS-01, meshauth's redirect to HTTPS. Without tls, each host gets a plain-HTTP listener instead.
* Each app's HTTPRoute lives in the app's namespace next to its Service (no ReferenceGrant), and
  names its listeners by ``sectionName``. An external service's route lives in the Gateway's
  namespace and sends to the ServiceEntry host (``networking.istio.io`` ``Hostname`` backend).
* The gateway's token check, login and access policies attach to the Gateway with ``targetRefs``
  (Istio 1.22+, checked when the config loads).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from meshauth.compat.versions import GATEWAY_API_GROUP, GATEWAY_API_VERSION
from meshauth.rendering.context import Planned, RenderContext
from meshauth.rendering.shapes.cluster import certificates

if TYPE_CHECKING:
    from meshauth.config.model import App, ExternalService

HTTP_LISTENER = "http"


class GatewayApiIngress:
    def __init__(self, ctx: RenderContext) -> None:
        self.ctx = ctx
        self.ingress = ctx.spec.ingress

    # --- what the plan asks ---------------------------------------------------------------------

    def attach(self) -> dict[str, Any]:
        return {"target_refs": [self.gateway_ref()]}

    def http01_solver(self) -> tuple[dict[str, Any], list[Planned]]:
        parent = {**self.gateway_ref(), "namespace": self.ingress.namespace, "sectionName": HTTP_LISTENER}
        return {"http01": {"gatewayHTTPRoute": {"parentRefs": [parent]}}}, []

    def gateway(self) -> Iterator[Planned]:
        ctx = self.ctx
        yield Planned(
            "gatewayapi-gateway.yaml.j2",
            {
                "api_version": GATEWAY_API_VERSION,
                "meta": ctx.meta(self.ingress.gateway, self.ingress.namespace),
                "gateway_class": self.ingress.gateway_class,
                "listeners": self.listeners(),
            },
        )
        yield from certificates(ctx)
        if ctx.spec.tls is not None and not ctx.http01:
            yield self.redirect_route()

    def route(self, app: App, public_route: Callable[..., dict[str, Any] | None]) -> Iterator[Planned]:
        """The app's HTTPRoute (the login is a CUSTOM policy here: there is no public route)."""
        assert app.namespace and app.service.name
        yield self.http_route(
            f"{self.ctx.name}-{app.name}",
            app.namespace,
            app,
            backend={"name": app.service.name, "port": app.service.port},
            path_prefix=app.path_prefix,
        )

    def external_route(
        self, service: ExternalService, upstream: dict[str, Any], public_route: dict[str, Any] | None
    ) -> Planned:
        backend = {
            "group": "networking.istio.io",
            "kind": "Hostname",
            "name": upstream["host"],
            "port": upstream["port"],
        }
        return self.http_route(
            f"{self.ctx.name}-{service.name}",
            self.ingress.namespace,
            service,
            backend=backend,
            rewrite_host=upstream["host"],
        )

    # --- the pieces -----------------------------------------------------------------------------

    def gateway_ref(self) -> dict[str, str]:
        return {"group": GATEWAY_API_GROUP, "kind": "Gateway", "name": self.ingress.gateway}

    def route_namespace(self, site: App | ExternalService) -> str:
        return getattr(site, "namespace", None) or self.ingress.namespace

    def listener_names(self, site: App | ExternalService) -> list[tuple[str, str]]:
        """(listener name, host): one listener per host, named after the host (hosts are unique)."""
        scheme = "https" if self.ctx.spec.tls is not None else "http"
        return [(f"{scheme}-{host}", host) for host in site.all_hosts]

    def listeners(self) -> list[dict[str, Any]]:
        tls = self.ctx.spec.tls is not None
        listeners = []
        for group in self.ctx.host_groups:
            site = group[0]
            namespaces = list(dict.fromkeys(self.route_namespace(member) for member in group))
            for name, host in self.listener_names(site):
                listeners.append(
                    {
                        "name": name,
                        "hostname": host,
                        "port": 443 if tls else 80,
                        "protocol": "HTTPS" if tls else "HTTP",
                        "tls_secret": f"{self.ctx.name}-{site.name}-tls" if tls else None,
                        "namespaces": self.admit(*namespaces),
                    }
                )
        if tls:
            listeners.append(
                {
                    "name": HTTP_LISTENER,
                    "hostname": None,
                    "port": 80,
                    "protocol": "HTTP",
                    "tls_secret": None,
                    "namespaces": {"from": "Same"},
                }
            )
        return listeners

    def admit(self, *namespaces: str) -> dict[str, Any]:
        """allowedRoutes.namespaces admitting exactly ``namespaces`` (several when apps in several
        namespaces split a host by pathPrefix)."""
        if list(namespaces) == [self.ingress.namespace]:
            return {"from": "Same"}
        if len(namespaces) == 1:
            labels = {"kubernetes.io/metadata.name": namespaces[0]}
            return {"from": "Selector", "selector": {"matchLabels": labels}}
        expression = {"key": "kubernetes.io/metadata.name", "operator": "In", "values": list(namespaces)}
        return {"from": "Selector", "selector": {"matchExpressions": [expression]}}

    def parent_refs(self, site: App | ExternalService) -> list[dict[str, str]]:
        return [
            {**self.gateway_ref(), "namespace": self.ingress.namespace, "sectionName": name}
            for name, _ in self.listener_names(site)
        ]

    def http_route(
        self,
        name: str,
        namespace: str,
        site: App | ExternalService,
        *,
        backend: dict[str, Any],
        rewrite_host: str | None = None,
        path_prefix: str = "/",
    ) -> Planned:
        """The route; a ``path_prefix`` other than ``/`` is a PathPrefix match, which Gateway API
        compares by path segment (``/pipeline/`` matches ``/pipeline`` and ``/pipeline/...``, not
        ``/pipelinex``) and across routes longest first."""
        matches = [] if path_prefix == "/" else [{"path": {"type": "PathPrefix", "value": path_prefix}}]
        return Planned(
            "http-route.yaml.j2",
            {
                "api_version": GATEWAY_API_VERSION,
                "meta": self.ctx.meta(name, namespace),
                "parent_refs": self.parent_refs(site),
                "hostnames": site.all_hosts,
                "backend": backend,
                "rewrite_host": rewrite_host,
                "matches": matches,
            },
        )

    def redirect_route(self) -> Planned:
        """With DNS-01, plain HTTP for the served hosts is answered with a redirect to HTTPS."""
        parent = {**self.gateway_ref(), "namespace": self.ingress.namespace, "sectionName": HTTP_LISTENER}
        return Planned(
            "https-redirect-route.yaml.j2",
            {
                "api_version": GATEWAY_API_VERSION,
                "meta": self.ctx.meta(f"{self.ctx.name}-https-redirect", self.ingress.namespace),
                "parent_refs": [parent],
                "hostnames": self.ctx.spec.hosts(),
            },
        )
