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
    command.set_defaults(run=run, check=check, command_parser=command)
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


# --- argument types: a wrong value is a usage error (exit 2), found before any command runs ---------
# Each imports what it checks with only when called, so that building the parser (and --help) stays fast.


def istio_version(text: str) -> str:
    """``--istio-version X.Y``: a version meshauth can target."""
    from meshauth.compat.versions import MIN_ISTIO, istio_version_problem

    version = _major_minor(text)
    if version is None or istio_version_problem(version):
        raise argparse.ArgumentTypeError(
            f'must be "MAJOR.MINOR", {MIN_ISTIO[0]}.{MIN_ISTIO[1]} or newer, such as 1.30 (got {text!r})'
        )
    return text


def kubernetes_version(text: str) -> str:
    """``--kubernetes-version X.Y``: a version whose schemas meshauth ships."""
    from meshauth.compat.versions import kubernetes_version_problem

    version = _major_minor(text)
    problem = kubernetes_version_problem(version) if version else None
    if version is None or problem:
        raise argparse.ArgumentTypeError(f"{problem or 'must be MAJOR.MINOR, such as 1.30'} (got {text!r})")
    return text


def host_name(text: str) -> str:
    """A fully qualified host name in lowercase, as an app's ``host`` takes it."""
    from meshauth.config.fieldtypes import HOST_RULE, is_host

    if not is_host(text):
        raise argparse.ArgumentTypeError(f"{HOST_RULE[:-1]}; got {text!r})")
    return text


def dns_label(text: str) -> str:
    """A name used in generated object names: lowercase letters, digits and '-', at most 63."""
    from meshauth.config.fieldtypes import is_dns_label

    if not is_dns_label(text):
        raise argparse.ArgumentTypeError(
            f"must be a DNS label: lowercase letters, digits and '-', at most 63 (got {text!r})"
        )
    return text


def port(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"must be a port number from 1 to 65535 (got {text!r})")
    return int(text)


def config_value(field: str) -> Callable[[str], str]:
    """The type of an option that overrides a ``spec.gitops`` field: checked as the config checks it."""

    def check(text: str) -> str:
        from pydantic import ValidationError

        from meshauth.config.gitops import GitOps

        try:
            GitOps.model_validate({field: text})
        except ValidationError as error:
            message = str(error.errors(include_url=False, include_input=False)[0]["msg"])
            raise argparse.ArgumentTypeError(message.removeprefix("Value error, ")) from None
        return text

    return check


def _major_minor(text: str) -> tuple[int, int] | None:
    major, dot, minor = text.partition(".")
    if not (dot and major.isdigit() and minor.isdigit() and major.isascii() and minor.isascii()):
        return None
    return int(major), int(minor)
