"""The largest rendered objects as the number of apps grows, against the API server's limit.

    python benchmarks/object_sizes.py [APPS...]        (default: 1000 20000)

For each size and shape (Istio Gateway, Gateway API policies are the same objects, the EnvoyFilter
login of Istio 1.8, ambient) prints the seconds to render (load + plan + templates + parsing back)
and the three largest objects by the size the API server stores (compact JSON), with the limit of
meshauth.rendering.sizes. Each app opens a public path and authorizes one of ten groups, with an
HTTP-01 issuer (so the ACME exemption is in every gateway rule).
"""

from __future__ import annotations

import copy
import json
import sys
import time

from scale import config

import meshauth

SHAPES = {
    "istio": {},
    "envoyfilter": {"platform": {"istioVersion": "1.8"}},
    "ambient": {"mesh": {"dataplane": "ambient"}},
}


def run(apps: int, shape: str) -> str:
    data = copy.deepcopy(config(apps))
    for app in data["spec"]["apps"]:
        app.pop("deploy", None)
    for key, value in SHAPES[shape].items():
        data["spec"][key] = {**data["spec"].get(key, {}), **value}
    start = time.perf_counter()
    bundle = meshauth.render(data)
    seconds = time.perf_counter() - start
    sizes = sorted(
        (
            (len(json.dumps(o, separators=(",", ":"))), f"{o['kind']} {o['metadata']['name']}")
            for o in bundle.objects
        ),
        reverse=True,
    )
    top = ", ".join(f"{name} {size / 1024:.0f} KiB" for size, name in sizes[:3])
    return f"{apps:>6} apps  {shape:<12} render {seconds:6.1f} s  objects {len(bundle.objects):>6}  largest: {top}"


def main() -> None:
    sizes = [int(a) for a in sys.argv[1:]] or [1000, 20000]
    for apps in sizes:
        for shape in SHAPES:
            print(run(apps, shape), flush=True)


if __name__ == "__main__":
    main()
