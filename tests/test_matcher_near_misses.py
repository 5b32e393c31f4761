"""Near misses the matcher must refuse, and request facts it must read (issue: mutation testing).

Each test is a request that looks like one a policy admits but is not: a host one label short of a
wildcard, a group that differs only in case, a token presented by another client, a peer whose
SPIFFE identity names another namespace. A matcher that said yes to any of them would let the
wrong caller in; tools/mutation.py showed the suite did not notice such a change before.
"""

from __future__ import annotations

import pytest

from meshauth.authz.matcher import Call, Identity, PolicyIndex, Unsupported, matching_rule, rule_matches


def call(host="app.example.com", path="/", port=443, **kw):
    return Call(host=host, path=path, method="GET", port=port, **kw)


def signed_in(**claims):
    claims.setdefault("iss", "https://idp.example.com")
    claims.setdefault("sub", "ana")
    return Identity(
        principal=f"{claims['iss']}/{claims['sub']}",
        audiences=("meshauth",),
        claims=claims,
        presenter=claims.pop("azp", ""),
    )


def hosts(*patterns):
    return {"to": [{"operation": {"hosts": list(patterns)}}]}


@pytest.mark.parametrize(
    "host, admitted",
    [
        ("app.example.com", True),
        ("a.b.example.com", True),
        ("APP.Example.COM", True),  # hosts ignore case
        ("evilexample.com", False),  # a suffix "*.example.com" keeps its dot
        ("example.com", False),
        ("app.example.com.attacker.net", False),
    ],
)
def test_a_wildcard_host_admits_subdomains_only(host, admitted):
    assert rule_matches(hosts("*.example.com"), call(host=host)) is admitted


@pytest.mark.parametrize(
    "pattern, host, admitted",
    [
        ("app.example.com", "app.example.com", True),
        ("app.example.com", "app.example.co", False),
        ("app.example.com", "app.example.com.evil", False),
        ("app.example.com", "app.example.com:8443", False),  # hosts are matched as sent, port too
        ("app.example.com:*", "app.example.com:8443", True),
        ("app.*", "app.example.com", True),
        ("app.*", "wiki.app.example.com", False),
    ],
)
def test_an_exact_or_prefix_host_admits_only_what_it_names(pattern, host, admitted):
    assert rule_matches(hosts(pattern), call(host=host)) is admitted


def test_a_wildcard_host_rule_is_tried_for_every_host_by_the_index():
    policy = {"spec": {"rules": [hosts("other.example.com"), hosts("*.example.com")]}}
    index = PolicyIndex(policy)
    assert matching_rule(policy, call(host="app.example.com"), index) == 1
    assert matching_rule(policy, call(host="other.example.com"), index) == 0
    assert matching_rule(policy, call(host="evilexample.com"), index) is None


def test_the_index_finds_a_host_sent_in_upper_case_or_with_a_port():
    policy = {"spec": {"rules": [hosts("app.example.com", "app.example.com:*")]}}
    index = PolicyIndex(policy)
    assert matching_rule(policy, call(host="APP.example.com:443"), index) == 0
    assert matching_rule(policy, call(host="wiki.example.com"), index) is None


def groups_rule(*groups):
    return {"when": [{"key": "request.auth.claims[groups]", "values": list(groups)}]}


@pytest.mark.parametrize(
    "sent, admitted",
    [
        (["admins"], True),
        (["Admins"], False),
        (["ADMINS"], False),
        (["admins-x"], False),
        (["x", "admins"], True),
    ],
)
def test_claim_values_are_case_sensitive(sent, admitted):
    assert rule_matches(groups_rule("admins"), call(auth=signed_in(groups=sent))) is admitted


@pytest.mark.parametrize(
    "principal, admitted",
    [
        ("cluster.local/ns/apps/sa/web", True),
        ("spiffe://cluster.local/ns/apps/sa/web", True),  # the peer's identity as mTLS carries it
        ("cluster.local/ns/Apps/sa/web", False),
        ("cluster.local/ns/apps/sa/Web", False),
        ("spiffe://cluster.local/ns/apps/sa/web2", False),
        (None, False),  # a plain-text client has no identity
    ],
)
def test_peer_principals_are_exact_and_case_sensitive(principal, admitted):
    rule = {"from": [{"source": {"principals": ["cluster.local/ns/apps/sa/web"]}}]}
    assert rule_matches(rule, call(source_principal=principal)) is admitted


