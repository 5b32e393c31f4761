"""meshauth gitops / meshauth check, run as a user runs them."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml
from gitops_support import REPO_URL, changed, tree, write_inputs

POLICY = "envs/prod/40-policies/authorizationpolicy.istio-system.acme-login.yaml"


def run(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "meshauth", *map(str, args)], capture_output=True, text=True, cwd=cwd
    )


def envs():
    return ["--env", "dev=overlays/dev.yaml", "--env", "prod=overlays/prod.yaml"]


def test_gitops_then_check_with_flags(tmp_path):
    write_inputs(tmp_path)
    flags = [*envs(), "-o", "repo", "--engine", "flux", "--repo-url", REPO_URL, "--path", "sso"]
    result = run("gitops", "meshauth.yaml", *flags, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert "written, 0 unchanged, 0 removed" in result.stderr
    assert (
        tmp_path / "repo" / "sso" / "flux" / "prod" / "gitrepository.flux-system.acme-prod.yaml"
    ).is_file()
    checked = run("check", "meshauth.yaml", *flags, cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout == "" and "up to date" in checked.stderr


def test_check_fails_with_the_diff_of_a_hand_edit(tmp_path):
    write_inputs(
        tmp_path,
        changed(
            gitops={
                "repoUrl": REPO_URL,
                "environments": {"dev": "overlays/dev.yaml", "prod": "overlays/prod.yaml"},
            }
        ),
    )
    assert run("gitops", "meshauth.yaml", "-o", ".", cwd=tmp_path).returncode == 0
    policy = tmp_path / POLICY
    policy.write_text(policy.read_text().replace("wiki.acme.example", "wiki.evil.example"))
    result = run("check", tmp_path / "meshauth.yaml", "-o", tmp_path, cwd=tmp_path.parent)
    assert result.returncode == 1
    assert result.stdout.startswith(f"--- a/{POLICY}\n+++ b/{POLICY}\n@@")
    assert "-        - wiki.evil.example\n" in result.stdout
    assert "+        - wiki.acme.example\n" in result.stdout
    assert "1 file(s) differ" in result.stderr and f"{POLICY}: differs" in result.stderr
    # regenerating repairs it; a file of someone else in the checkout is left alone
    (tmp_path / "notes.md").write_text("ours\n")
    assert run("gitops", "meshauth.yaml", "-o", ".", cwd=tmp_path).returncode == 0
    assert run("check", "meshauth.yaml", "-o", ".", cwd=tmp_path).returncode == 0
    assert tree(tmp_path)["notes.md"] == b"ours\n"


def test_an_env_without_an_overlay_and_stacked_overlays(tmp_path):
    write_inputs(tmp_path)
    result = run(
        "gitops",
        "meshauth.yaml",
        "--env",
        "base",
        "--env",
        "both=overlays/dev.yaml",
        "--env",
        "both=overlays/prod.yaml",
        "-o",
        "repo",
        "--repo-url",
        REPO_URL,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    deployment = tmp_path / "repo/envs/both/20-workloads/deployment.oauth2-proxy.oauth2-proxy.yaml"
    assert "replicas: 3" in deployment.read_text()
    assert (tmp_path / "repo" / "envs" / "base").is_dir()


def test_a_missing_repository_url_is_an_input_error(tmp_path):
    write_inputs(tmp_path)
    result = run("gitops", "meshauth.yaml", *envs(), "-o", "repo", cwd=tmp_path)
    assert result.returncode == 1
    assert "spec.gitops.repoUrl: meshauth gitops needs the URL" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "repo").exists()


@pytest.mark.parametrize(
    "args",
    [
        ["check", "meshauth.yaml", "--env", "dev"],  # no -o
        ["gitops", "meshauth.yaml", "--env", "=overlays/dev.yaml", "-o", "repo"],
        ["gitops", "meshauth.yaml", "-o", "repo", "--engine", "jenkins"],
    ],
)
def test_usage_errors_exit_2(tmp_path, args):
    write_inputs(tmp_path)
    result = run(*args, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "usage:" in result.stderr


def test_the_documented_ci_snippets_are_yaml_that_run_meshauth_check():
    from conftest import ROOT

    text = (ROOT / "docs" / "gitops.md").read_text()
    section = text.split("### In CI", 1)[1].split("\n## ", 1)[0]
    blocks = [b.split("```", 1)[0] for b in section.split("```yaml\n")[1:]]
    assert len(blocks) == 2
    github, gitlab = (yaml.safe_load(b) for b in blocks)
    steps = github["jobs"]["check"]["steps"]
    assert steps[-1]["run"] == "meshauth check meshauth.yaml -o ."
    assert gitlab["meshauth-check"]["script"][-1] == "meshauth check meshauth.yaml -o ."
