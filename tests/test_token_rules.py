"""MA007 and MA009 on hand-written policies: a claim condition Istio can never match (a boolean or
number claim), and audiences that reject the ID token oauth2-proxy passes on. Each fault is one
finding at the exact field; the fixed twin is silent."""

from __future__ import annotations

import pytest
from handwritten import oauth2_proxy

import meshauth
from meshauth.validation.rules.tokens import NON_STRING_CLAIMS

ISSUER = "https://idp.example.com/realms/main"


def policy(rules, action=None, name="access"):
    spec = {"rules": rules}
    if action:
        spec["action"] = action
    return {
        "apiVersion": "security.istio.io/v1",
        "kind": "AuthorizationPolicy",
        "metadata": {"name": name, "namespace": "apps"},
        "spec": spec,
    }


def when(*conditions):
    return {"when": list(conditions)}


def found(docs, rule):
    return [(f.object, f.path) for f in meshauth.validate(docs) if f.rule == rule]


# --- MA007: a claim that is not a string ------------------------------------------------------------


@pytest.mark.parametrize("claim", sorted(NON_STRING_CLAIMS))
def test_a_condition_on_a_claim_that_is_not_a_string_never_matches(claim):
    rules = [
        when(
            {"key": "request.headers[x]", "values": ["1"]},
            {"key": f"request.auth.claims[{claim}]", "values": ["true"]},
        )
    ]
    assert found([policy([{}, *rules])], "MA007") == [
        ("AuthorizationPolicy apps/access", "spec.rules[1].when[1].key")
    ]


@pytest.mark.parametrize(
    "key",
    [
        "request.auth.claims[email]",
        "request.auth.claims[groups]",
        "request.auth.claims[address][country]",  # a string inside the address object
        "request.headers[email_verified]",  # not a claim
        "request.auth.claims[Email_Verified]",  # claim names are case-sensitive: another claim
        "request.auth.claims[]",
        "request.auth.claims[exp",
    ],
)
def test_string_claims_and_other_keys_are_fine(key):
    assert found([policy([when({"key": key, "values": ["x"]})])], "MA007") == []


def test_a_nested_claim_is_judged_by_its_last_name():
    key = "request.auth.claims[realm_access][updated_at]"
    assert found([policy([when({"key": key, "values": ["1"]})])], "MA007") == [
        ("AuthorizationPolicy apps/access", "spec.rules[0].when[0].key")
    ]


# --- MA009: audiences without the client id ---------------------------------------------------------


proxy = oauth2_proxy


PROXY = proxy("--client-id=web", f"--oidc-issuer-url={ISSUER}")


def request_authentication(*jwt_rules):
    return {
        "apiVersion": "security.istio.io/v1",
        "kind": "RequestAuthentication",
        "metadata": {"name": "jwt", "namespace": "istio-system"},
        "spec": {"jwtRules": list(jwt_rules)},
    }


def test_a_request_authentication_whose_audiences_lack_the_client_id_rejects_every_login():
    ra = request_authentication(
        {"issuer": "https://other.example.com"}, {"issuer": ISSUER, "audiences": ["api"]}
    )
    assert found([PROXY, ra], "MA009") == [
        ("RequestAuthentication istio-system/jwt", "spec.jwtRules[1].audiences")
    ]
    ra["spec"]["jwtRules"][1]["audiences"] = ["api", "web"]
    assert found([PROXY, ra], "MA009") == []


def test_audiences_are_judged_only_for_oauth2_proxys_issuer():
    for issuer, judged in [
        (ISSUER, True),
        (ISSUER + "/", True),  # the same issuer, written with a trailing slash
        ("idp.example.com/realms/main", True),  # or without the scheme
        ("https://idp.example.com/realms/other", False),
    ]:
        ra = request_authentication({"issuer": issuer, "audiences": ["api"]})
        assert len(found([PROXY, ra], "MA009")) == judged, issuer


def test_no_audiences_listed_accepts_any():
    assert found([PROXY, request_authentication({"issuer": ISSUER})], "MA009") == []
    assert found([PROXY, request_authentication({"issuer": ISSUER, "audiences": []})], "MA009") == []


def test_without_a_client_id_nothing_is_judged():
    ra = request_authentication({"issuer": ISSUER, "audiences": ["api"]})
    assert found([proxy(f"--oidc-issuer-url={ISSUER}"), ra], "MA009") == []
    assert found([ra], "MA009") == []


def audience(values, key="values"):
    return when({"key": "request.auth.audiences", key: values})


def test_an_allow_policy_whose_audience_condition_rejects_the_client_id():
    assert found([PROXY, policy([{}, audience(["api"])])], "MA009") == [
        ("AuthorizationPolicy apps/access", "spec.rules[1].when[0].values")
    ]
    assert found([PROXY, policy([audience(["api"])], action="ALLOW")], "MA009") == [
        ("AuthorizationPolicy apps/access", "spec.rules[0].when[0].values")
    ]
    for accepting in (["api", "web"], ["w*"], ["*"]):
        assert found([PROXY, policy([audience(accepting)])], "MA009") == [], accepting


def test_one_rule_accepting_the_client_id_is_enough():
    assert found([PROXY, policy([audience(["api"]), audience(["web"])])], "MA009") == []
    assert found([PROXY, policy([audience(["api"]), audience(["admin"])])], "MA009") == [
        ("AuthorizationPolicy apps/access", "spec.rules[0].when[0].values")
    ]


def test_a_deny_policy_rejects_the_client_id_through_not_values():
    assert found([PROXY, policy([audience(["api"], "notValues")], action="DENY")], "MA009") == [
        ("AuthorizationPolicy apps/access", "spec.rules[0].when[0].notValues")
    ]
    assert found([PROXY, policy([audience(["web"], "notValues")], action="DENY")], "MA009") == []
    # a DENY on `values` denies other audiences: the client id's requests pass
    assert found([PROXY, policy([audience(["api"])], action="DENY")], "MA009") == []
    assert found([PROXY, policy([audience(["api"], "notValues")])], "MA009") == []  # ALLOW: notValues


def test_other_conditions_and_actions_are_not_audience_checks():
    assert (
        found([PROXY, policy([when({"key": "request.auth.claims[aud]", "values": ["api"]})])], "MA009") == []
    )
    assert found([PROXY, policy([audience(["api"])], action="AUDIT")], "MA009") == []


def test_each_proxy_is_judged_by_its_own_client_id():
    ra = request_authentication({"issuer": ISSUER, "audiences": ["api"]})
    no_client = proxy(f"--oidc-issuer-url={ISSUER}")
    no_client["metadata"]["namespace"] = "a-first"  # a proxy without a client id, listed first
    assert found([no_client, PROXY, ra], "MA009") == [
        ("RequestAuthentication istio-system/jwt", "spec.jwtRules[0].audiences")
    ]
    assert found([no_client, ra], "MA009") == []


def test_a_policy_that_neither_allows_nor_denies_has_no_audience_check_whatever_its_fields():
    # YAML lets a condition carry a null key (`~: [api]`); AUDIT and CUSTOM still decide nothing
    condition = {"key": "request.auth.audiences", "values": ["api"], None: ["api"]}
    for action in ("AUDIT", "CUSTOM"):
        assert found([PROXY, policy([when(condition)], action=action)], "MA009") == [], action
