"""simulate and explain on every shape meshauth renders: Gateway API, ambient (waypoint and ztunnel),
authservice, Istio before 1.9 (EnvoyFilter login), and routing as Istio and Gateway API define it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import meshauth
from meshauth.authz import ambient
from meshauth.authz.explain import access_table
from meshauth.authz.simulate import Environment, Request, environment_for, evaluate

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
TEAM = {"email": "ana@example.com", "groups": ["platform-team"]}
OTHER = {"email": "bob@example.com", "groups": ["sales"]}
SHAPES = ["quickstart", "gateway-api", "ambient", "authservice"]


def decide(example: str, host: str, path: str, **kw: Any):
    return meshauth.simulate(str(EXAMPLES / f"{example}.yaml"), host=host, path=path, **kw)


@pytest.mark.parametrize("shape", SHAPES)
def test_each_shape_lets_the_team_in_and_sends_anonymous_users_to_login(shape):
    allowed = decide(shape, "grafana.example.com", "/d/1", claims=TEAM)
    assert (allowed.verdict, allowed.destination) == ("ALLOW", "grafana.monitoring.svc.cluster.local"), (
        allowed.explain()
    )
    anonymous = decide(shape, "grafana.example.com", "/d/1")
    assert (anonymous.verdict, anonymous.status) == ("DENY", 302) and "login" in anonymous.decided_by
    outsider = decide(shape, "grafana.example.com", "/d/1", claims=OTHER)
    assert (outsider.verdict, outsider.status) == ("DENY", 403) and "grafana-access" in outsider.decided_by
    public = decide(shape, "www.docs.example.com", "/static/app.css")
    assert public.allowed and public.destination == "docs.docs.svc.cluster.local", public.explain()
    assert decide(shape, "grafana.example.com", "/api/health").allowed
    assert decide(shape, "docs.example.com", "/guide", claims=OTHER).allowed


def test_ambient_the_waypoint_enforces_the_app_policy_and_ztunnel_sees_the_waypoint():
    decision = decide("ambient", "grafana.example.com", "/d/1", claims=OTHER)
    hops = [(s.hop, s.stage) for s in decision.steps]
    assert (
        "waypoint",
        "ALLOW",
    ) in hops and decision.decided_by == "AuthorizationPolicy monitoring/ambient-grafana-access"
    allowed = decide("ambient", "grafana.example.com", "/d/1", claims=TEAM)
    assert [s.hop for s in allowed.steps][-2:] == ["ztunnel", "ztunnel"]


def test_authservice_logs_in_like_oauth2_proxy_and_passes_the_id_token():
    decision = decide("authservice", "docs.example.com", "/", claims={"email": "x@anywhere.org"})
    assert decision.allowed, decision.explain()
    login = next(s for s in decision.steps if s.stage == "login")
    assert "ID token added" in login.outcome and "authservice" in login.policy
    foreign = decide("authservice", "docs.example.com", "/", claims={"iss": "https://evil.example"})
    assert foreign.status == 403 and "issuer" in foreign.reason


def test_istio_1_8_login_is_the_envoy_filter_and_public_routes_skip_it():
    anonymous = decide("istio-1-8", "nginx.example.com", "/")
    assert anonymous.status == 302 and anonymous.decided_by == "EnvoyFilter istio-system/legacy-login"
    assert decide("istio-1-8", "nginx.example.com", "/assets/app.js").allowed
    assert decide("istio-1-8", "nginx.example.com", "/", claims={"email": "luke@example.com"}).allowed
    assert not decide("istio-1-8", "nginx.example.com", "/", claims={"email": "leia@example.com"}).allowed


@pytest.mark.parametrize("example", sorted(p.stem for p in EXAMPLES.glob("*.yaml")))
def test_explain_prints_every_app_of_every_example(example):
    config = meshauth.load_config(str(EXAMPLES / f"{example}.yaml"))
    text = meshauth.explain(config)
    for app in config.spec.apps:
        assert f"app {app.namespace}/{app.service.name}" in text
    assert "public paths" in text and "who may enter" in text


# --- hand-built bundles: routing and attachment ------------------------------------------------------

ENV = Environment("cluster.local/ns/gw/sa/gw-istio", root_namespace="istio-system")
GW = {
    "apiVersion": "gateway.networking.k8s.io/v1",
    "kind": "Gateway",
    "metadata": {"name": "gw", "namespace": "gw"},
    "spec": {
        "gatewayClassName": "istio",
        "listeners": [
            {"name": "web", "port": 80, "protocol": "HTTP", "allowedRoutes": {"namespaces": {"from": "All"}}}
        ],
    },
}


def route(name: str, rules: list, hostnames: list | None = None, namespace: str = "apps") -> dict:
    spec: dict[str, Any] = {"parentRefs": [{"name": "gw", "namespace": "gw"}], "rules": rules}
    if hostnames is not None:
        spec["hostnames"] = hostnames
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


def to(service: str, path_type: str | None = None, value: str | None = None, **more: Any) -> dict:
    rule: dict[str, Any] = {"backendRefs": [{"name": service, "port": 80}]}
    if path_type:
        rule["matches"] = [{"path": {"type": path_type, "value": value}, **more}]
    return rule


def where(objects: list, path: str, host: str = "a.example.com", **kw: Any) -> str | None:
    decision = evaluate((objects, {}), Request(host, path, **kw), ENV)
    assert decision.decided, decision.reason
    return decision.destination.split(".")[0] if decision.allowed else None


def test_gateway_api_path_precedence_is_exact_then_longest_prefix_then_regex():
    objects = [
        GW,
        route("r1", [to("root", "PathPrefix", "/"), to("regex", "RegularExpression", "/a.*")]),
        route(
            "r2",
            [to("a", "PathPrefix", "/a/"), to("ab", "PathPrefix", "/a/b"), to("exact", "Exact", "/a/b/c")],
        ),
    ]
    assert where(objects, "/a/b/c") == "exact"
    assert where(objects, "/a/b/c/d") == "ab"
    assert where(objects, "/a/bc") == "a"  # whole path elements: /a/b does not take /a/bc
    assert where(objects, "/a") == "a"
    assert where(objects, "/ab") == "root"  # a prefix (even "/") outranks a regular expression
    assert where(objects, "/x?y=1") == "root"


def test_gateway_api_header_and_method_matches_outrank_plain_ones_on_the_same_path():
    objects = [
        GW,
        route(
            "r",
            [
                to("plain", "PathPrefix", "/api"),
                to("beta", "PathPrefix", "/api", headers=[{"name": "X-Beta", "value": "1"}]),
            ],
        ),
        route("m", [to("posts", "PathPrefix", "/api", method="POST")]),
    ]
    assert where(objects, "/api/x") == "plain"
    assert where(objects, "/api/x", headers={"x-beta": "1"}) == "beta"
    assert where(objects, "/api/x", method="POST", headers={"x-beta": "1"}) == "posts"


def test_gateway_api_an_exact_hostname_wins_over_a_wildcard_and_section_names_bind():
    objects = [
        GW,
        route("wild", [to("wild")], ["*.example.com"]),
        route("one", [to("one")], ["a.example.com"]),
    ]
    assert where(objects, "/") == "one"
    assert where(objects, "/", host="b.example.com") == "wild"
    bound = route("bound", [to("bound")], ["c.example.com"])
    bound["spec"]["parentRefs"][0]["sectionName"] = "other"
    assert evaluate(([GW, bound], {}), Request("c.example.com", "/"), ENV).status == 404


def test_a_listener_admits_routes_only_from_the_namespaces_it_allows():
    same = {
        **GW,
        "spec": {
            **GW["spec"],
            "listeners": [{**GW["spec"]["listeners"][0], "allowedRoutes": {"namespaces": {"from": "Same"}}}],
        },
    }
    assert evaluate(([same, route("r", [to("x")])], {}), Request("a.example.com", "/"), ENV).status == 404
    assert where([same, route("r", [to("x")], namespace="gw")], "/") == "x"


def test_virtual_service_routes_are_first_match_in_order_with_plain_string_prefixes():
    gateway = {
        "apiVersion": "networking.istio.io/v1",
        "kind": "Gateway",
        "metadata": {"name": "g", "namespace": "gw"},
        "spec": {
            "selector": {"app": "gw"},
            "servers": [{"port": {"number": 80, "name": "http", "protocol": "HTTP"}, "hosts": ["*"]}],
        },
    }
    http = [
        {"match": [{"uri": {"prefix": "/a"}}], "route": [{"destination": {"host": "first"}}]},
        {"match": [{"uri": {"exact": "/a/b"}}], "route": [{"destination": {"host": "never"}}]},
        {
            "match": [{"uri": {"regex": "/r[0-9]+"}}, {"headers": {"x-r": {"exact": "1"}}}],
            "route": [{"destination": {"host": "r"}}],
        },
        {"route": [{"destination": {"host": "rest"}}]},
    ]
    vs = {
        "apiVersion": "networking.istio.io/v1",
        "kind": "VirtualService",
        "metadata": {"name": "v", "namespace": "apps"},
        "spec": {"hosts": ["a.example.com"], "gateways": ["gw/g"], "http": http},
    }
    objects = [gateway, vs]
    assert where(objects, "/a/b") == "first"
    assert where(objects, "/ab") == "first"  # Istio's prefix is a string prefix
    assert where(objects, "/r12") == "r" and where(objects, "/r1x") == "rest"
    assert where(objects, "/x", headers={"x-r": "1"}) == "r"


def test_ztunnel_drops_allow_rules_with_http_attributes_and_keeps_deny_rules_on_l4():
    allow = {
        "metadata": {"name": "a", "namespace": "n"},
        "spec": {
            "rules": [
                {"to": [{"operation": {"paths": ["/x"]}}]},
                {"from": [{"source": {"namespaces": ["gw"]}}]},
            ]
        },
    }
    seen = ambient.at_ztunnel(allow)["spec"]["rules"]
    assert seen[0] == {"to": [{"operation": {"ports": []}}]} and seen[1] == allow["spec"]["rules"][1]
    deny = {
        "metadata": {"name": "d", "namespace": "n"},
        "spec": {
            "action": "DENY",
            "rules": [{"to": [{"operation": {"paths": ["/admin"], "ports": ["8080"]}}]}],
        },
    }
    assert ambient.at_ztunnel(deny)["spec"]["rules"] == [{"to": [{"operation": {"ports": ["8080"]}}]}]
    assert ambient.at_ztunnel({"spec": {"action": "CUSTOM", "provider": {"name": "x"}}}) is None


def test_in_ambient_a_path_rule_selected_onto_the_workload_denies_everything():
    config = meshauth.load_config(str(EXAMPLES / "ambient.yaml"))
    bundle = meshauth.render(config)
    objects = [dict(o) for o in bundle.objects]
    for n, obj in enumerate(objects):
        if obj["kind"] == "AuthorizationPolicy" and obj["metadata"]["name"] == "ambient-docs-access":
            spec = {k: v for k, v in obj["spec"].items() if k != "targetRefs"}
            objects[n] = {**obj, "spec": {**spec, "selector": {"matchLabels": {"app": "docs"}}}}
    decision = evaluate(
        (objects, bundle.mesh_config), Request("docs.example.com", "/static/a.css"), environment_for(config)
    )
    assert decision.status == 403 and decision.steps[-1].hop == "ztunnel", decision.explain()


def test_a_port_rule_sees_the_port_of_the_scheme():
    gateway = GW
    deny = {
        "apiVersion": "security.istio.io/v1",
        "kind": "AuthorizationPolicy",
        "metadata": {"name": "no80", "namespace": "gw"},
        "spec": {
            "action": "DENY",
            "targetRefs": [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "gw"}],
            "rules": [{"to": [{"operation": {"ports": ["80"]}}]}],
        },
    }
    decision = evaluate(([gateway, deny, route("r", [to("x")])], {}), Request("a.example.com", "/"), ENV)
    assert decision.status == 403 and decision.decided_by == "AuthorizationPolicy gw/no80"


# --- a non-decision is never a pass --------------------------------------------------------------------


def test_what_the_bundle_does_not_decide_is_undecided_and_fails_the_command(tmp_path):
    split = route("r", [{"backendRefs": [{"name": "x", "port": 80}, {"name": "y", "port": 80}]}])
    decision = evaluate(([GW, split], {}), Request("a.example.com", "/"), ENV)
    assert (decision.verdict, decision.decided) == (
        "UNDECIDED",
        False,
    ) and "several backends" in decision.reason
    assert str(decision).startswith("UNDECIDED: cannot simulate:")


@pytest.mark.parametrize("expect", [None, "allow", "deny"])
def test_cli_expect_never_passes_on_an_undecided_request(monkeypatch, capsys, expect):
    from meshauth.authz.decision import Decision
    from meshauth.cli.main import main

    undecided = Decision(False, 0, "simulate", "a rule split over several backends", decided=False)
    monkeypatch.setattr(meshauth, "simulate", lambda *a, **k: undecided)
    args = ["simulate", str(EXAMPLES / "quickstart.yaml"), "--host", "a.example.com", "--path", "/"]
    assert main(args + (["--expect", expect] if expect else [])) == 1
    captured = capsys.readouterr()
    assert captured.out.startswith("UNDECIDED: cannot simulate: a rule split")
    assert "does not decide this request" in captured.err


def test_cli_expect_deny_on_gateway_api_is_a_real_decision(tmp_path):
    data = yaml.safe_load((EXAMPLES / "quickstart.yaml").read_text())
    data["spec"]["ingress"] = {**data["spec"].get("ingress", {}), "api": "gateway-api"}
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump(data))
    base = [sys.executable, "-m", "meshauth", "simulate", str(config), "--host", "grafana.example.com"]
    denied = subprocess.run(
        [*base, "--path", "/", "--expect", "deny"], capture_output=True, text=True, timeout=60
    )
    assert denied.returncode == 0 and denied.stdout.startswith("DENY (302)"), denied.stdout + denied.stderr
    public = subprocess.run(
        [*base, "--path", "/api/health", "--expect", "deny"], capture_output=True, text=True, timeout=60
    )
    assert public.returncode == 1 and "expected DENY, got ALLOW" in public.stderr


def test_cli_explain_on_gateway_api_prints_the_table():
    result = subprocess.run(
        [sys.executable, "-m", "meshauth", "explain", str(EXAMPLES / "gateway-api.yaml")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert result.returncode == 0 and "app monitoring/grafana" in result.stdout


# --- property: simulate never raises, on any shape ------------------------------------------------------


@st.composite
def shaped_configs(draw) -> dict:
    names = draw(st.lists(st.sampled_from(["alpha", "beta"]), unique=True, min_size=1, max_size=2))
    apps = [
        {
            "name": n,
            "host": f"{n}.example.com",
            "publicPaths": draw(
                st.lists(st.sampled_from(["/healthz", "/static/*"]), unique=True, max_size=2)
            ),
            **({"authorization": {"groups": ["sre"]}} if draw(st.booleans()) else {}),
            **({"namespace": "shared"} if draw(st.booleans()) else {}),
        }
        for n in names
    ]
    shape = draw(st.sampled_from(["sidecar", "gateway-api", "ambient", "authservice", "legacy"]))
    spec: dict[str, Any] = {
        "platform": {
            "istioVersion": "1.28" if shape == "ambient" else draw(st.sampled_from(["1.24", "1.28"]))
        },
        "identity": {
            "issuerUrl": "https://idp.example.com",
            "jwksUri": "https://idp.example.com/keys",
            "clientId": "meshauth",
        },
        "tls": draw(
            st.sampled_from(
                [{}, {"issuer": {"acme": {"solver": "dns01", "dns01": {"cloudDNS": {"project": "p"}}}}}]
            )
        ),
        "apps": apps,
    }
    if shape in ("gateway-api", "ambient"):
        spec["ingress"] = {"api": "gateway-api"}
    if shape == "ambient":
        spec["mesh"] = {"dataplane": "ambient"}
        spec["tls"] = {"issuer": {"acme": {"solver": "dns01", "dns01": {"cloudDNS": {"project": "p"}}}}}
    if shape == "legacy":  # Istio 1.8: the login is an EnvoyFilter
        spec["platform"] = {"istioVersion": "1.8", "kubernetesVersion": "1.25"}
        spec["oauth2Proxy"] = {"version": "v7.2.0"}
    if draw(st.booleans()):
        spec["externalServices"] = [
            {
                "name": "wiki",
                "host": "wiki.example.com",
                "upstream": {"host": "wiki.internal.example.net", "port": 443},
            }
        ]
    if shape == "authservice":
        spec["authorizer"] = "authservice"
        spec["mesh"] = {"extensionProvider": "authservice"}
        spec["secret"] = {"name": "authservice-client"}
    return {
        "apiVersion": "meshauth.dev/v1alpha1",
        "kind": "MeshAuthConfig",
        "metadata": {"name": "p"},
        "spec": spec,
    }


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(config=shaped_configs(), data=st.data())
def test_simulate_decides_every_request_on_every_shape_without_raising(config, data):
    model = meshauth.load_config(config)
    bundle, env = meshauth.render(model), environment_for(model)
    app = data.draw(st.sampled_from(config["spec"]["apps"]))
    path = data.draw(
        st.sampled_from(["/", "/healthz", "/static/a", "/x/../healthz", "/.well-known/acme-challenge/t"])
    )
    claims = data.draw(
        st.sampled_from([None, {"email": "a@example.com", "groups": ["sre"]}, {"email": "b@example.com"}])
    )
    port = data.draw(st.sampled_from([None, 80, 443]))
    decision = evaluate(bundle, Request(app["host"], path, claims=claims, port=port), env)
    assert decision.decided, decision.explain()
    assert {a.app.split("/")[1] for a in access_table(bundle, env)} == {
        a["name"] for a in config["spec"]["apps"]
    }
    if decision.allowed and decision.destination != "ACME solver":
        assert decision.destination.startswith(app["name"] + ".")
    if port in (None, 443) and path == "/":
        assert decision.allowed == (
            claims is not None and ("authorization" not in app or claims.get("groups") == ["sre"])
        )


def _istio(objects_http: dict[str, list], hosts: dict[str, list] | None = None) -> list:
    gateway = {
        "apiVersion": "networking.istio.io/v1",
        "kind": "Gateway",
        "metadata": {"name": "g", "namespace": "gw"},
        "spec": {
            "selector": {"app": "gw"},
            "servers": [{"port": {"number": 80, "name": "http", "protocol": "HTTP"}, "hosts": ["*"]}],
        },
    }
    return [gateway] + [
        {
            "apiVersion": "networking.istio.io/v1",
            "kind": "VirtualService",
            "metadata": {"name": name, "namespace": "apps"},
            "spec": {"hosts": (hosts or {}).get(name, ["a.example.com"]), "gateways": ["gw/g"], "http": http},
        }
        for name, http in objects_http.items()
    ]


def test_several_virtual_services_for_one_host_are_merged_in_istios_order():
    def prefix(value, host):
        return {"match": [{"uri": {"prefix": value}}], "route": [{"destination": {"host": host}}]}

    # two apps on one host by path prefix, each with its own VirtualService: merged by name
    objects = _istio({"b-wiki": [prefix("/wiki", "wiki")], "a-grafana": [prefix("/grafana", "grafana")]})
    assert where(objects, "/wiki/page") == "wiki" and where(objects, "/grafana/d") == "grafana"
    assert evaluate((objects, {}), Request("a.example.com", "/other"), ENV).status == 404
    # the older (here: first by name) catch-all shadows a later prefix, as in a cluster
    shadowed = _istio({"a-all": [prefix("/", "all")], "b-wiki": [prefix("/wiki", "wiki")]})
    assert where(shadowed, "/wiki/page") == "all"
    # an exact host outranks a wildcard one, whatever the order
    split = _istio(
        {"a-wild": [prefix("/", "wild")], "b-exact": [prefix("/", "exact")]},
        {"a-wild": ["*.example.com"], "b-exact": ["a.example.com"]},
    )
    assert where(split, "/") == "exact" and where(split, "/", host="b.example.com") == "wild"


def test_an_app_without_a_sidecar_enforces_nothing_and_a_disabled_pod_opts_out():
    config = meshauth.load_config(str(EXAMPLES / "quickstart.yaml"))
    bundle = meshauth.render(config)

    def with_namespace_labels(labels):
        objects = [
            {**o, "metadata": {**o["metadata"], "labels": labels}}
            if o["kind"] == "Namespace" and o["metadata"]["name"] == "monitoring"
            else o
            for o in bundle.objects
        ]
        return evaluate(
            (objects, bundle.mesh_config), Request("grafana.example.com", "/d", claims=OTHER), env
        )

    env = environment_for(config)
    assert with_namespace_labels({"istio-injection": "enabled"}).status == 403  # the app's groups rule
    unenforced = with_namespace_labels({})
    assert unenforced.allowed and "no sidecar is injected" in unenforced.steps[-1].outcome
    assert with_namespace_labels({"istio.io/rev": "1-28"}).status == 403


def _policy(namespace: str, **spec: Any) -> dict:
    return {"kind": "AuthorizationPolicy", "metadata": {"name": "p", "namespace": namespace}, "spec": spec}


def test_which_proxy_a_policy_attaches_to_follows_istios_policy_matcher():
    from meshauth.authz.requests import attaches
    from meshauth.authz.routes import Pods

    root = "istio-system"
    sidecar = Pods("", "apps", {"app": "web"})
    ingress = Pods("", "gw", {"gateway.networking.k8s.io/gateway-name": "gw"}, "gw")
    waypoint = ambient.waypoint_pods("apps", "waypoint", (("apps", "web"),))
    gateway_ref = {"group": "gateway.networking.k8s.io", "kind": "Gateway"}
    on_service = _policy("apps", targetRefs=[{"group": "", "kind": "Service", "name": "web"}])
    on_waypoint = _policy("apps", targetRefs=[{**gateway_ref, "name": "waypoint"}])
    on_class = _policy(
        root,
        targetRefs=[{"group": "gateway.networking.k8s.io", "kind": "GatewayClass", "name": "istio-waypoint"}],
    )
    on_ingress = _policy("gw", targetRefs=[{**gateway_ref, "name": "gw"}])
    selected = _policy("apps", selector={"matchLabels": {"app": "web"}})
    mesh_wide = _policy(root)
    assert [attaches(p, sidecar, root) for p in (on_service, on_waypoint, selected, mesh_wide)] == [
        False,
        False,
        True,
        True,
    ]
    assert [
        attaches(p, waypoint, root) for p in (on_service, on_waypoint, on_class, selected, mesh_wide)
    ] == [True, True, True, False, False]
    other_service = ambient.waypoint_pods("apps", "waypoint", (("apps", "api"),))
    assert not attaches(on_service, other_service, root)
    assert attaches(on_ingress, ingress, root) and attaches(mesh_wide, ingress, root)  # selector policies too
    assert not attaches(
        _policy("other", targetRefs=[{**gateway_ref, "name": "gw"}]), ingress, root
    )  # same namespace only


@pytest.mark.parametrize(
    "example, host, claims, login, hops",
    [
        (
            "quickstart",
            "grafana.example.com",
            TEAM,
            "oauth2-proxy (AuthorizationPolicy",
            ["gateway", "provider", "route", "sidecar"],
        ),
        (
            "gateway-api",
            "grafana.example.com",
            TEAM,
            "oauth2-proxy (AuthorizationPolicy",
            ["gateway", "provider", "route", "sidecar"],
        ),
        (
            "ambient",
            "grafana.example.com",
            TEAM,
            "oauth2-proxy (AuthorizationPolicy",
            ["gateway", "ztunnel", "provider", "route", "waypoint"],
        ),
        (
            "authservice",
            "grafana.example.com",
            TEAM,
            "authservice (AuthorizationPolicy",
            ["gateway", "provider", "route", "sidecar"],
        ),
        (
            "istio-1-8",
            "nginx.example.com",
            {"email": "luke@example.com"},
            "oauth2-proxy (EnvoyFilter",
            ["gateway", "provider", "route", "sidecar"],
        ),
    ],
)
def test_explain_and_verbose_simulate_show_the_decision_path_of_each_shape(
    example, host, claims, login, hops
):
    config = str(EXAMPLES / f"{example}.yaml")
    table = meshauth.explain(config)
    section = table.split(f"hosts          {host}")[1].split("\n\n")[0]
    assert f"login          {login}" in section and "signed in through" in section
    verbose = subprocess.run(
        [
            sys.executable,
            "-m",
            "meshauth",
            "simulate",
            config,
            "--host",
            host,
            "--path",
            "/",
            "--claims",
            json.dumps(claims),
            "-v",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert verbose.returncode == 0 and verbose.stdout.startswith("ALLOW (200)"), (
        verbose.stdout + verbose.stderr
    )
    seen = list(dict.fromkeys(line.split()[0] for line in verbose.stdout.splitlines()[1:]))
    assert all(h in seen for h in hops), seen


def test_at_istioctls_ingress_gateway_a_port_rule_sees_the_container_port():
    # istio-ingressgateway listens on 8080 behind Service port 80: a rule on "80" never matches there
    config = meshauth.load_config(str(EXAMPLES / "quickstart.yaml"))
    bundle, env = meshauth.render(config), environment_for(config)
    assert env.gateway_ports == {80: 8080, 443: 8443}

    def denied_on(port: str):
        deny = _policy(
            "istio-system", action="DENY", selector={"matchLabels": {"app": "istio-ingressgateway"}}
        )
        deny["spec"]["rules"] = [{"to": [{"operation": {"ports": [port]}}]}]
        objects = [*bundle.objects, deny]
        return evaluate((objects, bundle.mesh_config), Request("grafana.example.com", "/api/health"), env)

    assert denied_on("443").allowed and not denied_on("8443").allowed


def test_explain_with_no_app_to_show_fails_instead_of_printing_nothing(monkeypatch, capsys):
    from meshauth.authz import explain as explain_module
    from meshauth.cli.main import main

    monkeypatch.setattr(explain_module, "access_table", lambda bundle, env: [])
    assert main(["explain", str(EXAMPLES / "gateway-api.yaml")]) != 0
    captured = capsys.readouterr()
    assert captured.out == "" and "no route on a gateway" in captured.err


def test_a_backend_in_another_namespace_needs_a_reference_grant():
    other = route("r", [{"backendRefs": [{"name": "api", "namespace": "backend", "port": 80}]}])
    refused = evaluate(([GW, other], {}), Request("a.example.com", "/"), ENV)
    assert refused.status == 500 and "ReferenceGrant" in refused.reason
    grant = {
        "apiVersion": "gateway.networking.k8s.io/v1beta1",
        "kind": "ReferenceGrant",
        "metadata": {"name": "g", "namespace": "backend"},
        "spec": {
            "from": [{"group": "gateway.networking.k8s.io", "kind": "HTTPRoute", "namespace": "apps"}],
            "to": [{"group": "", "kind": "Service"}],
        },
    }
    assert where([GW, other, grant], "/") == "api"


@pytest.mark.parametrize(
    "prefix, path, replacement, seen",
    [  # the Gateway API spec's ReplacePrefixMatch table
        ("/foo", "/foo/bar", "/xyz", "/xyz/bar"),
        ("/foo", "/foo/bar", "/xyz/", "/xyz/bar"),
        ("/foo/", "/foo/bar", "/xyz", "/xyz/bar"),
        ("/foo", "/foo", "/xyz", "/xyz"),
        ("/foo", "/foo/", "/xyz", "/xyz/"),
        ("/foo", "/foo/bar", "", "/bar"),
        ("/foo", "/foo", "", "/"),
        ("/foo", "/foo/", "/", "/"),
    ],
)
def test_gateway_api_replace_prefix_match_follows_the_spec(prefix, path, replacement, seen):
    from meshauth.authz.routes import gateway_api_rewrite

    rule = {
        "filters": [
            {
                "type": "URLRewrite",
                "urlRewrite": {"path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": replacement}},
            }
        ]
    }
    match = {"path": {"type": "PathPrefix", "value": prefix}}
    assert gateway_api_rewrite(rule, match, path) == (seen, "")


def test_the_app_judges_the_path_as_rewritten_for_it():
    rewrite = {
        "type": "URLRewrite",
        "urlRewrite": {"path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/"}},
    }
    wiki = route("wiki", [{**to("wiki", "PathPrefix", "/wiki"), "filters": [rewrite]}])
    deny = _policy("apps", action="DENY", rules=[{"to": [{"operation": {"paths": ["/admin"]}}]}])
    objects = [GW, wiki, deny]
    assert evaluate((objects, {}), Request("a.example.com", "/wiki/admin"), ENV).status == 403
    assert where(objects, "/wiki/page") == "wiki"
    vs = _istio(
        {
            "w": [
                {
                    "match": [{"uri": {"prefix": "/wiki/"}}],
                    "rewrite": {"uri": "/"},
                    "route": [{"destination": {"host": "wiki"}}],
                }
            ]
        }
    )
    assert evaluate(([*vs, deny], {}), Request("a.example.com", "/wiki/admin"), ENV).status == 403


def test_gateway_api_acme_challenge_reaches_the_solver_only_through_its_parent_gateway():
    config = meshauth.load_config(str(EXAMPLES / "gateway-api.yaml"))
    bundle, env = meshauth.render(config), environment_for(config)
    challenge = Request("grafana.example.com", "/.well-known/acme-challenge/t0k", port=80)
    assert evaluate(bundle, challenge, env).destination == "ACME solver"
    objects = []
    for obj in bundle.objects:
        if obj["kind"] == "ClusterIssuer":
            solver = obj["spec"]["acme"]["solvers"][0]["http01"]["gatewayHTTPRoute"]
            parent = {**solver["parentRefs"][0], "name": "another-gateway"}
            http01 = {"gatewayHTTPRoute": {**solver, "parentRefs": [parent]}}
            obj = {**obj, "spec": {"acme": {**obj["spec"]["acme"], "solvers": [{"http01": http01}]}}}
        objects.append(obj)
    assert evaluate((objects, bundle.mesh_config), challenge, env).status == 404
