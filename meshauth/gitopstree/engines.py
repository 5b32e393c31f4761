"""The engine objects of a GitOps repository: what makes Argo CD or Flux apply an environment.

Argo CD: one ``Application`` per environment that syncs ``envs/<env>`` (its objects carry their
layer's sync wave), and with ``install: helm`` one more ``Application`` that installs the istiod chart
with meshauth's values as ``valuesObject``.

Flux: one ``GitRepository`` per environment and one ``Kustomization`` per layer of ``envs/<env>``,
each ``dependsOn`` the layer before it and ``wait: true``, so that a layer is applied only once the
one before it is ready; with ``install: helm`` a ``HelmRepository`` and a ``HelmRelease`` with the
istiod values.

Decisions only, as values for the templates in ``templates/argocd-*`` and ``templates/flux-*``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from meshauth.gitopstree.layers import Layer
from meshauth.rendering.bundle import Bundle
from meshauth.rendering.context import Planned

ARGOCD_NAMESPACE = "argocd"
ARGOCD_PROJECT = "default"
IN_CLUSTER = "https://kubernetes.default.svc"
FLUX_NAMESPACE = "flux-system"
ISTIO_CHARTS = "https://istio-release.storage.googleapis.com/charts"
ISTIOD_CHART = "istiod"
ISTIOD_RELEASE = "istiod"
_COMMIT = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")

Engine = Literal["argocd", "flux"]


@dataclass(frozen=True)
class Target:
    """Where the engine finds the repository."""

    engine: Engine
    repo_url: str
    revision: str
    path: str  # folder of the tree inside the repository; "" is its root


@dataclass(frozen=True)
class Environment:
    """One environment: the config rendered with its overlays."""

    name: str
    overlays: tuple[str, ...]
    bundle: Bundle
    root_namespace: str  # where istiod runs (the mesh root namespace)

    @property
    def directory(self) -> str:
        return f"envs/{self.name}"


def ownership_labels(name: str) -> dict[str, str]:
    # The same two labels as every rendered object (plan.py); never app.kubernetes.io/instance,
    # which Argo CD uses for tracking.
    return {"app.kubernetes.io/managed-by": "meshauth", "app.kubernetes.io/part-of": name}


def engine_namespace(engine: str) -> str:
    """Where the engine runs: never an object of the tree (pruning it would remove the engine)."""
    return ARGOCD_NAMESPACE if engine == "argocd" else FLUX_NAMESPACE


def repo_path(target: Target, folder: str) -> str:
    return f"{target.path}/{folder}" if target.path else folder


def engine_objects(target: Target, env: Environment, layers: tuple[Layer, ...]) -> list[Planned]:
    if target.engine == "argocd":
        return list(_argocd(target, env))
    return list(_flux(target, env, layers))


# --- Argo CD -----------------------------------------------------------------------------------------


def _argocd(target: Target, env: Environment) -> Iterator[Planned]:
    name, bundle = env.bundle.name, env.bundle
    labels = ownership_labels(name)
    if bundle.mesh_install == "helm":
        yield Planned(
            "argocd-istiod-application.yaml.j2",
            {
                "meta": {
                    "name": f"{name}-{env.name}-istiod",
                    "namespace": ARGOCD_NAMESPACE,
                    "labels": labels,
                },
                "project": ARGOCD_PROJECT,
                "chart_repo": ISTIO_CHARTS,
                "chart": ISTIOD_CHART,
                "chart_version": chart_version(bundle),
                "release": ISTIOD_RELEASE,
                "values_object": bundle.mesh_config,
                "server": IN_CLUSTER,
                "namespace": env.root_namespace,
                "ignore_differences": istiod_ignore_differences(),
            },
        )
    yield Planned(
        "argocd-application.yaml.j2",
        {
            "meta": {"name": f"{name}-{env.name}", "namespace": ARGOCD_NAMESPACE, "labels": labels},
            "project": ARGOCD_PROJECT,
            "repo_url": target.repo_url,
            "revision": target.revision,
            "path": repo_path(target, env.directory),
            "server": IN_CLUSTER,
        },
    )


# --- Flux --------------------------------------------------------------------------------------------


def _flux(target: Target, env: Environment, layers: tuple[Layer, ...]) -> Iterator[Planned]:
    name = env.bundle.name
    labels = ownership_labels(name)
    source = f"{name}-{env.name}"
    yield Planned(
        "flux-gitrepository.yaml.j2",
        {
            "meta": {"name": source, "namespace": FLUX_NAMESPACE, "labels": labels},
            "interval": "1m",
            "url": target.repo_url,
            "ref": flux_ref(target.revision),
        },
    )
    if env.bundle.mesh_install == "helm":
        yield from _flux_istiod(env, labels)
    previous = None
    for layer in layers:
        current = f"{name}-{env.name}-{layer.name}"
        yield Planned(
            "flux-kustomization.yaml.j2",
            {
                "meta": {"name": current, "namespace": FLUX_NAMESPACE, "labels": labels},
                "interval": "10m",
                "retry_interval": "1m",
                "timeout": "5m",
                "source": source,
                "path": "./" + repo_path(target, f"{env.directory}/{layer.directory}"),
                "depends_on": [{"name": previous}] if previous else [],
            },
        )
        previous = current


def _flux_istiod(env: Environment, labels: dict[str, str]) -> Iterator[Planned]:
    name, bundle = env.bundle.name, env.bundle
    repository = f"{name}-{env.name}-istio"
    yield Planned(
        "flux-helmrepository.yaml.j2",
        {
            "meta": {"name": repository, "namespace": FLUX_NAMESPACE, "labels": labels},
            "interval": "1h",
            "url": ISTIO_CHARTS,
        },
    )
    yield Planned(
        "flux-helmrelease.yaml.j2",
        {
            "meta": {"name": f"{name}-{env.name}-istiod", "namespace": FLUX_NAMESPACE, "labels": labels},
            "interval": "10m",
            "release": ISTIOD_RELEASE,
            "namespace": env.root_namespace,
            "chart": ISTIOD_CHART,
            "chart_version": chart_version(bundle),
            "source": repository,
            "values": bundle.mesh_config,
        },
    )


def istiod_ignore_differences() -> list[dict[str, object]]:
    """istiod switches its validating webhook from Ignore to Fail once it serves it
    (istio/istio#44285, #52785): without this, Argo CD shows the Application OutOfSync forever and
    self-heal keeps undoing istiod's change."""
    return [
        {
            "group": "admissionregistration.k8s.io",
            "kind": "ValidatingWebhookConfiguration",
            "jqPathExpressions": [".webhooks[]?.failurePolicy"],
        }
    ]


def flux_ref(revision: str) -> dict[str, str]:
    """``spec.ref`` of a GitRepository: a commit SHA, a full ref (refs/tags/v1), else a branch."""
    if _COMMIT.match(revision):
        return {"commit": revision}
    if revision.startswith("refs/"):
        return {"name": revision}
    return {"branch": revision}


# --- shared facts ------------------------------------------------------------------------------------


def chart_version(bundle: Bundle) -> str:
    """The newest istiod chart of the configured Istio minor (a semver range both engines accept)."""
    return f"{bundle.istio_version}.*"
