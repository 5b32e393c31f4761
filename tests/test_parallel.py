"""Work spread over processes gives exactly what one process gives, and falls back when unsafe."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import ROOT

import meshauth
from meshauth._util import parallel

needs_two_cores = pytest.mark.skipif(
    parallel.available_cores() < 2 or not parallel._can_fork(),
    reason="needs two cores and the fork start method",
)


def _square(n):
    return n * n


def _fail_on_seven(n):
    if n == 7:
        raise ValueError("seven")
    return n


@pytest.fixture
def small_inputs_fork(monkeypatch):
    monkeypatch.setattr(parallel, "MIN_ITEMS", 1)


@needs_two_cores
def test_results_come_back_in_order(small_inputs_fork):
    assert parallel.ordered_map(_square, list(range(103)), jobs=2) == [n * n for n in range(103)]


@needs_two_cores
def test_a_workers_error_reaches_the_caller(small_inputs_fork):
    with pytest.raises(ValueError, match="seven"):
        parallel.ordered_map(_fail_on_seven, list(range(20)), jobs=2)


def test_small_inputs_stay_in_this_process(monkeypatch):
    monkeypatch.setattr(parallel, "_can_fork", lambda: pytest.fail("must not consider forking"))
    assert parallel.ordered_map(_square, [1, 2, 3], jobs=8) == [1, 4, 9]


def test_a_threaded_process_is_never_forked(small_inputs_fork):
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert not parallel._can_fork()
        assert parallel.ordered_map(_square, [3, 4], jobs=2) == [9, 16]
    finally:
        stop.set()
        thread.join()


def _config(apps):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from scale import config

    return config(apps)


@needs_two_cores
def test_a_bundle_written_by_two_processes_is_byte_identical(small_inputs_fork, tmp_path):
    bundle = meshauth.render(meshauth.load_config(_config(40)))
    assert bundle.to_yaml(jobs=2) == bundle.to_yaml()
    assert bundle.files(jobs=2) == bundle.files()


@needs_two_cores
def test_the_cli_output_does_not_depend_on_jobs(tmp_path):
    config = tmp_path / "big.yaml"
    import yaml

    config.write_text(yaml.safe_dump(_config(300)))  # 2,700 objects: above parallel.MIN_ITEMS
    outputs = [
        subprocess.run(
            [sys.executable, "-m", "meshauth", "render", str(config), "--jobs", jobs],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        ).stdout
        for jobs in ("1", "2")
    ]
    assert outputs[0] == outputs[1]
    # 9 objects per app and 14 shared (the identity-header EnvoyFilter among them): n - 1 separators
    assert outputs[0].count("\n---\n") == 2700 + 13


@pytest.mark.parametrize("value", ["0", "-1", "two", "1.5"])
def test_jobs_must_be_a_whole_number_of_processes(value, capsys):
    from meshauth.cli.main import main

    with pytest.raises(SystemExit) as exit_info:
        main(["render", str(ROOT / "examples" / "quickstart.yaml"), "--jobs", value])
    assert exit_info.value.code == 2
    assert "--jobs: expected a whole number of processes" in capsys.readouterr().err


def _children(pid):
    """The live (not zombie) processes whose parent is ``pid``."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = (Path("/proc") / entry / "stat").read_text()
            except OSError:
                continue
            state, ppid = stat.rsplit(")", 1)[1].split()[:2]
            if int(ppid) == pid and state != "Z":
                found.append(int(entry))
    return found


def _alive(pid):
    try:
        stat = (Path("/proc") / str(pid) / "stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@needs_two_cores
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc")
def test_workers_end_when_their_render_is_killed(tmp_path):
    import yaml

    config = tmp_path / "big.yaml"
    config.write_text(yaml.safe_dump(_config(600)))
    # stdout is a pipe nobody reads: as in a pipeline whose reader went away
    render = subprocess.Popen(
        [sys.executable, "-m", "meshauth", "render", str(config), "--jobs", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
    )
    try:
        deadline = time.monotonic() + 120
        workers = []
        while len(workers) < 2 and time.monotonic() < deadline and render.poll() is None:
            workers = _children(render.pid)
            time.sleep(0.01)
        assert len(workers) == 2, "the render ended before its workers could be seen"
        render.send_signal(signal.SIGKILL)
        render.wait()
        deadline = time.monotonic() + 5
        while any(_alive(w) for w in workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        survivors = [w for w in workers if _alive(w)]
    finally:
        render.kill()
        render.stdout.close()
    for worker in survivors:
        os.kill(worker, signal.SIGKILL)
    assert survivors == []
