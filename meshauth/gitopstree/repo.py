"""A GitOps repository from one config: every environment fully rendered, and the engine objects.

    repo = meshauth.gitops("meshauth.yaml", {"dev": ["overlays/dev.yaml"], "prod": [...]},
                           engine="flux", repo_url="https://github.com/acme/platform.git")
    repo.files()          # relative path -> content
    repo.write("checkout/")   # into checkout/<path>; atomic, prunes only what meshauth wrote
    repo.check("checkout/")   # Drift: a unified diff of every difference

The tree, inside the repository's folder ``path``::

    envs/<env>/kustomization.yaml     kubectl kustomize envs/<env>: meshauth render --overlay ..., by layer
    envs/<env>/<NN-layer>/            one folder per layer (layers.py), each with its kustomization.yaml
    mesh/<env>/istio-operator.yaml    install: istioctl only: for istioctl install -f; never applied
    argocd/<env>/ or flux/<env>/      the engine objects that apply envs/<env> (and istiod with helm)
    .meshauth-files                   the files meshauth wrote (output.py)

What is in ``envs/<env>`` is exactly what the engine applies: no kustomize transformation. With Argo CD
each object there carries its layer's ``argocd.argoproj.io/sync-wave`` annotation; it must differ per
layer, so it cannot be one ``commonAnnotations``, and written into the files it is what a reviewer
sees in the pull request. With Flux, layers are separate Kustomizations.

The engines prune what leaves Git, and a Namespace takes everything in it along: the user's own
workloads in an app's namespace. So the Namespaces meshauth renders are never pruned nor deleted by
the engine (:func:`keep_namespace`): removing an app removes only meshauth's objects, and its
namespace stays. The engine's own namespace (``argocd``, ``flux-system``) is never an object of the
tree at all. These are the only differences from ``meshauth render``.
"""

from __future__ import annotations

import copy
import dataclasses
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

from pydantic import ValidationError

from meshauth.config.fieldtypes import is_dns_label, is_scp_git_url
from meshauth.config.gitops import GitOps
from meshauth.config.load import Source, load_config
from meshauth.config.model import MeshAuthConfig
from meshauth.errors import ConfigError, Problem, ValidationFailed
from meshauth.files.tree import WriteReport, write_tree
from meshauth.files.yamltext import dump_document, file_name
from meshauth.findings import Finding
from meshauth.gitopstree.drift import Drift, check_tree
from meshauth.gitopstree.engines import Environment, Target, engine_namespace, engine_objects
from meshauth.gitopstree.layers import LAYERS, POLICIES, layer_of
from meshauth.rendering.bundle import KUSTOMIZATION
from meshauth.rendering.render import render
from meshauth.rendering.templating import render_object
from meshauth.validation.validate import validate

SYNC_WAVE = "argocd.argoproj.io/sync-wave"
# Argo CD: "No Prune Resources" (Prune=false) and "No Resource Deletion" (Delete=false), one annotation,
# options separated by "," (https://argo-cd.readthedocs.io/en/stable/user-guide/sync-options/).
ARGOCD_SYNC_OPTIONS = "argocd.argoproj.io/sync-options"
ARGOCD_KEEP = "Prune=false,Delete=false"
# "Prune Last": pruned after every wave of the sync is applied and healthy (same page).
ARGOCD_PRUNE_LAST = "PruneLast=true"
# ... and once it has left Git, it does not keep the Application OutOfSync ("IgnoreExtraneous",
# https://argo-cd.readthedocs.io/en/stable/user-guide/compare-options/).
ARGOCD_COMPARE_OPTIONS = "argocd.argoproj.io/compare-options"
ARGOCD_EXTRANEOUS = "IgnoreExtraneous"
# Flux: an object annotated so is never garbage-collected by its Kustomization, neither when it leaves
# Git nor when the Kustomization is deleted
# (https://fluxcd.io/flux/components/kustomize/kustomizations/#prune).
FLUX_PRUNE = "kustomize.toolkit.fluxcd.io/prune"
FLUX_KEEP = "disabled"
MAX_NAME = 63  # engine object names become label values (Flux's kustomize.toolkit.fluxcd.io/name)

PathLike = Union[str, "os.PathLike[str]"]
Environments = Mapping[str, PathLike | Sequence[PathLike]]


@dataclass(frozen=True)
class GitOpsRepo:
    target: Target
    environments: tuple[Environment, ...]
    warnings: tuple[Finding, ...]

    def files(self) -> dict[str, str]:
        """The tree: path relative to the repository folder ``target.path`` -> content."""
        files: dict[str, str] = {}
        for env in self.environments:
            files.update(environment_files(env, self.target.engine))
            files.update(engine_files(env, self.target))
        return files

    def write(self, repo: PathLike) -> WriteReport:
        """Write into ``repo``/``target.path`` atomically; see :func:`meshauth.files.tree.write_tree`."""
        return write_tree(self.directory(repo), self.files())

    def check(self, repo: PathLike) -> Drift:
        """What differs between ``repo`` and what the config renders (nothing is written)."""
        return check_tree(self.directory(repo), self.files(), prefix=self.target.path)

    def directory(self, repo: PathLike) -> Path:
        return Path(repo) / self.target.path if self.target.path else Path(repo)


