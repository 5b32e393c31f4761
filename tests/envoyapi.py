"""Test support: Envoy's own API types (github.com/envoyproxy/go-control-plane) parse the Envoy
config inside the EnvoyFilter patches meshauth renders, strictly (tools/envoyapi, a Go program;
built once per go-control-plane release into .cache/bin by :func:`istioapi.build`).

:func:`check` takes ``[(istio, applyTo, operation, value)]`` and returns the error per patch
(``None`` when accepted); the calling test skips when ``go`` is not installed.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterable
from typing import Any

from istioapi import build

# Istio minor -> the go-control-plane release cut with the Envoy it ships (1.6: Envoy 1.14, 1.7: 1.15,
# 1.8: 1.16; v0.9.6 builds only with cncf/udpa raised to v0.9.7's, see its go.mod); from 1.9 (only the
# identity-headers Lua filter) one recent release for all.
RELEASES = {"1.6": "v0.9.5", "1.7": "v0.9.6", "1.8": "v0.9.7"}
RECENT = "v0.14.0"
XDS_V2 = frozenset({"1.6"})  # Istio 1.6 reads patch values as xDS v2 messages; 1.7 on as v3


def release(istio: str) -> str:
    return RELEASES.get(istio, RECENT)


def binary(istio: str):
    rel = release(istio)  # the releases cut for Envoy 1.14-1.16 still carry the xDS v2 API
    return build("envoyapi", rel, ("envoyv2",) if rel in RELEASES.values() else ())


def check(istio: str, patches: Iterable[tuple[str, str, Any]]) -> list[str | None]:
    """The error the Envoy API of Istio ``istio`` gives each (applyTo, operation, value) patch."""
    patches = list(patches)
    xds = "v2" if istio in XDS_V2 else "v3"
    lines = "".join(
        json.dumps({"xds": xds, "applyTo": apply_to, "operation": op, "value": value}) + "\n"
        for apply_to, op, value in patches
    )
    run = subprocess.run([binary(istio)], input=lines, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    results = run.stdout.splitlines()
    assert len(results) == len(patches), run.stdout
    return [None if r == "ok" else r.removeprefix("error: ") for r in results]
