"""The layers an environment is applied in, so that a first sync succeeds and fails closed.

Namespaces first; then configuration (the issuer, service accounts, the oauth2-proxy Secret or the
object that produces it); then workloads (Services, Deployments); then the policies; then what
exposes the apps (Certificates, the Gateway, VirtualServices). An app is never reachable before the
login that guards it exists, as in the apply order of ``meshauth render`` (``emit.KIND_ORDER``).

A layer is a contiguous run of ``KIND_ORDER`` (from its first kind up to the next layer's), so the
layers concatenated are exactly the objects in apply order, and a kind added to ``KIND_ORDER`` later
falls into the layer of the kinds around it. Kinds missing from ``KIND_ORDER`` come last in apply
order, and so in the last layer.

A layer is a folder ``NN-name`` of the environment, an Argo CD sync wave ``NN`` and a Flux
Kustomization that depends on the layer before it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from meshauth.files.yamltext import KIND_ORDER, apply_order


@dataclass(frozen=True)
class Layer:
    name: str
    wave: int  # also the folder prefix; Argo CD applies lower waves first
    first_kind: str

    @property
    def directory(self) -> str:
        return f"{self.wave:02d}-{self.name}"


LAYERS = (
    Layer("namespaces", 0, "Namespace"),
    Layer("config", 10, "IngressClass"),
    Layer("workloads", 20, "Service"),
    Layer("policies", 30, "PeerAuthentication"),
    Layer("routes", 40, "Certificate"),
)


def layer_of(obj: Mapping[str, Any]) -> Layer:
    rank = apply_order(obj)[0]
    found = LAYERS[0]
    for layer in LAYERS:
        if KIND_ORDER.index(layer.first_kind) <= rank:
            found = layer
    return found
