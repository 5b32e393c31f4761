"""Istio's authorization semantics as the evaluator implements them, case by case from Istio's docs."""

from __future__ import annotations

import pytest

from meshauth.authz import matcher as authz
from meshauth.authz import requests as authz_eval
from meshauth.authz.matcher import Call, Identity


def call(path="/", host="app.example.com", method="GET", port=443, principal=None, auth=None, **kw):
    return Call(host=host, path=path, method=method, port=port, source_principal=principal, auth=auth, **kw)


def token(**claims):
    claims.setdefault("iss", "https://idp")
    claims.setdefault("sub", "u1")
    aud = claims.get("aud", [])
    return Identity(f"{claims['iss']}/{claims['sub']}", tuple([aud] if isinstance(aud, str) else aud), claims)


# --- string matching ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "pattern, value, expected",
    [
        ("/admin", "/admin", True),
        ("/admin", "/admin/", False),
        ("/static/*", "/static/app.js", True),
        ("/static/*", "/static", False),
        ("*.png", "/img/a.png", True),
        ("*.png", "/img/a.png.txt", False),
        ("*", "/anything", True),
        ("*", "", True),
    ],
)
def test_exact_prefix_suffix_and_presence(pattern, value, expected):
    assert authz.match_string(pattern, value) is expected


def test_presence_needs_a_value():
    assert authz.match_string("*", None) is False


@pytest.mark.parametrize(
    "pattern, host, expected",
    [
        ("app.example.com", "APP.Example.com", True),
        ("app.example.com", "app.example.com:443", False),  # hence meshauth's "host:*" patterns
        ("app.example.com:*", "app.example.com:443", True),
        ("app.example.com:*", "app.example.com", False),
        ("*.example.com", "x.EXAMPLE.com", True),
    ],
)
def test_hosts_ignore_case_and_include_the_port(pattern, host, expected):
    assert authz.operation_matches({"hosts": [pattern]}, call(host=host)) is expected


@pytest.mark.parametrize(
    "pattern, path, expected",
    [
        ("/api/{*}/info", "/api/v1/info", True),
        ("/api/{*}/info", "/api/v1/v2/info", False),
        ("/api/{**}", "/api/v1/v2", True),
    ],
)
def test_path_templates(pattern, path, expected):
    assert authz.operation_matches({"paths": [pattern]}, call(path=path)) is expected


# --- normalization (Istio "Authorization Policy Normalization", option BASE) ---------------------------


@pytest.mark.parametrize(
    "raw, normalized",
    [
        ("/a/../b", "/b"),
        ("/public/./data/abc/../xyz", "/public/data/xyz"),
        ("/%2e%2e/admin", "/admin"),
        ("/some%2fdata/%61%62%63", "/some%2fdata/abc"),  # %2F stays unless DECODE_AND_MERGE_SLASHES
        ("/%41%5f%7e%2d", "/A_~-"),
        ("\\da", "/da"),
        ("/a\\b", "/a/b"),
        ("/a//b", "/a//b"),  # merging slashes is MERGE_SLASHES, not the default
        ("/foo?v=1", "/foo"),
        ("/a/b/..", "/a/"),
        ("/../../x", "/x"),
    ],
)
def test_paths_are_normalized_like_the_default_base_option(raw, normalized):
    assert authz_eval.normalize_path(raw) == normalized


@pytest.mark.parametrize("raw", ["/a%00b", "relative"])
def test_paths_envoy_rejects(raw):
    with pytest.raises(ValueError):
        authz_eval.normalize_path(raw)


def test_a_method_that_is_not_upper_case_is_rejected():
    assert authz_eval.check_method("GET") == "GET"
    with pytest.raises(ValueError):
        authz_eval.check_method("get")


# --- rules -------------------------------------------------------------------------------------------


def test_an_empty_rule_matches_every_request():
    assert authz.rule_matches({}, call())


def test_a_policy_without_rules_matches_nothing():
    assert authz.matching_rule({"spec": {}}, call()) is None


