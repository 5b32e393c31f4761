"""A real login, end to end (tools/e2e.py): the real oauth2-proxy, started as the rendered Deployment
says, logs users in at a mock IdP behind a gateway stand-in that follows the rendered extension
provider; the harness decides as ``meshauth simulate`` does. Skips without ``go``."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import time
import urllib.parse

import pytest
from conftest import ROOT

import meshauth
from meshauth.authz.simulate import simulate

if shutil.which("go") is None:
    pytest.skip(
        "go is not installed: the e2e harness builds oauth2-proxy and the mock IdP", allow_module_level=True
    )

spec = importlib.util.spec_from_file_location("e2e", ROOT / "tools" / "e2e.py")
assert spec and spec.loader
e2e = importlib.util.module_from_spec(spec)
sys.modules["e2e"] = e2e
spec.loader.exec_module(e2e)

PLATFORM = ROOT / "tests" / "fixtures" / "e2e" / "platform.yaml"
ALICE = {"sub": "alice", "email": "alice@example.com", "email_verified": True, "groups": ["platform-team"]}
BOB = {"sub": "bob", "email": "bob@example.com", "email_verified": True, "groups": ["writers"]}
MALLORY = {
    "sub": "mallory",
    "email": "mallory@elsewhere.test",
    "email_verified": True,
    "groups": ["platform-team"],
}


@pytest.fixture(scope="module")
def harness():
    with e2e.Harness(PLATFORM) as running:
        yield running


def session_cookie(browser) -> str | None:
    return browser.cookies.get("example.com", {}).get("_oauth2_proxy_istio_ingressgateway")


def test_first_visit_is_sent_to_the_idp_by_the_real_proxy(harness):
    outcome, url = harness.browser().get("https://grafana.example.com/d/home")
    assert (outcome.status, outcome.checked, outcome.allowed_by_proxy) == (302, True, False)
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    assert url.startswith(harness.idp.issuer + "/authorize?")
    assert query["client_id"] == ["platform-login"]
    assert query["redirect_uri"] == ["https://grafana.example.com/oauth2/callback"]
    # and the CSRF cookie came through headersToDownstreamOnDeny
    assert any(k.lower() == "set-cookie" for k, _ in outcome.client_headers)


def test_browser_login_reaches_the_app_with_the_id_token(harness):
    browser = harness.browser()
    verdict = harness.login(browser, "grafana.example.com", "/d/home", ALICE)
    assert verdict.allowed, verdict
    assert session_cookie(browser)
    token = verdict.outcome.upstream_headers["authorization"]
    assert token.startswith("Bearer ")
    assert verdict.token_claims["email"] == "alice@example.com"
    assert verdict.token_claims["iss"] == harness.idp.issuer
    assert verdict.token_claims["aud"] in ("platform-login", ["platform-login"])
    assert verdict.outcome.upstream_headers["x-auth-request-email"] == "alice@example.com"
    # the session then carries her without the IdP
    again, _ = browser.get("https://grafana.example.com/d/other")
    assert again.status == 200 and again.allowed_by_proxy


def test_the_policies_decide_after_the_login_as_simulate_does(harness):
    for claims, host, path in [
        (ALICE, "grafana.example.com", "/d/home"),
        (BOB, "grafana.example.com", "/d/home"),
        (BOB, "docs.example.com", "/guide"),
    ]:
        verdict = harness.login(harness.browser(), host, path, claims)
        expected = simulate(harness.model, host, path, claims={**claims, "iss": harness.idp.issuer})
        assert (verdict.allowed, verdict.status) == (expected.allowed, expected.status), (
            claims["sub"],
            host,
            verdict,
        )
    assert not harness.login(harness.browser(), "grafana.example.com", "/", BOB).allowed


def test_a_user_outside_the_email_domains_is_refused_by_the_proxy_itself(harness):
    verdict = harness.login(harness.browser(), "docs.example.com", "/guide", MALLORY)
    assert not verdict.allowed
    assert verdict.status == 403 and "by oauth2-proxy" in verdict.reason


def test_public_paths_need_no_login(harness):
    outcome, _ = harness.browser().get("https://grafana.example.com/api/health")
    assert not outcome.checked and outcome.status == 200


def test_sign_out_ends_the_session(harness):
    browser = harness.browser()
    assert harness.login(browser, "docs.example.com", "/guide", BOB).allowed
    browser.get("https://docs.example.com/oauth2/sign_out")
    assert session_cookie(browser) is None
    outcome, _ = browser.get("https://docs.example.com/guide")
    assert outcome.allowed_by_proxy is not True


def test_a_machine_client_with_a_bearer_token(harness):
    claims = {"sub": "ci", "aud": "platform-login", "email": "ci@example.com", "groups": ["platform-team"]}
    verdict = harness.machine("grafana.example.com", "/api/dashboards", claims)
    assert verdict.allowed, verdict
    assert verdict.token_claims["sub"] == "ci"
    forged = e2e.Harness.machine  # a token for another audience is refused by the gateway's token check
    wrong = forged(harness, "grafana.example.com", "/api/dashboards", {**claims, "aud": "someone-else"})
    assert not wrong.allowed


def test_refresh_renews_the_cookie_through_headers_to_downstream_on_allow(tmp_path):
    overlay = tmp_path / "refresh.yaml"
    overlay.write_text("spec:\n  oauth2Proxy:\n    cookie:\n      refresh: 2s\n")
    with e2e.Harness(PLATFORM, [str(overlay)]) as running:
        browser = running.browser()
        assert running.login(browser, "docs.example.com", "/guide", BOB).allowed
        first = session_cookie(browser)
        time.sleep(3)
        outcome, _ = browser.get("https://docs.example.com/guide")
        assert outcome.allowed_by_proxy
        assert [k for k, _ in outcome.client_headers if k.lower() == "set-cookie"]
        assert session_cookie(browser) != first


def test_the_command_prints_the_verdict_first(tmp_path):
    run = subprocess.run(
        [
            sys.executable,
            str(ROOT / "tools" / "e2e.py"),
            str(PLATFORM),
            "--host",
            "grafana.example.com",
            "--path",
            "/",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.split()[0] == "DENY"
    import json

    run = subprocess.run(
        [
            sys.executable,
            str(ROOT / "tools" / "e2e.py"),
            str(PLATFORM),
            "--host",
            "grafana.example.com",
            "--path",
            "/d/home",
            "--claims",
            json.dumps(ALICE),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.split()[0] == "ALLOW"


def test_a_config_error_exits_1_naming_it(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: meshauth.dev/v1alpha1\nkind: MeshAuthConfig\nmetadata: {name: x}\nspec: {}\n")
    run = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "e2e.py"), str(bad), "--host", "a.example.com", "--path", "/"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 1 and run.stdout == ""
    assert "e2e:" in run.stderr


def test_rendered_deployment_is_what_runs(harness):
    args, env, _ = e2e.proxy_command(harness.bundle, harness.workdir / "again")
    rendered = meshauth.render(harness.model)
    deployment = next(
        o for o in rendered.objects if o["kind"] == "Deployment" and o["metadata"]["name"] == "oauth2-proxy"
    )
    flags = [a.split("=", 1)[0] for a in deployment["spec"]["template"]["spec"]["containers"][0]["args"]]
    assert [a.split("=", 1)[0] for a in args] == flags


def test_the_real_proxy_accepts_the_flags_every_config_renders(tmp_path):
    """oauth2-proxy (the release built for this run) starts with every example's and valid case's
    rendered args, env and files: no "flag provided but not defined", no invalid option. Other
    releases: their flag sets, read from each release's source, in test_proxy_flags_upstream.py; set
    MESHAUTH_E2E_PROXY_VERSIONS=v7.2.0,... to start those releases' real binaries too."""
    from meshauth.compat.proxyflags import LATEST, parse_version

    versions = [LATEST, *filter(None, os.environ.get("MESHAUTH_E2E_PROXY_VERSIONS", "").split(","))]
    idp = e2e.MockIdP("e2e")
    try:
        problems, started = [], 0
        for version in versions:
            binary = e2e.build_proxy(version)
            for path in [*ROOT.glob("examples/*.yaml"), *ROOT.glob("tests/cases/valid/*.yaml")]:
                config = meshauth.load_config(path)
                wanted = config.spec.oauth2_proxy.version
                if config.spec.authorizer != "oauth2-proxy" or parse_version(wanted) > parse_version(version):
                    continue
                # the config as it is; only oauth2-proxy's issuer is the mock IdP (it discovers it at start)
                bundle = meshauth.render(config)
                problem = e2e.flag_problem(binary, bundle, tmp_path / f"{version}-{path.stem}", idp.issuer)
                if problem:
                    problems.append(f"{path.stem} (renders for {wanted}) on {version}: {problem}")
                started += 1
    finally:
        idp.stop()
    assert problems == []
    assert started > 25


