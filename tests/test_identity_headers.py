"""A client can never choose an identity header's value: the copies it sends of oauth2-proxy's
``x-auth-request-*`` headers and of every ``claimHeaders`` header are removed first at the gateway,
on every path and in every shape; the app sees only the values set for this request."""

from __future__ import annotations

import base64
import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import meshauth
from meshauth.authz.decision import Request
from meshauth.authz.headers import CLIENT, OAUTH2_PROXY, REMOVED, app_headers, gateway_removals
from meshauth.authz.simulate import environment_for, evaluate
from meshauth.errors import ConfigError
from meshauth.rendering.shapes.identityheaders import identity_header_names

ROOT = Path(__file__).resolve().parents[1]
KUBEFLOW = ROOT / "examples" / "kubeflow.yaml"
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
CASES = sorted((ROOT / "tests" / "cases" / "valid").glob("*.yaml"))
HOST = "kubeflow.example.com"
XAUTH = [
    "x-auth-request-user",
    "x-auth-request-email",
    "x-auth-request-groups",
    "x-auth-request-preferred-username",
]
SPOOFED = {name: "admins" for name in [*XAUTH, "kubeflow-userid", "kubeflow-groups"]}
ENGINEER = {"email": "ana@example.com", "groups": ["ml-engineers"]}


def simulate(path, claims, headers=SPOOFED, config=KUBEFLOW):
    return meshauth.simulate(str(config), host=HOST, path=path, claims=claims, headers=headers)


@pytest.mark.parametrize(
    "path, claims",
    [
        ("/", {"email": "cy@example.com"}),  # signed in, no groups: oauth2-proxy sets no groups header
        ("/pipeline/runs", ENGINEER),
        ("/jupyter/", {"email": "bo@example.com", "groups": ["data-scientists"]}),
        ("/assets/app.js", None),  # public: no login, no token check at all
        ("/jupyter/static/main.js", None),
        ("/assets/app.js", ENGINEER),  # public, with a session the login never looks at
    ],
)
def test_no_spoofed_identity_header_reaches_any_app(path, claims):
    decision = simulate(path, claims)
    assert decision.allowed, decision.explain()
    spoofed = [h for h in decision.headers if h.name in SPOOFED and h.value == "admins"]
    assert spoofed == []
    assert all(h.source != CLIENT for h in decision.headers if h.name in SPOOFED)
    removed = {h.name for h in decision.headers if h.source == REMOVED}
    assert removed == set(SPOOFED)


def test_the_app_sees_the_values_of_the_verified_token_and_of_the_login():
    decision = simulate("/pipeline/runs", {**ENGINEER, "preferred_username": "ana"})
    seen = {h.name: (h.value, h.source) for h in decision.headers if h.value is not None}
    groups = base64.b64encode(json.dumps(["ml-engineers"], separators=(",", ":")).encode()).decode()
    assert seen == {
        "kubeflow-userid": ("ana@example.com", "claim email"),
        "kubeflow-groups": (groups, "claim groups"),
        "x-auth-request-user": ("simulated-user", OAUTH2_PROXY),
        "x-auth-request-email": ("ana@example.com", OAUTH2_PROXY),
        "x-auth-request-groups": ("ml-engineers", OAUTH2_PROXY),
        "x-auth-request-preferred-username": ("ana", OAUTH2_PROXY),
    }


def test_other_client_headers_pass_unchanged():
    decision = simulate("/", {"email": "cy@example.com"}, headers={"X-Request-Trace": "abc"})
    assert [(h.name, h.value, h.source) for h in decision.headers if h.source == CLIENT] == [
        ("x-request-trace", "abc", CLIENT)
    ]


def test_without_the_removal_filter_the_spoofed_groups_would_reach_the_app():
    """The issue's attack, against a bundle without the gateway's EnvoyFilter: oauth2-proxy sets no
    groups header for a user without groups, so the client's copy would be what the app reads."""
    config = meshauth.load_config(KUBEFLOW)
    bundle = meshauth.render(config)
    objects = [o for o in bundle.objects if not o["metadata"]["name"].endswith("-identity-headers")]
    request = Request(
        host=HOST, path="/", claims={"email": "cy@example.com"}, headers={"x-auth-request-groups": "admins"}
    )
    env = environment_for(config)
    decision = evaluate((objects, bundle.mesh_config), request, env)
    headers = app_headers((objects, bundle.mesh_config), request, decision, env)
    assert ("x-auth-request-groups", "admins", CLIENT) in [(h.name, h.value, h.source) for h in headers]


def _configs():
    for path in [*EXAMPLES, *CASES]:
        yield path.stem, meshauth.load_config(path)


@pytest.mark.parametrize("name, config", list(_configs()), ids=lambda v: v if isinstance(v, str) else "")
def test_every_shape_removes_every_identity_header_first_at_the_gateway(name, config):
    """Istio Gateway, Gateway API, ambient, authservice, the EnvoyFilter login of Istio 1.6-1.8: the
    gateway serving each host removes oauth2-proxy's headers and every claim header before its
    other filters (INSERT_FIRST), and no route removes them later (which would drop the real ones)."""
    bundle = meshauth.render(config)
    wanted = set(identity_header_names(config.spec))
    assert set(XAUTH) <= wanted
    assert {h for app in config.spec.apps for h in config.spec.claim_headers_for(app)} <= wanted
    for host in config.spec.hosts():
        assert set(gateway_removals(bundle.objects, host)) >= wanted, host
    for obj in bundle.objects:
        text = yaml.safe_dump(obj.get("spec") or {})
        if obj["kind"] in ("VirtualService", "HTTPRoute"):
            assert "remove" not in text and "RequestHeaderModifier" not in text


