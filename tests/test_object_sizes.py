"""No rendered object exceeds what the API server stores: what grows with the config (hosts, apps,
groups) is split into numbered objects, each within meshauth's budget, and the split changes
nobody's access; ``validate`` reports any object over the limits (MA080, MA081).

The budgets are lowered here so that a few hundred apps show what 20,000 do with the real ones
(benchmarks/object_sizes.py measures those)."""

from __future__ import annotations

import pytest
from configs import many_apps

import meshauth
from meshauth.rendering import sizes


@pytest.fixture
def small_budget(monkeypatch):
    monkeypatch.setattr(sizes, "SPLIT_BUDGET", 8 * 1024)
    monkeypatch.setattr(sizes, "HOSTS_PER_RULE", 40)
    monkeypatch.setattr(sizes, "VALUES_PER_RULE", 50)
    return 8 * 1024


def many(apps: int, **spec) -> dict:
    spec.setdefault(
        "externalServices",
        [{"name": "wiki", "host": "wiki.example.com", "upstream": {"host": "wiki.internal.example.net"}}],
    )
    return many_apps(
        apps,
        lambda i: {
            "publicPaths": ["/healthz"] if i % 3 else [],
            "authorization": {"groups": [f"team{i % 7}"]},
        },
        name="big",
        **spec,
    )


def largest(bundle) -> tuple[int, str]:
    return max((sizes.stored_bytes(o), f"{o['kind']} {o['metadata']['name']}") for o in bundle.objects)


def names(bundle, kind, prefix):
    return [
        o["metadata"]["name"]
        for o in bundle.objects
        if o["kind"] == kind and o["metadata"]["name"].startswith(prefix)
    ]


# The one rule that must name every app host together (ALLOW for the hosts that are not apps'), and
# the fixed part of an object, may pass the small budget; everything else fits it.
SLACK = 4 * 1024
SPLIT_KINDS = {"AuthorizationPolicy", "Gateway", "EnvoyFilter"}


@pytest.mark.parametrize(
    "shape",
    [{}, {"platform": {"istioVersion": "1.8"}}, {"mesh": {"dataplane": "ambient"}}],
    ids=["istio", "envoyfilter", "ambient"],
)
def test_what_grows_with_the_apps_is_split_within_the_budget(small_budget, shape):
    bundle = meshauth.render(many(300, **shape))
    access = names(bundle, "AuthorizationPolicy", "big-access")
    assert len(access) > 1 and access[:3] == ["big-access", "big-access-2", "big-access-3"]
    for obj in bundle.objects:
        if obj["kind"] not in SPLIT_KINDS or obj["metadata"]["name"] == "big-access":
            continue  # big-access holds the notHosts rule: every app host in one list
        assert sizes.stored_bytes(obj) <= small_budget + SLACK, (obj["kind"], obj["metadata"]["name"])
    if "platform" in shape:
        assert len(names(bundle, "EnvoyFilter", "big-login")) > 1
    else:
        assert len(names(bundle, "AuthorizationPolicy", "big-login")) > 1
    assert len(names(bundle, "Gateway", "meshauth")) > 1
    assert [f for f in meshauth.validate(bundle) if f.severity == "error"] == []


def test_each_route_names_the_gateway_that_serves_its_host(small_budget):
    bundle = meshauth.render(many(300))
    servers = {
        host: o["metadata"]["name"]
        for o in bundle.objects
        if o["kind"] == "Gateway"
        for server in o["spec"]["servers"]
        for host in server["hosts"]
    }
    for service in (o for o in bundle.objects if o["kind"] == "VirtualService"):
        (gateway,) = service["spec"]["gateways"]
        assert {f"istio-system/{servers[h]}" for h in service["spec"]["hosts"]} == {gateway}


def test_the_split_changes_nobodys_access(small_budget):
    """The last apps, whose rules land in the last objects, decide as the first ones do."""
    config = many(300)
    team = {
        "iss": "https://idp.example.com",
        "aud": ["big"],
        "groups": ["team4"],
        "sub": "u",
        "email": "u@example.com",
    }
    for host, path, claims, port, allowed in [
        ("app298.example.com", "/", None, None, False),  # login first
        ("app298.example.com", "/healthz", None, None, True),  # public path
        ("app299.example.com", "/", team, None, False),  # team4 is not app299's (team5)
        ("app298.example.com", "/", team, None, True),  # app298 admits team4
        ("wiki.example.com", "/.well-known/acme-challenge/x", None, 443, False),
        ("wiki.example.com", "/.well-known/acme-challenge/x", None, 80, True),
    ]:
        decision = meshauth.simulate(config, host=host, path=path, claims=claims, port=port)
        assert decision.allowed is allowed, decision.explain()


