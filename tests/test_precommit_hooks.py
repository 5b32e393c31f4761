""".pre-commit-hooks.yaml: a GitOps repository runs meshauth validate and check as pre-commit hooks."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
import yaml
from test_cli import run

from meshauth.cli.main import build_parser
from meshauth.starter.starter import starter_config

ROOT = Path(__file__).resolve().parents[1]
HOOKS = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())


@pytest.mark.parametrize("hook", HOOKS, ids=lambda h: h["id"])
def test_each_hook_runs_a_real_meshauth_subcommand_with_its_default_args(hook):
    assert {"id", "name", "entry", "language"} <= hook.keys()
    assert hook["language"] == "python"  # pre-commit installs this repository's package
    program, *words = shlex.split(hook["entry"])
    assert program == "meshauth"  # the console script of [project.scripts]
    args = build_parser().parse_args([*words, *hook.get("args", [])])
    assert args.command == words[0]


def test_the_hooks_pass_on_a_fresh_repository(tmp_path):
    """As pre-commit runs them: from the repository root, with the default args."""
    gitops = "  gitops:\n    repoUrl: https://git.acme.io/platform.git\n    environments: {prod: []}\n"
    (tmp_path / "meshauth.yaml").write_text(starter_config("google") + gitops)
    assert run("gitops", "meshauth.yaml", "-o", ".", cwd=tmp_path).returncode == 0
    for hook in HOOKS:
        result = run(*shlex.split(hook["entry"])[1:], *hook["args"], cwd=tmp_path)
        assert result.returncode == 0, (hook["id"], result.stdout, result.stderr)
    next(tmp_path.glob("**/kustomization.yaml")).write_text("# edited by hand\n")
    check = next(h for h in HOOKS if h["id"] == "meshauth-check")
    assert run(*shlex.split(check["entry"])[1:], *check["args"], cwd=tmp_path).returncode == 1  # drift


def test_the_documented_config_uses_the_hooks_this_repository_ships():
    text = (ROOT / "docs" / "gitops.md").read_text()
    section = text.split("### Before every commit", 1)[1].split("\n### ", 1)[0]
    config = yaml.safe_load(section.split("```yaml\n", 1)[1].split("```", 1)[0])
    documented = config["repos"][0]["hooks"]
    assert {h["id"] for h in documented} == {h["id"] for h in HOOKS}
    for hook in documented:
        entry = next(h["entry"] for h in HOOKS if h["id"] == hook["id"])
        build_parser().parse_args([*shlex.split(entry)[1:], *hook["args"]])
