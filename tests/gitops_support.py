"""A config with two environments, written by the tests themselves (not one of the examples)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

REPO_URL = "https://git.example.com/platform/clusters.git"

CONFIG: dict[str, Any] = {
    "apiVersion": "meshauth.dev/v1alpha1",
    "kind": "MeshAuthConfig",
    "metadata": {"name": "acme"},
    "spec": {
        "platform": {"istioVersion": "1.24"},
        "tls": {"issuer": {"acme": {"email": "ops@acme.example"}}},
        "identity": {"preset": "google", "clientId": "42.apps.googleusercontent.com"},
        "secret": {
            "source": "external-secrets",
            "externalSecret": {
                "storeRef": {"name": "vault"},
                "data": {
                    "clientSecret": {"key": "sso/oidc", "property": "client-secret"},
                    "cookieSecret": {"key": "sso/oidc", "property": "cookie-secret"},
                },
            },
        },
        "oauth2Proxy": {"cookie": {"refresh": "30m"}},
        "apps": [
            {
                "name": "wiki",
                "host": "wiki.acme.example",
                "publicPaths": ["/healthz"],
                "authorization": {"claims": {"hd": ["example.com"]}},
            },
            {"name": "shop", "host": "shop.acme.example", "deploy": {"image": "nginx:1.27"}},
        ],
    },
}
OVERLAYS: dict[str, dict[str, Any]] = {
    "dev": {
        "spec": {
            "tls": {
                "issuer": {
                    "name": "letsencrypt-staging",
                    "acme": {"server": "https://acme-staging-v02.api.letsencrypt.org/directory"},
                }
            },
            "oauth2Proxy": {"cookie": {"refresh": "15m", "expire": "1h"}},
        }
    },
    "prod": {"spec": {"oauth2Proxy": {"replicas": 3}}},
}


def write_inputs(directory: Path, config: dict[str, Any] | None = None) -> Path:
    """meshauth.yaml and overlays/<env>.yaml in ``directory``; returns the config's path."""
    (directory / "overlays").mkdir(parents=True, exist_ok=True)
    for name, overlay in OVERLAYS.items():
        (directory / "overlays" / f"{name}.yaml").write_text(yaml.safe_dump(overlay))
    path = directory / "meshauth.yaml"
    path.write_text(yaml.safe_dump(config or CONFIG))
    return path


def environments(directory: Path) -> dict[str, list[str]]:
    return {name: [str(directory / "overlays" / f"{name}.yaml")] for name in OVERLAYS}


def changed(**spec: Any) -> dict[str, Any]:
    """CONFIG with some spec keys replaced."""
    config = copy.deepcopy(CONFIG)
    config["spec"].update(spec)
    return config


def tree(directory: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()
    }


def times(directory: Path) -> dict[str, int]:
    return {str(p.relative_to(directory)): p.stat().st_mtime_ns for p in directory.rglob("*")}
