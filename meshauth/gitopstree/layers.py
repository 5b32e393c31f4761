"""The layers an environment is applied in, so that a first sync succeeds and no host is ever
served without its login, while an app is added or removed.

A host is served only when both a route names it (VirtualService, HTTPRoute) and the Gateway has a
server (listener) for it. So the routes come before the policies, and the Gateway after them:

* adding an app, its route exists first but serves nothing (no server for its host yet), then its
  login and access policies, and only then the Gateway's server for its host;
* removing an app, its route goes first (the host is served no more), then the policies stop
  covering the host, then the Gateway drops its server.

With Flux each layer is a Kustomization that ``dependsOn`` the layer before it and prunes after
applying, which gives exactly that order. With Argo CD each layer is a sync wave; objects pruned
in a sync run before the waves' updates (newer Argo CD prunes in reverse wave order, older ones in
the object's own wave: the route's wave is before the policies' either way), and the policies
carry ``PruneLast=true`` so that an app's own access policy outlives its route
(``tests/test_gitops_prune.py`` steps through both engines).

Namespaces first, then configuration (the issuer, service accounts, the oauth2-proxy Secret or the
object that produces it), then workloads (Services, Deployments), all before the routes. The
Certificates come with the Gateway that serves them. Within a layer objects keep ``meshauth
render``'s apply order (``KIND_ORDER``); a kind that no layer names comes last, in the last layer.

A layer is a folder ``NN-name`` of the environment, an Argo CD sync wave ``NN`` and a Flux
Kustomization that depends on the layer before it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Layer:
    name: str
    wave: int  # also the folder prefix; Argo CD applies lower waves first
    kinds: tuple[str, ...]

    @property
    def directory(self) -> str:
        return f"{self.wave:02d}-{self.name}"


LAYERS = (
    Layer("namespaces", 0, ("Namespace",)),
    Layer(
        "config",
        10,
        (
            "IngressClass",
            "ClusterIssuer",
            "Issuer",
            "ServiceAccount",
            "Role",
            "RoleBinding",
            "Secret",
            "ExternalSecret",
            "SealedSecret",
            "ConfigMap",
            "NetworkPolicy",
        ),
    ),
    Layer("workloads", 20, ("Service", "Deployment", "PodDisruptionBudget")),
    Layer("routes", 30, ("ServiceEntry", "DestinationRule", "VirtualService", "HTTPRoute")),
    Layer(
        "policies", 40, ("PeerAuthentication", "RequestAuthentication", "AuthorizationPolicy", "EnvoyFilter")
    ),
    Layer("gateway", 50, ("Certificate", "Gateway")),
)
POLICIES = LAYERS[4]


def layer_of(obj: Mapping[str, Any]) -> Layer:
    kind = obj.get("kind")
    for layer in LAYERS:
        if kind in layer.kinds:
            return layer
    return LAYERS[-1]
