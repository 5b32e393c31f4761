"""Hand-written objects for the rule tests, in the shapes people write them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

PROXY_IMAGE = "quay.io/oauth2-proxy/oauth2-proxy:v7.6.0"
SERVED = ("--http-address=0.0.0.0:4180", "--upstream=static://200")  # what an ext_authz proxy needs


def oauth2_proxy(
    *flags: str,
    image: str = PROXY_IMAGE,
    env: Iterable[Mapping[str, Any]] = (),
    env_from: Iterable[Mapping[str, Any]] = (),
    namespace: str = "oauth2-proxy",
    app: str = "oauth2-proxy",
    annotations: Mapping[str, str] | None = None,
    served: bool = True,
) -> dict[str, Any]:
    """An oauth2-proxy Deployment with ``flags`` (after the two an ext_authz proxy needs, unless
    ``served`` is False)."""
    container: dict[str, Any] = {
        "name": "oauth2-proxy",
        "image": image,
        "args": [*(SERVED if served else ()), *flags],
    }
    if env:
        container["env"] = list(env)
    if env_from:
        container["envFrom"] = list(env_from)
    metadata: dict[str, Any] = {"name": "oauth2-proxy", "namespace": namespace}
    if annotations:
        metadata["annotations"] = dict(annotations)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata,
        "spec": {
            "selector": {"matchLabels": {"app": app}},
            "template": {"metadata": {"labels": {"app": app}}, "spec": {"containers": [container]}},
        },
    }


def istio_operator(name: str = "oauth2-proxy", **http: Any) -> dict[str, Any]:
    """An IstioOperator whose mesh config has one ext_authz HTTP provider ``name`` with ``http``."""
    return {
        "apiVersion": "install.istio.io/v1alpha1",
        "kind": "IstioOperator",
        "metadata": {"name": "mesh", "namespace": "istio-system"},
        "spec": {"meshConfig": {"extensionProviders": [{"name": name, "envoyExtAuthzHttp": dict(http)}]}},
    }
