"""``meshauth init``: the starter config renders and validates as written, for every preset."""

from __future__ import annotations

import itertools
import json
import os
import stat

import pytest
import yaml
from test_cli import run

import meshauth
from meshauth.config.presets import PRESET_NAMES
from meshauth.config.schema import SCHEMA_ID
from meshauth.errors import ConfigError
from meshauth.starter.starter import app_names, scalar, starter_config

HOST_SETS = [
    (),
    ("grafana.example.com",),
    ("grafana.example.com", "docs.example.com"),
    ("app.example.com", "app.example.org", "wiki.internal.example.net"),
]


@pytest.mark.parametrize(
    "preset, hosts",
    list(itertools.product(PRESET_NAMES, HOST_SETS)),
    ids=lambda v: v if isinstance(v, str) else f"{len(v)}-hosts",
)
def test_starter_renders_and_validates_with_only_its_placeholders_to_replace(preset, hosts):
    text = starter_config(preset, hosts)
    config = meshauth.load_config(yaml.safe_load(text))
    assert config.spec.identity.preset == preset
    assert [a.host for a in config.spec.apps] == list(hosts or ["app.example.com"])
    assert placeholder_warnings_only(meshauth.validate(meshauth.render(config)))


def placeholder_warnings_only(findings):
    """True when every finding is a placeholder warning (MA066, tests/test_placeholders.py)."""
    return all(f.rule == "MA066" and f.severity == "warning" for f in findings)


def test_first_line_points_editors_at_the_schema():
    text = starter_config("google")
    assert text.splitlines()[0] == f"# yaml-language-server: $schema={SCHEMA_ID}"
    assert json.loads(run("schema").stdout)["$id"] == SCHEMA_ID  # the schema meshauth ships
    assert yaml.safe_load(text)["kind"] == "MeshAuthConfig"  # a comment: loading is unchanged


def test_apps_say_their_selector_default():
    text = starter_config("generic", ["grafana.example.com"])
    assert "# selector: {app: grafana}" in text and "default app: <name>" in text
    config = meshauth.load_config(yaml.safe_load(text))
    assert config.spec.apps[0].selector == {"app": "grafana"}  # what the comment says


@pytest.mark.parametrize("version", ["1.6", "1.8", "1.9", "1.11", "1.17", "1.22", "1.30"])
def test_starter_renders_for_older_istio(version):
    config = meshauth.load_config(yaml.safe_load(starter_config("google", istio_version=version)))
    assert config.spec.platform.istio_version == version
    findings = meshauth.validate(meshauth.render(config))
    if version in ("1.6", "1.8", "1.9", "1.11"):
        # Before 1.14 the Set-Cookie of a refreshed session is dropped (Envoy <= 1.16, then no
        # headersToDownstreamOnAllow); no refresh lets Google's 1h ID token expire (MA018): the one
        # finding the starter cannot avoid there says so
        refresh = [f for f in findings if f.path == "spec.oauth2Proxy.cookie.refresh"]
        assert [f.message.split(":")[0] for f in refresh] == [
            f"cookie.refresh 30m never reaches the browser on Istio {version}"
        ]
        findings = [f for f in findings if f not in refresh]
    assert placeholder_warnings_only(findings)


def test_starter_explains_what_to_do_next():
    text = starter_config("keycloak", ["grafana.example.com", "docs.example.com"])
    for host in ("grafana.example.com", "docs.example.com"):
        assert f"https://{host}/oauth2/callback" in text  # redirect URIs to register
    assert "meshauth cookie-secret" in text  # how to make the Secret
    assert "--mesh-config" in text and "kubectl apply -k out/" in text
    assert "Group Membership mapper" in text  # the preset's own caveat
    assert "# domains: [example.com]" in text  # SSO across the apps' common parent


