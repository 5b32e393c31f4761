"""MA004 on hand-written setups: each host the gateway login sends to oauth2-proxy must be within
one of its --cookie-domain values (else the browser drops the session cookie: login loops) and its
--whitelist-domain values (else no redirect back after login). One finding per host and flag, at
the flag; none where the flag is not set."""

from __future__ import annotations

import pytest
from handwritten import gateway_login as login
from handwritten import oauth2_proxy

import meshauth


def to_hosts(*hosts):
    return {"to": [{"operation": {"hosts": list(hosts)}}]}


proxy = oauth2_proxy


def route(host, gateways=("istio-system/web",)):
    return {
        "apiVersion": "networking.istio.io/v1",
        "kind": "VirtualService",
        "metadata": {"name": host.split(".")[0], "namespace": "apps"},
        "spec": {
            "hosts": [host],
            "gateways": list(gateways),
            "http": [{"route": [{"destination": {"host": "web.apps.svc.cluster.local"}}]}],
        },
    }


ARGS = "spec.template.spec.containers[0].args"
COOKIE = "--cookie-domain=.example.com"
WHITELIST = "--whitelist-domain=.example.com"


def ma004(docs):
    return [
        (f.path, f.message.split(" is not within")[0].removeprefix("app host "))
        for f in meshauth.validate(docs)
        if f.rule == "MA004"
    ]


def test_a_host_outside_both_domains_is_reported_at_each_flag():
    docs = [login(to_hosts("app.example.org")), proxy(COOKIE, WHITELIST)]
    assert ma004(docs) == [(f"{ARGS}[2]", "app.example.org"), (f"{ARGS}[3]", "app.example.org")]


def test_a_host_within_both_domains_is_fine():
    assert ma004([login(to_hosts("app.example.com")), proxy(COOKIE, WHITELIST)]) == []


def test_without_the_flags_oauth2_proxy_uses_the_requests_host():
    assert ma004([login(to_hosts("app.example.org")), proxy()]) == []
    assert ma004([login(to_hosts("app.example.org")), proxy(COOKIE)]) == [(f"{ARGS}[2]", "app.example.org")]
    assert ma004([login(to_hosts("app.example.org")), proxy(WHITELIST)]) == [
        (f"{ARGS}[2]", "app.example.org")
    ]


@pytest.mark.parametrize(
    "whitelist, within",
    [
        ("app.example.org", True),  # the host itself
        ("app.example.org:443", True),  # with a port
        (".example.org:443", True),
        (".example.org", True),  # a parent domain, with the leading dot
        ("example.org", False),  # without the dot: that domain only
        ("xapp.example.org", False),
        (".org.example", False),
    ],
)
def test_the_whitelist_admits_the_host_itself_or_under_a_dotted_parent(whitelist, within):
    docs = [login(to_hosts("app.example.org")), proxy(f"--whitelist-domain={whitelist}")]
    assert ma004(docs) == ([] if within else [(f"{ARGS}[2]", "app.example.org")])


def test_each_host_of_the_login_is_judged_once():
    docs = [
        login(to_hosts("a.example.com", "b.example.org", "b.example.org"), to_hosts("c.example.org")),
        proxy(COOKIE),
    ]
    assert ma004(docs) == [(f"{ARGS}[2]", "b.example.org"), (f"{ARGS}[2]", "c.example.org")]


def test_a_login_rule_without_hosts_covers_every_routed_host():
    routes = [route("app.example.com"), route("wiki.example.org"), route("internal.example.org", ["mesh"])]
    # a rule with no `to`, or with an operation that names no hosts: every host the gateway serves
    for rule in ({}, {"to": [{"operation": {"notPaths": ["/healthz"]}}]}):
        assert ma004([login(rule), proxy(COOKIE), *routes]) == [(f"{ARGS}[2]", "wiki.example.org")]
    # one operation with hosts and one without: still every routed host
    mixed = {"to": [{"operation": {"hosts": ["x.example.net"]}}, {"operation": {"paths": ["/"]}}]}
    assert ma004([login(mixed), proxy(COOKIE), *routes]) == [
        (f"{ARGS}[2]", "wiki.example.org"),
        (f"{ARGS}[2]", "x.example.net"),
    ]
    # every operation names its hosts: only those
    assert ma004([login(to_hosts("x.example.net")), proxy(COOKIE), *routes]) == [
        (f"{ARGS}[2]", "x.example.net")
    ]


def test_a_wildcard_login_host_is_judged_by_a_host_it_covers():
    docs = [login(to_hosts("*.example.org", "*")), proxy(COOKIE)]
    assert ma004(docs) == [(f"{ARGS}[2]", "probe.example.org")]