@pytest.mark.parametrize(
    "principal, admitted",
    [
        ("spiffe://cluster.local/ns/apps/sa/web", True),
        ("spiffe://cluster.local/ns/Apps/sa/web", False),
        ("spiffe://cluster.local/ns/apps-dev/sa/web", False),
        (None, False),
    ],
)
def test_peer_namespaces_are_read_from_the_spiffe_identity(principal, admitted):
    rule = {"from": [{"source": {"namespaces": ["apps"]}}]}
    assert rule_matches(rule, call(source_principal=principal)) is admitted


def test_a_not_namespace_excludes_only_that_namespace():
    rule = {"from": [{"source": {"notNamespaces": ["apps"]}}]}
    assert rule_matches(rule, call(source_principal="spiffe://cluster.local/ns/apps/sa/web")) is False
    assert rule_matches(rule, call(source_principal="spiffe://cluster.local/ns/other/sa/web")) is True


def test_the_presenter_is_the_client_the_token_was_issued_to():
    rule = {"when": [{"key": "request.auth.presenter", "values": ["dashboard"]}]}
    assert rule_matches(rule, call(auth=signed_in(azp="dashboard"))) is True
    assert rule_matches(rule, call(auth=signed_in(azp="Dashboard"))) is False
    assert rule_matches(rule, call(auth=signed_in())) is False  # no azp: no presenter
    assert rule_matches(rule, call()) is False  # no token


def test_the_destination_port_is_the_port_at_the_workload():
    rule = {"when": [{"key": "destination.port", "values": ["8443"]}]}
    assert rule_matches(rule, call(port=8443)) is True
    assert rule_matches(rule, call(port=443)) is False
    ports = {"to": [{"operation": {"ports": ["80"]}}]}
    assert rule_matches(ports, call(port=80)) is True
    assert rule_matches(ports, call(port=8080)) is False


def test_the_sni_is_the_host_without_its_port():
    rule = {"when": [{"key": "connection.sni", "values": ["app.example.com"]}]}
    assert rule_matches(rule, call(host="app.example.com:443")) is True
    assert rule_matches(rule, call(host="wiki.example.com")) is False


def test_a_header_condition_reads_the_header_by_name_in_any_case():
    rule = {"when": [{"key": "request.headers[X-Team]", "values": ["core"]}]}
    assert rule_matches(rule, call(headers={"x-team": "core"})) is True
    assert rule_matches(rule, call(headers={"x-team": "Core"})) is False
    assert rule_matches(rule, call()) is False


@pytest.mark.parametrize("field", ["notIpBlocks", "notRemoteIpBlocks", "notServiceAccounts"])
def test_a_negated_source_that_cannot_be_modelled_is_refused_not_ignored(field):
    rule = {"from": [{"source": {field: ["10.0.0.0/8"]}}]}
    with pytest.raises(Unsupported):
        rule_matches(rule, call())


def test_a_request_principal_pattern_does_not_cross_issuers():
    rule = {"from": [{"source": {"requestPrincipals": ["https://idp.example.com/*"]}}]}
    assert rule_matches(rule, call(auth=signed_in())) is True
    assert rule_matches(rule, call(auth=signed_in(iss="https://idp.example.com.evil"))) is False
    assert rule_matches(rule, call()) is False


def test_an_audience_must_be_one_the_token_carries():
    rule = {"when": [{"key": "request.auth.audiences", "values": ["meshauth"]}]}
    assert rule_matches(rule, call(auth=signed_in())) is True
    other = Identity(principal="i/s", audiences=("another",), claims={"iss": "i", "sub": "s"})
    assert rule_matches(rule, call(auth=other)) is False


def test_a_nested_claim_is_read_by_its_path():
    rule = {"when": [{"key": "request.auth.claims[realm_access][roles]", "values": ["admin"]}]}
    assert rule_matches(rule, call(auth=signed_in(realm_access={"roles": ["admin"]}))) is True
    assert rule_matches(rule, call(auth=signed_in(realm_access={"roles": ["user"]}))) is False
    assert rule_matches(rule, call(auth=signed_in(roles=["admin"]))) is False
