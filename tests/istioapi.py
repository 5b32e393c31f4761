"""Test support: Istio's own API types (istio.io/api) parse what meshauth renders, unknown fields
refused (tools/istioapi, a Go program; built once per served release into .cache/istioapi).

:func:`checker` returns a function that takes ``[(kind, spec)]`` and returns the error per item
(``None`` when accepted); it skips the calling test when ``go`` is not installed.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
TOOL = REPO / "tools" / "istioapi"
CACHE = REPO / ".cache"
# Istio minor -> the istio.io/api release the Go module proxy serves for it
RELEASES = {"1.24": "v1.24.2", "1.30": "v1.30.8", "1.31": "v1.31.4", "1.32": "v1.32.0"}
KINDS = frozenset(
    {
        "AuthorizationPolicy",
        "RequestAuthentication",
        "PeerAuthentication",
        "Gateway",
        "VirtualService",
        "DestinationRule",
        "ServiceEntry",
        "Sidecar",
        "EnvoyFilter",
    }
)


def go_env() -> dict[str, str]:
    return {
        **os.environ,
        "GOMODCACHE": str(CACHE / "go" / "mod"),
        "GOCACHE": str(CACHE / "go" / "build"),
        "GOFLAGS": "-modcacherw",
        "GOTOOLCHAIN": "local",
    }


@functools.cache
def build(tool: str, release: str, tags: tuple[str, ...] = ()) -> Path:
    """The Go program tools/``tool`` built with the go.mod/go.sum pinned in its
    ``versions/<release>`` (and the build ``tags``), once, into .cache/bin; tests skip without go."""
    go = shutil.which("go")
    if go is None:
        pytest.skip(f"go is not installed: the checks against upstream API types need it (tools/{tool})")
    source = REPO / "tools" / tool
    pinned = source / "versions" / release
    sources = [*sorted(source.glob("*.go")), pinned / "go.mod", pinned / "go.sum"]
    blob = b"".join(p.read_bytes() for p in sources) + ",".join(tags).encode()
    out = CACHE / "bin" / f"{tool}-{release}-{hashlib.sha256(blob).hexdigest()[:16]}"
    lock = CACHE / "locks" / f"{tool}-{release}.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    with lock.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # parallel test workers: one builds, the others reuse
        if out.is_file():
            return out
        work = CACHE / tool / release
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        for path in sources:
            shutil.copyfile(path, work / path.name)
        out.parent.mkdir(parents=True, exist_ok=True)
        staging = out.with_name(out.name + ".tmp")
        built = subprocess.run(
            [go, "build", "-mod=readonly", "-trimpath", f"-tags={','.join(tags)}", "-o", str(staging), "."],
            cwd=work,
            env=go_env(),
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert built.returncode == 0, f"building tools/{tool} pinned at {release}:\n{built.stderr}"
        os.replace(staging, out)
    return out


def binary(release: str) -> Path:
    """tools/istioapi built against istio.io/api ``release`` (go.mod/go.sum pinned per release)."""
    return build("istioapi", release)


def check(release: str, items: Iterable[tuple[str, Any]]) -> list[str | None]:
    """The error istio.io/api ``release`` gives each (kind, spec), or None where it accepts it."""
    items = list(items)
    lines = "".join(json.dumps({"kind": kind, "spec": spec}) + "\n" for kind, spec in items)
    run = subprocess.run([binary(release)], input=lines, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    results = run.stdout.splitlines()
    assert len(results) == len(items), run.stdout
    return [None if r == "ok" else r.removeprefix("error: ") for r in results]


def checker(release: str) -> Callable[[Iterable[tuple[str, Any]]], list[str | None]]:
    binary(release)
    return functools.partial(check, release)
