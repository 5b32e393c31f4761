"""Property tests: over generated configs and identities, the evaluator (reading what was rendered)
agrees with the config's meaning (read here, independently, from docs/config.md).

* an identity reaches an app if and only if the config grants it;
* anonymous requests reach nothing but public paths and the ACME challenge path.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import meshauth
from meshauth.authz import matcher as authz
from meshauth.authz import requests as authz_eval
from meshauth.authz.simulate import Request, environment_for, evaluate

ISSUER = "https://idp.example.com"
CLIENT_ID = "meshauth"
ACME = "/.well-known/acme-challenge/"
EMAILS = ["ana@example.com", "bob@example.com", "*@partner.org", "eve@evil.org", "zed@partner.org"]
GROUPS = ["sre", "dev", "sales"]
SUBJECTS = ["u1", "u2", "u3"]
TEAMS = ["core", "edge"]
PUBLIC = ["/healthz", "/static/*", "/api/v1/status", "/public/*"]
# raw path -> the path Istio's policies see (BASE normalization), spelled out by hand
PATHS = {
    "/": "/",
    "/admin": "/admin",
    "/healthz": "/healthz",
    "/healthz/x": "/healthz/x",
    "/static/app.js": "/static/app.js",
    "/static": "/static",
    "/static/../admin": "/admin",
    "/public/%2e%2e/admin": "/admin",
    "/api/v1/status": "/api/v1/status",
    "/api/v1/status?x=1": "/api/v1/status",
    "/public/a/b": "/public/a/b",
    ACME + "token": ACME + "token",
    "/.well-known/acme-challenge": "/.well-known/acme-challenge",
}


def wild(pattern: str, value: str) -> bool:
    """Istio's wildcard rule, as the docs state it: *, prefix*, *suffix, or exact."""
    if pattern == "*":
        return True
    if pattern.startswith("*"):
        return value.endswith(pattern[1:])
    if pattern.endswith("*"):
        return value.startswith(pattern[:-1])
    return value == pattern


# --- strategies ----------------------------------------------------------------------------------------


@st.composite
def authorizations(draw) -> dict | None:
    if draw(st.booleans()):
        return None
    subset = lambda pool: draw(st.lists(st.sampled_from(pool), unique=True, max_size=2))  # noqa: E731
    authorization = {
        "emails": subset(EMAILS),
        "groups": subset(GROUPS),
        "principals": [f"{ISSUER}/{s}" for s in subset(SUBJECTS)],
        "audiences": draw(st.sampled_from([[], [CLIENT_ID], [CLIENT_ID, "reports"], ["reports"]])),
    }
    if draw(st.booleans()):
        authorization["claims"] = {"team": draw(st.lists(st.sampled_from(TEAMS), unique=True, min_size=1))}
    return authorization


@st.composite
def configs(draw) -> dict:
    names = draw(st.lists(st.sampled_from(["alpha", "beta", "gamma"]), unique=True, min_size=1, max_size=3))
    apps = []
    for name in names:
        app: dict[str, Any] = {
            "name": name,
            "host": f"{name}.example.com",
            "publicPaths": draw(st.lists(st.sampled_from(PUBLIC), unique=True, max_size=2)),
        }
        if draw(st.booleans()):
            app["namespace"] = "shared"
        authorization = draw(authorizations())
        if authorization is not None:
            app["authorization"] = authorization
        if draw(st.booleans()):
            app["deploy"] = {"image": "nginxinc/nginx-unprivileged:1.27", "containerPort": 8080}
        apps.append(app)
    tls = draw(st.sampled_from(["http01", "dns01", None]))
    spec: dict[str, Any] = {
        "platform": {"istioVersion": draw(st.sampled_from(["1.11", "1.17", "1.22", "1.30"]))},
        "identity": {"issuerUrl": ISSUER, "jwksUri": f"{ISSUER}/keys", "clientId": CLIENT_ID},
        "oauth2Proxy": {
            "emailDomains": draw(st.sampled_from([["*"], ["example.com"], ["example.com", "partner.org"]])),
            "cookie": {"refresh": "30m", "secure": tls is not None},
        },
        "apps": apps,
    }
    if tls == "http01":
        spec["tls"] = {}
    elif tls == "dns01":
        spec["tls"] = {"issuer": {"acme": {"solver": "dns01", "dns01": {"cloudDNS": {"project": "p"}}}}}
    return {
        "apiVersion": "meshauth.dev/v1alpha1",
        "kind": "MeshAuthConfig",
        "metadata": {"name": "prop"},
        "spec": spec,
    }


@st.composite
def identities(draw) -> dict | None:
    if draw(st.booleans()):
        return None
    claims: dict[str, Any] = {
        "email": draw(st.sampled_from([e for e in EMAILS if "*" not in e] + ["x@partner.org"])),
        "sub": draw(st.sampled_from(SUBJECTS)),
        "groups": draw(st.lists(st.sampled_from(GROUPS), unique=True, max_size=2)),
    }
    aud = draw(st.sampled_from([None, CLIENT_ID, [CLIENT_ID, "reports"], "reports"]))
    if aud is not None:
        claims["aud"] = aud
    team = draw(st.sampled_from([None, *TEAMS, ["core", "edge"]]))
    if team is not None:
        claims["team"] = team
    return claims


