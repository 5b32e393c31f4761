"""How GitOps generation, writing and checking grow with apps and environments.

    python benchmarks/gitops_scale.py [APPS...]        (default: 10 100 500; 3 environments each)

Prints one row per size and engine: seconds to plan the repository (load, render and validate every
environment), to lay out its files, to write it into an empty folder, to rewrite it unchanged (what a
regeneration with no config change costs), and to check it.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import yaml
from scale import config

import meshauth

ENVIRONMENTS = {
    "dev": {"spec": {"oauth2Proxy": {"replicas": 1}}},
    "staging": {"spec": {"oauth2Proxy": {"replicas": 2}}},
    "prod": {"spec": {"oauth2Proxy": {"replicas": 3}}},
}


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def run(apps: int, engine: str, work: Path) -> str:
    overlays = {}
    for name, overlay in ENVIRONMENTS.items():
        overlays[name] = work / f"{name}.yaml"
        overlays[name].write_text(yaml.safe_dump(overlay))
    path = work / "meshauth.yaml"
    path.write_text(yaml.safe_dump(config(apps)))
    repo, t_plan = timed(
        lambda: meshauth.gitops(
            path,
            {k: [v] for k, v in overlays.items()},
            engine=engine,
            repo_url="https://git.example.com/x.git",
        )
    )
    files, t_files = timed(repo.files)
    out = work / f"repo-{engine}"
    _, t_write = timed(lambda: repo.write(out))
    _, t_rewrite = timed(lambda: repo.write(out))
    drift, t_check = timed(lambda: repo.check(out))
    assert drift.clean
    return (
        f"{apps:>6} {engine:>7} {len(files):>6} {t_plan:>7.2f} {t_files:>7.2f} {t_write:>7.2f} "
        f"{t_rewrite:>9.2f} {t_check:>7.2f}"
    )


def main(sizes: list[int]) -> None:
    print(
        f"{'apps':>6} {'engine':>7} {'files':>6} {'plan':>7} {'files':>7} {'write':>7} "
        f"{'rewrite':>9} {'check':>7}"
    )
    for size in sizes:
        for engine in ("argocd", "flux"):
            with tempfile.TemporaryDirectory() as work:
                print(run(size, engine, Path(work)), flush=True)


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [10, 100, 500])
