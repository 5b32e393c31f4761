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


def gateway_login(*rules: Mapping[str, Any]) -> dict[str, Any]:
    """The CUSTOM AuthorizationPolicy that sends requests at the default ingress gateway to the
    ``oauth2-proxy`` provider, with ``rules``."""
    return {
        "apiVersion": "security.istio.io/v1",
        "kind": "AuthorizationPolicy",
        "metadata": {"name": "login", "namespace": "istio-system"},
        "spec": {
            "selector": {"matchLabels": {"istio": "ingressgateway"}},
            "action": "CUSTOM",
            "provider": {"name": "oauth2-proxy"},
            "rules": [dict(rule) for rule in rules],
        },
    }


def deployment(
    name: str, namespace: str, labels: Mapping[str, str], managed_by: str | None = None
) -> dict[str, Any]:
    """An app Deployment whose pods carry ``labels`` (and its own label when ``managed_by``)."""
    metadata: dict[str, Any] = {"name": name, "namespace": namespace}
    if managed_by:
        metadata["labels"] = {"app.kubernetes.io/managed-by": managed_by}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata,
        "spec": {
            "selector": {"matchLabels": dict(labels)},
            "template": {"metadata": {"labels": dict(labels)}, "spec": {"containers": [{"name": name}]}},
        },
    }
