"""The command line: parse arguments, call the public API, print. Nothing else lives here.

Exit codes (contract section 2): 0 success (warnings allowed), 1 invalid input or output, 2 a wrong
command line. :class:`MeshAuthError` is mapped to 1 here and only here.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from meshauth.errors import MeshAuthError

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "render" and args.mesh_config and args.output_dir:
        parser.error("--mesh-config prints to stdout; with -o DIR the mesh config is in DIR/mesh/")
    if args.command == "validate" and (args.config is None) == (not args.manifests):
        parser.error("give either CONFIG or --manifests PATH... (not both)")
    if args.command == "render" and args.output == "json" and not args.output_dir:
        parser.error("--output json reports on a write: add -o DIR (without it, stdout is the YAML)")
    try:
        return args.run(args)
    except MeshAuthError as error:
        _report_error(error, getattr(args, "output", "text"))
        return EXIT_INVALID
    except BrokenPipeError:  # `meshauth render ... | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


def _jobs(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of processes, at least 1 (got {text!r})")
    return int(text)


def _available_cores() -> int:
    from meshauth._util.parallel import available_cores

    return available_cores()


# --- commands --------------------------------------------------------------------------------------


def _render(args: argparse.Namespace) -> int:
    import meshauth

    config = meshauth.load_config(
        args.config, overlays=args.overlay, allow_plaintext_secrets=args.allow_plaintext_secrets
    )
    bundle = meshauth.render(config)
    findings = meshauth.validate(bundle, raise_on_error=True)
    jobs = args.jobs or _available_cores()
    if args.output == "json":
        report = bundle.write(args.output_dir, jobs=jobs)
        _print_json(
            findings,
            directory=str(report.directory),
            written=list(report.written),
            unchanged=list(report.unchanged),
            removed=list(report.removed),
        )
        return EXIT_OK
    _print_findings([f for f in findings if f.severity == "warning"], stream=sys.stderr)
    if args.output_dir:
        report = bundle.write(args.output_dir, jobs=jobs)
        print(
            f"{report.directory}: {len(report.written)} written, {len(report.unchanged)} unchanged, "
            f"{len(report.removed)} removed",
            file=sys.stderr,
        )
    elif args.mesh_config:
        sys.stdout.write(bundle.mesh_config_yaml())
    else:
        sys.stdout.write(bundle.to_yaml(jobs=jobs))
    return EXIT_OK


def _validate(args: argparse.Namespace) -> int:
    import meshauth

    if args.manifests:
        target: Any = meshauth.load_manifests(args.manifests)
        subject = " ".join(args.manifests)
    else:
        config = meshauth.load_config(
            args.config, overlays=args.overlay, allow_plaintext_secrets=args.allow_plaintext_secrets
        )
        target, subject = meshauth.render(config), args.config
    findings = meshauth.validate(
        target,
        crds=args.crds or None,
        kubernetes_version=args.kubernetes_version,
        istio_version=args.istio_version,
    )
    failed = any(f.severity == "error" for f in findings)
    if args.output == "json":
        print(json.dumps({"findings": [f.to_dict() for f in findings], "valid": not failed}, indent=2))
    else:
        _print_findings(findings, stream=sys.stdout)
        errors = sum(f.severity == "error" for f in findings)
        print(f"{subject}: {errors} error(s), {len(findings) - errors} warning(s)")
    return EXIT_INVALID if failed else EXIT_OK


def _gitops(args: argparse.Namespace) -> int:
    repo = _gitops_repo(args)
    report = repo.write(args.output_dir)
    print(
        f"{report.directory}: {len(report.written)} written, {len(report.unchanged)} unchanged, "
        f"{len(report.removed)} removed",
        file=sys.stderr,
    )
    return EXIT_OK


def _check(args: argparse.Namespace) -> int:
    drift = _gitops_repo(args).check(args.output_dir)
    if drift.clean:
        print(f"{drift.root}: up to date ({drift.checked} files)", file=sys.stderr)
        return EXIT_OK
    sys.stdout.write(drift.diff())
    print(
        f"{drift.root}: {len(drift.files)} file(s) differ from what {args.config} renders:", file=sys.stderr
    )
    for file in drift.files:
        print(f"  {file}", file=sys.stderr)
    print("run `meshauth gitops` with the same arguments to update them", file=sys.stderr)
    return EXIT_INVALID


def _gitops_repo(args: argparse.Namespace) -> Any:
    import meshauth

    environments: dict[str, list[str]] | None = None
    for name, overlay in args.env or ():
        environments = environments or {}
        environments.setdefault(name, []).extend([overlay] if overlay else [])
    repo = meshauth.gitops(
        args.config,
        environments,
        engine=args.engine,
        repo_url=args.repo_url,
        revision=args.revision,
        path=args.path,
        allow_plaintext_secrets=args.allow_plaintext_secrets,
    )
    _print_findings([f for f in repo.warnings if f.severity == "warning"], stream=sys.stderr)
    return repo


def _schema(args: argparse.Namespace) -> int:
    from meshauth.config.schema import config_schema_text

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


def _simulate(args: argparse.Namespace) -> int:
    import meshauth

    decision = meshauth.simulate(
        args.config,
        host=args.host,
        path=args.path,
        method=args.method,
        claims=args.claims,
        port=args.port,
        overlays=args.overlay,
        allow_plaintext_secrets=args.allow_plaintext_secrets,
    )
    if args.output == "json":
        print(json.dumps(decision.to_dict(), indent=2))
    else:
        print(decision.explain() if args.verbose else str(decision))
    if args.expect and args.expect.upper() != decision.verdict:
        print(f"error: expected {args.expect.upper()}, got {decision.verdict}", file=sys.stderr)
        return EXIT_INVALID
    return EXIT_OK


def _explain(args: argparse.Namespace) -> int:
    import meshauth

    sys.stdout.write(
        meshauth.explain(
            args.config,
            format=args.format,
            overlays=args.overlay,
            allow_plaintext_secrets=args.allow_plaintext_secrets,
        )
    )
    return EXIT_OK


def _init(args: argparse.Namespace) -> int:
    import meshauth

    text = meshauth.starter_config(args.preset, args.host, name=args.name, istio_version=args.istio_version)
    findings = meshauth.validate(meshauth.render(meshauth.load_config(_yaml_mapping(text))))
    written = _write_or_print(text, args)
    if args.output == "json":
        _print_json(findings, config=None if written else text, written=written)
    elif written:
        print(
            f"{written}: written. Next: fill in identity and apps, then meshauth validate {written}",
            file=sys.stderr,
        )
    return EXIT_OK


def _import(args: argparse.Namespace) -> int:
    import meshauth

    imported = meshauth.import_manifests(
        args.paths,
        name=args.name,
        istio_version=args.istio_version,
        variables=dict(args.set),
        inline_secrets=args.inline_secrets,
    )
    written = _write_or_print(imported.text, args) if imported.valid else None
    if args.output == "json":
        differences = [vars(d) for d in imported.differences] if args.diff else None
        config = imported.text if imported.valid and not written else None
        _print_json(imported.findings, config=config, written=written, differences=differences)
        return EXIT_OK if imported.valid else EXIT_INVALID
    _print_findings(imported.findings, stream=sys.stderr)
    if args.diff:
        for difference in imported.differences:
            print(f"diff: {difference}", file=sys.stderr)
    errors = sum(f.severity == "error" for f in imported.findings)
    outcome = f"written to {written}" if written else ("printed" if imported.valid else "not written")
    print(
        f"import: {errors} error(s), {len(imported.findings) - errors} warning(s); the config is "
        f"{outcome}{' with the warnings as comments at its top' if imported.valid and imported.findings else ''}",
        file=sys.stderr,
    )
    return EXIT_OK if imported.valid else EXIT_INVALID


def _variable(text: str) -> tuple[str, str]:
    name, equals, value = text.partition("=")
    if not equals or not name.isidentifier():
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name, value


def _write_or_print(text: str, args: argparse.Namespace) -> str | None:
    """Write ``text`` to ``-o FILE`` (never over a file without --force), or print it; the path."""
    if args.output_file:
        from meshauth.files.userfiles import write_new_file

        return str(write_new_file(args.output_file, text, force=args.force))
    if args.output != "json":
        sys.stdout.write(text)
    return None


def _yaml_mapping(text: str) -> Any:
    import yaml

    return yaml.safe_load(text)


# --- output ----------------------------------------------------------------------------------------


def _print_findings(findings: Sequence[Any], stream: Any) -> None:
    from meshauth.cli.style import finding_line

    for finding in findings:
        print(finding_line(finding, stream), file=stream)


def _print_json(findings: Sequence[Any], **fields: Any) -> None:
    """The JSON report of a command: its own fields, the findings, and valid (no error finding)."""
    report = {k: v for k, v in fields.items() if v is not None}
    report["findings"] = [f.to_dict() for f in findings]
    report["valid"] = not any(f.severity == "error" for f in findings)
    print(json.dumps(report, indent=2))


def _report_error(error: MeshAuthError, output: str) -> None:
    if output == "json":
        problems = [
            {"file": p.file, "path": p.path, "message": p.message, "severity": "error"}
            for p in error.problems
        ]
        print(json.dumps({"errors": problems, "valid": False}, indent=2))
        return
    from meshauth.cli.style import severity

    for problem in error.problems:
        print(f"{severity('error', sys.stderr)}: {problem}", file=sys.stderr)


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
        "-o",
        "--output-dir",
        metavar="DIR",
        help="write one file per object, kustomization.yaml and mesh/ into DIR (atomically)",
    )
    render.add_argument(
        "--mesh-config",
        action="store_true",
        help="print only the mesh configuration (IstioOperator overlay or istiod values)",
    )
    render.add_argument(
        "--output",
        choices=("text", "json"),
        default="text",
        help="json (with -o DIR): report the files written, and the findings, as JSON on stdout",
    )
    render.add_argument(
        "--jobs",
        type=_jobs,
        metavar="N",
        help="processes that write a large bundle's YAML (default: the available cores; 1: none)",
    )

    validate = _command(
        commands,
        "validate",
        _validate,
        "check a config and its output, or hand-written manifests; write nothing",
    )
    _config_arguments(validate, optional=True)
    validate.add_argument(
        "--manifests",
        nargs="+",
        metavar="PATH",
        default=[],
        help="validate these YAML files or folders instead of a config's output",
    )
    validate.add_argument(
        "--crds",
        action="append",
        default=[],
        metavar="PATH",
        help="CustomResourceDefinition files or folders (such as `kubectl get crd -o yaml`) to "
        "validate custom resources against instead of the bundled schemas (repeatable)",
    )
    validate.add_argument(
        "--kubernetes-version",
        metavar="X.Y",
        help="target Kubernetes version (default: the config's, or 1.30 for --manifests)",
    )
    validate.add_argument(
        "--istio-version",
        metavar="X.Y",
        help="target Istio version for version checks (default: the config's, or an IstioOperator's tag)",
    )
    validate.add_argument("--output", choices=("text", "json"), default="text")

    gitops = _command(
        commands,
        "gitops",
        _gitops,
        "write a GitOps repository: every environment rendered, and the engine objects",
    )
    _gitops_arguments(gitops)
    check = _command(
        commands,
        "check",
        _check,
        "exit 1 with a diff when a GitOps repository differs from what the config renders",
    )
    _gitops_arguments(check)
    simulate = _command(
        commands,
        "simulate",
        _simulate,
        "decide one request over the rendered policies: ALLOW or DENY, and which policy decided",
    )
    _config_arguments(simulate)
    simulate.add_argument("--host", required=True, help="the Host header, e.g. app.example.com")
    simulate.add_argument("--path", required=True, help="the request path, e.g. /admin?x=1")
    simulate.add_argument("--method", default="GET")
    simulate.add_argument("--port", type=int, help="gateway port (default 443 for an HTTPS host)")
    who = simulate.add_mutually_exclusive_group()
    who.add_argument("--anonymous", action="store_true", help="no login session (the default)")
    who.add_argument(
        "--claims",
        metavar="JSON",
        type=_claims,
        help='a signed-in user: the ID token\'s claims, e.g. \'{"email": "a@example.com"}\'',
    )
    simulate.add_argument(
        "--expect", choices=("allow", "deny"), help="exit 1 unless the decision is this (for CI)"
    )
    simulate.add_argument("-v", "--verbose", action="store_true", help="print every step")
    simulate.add_argument("--output", choices=("text", "json"), default="text")

    explain = _command(
        commands,
        "explain",
        _explain,
        "print who may reach each app (hosts, public paths, conditions), from the rendered policies",
    )
    _config_arguments(explain)
    explain.add_argument("--format", choices=("text", "markdown"), default="text")
    init = _command(commands, "init", _init, "write a commented starter config that renders as is")
    from meshauth.config.presets import PRESET_NAMES

    init.add_argument(
        "--preset",
        default="generic",
        metavar="NAME",
        help=f"identity provider preset: {', '.join(PRESET_NAMES)} (default: generic)",
    )
    init.add_argument(
        "--host",
        action="append",
        default=[],
        metavar="HOST",
        help="an app's host name, such as grafana.example.com (repeatable: one app per host)",
    )
    init.add_argument("--name", default="sso", help="metadata.name, the prefix of generated names")
    init.add_argument(
        "--istio-version", default="1.30", metavar="X.Y", help="the Istio you run (default: 1.30)"
    )
    _file_output_arguments(init, "the config")

    imports = _command(
        commands,
        "import",
        _import,
        "write the config equivalent to hand-written manifests or a blog's shell script",
    )
    imports.add_argument("paths", nargs="+", metavar="PATH", help="a file, a folder, or - for stdin")
    imports.add_argument("--name", default="sso", help="metadata.name, the prefix of generated names")
    imports.add_argument(
        "--istio-version",
        metavar="X.Y",
        help="the Istio you run (default: found in the manifests, or guessed with a warning)",
    )
    imports.add_argument(
        "--set",
        action="append",
        default=[],
        type=_variable,
        metavar="NAME=VALUE",
        help="a shell variable the manifests use, such as DOMAIN=example.com (repeatable)",
    )
    imports.add_argument(
        "--inline-secrets",
        action="store_true",
        help="copy the client and cookie secrets into the config (source: inline; plain text in Git)",
    )
    imports.add_argument(
        "--diff",
        action="store_true",
        help="also list how meshauth's rendering differs from the manifests, object by object",
    )
    _file_output_arguments(imports, "the config")

    _command(commands, "schema", _schema, "print the JSON Schema of the config file")
    _command(commands, "cookie-secret", _cookie_secret, "print a fresh cookie secret (32 bytes)")

    discover = _command(
        commands,
        "discover",
        _discover,
        "read an issuer's OpenID Connect discovery document into spec.identity",
    )
    discover.add_argument("issuer_url", metavar="ISSUER_URL", help="the issuer, as tokens carry it")
    discover.add_argument(
        "--insecure",
        action="store_true",
        help="allow plain http:// (a local test IdP); TLS certificates are always verified",
    )
    discover.add_argument(
        "--timeout", type=_seconds, default=10.0, metavar="S", help="seconds to wait (default 10)"
    )
    discover.add_argument(
        "--write",
        metavar="CONFIG",
        help="merge the result into CONFIG's spec.identity (the rest of the file is kept as is)",
    )
    return parser


def _command(
    commands: Any, name: str, run: Callable[[argparse.Namespace], int], help: str
) -> argparse.ArgumentParser:
    command = commands.add_parser(name, help=help, description=help)
    command.set_defaults(run=run)
    return command


def _config_arguments(command: argparse.ArgumentParser, optional: bool = False) -> None:
    command.add_argument(
        "config", metavar="CONFIG", help="the meshauth.yaml file", nargs="?" if optional else None
    )
    command.add_argument(
        "--overlay",
        action="append",
        default=[],
        metavar="FILE",
        help="a partial config deep-merged onto CONFIG (repeatable, applied in order)",
    )
    command.add_argument(
        "--allow-plaintext-secrets",
        action="store_true",
        help="accept secret.source inline (plain-text secrets in the output)",
    )


def _gitops_arguments(command: argparse.ArgumentParser) -> None:
    command.add_argument("config", metavar="CONFIG", help="the meshauth.yaml file")
    command.add_argument(
        "--env",
        action="append",
        type=_environment,
        metavar="NAME[=OVERLAY]",
        help="an environment and its overlay (repeatable; repeat a NAME to stack overlays); "
        "replaces spec.gitops.environments",
    )
    command.add_argument(
        "-o",
        "--output-dir",
        metavar="REPO",
        required=True,
        help="the repository checkout; the tree goes into REPO/PREFIX",
    )
    command.add_argument("--engine", choices=("argocd", "flux"), help="default: spec.gitops.engine, argocd")
    command.add_argument("--repo-url", metavar="URL", help="the Git URL the engine pulls")
    command.add_argument("--revision", metavar="REV", help="branch, tag, full ref or commit; default main")
    command.add_argument("--path", metavar="PREFIX", help="folder of the tree inside the repository")
    command.add_argument(
        "--allow-plaintext-secrets",
        action="store_true",
        help="accept secret.source inline (plain-text secrets in the output)",
    )


def _environment(text: str) -> tuple[str, str]:
    name, _, overlay = text.partition("=")
    if not name:
        raise argparse.ArgumentTypeError(f"{text!r}: expected NAME or NAME=OVERLAY")
    return name, overlay


def _claims(text: str) -> dict[str, Any]:
    from meshauth.authz.simulate import parse_claims
    from meshauth.errors import MeshAuthError

    try:
        return parse_claims(text)
    except MeshAuthError as error:
        raise argparse.ArgumentTypeError(error.problems[0].message) from None


def _file_output_arguments(command: argparse.ArgumentParser, what: str) -> None:
    command.add_argument(
        "-o", "--output-file", metavar="FILE", help=f"write {what} to FILE instead of stdout"
    )
    command.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    command.add_argument(
        "--output",
        choices=("text", "json"),
        default="text",
        help="json: print a machine-readable report on stdout",
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
