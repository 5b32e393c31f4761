"""Machine-to-machine tokens: the login applies only to requests without a bearer token, Istio checks
the token (extra issuers bound to their audiences), and the app admits machine principals it names.
Judged request by request in Envoy's filter order (ext_authz, jwt_authn, rbac) by tests/policy_sim."""

from __future__ import annotations

import copy

import pytest
import yaml
from conftest import ROOT
from policy_sim import judge, token
from upstream_flags import proxy_container, proxy_problems

import meshauth
from meshauth.validation.rules import registry as rules

CASE = yaml.safe_load((ROOT / "tests/cases/valid/bearer-tokens-keycloak-ci.yaml").read_text())
KC = "https://sso.example.com/realms/platform"
CI = "https://ci.example.com"
CI_SUB = "repo:platform/api:ref:refs/heads/main"
GATEWAY = {"app": "istio-ingressgateway"}
API = {"app": "api"}
DOCS = {"app": "docs"}


@pytest.fixture(scope="module")
def bundle():
    return meshauth.render(CASE)


def objects_of(bundle):
    return list(bundle.objects)


def get(bundle, kind, name):
    return next(o for o in bundle.objects if o["kind"] == kind and o["metadata"]["name"] == name)


def request(host, path="/", authorization=None, session=None, claims=None):
    headers = {"authorization": authorization} if authorization else {}
    return {"host": host, "path": path, "headers": headers, "session": session, "claims": claims or {}}


def at_gateway_and_app(bundle, req, app_labels):
    """The gateway's answer, and the app sidecar's for what the gateway let through."""
    first = judge(objects_of(bundle), GATEWAY, req)
    if first != 200:
        return first, None
    forwarded = (
        req
        if not req.get("session")
        else {**req, "headers": {"authorization": req["session"]}, "session": None}
    )
    return first, judge(objects_of(bundle), app_labels, forwarded)


def test_login_applies_only_without_a_bearer_token(bundle):
    login = get(bundle, "AuthorizationPolicy", "api-login")
    assert all(
        r["when"] == [{"key": "request.headers[authorization]", "notValues": ["Bearer *"]}]
        for r in login["spec"]["rules"]
    )
    assert judge(objects_of(bundle), GATEWAY, request("api.example.com")) == "ext_authz"
    assert (
        judge(objects_of(bundle), GATEWAY, request("api.example.com", authorization="Basic dTpw"))
        == "ext_authz"
    )


def test_no_custom_policy_uses_what_istio_forbids_in_custom_rules(bundle):
    assert [f for f in rules.check(bundle.objects, bundle.mesh_config) if f.rule == "MA008"] == []


def test_ci_token_for_its_audience_reaches_the_app_that_names_it(bundle):
    ci = token(CI, CI_SUB, ["api.example.com"])
    assert at_gateway_and_app(bundle, request("api.example.com", authorization=ci), API) == (200, 200)
    # another app does not name the CI principal: its sidecar denies
    assert at_gateway_and_app(bundle, request("docs.example.com", authorization=ci), DOCS) == (200, 403)


@pytest.mark.parametrize(
    "authorization, answer",
    [
        (token(CI, CI_SUB, ["other-api"]), 401),  # the CI issuer's token for another audience
        (token(CI, CI_SUB, ["api.example.com"], valid=False), 401),  # expired or badly signed
        (token("https://evil.example.com", "x", ["api.example.com"]), 401),  # unknown issuer
        (token(KC, "someone", ["account"]), 403),  # the login issuer, wrong audience
        (token(CI, CI_SUB, ["meshauth", "api.example.com"]), 200),  # one of its audiences suffices
    ],
)
def test_bearer_requests_are_judged_by_their_token(bundle, authorization, answer):
    assert (
        judge(objects_of(bundle), GATEWAY, request("api.example.com", authorization=authorization)) == answer
    )


def test_an_extra_issuer_cannot_pass_with_the_login_audience():
    """A machine token that carries the apps' audience still needs one of its issuer's audiences."""
    data = copy.deepcopy(CASE)
    data["spec"]["identity"]["bearerTokens"]["extraIssuers"][0]["audiences"] = ["api.example.com", "meshauth"]
    bundle = meshauth.render(data)
    gateway = get(bundle, "AuthorizationPolicy", "api-access")
    ci_rule = next(
        r
        for r in gateway["spec"]["rules"]
        if r.get("from", [{}])[0].get("source", {}).get("requestPrincipals") == [f"{CI}/*"]
    )
    assert ci_rule["when"] == [{"key": "request.auth.audiences", "values": ["api.example.com", "meshauth"]}]
    # the human rule is bound to the login issuer: a CI token with aud meshauth matches only the CI rule
    human = next(
        r
        for r in gateway["spec"]["rules"]
        if r.get("from", [{}])[0].get("source", {}).get("requestPrincipals") == [f"{KC}/*"]
    )
    assert human["when"] == [{"key": "request.auth.audiences", "values": ["meshauth"]}]


