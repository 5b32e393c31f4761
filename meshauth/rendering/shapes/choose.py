"""Which shape of Istio to render for: one strategy per axis, chosen from the config.

The plan (:mod:`meshauth.rendering.plan`) joins what the chosen strategies render:

* ingress: an Istio Gateway + VirtualServices on the pods ``ingress.selector`` picks (``istio``,
  :mod:`.istiogateway`), or a Gateway API Gateway + HTTPRoutes with policies attached by
  ``targetRefs`` (``gateway-api``, :mod:`.gatewayapi`);
* dataplane: per-app policies at each app's sidecar (``sidecar``, :mod:`.sidecar`), or at a
  waypoint per app namespace (``ambient``, :mod:`.ambient`);
* login: a CUSTOM policy naming an extension provider (Istio 1.9+, :mod:`.gatewaypolicy`), or an
  EnvoyFilter that inserts ext_authz into the gateway (Istio 1.6 to 1.8, :mod:`.envoyfilter`);
* authorizer: oauth2-proxy (``oauth2-proxy``, :mod:`.oauth2proxy`) or authservice
  (``authservice``, :mod:`.authservice`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from meshauth.config.model import App, ExternalService
from meshauth.findings import Finding
from meshauth.rendering.context import Planned, RenderContext
from meshauth.rendering.shapes.ambient import AmbientDataplane
from meshauth.rendering.shapes.authservice import AuthServiceAuthorizer
from meshauth.rendering.shapes.envoyfilter import EnvoyFilterLogin
from meshauth.rendering.shapes.gatewayapi import GatewayApiIngress
from meshauth.rendering.shapes.gatewaypolicy import ProviderLogin
from meshauth.rendering.shapes.istiogateway import IstioIngress
from meshauth.rendering.shapes.oauth2proxy import OAuth2Proxy
from meshauth.rendering.shapes.sidecar import SidecarDataplane


class Ingress(Protocol):
    def attach(self) -> dict[str, Any]: ...
    def http01_solver(self) -> tuple[dict[str, Any], list[Planned]]: ...
    def gateway(self) -> Iterator[Planned]: ...
    def route(
        self, app: App, public_route: Callable[[App | ExternalService], dict[str, Any] | None]
    ) -> Iterator[Planned]: ...
    def external_route(
        self, service: ExternalService, upstream: dict[str, Any], public_route: dict[str, Any] | None
    ) -> Planned: ...


class Dataplane(Protocol):
    def namespace_labels(self, namespace: str) -> dict[str, str]: ...
    def shared(self) -> Iterator[Planned]: ...
    def app_policies(self, app: App) -> Iterator[Planned]: ...


class Login(Protocol):
    def objects(self) -> Iterator[Planned]: ...
    def public_route(self, app: App | ExternalService) -> dict[str, Any] | None: ...
    def warnings(self) -> Iterator[Finding]: ...


class Authorizer(Protocol):
    namespace: str

    def objects(self) -> Iterator[Planned]: ...
    def mesh_config(self) -> Planned: ...


@dataclass(frozen=True)
class Modes:
    ingress: Ingress
    dataplane: Dataplane
    login: Login
    authorizer: Authorizer

    def warnings(self) -> Iterator[Finding]:
        return self.login.warnings()


def select(ctx: RenderContext) -> Modes:
    """The strategies for the config the context holds."""
    spec = ctx.spec
    ingress: Ingress = GatewayApiIngress(ctx) if spec.ingress.api == "gateway-api" else IstioIngress(ctx)
    dataplane: Dataplane = (
        AmbientDataplane(ctx) if spec.mesh.dataplane == "ambient" else SidecarDataplane(ctx)
    )
    login: Login = (
        ProviderLogin(ctx, ingress.attach()) if ctx.istio.extension_providers else EnvoyFilterLogin(ctx)
    )
    authorizer: Authorizer = (
        AuthServiceAuthorizer(ctx) if spec.authorizer == "authservice" else OAuth2Proxy(ctx)
    )
    return Modes(ingress=ingress, dataplane=dataplane, login=login, authorizer=authorizer)
