"""The command line: parse arguments, call the public API, print. Nothing else lives here.

Exit codes (contract section 2): 0 success (warnings allowed), 1 invalid input or output, 2 a wrong
command line. :class:`MeshAuthError` is mapped to 1 here and only here.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, Callable, Optional, Sequence

from meshauth.errors import MeshAuthError

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "render" and args.mesh_config and args.output_dir:
        parser.error("--mesh-config prints to stdout; with -o DIR the mesh config is in DIR/mesh/")
    try:
        return args.run(args)
    except MeshAuthError as error:
        _report_error(error, getattr(args, "output", "text"))
        return EXIT_INVALID
    except BrokenPipeError:  # `meshauth render ... | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


# --- commands --------------------------------------------------------------------------------------


def _render(args: argparse.Namespace) -> int:
    import meshauth

    config = meshauth.load_config(
        args.config, overlays=args.overlay, allow_plaintext_secrets=args.allow_plaintext_secrets
    )
    bundle = meshauth.render(config)
    findings = meshauth.validate(bundle, raise_on_error=True)
    _print_findings([f for f in findings if f.severity == "warning"], stream=sys.stderr)
    if args.output_dir:
        report = bundle.write(args.output_dir)
        print(
            f"{report.directory}: {len(report.written)} written, {len(report.unchanged)} unchanged, "
            f"{len(report.removed)} removed",
            file=sys.stderr,
        )
    elif args.mesh_config:
        sys.stdout.write(bundle.mesh_config_yaml())
    else:
        sys.stdout.write(bundle.to_yaml())
    return EXIT_OK


def _validate(args: argparse.Namespace) -> int:
    import meshauth

    config = meshauth.load_config(
        args.config, overlays=args.overlay, allow_plaintext_secrets=args.allow_plaintext_secrets
    )
    findings = meshauth.validate(meshauth.render(config))
    failed = any(f.severity == "error" for f in findings)
    if args.output == "json":
        print(json.dumps({"findings": [f.to_dict() for f in findings], "valid": not failed}, indent=2))
    else:
        _print_findings(findings, stream=sys.stdout)
        errors = sum(f.severity == "error" for f in findings)
        print(f"{args.config}: {errors} error(s), {len(findings) - errors} warning(s)")
    return EXIT_INVALID if failed else EXIT_OK


def _schema(args: argparse.Namespace) -> int:
    from meshauth.schema import config_schema_text

    sys.stdout.write(config_schema_text())
    return EXIT_OK


def _discover(args: argparse.Namespace) -> int:
    import meshauth

    found = meshauth.discover(args.issuer_url, insecure=args.insecure, timeout=args.timeout)
    if args.write:
        meshauth.write_identity(args.write, found)
        print(f"{args.write}: spec.identity updated from {found.document_url}", file=sys.stderr)
    else:
        sys.stdout.write(found.to_yaml())
    return EXIT_OK


def _cookie_secret(args: argparse.Namespace) -> int:
    import base64
    import secrets

    print(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())
    return EXIT_OK


# --- output ----------------------------------------------------------------------------------------


def _print_findings(findings: Sequence[Any], stream: Any) -> None:
    for finding in findings:
        print(str(finding), file=stream)


def _report_error(error: MeshAuthError, output: str) -> None:
    if output == "json":
        problems = [
            {"file": p.file, "path": p.path, "message": p.message, "severity": "error"}
            for p in error.problems
        ]
        print(json.dumps({"errors": problems, "valid": False}, indent=2))
        return
    for problem in error.problems:
        print(f"error: {problem}", file=sys.stderr)


# --- arguments -------------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="meshauth",
        description="OIDC single sign-on for apps on an Istio mesh: one typed config in, "
        "validated Kubernetes manifests out.",
    )
    parser.add_argument("--version", action="version", version=f"meshauth {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    render = _command(commands, "render", _render, "render every manifest (stdout, or -o DIR)")
    _config_arguments(render)
    render.add_argument(
        "-o", "--output-dir", metavar="DIR",
        help="write one file per object, kustomization.yaml and mesh/ into DIR (atomically)",
    )
    render.add_argument(
        "--mesh-config", action="store_true",
        help="print only the mesh configuration (IstioOperator overlay or istiod values)",
    )

    validate = _command(commands, "validate", _validate, "render and check everything; write nothing")
    _config_arguments(validate)
    validate.add_argument("--output", choices=("text", "json"), default="text")

    _command(commands, "schema", _schema, "print the JSON Schema of the config file")
    _command(commands, "cookie-secret", _cookie_secret, "print a fresh cookie secret (32 bytes)")

    discover = _command(
        commands, "discover", _discover,
        "read an issuer's OpenID Connect discovery document into spec.identity",
    )
    discover.add_argument("issuer_url", metavar="ISSUER_URL", help="the issuer, as tokens carry it")
    discover.add_argument(
        "--insecure", action="store_true",
        help="allow plain http:// (a local test IdP); TLS certificates are always verified",
    )
    discover.add_argument(
        "--timeout", type=_seconds, default=10.0, metavar="S", help="seconds to wait (default 10)"
    )
    discover.add_argument(
        "--write", metavar="CONFIG",
        help="merge the result into CONFIG's spec.identity (the rest of the file is kept as is)",
    )
    return parser


def _command(
    commands: Any, name: str, run: Callable[[argparse.Namespace], int], help: str
) -> argparse.ArgumentParser:
    command = commands.add_parser(name, help=help, description=help)
    command.set_defaults(run=run)
    return command


def _config_arguments(command: argparse.ArgumentParser) -> None:
    command.add_argument("config", metavar="CONFIG", help="the meshauth.yaml file")
    command.add_argument(
        "--overlay", action="append", default=[], metavar="FILE",
        help="a partial config deep-merged onto CONFIG (repeatable, applied in order)",
    )
    command.add_argument(
        "--allow-plaintext-secrets", action="store_true",
        help="accept secret.source inline (plain-text secrets in the output)",
    )


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 < value <= 600:
        raise argparse.ArgumentTypeError("must be more than 0 and at most 600 seconds")
    return value


def _version() -> str:
    from meshauth import __version__

    return __version__
