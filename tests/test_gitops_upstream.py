"""The engine objects against the upstream CRDs (../shared/ref/crds) and, for the Flux sources that
have no reference CRD there, against tests/schemas/flux-sources.yaml (hand-written from the Go types).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from gitops_support import REPO_URL, changed, environments, write_inputs
from upstream import UpstreamSchemas, require_ref

import meshauth
from meshauth.gitopstree.repo import engine_documents

HAND_WRITTEN = Path(__file__).resolve().parent / "schemas" / "flux-sources.yaml"
SOURCES = {"GitRepository", "HelmRepository"}


@pytest.fixture(scope="module")
def flux_sources():
    return UpstreamSchemas([HAND_WRITTEN])


def repos(tmp_path):
    """Both engines, with both mesh installs, from a config written here."""
    found = []
    for install in ("istioctl", "helm"):
        path = write_inputs(tmp_path / install, changed(mesh={"install": install}))
        for engine in ("argocd", "flux"):
            found.append(
                meshauth.gitops(
                    path,
                    environments(tmp_path / install),
                    engine=engine,
                    repo_url=REPO_URL,
                    path="clusters/sso",
                )
            )
    return found


@pytest.mark.parametrize("which", ["released", "newest"])
def test_engine_objects_validate_against_the_upstream_crds(tmp_path, which, flux_sources):
    upstream = getattr(UpstreamSchemas, which)(require_ref())
    kinds, problems = set(), []
    for repo in repos(tmp_path):
        for obj in engine_documents(repo):
            kinds.add(obj["kind"])
            schemas = flux_sources if obj["kind"] in SOURCES else upstream
            assert schemas.knows(obj["apiVersion"], obj["kind"]), obj["kind"]
            problems += schemas.errors(obj)
    assert problems == []
    assert kinds == {"Application", "Kustomization", "HelmRelease", "GitRepository", "HelmRepository"}


def test_the_annotated_environment_objects_still_validate_upstream(tmp_path):
    upstream = UpstreamSchemas.released(require_ref())
    repo = repos(tmp_path)[0]  # argocd: every object carries its sync wave
    objects = [
        yaml.safe_load(t)
        for p, t in repo.files().items()
        if p.startswith("envs/") and not p.endswith("kustomization.yaml")
    ]
    custom = [o for o in objects if upstream.knows(o["apiVersion"], o["kind"])]
    assert custom and [p for o in custom for p in upstream.errors(o)] == []
    assert meshauth.validate(objects, kubernetes_version="1.30") == []


GIT = {
    "apiVersion": "source.toolkit.fluxcd.io/v1",
    "kind": "GitRepository",
    "metadata": {"name": "x", "namespace": "flux-system"},
    "spec": {"interval": "1m", "url": REPO_URL, "ref": {"branch": "main"}},
}


@pytest.mark.parametrize(
    "spec, problem",
    [
        ({"url": "git@github.com:acme/x.git"}, "spec.url: 'git@github.com:acme/x.git' does not match"),
        ({"interval": "1 minute"}, "spec.interval:"),
        ({"branch": "main"}, "spec.branch: unknown field"),
        ({"ref": {"revision": "main"}}, "spec.ref.revision: unknown field"),
        ({"url": None}, "spec.url: null is not allowed"),
    ],
)
def test_the_hand_written_flux_source_schema_refuses_wrong_objects(flux_sources, spec, problem):
    assert flux_sources.errors(GIT) == []
    wrong = {**GIT, "spec": {**GIT["spec"], **spec}}
    errors = flux_sources.errors(wrong)
    assert any(problem in e for e in errors), errors


def test_the_hand_written_helm_repository_schema_needs_a_url(flux_sources):
    repo = {
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "HelmRepository",
        "metadata": {"name": "istio"},
        "spec": {"interval": "1h"},
    }
    assert flux_sources.errors(repo) == ["HelmRepository/istio: spec.url: required field is missing"]
