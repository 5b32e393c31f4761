"""Config documents for tests: the envelope every MeshAuthConfig needs, and many generated apps for
the tests that need scale (object sizes, rule counts)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

IDENTITY = {
    "issuerUrl": "https://idp.example.com",
    "jwksUri": "https://idp.example.com/k",
    "clientId": "meshauth",
}


def document(name: str, **spec: Any) -> dict[str, Any]:
    """A MeshAuthConfig named ``name``: Istio 1.30, default TLS and :data:`IDENTITY`, then ``spec``'s
    keys (which replace those)."""
    return {
        "apiVersion": "meshauth.dev/v1alpha1",
        "kind": "MeshAuthConfig",
        "metadata": {"name": name},
        "spec": {"platform": {"istioVersion": "1.30"}, "tls": {}, "identity": dict(IDENTITY), **spec},
    }


def many_apps(count: int, app: Callable[[int], dict[str, Any]], name: str = "many", **spec: Any) -> dict:
    """``count`` apps ``app0`` … on hosts ``appN.example.com``, each extended by ``app(i)``; ``spec``
    keys replace the config's own."""
    identity = {
        "issuerUrl": "https://idp.example.com",
        "jwksUri": "https://idp.example.com/keys",
        "clientId": name,
    }
    apps = [{"name": f"app{i}", "host": f"app{i}.example.com", **app(i)} for i in range(count)]
    return document(name, **{"identity": identity, "apps": apps, **spec})
