"""No secret value reaches any output channel; each secret source renders what the Deployment reads.

Channels: the config model (repr, str, dumps), the bundle (repr, warnings), validation findings
(text and JSON), log records, Python warnings, exceptions (message, problems, context, cause), the
CLI's stdout and stderr for every command, the -o tree, the mesh config, and the snapshots. With
``inline`` the values are, by request, in the Secret's ``stringData`` and nowhere else.
"""

from __future__ import annotations

import copy
import json
import logging
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

import meshauth

ROOT = Path(__file__).resolve().parents[1]
CLIENT = "CLIENT-s3cr3t-value-0001"
COOKIE = "COOKIEs3cr3t0123456789abcdefABCD"  # 32 bytes raw
REDIS = "REDIS-s3cr3t-password-0003"
SECRETS = (CLIENT, COOKIE, REDIS)

BASE: dict[str, Any] = {
    "apiVersion": "meshauth.dev/v1alpha1",
    "kind": "MeshAuthConfig",
    "metadata": {"name": "sec"},
    "spec": {
        "platform": {"istioVersion": "1.30"},
        "tls": {},
        "identity": {
            "issuerUrl": "https://idp.example.com",
            "jwksUri": "https://idp.example.com/k",
            "clientId": "meshauth",
        },
        "secret": {
            "source": "inline",
            "allowPlaintext": True,
            "inline": {"clientSecret": CLIENT, "cookieSecret": COOKIE, "redisPassword": REDIS},
        },
        "oauth2Proxy": {
            "cookie": {"refresh": "30m"},
            "sessionStore": {"type": "redis", "url": "redis://redis.example.internal:6379"},
        },
        "apps": [{"name": "web", "host": "web.example.com", "publicPaths": ["/healthz"]}],
    },
}


def config(change=lambda d: None) -> dict:
    data = copy.deepcopy(BASE)
    change(data)
    return data


def leaks(text: str) -> list[str]:
    return [s for s in SECRETS if s in text]


def write(tmp_path: Path, data: dict) -> str:
    path = tmp_path / "meshauth.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return str(path)


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "meshauth", *args], capture_output=True, text=True, cwd=ROOT, timeout=60
    )


# --- the model and the bundle --------------------------------------------------------------------------


def test_the_config_model_never_shows_a_secret():
    model = meshauth.load_config(config())
    for text in (
        repr(model),
        str(model),
        repr(model.spec.secret),
        str(model.model_dump()),
        json.dumps(model.model_dump(mode="json")),
        model.model_dump_json(),
        str(model.model_dump(by_alias=True)),
        repr(model.spec.secret.inline),
    ):
        assert leaks(text) == []


def test_overlays_on_a_loaded_model_keep_the_real_secrets():
    model = meshauth.load_config(config())
    merged = meshauth.load_config(model, overlays=[{"spec": {"oauth2Proxy": {"replicas": 2}}}])
    assert merged.spec.secret.inline.cookie_secret.get_secret_value() == COOKIE
    assert merged.spec.oauth2_proxy.replicas == 2


def test_inline_values_are_in_the_secrets_string_data_and_nowhere_else(caplog):
    caplog.set_level(logging.DEBUG)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bundle = meshauth.render(config())
        findings = meshauth.validate(bundle)
    secret = next(o for o in bundle.objects if o["kind"] == "Secret")
    assert secret["stringData"] == {"client-secret": CLIENT, "cookie-secret": COOKIE, "redis-password": REDIS}
    others = [o for o in bundle.objects if o is not secret]
    assert leaks(yaml.safe_dump_all(others)) == []
    assert leaks(yaml.safe_dump(bundle.mesh_config)) == []
    stream = bundle.to_yaml()
    assert all(stream.count(s) == 1 for s in SECRETS)
    assert leaks(repr(bundle)) == [] and leaks(str(bundle)) == []
    assert leaks("\n".join(str(f) for f in findings) + json.dumps([f.to_dict() for f in findings])) == []
    assert leaks(caplog.text) == [] and leaks(" ".join(str(w.message) for w in caught)) == []


