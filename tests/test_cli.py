"""The command line, run as a user runs it: a subprocess, exit codes, stdout and stderr."""

from __future__ import annotations

import base64
import json
import subprocess
import sys

import pytest
import yaml
from conftest import ROOT

import meshauth

SEED = ROOT / "examples" / "seed.yaml"
QUICKSTART = ROOT / "examples" / "quickstart.yaml"


def run(*args, cwd=ROOT):
    return subprocess.run(
        [sys.executable, "-m", "meshauth", *map(str, args)], capture_output=True, text=True, cwd=cwd
    )


def write_config(tmp_path, mutate=None, name="meshauth.yaml"):
    data = yaml.safe_load(QUICKSTART.read_text())
    if mutate:
        mutate(data)
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data))
    return path


def test_render_prints_the_stream():
    result = run("render", SEED)
    assert result.returncode == 0, result.stderr
    assert result.stdout == meshauth.render(SEED).to_yaml()
    # the blog's Istio 1.11 cannot hand a refreshed cookie to the browser: the one warning
    assert [line.split(": ")[1] for line in result.stderr.splitlines()] == ["spec.oauth2Proxy.cookie.refresh"]


def test_render_with_overlays_applies_them_in_order():
    result = run(
        "render", SEED, "--overlay", ROOT / "overlays/dev.yaml", "--overlay", ROOT / "overlays/prod.yaml"
    )
    assert result.returncode == 0, result.stderr
    deployment = next(
        d
        for d in yaml.safe_load_all(result.stdout)
        if d["kind"] == "Deployment" and d["metadata"]["name"] == "oauth2-proxy"
    )
    assert deployment["spec"]["replicas"] == 2  # prod wins over dev
    assert "--cookie-expire=8h" in deployment["spec"]["template"]["spec"]["containers"][0]["args"]


def test_render_mesh_config_prints_only_the_mesh_configuration():
    result = run("render", SEED, "--mesh-config")
    assert result.returncode == 0
    document = yaml.safe_load(result.stdout)
    assert document["kind"] == "IstioOperator"
    assert document["spec"]["meshConfig"]["extensionProviders"][0]["name"] == "oauth2-proxy"


def test_render_to_a_directory(tmp_path):
    result = run("render", SEED, "-o", tmp_path / "out")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert (tmp_path / "out" / "kustomization.yaml").is_file()
    assert (tmp_path / "out" / "mesh" / "istio-operator.yaml").is_file()
    assert "written" in result.stderr


def test_mesh_config_with_output_dir_is_a_usage_error(tmp_path):
    result = run("render", SEED, "--mesh-config", "-o", tmp_path)
    assert result.returncode == 2
    assert "--mesh-config" in result.stderr


@pytest.mark.parametrize("args", [[], ["render"], ["frobnicate"], ["render", "x.yaml", "--bogus"]])
def test_usage_errors_exit_2(args):
    result = run(*args)
    assert result.returncode == 2
    assert "usage:" in result.stderr


def test_missing_file_exits_1_and_names_it(tmp_path):
    result = run("render", tmp_path / "nope.yaml")
    assert result.returncode == 1
    assert f"{tmp_path / 'nope.yaml'}: no such file" in result.stderr
    assert "Traceback" not in result.stderr


def test_invalid_config_names_file_and_field_and_writes_nothing(tmp_path):
    config = write_config(tmp_path, lambda d: d["spec"]["apps"][0].update(host="Grafana.example.com"))
    result = run("render", config, "-o", tmp_path / "out")
    assert result.returncode == 1
    assert f"{config}: spec.apps[0].host: must be a fully qualified host name" in result.stderr
    assert not (tmp_path / "out").exists()
    assert "Traceback" not in result.stderr


def test_error_in_an_overlay_names_the_overlay(tmp_path):
    overlay = tmp_path / "bad.yaml"
    overlay.write_text("spec:\n  oauth2Proxy:\n    cookie:\n      refresh: 9h\n")
    result = run("render", QUICKSTART, "--overlay", overlay)
    assert result.returncode == 1
    assert f"{overlay}: spec.oauth2Proxy.cookie.refresh: must be shorter than expire" in result.stderr


def test_a_failed_render_leaves_an_existing_directory_untouched(tmp_path):
    out = tmp_path / "out"
    assert run("render", QUICKSTART, "-o", out).returncode == 0
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    config = write_config(tmp_path, lambda d: d["spec"]["identity"].update(clientId=""))
    assert run("render", config, "-o", out).returncode == 1
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def test_secret_values_never_appear_in_messages(tmp_path):
    secret = {
        "source": "inline",
        "inline": {"clientSecret": "TOPSECRET-client", "cookieSecret": "TOPSECRET-cookie-too-short"},
    }
    config = write_config(tmp_path, lambda d: d["spec"].update(secret=secret))
    result = run("render", config, "--allow-plaintext-secrets")
    assert result.returncode == 1
    assert "spec.secret.inline.cookieSecret" in result.stderr
    assert "TOPSECRET" not in result.stderr + result.stdout


def test_inline_secret_needs_an_explicit_opt_in(tmp_path):
    secret = {"source": "inline", "inline": {"clientSecret": "c", "cookieSecret": "0123456789abcdef"}}
    config = write_config(tmp_path, lambda d: d["spec"].update(secret=secret))
    refused = run("render", config)
    assert refused.returncode == 1 and "spec.secret.allowPlaintext" in refused.stderr
    allowed = run("render", config, "--allow-plaintext-secrets")
    assert allowed.returncode == 0, allowed.stderr
    assert any(d["kind"] == "Secret" for d in yaml.safe_load_all(allowed.stdout))


def test_validate_reports_and_exits_0_on_a_good_config():
    result = run("validate", SEED)
    assert result.returncode == 0
    assert "0 error(s)" in result.stdout


def test_validate_json_output(tmp_path):
    result = run("validate", QUICKSTART, "--output", "json")
    assert result.returncode == 0
    assert json.loads(result.stdout)["valid"] is True
    config = write_config(tmp_path, lambda d: d["spec"].update(apps=[]))
    bad = run("validate", config, "--output", "json")
    assert bad.returncode == 1
    report = json.loads(bad.stdout)
    assert report["valid"] is False
    assert report["errors"][0]["path"] == "spec.apps"


def test_warnings_go_to_stderr_and_do_not_fail(tmp_path):
    config = write_config(
        tmp_path, lambda d: (d["spec"].pop("tls"), d["spec"]["oauth2Proxy"]["cookie"].update(secure=False))
    )
    result = run("render", config)
    assert result.returncode == 0
    assert "warning" in result.stderr and "spec.tls" in result.stderr
    assert list(yaml.safe_load_all(result.stdout))


def test_cookie_secret_is_32_random_bytes():
    first, second = run("cookie-secret").stdout.strip(), run("cookie-secret").stdout.strip()
    assert len(base64.urlsafe_b64decode(first)) == 32
    assert first != second


def test_version():
    result = run("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"meshauth {meshauth.__version__}"


def test_runs_from_any_directory(tmp_path):
    result = run("render", SEED, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
