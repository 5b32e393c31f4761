"""``ingress.api: istio`` (the default): an Istio Gateway on the pods ``ingress.selector`` picks, a
VirtualService per site, and gateway policies attached by that selector."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from meshauth.config.model import App, ExternalService
from meshauth.rendering import sizes
from meshauth.rendering.context import Planned, RenderContext
from meshauth.rendering.shapes.cluster import certificates

INGRESS_CLASS = "istio"
SERVER_BYTES = 160  # one HTTPS server without its hosts, as stored (port, name, tls, credential)


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
        """The sites each Gateway object serves, in the config's order."""

        def size(site: App | ExternalService) -> int:
            # a server: its port, the hosts (twice: HTTPS and plain HTTP) and the credential
            return SERVER_BYTES + 2 * sum(len(host) + 3 for host in site.all_hosts)

        return sizes.pack(self.ctx.sites(), max_items=len(self.ctx.sites()) or 1, size=size)

    def gateway_ref(self, site: App | ExternalService) -> str:
        """``<namespace>/<name>`` of the Gateway object that serves ``site``."""
        if self._gateway_of is None:
            self._gateway_of = {
                s.name: sizes.numbered(self.ctx.spec.ingress.gateway, number)
                for number, group in enumerate(self.gateway_sites())
                for s in group
            }
        return f"{self.ctx.spec.ingress.namespace}/{self._gateway_of[site.name]}"

    def route(self, app: App, public_route: dict[str, Any] | None) -> Iterator[Planned]:
        """The app's VirtualService; ``public_route`` is the login's route for its public paths."""
        assert app.namespace and app.service.name
        ctx = self.ctx
        yield Planned(
            "virtual-service.yaml.j2",
            {
                "api_version": ctx.istio.networking_api,
                "meta": ctx.meta(f"{ctx.name}-{app.name}", app.namespace),
                "hosts": app.all_hosts,
                "gateway": self.gateway_ref(app),
                "destination": f"{app.service.name}.{app.namespace}.svc.cluster.local",
                "port": app.service.port,
                "public_route": public_route,
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
