"""What the compiled schema check saves: the schema pass alone, with and without it.

    python benchmarks/schema_check.py [APPS] [RUNS]        (default: 1000 apps, 7 runs)

Renders APPS apps, then times, RUNS times each and interleaved, one pass over every object with a
schema: the compiled yes/no check (meshauth.validation.schemas.compiled, what validation pays for
a valid bundle) and jsonschema's own ``is_valid`` (what it would pay without the check). Prints
the medians and their ratio; building the validators is timed once, cold.
"""

from __future__ import annotations

import statistics
import sys
import time

from scale import config

import meshauth
from meshauth.validation.schemas.bundled import bundled_validator
from meshauth.validation.validate import core_validator, is_core_group


def main(apps: int, runs: int) -> None:
    bundle = meshauth.render(meshauth.load_config(config(apps)))
    start = time.perf_counter()
    pairs = []
    for obj in bundle.objects:
        api_version, kind = obj["apiVersion"], obj["kind"]
        if is_core_group(api_version):
            validator = core_validator(bundle.kubernetes_version, api_version, kind)
        else:
            validator = bundled_validator(api_version, kind)
        if validator is not None:
            pairs.append((obj, validator))
    built = time.perf_counter() - start
    passes = {
        "compiled check": lambda: [v.is_fast_valid(o) for o, v in pairs],
        "jsonschema is_valid": lambda: [v.validator.is_valid(o) for o, v in pairs],
    }
    times: dict[str, list[float]] = {name: [] for name in passes}
    for _ in range(runs):
        for name, run in passes.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    validators = len({id(v) for _, v in pairs})
    print(f"{apps} apps, {len(pairs)} objects, {validators} validators built in {built:.3f} s")
    medians = {name: statistics.median(values) for name, values in times.items()}
    for name, median in medians.items():
        print(f"{name:>20}: median {median:.3f} s of {runs} runs")
    print(f"{'ratio':>20}: {medians['jsonschema is_valid'] / medians['compiled check']:.1f}x")


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:]]
    main(args[0] if args else 1000, args[1] if len(args) > 1 else 7)