def test_inline_warns_on_every_render():
    for _ in range(2):
        bundle = meshauth.render(config())
        warning = [w for w in bundle.warnings if w.path == "spec.secret.source"]
        assert len(warning) == 1 and warning[0].severity == "warning" and "plain text" in warning[0].message
    opted_in = meshauth.load_config(
        config(lambda d: d["spec"]["secret"].pop("allowPlaintext")), allow_plaintext_secrets=True
    )
    assert [w for w in meshauth.render(opted_in).warnings if w.path == "spec.secret.source"]


def test_the_output_tree_holds_the_values_only_in_the_secret_file(tmp_path):
    meshauth.render(config()).write(tmp_path / "out")
    holding = sorted(p.name for p in (tmp_path / "out").rglob("*") if p.is_file() and leaks(p.read_text()))
    assert holding == ["secret.oauth2-proxy.oauth2-proxy.yaml"]


# --- errors --------------------------------------------------------------------------------------------


BAD_COOKIE = "SHORT-s3cr3t-cookie"


def _bad(d):
    d["spec"]["secret"]["inline"]["cookieSecret"] = BAD_COOKIE
    d["spec"]["apps"][0]["host"] = "not a host"  # a second, unrelated problem


def test_config_errors_never_carry_a_secret_anywhere():
    with pytest.raises(meshauth.ConfigError) as caught:
        meshauth.load_config(config(_bad))
    error = caught.value
    texts = [str(error), repr(error), *(str(p) for p in error.problems), repr(error.problems)]
    assert not [t for t in texts if BAD_COOKIE in t or leaks(t)]
    assert error.__context__ is None and error.__cause__ is None
    assert {p.path for p in error.problems} >= {"spec.secret.inline.cookieSecret", "spec.apps[0].host"}


def test_a_direct_model_validation_error_does_not_print_inputs():
    with pytest.raises(ValidationError) as caught:
        meshauth.MeshAuthConfig.model_validate(config(_bad))
    assert BAD_COOKIE not in str(caught.value) and not leaks(str(caught.value))


def test_refusing_inline_without_the_opt_in_does_not_echo_the_values():
    with pytest.raises(meshauth.ConfigError) as caught:
        meshauth.load_config(config(lambda d: d["spec"]["secret"].pop("allowPlaintext")))
    assert leaks(str(caught.value)) == [] and "allowPlaintext" in str(caught.value)


SECRET_FIELDS = [
    ("spec", "secret", "inline", "clientSecret"),
    ("spec", "secret", "inline", "cookieSecret"),
    ("spec", "secret", "inline", "redisPassword"),
]


@pytest.mark.parametrize("path", SECRET_FIELDS, ids=lambda p: p[-1])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=st.one_of(st.text(min_size=1, max_size=40), st.integers(), st.lists(st.text(max_size=5))))
def test_no_message_about_a_secret_field_echoes_its_value(path, value):
    data = config()
    node = data
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    try:
        meshauth.load_config(data)
    except meshauth.ConfigError as error:
        text = str(error)
        shown = value if isinstance(value, str) else json.dumps(value)
        if isinstance(value, str) and len(value) >= 4:
            assert value not in text
        assert leaks(text) == [] and (len(shown) < 4 or shown not in text)


# --- the command line ----------------------------------------------------------------------------------


def test_no_command_prints_a_secret_except_render_into_the_secret(tmp_path):
    path = write(tmp_path, config())
    common = ["--allow-plaintext-secrets"]
    rendered = run("render", path, *common)
    assert rendered.returncode == 0 and leaks(rendered.stderr) == []
    assert all(rendered.stdout.count(s) == 1 for s in SECRETS)
    for args in (
        ["render", path, "--mesh-config"],
        ["render", path, "-o", str(tmp_path / "o")],
        ["validate", path],
        ["validate", path, "--output", "json"],
        ["simulate", path, "--host", "web.example.com", "--path", "/", "-v"],
        ["simulate", path, "--host", "web.example.com", "--path", "/", "--output", "json"],
        ["explain", path],
        ["explain", path, "--format", "markdown"],
    ):
        result = run(*args, *common)
        assert result.returncode == 0, (args, result.stderr)
        assert leaks(result.stdout + result.stderr) == [], args
    assert "plain text" in run("validate", path, *common).stdout