def test_a_million_groups_make_several_policies_not_one_huge_one(small_budget):
    config = many(2)
    config["spec"]["apps"][0]["authorization"] = {"groups": [f"group-{n}" for n in range(2000)]}
    bundle = meshauth.render(config)
    policies = [o for o in bundle.objects if o["metadata"]["name"].startswith("big-app0-access")]
    assert [p["metadata"]["name"] for p in policies][:2] == ["big-app0-access", "big-app0-access-2"]
    groups = [
        value
        for p in policies
        for rule in p["spec"]["rules"]
        for condition in rule.get("when", [])
        if condition["key"] == "request.auth.claims[groups]"
        for value in condition["values"]
    ]
    assert groups == [f"group-{n}" for n in range(2000)]  # every group, once, in order
    assert all(sizes.stored_bytes(p) <= sizes.SPLIT_BUDGET + SLACK for p in policies)
    member = {"iss": "https://idp.example.com", "aud": ["big"], "groups": ["group-1999"], "sub": "u"}
    assert meshauth.simulate(config, host="app0.example.com", path="/", claims=member).allowed


def test_the_split_is_the_same_run_to_run(small_budget):
    first = meshauth.render(many(200)).to_yaml()
    assert meshauth.render(many(200)).to_yaml() == first


def _policy(size: int) -> dict:
    return {
        "apiVersion": "security.istio.io/v1",
        "kind": "AuthorizationPolicy",
        "metadata": {"name": "huge", "namespace": "istio-system"},
        "spec": {
            "action": "ALLOW",
            "rules": [{"to": [{"operation": {"notHosts": ["h" * 60] * (size // 63)}}]}],
        },
    }


def test_validate_reports_an_object_over_the_api_servers_limit():
    from meshauth.validation.rules import registry

    found = [f for f in registry.check([_policy(1_700_000)]) if f.rule.startswith("MA08")]
    assert [(f.rule, f.severity, f.object) for f in found] == [
        ("MA080", "error", "AuthorizationPolicy istio-system/huge")
    ]
    assert "too large" in found[0].message and "split it" in found[0].message


def test_validate_warns_where_client_side_apply_cannot_record_the_object():
    from meshauth.validation.rules import registry

    found = [f for f in registry.check([_policy(400_000)]) if f.rule.startswith("MA08")]
    assert [(f.rule, f.severity) for f in found] == [("MA081", "warning")]
    assert "--server-side" not in found[0].message and "server-side" in found[0].message
    assert [f for f in registry.check([_policy(100_000)]) if f.rule.startswith("MA08")] == []


def test_the_limits_are_the_documented_numbers():
    assert sizes.API_OBJECT_LIMIT == 1_572_864  # etcd --max-request-bytes default, 1.5 MiB
    assert sizes.ANNOTATIONS_LIMIT == 262_144  # apimachinery TotalAnnotationSizeLimitB
    assert sizes.SPLIT_BUDGET < sizes.ANNOTATIONS_LIMIT


def _object_of(size: int) -> dict:
    """A ConfigMap whose stored JSON is exactly ``size`` bytes."""
    config_map = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "sized", "namespace": "apps"},
        "data": {"blob": ""},
    }
    config_map["data"]["blob"] = "x" * (size - sizes.stored_bytes(config_map))
    assert sizes.stored_bytes(config_map) == size
    return config_map


@pytest.mark.parametrize(
    "size, expected",
    [
        (sizes.ANNOTATIONS_LIMIT, []),  # the annotations may hold exactly 256 KiB
        (sizes.ANNOTATIONS_LIMIT + 1, [("MA081", "warning")]),
        (sizes.API_OBJECT_LIMIT, [("MA081", "warning")]),  # etcd stores exactly its limit
        (sizes.API_OBJECT_LIMIT + 1, [("MA080", "error")]),  # and only MA080: one finding
    ],
    ids=["annotations-limit", "one-over-annotations", "api-limit", "one-over-api"],
)
def test_the_limits_themselves_still_fit(size, expected):
    from meshauth.validation.rules import registry

    found = [f for f in registry.check([_object_of(size)]) if f.rule.startswith("MA08")]
    assert [(f.rule, f.severity) for f in found] == expected
    assert all((f.object, f.path) == ("ConfigMap apps/sized", "") for f in found)
