"""Run checkov's Kubernetes checks on what meshauth renders.

    python tools/checkov_scan.py                    # the examples (with each overlay) and valid cases
    python tools/checkov_scan.py CONFIG...          # these configs
    python tools/checkov_scan.py --install          # install checkov into .checkov-venv/ (once)

checkov is not a dependency of meshauth (it pulls in hundreds of packages): it lives in its own venv,
``.checkov-venv/`` beside the repository's ``.venv``, which ``--install`` creates (and nothing else). The script looks
for it there, then at ``$CHECKOV``, then on ``PATH``. Each config is rendered with ``-o DIR`` and
scanned with ``checkov -d DIR --framework kubernetes``. It prints one line per config and every
failed check, and exits 1 when a check failed. Checks that meshauth skips on purpose carry a
``checkov.io/skipN`` annotation with the reason (see docs/security.md); they are counted, not failed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".checkov-venv"


@dataclass
class Scan:
    label: str
    passed: int = 0
    failed: list[str] = field(default_factory=list)  # "CKV_K8S_x Kind.ns.name: title"
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (check id, reason)


def find_checkov() -> str | None:
    """The checkov executable: .checkov-venv, then $CHECKOV, then PATH; None when there is none."""
    candidates = [VENV / "bin" / "checkov", os.environ.get("CHECKOV"), shutil.which("checkov")]
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def install() -> str:
    """Create .checkov-venv with checkov in it (pip, network needed); return the executable."""
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    pip = [
        str(VENV / "bin" / "python"),
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "checkov",
    ]
    subprocess.run(pip, check=True)
    return str(VENV / "bin" / "checkov")


def default_cases() -> list[tuple[str, list[Path]]]:
    """(label, [config, overlays...]) for every example with and without each overlay, and every
    valid config case."""
    examples = sorted((ROOT / "examples").glob("*.yaml"))
    overlays = sorted((ROOT / "overlays").glob("*.yaml"))
    cases = [(p.stem, [p]) for p in examples]
    cases += [(f"{p.stem}+{o.stem}", [p, o]) for p in examples for o in overlays]
    cases += [(p.stem, [p]) for p in sorted((ROOT / "tests" / "cases" / "valid").glob("*.yaml"))]
    return cases


def scan(checkov: str, cases: Sequence[tuple[str, Sequence[Path]]]) -> list[Scan]:
    """Render every case into its own folder of one temporary directory, and scan them all with one
    checkov run (its start-up takes seconds)."""
    import meshauth

    with tempfile.TemporaryDirectory(prefix="meshauth-checkov-") as tmp:
        for index, (_, (config, *overlays)) in enumerate(cases):
            out = Path(tmp) / str(index)
            meshauth.render(meshauth.load_config(config, overlays=overlays)).write(out)
            shutil.rmtree(out / "mesh", ignore_errors=True)  # istiod/istioctl input, no object
        command = [checkov, "-d", tmp, "--framework", "kubernetes", "--output", "json", "--skip-download"]
        env = {**os.environ, "BC_SKIP_MAPPING": "TRUE"}
        result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=1200)
    return _parse([label for label, _ in cases], result.stdout, result.stderr)


def _parse(labels: Sequence[str], stdout: str, stderr: str) -> list[Scan]:
    try:
        report = json.loads(stdout)
    except json.JSONDecodeError:
        raise RuntimeError(f"checkov printed no JSON report:\n{stderr[-2000:]}") from None
    found = [Scan(label) for label in labels]
    for one in report if isinstance(report, list) else [report]:
        results = one.get("results") or {}
        for kind in ("passed_checks", "failed_checks", "skipped_checks"):
            for check in results.get(kind) or []:
                scan_of = found[int(check["file_path"].strip("/").split("/")[0])]
                if kind == "passed_checks":
                    scan_of.passed += 1
                elif kind == "failed_checks":
                    scan_of.failed.append(f"{check['check_id']} {check['resource']}: {check['check_name']}")
                else:
                    reason = (check.get("check_result") or {}).get("suppress_comment", "")
                    scan_of.skipped.append((check["check_id"], reason))
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("configs", nargs="*", type=Path, metavar="CONFIG")
    parser.add_argument("--install", action="store_true", help="install checkov into .checkov-venv")
    args = parser.parse_args(argv)
    if args.install:
        print(install())
        return 0
    checkov = find_checkov()
    if checkov is None:
        print("checkov not found; run with --install (needs network)", file=sys.stderr)
        return 2
    cases = [(p.stem, [p]) for p in args.configs] if args.configs else default_cases()
    failed = 0
    for result in scan(checkov, cases):
        print(
            f"{result.label}: {result.passed} passed, {len(result.failed)} failed, "
            f"{len(result.skipped)} skipped ({', '.join(sorted({c for c, _ in result.skipped}))})"
        )
        for line in result.failed:
            print(f"  FAILED {line}")
        failed += len(result.failed)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
