"""`-o DIR`: one file per object, kustomization.yaml, mesh/; atomic; never another tool's files."""

from __future__ import annotations

import copy
import os
import shutil
import subprocess

import pytest
import yaml
from conftest import ROOT

import meshauth
from meshauth.files.tree import RECORD

QUICKSTART = yaml.safe_load((ROOT / "examples" / "quickstart.yaml").read_text())


def _snapshot(directory):
    return {
        str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()
    }


def test_layout_has_one_file_per_object_a_kustomization_and_the_mesh_config(tmp_path):
    bundle = meshauth.render(QUICKSTART)
    report = bundle.write(tmp_path / "out")
    files = _snapshot(tmp_path / "out")
    assert set(files) == {*bundle.files(), RECORD}
    assert len(report.written) == len(bundle.objects) + 2
    kustomization = yaml.safe_load(files["kustomization.yaml"])
    assert kustomization["resources"] == [
        name for name in bundle.files() if name not in ("kustomization.yaml", bundle.mesh_file)
    ]
    assert bundle.mesh_file == "mesh/istio-operator.yaml"
    assert "mesh/istio-operator.yaml" not in kustomization["resources"]
    documents = [yaml.safe_load(files[name]) for name in kustomization["resources"]]
    assert documents == list(yaml.safe_load_all(bundle.to_yaml()))


def test_rewriting_the_same_bundle_changes_nothing(tmp_path):
    bundle = meshauth.render(QUICKSTART)
    bundle.write(tmp_path)
    times = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*") if p.is_file()}
    report = bundle.write(tmp_path)
    assert report.written == () and report.removed == ()
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*") if p.is_file()} == times


def test_only_changed_files_are_rewritten(tmp_path):
    meshauth.render(QUICKSTART).write(tmp_path)
    changed = copy.deepcopy(QUICKSTART)
    changed["spec"]["apps"][1]["publicPaths"] = ["/assets/*"]
    report = meshauth.render(changed).write(tmp_path)
    assert set(report.written) == {
        "authorizationpolicy.docs.quickstart-docs-access.yaml",
        "authorizationpolicy.istio-system.quickstart-access.yaml",
        "authorizationpolicy.istio-system.quickstart-login.yaml",
    }


def test_files_of_a_removed_app_go_and_foreign_files_stay(tmp_path):
    meshauth.render(QUICKSTART).write(tmp_path)
    (tmp_path / "README.md").write_text("mine")
    (tmp_path / "extra.yaml").write_text("kind: Mine\n")
    one_app = copy.deepcopy(QUICKSTART)
    one_app["spec"]["apps"] = one_app["spec"]["apps"][:1]
    report = meshauth.render(one_app).write(tmp_path)
    assert report.removed and all("docs" in name for name in report.removed)
    assert (tmp_path / "README.md").read_text() == "mine"
    assert (tmp_path / "extra.yaml").exists()
    assert set(_snapshot(tmp_path)) == {*meshauth.render(one_app).files(), RECORD, "README.md", "extra.yaml"}


def test_switching_install_moves_the_mesh_file(tmp_path):
    meshauth.render(QUICKSTART).write(tmp_path)
    helm = copy.deepcopy(QUICKSTART)
    helm["spec"]["mesh"] = {"install": "helm"}
    report = meshauth.render(helm).write(tmp_path)
    assert "mesh/istio-operator.yaml" in report.removed
    assert (tmp_path / "mesh" / "istiod-values.yaml").is_file()


def test_a_file_meshauth_did_not_write_is_never_overwritten(tmp_path):
    bundle = meshauth.render(QUICKSTART)
    target = tmp_path / "kustomization.yaml"
    target.write_text("# hand-written\n")
    with pytest.raises(meshauth.OutputError, match="not written by meshauth"):
        bundle.write(tmp_path)
    assert _snapshot(tmp_path) == {"kustomization.yaml": b"# hand-written\n"}


def test_an_output_path_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "out").write_text("x")
    with pytest.raises(meshauth.OutputError, match="not a directory"):
        meshauth.render(QUICKSTART).write(tmp_path / "out")


def test_a_new_directory_appears_whole_or_not_at_all(tmp_path, monkeypatch):
    import meshauth.files.tree as output

    def fail(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(output.os, "rename", fail)
    with pytest.raises(meshauth.OutputError, match="No space left"):
        meshauth.render(QUICKSTART).write(tmp_path / "new")
    assert list(tmp_path.iterdir()) == []


def test_a_failed_write_leaves_the_previous_contents(tmp_path, monkeypatch):
    import meshauth.files.tree as output

    meshauth.render(QUICKSTART).write(tmp_path)
    before = _snapshot(tmp_path)
    changed = copy.deepcopy(QUICKSTART)
    changed["spec"]["identity"]["clientId"] = "other"

    def fail(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(output, "_write_all", fail)
    with pytest.raises(meshauth.OutputError):
        meshauth.render(changed).write(tmp_path)
    assert _snapshot(tmp_path) == before


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl (with kustomize) is not installed")
@pytest.mark.parametrize("example", ["seed", "quickstart"])
def test_kubectl_kustomize_builds_the_same_objects_in_the_same_order(tmp_path, example):
    bundle = meshauth.render(ROOT / "examples" / f"{example}.yaml")
    bundle.write(tmp_path)
    built = subprocess.run(
        ["kubectl", "kustomize", str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "KUBECONFIG": os.devnull},
    ).stdout
    assert list(yaml.safe_load_all(built)) == list(yaml.safe_load_all(bundle.to_yaml()))
