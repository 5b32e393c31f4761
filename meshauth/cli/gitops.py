"""``meshauth gitops`` and ``meshauth check``: write a GitOps repository, or find where it drifted."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from typing import Any

from meshauth.cli.arguments import add_command, config_value, dns_label
from meshauth.cli.output import EXIT_INVALID, EXIT_OK, print_findings


def add_commands(commands: Any) -> None:
    gitops = add_command(
        commands,
        "gitops",
        _gitops,
        "write a GitOps repository: every environment rendered, and the engine objects",
    )
    _gitops_arguments(gitops)
    check = add_command(
        commands,
        "check",
        _check,
        "exit 1 with a diff when a GitOps repository differs from what the config renders",
    )
    _gitops_arguments(check)


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
    print_findings(
        _located([f for f in repo.warnings if f.severity == "warning"], repo, args.config), sys.stderr
    )
    return repo


def _located(findings: list[Any], repo: Any, config: str) -> list[Any]:
    """Each environment's findings naming the config or overlay they stem from, each line once."""
    from meshauth.cli.places import config_findings, unique

    located = []
    for env in repo.environments:
        label = f"environment {env.name}"  # what meshauth.gitops names an environment's findings by
        mine = [dataclasses.replace(f, file="") for f in findings if f.file == label]
        located += config_findings(mine, config, env.overlays)
    labels = {f"environment {env.name}" for env in repo.environments}
    return unique(located + [f for f in findings if f.file not in labels])


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
    command.add_argument(
        "--repo-url", type=config_value("repoUrl"), metavar="URL", help="the Git URL the engine pulls"
    )
    command.add_argument(
        "--revision",
        type=config_value("revision"),
        metavar="REV",
        help="branch, tag, full ref or commit; default main",
    )
    command.add_argument(
        "--path",
        type=config_value("path"),
        metavar="PREFIX",
        help="folder of the tree inside the repository",
    )
    command.add_argument(
        "--allow-plaintext-secrets",
        action="store_true",
        help="accept secret.source inline (plain-text secrets in the output)",
    )


def _environment(text: str) -> tuple[str, str]:
    name, _, overlay = text.partition("=")
    if not name:
        raise argparse.ArgumentTypeError(f"{text!r}: expected NAME or NAME=OVERLAY")
    try:
        dns_label(name)
    except argparse.ArgumentTypeError as error:
        raise argparse.ArgumentTypeError(f"environment name {error}") from None
    return name, overlay
