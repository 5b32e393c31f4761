"""``ingress.api: istio`` (the default): an Istio Gateway on the pods ``ingress.selector`` picks, a
VirtualService per site, and gateway policies attached by that selector."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from meshauth.config.model import App, ExternalService
from meshauth.rendering import sizes
from meshauth.rendering.context import Planned, RenderContext
from meshauth.rendering.shapes.cluster import certificates

INGRESS_CLASS = "istio"
SERVER_BYTES = 160  # one HTTPS server without its hosts, as stored (port, name, tls, credential)
PublicRoute = Callable[[App | ExternalService], dict[str, Any] | None]


def prefix_match(prefix: str) -> list[dict[str, Any]] | None:
    """A VirtualService match for a pathPrefix (Envoy compares prefixes as strings): ``/pipeline/``
    also takes ``/pipeline`` itself, as Gateway API's PathPrefix does; ``/`` matches everything."""
    if prefix == "/":
        return None
    match: list[dict[str, Any]] = [{"uri": {"prefix": prefix}}]
    return [*match, {"uri": {"exact": prefix[:-1]}}] if prefix.endswith("/") else match


class IstioIngress:
    def __init__(self, ctx: RenderContext) -> None:
        self.ctx = ctx
        self._gateway_of: dict[str, str] | None = None

    def attach(self) -> dict[str, Any]:
        return {"selector": self.ctx.spec.ingress.selector}

    def http01_solver(self) -> tuple[dict[str, Any], list[Planned]]:
        """cert-manager answers the challenge through an Ingress of class istio."""
        solver = {"http01": {"ingress": {self.ctx.istio.acme_ingress_class_key: INGRESS_CLASS}}}
        return solver, [Planned("ingress-class.yaml.j2", {"meta": self.ctx.meta(INGRESS_CLASS)})]

    def gateway(self) -> Iterator[Planned]:
        """The Gateway; past the size budget its servers continue in ``<gateway>-2``, ... (Istio
        merges the servers of every Gateway on the same pods), each site's route naming its own."""
        ctx = self.ctx
        spec = ctx.spec
        for number, sites in enumerate(self.gateway_sites()):
            https = (
                [
                    {
                        "port_name": f"https-{site.name}",
                        "hosts": site.all_hosts,
                        "credential": f"{ctx.name}-{site.name}-tls",
                    }
                    for site in sites
                ]
                if spec.tls
                else []
            )
            http_hosts = [] if ctx.http01 else [host for site in sites for host in site.all_hosts]
            yield Planned(
                "gateway.yaml.j2",
                {
                    "api_version": ctx.istio.networking_api,
                    "meta": ctx.meta(sizes.numbered(spec.ingress.gateway, number), spec.ingress.namespace),
                    "selector": spec.ingress.selector,
                    "https": https,
                    "http_hosts": http_hosts,
                    "https_redirect": spec.tls is not None,
                },
            )
        yield from certificates(ctx)

    def gateway_sites(self) -> list[list[App | ExternalService]]:
        """The sites (one per group of hosts) each Gateway object serves, in the config's order."""

        def size(site: App | ExternalService) -> int:
            # a server: its port, the hosts (twice: HTTPS and plain HTTP) and the credential
            return SERVER_BYTES + 2 * sum(len(host) + 3 for host in site.all_hosts)

        return sizes.pack(self.ctx.host_sites(), max_items=len(self.ctx.host_sites()) or 1, size=size)

    def gateway_ref(self, site: App | ExternalService) -> str:
        """``<namespace>/<name>`` of the Gateway object that serves ``site``."""
        if self._gateway_of is None:
            self._gateway_of = {
                s.name: sizes.numbered(self.ctx.spec.ingress.gateway, number)
                for number, group in enumerate(self.gateway_sites())
                for s in group
            }
        return f"{self.ctx.spec.ingress.namespace}/{self._gateway_of[site.name]}"

    def route(self, app: App, public_route: PublicRoute) -> Iterator[Planned]:
        """The VirtualService of the app's hosts, made with the first app on them: Istio merges
        several VirtualServices of one host in no defined order, so the apps that split a host by
        pathPrefix share one, longest prefix first; ``public_route`` gives the login's route for
        an app's public paths (before the app's own route)."""
        group = self.ctx.host_group(app)
        if group[0] is not app:
            return
        assert app.namespace
        ctx = self.ctx
        apps = sorted((a for a in group if isinstance(a, App)), key=lambda a: -len(a.path_prefix))
        routes: list[dict[str, Any]] = []
        for member in apps:
            assert member.namespace and member.service.name
            target = {
                "destination": f"{member.service.name}.{member.namespace}.svc.cluster.local",
                "port": member.service.port,
            }
            public = public_route(member)
            if public:
                routes.append({**target, "name": public["name"], "match": public["match"], "public": True})
            routes.append(
                {**target, "name": None, "match": prefix_match(member.path_prefix), "public": False}
            )
        yield Planned(
            "virtual-service.yaml.j2",
            {
                "api_version": ctx.istio.networking_api,
                "meta": ctx.meta(f"{ctx.name}-{app.name}", app.namespace),
                "hosts": app.all_hosts,
                "gateway": self.gateway_ref(app),
                "routes": routes,
            },
        )

    def external_route(
        self, service: ExternalService, upstream: dict[str, Any], public_route: dict[str, Any] | None
    ) -> Planned:
        ctx = self.ctx
        return Planned(
            "external-virtual-service.yaml.j2",
            {
                "api_version": ctx.istio.networking_api,
                "meta": ctx.meta(f"{ctx.name}-{service.name}", ctx.spec.ingress.namespace),
                "hosts": service.all_hosts,
                "gateway": self.gateway_ref(service),
                "upstream": upstream,
                "public_route": public_route,
            },
        )
