"""Requests as Istio normalizes them and policies as proxies attach them: the near misses simulate
and explain must get right (meshauth/authz/requests.py; tools/mutation.py found them untested)."""

from __future__ import annotations

import pytest

from meshauth.authz import requests as authz_requests
from meshauth.authz.routes import GATEWAY_API, Pods

ROOT = "istio-system"


@pytest.mark.parametrize(
    "raw, normalized",
    [
        ("/admin#/public", "/admin"),  # the fragment never reaches the proxy's policy
        ("/admin?next=/public#top", "/admin"),
        ("/a/b/.", "/a/b/"),
        ("/.", "/"),
        ("/..", "/"),
        ("/a/..", "/"),
    ],
)
def test_a_path_is_what_the_policy_sees_not_what_it_looks_like(raw, normalized):
    assert authz_requests.normalize_path(raw) == normalized


@pytest.mark.parametrize("raw", ["/a\x00b", "/admin%00.png", "admin", ""])
def test_a_path_envoy_refuses_is_refused(raw):
    with pytest.raises(ValueError):
        authz_requests.normalize_path(raw)


@pytest.mark.parametrize("method", ["GE T", "GET/", "POST\r\n", "", "get"])
def test_a_method_envoy_refuses_is_refused(method):
    with pytest.raises(ValueError):
        authz_requests.check_method(method)


def _policy(namespace, **spec):
    return {"metadata": {"name": "p", "namespace": namespace}, "spec": spec}


def test_a_policy_with_an_empty_spec_in_the_root_namespace_applies_to_every_sidecar():
    policy = {"metadata": {"name": "deny-all", "namespace": ROOT}, "spec": None}  # ALLOW nothing
    assert authz_requests.applies(policy, "web", {"app": "web"}, ROOT) is True
    assert authz_requests.target_refs(policy) == []


def test_the_single_target_ref_form_attaches_like_the_list():
    gateway = Pods("apps/gw", "apps", {"gateway.networking.k8s.io/gateway-name": "gw"}, gateway_name="gw")
    ref = {"group": GATEWAY_API, "kind": "Gateway", "name": "gw"}
    assert authz_requests.target_refs(_policy("apps", targetRef=ref)) == [ref]
    assert authz_requests.attaches(_policy("apps", targetRef=ref), gateway, ROOT) is True
    other = {**ref, "name": "other"}
    assert authz_requests.attaches(_policy("apps", targetRef=other), gateway, ROOT) is False
    sidecar = Pods("apps/web", "apps", {"app": "web"})
    assert authz_requests.attaches(_policy("apps", targetRef=ref), sidecar, ROOT) is False


def test_a_policy_without_a_namespace_is_the_default_namespaces():
    """`kubectl apply -f` without `-n` puts it in `default`."""
    policy = {"metadata": {"name": "p"}, "spec": {"selector": {"matchLabels": {"app": "web"}}}}
    assert authz_requests.applies(policy, "default", {"app": "web"}, ROOT) is True
    assert authz_requests.applies(policy, "apps", {"app": "web"}, ROOT) is False
    bare = {"spec": {"selector": {"matchLabels": {"app": "web"}}}, "metadata": None}
    assert authz_requests.applies(bare, "default", {"app": "web"}, ROOT) is True


GW_LABELS = {"gateway.networking.k8s.io/gateway-name": "gw"}
GATEWAY = Pods("apps/gw", "apps", GW_LABELS, gateway_name="gw")
WAYPOINT = Pods(
    "apps/waypoint", "apps", {}, gateway_name="waypoint", waypoint=True, services=(("apps", "web"),)
)
SIDECAR = Pods("apps/web", "apps", {"app": "web"})


def _ref(kind, name, group=GATEWAY_API, **extra):
    return {"group": group, "kind": kind, "name": name, **extra}


@pytest.mark.parametrize(
    "policy, pods, attached",
    [
        # a Gateway API gateway: by targetRefs to its own Gateway, in its namespace
        (_policy("apps", targetRefs=[_ref("Gateway", "gw")]), GATEWAY, True),
        (_policy("apps", targetRefs=[_ref("Gateway", "other"), _ref("Gateway", "gw")]), GATEWAY, True),
        (_policy("apps", targetRefs=[_ref("Gateway", "gw", group="")]), GATEWAY, False),
        (_policy("apps", targetRefs=[_ref("Gateway", "gw", namespace="web")]), GATEWAY, False),
        (_policy("web", targetRefs=[_ref("Gateway", "gw")]), GATEWAY, False),
        (_policy("apps", targetRefs=[_ref("Service", "web", group="")]), GATEWAY, False),
        # ... or without targetRefs by its labels, as a sidecar
        (_policy("apps", selector={"matchLabels": GW_LABELS}), GATEWAY, True),
        (_policy("apps", selector={"matchLabels": {"app": "web"}}), GATEWAY, False),
        # a sidecar never by targetRefs
        (_policy("apps", targetRefs=[_ref("Gateway", "gw")]), SIDECAR, False),
        (_policy("apps", selector={"matchLabels": {"app": "web"}}), SIDECAR, True),
        # a waypoint only by targetRefs: its Gateway, a Service it serves, or the GatewayClass from the root
        (_policy("apps"), WAYPOINT, False),
        (_policy(ROOT), WAYPOINT, False),
        (_policy("apps", targetRefs=[_ref("Gateway", "waypoint")]), WAYPOINT, True),
        (_policy("apps", targetRefs=[_ref("Service", "web", group="")]), WAYPOINT, True),
        (_policy("apps", targetRefs=[_ref("Service", "web", group="core")]), WAYPOINT, True),
        (_policy("apps", targetRefs=[{"kind": "Service", "name": "web"}]), WAYPOINT, True),  # core: no group
        (_policy("apps", targetRefs=[_ref("Service", "api", group="")]), WAYPOINT, False),
        (_policy("apps", targetRefs=[{"kind": "Pod", "name": "web"}]), WAYPOINT, False),  # not a Service
        (_policy("web", targetRefs=[_ref("Service", "web", group="")]), WAYPOINT, False),
        (_policy("apps", targetRefs=[_ref("Service", "web", group="apps")]), WAYPOINT, False),
        (_policy(ROOT, targetRefs=[_ref("GatewayClass", "istio-waypoint")]), WAYPOINT, True),
        (_policy("apps", targetRefs=[_ref("GatewayClass", "istio-waypoint")]), WAYPOINT, False),
        (_policy(ROOT, targetRefs=[_ref("GatewayClass", "istio")]), WAYPOINT, False),
        (_policy(ROOT, targetRefs=[_ref("GatewayClass", "istio-waypoint")]), GATEWAY, False),
    ],
)
def test_a_policy_attaches_where_pilot_attaches_it(policy, pods, attached):
    assert authz_requests.attaches(policy, pods, ROOT) is attached