def gitops(
    config: Source,
    environments: Environments | None = None,
    *,
    engine: str | None = None,
    repo_url: str | None = None,
    revision: str | None = None,
    path: str | None = None,
    allow_plaintext_secrets: bool = False,
) -> GitOpsRepo:
    """Render every environment of ``config`` and plan the repository (no I/O besides reading).

    ``environments`` maps a name to an overlay (or a list of them); without it, the config's
    ``spec.gitops.environments`` (paths relative to the config file). The keyword arguments override
    ``spec.gitops``. Raises :class:`ConfigError` or :class:`ValidationFailed`, naming the environment.
    """
    base = load_config(config, allow_plaintext_secrets=allow_plaintext_secrets)
    overrides = {"engine": engine, "repoUrl": repo_url, "revision": revision, "path": path}
    target = _target(base, {k: v for k, v in overrides.items() if v is not None}, _label(config))
    wanted = _environments(base, environments, config)
    rendered, warnings = [], []
    for name, overlays in wanted.items():
        env, found = _environment(config, name, overlays, allow_plaintext_secrets)
        rendered.append(env)
        warnings.extend(found)
    repo = GitOpsRepo(target=target, environments=tuple(rendered), warnings=tuple(warnings))
    _check_names(repo)
    return repo


# --- the tree ----------------------------------------------------------------------------------------


def environment_files(env: Environment, engine: str) -> dict[str, str]:
    """``envs/<env>/``: one folder per layer, and a kustomization.yaml that builds them in order."""
    objects = [
        _with_wave(keep_namespace(obj, engine)) if engine == "argocd" else keep_namespace(obj, engine)
        for obj in env.bundle.objects
        if not _is_engine_namespace(obj, engine)
    ]
    files: dict[str, str] = {}
    for layer in LAYERS:
        members = tuple(obj for obj in objects if layer_of(obj) == layer)
        owned = {file_name(obj) for obj in members} | {KUSTOMIZATION}
        layout = dataclasses.replace(env.bundle, objects=members).files()
        files.update({f"{env.directory}/{layer.directory}/{p}": t for p, t in layout.items() if p in owned})
    files[f"{env.directory}/{KUSTOMIZATION}"] = kustomization([layer.directory for layer in LAYERS])
    if env.bundle.mesh_install == "istioctl":
        files[f"mesh/{env.name}/istio-operator.yaml"] = env.bundle.mesh_config_yaml()
    return files


def engine_files(env: Environment, target: Target) -> dict[str, str]:
    """``argocd/<env>/`` or ``flux/<env>/``: the engine objects, and a kustomization.yaml of them."""
    objects = [render_object(p.template, p.values) for p in engine_objects(target, env, LAYERS)]
    folder = f"{target.engine}/{env.name}"
    files = {f"{folder}/{file_name(obj)}": dump_document(obj) for obj in objects}
    files[f"{folder}/{KUSTOMIZATION}"] = kustomization([file_name(obj) for obj in objects])
    return files


def engine_documents(repo: GitOpsRepo) -> list[dict[str, Any]]:
    """Every engine object of the repository, as objects."""
    return [
        render_object(p.template, p.values)
        for env in repo.environments
        for p in engine_objects(repo.target, env, LAYERS)
    ]


def kustomization(resources: Iterable[str]) -> str:
    return dump_document(
        {
            "apiVersion": "kustomize.config.k8s.io/v1beta1",
            "kind": "Kustomization",
            "resources": list(resources),
            "sortOptions": {"order": "fifo"},
        }
    )


def keep_namespace(obj: dict[str, Any], engine: str) -> dict[str, Any]:
    """A Namespace annotated so that ``engine`` never prunes or deletes it; other objects as they are."""
    if obj.get("kind") != "Namespace":
        return obj
    if engine == "argocd":
        keep = {ARGOCD_SYNC_OPTIONS: ARGOCD_KEEP, ARGOCD_COMPARE_OPTIONS: ARGOCD_EXTRANEOUS}
    else:
        keep = {FLUX_PRUNE: FLUX_KEEP}
    annotated = copy.deepcopy(obj)
    metadata = annotated["metadata"]
    metadata["annotations"] = {**(metadata.get("annotations") or {}), **keep}
    return annotated


