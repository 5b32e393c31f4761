"""Which shape of Istio the plan renders for: one small strategy per axis, chosen from the config.

The plan (:mod:`meshauth.rendering.plan`) renders what every shape shares and asks these strategies where the
shapes differ:

* ingress: an Istio Gateway + VirtualServices on the pods ``ingress.selector`` picks (``istio``), or
  a Gateway API Gateway + HTTPRoutes with policies attached by ``targetRefs``
  (``gateway-api``, :mod:`meshauth.rendering.shapes.gatewayapi`);
* dataplane: per-app policies at each app's sidecar (``sidecar``), or at a waypoint per app
  namespace (``ambient``, :mod:`meshauth.rendering.shapes.ambient`);
* login: a CUSTOM policy naming an extension provider (Istio 1.9+), or an EnvoyFilter that inserts
  ext_authz into the gateway (Istio 1.6 to 1.8, :mod:`meshauth.rendering.shapes.envoyfilter`);
* authorizer: oauth2-proxy (``oauth2-proxy``) or authservice (``authservice``,
  :mod:`meshauth.rendering.shapes.authservice`).

The defaults below are the sidecar + Istio Gateway + oauth2-proxy shape; each delegates to the
planner's own methods, so that shape renders exactly as it always has.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from meshauth.findings import Finding
from meshauth.rendering.context import Planned

if TYPE_CHECKING:
    from meshauth.config.model import App, ExternalService
    from meshauth.rendering.plan import _Planner

INGRESS_CLASS = "istio"


class Ingress(Protocol):
    def attach(self) -> dict[str, Any]: ...
    def http01_solver(self) -> tuple[dict[str, Any], list[Planned]]: ...
    def gateway(self) -> Iterator[Planned]: ...
    def route(self, app: App) -> Iterator[Planned]: ...
    def external_route(self, service: ExternalService, upstream: dict[str, Any]) -> Planned: ...


class Dataplane(Protocol):
    def namespace_labels(self, namespace: str) -> dict[str, str]: ...
    def shared(self) -> Iterator[Planned]: ...
    def app_policies(self, app: App) -> Iterator[Planned]: ...


class Login(Protocol):
    def objects(self) -> Iterator[Planned]: ...
    def public_route(self, app: App) -> dict[str, Any] | None: ...
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


def select(p: _Planner) -> Modes:
    """The strategies for the config the planner holds (imports kept local: they import the plan)."""
    from meshauth.rendering.shapes.ambient import AmbientDataplane
    from meshauth.rendering.shapes.authservice import AuthServiceAuthorizer
    from meshauth.rendering.shapes.envoyfilter import EnvoyFilterLogin
    from meshauth.rendering.shapes.gatewayapi import GatewayApiIngress

    spec = p.spec
    ingress = GatewayApiIngress(p) if spec.ingress.api == "gateway-api" else IstioIngress(p)
    dataplane = AmbientDataplane(p) if spec.mesh.dataplane == "ambient" else SidecarDataplane(p)
    login = ProviderLogin(p) if p.istio.extension_providers else EnvoyFilterLogin(p)
    authorizer = AuthServiceAuthorizer(p) if spec.authorizer == "authservice" else OAuth2Proxy(p)
    return Modes(ingress=ingress, dataplane=dataplane, login=login, authorizer=authorizer)


# --- the defaults: sidecar, Istio Gateway, extension provider, oauth2-proxy ----------------------


class IstioIngress:
    def __init__(self, p: _Planner) -> None:
        self.p = p

    def attach(self) -> dict[str, Any]:
        return {"selector": self.p.spec.ingress.selector}

    def http01_solver(self) -> tuple[dict[str, Any], list[Planned]]:
        """cert-manager answers the challenge through an Ingress of class istio."""
        solver = {"http01": {"ingress": {self.p.istio.acme_ingress_class_key: INGRESS_CLASS}}}
        return solver, [Planned("ingress-class.yaml.j2", {"meta": self.p.meta(INGRESS_CLASS)})]

    def gateway(self) -> Iterator[Planned]:
        return self.p.gateway()

    def route(self, app: App) -> Iterator[Planned]:
        yield self.p.virtual_service(app)

    def external_route(self, service: ExternalService, upstream: dict[str, Any]) -> Planned:
        p = self.p
        return Planned(
            "external-virtual-service.yaml.j2",
            {
                "api_version": p.istio.networking_api,
                "meta": p.meta(f"{p.name}-{service.name}", p.spec.ingress.namespace),
                "hosts": service.all_hosts,
                "gateway": p.gateway_ref(),
                "upstream": upstream,
                "public_route": p.modes.login.public_route(service),
            },
        )


class SidecarDataplane:
    def __init__(self, p: _Planner) -> None:
        self.p = p

    def namespace_labels(self, namespace: str) -> dict[str, str]:
        return {"istio-injection": "enabled"}

    def shared(self) -> Iterator[Planned]:
        return iter(())

    def app_policies(self, app: App) -> Iterator[Planned]:
        return self.p.sidecar_app_policies(app)


class ProviderLogin:
    def __init__(self, p: _Planner) -> None:
        self.p = p

    def objects(self) -> Iterator[Planned]:
        return self.p.custom_login()

    def public_route(self, app: App | ExternalService) -> dict[str, Any] | None:
        return None  # the CUSTOM policy's notPaths already skip the login

    def warnings(self) -> Iterator[Finding]:
        return iter(())


class OAuth2Proxy:
    def __init__(self, p: _Planner) -> None:
        self.p = p
        self.namespace = p.spec.oauth2_proxy.namespace

    def objects(self) -> Iterator[Planned]:
        return self.p.oauth2_proxy()

    def mesh_config(self) -> Planned:
        if self.p.istio.extension_providers:
            return self.p.mesh_config()
        return mesh_config_without_provider(self.p)


def mesh_config_without_provider(p: _Planner) -> Planned:
    """Before Istio 1.9 there are no extension providers: the mesh configuration adds nothing."""
    if p.spec.mesh.install == "helm":
        return Planned("mesh-istiod-values-empty.yaml.j2", {})
    return Planned(
        "mesh-istio-operator-empty.yaml.j2",
        {"meta": p.meta(f"{p.name}-mesh", p.spec.mesh.root_namespace)},
    )
