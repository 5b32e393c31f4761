"""``meshauth simulate`` and ``meshauth explain``: who gets in, for one request or for every app."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from meshauth.cli.arguments import add_command, config_arguments, port
from meshauth.cli.output import EXIT_INVALID, EXIT_OK


def add_commands(commands: Any) -> None:
    simulate = add_command(
        commands,
        "simulate",
        _simulate,
        "decide one request over the rendered policies: ALLOW or DENY, and which policy decided",
    )
    config_arguments(simulate)
    simulate.add_argument("--host", required=True, help="the Host header, e.g. app.example.com")
    simulate.add_argument("--path", required=True, help="the request path, e.g. /admin?x=1")
    simulate.add_argument(
        "--method", default="GET", help="the request method, as the client sends it (default: GET)"
    )
    simulate.add_argument("--port", type=port, help="gateway port (default 443 for an HTTPS host)")
    who = simulate.add_mutually_exclusive_group()
    who.add_argument("--anonymous", action="store_true", help="no login session (the default)")
    who.add_argument(
        "--claims",
        metavar="JSON",
        type=_claims,
        help='a signed-in user: the ID token\'s claims, e.g. \'{"email": "a@example.com"}\'',
    )
    simulate.add_argument(
        "--header",
        metavar="NAME=VALUE",
        action="append",
        type=_header,
        default=[],
        help="a header the client sends (repeatable); simulate shows the headers the app receives",
    )
    simulate.add_argument(
        "--expect",
        choices=("allow", "deny"),
        help="exit 1 unless the decision is this (for CI); a request the bundle does not decide always exits 1",
    )
    simulate.add_argument("-v", "--verbose", action="store_true", help="print every step")
    simulate.add_argument(
        "--output",
        choices=("text", "json"),
        default="text",
        help="json: print the decision and every step as JSON on stdout",
    )

    explain = add_command(
        commands,
        "explain",
        _explain,
        "print who may reach each app (hosts, public paths, conditions), from the rendered policies",
    )
    config_arguments(explain)
    explain.add_argument(
        "--format",
        choices=("text", "markdown"),
        default="text",
        help="markdown: a table per app, to paste into a pull request (default: text)",
    )


def _simulate(args: argparse.Namespace) -> int:
    import meshauth

    decision = meshauth.simulate(
        args.config,
        host=args.host,
        path=args.path,
        method=args.method,
        claims=args.claims,
        port=args.port,
        headers=dict(args.header),
        overlays=args.overlay,
        allow_plaintext_secrets=args.allow_plaintext_secrets,
    )
    if args.output == "json":
        print(json.dumps(decision.to_dict(), indent=2))
    elif decision.headers and not args.verbose:
        print(str(decision))
        print("headers the app receives:")
        for header in decision.headers:
            print(f"  {header}")
    else:
        print(decision.explain() if args.verbose else str(decision))
    if not decision.decided:  # never a pass, whatever --expect says
        print(f"error: the bundle does not decide this request: {decision.reason}", file=sys.stderr)
        return EXIT_INVALID
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


def _claims(text: str) -> dict[str, Any]:
    from meshauth.authz.simulate import parse_claims
    from meshauth.errors import MeshAuthError

    try:
        return parse_claims(text)
    except MeshAuthError as error:
        raise argparse.ArgumentTypeError(error.problems[0].message) from None


def _header(text: str) -> tuple[str, str]:
    from meshauth.authz.simulate import parse_header
    from meshauth.errors import MeshAuthError

    try:
        return parse_header(text)
    except MeshAuthError as error:
        raise argparse.ArgumentTypeError(error.problems[0].message) from None
