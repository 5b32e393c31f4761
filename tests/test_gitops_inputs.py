"""meshauth.gitops at its edges: which inputs plan a repository, which are refused, and where the
refusal points; what the engine may prune. Behaviours mutation testing showed unchecked
(tools/mutation.py on meshauth/gitopstree/repo.py); see also tests/test_gitops.py.
"""

from __future__ import annotations

import copy

import pytest
import yaml
from gitops_support import CONFIG, REPO_URL, changed, write_inputs

import meshauth
from meshauth.gitopstree.repo import FLUX_KEEP, FLUX_PRUNE, engine_documents, keep_namespace
from meshauth.validation.rules import registry

SCP_URL = "git@github.com:acme/platform.git"


def _problem(raised: pytest.ExceptionInfo[meshauth.ConfigError]) -> tuple[str | None, str | None]:
    problem = raised.value.problems[0]
    return problem.file, problem.path


# --- where a refused setting points ------------------------------------------------------------------


def test_a_bad_command_line_setting_points_at_its_flag_without_pydantic_s_prefix(tmp_path):
    path = write_inputs(tmp_path)
    with pytest.raises(meshauth.ConfigError) as raised:
        meshauth.gitops(path, {"dev": []}, repo_url=REPO_URL, path="../elsewhere")
    assert _problem(raised) == ("--path", "spec.gitops.path")
    assert raised.value.problems[0].message.startswith("must be a relative")
    with pytest.raises(meshauth.ConfigError) as raised:
        meshauth.gitops(path, {"dev": []}, repo_url=REPO_URL, engine="jenkins")
    assert _problem(raised) == ("--engine", "spec.gitops.engine")


def test_a_flux_scp_url_points_at_where_it_came_from(tmp_path):
    path = write_inputs(tmp_path)
    with pytest.raises(meshauth.ConfigError) as raised:
        meshauth.gitops(path, {"dev": []}, engine="flux", repo_url=SCP_URL)
    assert _problem(raised) == ("--repo-url", "spec.gitops.repoUrl")

    path = write_inputs(tmp_path, changed(gitops={"engine": "flux", "repoUrl": SCP_URL}))
    with pytest.raises(meshauth.ConfigError) as raised:
        meshauth.gitops(path, {"dev": []})
    assert _problem(raised) == (str(path), "spec.gitops.repoUrl")


def test_a_config_given_as_data_is_named_config_in_errors():
    with pytest.raises(meshauth.ConfigError) as raised:
        meshauth.gitops(copy.deepcopy(CONFIG), {"dev": []})
    assert _problem(raised) == ("<config>", "spec.gitops.repoUrl")


def test_argo_cd_takes_an_scp_style_url(tmp_path):
    repo = meshauth.gitops(write_inputs(tmp_path), {"dev": []}, engine="argocd", repo_url=SCP_URL)
    assert repo.target.repo_url == SCP_URL
    (application,) = engine_documents(repo)
    assert application["spec"]["source"]["repoURL"] == SCP_URL


# --- plain-text secrets need the opt-in here too -----------------------------------------------------

INLINE = {"source": "inline", "inline": {"clientSecret": "client-s3cr3t", "cookieSecret": "x" * 32}}


def test_inline_secrets_need_the_opt_in(tmp_path):
    path = write_inputs(tmp_path, changed(secret=INLINE))
    with pytest.raises(meshauth.ConfigError, match="allowPlaintext"):
        meshauth.gitops(path, {"dev": []}, repo_url=REPO_URL)
    repo = meshauth.gitops(path, {"dev": []}, repo_url=REPO_URL, allow_plaintext_secrets=True)
    assert any(o["kind"] == "Secret" for o in repo.environments[0].bundle.objects)


# --- an environment that would not work is refused, naming it ----------------------------------------


def test_an_error_in_one_environment_refuses_the_repository_and_names_the_environment(tmp_path, monkeypatch):
    def three_replicas(facts):  # stands for any error the checks find in prod's objects only
        for obj in facts.objects:
            if obj.get("kind") == "Deployment" and obj["spec"].get("replicas") == 3:
                yield obj, "spec.replicas", "three replicas"

    rules = [
        registry.Rule(r.id, r.severity, r.theme, r.title, three_replicas) if r.id == "MA016" else r
        for r in registry.RULES
    ]
    monkeypatch.setattr(registry, "RULES", rules)
    path = write_inputs(tmp_path)
    prod = tmp_path / "overlays" / "prod.yaml"
    assert meshauth.gitops(path, {"dev": []}, repo_url=REPO_URL).environments
    with pytest.raises(meshauth.ValidationFailed) as raised:
        meshauth.gitops(path, {"dev": [], "prod": [prod]}, repo_url=REPO_URL)
    assert {(f.rule, f.file) for f in raised.value.findings} == {("MA016", "environment prod")}


# --- names the engine objects carry ------------------------------------------------------------------


def test_an_engine_object_name_of_exactly_63_characters_is_accepted_and_64_refused(tmp_path):
    path = write_inputs(tmp_path)
    longest = "acme-{}-namespaces"  # metadata.name-environment-layer
    fits = "e" * (63 - len(longest.format("")))
    repo = meshauth.gitops(path, {fits: []}, engine="flux", repo_url=REPO_URL)
    assert max(len(o["metadata"]["name"]) for o in engine_documents(repo)) == 63
    with pytest.raises(meshauth.ConfigError, match="longer than 63"):
        meshauth.gitops(path, {fits + "e": []}, engine="flux", repo_url=REPO_URL)


# --- what the engine may prune -----------------------------------------------------------------------


def test_keeping_a_namespace_keeps_its_own_annotations():
    namespace = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": "shop", "annotations": {"owner": "team-shop"}},
    }
    kept = keep_namespace(namespace, "flux")
    assert kept["metadata"]["annotations"] == {"owner": "team-shop", FLUX_PRUNE: FLUX_KEEP}
    assert namespace["metadata"]["annotations"] == {"owner": "team-shop"}  # the bundle's dict untouched


def test_an_app_named_like_the_engine_s_namespace_keeps_everything_but_that_namespace(tmp_path):
    config = copy.deepcopy(CONFIG)
    config["spec"]["apps"][1]["name"] = "flux-system"  # deployed: a Deployment, a Service, ...
    repo = meshauth.gitops(write_inputs(tmp_path, config), {"dev": []}, engine="flux", repo_url=REPO_URL)
    written = [
        (doc["kind"], doc["metadata"]["name"])
        for name, text in repo.files().items()
        if name.startswith("envs/")
        for doc in yaml.safe_load_all(text)
        if doc and doc.get("kind") != "Kustomization"
    ]
    named = {kind for kind, name in written if name == "flux-system"}
    assert "Namespace" not in named
    assert {"Deployment", "Service"} <= named
