"""Building blocks of the command line shared by several commands: registering a command, and the
argument groups that read a config or write a file."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

Check = Callable[[argparse.Namespace], str | None]


def add_command(
    commands: Any,
    name: str,
    run: Callable[[argparse.Namespace], int],
    help: str,
    check: Check | None = None,
) -> argparse.ArgumentParser:
    """Add the subcommand ``name``; ``check`` returns a usage error that argparse cannot see, if any."""
    command: argparse.ArgumentParser = commands.add_parser(name, help=help, description=help)
    command.set_defaults(run=run, check=check)
    return command


def config_arguments(command: argparse.ArgumentParser, optional: bool = False) -> None:
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


def file_output_arguments(command: argparse.ArgumentParser, what: str) -> None:
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