def test_sources_are_alternatives_fields_within_a_source_all_hold():
    rule = {
        "from": [
            {"source": {"principals": ["cluster.local/ns/a/sa/x"], "namespaces": ["b"]}},
            {"source": {"requestPrincipals": ["*"]}},
        ]
    }
    assert not authz.rule_matches(rule, call(principal="cluster.local/ns/a/sa/x"))  # ns a is not b
    assert authz.rule_matches(rule, call(auth=token()))
    assert not authz.rule_matches(rule, call(principal="cluster.local/ns/b/sa/x"))  # not principal x
    assert authz.rule_matches(
        {"from": [{"source": {"namespaces": ["b"]}}]}, call(principal="cluster.local/ns/b/sa/x")
    )


def test_request_principals_star_means_a_valid_token():
    rule = {"from": [{"source": {"requestPrincipals": ["*"]}}]}
    assert not authz.rule_matches(rule, call())
    assert authz.rule_matches(rule, call(auth=token()))


def test_request_principals_with_wildcards():
    rule = {"from": [{"source": {"requestPrincipals": ["https://idp/*"]}}]}
    assert authz.rule_matches(rule, call(auth=token(sub="anyone")))
    assert not authz.rule_matches(rule, call(auth=token(iss="https://other")))


def test_not_fields_exclude():
    rule = {"to": [{"operation": {"hosts": ["app.example.com"], "notPaths": ["/public/*"]}}]}
    assert authz.rule_matches(rule, call(path="/private"))
    assert not authz.rule_matches(rule, call(path="/public/x"))
    assert not authz.rule_matches({"to": [{"operation": {"notMethods": ["GET"]}}]}, call())


def test_every_condition_must_hold():
    rule = {
        "when": [
            {"key": "request.auth.audiences", "values": ["web"]},
            {"key": "request.auth.claims[groups]", "values": ["sre"]},
        ]
    }
    assert authz.rule_matches(rule, call(auth=token(aud="web", groups=["dev", "sre"])))
    assert not authz.rule_matches(rule, call(auth=token(aud="web", groups=["dev"])))
    assert not authz.rule_matches(rule, call(auth=token(aud="api", groups=["sre"])))
    assert not authz.rule_matches(rule, call())  # no token, no audience


def test_only_string_and_string_list_claims_can_match():
    rule = {"when": [{"key": "request.auth.claims[email_verified]", "values": ["true", "*"]}]}
    assert not authz.rule_matches(rule, call(auth=token(email_verified=True)))
    nested = {"when": [{"key": "request.auth.claims[realm][role]", "values": ["admin"]}]}
    assert authz.rule_matches(nested, call(auth=token(realm={"role": "admin"})))


def test_claim_values_take_wildcards():
    rule = {"when": [{"key": "request.auth.claims[email]", "values": ["*@example.com"]}]}
    assert authz.rule_matches(rule, call(auth=token(email="a@example.com")))
    assert not authz.rule_matches(rule, call(auth=token(email="a@example.com.evil")))


def test_not_values_and_missing_attributes():
    rule = {"when": [{"key": "request.auth.claims[team]", "notValues": ["contractors"]}]}
    assert authz.rule_matches(rule, call(auth=token(team="core")))
    assert not authz.rule_matches(rule, call(auth=token(team="contractors")))


def test_source_principal_and_namespace_conditions():
    peer = "cluster.local/ns/istio-system/sa/gw"
    assert authz.condition_matches(
        {"key": "source.namespace", "values": ["istio-system"]}, call(principal=peer)
    )
    assert authz.condition_matches({"key": "source.principal", "values": [peer]}, call(principal=peer))


def test_what_is_not_modelled_is_refused_not_guessed():
    with pytest.raises(authz.Unsupported):
        authz.rule_matches({"from": [{"source": {"ipBlocks": ["10.0.0.0/8"]}}]}, call())
    with pytest.raises(authz.Unsupported):
        authz.condition_matches({"key": "source.ip", "values": ["10.0.0.1"]}, call())
    # a sidecar ignores a policy attached by targetRefs (pilot's ShouldAttachPolicy), it is not a guess
    assert not authz_eval.applies(
        {"metadata": {"namespace": "a"}, "spec": {"targetRefs": [{"kind": "Service", "name": "x"}]}},
        "a",
        {},
        "istio-system",
    )


# --- which policies apply ----------------------------------------------------------------------------


