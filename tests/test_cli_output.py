"""How the command line reports: --output json everywhere it reports, colour only at a terminal."""

from __future__ import annotations

import io
import json
import os
import pty
import subprocess
import sys

import pytest
import yaml
from conftest import ROOT
from test_cli import QUICKSTART, run, write_config

from meshauth.cli import style
from meshauth.findings import Finding

WARNING = Finding("MA018", "warning", "cookie refresh too long", path="spec.oauth2Proxy.cookie.refresh")


def run_in_terminal(*args, env=None):
    """Run the CLI with stdout and stderr on a pseudo-terminal; return what it printed."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "meshauth", *map(str, args)],
        stdout=follower,
        stderr=follower,
        cwd=ROOT,
        env={**os.environ, "TERM": "xterm", **(env or {})},
    )
    os.close(follower)
    output = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closes when the process ends
            break
        if not chunk:
            break
        output += chunk
    os.close(leader)
    return process.wait(), output.decode()


def seed_with_warning(tmp_path):
    """The quickstart with Google and a 1h refresh: valid, with warning MA018."""

    def google(data):
        data["spec"]["identity"] = {"preset": "google", "clientId": "1.apps.googleusercontent.com"}
        data["spec"]["oauth2Proxy"]["cookie"]["refresh"] = "1h"
        for app in data["spec"]["apps"]:  # Google ID tokens carry no groups claim: its hd instead
            authorization = app.get("authorization") or {}
            if authorization.pop("groups", None):
                authorization.setdefault("claims", {})["hd"] = ["example.com"]

    return write_config(tmp_path, google)


def test_render_json_reports_the_write(tmp_path):
    out = tmp_path / "out"
    result = run("render", QUICKSTART, "-o", out, "--output", "json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["directory"] == str(out) and report["valid"] is True
    assert "kustomization.yaml" in report["written"] and report["removed"] == []
    again = json.loads(run("render", QUICKSTART, "-o", out, "--output", "json").stdout)
    assert again["written"] == [] and "kustomization.yaml" in again["unchanged"]


def test_render_json_without_a_directory_is_a_usage_error():
    result = run("render", QUICKSTART, "--output", "json")
    assert result.returncode == 2 and "add -o DIR" in result.stderr


def test_render_json_error_has_the_error_shape(tmp_path):
    config = write_config(tmp_path, lambda d: d["spec"]["apps"][0].update(host="Bad"))
    result = run("render", config, "-o", tmp_path / "out", "--output", "json")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["valid"] is False and report["errors"][0]["path"] == "spec.apps[0].host"


@pytest.mark.parametrize("command", [["validate"], ["render", "-o", "OUT"]])
def test_json_findings_have_the_same_fields_everywhere(tmp_path, command):
    config = seed_with_warning(tmp_path)
    args = [a if a != "OUT" else tmp_path / "out" for a in command]
    report = json.loads(run(args[0], config, *args[1:], "--output", "json").stdout)
    (finding,) = [f for f in report["findings"] if f["rule"] == "MA018"]
    assert set(finding) == {"rule", "severity", "message", "object", "path", "file"}


# --- colour ----------------------------------------------------------------------------------------


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_colour_only_at_a_terminal(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert style.finding_line(WARNING, io.StringIO()) == str(WARNING)
    coloured = style.finding_line(WARNING, Terminal())
    assert "\033[33mwarning\033[0m MA018:" in coloured
    assert coloured.replace("\033[33m", "").replace("\033[0m", "") == str(WARNING)


@pytest.mark.parametrize("env", [{"NO_COLOR": "1"}, {"NO_COLOR": "anything"}, {"TERM": "dumb"}])
def test_no_color_and_dumb_terminals_get_plain_text(monkeypatch, env):
    monkeypatch.setenv("TERM", "xterm")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert style.finding_line(WARNING, Terminal()) == str(WARNING)
    assert style.severity("error", Terminal()) == "error"


def test_an_empty_no_color_does_not_disable_colour(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "")  # no-color.org: only a non-empty value counts
    monkeypatch.setenv("TERM", "xterm")
    assert "\033[" in style.severity("warning", Terminal())


def test_the_command_colours_at_a_terminal_and_respects_no_color(tmp_path):
    config = seed_with_warning(tmp_path)
    code, coloured = run_in_terminal("validate", config)
    assert code == 0 and "\033[33mwarning\033[0m MA018" in coloured
    code, plain = run_in_terminal("validate", config, env={"NO_COLOR": "1"})
    assert code == 0 and "\033[" not in plain and "warning MA018" in plain
    code, error = run_in_terminal("render", tmp_path / "missing.yaml")
    assert code == 1 and "\033[1;31merror\033[0m:" in error


def test_pipes_never_get_colour(tmp_path):
    result = run("validate", seed_with_warning(tmp_path))
    assert "warning MA018" in result.stdout and "\033[" not in result.stdout + result.stderr
    assert yaml.safe_load_all(run("render", QUICKSTART).stdout)