def test_cli_errors_about_secrets_print_no_secret(tmp_path):
    path = write(tmp_path, config(_bad))
    for args in (
        ["render", path],
        ["validate", path],
        ["validate", path, "--output", "json"],
        ["simulate", path, "--host", "h.example.com", "--path", "/"],
        ["explain", path],
    ):
        result = run(*args)
        assert result.returncode == 1 and "Traceback" not in result.stderr
        assert BAD_COOKIE not in result.stdout + result.stderr and not leaks(result.stdout + result.stderr)


# --- the other sources ---------------------------------------------------------------------------------


def _reads(deployment: dict) -> set[tuple[str, str]]:
    """(secret name, key) of everything the oauth2-proxy pod reads from Secrets."""
    pod = deployment["spec"]["template"]["spec"]
    reads = {
        (e["valueFrom"]["secretKeyRef"]["name"], e["valueFrom"]["secretKeyRef"]["key"])
        for e in pod["containers"][0].get("env") or []
        if "secretKeyRef" in e.get("valueFrom", {})
    }
    reads |= {
        (v["secret"]["secretName"], i["key"])
        for v in pod.get("volumes") or []
        if "secret" in v
        for i in v["secret"]["items"]
    }
    return reads


EXTERNAL = {
    "source": "external-secrets",
    "name": "sso",
    "externalSecret": {
        "storeRef": {"name": "vault"},
        "data": {
            "clientSecret": {"key": "sso/app", "property": "client-secret"},
            "cookieSecret": {"key": "sso/app", "property": "cookie-secret"},
            "redisPassword": {"key": "sso/redis"},
        },
    },
}


@pytest.mark.parametrize("version", ["v7.2.0", "v7.15.3"])
def test_the_external_secret_produces_exactly_the_keys_the_deployment_reads(version):
    bundle = meshauth.render(
        config(
            lambda d: (d["spec"].update(secret=EXTERNAL), d["spec"]["oauth2Proxy"].update(version=version))
        )
    )
    external = next(o for o in bundle.objects if o["kind"] == "ExternalSecret")
    deployment = next(o for o in bundle.objects if o["kind"] == "Deployment")
    produced = {(external["spec"]["target"]["name"], d["secretKey"]) for d in external["spec"]["data"]}
    assert produced == _reads(deployment)
    assert external["apiVersion"] == "external-secrets.io/v1"
    assert external["spec"]["target"]["creationPolicy"] == "Owner"
    assert external["metadata"]["namespace"] == deployment["metadata"]["namespace"]
    assert not [o for o in bundle.objects if o["kind"] == "Secret"]


@pytest.mark.parametrize("version", ["v7.2.0", "v7.15.3"])
def test_external_secrets_with_a_deployed_redis_wire_the_password_end_to_end(version):
    """ExternalSecret -> Secret key redis-password -> the rendered Redis requires it
    (--requirepass) and oauth2-proxy sends it (OAUTH2_PROXY_REDIS_PASSWORD), both from that key."""

    def change(d):
        d["spec"].update(secret=EXTERNAL)
        d["spec"]["oauth2Proxy"].update(version=version, sessionStore={"type": "redis", "deploy": True})

    bundle = meshauth.render(config(change))
    external = next(o for o in bundle.objects if o["kind"] == "ExternalSecret")
    produced = {(external["spec"]["target"]["name"], d["secretKey"]) for d in external["spec"]["data"]}
    assert ("sso", "redis-password") in produced
    deployments = {o["metadata"]["name"]: o for o in bundle.objects if o["kind"] == "Deployment"}
    proxy = deployments["oauth2-proxy"]["spec"]["template"]["spec"]["containers"][0]
    redis = deployments["oauth2-proxy-redis"]["spec"]["template"]["spec"]["containers"][0]
    ref = {"name": "sso", "key": "redis-password"}
    proxy_env = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in proxy.get("env", []) if "valueFrom" in e}
    assert proxy_env["OAUTH2_PROXY_REDIS_PASSWORD"] == ref  # required, not optional
    redis_env = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in redis["env"]}
    assert redis_env["REDIS_PASSWORD"] == ref
    assert redis["args"][redis["args"].index("--requirepass") + 1] == "$(REDIS_PASSWORD)"
    assert produced >= _reads(deployments["oauth2-proxy"])


