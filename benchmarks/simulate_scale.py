"""How simulate and explain time grow with the number of apps.

    python benchmarks/simulate_scale.py [SIZES...]        (default: 10 100 1000)

Prints one row per size: seconds to render once; the mean time of one simulated request (over
requests spread across the apps: anonymous, signed in and allowed, signed in and refused), alone
(``evaluate``, which indexes the bundle first) and with the bundle indexed once (``MeshView``, as
explain does); and the time of the whole access table (explain), which asks the evaluator about
every path pattern of every app.
"""

from __future__ import annotations

import sys
import time

from scale import config as scale_config

import meshauth
from meshauth.authz.explain import access_table
from meshauth.authz.simulate import MeshView, Request, environment_for, evaluate


def config(apps: int) -> dict:
    """benchmarks/scale.py's config, with a prefix pattern among the public paths (explain reads
    every pattern) and an unprivileged image on port 8080."""
    data = scale_config(apps)
    for app in data["spec"]["apps"]:
        app["publicPaths"] = ["/healthz", "/static/*"]
        app["deploy"] = {"image": "nginxinc/nginx-unprivileged:1.27", "containerPort": 8080}
    return data


def requests(apps: int, count: int = 60) -> list[Request]:
    out = []
    for n in range(count):
        i = (n * 7919) % apps
        claims = [
            None,
            {"email": "a@example.com", "groups": [f"team{i % 10}"]},
            {"email": "b@example.com", "groups": ["nobody"]},
        ][n % 3]
        out.append(Request(f"app{i}.example.com", "/static/x" if n % 5 == 0 else "/d", claims=claims))
    return out


def main(sizes: list[int]) -> None:
    print(
        f"{'apps':>6} {'objects':>8} {'render s':>9} {'simulate ms':>12} {'indexed ms':>11} {'explain s':>10}"
    )
    for size in sizes:
        loaded = meshauth.load_config(config(size))
        start = time.perf_counter()
        bundle = meshauth.render(loaded)
        t_render = time.perf_counter() - start
        env = environment_for(loaded)
        batch = requests(size)
        start = time.perf_counter()
        for request in batch:
            evaluate(bundle, request, env)
        t_simulate = (time.perf_counter() - start) / len(batch)
        view = MeshView.of(bundle, env)
        start = time.perf_counter()
        for request in batch:
            view.decide(request)
        t_indexed = (time.perf_counter() - start) / len(batch)
        start = time.perf_counter()
        access_table(bundle, env)
        t_explain = time.perf_counter() - start
        print(
            f"{size:>6} {len(bundle.objects):>8} {t_render:>9.3f} {t_simulate * 1000:>12.2f} "
            f"{t_indexed * 1000:>11.2f} {t_explain:>10.2f}"
        )


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [10, 100, 1000])
