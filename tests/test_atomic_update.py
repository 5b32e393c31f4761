"""An update of an existing output folder is all or nothing, whenever the run is killed.

The new tree is staged beside the folder (never inside it, where `kubectl apply -R` or `git add -A`
would pick it up) and swapped with it; what a killed run leaves beside is cleaned by the next run.
Two runs into one folder take turns (a lock on the folder that holds it).
"""

from __future__ import annotations

import copy
import fcntl
import os
import random
import signal
import subprocess
import sys
import time

import yaml
from conftest import ROOT

import meshauth
from meshauth.files.tree import write_tree


def _config(apps):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from scale import config

    return config(apps)


def _snapshot(directory):
    return {
        str(p.relative_to(directory)): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file() or p.is_symlink()
    }


def _leftovers(out):
    beside = [p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.meshauth-")]
    inside = [p.name for p in out.rglob("*") if "meshauth-staging" in p.name or "meshauth-new" in p.name]
    return beside + inside


def _render(config, out):
    return subprocess.Popen(
        [sys.executable, "-m", "meshauth", "render", str(config), "-o", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
    )


def test_a_killed_update_leaves_the_old_tree_or_the_new_one_never_a_mix(tmp_path):
    old_config = _config(150)
    new_config = copy.deepcopy(old_config)
    new_config["spec"]["apps"] = new_config["spec"]["apps"][:120]  # files go
    for app in new_config["spec"]["apps"]:
        app["publicPaths"] = ["/healthz", "/status"]  # files change
    config = tmp_path / "new.yaml"
    config.write_text(yaml.safe_dump(new_config))
    old_files = meshauth.render(old_config).files()
    new_files = meshauth.render(new_config).files()
    reference = tmp_path / "reference"
    for out in (reference, tmp_path / "out"):
        write_tree(out, old_files)
        (out / "README.md").write_text("not meshauth's\n")
    old = _snapshot(out)
    write_tree(reference, new_files)
    new = _snapshot(reference)
    chance = random.Random(19)
    outcomes = []
    for attempt in range(8):
        run = _render(config, out)
        if attempt < 6:  # while writing: from when the staged folder appears
            deadline = time.monotonic() + 120
            while run.poll() is None and time.monotonic() < deadline and not _leftovers(out):
                time.sleep(0.002)
            time.sleep(chance.uniform(0, 0.3))
        else:
            time.sleep(chance.uniform(0, 2))
        run.send_signal(signal.SIGKILL)
        run.wait()
        now = _snapshot(out)
        assert now in (old, new), f"attempt {attempt}: a mix of the old and the new tree"
        outcomes.append("old" if now == old else "new")
        write_tree(out, old_files)  # the next run cleans what the killed one left beside
        assert _snapshot(out) == old and _leftovers(out) == []
    assert _render(config, out).wait() == 0
    assert _snapshot(out) == new and _leftovers(out) == []
    assert "old" in outcomes  # some kills did land while writing, before the swap


QUICKSTART = ROOT / "examples" / "quickstart.yaml"


def test_two_runs_into_one_folder_take_turns(tmp_path):
    out = tmp_path / "out"
    other = yaml.safe_load(QUICKSTART.read_text())
    other["spec"]["identity"]["clientId"] = "other"
    write_tree(out, meshauth.render(other).files())
    before = _snapshot(out)
    holder = os.open(tmp_path, os.O_RDONLY)  # what a run writing into tmp_path/out holds
    fcntl.flock(holder, fcntl.LOCK_EX)
    try:
        run = _render(QUICKSTART, out)
        time.sleep(3)
        assert run.poll() is None and _snapshot(out) == before  # waiting its turn
    finally:
        os.close(holder)
    assert run.wait(timeout=120) == 0
    assert _snapshot(out) == {
        **{p: t.encode() for p, t in meshauth.render(QUICKSTART).files().items()},
        ".meshauth-files": (out / ".meshauth-files").read_bytes(),
    }


def test_what_a_killed_run_left_is_cleaned_and_never_output(tmp_path):
    out = tmp_path / "out"
    files = meshauth.render(QUICKSTART).files()
    write_tree(out, files)
    (out / ".meshauth-staging.abc123").mkdir()  # meshauth 0.1.0 staged inside the output
    (out / ".meshauth-staging.abc123" / "kustomization.yaml").write_text("stale\n")
    (tmp_path / ".out.meshauth-new.xyz").mkdir()
    write_tree(out, files)
    assert _leftovers(out) == []


def test_a_git_checkout_is_updated_in_place(tmp_path):
    out = tmp_path / "checkout"
    other = yaml.safe_load(QUICKSTART.read_text())
    other["spec"]["identity"]["clientId"] = "other"
    write_tree(out, meshauth.render(other).files())
    (out / ".git").mkdir()
    (out / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    folder = os.stat(out).st_ino
    report = write_tree(out, meshauth.render(QUICKSTART).files())
    assert report.written and os.stat(out).st_ino == folder
    assert (out / ".git" / "HEAD").read_text() == "ref: refs/heads/main\n"
    assert _leftovers(out) == []


def test_a_swapped_folder_keeps_unchanged_files_untouched(tmp_path):
    out = tmp_path / "out"
    write_tree(out, meshauth.render(QUICKSTART).files())
    (out / "notes").mkdir()
    (out / "notes" / "mine.txt").write_text("mine\n")
    os.chmod(out, 0o750)
    times = {p: p.stat().st_mtime_ns for p in out.rglob("*.yaml")}
    changed = yaml.safe_load(QUICKSTART.read_text())
    changed["spec"]["apps"][1]["publicPaths"] = ["/assets/*"]
    report = write_tree(out, meshauth.render(changed).files())
    assert len(report.written) == 3
    kept = {p: t for p, t in times.items() if p.name not in report.written}
    assert {p: p.stat().st_mtime_ns for p in kept} == kept
    assert (out / "notes" / "mine.txt").read_text() == "mine\n"
    assert os.stat(out).st_mode & 0o777 == 0o750
