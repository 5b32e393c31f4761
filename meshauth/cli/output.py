"""What every command shares when it prints: findings, JSON reports, errors, written files, and the
exit codes (contract section 2; 2, a wrong command line, is argparse's own)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from meshauth.errors import MeshAuthError

EXIT_OK, EXIT_INVALID = 0, 1


def print_findings(findings: Sequence[Any], stream: Any) -> None:
    from meshauth.cli.style import finding_line

    for finding in findings:
        print(finding_line(finding, stream), file=stream)


def print_json(findings: Sequence[Any], **fields: Any) -> None:
    """The JSON report of a command: its own fields, the findings, and valid (no error finding)."""
    report = {k: v for k, v in fields.items() if v is not None}
    report["findings"] = [f.to_dict() for f in findings]
    report["valid"] = not any(f.severity == "error" for f in findings)
    print(json.dumps(report, indent=2))


def report_error(error: MeshAuthError, output: str) -> None:
    """Print an error: findings (of ValidationFailed) as findings, other problems as ``error: ...``."""
    findings = getattr(error, "findings", ())
    if output == "json":
        problems = [f.to_dict() for f in findings] or [
            {"file": p.file, "path": p.path, "message": p.message, "severity": "error"}
            for p in error.problems
        ]
        print(json.dumps({"errors": problems, "valid": False}, indent=2))
        return
    if findings:
        print_findings(findings, stream=sys.stderr)
        return
    from meshauth.cli.style import severity

    for problem in error.problems:
        print(f"{severity('error', sys.stderr)}: {problem}", file=sys.stderr)


def write_or_print(text: str, args: argparse.Namespace) -> str | None:
    """Write ``text`` to ``-o FILE`` (never over a file without --force), or print it; the path."""
    if args.output_file:
        from meshauth.files.userfiles import write_new_file

        return str(write_new_file(args.output_file, text, force=args.force))
    if args.output != "json":
        sys.stdout.write(text)
    return None
