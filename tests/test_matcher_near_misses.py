"""Near misses the matcher must refuse, and request facts it must read (issue: mutation testing).

Each test is a request that looks like one a policy admits but is not: a host one label short of a
wildcard, a group that differs only in case, a token presented by another client, a peer whose
SPIFFE identity names another namespace. A matcher that said yes to any of them would let the
wrong caller in; tools/mutation.py showed the suite did not notice such a change before.
"""

from __future__ import annotations

import pytest

from meshauth.authz.matcher import (
    Call,
    Identity,
    PolicyIndex,
    Request,
    Unsupported,
    any_matches,
    match_string,
    matching_rule,
    rule_matches,
)


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


# --- requests the rules describe in part ----------------------------------------------------------


def test_a_client_at_the_ingress_gateway_has_no_mesh_identity():
    """The rules ask about requests arriving at the gateway by default: the client there has no
    mTLS identity, so a rule that needs a peer principal or namespace definitely does not match."""
    at_gateway = Request("app.example.com", "/")
    for source in ({"principals": ["cluster.local/ns/apps/sa/web"]}, {"namespaces": ["apps"]}):
        assert rule_matches({"from": [{"source": source}]}, at_gateway) is False
    assert rule_matches({"from": [{"source": {"notNamespaces": ["apps"]}}]}, at_gateway) is True


def test_behind_a_sidecar_the_peer_is_unknown_so_no_rule_is_decided_on_it():
    behind_mtls = Request("app.example.com", "/", peer_known=False)
    for source in ({"principals": ["cluster.local/ns/apps/sa/web"]}, {"namespaces": ["apps"]}):
        assert rule_matches({"from": [{"source": source}]}, behind_mtls) is None


# --- facts a complete request carries -------------------------------------------------------------


def test_a_token_without_a_presenter_is_not_present_for_a_presence_check():
    rule = {"when": [{"key": "request.auth.presenter", "values": ["*"]}]}
    assert rule_matches(rule, call(auth=signed_in(azp="dashboard"))) is True
    assert rule_matches(rule, call(auth=signed_in())) is False  # no azp claim: nothing presented


@pytest.mark.parametrize("key", ["request.header[x-team]", "request.headers[x-team", "source.labels[app]"])
def test_a_misspelled_or_unmodelled_condition_key_is_refused_not_read_as_absent(key):
    rule = {"when": [{"key": key, "notValues": ["core"]}]}
    with pytest.raises(Unsupported):
        rule_matches(rule, call(headers={"x-team": "core"}))


def test_a_claim_list_with_a_non_string_in_it_is_not_read():
    """istio-proxy reads a claim as a string or a list of strings only; a mixed list gives nothing
    to match, and evaluating it must not crash."""
    assert rule_matches(groups_rule("admins"), call(auth=signed_in(groups=["admins", 7]))) is False
    assert rule_matches(groups_rule("admins"), call(auth=signed_in(groups={"admins": True}))) is False


def test_braces_are_a_path_template_only_in_paths():
    """``{*}`` is a path template; in a header, claim or host pattern it is two literal braces."""
    assert rule_matches({"to": [{"operation": {"paths": ["/api/{*}/items"]}}]}, call(path="/api/v1/items"))
    header = {"when": [{"key": "request.headers[x-path]", "values": ["/api/{*}"]}]}
    assert rule_matches(header, call(headers={"x-path": "/api/v1"})) is False
    assert rule_matches(header, call(headers={"x-path": "/api/{*}"})) is True
    assert any_matches(["/api/{*}"], "/api/v1") is False


def test_client_ids_and_plain_strings_compare_exactly_unless_told_otherwise():
    assert any_matches(["dashboard"], "Dashboard") is False
    assert any_matches(["dashboard"], "Dashboard", fold=True) is True
    assert match_string("Admins", "admins") is False
    assert match_string("Admins", "admins", ignore_case=True) is True


# --- hand-written policies with holes ---------------------------------------------------------------


def test_an_empty_source_or_operation_is_answered_not_a_crash():
    """``source:`` or ``operation:`` left empty in YAML is null: it constrains nothing."""
    assert rule_matches({"from": [{"source": None}]}, call()) is True
    assert rule_matches({"to": [{"operation": None}]}, call()) is True
    assert rule_matches({"from": [{"source": None}], "to": [{"operation": None}]}, Request("a", "/")) is True


def test_a_policy_without_a_spec_matches_nothing():
    index = PolicyIndex({"metadata": {"name": "empty"}, "spec": None})
    assert index.matches(call()) is False
    assert matching_rule({"spec": None}, call(), index) is None


@pytest.mark.parametrize("rule", ["allow everyone", {"when": ["request.auth.claims[groups] == admins"]}])
def test_a_malformed_rule_is_refused_not_skipped(rule):
    """Skipping a rule simulate cannot read would turn an allowed request into a denied one."""
    policy = {"spec": {"rules": [rule, hosts("app.example.com")]}}
    with pytest.raises(Unsupported, match="rule 0"):
        matching_rule(policy, call())
    with pytest.raises(Unsupported, match="rule 0"):
        matching_rule(policy, call(), PolicyIndex(policy))


def test_the_index_offers_only_the_rules_that_can_match_the_host():
    """The gateway's policies list one rule per app: a request for one app is matched against that
    app's rules and the rules that name no exact host, not against every app's."""
    policy = {
        "spec": {
            "rules": [
                hosts("app.example.com:*"),
                hosts("wiki.example.com"),
                {"to": [{"operation": {"hosts": ["wiki.example.com"]}}, {"operation": {"paths": ["/x"]}}]},
                hosts("*.example.com"),
                {"to": [{"operation": {"hosts": "app.example.com"}}]},  # not a list: never indexed
                {"from": [{"source": {"namespaces": ["apps"]}}]},
                {"to": [{"operation": {"hosts": []}}]},
                hosts("wiki.example.com:8443"),  # a port named: not indexed, as the index drops ports
            ]
        }
    }
    index = PolicyIndex(policy)
    assert index.candidates("APP.example.com:443") == [0, 2, 3, 4, 5, 6, 7]
    assert index.candidates("wiki.example.com:8443") == [1, 2, 3, 4, 5, 6, 7]
    assert index.candidates("other.example.com") == [2, 3, 4, 5, 6, 7]
    assert index.candidates("[::1]:8080") == [0, 1, 2, 3, 4, 5, 6, 7]  # an IPv6 literal is not indexed
