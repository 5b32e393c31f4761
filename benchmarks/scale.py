"""meshauth's speed as the number of apps grows, against the serialisation floor.

    python benchmarks/scale.py [SIZES...]          (default: 10 100 1000 5000)

Each size runs in a fresh child process (so peak memory is that size's own) and prints one row:

    load      checking the config (pydantic)
    render    plan + templates + parsing back to objects
    validate  meshauth.validate: schemas of every object + cross-resource rules
    emit      the canonical YAML stream
    emit/2    the same in two processes (Bundle.to_yaml(jobs=2), what the CLI does on two cores)
    gc        one full pass of Python's cyclic collector over everything built: meshauth pauses the
              collector during its work (gcpause.py), which defers this cost; it is counted here
    total     load, render, validate, emit and gc
    floor     PyYAML's C dumper writing the same objects (no ordering, no checks): the least any
              tool that produces this YAML must spend
    naive     kubernetes_validate.validate called per core object, as a script would (each call
              loads its schemas); measured on up to NAIVE_SAMPLE objects and scaled to all
    core      meshauth's validation of the same core objects, for the naive comparison

Then the targets of issue 8 with their measured values, and `meshauth --help` start-up time.
Figures are wall-clock seconds on this machine; ratios measured in one run travel better than
absolute times.
"""

from __future__ import annotations

import gc
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

NAIVE_SAMPLE = 150
ROOT = Path(__file__).resolve().parents[1]


def config(apps: int) -> dict:
    return {
        "apiVersion": "meshauth.dev/v1alpha1",
        "kind": "MeshAuthConfig",
        "metadata": {"name": "bench"},
        "spec": {
            "platform": {"istioVersion": "1.30"},
            "tls": {},
            "identity": {
                "issuerUrl": "https://idp.example.com",
                "jwksUri": "https://idp.example.com/keys",
                "clientId": "bench",
            },
            "apps": [
                {
                    "name": f"app{i}",
                    "host": f"app{i}.example.com",
                    "publicPaths": ["/healthz"],
                    "authorization": {"groups": [f"team{i % 10}"]},
                    "deploy": {"image": "nginx:1.27"},
                }
                for i in range(apps)
            ],
        },
    }


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def measure(apps: int) -> dict:
    """One size, in this process."""
    import yaml

    import meshauth
    from meshauth.validation.validate import is_core_group, schema_findings

    data = config(apps)
    loaded, t_load = timed(lambda: meshauth.load_config(data))
    bundle, t_render = timed(lambda: meshauth.render(loaded))
    findings, t_validate = timed(lambda: meshauth.validate(bundle))
    _, t_emit = timed(bundle.to_yaml)
    _, t_emit2 = timed(lambda: bundle.to_yaml(jobs=2))
    _, t_gc = timed(gc.collect)
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    _, t_floor = timed(lambda: yaml.dump_all(bundle.objects, Dumper=dumper))
    core = [o for o in bundle.objects if is_core_group(o["apiVersion"])]
    _, t_core = timed(lambda: schema_findings(core, bundle.kubernetes_version))
    return {
        "apps": apps,
        "objects": len(bundle.objects),
        "errors": sum(f.severity == "error" for f in findings),
        "load": t_load,
        "render": t_render,
        "validate": t_validate,
        "emit": t_emit,
        "emit2": t_emit2,
        "gc": t_gc,
        "total": t_load + t_render + t_validate + t_emit + t_gc,
        "floor": t_floor,
        "core_objects": len(core),
        "core": t_core,
        "naive": _naive(core, bundle.kubernetes_version),
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _naive(core: list, kubernetes_version: str) -> float:
    import kubernetes_validate

    sample = core[:NAIVE_SAMPLE]
    start = time.perf_counter()
    for obj in sample:
        kubernetes_validate.validate(obj, kubernetes_version, strict=True)
    return (time.perf_counter() - start) / len(sample) * len(core)


def help_startup_ms(runs: int = 7) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "meshauth", "--help"], check=True, stdout=subprocess.DEVNULL, cwd=ROOT
        )
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main(sizes: list[int]) -> None:
    rows = []
    print(
        f"{'apps':>6} {'objects':>8} {'load':>7} {'render':>7} {'validate':>8} {'emit':>7} "
        f"{'emit/2':>7} {'gc':>6} {'total':>7} {'floor':>7} {'x floor':>7} {'naive':>8} {'core':>6} {'x faster':>8} {'peak MB':>8}"
    )
    for size in sizes:
        child = subprocess.run(
            [sys.executable, __file__, "--one", str(size)],
            check=True,
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=os.environ,
        )
        row = json.loads(child.stdout)
        rows.append(row)
        print(
            f"{row['apps']:>6} {row['objects']:>8} {row['load']:>7.3f} {row['render']:>7.3f} "
            f"{row['validate']:>8.3f} {row['emit']:>7.3f} {row['emit2']:>7.3f} {row['gc']:>6.3f} {row['total']:>7.3f} {row['floor']:>7.3f} "
            f"{row['total'] / row['floor']:>7.1f} {row['naive']:>8.2f} {row['core']:>6.3f} "
            f"{row['naive'] / row['core']:>8.0f} {row['peak_mb']:>8.0f}",
            flush=True,
        )
    by_size = {r["apps"]: r for r in rows}
    print()
    _targets(by_size, help_startup_ms())


def _targets(by_size: dict, help_ms: float) -> None:
    checks = []
    if 1000 in by_size:
        r = by_size[1000]
        checks.append(
            ("1,000 apps rendered and validated within 5x the floor", r["total"] / r["floor"], 5.0, "x")
        )
        checks.append(("peak memory for 1,000 apps under 300 MB", r["peak_mb"], 300.0, "MB"))
        checks.append(
            (
                "validation at least 20x faster than naive kubernetes_validate",
                r["naive"] / r["core"],
                20.0,
                "x (at least)",
            )
        )
    if 1000 in by_size and 5000 in by_size:
        checks.append(
            (
                "growth from 1,000 to 5,000 apps at most 5.5x",
                by_size[5000]["total"] / by_size[1000]["total"],
                5.5,
                "x",
            )
        )
    checks.append(("meshauth --help under 150 ms", help_ms, 150.0, "ms"))
    checks.append(
        (
            "every bundle measured is valid (error findings)",
            sum(r["errors"] for r in by_size.values()),
            0,
            "errors",
        )
    )
    for name, value, bound, unit in checks:
        ok = value >= bound if "at least" in unit else value <= bound
        print(f"{'PASS' if ok else 'FAIL'}  {name}: {value:.1f} {unit.split(' ')[0]} (bound {bound:g})")
    largest = by_size[max(by_size)] if by_size else None
    if largest:
        print(
            f"both cores: emitting {largest['apps']:,} apps takes {largest['emit2']:.2f} s in two processes, "
            f"{largest['emit'] / largest['emit2']:.1f}x faster than one (the total with it: "
            f"{(largest['total'] - largest['emit'] + largest['emit2']) / largest['floor']:.1f}x the floor)"
        )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--one"]:
        print(json.dumps(measure(int(sys.argv[2]))))
    else:
        main([int(a) for a in sys.argv[1:]] or [10, 100, 1000, 5000])
