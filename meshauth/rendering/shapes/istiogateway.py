"""``ingress.api: istio`` (the default): an Istio Gateway on the pods ``ingress.selector`` picks, a
VirtualService per site, and gateway policies attached by that selector."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from meshauth.config.model import App, ExternalService
from meshauth.rendering.context import Planned, RenderContext
from meshauth.rendering.shapes.cluster import certificates

INGRESS_CLASS = "istio"


class IstioIngress:
    def __init__(self, ctx: RenderContext) -> None:
        self.ctx = ctx

    def attach(self) -> dict[str, Any]:
        return {"selector": self.ctx.spec.ingress.selector}

    def http01_solver(self) -> tuple[dict[str, Any], list[Planned]]:
        """cert-manager answers the challenge through an Ingress of class istio."""
        solver = {"http01": {"ingress": {self.ctx.istio.acme_ingress_class_key: INGRESS_CLASS}}}
        return solver, [Planned("ingress-class.yaml.j2", {"meta": self.ctx.meta(INGRESS_CLASS)})]

    def gateway(self) -> Iterator[Planned]:
        ctx = self.ctx
        spec, tls = ctx.spec, ctx.spec.tls
        https = (
            [
                {
                    "port_name": f"https-{app.name}",
                    "hosts": app.all_hosts,
                    "credential": f"{ctx.name}-{app.name}-tls",
                }
                for app in ctx.sites()
            ]
            if tls
            else []
        )
        http_hosts = [] if ctx.http01 else spec.hosts()
        yield Planned(
            "gateway.yaml.j2",
            {
                "api_version": ctx.istio.networking_api,
                "meta": ctx.meta(spec.ingress.gateway, spec.ingress.namespace),
                "selector": spec.ingress.selector,
                "https": https,
                "http_hosts": http_hosts,
                "https_redirect": tls is not None,
            },
        )
        yield from certificates(ctx)

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
                "gateway": ctx.gateway_ref(),
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
                "gateway": ctx.gateway_ref(),
                "upstream": upstream,
                "public_route": public_route,
            },
        )