# --- the config's meaning --------------------------------------------------------------------------------


def grants(config: dict, claims: dict | None, host: str, path: str, port: int) -> bool:
    """Does the config let this request reach the app (docs/config.md, docs/design.md)?"""
    spec = config["spec"]
    app = next(a for a in spec["apps"] if a["host"] == host.split(":")[0].lower())
    tls = spec.get("tls")
    http01 = tls is not None and "issuer" not in tls
    if tls is not None and port == 80:  # the apps are served over HTTPS; port 80 is ACME or a redirect
        return http01 and path.startswith(ACME)
    if any(wild(p, path) for p in app["publicPaths"]):
        return True  # public paths skip the login (over HTTPS the ACME path is an app path like any)
    if claims is None:
        return False
    return _proxy_accepts(spec, claims) and _app_admits(spec, app, claims)


def _proxy_accepts(spec: dict, claims: dict) -> bool:
    domains = spec["oauth2Proxy"]["emailDomains"]
    email = claims["email"]
    return CLIENT_ID in _aud(claims) and ("*" in domains or email.split("@")[1] in domains)


def _aud(claims: dict) -> list[str]:
    aud = claims.get("aud", CLIENT_ID)
    return aud if isinstance(aud, list) else [aud]


def _app_admits(spec: dict, app: dict, claims: dict) -> bool:
    authz_ = app.get("authorization") or {}
    audiences = authz_.get("audiences") or [CLIENT_ID]
    if not set(audiences) & set(_aud(claims)):
        return False
    for name, values in (authz_.get("claims") or {}).items():
        have = claims.get(name)
        have = have if isinstance(have, list) else [have] if isinstance(have, str) else []
        if not any(wild(v, h) for v in values for h in have):
            return False
    listed = authz_.get("emails") or authz_.get("groups") or authz_.get("principals")
    if not listed:
        return True
    return (
        any(wild(e, claims["email"]) for e in authz_.get("emails") or [])
        or bool(set(authz_.get("groups") or []) & set(claims.get("groups") or []))
        or f"{ISSUER}/{claims['sub']}" in (authz_.get("principals") or [])
    )


# --- the properties ----------------------------------------------------------------------------------


@lru_cache(maxsize=256)
def _rendered(text: str):
    config = meshauth.load_config(json.loads(text))
    return meshauth.render(config), environment_for(config)


def simulate(config: dict, request: Request):
    bundle, env = _rendered(json.dumps(config, sort_keys=True))
    return evaluate(bundle, request, env)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(config=configs(), claims=identities(), data=st.data())
def test_an_identity_reaches_an_app_exactly_when_the_config_grants_it(config, claims, data):
    app = data.draw(st.sampled_from(config["spec"]["apps"]))
    raw = data.draw(st.sampled_from(sorted(PATHS)))
    tls = config["spec"].get("tls") is not None
    port = data.draw(st.sampled_from([443, 80])) if tls else 80
    host = data.draw(st.sampled_from([app["host"], app["host"].upper(), f"{app['host']}:{port}"]))
    decision = simulate(config, Request(host=host, path=raw, claims=claims, port=port))
    expected = grants(config, claims, host, PATHS[raw], port)
    assert decision.allowed == expected, decision.explain()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    config=configs(),
    data=st.data(),
    path=st.from_regex(r"\A/[a-zA-Z0-9/._%~-]{0,30}\Z").filter(lambda p: "%00" not in p),
)
def test_anonymous_requests_reach_only_public_paths_and_the_acme_path(config, data, path):
    app = data.draw(st.sampled_from(config["spec"]["apps"]))
    path = data.draw(st.sampled_from([path, "/static/" + path.lstrip("/"), ACME + path.lstrip("/")]))
    port = data.draw(st.sampled_from([None, 80]))
    decision = simulate(config, Request(host=app["host"], path=path, port=port))
    if decision.allowed:
        seen = authz_eval.normalize_path(path)
        paths = {"paths": app["publicPaths"]}
        public = authz.operation_matches(paths, authz.Call(app["host"], seen, "GET", 443)) is True
        acme = decision.destination == "ACME solver" and seen.startswith(ACME)
        assert public or acme, decision.explain()
        assert acme or decision.destination.startswith(f"{app['name']}.")


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(config=configs(), claims=identities(), data=st.data())
def test_no_request_reaches_an_app_through_another_apps_host(config, claims, data):
    app = data.draw(st.sampled_from(config["spec"]["apps"]))
    decision = simulate(config, Request(host=app["host"], path="/", claims=claims))
    if decision.allowed and decision.destination != "ACME solver":
        service = decision.destination.split(".")[0]
        assert service == app["name"]