def test_selection_by_namespace_labels_and_root_namespace():
    def policy(namespace, selector=None):
        spec = {"selector": {"matchLabels": selector}} if selector else {}
        return {"metadata": {"namespace": namespace}, "spec": spec}

    labels = {"app": "web", "tier": "front"}
    assert authz_eval.applies(policy("web", {"app": "web"}), "web", labels, "istio-system")
    assert not authz_eval.applies(policy("web", {"app": "api"}), "web", labels, "istio-system")
    assert not authz_eval.applies(policy("other", {"app": "web"}), "web", labels, "istio-system")
    assert authz_eval.applies(policy("web"), "web", labels, "istio-system")  # namespace-wide
    assert authz_eval.applies(policy("istio-system"), "web", labels, "istio-system")  # mesh-wide
    assert not authz_eval.applies(policy("istio-system", {"app": "web"}), "web", labels, "istio-system")


def test_dry_run_policies_do_not_enforce():
    assert not authz_eval.enforced({"metadata": {"annotations": {"istio.io/dry-run": "true"}}})
    assert authz_eval.enforced({"metadata": {}})


# --- RequestAuthentication ---------------------------------------------------------------------------


RA = {
    "kind": "RequestAuthentication",
    "metadata": {"name": "jwt", "namespace": "a"},
    "spec": {"jwtRules": [{"issuer": "https://idp", "forwardOriginalToken": True}]},
}


def test_no_token_passes_without_identity():
    assert authz_eval.check_token([RA], None).outcome == "none"


def test_a_token_is_verified_and_sets_request_auth():
    check = authz_eval.check_token([RA], {"iss": "https://idp", "sub": "u1", "aud": "web", "azp": "web"})
    assert check.outcome == "valid" and check.forward
    assert check.identity.principal == "https://idp/u1" and check.identity.audiences == ("web",)


def test_a_token_of_an_unknown_issuer_is_rejected():
    check = authz_eval.check_token([RA], {"iss": "https://evil", "sub": "u1"})
    assert check.outcome == "rejected" and "401" in check.reason


def test_jwt_rule_audiences_are_enforced():
    strict = {**RA, "spec": {"jwtRules": [{"issuer": "https://idp", "audiences": ["web"]}]}}
    assert authz_eval.check_token([strict], {"iss": "https://idp", "aud": ["api"]}).outcome == "rejected"
    check = authz_eval.check_token([strict], {"iss": "https://idp", "aud": ["api", "web"]})
    assert check.outcome == "valid" and not check.forward  # forwardOriginalToken defaults to false


def test_without_request_authentication_a_token_is_not_looked_at():
    check = authz_eval.check_token([], {"iss": "https://idp"})
    assert check.outcome == "none" and check.identity is None


# --- the host index is a shortcut, never a different answer ------------------------------------------


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_HOSTS = ["a.example.com", "a.example.com:*", "B.example.com", "*.example.com", "c.example.com:8443", "*"]


@settings(max_examples=300, deadline=None)
@given(
    rules=st.lists(
        st.fixed_dictionaries(
            {},
            optional={
                "to": st.lists(
                    st.fixed_dictionaries(
                        {
                            "operation": st.fixed_dictionaries(
                                {},
                                optional={
                                    "hosts": st.lists(st.sampled_from(_HOSTS), max_size=3),
                                    "notHosts": st.lists(st.sampled_from(_HOSTS), max_size=2),
                                    "paths": st.lists(st.sampled_from(["/x", "/y*"]), max_size=2),
                                },
                            )
                        }
                    ),
                    max_size=2,
                )
            },
        ),
        max_size=6,
    ),
    host=st.sampled_from(
        [
            "a.example.com",
            "A.EXAMPLE.COM:443",
            "b.example.com",
            "c.example.com:8443",
            "d.example.com",
            "[::1]:443",
            "a.example.com:",
        ]
    ),
    path=st.sampled_from(["/x", "/y1", "/z"]),
)
def test_the_rule_index_never_changes_which_rule_matches(rules, host, path):
    policy = {"spec": {"rules": rules}}
    request = call(host=host, path=path)
    assert authz.matching_rule(policy, request, authz.PolicyIndex(policy)) == authz.matching_rule(
        policy, request
    )
