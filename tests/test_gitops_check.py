"""meshauth check: a repository that differs from what the config renders shows as a unified diff."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from gitops_support import CONFIG, REPO_URL, changed, environments, tree, write_inputs

import meshauth
from meshauth.files.tree import RECORD

POLICY = "envs/prod/40-policies/authorizationpolicy.istio-system.acme-login.yaml"


def repo_for(tmp_path, config=None, **options):
    path = write_inputs(tmp_path, config)
    return meshauth.gitops(path, environments(tmp_path), repo_url=REPO_URL, **options)


@pytest.fixture
def written(tmp_path):
    out = tmp_path / "checkout"
    repo_for(tmp_path).write(out)
    return out


def test_a_freshly_written_repository_is_clean(tmp_path, written):
    drift = repo_for(tmp_path).check(written)
    assert drift.clean and drift.diff() == ""
    assert drift.checked == len(repo_for(tmp_path).files()) + 1  # and the ownership record


def test_a_hand_edit_shows_as_a_diff_of_that_file(tmp_path, written):
    target = written / POLICY
    target.write_text(target.read_text().replace("/healthz", "/admin"))
    drift = repo_for(tmp_path).check(written)
    assert [(f.path, f.state) for f in drift.files] == [(POLICY, "changed")]
    diff = drift.diff()
    assert diff.startswith(f"--- a/{POLICY}\n+++ b/{POLICY}\n@@ ")
    assert "\n-        - /admin\n" in diff and "\n+        - /healthz\n" in diff


def test_missing_and_stale_files_show_as_whole_file_diffs(tmp_path, written):
    (written / POLICY).unlink()
    one_app = changed(apps=[CONFIG["spec"]["apps"][0]])
    drift = repo_for(tmp_path, one_app).check(written)
    states = {f.path: f.state for f in drift.files}
    assert states[POLICY] == "missing"
    assert states["envs/prod/30-routes/virtualservice.shop.acme-shop.yaml"] == "stale"
    assert states[RECORD] == "changed"  # it still lists the shop files
    stale = next(f for f in drift.files if f.path == "envs/prod/30-routes/virtualservice.shop.acme-shop.yaml")
    assert stale.diff.splitlines()[:2] == [
        "--- a/envs/prod/30-routes/virtualservice.shop.acme-shop.yaml",
        "+++ /dev/null",
    ]
    missing = next(f for f in drift.files if f.path == POLICY)
    assert missing.diff.splitlines()[:2] == ["--- /dev/null", f"+++ b/{POLICY}"]


def test_an_engine_setting_that_changed_is_stale_output(tmp_path, written):
    drift = repo_for(tmp_path, revision="release-1").check(written)
    assert {f.path for f in drift.files} == {
        "argocd/dev/application.argocd.acme-dev.yaml",
        "argocd/prod/application.argocd.acme-prod.yaml",
    }
    assert "-    targetRevision: main\n+    targetRevision: release-1\n" in drift.diff()


def test_files_meshauth_does_not_own_are_not_looked_at_unless_they_take_its_place(tmp_path, written):
    (written / "README.md").write_text("ours\n")
    (written / "envs" / "dev" / "extra.yaml").write_text("kind: Ours\n")
    assert repo_for(tmp_path).check(written).clean
    fresh = tmp_path / "fresh"
    (fresh / "argocd" / "dev").mkdir(parents=True)
    (fresh / "argocd" / "dev" / "kustomization.yaml").write_text("# ours\n")
    states = {f.path: f.state for f in repo_for(tmp_path).check(fresh).files}
    assert states["argocd/dev/kustomization.yaml"] == "foreign"
    assert states["envs/dev/kustomization.yaml"] == "missing"


def test_the_diff_names_files_from_the_repository_root(tmp_path):
    out = tmp_path / "checkout"
    repo = repo_for(tmp_path, path="deploy/sso")
    repo.write(out)
    (out / "deploy" / "sso" / POLICY).write_text("edited\n")
    drift = repo.check(out)
    assert drift.files[0].path == f"deploy/sso/{POLICY}"
    assert drift.diff().startswith(f"--- a/deploy/sso/{POLICY}\n+++ b/deploy/sso/{POLICY}\n")


def test_a_file_without_a_final_newline_is_marked(tmp_path, written):
    (written / POLICY).write_bytes((written / POLICY).read_bytes().rstrip(b"\n"))
    assert "\\ No newline at end of file" in repo_for(tmp_path).check(written).diff()


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_git_apply_of_the_diff_brings_the_repository_up_to_date(tmp_path, written):
    (written / POLICY).write_text("edited by hand\n")
    (written / "envs" / "dev" / "kustomization.yaml").unlink()
    before = tree(written)
    one_app = changed(apps=[CONFIG["spec"]["apps"][0]])
    repo = repo_for(tmp_path, one_app)
    diff = repo.check(written).diff()
    subprocess.run(["git", "apply", "--unsafe-paths", "-"], input=diff, text=True, check=True, cwd=written)
    assert tree(written) != before
    assert repo.check(written).clean