def test_the_removal_filter_comes_before_the_ext_authz_the_envoyfilter_login_inserts():
    config = meshauth.load_config(ROOT / "tests" / "cases" / "valid" / "istio-1-6-envoyfilter-login.yaml")
    filters = [o for o in meshauth.render(config).objects if o["kind"] == "EnvoyFilter"]
    removal = next(f for f in filters if f["metadata"]["name"].endswith("-identity-headers"))
    patch = removal["spec"]["configPatches"][0]
    assert patch["patch"]["operation"] == "INSERT_FIRST"
    assert patch["match"]["listener"]["filterChain"]["filter"]["name"] == "envoy.http_connection_manager"
    assert patch["patch"]["value"]["typed_config"]["@type"].endswith("lua.v2.Lua")
    login = next(f for f in filters if f["metadata"]["name"] == "demo-login")
    assert {
        p["patch"]["operation"] for p in login["spec"]["configPatches"] if p["applyTo"] == "HTTP_FILTER"
    } == {"INSERT_BEFORE"}


def test_claim_headers_go_on_the_apps_own_token_check():
    data = yaml.safe_load(KUBEFLOW.read_text())
    data["spec"]["apps"][1]["claimHeaders"] = {"x-pipeline-user": "sub"}
    bundle = meshauth.render(meshauth.load_config(data))
    checks = {o["metadata"]["name"]: o for o in bundle.objects if o["kind"] == "RequestAuthentication"}
    outputs = {
        name: [r.get("outputClaimToHeaders") for r in o["spec"]["jwtRules"]] for name, o in checks.items()
    }
    assert outputs["kubeflow-jwt"] == [None], (
        "the gateway's check adds none: the sidecar would add a second copy"
    )
    assert outputs["kubeflow-pipelines-jwt"] == [[{"claim": "sub", "header": "x-pipeline-user"}]]
    assert outputs["kubeflow-dashboard-jwt"] == [
        [{"claim": "groups", "header": "kubeflow-groups"}, {"claim": "email", "header": "kubeflow-userid"}]
    ]
    names = identity_header_names(meshauth.load_config(data).spec)
    assert {"x-pipeline-user", "kubeflow-userid", "kubeflow-groups"} <= set(names)


def test_claim_headers_before_istio_1_17_are_a_config_error_with_the_fallback():
    data = yaml.safe_load(KUBEFLOW.read_text())
    data["spec"]["platform"]["istioVersion"] = "1.16"
    with pytest.raises(ConfigError, match=r"needs Istio 1.17 or newer .* x-auth-request-user"):
        meshauth.load_config(data)
    data["spec"]["identity"].pop("claimHeaders")
    assert meshauth.load_config(data)


def test_ambient_apps_sharing_a_waypoint_must_agree_on_claim_headers():
    data = yaml.safe_load(KUBEFLOW.read_text())
    data["spec"]["mesh"] = {"dataplane": "ambient"}
    data["spec"]["platform"]["istioVersion"] = "1.26"
    ok = copy.deepcopy(data)
    assert meshauth.load_config(ok)
    data["spec"]["apps"][2]["claimHeaders"] = {}
    with pytest.raises(ConfigError, match="share one token check at its waypoint: give jupyter"):
        meshauth.load_config(data)


def test_cli_header_flag(tmp_path):
    run = [sys.executable, "-m", "meshauth", "simulate", str(KUBEFLOW), "--host", HOST, "--path", "/assets/x"]
    shown = subprocess.run(
        [*run, "--header", "X-Auth-Request-Email=boss@example.com"], capture_output=True, text=True
    )
    assert shown.returncode == 0, shown.stderr
    assert "x-auth-request-email: (not passed on)  <- removed client copy" in shown.stdout
    as_json = subprocess.run(
        [*run, "--header", "kubeflow-userid=root", "--output", "json"], capture_output=True, text=True
    )
    headers = json.loads(as_json.stdout)["headers"]
    assert headers == [
        {
            "name": "kubeflow-userid",
            "value": None,
            "source": REMOVED,
            "by": "EnvoyFilter istio-system/kubeflow-identity-headers",
        }
    ]
    bad = subprocess.run([*run, "--header", "no-equals-sign"], capture_output=True, text=True)
    assert (
        bad.returncode == 2 and "--header must be NAME=VALUE" in bad.stderr and "Traceback" not in bad.stderr
    )


@pytest.mark.parametrize("istio, refused", [("1.16", True), ("1.17", False), ("1.30", False)])
def test_claim_headers_start_at_istio_1_17_the_first_release_whose_crds_have_the_field(istio, refused):
    from meshauth.compat.versions import CLAIM_HEADERS_ISTIO, claim_headers_problem

    assert CLAIM_HEADERS_ISTIO == (1, 17)
    major, minor = map(int, istio.split("."))
    assert (claim_headers_problem((major, minor)) is not None) == refused