def _harnessable(path) -> bool:
    config = meshauth.load_config(path)
    spec = config.spec
    if not (
        not spec.oauth2_proxy.extra_args  # its own flags (--force-json-errors: 401, not 302) are not modelled
        and spec.authorizer == "oauth2-proxy"
        and spec.platform.istio >= (1, 9)  # an extension provider (before: an EnvoyFilter)
        and spec.oauth2_proxy.session_store.type != "redis"
        and bool(spec.apps)
    ):
        return False
    try:  # what simulate cannot decide (targetRefs of Gateway API and ambient), neither can the harness
        simulate(config, spec.apps[0].all_hosts[0], "/")
    except meshauth.ConfigError:
        return False
    return True


HARNESSED = [
    p for p in [*ROOT.glob("examples/*.yaml"), *ROOT.glob("tests/cases/valid/*.yaml")] if _harnessable(p)
]


def _who(app) -> dict:
    """Claims of a user an app's authorization admits (or a plain user where it names none)."""
    rules = app.authorization
    email = (rules.emails or ["someone@example.com"])[0] if rules else "someone@example.com"
    groups = list(rules.groups or []) if rules else []
    return {"sub": "u1", "email": email, "email_verified": True, "groups": groups}


def test_the_harness_decides_the_configs_of_the_test_suite_as_simulate_does():
    disagreements, decided = [], 0
    for path in sorted(HARNESSED):
        try:
            running = e2e.Harness(path)
        except meshauth.ConfigError:
            continue  # principals that name the real issuer cannot point at the mock IdP
        with running:
            for app in running.model.spec.apps[:2]:
                host = app.all_hosts[0]
                try:
                    for claims in (None, _who(app)):
                        simulate(running.model, host, "/", claims=claims)
                except meshauth.ConfigError:
                    continue  # targetRefs (Gateway API, ambient) are not modelled
                for claims in (None, _who(app)):
                    if claims is None:
                        outcome, _ = running.browser().get(f"https://{host}/")
                        verdict = running.decide(host, "/", "GET", outcome)
                    else:
                        verdict = running.login(running.browser(), host, "/", claims)
                    expected = simulate(
                        running.model, host, "/", claims=claims and {**claims, "iss": running.idp.issuer}
                    )
                    if (verdict.allowed, verdict.status) != (expected.allowed, expected.status):
                        disagreements.append(
                            f"{path.stem} {host} {claims and claims['email']}: {verdict} | {expected}"
                        )
                    decided += 1
    assert disagreements == []
    assert decided >= 20
