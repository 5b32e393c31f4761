"""How render, validation and emission time grow with the number of apps.

    python benchmarks/render_scale.py [SIZES...]        (default: 10 100 1000)

Prints one row per size: seconds for load (config checks), render (plan + templates + parse),
validate (schemas + rules), emit (the YAML stream), and the floor: PyYAML's C dumper writing the same
objects with no ordering or checks. Peak memory is the whole process's.
"""

from __future__ import annotations

import resource
import sys
import time

import yaml

import meshauth


def config(apps: int) -> dict:
    return {
        "apiVersion": "meshauth.dev/v1alpha1",
        "kind": "MeshAuthConfig",
        "metadata": {"name": "bench"},
        "spec": {
            "platform": {"istioVersion": "1.30"},
            "tls": {},
            "identity": {"issuerUrl": "https://idp.example.com", "jwksUri": "https://idp.example.com/keys",
                         "clientId": "bench"},
            "apps": [
                {"name": f"app{i}", "host": f"app{i}.example.com", "publicPaths": ["/healthz"],
                 "authorization": {"groups": [f"team{i % 10}"]}, "deploy": {"image": "nginx:1.27"}}
                for i in range(apps)
            ],
        },
    }


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def main(sizes: list[int]) -> None:
    print(f"{'apps':>6} {'objects':>8} {'load':>7} {'render':>7} {'validate':>8} {'emit':>7} "
          f"{'total':>7} {'floor':>7} {'x floor':>7} {'peak MB':>8}")
    for size in sizes:
        data = config(size)
        loaded, t_load = timed(lambda: meshauth.load_config(data))
        bundle, t_render = timed(lambda: meshauth.render(loaded))
        _, t_validate = timed(lambda: meshauth.validate(bundle))
        _, t_emit = timed(bundle.to_yaml)
        dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
        _, t_floor = timed(lambda: yaml.dump_all(bundle.objects, Dumper=dumper))
        total = t_load + t_render + t_validate + t_emit
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{size:>6} {len(bundle.objects):>8} {t_load:>7.3f} {t_render:>7.3f} {t_validate:>8.3f} "
              f"{t_emit:>7.3f} {total:>7.3f} {t_floor:>7.3f} {total / t_floor:>7.1f} {peak:>8.0f}")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [10, 100, 1000])
