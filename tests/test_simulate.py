"""meshauth simulate / explain: decisions over the rendered objects, and what they catch."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import meshauth
from meshauth.authz.explain import access_table, to_text
from meshauth.authz.simulate import Environment, Request, environment_for, evaluate

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = str(ROOT / "examples" / "quickstart.yaml")
SEED = str(ROOT / "examples" / "seed.yaml")
TEAM = {"email": "ana@example.com", "groups": ["platform-team"]}
OTHER = {"email": "bob@example.com", "groups": ["sales"]}


def decide(config=QUICKSTART, **request):
    return meshauth.simulate(config, **request)


@pytest.mark.parametrize(
    "host, path, claims, port, verdict, status, by",
    [
        # login first: anonymous requests are sent to oauth2-proxy, which redirects to the IdP
        ("grafana.example.com", "/", None, None, "DENY", 302, "istio-system/quickstart-login"),
        (
            "grafana.example.com",
            "/api/health",
            None,
            None,
            "ALLOW",
            200,
            "monitoring/quickstart-grafana-access",
        ),
        ("grafana.example.com", "/api/health/x", None, None, "DENY", 302, "istio-system/quickstart-login"),
        (
            "grafana.example.com",
            "/d/1",
            TEAM,
            None,
            "ALLOW",
            200,
            "monitoring/quickstart-grafana-access rule 0",
        ),
        ("grafana.example.com", "/d/1", OTHER, None, "DENY", 403, "monitoring/quickstart-grafana-access"),
        ("docs.example.com", "/guide", OTHER, None, "ALLOW", 200, "docs/quickstart-docs-access rule 0"),
        (
            "www.docs.example.com",
            "/static/app.css",
            None,
            None,
            "ALLOW",
            200,
            "docs/quickstart-docs-access rule 1",
        ),
        # a Host header with a port or in capitals does not skip the login
        ("grafana.example.com:443", "/", None, None, "DENY", 302, "istio-system/quickstart-login"),
        ("GRAFANA.example.com", "/", None, None, "DENY", 302, "istio-system/quickstart-login"),
        # normalization: a public prefix does not open what ../ climbs out to
        ("docs.example.com", "/static/../admin", None, None, "DENY", 302, "istio-system/quickstart-login"),
        (
            "docs.example.com",
            "/static/%2e%2e/admin",
            None,
            None,
            "DENY",
            302,
            "istio-system/quickstart-login",
        ),
        # ACME: through the gateway on port 80 to cert-manager's solver, but not to the app over HTTPS
        ("grafana.example.com", "/.well-known/acme-challenge/t0k", None, 80, "ALLOW", 200, "cert-manager"),
        (
            "grafana.example.com",
            "/.well-known/acme-challenge/t0k",
            None,
            None,
            "DENY",
            302,
            "quickstart-login",
        ),
        ("grafana.example.com", "/", None, 80, "DENY", 302, "istio-system/quickstart-login"),
        ("unknown.example.com", "/", TEAM, None, "DENY", 404, "Gateway"),
    ],
)
def test_quickstart_decisions(host, path, claims, port, verdict, status, by):
    decision = decide(host=host, path=path, claims=claims, port=port)
    assert (decision.verdict, decision.status) == (verdict, status), decision.explain()
    assert by in decision.decided_by, decision.explain()


def test_a_refused_email_domain_is_decided_by_oauth2_proxy_at_the_login():
    def restrict(d):
        d["spec"].setdefault("oauth2Proxy", {})["emailDomains"] = ["example.com"]

    config = _loaded(QUICKSTART, restrict)
    decision = decide(config, host="docs.example.com", path="/", claims={"email": "eve@evil.org"})
    assert (decision.verdict, decision.status) == ("DENY", 403)
    assert "email-domain" in decision.reason and "quickstart-login" in decision.decided_by


def test_an_unverified_email_is_refused_by_oauth2_proxy():
    decision = decide(
        SEED,
        host="nginx.example.com",
        path="/",
        claims={"email": "luke@example.com", "email_verified": False},
    )
    assert decision.status == 403 and "not verified" in decision.reason


def test_the_seed_admits_only_luke():
    assert decide(SEED, host="nginx.example.com", path="/", claims={"email": "luke@example.com"}).allowed
    assert not decide(SEED, host="nginx.example.com", path="/", claims={"email": "leia@example.com"}).allowed


def test_steps_follow_envoys_filter_order():
    decision = decide(host="grafana.example.com", path="/d", claims=TEAM)
    order = [(s.hop, s.stage) for s in decision.steps if s.hop in ("gateway", "sidecar")]
    assert order == [
        ("gateway", "CUSTOM"),
        ("gateway", "jwt"),
        ("gateway", "ALLOW"),
        ("sidecar", "CUSTOM"),
        ("sidecar", "jwt"),
        ("sidecar", "ALLOW"),
    ]


def test_bad_requests_are_refused_before_any_policy():
    assert decide(host="grafana.example.com", path="/a%00").status == 400
    assert decide(host="grafana.example.com", path="/", method="get").status == 400


# --- the evaluator is independent: it catches what a broken render would do ------------------------------


def _loaded(path, change):
    data = yaml.safe_load(Path(path).read_text())
    change(data)
    return meshauth.load_config(data)


def _broken(config_path, break_it):
    config = meshauth.load_config(config_path)
    bundle = meshauth.render(config)
    objects = copy.deepcopy(list(bundle.objects))
    mesh = copy.deepcopy(bundle.mesh_config)
    break_it(objects, mesh)
    return (objects, mesh), environment_for(config)


def _find(objects, kind, name):
    return next(o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name)


def test_without_forward_original_token_the_app_refuses_signed_in_users():
    def drop_forward(objects, mesh):
        _find(objects, "RequestAuthentication", "quickstart-jwt")["spec"]["jwtRules"][0].pop(
            "forwardOriginalToken"
        )

    bundle, env = _broken(QUICKSTART, drop_forward)
    decision = evaluate(bundle, Request("grafana.example.com", "/d", claims=TEAM), env)
    assert decision.status == 403 and "grafana-access" in decision.decided_by


def test_without_the_acme_exclusion_the_challenge_is_sent_to_login():
    def drop_acme(objects, mesh):
        for rule in _find(objects, "AuthorizationPolicy", "quickstart-login")["spec"]["rules"]:
            if "/.well-known/acme-challenge/*" in rule["to"][0]["operation"].get("notPaths", []):
                rule["to"][0]["operation"]["notPaths"].remove("/.well-known/acme-challenge/*")

    bundle, env = _broken(QUICKSTART, drop_acme)
    decision = evaluate(bundle, Request("grafana.example.com", "/.well-known/acme-challenge/x", port=80), env)
    assert decision.status == 302


def test_a_missing_extension_provider_denies():
    bundle, env = _broken(
        QUICKSTART, lambda objects, mesh: mesh["spec"]["meshConfig"].update(extensionProviders=[])
    )
    decision = evaluate(bundle, Request("grafana.example.com", "/", claims=TEAM), env)
    assert decision.status == 403 and "not in the mesh config" in decision.reason


def test_a_gateway_with_another_service_account_is_refused_by_the_proxy_policy():
    config = meshauth.load_config(QUICKSTART)
    env = Environment(
        "cluster.local/ns/istio-system/sa/some-other-gateway", environment_for(config).service_labels
    )
    decision = evaluate(meshauth.render(config), Request("grafana.example.com", "/", claims=TEAM), env)
    assert decision.status == 403 and decision.decided_by == "AuthorizationPolicy oauth2-proxy/oauth2-proxy"


def test_a_missing_audience_condition_at_the_gateway_would_let_foreign_tokens_through():
    # the gateway's audience rule is what makes a token for another client useless at the gateway
    config = _loaded(
        QUICKSTART,
        lambda d: d["spec"]["oauth2Proxy"].update(extraArgs={"oidc-extra-audience": ["other-client"]}),
    )
    decision = decide(config, host="grafana.example.com", path="/", claims={**TEAM, "aud": "other-client"})
    assert decision.status == 403 and "quickstart-access" in decision.decided_by


# --- explain -----------------------------------------------------------------------------------------


def test_explain_lists_each_app_with_its_open_paths_and_conditions():
    text = meshauth.explain(QUICKSTART)
    assert "app monitoring/grafana" in text and "app docs/docs" in text
    grafana = text.split("app monitoring/grafana")[1]
    assert "public paths   /api/health\n" in grafana
    assert "/.well-known/acme-challenge/* (port 80" in grafana
    assert "claim groups in {platform-team}" in grafana and "token audience in {meshauth}" in grafana


def test_explain_agrees_with_simulate_on_every_public_path():
    config = meshauth.load_config(str(ROOT / "tests" / "cases" / "valid" / "many-apps-authorization.yaml"))
    bundle, env = meshauth.render(config), environment_for(config)
    for app in access_table(bundle, env):
        for pattern in app.public_paths:
            probe = pattern.replace("*", "x")
            assert evaluate(bundle, Request(app.hosts[-1], probe), env).allowed, (app.app, pattern)
        assert not evaluate(bundle, Request(app.hosts[0], "/meshauth-private"), env).allowed


def test_explain_markdown_is_a_table_and_escapes_config_values():
    config = _loaded(
        QUICKSTART,
        lambda d: d["spec"]["apps"][0]["authorization"].update(
            claims={"team": ["[x](javascript:alert(1))", "a|b"]}
        ),
    )
    text = meshauth.explain(config, format="markdown")
    assert text.startswith("| App | Hosts | Public paths |")
    assert "](javascript" not in text and "a\\|b" in text
    assert text.count("\n| `") == 2


def test_explain_says_when_no_login_covers_an_app():
    def open_everything(objects, mesh):
        objects.remove(_find(objects, "AuthorizationPolicy", "quickstart-login"))

    (objects, mesh), env = _broken(QUICKSTART, open_everything)
    table = access_table(meshauth.Bundle("x", tuple(objects), mesh, "istioctl", (), "1.30", "1.30"), env)
    assert all(app.login == "" for app in table)
    assert "login          (none: no CUSTOM policy covers the app)" in to_text(table)


# --- command line ------------------------------------------------------------------------------------


def run(*args):
    return subprocess.run(
        [sys.executable, "-m", "meshauth", *args], capture_output=True, text=True, cwd=ROOT, timeout=60
    )


def test_cli_simulate_prints_the_decision_and_the_deciding_policy():
    result = run("simulate", QUICKSTART, "--host", "grafana.example.com", "--path", "/")
    assert result.returncode == 0
    assert result.stdout.startswith("DENY (302) by AuthorizationPolicy istio-system/quickstart-login")


def test_cli_simulate_with_claims_json_output_and_expect():
    result = run(
        "simulate",
        QUICKSTART,
        "--host",
        "grafana.example.com",
        "--path",
        "/d",
        "--claims",
        json.dumps(TEAM),
        "--output",
        "json",
        "--expect",
        "allow",
    )
    assert result.returncode == 0, result.stderr
    decision = json.loads(result.stdout)
    assert (
        decision["verdict"] == "ALLOW" and decision["destination"] == "grafana.monitoring.svc.cluster.local"
    )
    failed = run("simulate", QUICKSTART, "--host", "grafana.example.com", "--path", "/d", "--expect", "allow")
    assert failed.returncode == 1 and "expected ALLOW, got DENY" in failed.stderr


@pytest.mark.parametrize(
    "args", [["--claims", "not json"], ["--claims", "[1]"], ["--anonymous", "--claims", "{}"]]
)
def test_cli_simulate_usage_errors_exit_2(args):
    result = run("simulate", QUICKSTART, "--host", "h.example.com", "--path", "/", *args)
    assert result.returncode == 2 and "Traceback" not in result.stderr


def test_cli_explain_markdown():
    result = run("explain", QUICKSTART, "--format", "markdown")
    assert result.returncode == 0 and result.stdout.startswith("| App |")


def test_cli_simulate_verbose_prints_every_hop():
    result = run(
        "simulate",
        QUICKSTART,
        "--host",
        "grafana.example.com",
        "--path",
        "/d",
        "-v",
        "--claims",
        json.dumps(TEAM),
    )
    hops = [line.split()[0] for line in result.stdout.splitlines()[1:]]
    assert {"gateway", "provider", "route", "sidecar"} <= set(hops)


def test_parse_claims_refuses_deep_nesting_for_python_callers_too():
    from meshauth.authz.simulate import parse_claims
    from meshauth.errors import ConfigError

    with pytest.raises(ConfigError, match="nested too deeply"):
        parse_claims("[" * 100_000)
