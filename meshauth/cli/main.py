"""The command line: parse arguments, call the public API, print. Nothing else lives here.

Each command (or group of related commands) is a module of :mod:`meshauth.cli` that registers its
arguments and runs the command; they import the heavy parts of meshauth only when they run, so
that ``--help`` stays fast. Exit codes (contract section 2): 0 success (warnings allowed), 1 invalid
input or output, 2 a wrong command line. :class:`MeshAuthError` is mapped to 1 here and only here.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from meshauth.cli import access, authoring, gitops, rendering
from meshauth.cli.output import EXIT_INVALID, EXIT_OK, report_error
from meshauth.errors import MeshAuthError


def main(argv: Sequence[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):
        _write_utf8(stream)
    parser = build_parser()
    words = list(sys.argv[1:] if argv is None else argv)
    args, unknown = parser.parse_known_args(words)
    command: argparse.ArgumentParser = args.command_parser  # set by add_command
    if unknown:  # the usage of the parser the unknown word was given to: the command's, mostly
        before_command = unknown[0] in words and words.index(unknown[0]) < words.index(args.command)
        (parser if before_command else command).error(f"unrecognized arguments: {' '.join(unknown)}")
    problem = args.check(args) if args.check else None
    if problem:
        command.error(problem)
    try:
        run: Callable[[argparse.Namespace], int] = args.run  # set by add_command
        return run(args)
    except MeshAuthError as error:
        report_error(error, getattr(args, "output", "text"))
        return EXIT_INVALID
    except BrokenPipeError:  # `meshauth render ... | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="meshauth",
        description="OIDC single sign-on for apps on an Istio mesh: one typed config in, "
        "validated Kubernetes manifests out.",
    )
    parser.add_argument("--version", action="version", version=f"meshauth {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    rendering.add_commands(commands)
    gitops.add_commands(commands)
    access.add_commands(commands)
    authoring.add_commands(commands)
    return parser


def _write_utf8(stream: object) -> None:
    """Output is UTF-8 bytes whatever the locale (an ASCII or Latin-1 stdout would crash or differ)."""
    import codecs

    encoding, reconfigure = getattr(stream, "encoding", None), getattr(stream, "reconfigure", None)
    if reconfigure is not None and encoding and codecs.lookup(encoding).name != "utf-8":
        reconfigure(encoding="utf-8")


def _version() -> str:
    from meshauth import __version__

    return __version__
