"""The commands that help write a config: ``init``, ``import``, ``schema``, ``cookie-secret`` and
``discover``."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from typing import Any

from meshauth.cli.arguments import (
    add_command,
    dns_label,
    file_output_arguments,
    host_name,
    istio_version,
)
from meshauth.cli.output import EXIT_INVALID, EXIT_OK, print_findings, print_json, write_or_print


def add_commands(commands: Any) -> None:
    init = add_command(
        commands, "init", _init, "write a commented starter config that renders as is", _init_usage_error
    )
    from meshauth.config.presets import PRESET_NAMES

    init.add_argument(
        "--preset",
        default="generic",
        choices=PRESET_NAMES,
        metavar="NAME",
        help=f"identity provider preset: {', '.join(PRESET_NAMES)} (default: generic)",
    )
    init.add_argument(
        "--host",
        action="append",
        default=[],
        type=host_name,
        metavar="HOST",
        help="an app's host name, such as grafana.example.com (repeatable: one app per host)",
    )
    init.add_argument(
        "--name", default="sso", type=dns_label, help="metadata.name, the prefix of generated names"
    )
    init.add_argument(
        "--istio-version",
        default="1.30",
        type=istio_version,
        metavar="X.Y",
        help="the Istio you run (default: 1.30)",
    )
    file_output_arguments(init, "the config")

    imports = add_command(
        commands,
        "import",
        _import,
        "write the config equivalent to hand-written manifests or a blog's shell script",
    )
    imports.add_argument("paths", nargs="+", metavar="PATH", help="a file, a folder, or - for stdin")
    imports.add_argument(
        "--name", default="sso", type=dns_label, help="metadata.name, the prefix of generated names"
    )
    imports.add_argument(
        "--istio-version",
        type=istio_version,
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
    file_output_arguments(imports, "the config")

    add_command(commands, "schema", _schema, "print the JSON Schema of the config file")
    add_command(commands, "cookie-secret", _cookie_secret, "print a fresh cookie secret (32 bytes)")

    discover = add_command(
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


def _init(args: argparse.Namespace) -> int:
    import meshauth

    text = meshauth.starter_config(args.preset, args.host, name=args.name, istio_version=args.istio_version)
    findings = meshauth.validate(meshauth.render(meshauth.load_config(_yaml_mapping(text))))
    written = write_or_print(text, args)
    if written:
        from meshauth.cli.places import config_findings

        findings = config_findings(findings, written)
    if args.output == "json":
        print_json(findings, config=None if written else text, written=written)
    elif written:
        print(
            f"{written}: written. Next: fill in identity and apps, then meshauth validate {written}",
            file=sys.stderr,
        )
    return EXIT_OK


def _init_usage_error(args: argparse.Namespace) -> str | None:
    if len(set(args.host)) != len(args.host):
        return "argument --host: a host is given twice (one app per host)"
    return None


def _import(args: argparse.Namespace) -> int:
    import meshauth

    imported = meshauth.import_manifests(
        args.paths,
        name=args.name,
        istio_version=args.istio_version,
        variables=dict(args.set),
        inline_secrets=args.inline_secrets,
    )
    written = write_or_print(imported.text, args) if imported.valid else None
    from meshauth.cli.places import manifest_findings

    imported = dataclasses.replace(
        imported, findings=tuple(manifest_findings(imported.findings, " ".join(args.paths)))
    )
    if args.output == "json":
        differences = [vars(d) for d in imported.differences] if args.diff else None
        config = imported.text if imported.valid and not written else None
        print_json(imported.findings, config=config, written=written, differences=differences)
        return EXIT_OK if imported.valid else EXIT_INVALID
    print_findings(imported.findings, stream=sys.stderr)
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


def _schema(args: argparse.Namespace) -> int:
    from meshauth.config.schema import config_schema_text

    sys.stdout.write(config_schema_text())
    return EXIT_OK


def _cookie_secret(args: argparse.Namespace) -> int:
    import base64
    import secrets

    print(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())
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


def _variable(text: str) -> tuple[str, str]:
    name, equals, value = text.partition("=")
    if not equals or not name.isidentifier():
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name, value


def _yaml_mapping(text: str) -> Any:
    from meshauth.files.yamlread import load_yaml

    return load_yaml(text)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 < value <= 600:
        raise argparse.ArgumentTypeError("must be more than 0 and at most 600 seconds")
    return value
