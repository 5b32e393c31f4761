"""``meshauth render`` and ``meshauth validate``: render a config, check a config or manifests."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from meshauth.cli.arguments import add_command, config_arguments, istio_version, kubernetes_version
from meshauth.cli.output import EXIT_INVALID, EXIT_OK, print_findings, print_json


def add_commands(commands: Any) -> None:
    render = add_command(
        commands, "render", _render, "render every manifest (stdout, or -o DIR)", _render_usage_error
    )
    config_arguments(render)
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

    validate = add_command(
        commands,
        "validate",
        _validate,
        "check a config and its output, or hand-written manifests; write nothing",
        _validate_usage_error,
    )
    config_arguments(validate, optional=True)
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
        type=kubernetes_version,
        metavar="X.Y",
        help="target Kubernetes version (default: the config's, or 1.30 for --manifests)",
    )
    validate.add_argument(
        "--istio-version",
        type=istio_version,
        metavar="X.Y",
        help="target Istio version for version checks (default: the config's, or an IstioOperator's tag)",
    )
    validate.add_argument(
        "--output",
        choices=("text", "json"),
        default="text",
        help="json: print the findings as JSON on stdout",
    )


def _render_usage_error(args: argparse.Namespace) -> str | None:
    if args.mesh_config and args.output_dir:
        return "--mesh-config prints to stdout; with -o DIR the mesh config is in DIR/mesh/"
    if args.output == "json" and not args.output_dir:
        return "--output json reports on a write: add -o DIR (without it, stdout is the YAML)"
    return None


def _validate_usage_error(args: argparse.Namespace) -> str | None:
    if (args.config is None) == (not args.manifests):
        return "give either CONFIG or --manifests PATH... (not both)"
    return None


def _render(args: argparse.Namespace) -> int:
    import meshauth
    from meshauth.cli.places import config_findings

    config = meshauth.load_config(
        args.config, overlays=args.overlay, allow_plaintext_secrets=args.allow_plaintext_secrets
    )
    bundle = meshauth.render(config)
    findings = config_findings(meshauth.validate(bundle), args.config, args.overlay)
    if any(f.severity == "error" for f in findings):
        raise meshauth.ValidationFailed([f for f in findings if f.severity == "error"])
    jobs = args.jobs or _available_cores()
    if args.output == "json":
        report = bundle.write(args.output_dir, jobs=jobs)
        print_json(
            findings,
            directory=str(report.directory),
            written=list(report.written),
            unchanged=list(report.unchanged),
            removed=list(report.removed),
        )
        return EXIT_OK
    print_findings([f for f in findings if f.severity == "warning"], stream=sys.stderr)
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
    from meshauth.cli.places import config_findings, manifest_findings

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
    if not args.manifests:
        from meshauth.config.placeholders import placeholders

        # A starter's stand-ins (example.com, the 1234… client id) render fine; validate says which
        # are left before anyone applies them (Let's Encrypt refuses an example.com contact).
        findings = [*findings, *placeholders(config.spec)]
    if args.manifests:
        findings = manifest_findings(findings, subject)
    else:
        findings = config_findings(findings, args.config, args.overlay)
    failed = any(f.severity == "error" for f in findings)
    if args.output == "json":
        print(json.dumps({"findings": [f.to_dict() for f in findings], "valid": not failed}, indent=2))
    else:
        print_findings(findings, stream=sys.stdout)
        errors = sum(f.severity == "error" for f in findings)
        print(f"{subject}: {errors} error(s), {len(findings) - errors} warning(s)")
    return EXIT_INVALID if failed else EXIT_OK


def _jobs(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of processes, at least 1 (got {text!r})")
    return int(text)


def _available_cores() -> int:
    from meshauth._util.parallel import available_cores

    return available_cores()
