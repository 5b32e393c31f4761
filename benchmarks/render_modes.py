"""Render and validation time per topology mode, at a given number of apps.

    python benchmarks/render_modes.py [APPS]        (default: 100)

Prints one row per mode: objects rendered, seconds to render (plan + templates + parse) and to
validate (schemas + rules, including the ambient / Gateway API rules), best of three runs.
"""

from __future__ import annotations

import copy
import sys
import time

import meshauth

MODES = {
    "sidecar": ("1.30", {}),
    "gateway-api": ("1.30", {"ingress": {"api": "gateway-api"}}),
    "ambient": ("1.30", {"mesh": {"dataplane": "ambient"}}),
    "ambient+gateway-api": ("1.30", {"mesh": {"dataplane": "ambient"}, "ingress": {"api": "gateway-api"}}),
    "authservice": ("1.30", {"authorizer": "authservice"}),
    "envoyfilter (1.8)": ("1.8", {}),
}


def config(apps: int, istio: str, extra: dict) -> dict:
    spec = {
        "platform": {"istioVersion": istio},
        "tls": {},
        "identity": {
            "issuerUrl": "https://idp.example.com",
            "jwksUri": "https://idp.example.com/keys",
            "clientId": "bench",
        },
        "apps": [
            {
                "name": f"app{i}",
                "namespace": f"ns{i % 10}",
                "host": f"app{i}.example.com",
                "publicPaths": ["/healthz"],
                "authorization": {"groups": [f"team{i % 10}"]},
            }
            for i in range(apps)
        ],
        "externalServices": [
            {
                "name": f"ext{i}",
                "host": f"ext{i}.example.com",
                "upstream": {"host": f"ext{i}.corp.example.net"},
            }
            for i in range(apps // 10)
        ],
    }
    return {
        "apiVersion": "meshauth.dev/v1alpha1",
        "kind": "MeshAuthConfig",
        "metadata": {"name": "bench"},
        "spec": {**spec, **copy.deepcopy(extra)},
    }


def best(fn, runs: int = 3):
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> None:
    apps = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    meshauth.validate(meshauth.render(config(1, "1.30", {})))  # warm the validator caches
    print(f"{'mode':<22} {'objects':>8} {'render s':>9} {'validate s':>11}")
    for mode, (istio, extra) in MODES.items():
        loaded = meshauth.load_config(config(apps, istio, extra))
        render_s, bundle = best(lambda: meshauth.render(loaded))
        validate_s, _ = best(lambda: meshauth.validate(bundle))
        print(f"{mode:<22} {len(bundle.objects):>8} {render_s:>9.3f} {validate_s:>11.3f}")


if __name__ == "__main__":
    main()
