"""The ownership record is input: nothing outside the output folder is ever read or removed.

`.meshauth-files` is committed with the output, so a pull request can change it (or put a symbolic
link in place of a generated file). meshauth then refuses, naming the record line, and neither
removes nor reads anything: not the file named, not its empty parent folders, not a link's target.
"""

from __future__ import annotations

import pytest
import yaml
from conftest import ROOT
from gitops_support import REPO_URL, environments, write_inputs

import meshauth
from meshauth.cli.main import main
from meshauth.files.tree import RECORD

QUICKSTART = yaml.safe_load((ROOT / "examples" / "quickstart.yaml").read_text())
SECRET = "TOKEN=s3cr3t-value-outside-the-output"


@pytest.fixture
def victim(tmp_path):
    """A file outside the output folder, alone in its own folder (which must not go either)."""
    target = tmp_path / "outside" / "empty-after" / "victim.txt"
    target.parent.mkdir(parents=True)
    target.write_text(SECRET + "\n")
    return target


def _written(tmp_path):
    out = tmp_path / "work" / "out"
    meshauth.render(QUICKSTART).write(out)
    return out


def _append(out, *lines):
    with (out / RECORD).open("a") as record:
        record.writelines(f"{line}\n" for line in lines)
    return len((out / RECORD).read_text().splitlines())


def _entries(victim, out):
    """Record lines that name the victim, each in another way."""
    (out / "linked").symlink_to(victim.parent, target_is_directory=True)
    return {
        "absolute": (str(victim), "absolute path"),
        "dot-dot": ("../../outside/empty-after/victim.txt", "'..'"),
        "dot-dot inside": ("mesh/../../../outside/empty-after/victim.txt", "'..'"),
        "through a link": ("linked/victim.txt", "symbolic link linked"),
        "not normalised": ("./mesh//istio-operator.yaml", "not a normalised"),
    }


@pytest.mark.parametrize(
    "name", ["absolute", "dot-dot", "dot-dot inside", "through a link", "not normalised"]
)
def test_a_record_entry_outside_the_folder_is_an_error_naming_the_line_and_nothing_is_removed(
    tmp_path, victim, name
):
    out = _written(tmp_path)
    entry, reason = _entries(victim, out)[name]
    line = _append(out, entry)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file() and not p.is_symlink()}
    with pytest.raises(meshauth.OutputError) as raised:
        meshauth.render(QUICKSTART).write(out)
    problem = raised.value.problems[0]
    assert (problem.file, problem.path) == (str(out / RECORD), f"line {line}")
    assert reason in problem.message
    assert victim.read_text() == SECRET + "\n" and victim.parent.is_dir()
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file() and not p.is_symlink()} == before


def test_the_cli_names_the_record_line_and_exits_without_a_traceback(tmp_path, victim, capsys):
    out = _written(tmp_path)
    line = _append(out, "a/../../x", str(victim))
    code = main(["render", str(ROOT / "examples" / "quickstart.yaml"), "-o", str(out)])
    err = capsys.readouterr().err
    assert code != 0 and "Traceback" not in err
    assert f"{out / RECORD}: line {line - 1}: 'a/../../x' leads out of the folder" in err
    assert f"{out / RECORD}: line {line}: {str(victim)!r} is an absolute path" in err
    assert victim.exists()


def test_a_link_in_place_of_a_generated_file_is_replaced_not_followed(tmp_path, victim):
    out = _written(tmp_path)
    (out / "kustomization.yaml").unlink()
    (out / "kustomization.yaml").symlink_to(victim)
    meshauth.render(QUICKSTART).write(out)
    assert not (out / "kustomization.yaml").is_symlink()
    assert victim.read_text() == SECRET + "\n"


def test_a_stale_entry_that_is_a_link_removes_the_link_only(tmp_path, victim):
    out = _written(tmp_path)
    (out / "old.yaml").symlink_to(victim)
    _append(out, "old.yaml")
    assert "old.yaml" in meshauth.render(QUICKSTART).write(out).removed
    assert not (out / "old.yaml").is_symlink() and victim.read_text() == SECRET + "\n"


@pytest.mark.parametrize("recorded", [True, False])
def test_a_folder_that_is_a_link_is_not_written_through(tmp_path, recorded):
    out = _written(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (out / "mesh" / "istio-operator.yaml").unlink()
    (out / "mesh").rmdir()
    (out / "mesh").symlink_to(elsewhere, target_is_directory=True)
    if not recorded:
        (out / RECORD).unlink()
    expected = "passes through the symbolic link mesh" if recorded else "link on the way to mesh/istio-op"
    with pytest.raises(meshauth.OutputError, match=expected):
        meshauth.render(QUICKSTART).write(out)
    assert list(elsewhere.iterdir()) == []


def test_a_record_that_is_a_link_is_not_read(tmp_path, victim):
    out = _written(tmp_path)
    (out / RECORD).unlink()
    (out / RECORD).symlink_to(victim)
    with pytest.raises(meshauth.OutputError) as raised:
        meshauth.render(QUICKSTART).write(out)
    assert "symbolic link" in str(raised.value) and SECRET not in str(raised.value)


# --- meshauth check: a pull request must not make CI print a file from outside the repository -------


def _repo(tmp_path):
    return meshauth.gitops(write_inputs(tmp_path), environments(tmp_path), repo_url=REPO_URL)


POLICY = "envs/prod/40-policies/authorizationpolicy.istio-system.acme-login.yaml"


def test_check_does_not_read_a_committed_link_to_a_file_outside(tmp_path, victim):
    out = tmp_path / "checkout"
    _repo(tmp_path).write(out)
    (out / POLICY).unlink()
    (out / POLICY).symlink_to(victim)
    (out / "envs" / "dev" / "gone.yaml").symlink_to("/proc/self/environ")
    _append(out, "envs/dev/gone.yaml")
    drift = _repo(tmp_path).check(out)
    states = {f.path: f.state for f in drift.files}
    assert states[POLICY] == "link" and states["envs/dev/gone.yaml"] == "link"
    assert SECRET not in drift.diff() and "PATH=" not in drift.diff()
    assert "symbolic link" in str(next(f for f in drift.files if f.path == POLICY))


@pytest.mark.parametrize("entry", ["/proc/self/environ", "../../outside/empty-after/victim.txt"])
def test_check_refuses_a_record_that_names_a_file_outside(tmp_path, victim, entry, capsys):
    out = tmp_path / "checkout"
    _repo(tmp_path).write(out)
    line = _append(out, entry)
    with pytest.raises(meshauth.OutputError) as raised:
        _repo(tmp_path).check(out)
    assert raised.value.problems[0].path == f"line {line}"
    assert SECRET not in str(raised.value) and "PATH=" not in str(raised.value)


def test_check_refuses_a_folder_that_is_a_link_to_outside(tmp_path, victim):
    out = tmp_path / "checkout"
    _repo(tmp_path).write(out)
    (out / "envs").rename(tmp_path / "moved")
    (out / "envs").symlink_to(victim.parent, target_is_directory=True)
    with pytest.raises(meshauth.OutputError, match="passes through the symbolic link envs"):
        _repo(tmp_path).check(out)
    (out / RECORD).unlink()
    with pytest.raises(meshauth.OutputError, match="symbolic link on the way to envs/dev/"):
        _repo(tmp_path).check(out)