def test_a_redis_password_in_two_places_is_refused():
    def change(d):
        d["spec"].update(secret=EXTERNAL)
        d["spec"]["oauth2Proxy"].update(
            sessionStore={"type": "redis", "deploy": True, "passwordSecret": {"name": "r", "key": "p"}}
        )

    with pytest.raises(meshauth.ConfigError, match=r"externalSecret\.data\.redisPassword.*one place"):
        meshauth.load_config(config(change))


def test_without_a_redis_password_the_external_secret_produces_the_two_keys():
    secret = copy.deepcopy(EXTERNAL)
    del secret["externalSecret"]["data"]["redisPassword"]
    bundle = meshauth.render(
        config(lambda d: (d["spec"].update(secret=secret), d["spec"]["oauth2Proxy"].pop("sessionStore")))
    )
    external = next(o for o in bundle.objects if o["kind"] == "ExternalSecret")
    assert [d["secretKey"] for d in external["spec"]["data"]] == ["client-secret", "cookie-secret"]
    deployment = next(o for o in bundle.objects if o["kind"] == "Deployment")
    assert _reads(deployment) == {("sso", "client-secret"), ("sso", "cookie-secret")}


def test_the_sealed_secret_is_strictly_scoped_to_a_stable_name_and_namespace():
    sealed = {
        "source": "sealed-secrets",
        "name": "sso",
        "sealed": {"encryptedData": {"cookie-secret": "AgB2" * 100, "client-secret": "AgB1" * 100}},
    }
    for namespace in ("oauth2-proxy", "auth"):
        bundle = meshauth.render(
            config(
                lambda d: (
                    d["spec"].update(secret=sealed),
                    d["spec"]["oauth2Proxy"].update(namespace=namespace),
                )
            )
        )
        (obj,) = [o for o in bundle.objects if o["kind"] == "SealedSecret"]
        meta, template = obj["metadata"], obj["spec"]["template"]["metadata"]
        assert (meta["name"], meta["namespace"]) == ("sso", namespace)
        assert (template["name"], template["namespace"]) == (meta["name"], meta["namespace"])
        scope = {"sealedsecrets.bitnami.com/namespace-wide", "sealedsecrets.bitnami.com/cluster-wide"}
        assert not scope & set(meta.get("annotations") or {}) | set(template.get("annotations") or {})
        assert list(obj["spec"]["encryptedData"]) == ["client-secret", "cookie-secret"]
        deployment = next(o for o in bundle.objects if o["kind"] == "Deployment")
        assert {k for _, k in _reads(deployment)} <= set(obj["spec"]["encryptedData"]) | {"redis-password"}


def test_existing_renders_no_secret_object_only_references():
    bundle = meshauth.render(config(lambda d: d["spec"].pop("secret")))
    assert not [o for o in bundle.objects if o["kind"] in ("Secret", "ExternalSecret", "SealedSecret")]
    deployment = next(o for o in bundle.objects if o["kind"] == "Deployment")
    assert _reads(deployment) == {
        ("oauth2-proxy", "client-secret"),
        ("oauth2-proxy", "cookie-secret"),
        ("oauth2-proxy", "redis-password"),
    }
    env = deployment["spec"]["template"]["spec"]["containers"][0]["env"]
    assert env == [
        {
            "name": "OAUTH2_PROXY_REDIS_PASSWORD",
            "valueFrom": {
                "secretKeyRef": {"name": "oauth2-proxy", "key": "redis-password", "optional": True}
            },
        }
    ]


def test_no_snapshot_holds_a_plain_secret():
    for snapshot in (ROOT / "tests" / "__snapshots__").rglob("*.yaml"):
        kinds = [d.get("kind") for d in yaml.safe_load_all(snapshot.read_text()) if d]
        assert "Secret" not in kinds, snapshot.name
