"""The command line behaves the same in every command: findings name their file, a wrong command line
exits 2 with the command's own usage, every option says what it does, and nothing prints a traceback."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

import pytest
import yaml
from conftest import ROOT
from test_cli import QUICKSTART, run
from test_cli_output import seed_with_warning

import meshauth
from meshauth.cli.main import build_parser, main
from meshauth.cli.places import CONFIG_FIELDS, config_findings, manifest_findings, unique
from meshauth.findings import Finding

REPO_URL = "https://github.com/acme/platform.git"
REFRESH = "spec.oauth2Proxy.cookie.refresh"


def subcommands():
    parser = build_parser()
    (choices,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return parser, dict(choices.choices)


# the arguments each command needs, so that only the option under test is wrong
REQUIRED = {
    "render": [QUICKSTART],
    "validate": [QUICKSTART],
    "gitops": [QUICKSTART, "-o", "REPO"],
    "check": [QUICKSTART, "-o", "REPO"],
    "simulate": [QUICKSTART, "--host", "a.example.com", "--path", "/"],
    "explain": [QUICKSTART],
    "init": [],
    "import": ["x.yaml"],
    "schema": [],
    "cookie-secret": [],
    "discover": ["https://sso.example.com"],
}


def test_every_command_is_covered_here():
    assert set(subcommands()[1]) == set(REQUIRED)


# --- help ------------------------------------------------------------------------------------------


def test_every_option_and_argument_has_a_help_line():
    parser, commands = subcommands()
    missing = [
        f"{name} {'/'.join(action.option_strings) or action.dest}"
        for name, command in [("meshauth", parser), *commands.items()]
        for action in command._actions
        if not isinstance(action, argparse._SubParsersAction) and not (action.help or "").strip()
    ]
    assert missing == []


# --- usage errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize("command", sorted(REQUIRED))
def test_a_wrong_option_prints_the_commands_own_usage(command, capsys, tmp_path):
    args = [str(tmp_path) if a == "REPO" else str(a) for a in REQUIRED[command]]
    with pytest.raises(SystemExit) as exited:
        main([command, *args, "--bogus"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"usage: meshauth {command} ")
    assert f"meshauth {command}: error: unrecognized arguments: --bogus" in err


def test_a_wrong_option_before_the_command_prints_the_top_level_usage(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["--bogus", "render", str(QUICKSTART)])
    assert exited.value.code == 2
    assert capsys.readouterr().err.startswith("usage: meshauth [-h]")


WRONG_VALUES = [
    (["init", "--preset", "foo"], "argument --preset: invalid choice: 'foo'"),
    (["init", "--host", "Grafana"], "argument --host: must be a fully qualified host name"),
    (["init", "--host", "a.example.com", "--host", "a.example.com"], "a host is given twice"),
    (["init", "--name", "SSO"], "argument --name: must be a DNS label"),
    (["init", "--istio-version", "1.2"], 'argument --istio-version: must be "MAJOR.MINOR", 1.6 or newer'),
    (["init", "--istio-version", "latest"], "argument --istio-version:"),
    (["import", "x.yaml", "--name", "a_b"], "argument --name: must be a DNS label"),
    (["import", "x.yaml", "--istio-version", "1"], "argument --istio-version:"),
    (["validate", QUICKSTART, "--kubernetes-version", "one"], "argument --kubernetes-version:"),
    (
        ["validate", QUICKSTART, "--kubernetes-version", "1.2"],
        "argument --kubernetes-version: must be between",
    ),
    (["validate", QUICKSTART, "--istio-version", "1.x"], "argument --istio-version:"),
    (["validate", QUICKSTART, "--output", "yaml"], "argument --output: invalid choice"),
    (["simulate", *REQUIRED["simulate"], "--port", "0"], "argument --port: must be a port number"),
    (["simulate", *REQUIRED["simulate"], "--port", "http"], "argument --port: must be a port number"),
    (["simulate", *REQUIRED["simulate"], "--claims", "[" * 100_000], "argument --claims: --claims is nested"),
    (["explain", QUICKSTART, "--format", "html"], "argument --format: invalid choice"),
    (["gitops", QUICKSTART, "-o", "REPO", "--engine", "foo"], "argument --engine: invalid choice"),
    (["gitops", QUICKSTART, "-o", "REPO", "--repo-url", "github.com"], "argument --repo-url: must be a Git"),
    (
        ["check", QUICKSTART, "-o", "REPO", "--revision", "main branch"],
        "argument --revision: must be a Git branch",
    ),
    (["gitops", QUICKSTART, "-o", "REPO", "--path", "../up"], "argument --path: must be a relative folder"),
    (["gitops", QUICKSTART, "-o", "REPO", "--env", "Prod"], "argument --env: environment name must be a DNS"),
    (["render", QUICKSTART, "--jobs", "0"], "argument --jobs:"),
    (["discover", "https://sso.example.com", "--timeout", "-1"], "argument --timeout:"),
]


@pytest.mark.parametrize(
    ("args", "message"),
    WRONG_VALUES,
    ids=[" ".join(map(str, a[2:] if a[1] == QUICKSTART else a)) for a, _ in WRONG_VALUES],
)
def test_a_wrong_value_exits_2_with_the_commands_usage_before_anything_runs(args, message, capsys, tmp_path):
    argv = [str(tmp_path / "repo") if a == "REPO" else str(a) for a in args]
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"usage: meshauth {args[0]} ") and message in err
    assert not (tmp_path / "repo").exists()


def test_deeply_nested_claims_print_no_traceback():
    result = run("simulate", *REQUIRED["simulate"], "--claims", "[" * 100_000)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "usage: meshauth simulate" in result.stderr


# --- findings name their file ----------------------------------------------------------------------


def finding_lines(text):
    return [line for line in text.splitlines() if " warning " in line or " error " in line]


def test_validate_points_every_finding_at_the_config_and_ma018_at_the_refresh_field(tmp_path):
    config = seed_with_warning(tmp_path)
    result = run("validate", config)
    lines = finding_lines(result.stdout)
    assert lines and all(line.startswith(f"{config}: spec.") for line in lines), lines
    assert any(line.startswith(f"{config}: {REFRESH}: warning MA018: ") for line in lines), lines
    assert "Deployment" not in result.stdout


def test_render_warnings_name_the_config_file(tmp_path):
    config = seed_with_warning(tmp_path)
    result = run("render", config)
    assert result.returncode == 0
    lines = finding_lines(result.stderr)
    assert f"{config}: {REFRESH}: warning MA018: " in result.stderr
    assert lines and all(line.startswith(f"{config}: ") for line in lines), lines


def test_a_finding_about_a_field_an_overlay_sets_names_the_overlay(tmp_path):
    config = seed_with_warning(tmp_path)
    data = yaml.safe_load(config.read_text())
    data["spec"]["oauth2Proxy"]["cookie"]["refresh"] = "15m"  # no warning in the base file
    config.write_text(yaml.safe_dump(data))
    overlay = tmp_path / "prod.yaml"
    overlay.write_text("spec:\n  oauth2Proxy:\n    cookie:\n      refresh: 2h\n")
    result = run("validate", config, "--overlay", overlay)
    assert f"{overlay}: {REFRESH}: warning MA018: " in result.stdout
    assert "MA018" not in run("validate", config).stdout


def test_json_findings_carry_the_same_file_and_path(tmp_path):
    config = seed_with_warning(tmp_path)
    for args in (["validate", config], ["render", config, "-o", tmp_path / "out"]):
        report = json.loads(run(*args, "--output", "json").stdout)
        (finding,) = [f for f in report["findings"] if f["rule"] == "MA018"]
        assert (finding["file"], finding["object"], finding["path"]) == (str(config), "", REFRESH)
        assert all(f["file"] for f in report["findings"])


def test_gitops_warnings_name_the_file_once_instead_of_the_environment(tmp_path):
    config = seed_with_warning(tmp_path)
    overlay = tmp_path / "prod.yaml"
    overlay.write_text("spec:\n  oauth2Proxy:\n    cookie:\n      refresh: 2h\n")
    result = run(
        "gitops",
        config,
        "--env",
        "dev",
        "--env",
        f"prod={overlay}",
        "--repo-url",
        REPO_URL,
        "-o",
        tmp_path / "r",
    )
    assert result.returncode == 0, result.stderr
    lines = finding_lines(result.stderr)
    assert f"{config}: {REFRESH}: warning MA018: " in result.stderr  # dev: the base file's 1h
    assert f"{overlay}: {REFRESH}: warning MA018: " in result.stderr  # prod: the overlay's 2h
    assert len(lines) == len(set(lines)), lines  # the base config's warnings once, not per environment
    assert "environment " not in result.stderr


def test_manifest_findings_about_no_object_name_the_paths_given():
    loose = Finding("MA001", "warning", "not checked")
    placed = Finding("schema", "error", "bad", object="Service a/b", path="spec", file="k8s/b.yaml")
    assert manifest_findings([loose, placed], "k8s/") == [
        Finding("MA001", "warning", "not checked", file="k8s/"),
        placed,
    ]


def test_only_the_listed_rules_move_from_the_rendered_object_to_the_config_field():
    rendered = {
        "object": "Deployment oauth2-proxy/oauth2-proxy",
        "path": "spec.template.spec.containers[0].args[11]",
    }
    moved, kept = config_findings(
        [Finding("MA018", "warning", "m", **rendered), Finding("MA072", "warning", "m", **rendered)], "c.yaml"
    )
    assert (moved.object, moved.path, moved.file) == ("", CONFIG_FIELDS["MA018"], "c.yaml")
    assert (kept.object, kept.path, kept.file) == (rendered["object"], rendered["path"], "c.yaml")


def test_the_origin_follows_list_items_and_quoted_keys(tmp_path):
    base, overlay = tmp_path / "base.yaml", tmp_path / "overlay.yaml"
    base.write_text("spec:\n  apps: [{host: a.example.com}]\n")
    overlay.write_text("spec:\n  apps: [{host: b.example.com}]\n  labels: {'a.b/c': x}\n")
    findings = [
        Finding("config", "warning", "m", path="spec.apps[0].host"),
        Finding("config", "warning", "m", path="spec.labels['a.b/c']"),
        Finding("config", "warning", "m", path="spec.tls"),
    ]
    files = [f.file for f in config_findings(findings, str(base), [str(overlay)])]
    assert files == [str(overlay), str(overlay), str(base)]


def test_unique_keeps_the_first_of_each_in_order():
    a, b = Finding("x", "warning", "a"), Finding("x", "warning", "b")
    assert unique([a, b, a]) == [a, b]


def test_the_validate_summary_still_names_the_config():
    result = run("validate", ROOT / "examples" / "seed.yaml")
    assert result.stdout.splitlines()[-1].startswith(f"{ROOT / 'examples' / 'seed.yaml'}: 0 error(s)")


# --- bytes and speed -------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["ascii", "latin-1"])
def test_output_is_utf8_whatever_the_locale(tmp_path, encoding):
    data = yaml.safe_load(QUICKSTART.read_text())
    data["spec"]["apps"][0]["authorization"]["emails"] = ["josé@example.com"]
    config = tmp_path / "meshauth.yaml"
    config.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    env = {**os.environ, "PYTHONIOENCODING": encoding, "LC_ALL": "C", "LANG": "C"}
    result = subprocess.run(
        [sys.executable, "-m", "meshauth", "render", str(config)], capture_output=True, env=env, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == meshauth.render(meshauth.load_config(config)).to_yaml().encode("utf-8")
    assert "josé@example.com".encode() in result.stdout


def test_building_the_parser_imports_no_heavy_module():
    code = (
        "import sys; from meshauth.cli.main import build_parser; build_parser(); "
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'pydantic', 'jinja2', 'jsonschema', 'yaml', 'kubernetes_validate', 'cel'}))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.stdout.strip() == "[]", result.stderr