def test_browser_login_still_works_and_groups_decide(bundle):
    session = token(KC, "4f3c2b1a-0000-4000-8000-000000000002", ["meshauth"])
    member = request("api.example.com", session=session, claims={"groups": ["/platform-team"]})
    outsider = request("api.example.com", session=session, claims={"groups": ["/sales"]})
    assert at_gateway_and_app(bundle, member, API) == (200, 200)
    assert at_gateway_and_app(bundle, outsider, API) == (200, 403)
    assert at_gateway_and_app(bundle, request("docs.example.com", session=session), DOCS) == (200, 200)


def test_over_https_the_acme_path_goes_to_the_login_like_any_path(bundle):
    """(judge decides at port 443; on port 80 it skips the login: tests/test_acme_port.py)"""
    path = "/.well-known/acme-challenge/abc"
    assert judge(objects_of(bundle), GATEWAY, request("api.example.com", path)) == "ext_authz"


def test_gateway_and_sidecars_check_every_issuer(bundle):
    for name in ("api-jwt", "api-api-jwt", "api-docs-jwt"):
        rules_ = get(bundle, "RequestAuthentication", name)["spec"]["jwtRules"]
        assert [(r["issuer"], r.get("audiences"), r["forwardOriginalToken"]) for r in rules_] == [
            (KC, None, True),
            (CI, ["api.example.com"], True),
        ]


def test_app_policy_gives_machine_principals_their_issuers_audience_and_no_claims(bundle):
    policy = get(bundle, "AuthorizationPolicy", "api-api-access")
    machine = policy["spec"]["rules"][-1]
    assert machine == {
        "from": [{"source": {"requestPrincipals": [f"{CI}/{CI_SUB}"]}}],
        "when": [{"key": "request.auth.audiences", "values": ["api.example.com"]}],
    }


def test_oauth2_proxy_judges_bearer_tokens_the_same_way(bundle):
    args = proxy_container(bundle)["args"]
    assert "--skip-jwt-bearer-tokens=true" in args
    assert "--extra-jwt-issuers=https://ci.example.com=api.example.com" in args
    assert proxy_problems(bundle, "v7.6.0") == []


def test_bearer_tokens_of_the_login_issuer_alone():
    data = copy.deepcopy(CASE)
    data["spec"]["identity"]["bearerTokens"] = {}
    data["spec"]["apps"][0]["authorization"]["principals"] = data["spec"]["apps"][0]["authorization"][
        "principals"
    ][:1]
    bundle = meshauth.render(data)
    args = proxy_container(bundle)["args"]
    assert "--skip-jwt-bearer-tokens=true" in args and not [a for a in args if "extra-jwt" in a]
    gateway = get(bundle, "AuthorizationPolicy", "api-access")
    assert not any("from" in r for r in gateway["spec"]["rules"])  # the audience rule as always
    human = token(KC, "svc-account", ["meshauth"])
    assert judge(list(bundle.objects), GATEWAY, request("docs.example.com", authorization=human)) == 200


def test_without_bearer_tokens_a_bearer_request_still_goes_to_the_login():
    data = copy.deepcopy(CASE)
    del data["spec"]["identity"]["bearerTokens"]
    data["spec"]["apps"][0]["authorization"]["principals"] = data["spec"]["apps"][0]["authorization"][
        "principals"
    ][:1]
    bundle = meshauth.render(data)
    assert "when" not in get(bundle, "AuthorizationPolicy", "api-login")["spec"]["rules"][0]
    assert not [a for a in proxy_container(bundle)["args"] if "jwt-bearer" in a]
    kc = token(KC, "x", ["meshauth"])
    assert judge(list(bundle.objects), GATEWAY, request("api.example.com", authorization=kc)) == "ext_authz"


def test_ma066_flags_request_auth_and_principals_in_custom_policies(bundle):
    broken = copy.deepcopy(list(bundle.objects))
    login = next(o for o in broken if o["metadata"]["name"] == "api-login")
    login["spec"]["rules"][0]["when"].append({"key": "request.auth.audiences", "values": ["x"]})
    login["spec"]["rules"].insert(1, copy.deepcopy(login["spec"]["rules"][0]))
    login["spec"]["rules"][1]["when"].pop()
    login["spec"]["rules"][1]["from"] = [{"source": {"requestPrincipals": ["*"]}}]
    found = [(f.rule, f.path) for f in rules.check(broken, bundle.mesh_config) if f.rule == "MA008"]
    assert found == [
        ("MA008", "spec.rules[0].when[1].key"),
        ("MA008", "spec.rules[1].from[0].source.requestPrincipals"),
    ]
