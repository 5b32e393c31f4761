"""One matcher for the rules' described requests and simulate's complete ones (meshauth.authz.matcher)."""

from __future__ import annotations

import pytest

from meshauth.authz import matcher as authz
from meshauth.authz.matcher import Call, Request


def call(host="app.example.com", path="/", **kw):
    return Call(host=host, path=path, method="GET", port=443, **kw)


@pytest.mark.parametrize(
    "rule, path, expected",
    [
        ({"to": [{"operation": {"paths": ["/api/{*}/status"]}}]}, "/api/v1/status", True),
        ({"to": [{"operation": {"paths": ["/api/{*}/status"]}}]}, "/api/v1/x/status", False),
        ({"to": [{"operation": {"notPaths": ["/static/{**}"]}}]}, "/static/a/b.js", False),
        ({"to": [{"operation": {"paths": ["*x*"]}}]}, "/a*x*", True),  # a leading * is a suffix: "x*"
        ({"to": [{"operation": {"paths": ["*x*"]}}]}, "*x/a", False),  # not the prefix "*x"
        ({"to": [{"operation": {"hosts": None, "paths": ["/a"]}}]}, "/a", True),  # null: absent
    ],
)
def test_both_kinds_of_request_get_the_same_definite_answer(rule, path, expected):
    assert authz.rule_matches(rule, call(path=path)) is expected
    assert authz.rule_matches(rule, Request("app.example.com", path)) is expected


@pytest.mark.parametrize(
    "rule",
    [
        {"from": [{"source": {"ipBlocks": ["10.0.0.0/8"]}}]},
        {"from": [{"source": {"serviceAccounts": ["istio-system/gateway"]}}]},
        {"when": [{"key": "request.headers[x-team]", "values": ["core"]}]},
        {"to": [{"operation": {"ports": ["8443"]}}]},
    ],
)
def test_what_a_described_request_leaves_open_is_unknown(rule):
    assert authz.rule_matches(rule, Request("app.example.com", "/")) is None


@pytest.mark.parametrize(
    "source", [{"ipBlocks": ["10.0.0.0/8"]}, {"serviceAccounts": ["istio-system/gateway"]}]
)
def test_what_simulate_does_not_model_is_refused_not_guessed(source):
    with pytest.raises(authz.Unsupported):
        authz.rule_matches({"from": [{"source": source}]}, call())


def test_an_empty_unmodelled_field_is_absent():
    assert authz.rule_matches({"from": [{"source": {"ipBlocks": []}}]}, call()) is True
    assert (
        authz.rule_matches({"from": [{"source": {"ipBlocks": []}}]}, Request("app.example.com", "/")) is True
    )


def test_a_definite_false_outweighs_an_unknown():
    rule = {"to": [{"operation": {"hosts": ["other.example.com"], "ports": ["8443"]}}]}
    assert authz.rule_matches(rule, Request("app.example.com", "/")) is False
    assert authz.or_([None, True]) is True and authz.and_([None, False]) is False
    assert authz.or_([None, False]) is None and authz.and_([True, None]) is None


def test_the_index_keeps_the_rules_answer_for_a_described_request():
    policy = {
        "spec": {
            "rules": [
                {"to": [{"operation": {"notHosts": ["app.example.com"]}}]},
                {
                    "to": [{"operation": {"hosts": ["app.example.com", "app.example.com:*"]}}],
                    "when": [{"key": "request.auth.audiences", "values": ["web"]}],
                },
            ]
        }
    }
    index = authz.PolicyIndex(policy)
    assert index.matches(Request("app.example.com", "/")) is False  # no token: no audience
    assert index.matches(Request("app.example.com", "/", jwt=True)) is None  # which audience: unknown
    assert index.matches(Request("b.example.com", "/")) is True
