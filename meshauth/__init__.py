"""meshauth: OIDC single sign-on for apps on an Istio mesh, from one typed config.

    import meshauth

    config = meshauth.load_config("meshauth.yaml", overlays=["overlays/prod.yaml"])
    bundle = meshauth.render(config)      # pure: no I/O, no network, deterministic
    findings = meshauth.validate(bundle)  # list of Finding; raise_on_error=True raises
    meshauth.validate(meshauth.load_manifests(["k8s/"]))  # hand-written manifests too
    bundle.to_yaml()                      # the multi-document stream
    bundle.write("out/")                  # one file per object + kustomization.yaml + mesh/
    repo = meshauth.gitops("meshauth.yaml", {"dev": "overlays/dev.yaml"}, repo_url=URL)
    repo.write("checkout/"); repo.check("checkout/").diff()   # a GitOps tree, and its drift
    meshauth.simulate(config, host="app.example.com", path="/")   # Decision: ALLOW/DENY, by which policy
    meshauth.explain(config, format="markdown")                    # who may reach each app

The heavy modules (pydantic, jinja2, jsonschema) load on first use, so that importing meshauth and
``meshauth --help`` stay fast.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from meshauth.errors import (
    ConfigError,
    DiscoveryError,
    MeshAuthError,
    OutputError,
    Problem,
    ValidationFailed,
)

__version__ = "0.1.0"

_LAZY = {
    "load_config": "meshauth.load",
    "render": "meshauth.rendering",
    "validate": "meshauth.validation",
    "Bundle": "meshauth.bundle",
    "Finding": "meshauth.findings",
    "MeshAuthConfig": "meshauth.config",
    "config_schema": "meshauth.schema",
    "gitops": "meshauth.gitops_repo",
    "GitOpsRepo": "meshauth.gitops_repo",
    "Drift": "meshauth.drift",
    "load_manifests": "meshauth.manifests",
    "Manifests": "meshauth.manifests",
    "simulate": "meshauth.simulation",
    "Decision": "meshauth.simulation",
    "explain": "meshauth.access",
    "starter_config": "meshauth.starter",
    "import_manifests": "meshauth.importer",
    "discover": "meshauth.discovery",
    "write_identity": "meshauth.discovery",
}

__all__ = [
    "Bundle",
    "ConfigError",
    "Drift",
    "Decision",
    "DiscoveryError",
    "Finding",
    "GitOpsRepo",
    "Manifests",
    "MeshAuthConfig",
    "MeshAuthError",
    "OutputError",
    "Problem",
    "ValidationFailed",
    "config_schema",
    "gitops",
    "explain",
    "import_manifests",
    "discover",
    "load_config",
    "load_manifests",
    "render",
    "simulate",
    "starter_config",
    "validate",
    "write_identity",
    "__version__",
]

if TYPE_CHECKING:
    from meshauth.access import explain
    from meshauth.bundle import Bundle
    from meshauth.config import MeshAuthConfig
    from meshauth.drift import Drift
    from meshauth.discovery import discover, write_identity
    from meshauth.findings import Finding
    from meshauth.gitops_repo import GitOpsRepo, gitops
    from meshauth.importer import import_manifests
    from meshauth.load import load_config
    from meshauth.manifests import Manifests, load_manifests
    from meshauth.rendering import render
    from meshauth.schema import config_schema
    from meshauth.simulation import Decision, simulate
    from meshauth.starter import starter_config
    from meshauth.validation import validate


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'meshauth' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value
