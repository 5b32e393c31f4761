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
    "load_config": "meshauth.config.load",
    "render": "meshauth.rendering.render",
    "validate": "meshauth.validation.validate",
    "Bundle": "meshauth.rendering.bundle",
    "Finding": "meshauth.findings",
    "MeshAuthConfig": "meshauth.config.model",
    "config_schema": "meshauth.config.schema",
    "gitops": "meshauth.gitopstree.repo",
    "GitOpsRepo": "meshauth.gitopstree.repo",
    "Drift": "meshauth.gitopstree.drift",
    "load_manifests": "meshauth.files.manifests",
    "Manifests": "meshauth.files.manifests",
    "simulate": "meshauth.authz.simulate",
    "Decision": "meshauth.authz.simulate",
    "explain": "meshauth.authz.explain",
    "starter_config": "meshauth.starter.starter",
    "import_manifests": "meshauth.importer.run",
    "discover": "meshauth.config.discovery",
    "write_identity": "meshauth.config.discovery",
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
    from meshauth.authz.explain import explain
    from meshauth.authz.simulate import Decision, simulate
    from meshauth.config.discovery import discover, write_identity
    from meshauth.config.load import load_config
    from meshauth.config.model import MeshAuthConfig
    from meshauth.config.schema import config_schema
    from meshauth.files.manifests import Manifests, load_manifests
    from meshauth.findings import Finding
    from meshauth.gitopstree.drift import Drift
    from meshauth.gitopstree.repo import GitOpsRepo, gitops
    from meshauth.importer.run import import_manifests
    from meshauth.rendering.bundle import Bundle
    from meshauth.rendering.render import render
    from meshauth.starter.starter import starter_config
    from meshauth.validation.validate import validate


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'meshauth' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value
