"""How `meshauth import` time grows with the size of the manifests it reads.

    python benchmarks/import_scale.py [SIZES...]        (default: 10 100 300)

For each size, renders a config with that many apps (the same shape as scale.py), writes
the stream to a file, and imports it back. Prints seconds for reading (YAML parse and shell
scanning), the import as a whole (mapping, then load + render + validate of the result, then the
object-by-object comparison), and how that compares with rendering the same config.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from scale import config, timed

import meshauth
from meshauth.importer.inputfiles import read_manifests
from meshauth.importer.run import import_manifests


def main(sizes: list[int]) -> None:
    print(f"{'apps':>6} {'objects':>8} {'read':>7} {'import':>7} {'render':>7} {'x render':>8} {'same':>5}")
    for size in sizes:
        bundle = meshauth.render(meshauth.load_config(config(size)))
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "all.yaml"
            path.write_text(bundle.to_yaml() + "---\n" + bundle.mesh_config_yaml())
            _, t_read = timed(lambda: read_manifests([str(path)]))
            start = time.perf_counter()
            imported = import_manifests([str(path)], name="bench", istio_version="1.30")
            t_import = time.perf_counter() - start
        again, t_render = timed(lambda: meshauth.render(meshauth.load_config(imported.config)))
        same = again.to_yaml() == bundle.to_yaml()
        print(
            f"{size:>6} {len(bundle.objects):>8} {t_read:>7.3f} {t_import:>7.3f} {t_render:>7.3f} "
            f"{t_import / t_render:>8.1f} {str(same):>5}"
        )


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    main([int(a) for a in sys.argv[1:]] or [10, 100, 300])
