"""A config with many generated apps, for the tests that need scale (object sizes, rule counts)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def many_apps(count: int, app: Callable[[int], dict[str, Any]], name: str = "many", **spec: Any) -> dict:
    """``count`` apps ``app0`` … on hosts ``appN.example.com``, each extended by ``app(i)``; ``spec``
    keys replace the config's own."""
    data: dict[str, Any] = {
        "apiVersion": "meshauth.dev/v1alpha1",
        "kind": "MeshAuthConfig",
        "metadata": {"name": name},
        "spec": {
            "platform": {"istioVersion": "1.30"},
            "tls": {},
            "identity": {
                "issuerUrl": "https://idp.example.com",
                "jwksUri": "https://idp.example.com/keys",
                "clientId": name,
            },
            "apps": [{"name": f"app{i}", "host": f"app{i}.example.com", **app(i)} for i in range(count)],
        },
    }
    data["spec"].update(spec)
    return data