def _is_engine_namespace(obj: Mapping[str, Any], engine: str) -> bool:
    return obj.get("kind") == "Namespace" and obj["metadata"]["name"] == engine_namespace(engine)


def _with_wave(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The object with its layer's sync wave; a policy also with ``PruneLast=true``: when an app is
    removed, its access policy is pruned after the sync's last wave, so after its route (layers.py)."""
    annotated = copy.deepcopy(dict(obj))
    metadata = annotated["metadata"]
    layer = layer_of(obj)
    extra = {SYNC_WAVE: str(layer.wave)}
    if layer == POLICIES:
        extra[ARGOCD_SYNC_OPTIONS] = ARGOCD_PRUNE_LAST
    metadata["annotations"] = {**(metadata.get("annotations") or {}), **extra}
    return annotated


# --- inputs ------------------------------------------------------------------------------------------


def _target(base: MeshAuthConfig, overrides: dict[str, str], label: str) -> Target:
    settings = base.spec.gitops.model_dump(by_alias=True) if base.spec.gitops else {}
    try:
        resolved = GitOps.model_validate({**settings, **overrides})
    except ValidationError as error:
        raise ConfigError(_override_problems(error, overrides, label)) from None
    where = "--repo-url" if "repoUrl" in overrides else label
    if resolved.repo_url is None:
        raise ConfigError(
            Problem(
                "meshauth gitops needs the URL of the Git repository the engine pulls: pass "
                "--repo-url URL or set spec.gitops.repoUrl",
                file=label,
                path="spec.gitops.repoUrl",
            )
        )
    if resolved.engine == "flux" and is_scp_git_url(resolved.repo_url):
        raise ConfigError(
            Problem(
                "Flux needs a URL with a scheme: write git@host:org/repo.git as ssh://git@host/org/repo.git",
                file=where,
                path="spec.gitops.repoUrl",
            )
        )
    return Target(resolved.engine, resolved.repo_url, resolved.revision, resolved.path)


def _override_problems(error: ValidationError, overrides: Mapping[str, str], label: str) -> list[Problem]:
    flags = {"engine": "--engine", "repoUrl": "--repo-url", "revision": "--revision", "path": "--path"}
    problems = []
    for item in error.errors(include_url=False, include_input=False):
        key = str(item["loc"][0]) if item["loc"] else ""
        message = str(item["msg"]).removeprefix("Value error, ")
        origin = flags[key] if key in overrides else label
        problems.append(Problem(message, file=origin, path=f"spec.gitops.{key}"))
    return problems


def _environments(
    base: MeshAuthConfig, given: Environments | None, config: Source
) -> dict[str, tuple[str, ...]]:
    if given is None:
        relative_to = Path(config).parent if isinstance(config, (str, os.PathLike)) else Path()
        given = {
            name: [str(relative_to / p) for p in ([v] if isinstance(v, str) else v)]
            for name, v in (base.spec.gitops.environments if base.spec.gitops else {}).items()
        }
    if not given:
        raise ConfigError(
            Problem(
                "no environments: pass --env NAME=OVERLAY (repeatable) or set "
                "spec.gitops.environments, such as {dev: overlays/dev.yaml}",
                file=_label(config),
                path="spec.gitops.environments",
            )
        )
    wanted = {}
    for name, overlays in given.items():
        if not is_dns_label(name):
            raise ConfigError(
                Problem(
                    f"environment name {name!r} must be a DNS label: lowercase letters, digits "
                    "and '-', at most 63",
                    file="--env",
                )
            )
        items = [overlays] if isinstance(overlays, (str, os.PathLike)) else list(overlays)
        wanted[name] = tuple(str(o) for o in items)
    return wanted


def _environment(
    config: Source, name: str, overlays: tuple[str, ...], allow_plaintext_secrets: bool
) -> tuple[Environment, list[Finding]]:
    loaded = load_config(config, overlays, allow_plaintext_secrets=allow_plaintext_secrets)
    bundle = render(loaded)
    findings = [dataclasses.replace(f, file=f.file or f"environment {name}") for f in validate(bundle)]
    errors = [f for f in findings if f.severity == "error"]
    if errors:
        raise ValidationFailed(errors)
    env = Environment(name, overlays, bundle, loaded.spec.mesh.root_namespace)
    return env, findings


def _check_names(repo: GitOpsRepo) -> None:
    for obj in engine_documents(repo):
        name = obj["metadata"]["name"]
        if len(name) > MAX_NAME:
            raise ConfigError(
                Problem(
                    f"the {obj['kind']} name {name!r} (metadata.name-environment-layer) is longer "
                    f"than {MAX_NAME} characters; shorten metadata.name or the environment name",
                    path="metadata.name",
                )
            )


def _label(config: Source) -> str:
    return str(config) if isinstance(config, (str, os.PathLike)) else "<config>"