def test_a_namespace_wide_policy_stays_in_its_namespace():
    assert authz_requests.applies(_policy("other"), "web", {"app": "web"}, ROOT) is False
    assert authz_requests.applies(_policy("web"), "web", {"app": "web"}, ROOT) is True


@pytest.mark.parametrize(
    "policy, pods, attached",
    [
        # a sidecar ignores targetRefs, even one that names no Gateway
        (_policy("apps", targetRefs=[{"group": GATEWAY_API, "kind": "Gateway"}]), SIDECAR, False),
        # only the GatewayClass istio-waypoint of the Gateway API, not a Gateway of that name
        (_policy(ROOT, targetRefs=[_ref("Gateway", "istio-waypoint")]), WAYPOINT, False),
        (_policy(ROOT, targetRefs=[_ref("GatewayClass", "istio-waypoint", group="")]), WAYPOINT, False),
        # a policy reaches no Gateway of another namespace, even naming that namespace
        (_policy("web", targetRefs=[_ref("Gateway", "gw", namespace="apps")]), GATEWAY, False),
        (_policy("apps", targetRefs=[_ref("Gateway", "gw", namespace="apps")]), GATEWAY, True),
        # a ref that does not attach does not hide the one after it
        (
            _policy("apps", targetRefs=[_ref("Gateway", "gw", namespace="web"), _ref("Gateway", "gw")]),
            GATEWAY,
            True,
        ),
        # the gateway's name on another kind of the Gateway API is not its Gateway
        (_policy("apps", targetRefs=[_ref("HTTPRoute", "gw")]), GATEWAY, False),
        (_policy("apps", targetRefs=[_ref("GatewayClass", "gw")]), GATEWAY, False),
    ],
)
def test_near_miss_target_refs_do_not_attach(policy, pods, attached):
    assert authz_requests.attaches(policy, pods, ROOT) is attached


def test_a_policy_without_metadata_enforces():
    assert authz_requests.enforced({"metadata": None, "spec": {}}) is True
    assert authz_requests.enforced({"metadata": {"annotations": {"istio.io/dry-run": "True"}}}) is False


ISSUER = "https://idp.example.com"
CLAIMS = {"iss": ISSUER, "sub": "u1", "aud": ["web"], "azp": "web-client"}


def _authentication(*rules, name="jwt"):
    return {
        "kind": "RequestAuthentication",
        "metadata": {"name": name, "namespace": "apps"},
        "spec": {"jwtRules": list(rules)},
    }


def test_a_token_nobody_checks_stays_in_the_request():
    check = authz_requests.check_token([], CLAIMS)
    assert (check.outcome, check.identity, check.forward) == ("none", None, True)


def test_the_rule_for_the_tokens_issuer_decides_wherever_it_is():
    other = {"issuer": "https://other.example.com", "audiences": ["api"]}
    check = authz_requests.check_token([_authentication(other, {"issuer": ISSUER})], CLAIMS)
    assert check.outcome == "valid" and check.identity.principal == f"{ISSUER}/u1"
    empty = {"metadata": {"name": "empty", "namespace": "apps"}, "spec": None}
    no_rules = {"metadata": {"name": "none", "namespace": "apps"}, "spec": {}}
    check = authz_requests.check_token([empty, no_rules, _authentication({"issuer": ISSUER})], CLAIMS)
    assert check.outcome == "valid" and check.policy == "RequestAuthentication apps/jwt"
    check = authz_requests.check_token([empty, no_rules], CLAIMS)
    assert check.outcome == "rejected" and "issuer is not configured" in check.reason


def test_the_presenter_is_the_tokens_authorized_party():
    check = authz_requests.check_token([_authentication({"issuer": ISSUER})], CLAIMS)
    assert check.identity.presenter == "web-client"
    check = authz_requests.check_token(
        [_authentication({"issuer": ISSUER})], {k: v for k, v in CLAIMS.items() if k != "azp"}
    )
    assert check.identity.presenter == ""