def test_every_set_key_is_commented():
    text = starter_config("google", ["grafana.example.com"])
    lines = text.splitlines()
    bare = [
        line
        for i, line in enumerate(lines)
        if line.strip()
        and not line.lstrip().startswith("#")
        and "#" not in line
        and not lines[i - 1].lstrip().startswith("#")
        and line.strip().rstrip(":") not in {"spec", "platform", "issuer", "acme", "cookie", "port: 80"}
        and not line.startswith(("apiVersion", "kind", "metadata"))
    ]
    assert bare == []


def test_lines_fit_in_100_columns():
    for preset in PRESET_NAMES:
        assert max(map(len, starter_config(preset, ["grafana.example.com"]).splitlines())) <= 100


def test_app_names_come_from_hosts_and_are_unique():
    assert app_names(["grafana.example.com", "grafana.example.org", "grafana.x.io"]) == [
        "grafana",
        "grafana-2",
        "grafana-3",
    ]


@pytest.mark.parametrize(
    "value, expected",
    [
        ("grafana.example.com", "grafana.example.com"),
        ("1.10", '"1.10"'),
        ("yes", '"yes"'),
        ("a: b", '"a: b"'),
        ("*", '"*"'),
        ("https://idp.example.com/", "https://idp.example.com/"),
    ],
)
def test_scalar_quotes_only_what_yaml_would_misread(value, expected):
    assert scalar(value) == expected
    assert yaml.safe_load(f"k: {scalar(value)}")["k"] == value


@pytest.mark.parametrize(
    "kwargs, where",
    [
        ({"hosts": ["Grafana.example.com"]}, "--host Grafana.example.com"),
        ({"hosts": ["localhost"]}, "--host localhost"),
        ({"hosts": ["a.example.com", "a.example.com"]}, "--host"),
        ({"preset": "facebook"}, "--preset"),
        ({"istio_version": "1.5"}, "--istio-version"),
        ({"name": "My SSO"}, "--name"),
    ],
)
def test_bad_arguments_are_refused_with_the_option_named(kwargs, where):
    with pytest.raises(ConfigError) as error:
        starter_config(**{"preset": "generic", **kwargs})
    assert error.value.problems[0].path == where


# --- the command -----------------------------------------------------------------------------------


def test_init_prints_to_stdout_without_o():
    result = run("init", "--preset", "google", "--host", "grafana.example.com")
    assert result.returncode == 0, result.stderr
    assert result.stdout == starter_config("google", ["grafana.example.com"])


def test_init_writes_a_file_and_never_overwrites_without_force(tmp_path):
    target = tmp_path / "meshauth.yaml"
    first = run("init", "--preset", "dex", "-o", target)
    assert first.returncode == 0, first.stderr
    assert first.stdout == "" and "written" in first.stderr
    assert target.read_text() == starter_config("dex")
    assert stat.S_IMODE(os.stat(target).st_mode) & 0o044  # readable like any other file
    target.write_text("# my edits\n")
    refused = run("init", "-o", target)
    assert refused.returncode == 1
    assert "exists; pass --force" in refused.stderr
    assert target.read_text() == "# my edits\n"
    forced = run("init", "-o", target, "--force")
    assert forced.returncode == 0 and target.read_text() == starter_config()
    assert run("validate", target).returncode == 0


def test_init_json_report(tmp_path):
    printed = json.loads(run("init", "--output", "json").stdout)
    placeholders = printed.pop("findings")  # what to replace, as warnings
    assert printed == {"config": starter_config(), "valid": True}
    assert all(f["rule"] == "MA066" and f["severity"] == "warning" for f in placeholders)
    target = tmp_path / "m.yaml"
    written = json.loads(run("init", "-o", target, "--output", "json").stdout)
    assert written == {"written": str(target), "findings": placeholders, "valid": True}
    refused = run("init", "-o", target, "--output", "json")
    assert refused.returncode == 1
    assert json.loads(refused.stdout)["errors"][0]["file"] == str(target)


def test_init_bad_host_is_a_usage_error_naming_the_option():
    result = run("init", "--host", "https://grafana.example.com")
    assert result.returncode == 2
    assert "argument --host: must be a fully qualified host name" in result.stderr
    assert "'https://grafana.example.com'" in result.stderr
    assert result.stdout == ""
