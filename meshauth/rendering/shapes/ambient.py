"""``mesh.dataplane: ambient``: per-app policies at a waypoint instead of at sidecars.

In ambient mode ztunnel only enforces L4; everything meshauth checks per app is L7 (the token, its
audience and claims, paths). So each app namespace gets a waypoint (a Gateway API Gateway of class
``istio-waypoint``, HBONE on 15008, for service traffic) and is labelled

* ``istio.io/dataplane-mode: ambient``: the namespace's pods are in the ambient mesh;
* ``istio.io/use-waypoint: <waypoint>``: traffic to its Services passes the waypoint;
* ``istio.io/ingress-use-waypoint: "true"``: so does traffic from the ingress gateway, which by
  default goes straight to the pods (honoured on the namespace from Istio 1.25, checked at load).

The token check attaches to the waypoint, each app's ALLOW policy to the app's Service, both with
``targetRefs`` (a selector policy with L7 rules would be enforced by ztunnel, which cannot: rule
MA071 refuses that). Other namespaces meshauth renders (the authorizer's) join the ambient mesh
for mutual TLS and need no waypoint.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from meshauth.compat.versions import GATEWAY_API_GROUP, GATEWAY_API_VERSION
from meshauth.rendering.context import Planned, RenderContext
from meshauth.rendering.shapes.tokens import access_policies, request_authentication

if TYPE_CHECKING:
    from meshauth.config.model import App

WAYPOINT_CLASS = "istio-waypoint"
DATAPLANE_LABEL = "istio.io/dataplane-mode"
USE_WAYPOINT_LABEL = "istio.io/use-waypoint"
INGRESS_USE_WAYPOINT_LABEL = "istio.io/ingress-use-waypoint"
WAYPOINT_FOR_LABEL = "istio.io/waypoint-for"


class AmbientDataplane:
    def __init__(self, ctx: RenderContext) -> None:
        self.ctx = ctx
        self.waypoint = ctx.spec.mesh.waypoint
        self.app_namespaces = sorted({app.namespace for app in ctx.spec.apps if app.namespace})

    def namespace_labels(self, namespace: str) -> dict[str, str]:
        labels = {DATAPLANE_LABEL: "ambient"}
        if namespace in self.app_namespaces:
            labels[USE_WAYPOINT_LABEL] = self.waypoint
            labels[INGRESS_USE_WAYPOINT_LABEL] = "true"
        return labels

    def waypoint_ref(self) -> dict[str, str]:
        return {"group": GATEWAY_API_GROUP, "kind": "Gateway", "name": self.waypoint}

    def shared(self) -> Iterator[Planned]:
        """Per app namespace: its waypoint, and the token check attached to it."""
        ctx = self.ctx
        for namespace in self.app_namespaces:
            yield Planned(
                "waypoint.yaml.j2",
                {
                    "api_version": GATEWAY_API_VERSION,
                    "meta": ctx.meta(self.waypoint, namespace, **{WAYPOINT_FOR_LABEL: "service"}),
                    "gateway_class": WAYPOINT_CLASS,
                },
            )
            apps = ctx.apps_in(namespace)
            yield request_authentication(
                ctx,
                f"{ctx.name}-waypoint-jwt",
                namespace,
                attach={"target_refs": [self.waypoint_ref()]},
                claim_headers=ctx.spec.claim_headers_for(apps[0]) if apps else None,
            )

    def app_policies(self, app: App) -> Iterator[Planned]:
        """The app's ALLOW policy, enforced by the waypoint for traffic to the app's Service."""
        assert app.namespace and app.service.name
        ctx = self.ctx
        service = [{"group": "", "kind": "Service", "name": app.service.name}]
        yield from access_policies(ctx, app, app.namespace, {"target_refs": service}, app.public_paths)
