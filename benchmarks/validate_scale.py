"""How validation time grows with bundle size, and what building validators costs.

    python benchmarks/validate_scale.py [SIZES...]        (default: 10 100 1000)

Per size: objects, seconds for schema validation (Kubernetes and bundled CRD schemas), the
cross-resource rules, the whole ``meshauth.validate`` call, and the same call against the upstream
CRDs in ../shared/ref/crds (``--crds``, CEL included when installed; "-" without the folder). The
first line is a cold start: it includes building each validator once per (apiVersion, kind).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from scale import config

import meshauth
from meshauth.files.manifests import mesh_source
from meshauth.validation.rules import registry as rules
from meshauth.validation.rules.facts import Facts
from meshauth.validation.validate import object_findings

REF = Path(__file__).resolve().parents[1].parent / "shared" / "ref" / "crds"


def timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main(sizes: list[int]) -> None:
    crd_set = None
    if REF.is_dir():
        from meshauth.validation.schemas.usercrds import load_crds

        crd_set = load_crds(sorted(REF.glob("*.yaml")))
    print(
        f"{'apps':>6} {'objects':>8} {'schemas':>8} {'rules':>7} {'validate':>9} {'--crds':>8} {'ms/object':>10}"
    )
    for size in [sizes[0], *sizes]:
        bundle = meshauth.render(meshauth.load_config(config(size)))
        objects = list(bundle.objects)
        t_schemas = timed(lambda: [object_findings(o, "1.30") for o in objects])
        facts = Facts(objects, (mesh_source(bundle.mesh_config),), (1, 30), (1, 30))
        t_rules = timed(lambda: rules.run(facts, {}))
        t_all = timed(lambda: meshauth.validate(bundle))
        t_crds = timed(lambda: meshauth.validate(bundle, crds=crd_set)) if crd_set else None
        crds_text = f"{t_crds:>8.3f}" if t_crds is not None else f"{'-':>8}"
        print(
            f"{size:>6} {len(objects):>8} {t_schemas:>8.3f} {t_rules:>7.3f} {t_all:>9.3f} {crds_text} "
            f"{1000 * t_all / len(objects):>10.3f}"
        )


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [10, 100, 1000])
