"""MA013 and MA015 on a hand-written oauth2-proxy: it must answer Envoy's check with 200 where the
gateway can reach it, and start with only flags its release has. One finding at the exact flag;
the fixed twin is silent."""

from __future__ import annotations

import pytest
from handwritten import PROXY_IMAGE, istio_operator, oauth2_proxy

import meshauth

ARGS = "spec.template.spec.containers[0].args"
PROXY = "Deployment oauth2-proxy/oauth2-proxy"
GOOD = ("--http-address=0.0.0.0:4180", "--upstream=static://200")


def proxy(*args, image=PROXY_IMAGE, env=()):
    return oauth2_proxy(*args, image=image, env=env, served=False)


def found(docs, rule):
    return [(f.object, f.path) for f in meshauth.validate(docs) if f.rule == rule]


# --- MA013: the check answers 200 --------------------------------------------------------------------


@pytest.mark.parametrize(
    "upstream, answers_200",
    [
        ("--upstream=static://200", True),
        ("--upstream=static://", True),
        ("--upstream=http://grafana.monitoring.svc:3000,static://200", True),
        ("--upstream=http://grafana.monitoring.svc:3000", False),
        ("--upstream=static://202", False),
    ],
)
def test_oauth2_proxy_must_answer_the_check_with_200(upstream, answers_200):
    docs = [proxy("--http-address=0.0.0.0:4180", upstream)]
    assert found(docs, "MA013") == ([] if answers_200 else [(PROXY, f"{ARGS}[1]")])


def test_without_an_upstream_it_answers_something_else_unless_a_config_file_may_set_it():
    assert found([proxy("--http-address=0.0.0.0:4180")], "MA013") == [(PROXY, ARGS)]
    assert found([proxy("--http-address=0.0.0.0:4180", "--config=/etc/oauth2-proxy.cfg")], "MA013") == []
    with_config = proxy("--http-address=0.0.0.0:4180", "--alpha-config=/etc/a.yaml", "--upstream=http://app")
    assert found([with_config], "MA013") == [(PROXY, f"{ARGS}[2]")]


@pytest.mark.parametrize(
    "address, reachable",
    [
        ("--http-address=0.0.0.0:4180", True),
        ("--http-address=:4180", True),
        ("--http-address=[::]:4180", True),
        ("--http-address=10.0.0.7:4180", True),
        ("--http-address=127.0.0.1:4180", False),
        ("--http-address=localhost:4180", False),
        ("--http-address=[::1]:4180", False),
    ],
)
def test_oauth2_proxy_must_listen_where_the_gateway_reaches_it(address, reachable):
    docs = [proxy(address, "--upstream=static://200")]
    assert found(docs, "MA013") == ([] if reachable else [(PROXY, f"{ARGS}[0]")])


def test_the_default_address_is_the_loopback_unless_a_config_file_may_set_it():
    [finding] = [f for f in meshauth.validate([proxy("--upstream=static://200")]) if f.rule == "MA013"]
    assert (finding.path, "listens on 127.0.0.1" in finding.message) == (ARGS, True)
    assert found([proxy("--upstream=static://200", "--config=/etc/o.cfg")], "MA013") == []
    loopback = proxy("--upstream=static://200", "--config=/etc/o.cfg", "--http-address=127.0.0.1:4180")
    assert found([loopback], "MA013") == [(PROXY, f"{ARGS}[2]")]


def _mesh(prefix, name="oauth2-proxy"):
    http = {"service": "oauth2-proxy.oauth2-proxy.svc.cluster.local", "port": 4180}
    if prefix is not None:
        http["pathPrefix"] = prefix
    return istio_operator(name, **http, includeRequestHeadersInCheck=["cookie"])


@pytest.mark.parametrize(
    "prefix, answers_200",
    [
        (None, True),
        ("/oauth2", True),
        ("/oauth2/authz", True),
        ("/oauth2/auth", False),
        ("/oauth2/auth/", False),
    ],
)
def test_a_path_prefix_to_the_auth_endpoint_answers_202(prefix, answers_200):
    where = "spec.meshConfig.extensionProviders[0].envoyExtAuthzHttp.pathPrefix"
    docs = [proxy(*GOOD), _mesh(prefix)]
    assert found(docs, "MA013") == ([] if answers_200 else [("IstioOperator istio-system/mesh", where)])


def test_another_providers_auth_endpoint_is_its_own_business():
    mesh = _mesh("/v1/auth", name="opa")
    mesh["spec"]["meshConfig"]["extensionProviders"][0]["envoyExtAuthzHttp"]["service"] = (
        "opa.opa.svc.cluster.local"
    )
    assert found([proxy(*GOOD), mesh], "MA013") == []


# --- MA015: flags the release has ------------------------------------------------------------------------


def test_an_unknown_flag_stops_oauth2_proxy():
    docs = [proxy(*GOOD, "--no-such-flag=1", "--cookie-secure=true", "--also-unknown")]
    assert found(docs, "MA015") == [(PROXY, f"{ARGS}[4]"), (PROXY, f"{ARGS}[2]")]  # by flag name
    assert found([proxy(*GOOD, "--cookie-secure=true")], "MA015") == []


@pytest.mark.parametrize(
    "tag, known, release",
    [
        ("v7.3.0", False, "oauth2-proxy v7.3.0 (it appeared in v7.4.0)"),
        ("v7.4.0", True, None),
        ("latest", True, None),
        ("v6.1.1", True, None),  # not a v7 release: judged by the newest release's flags
    ],
)
def test_a_flag_newer_than_the_images_release(tag, known, release):
    docs = [proxy(*GOOD, "--cookie-csrf-per-request=true", image=f"quay.io/oauth2-proxy/oauth2-proxy:{tag}")]
    findings = [f for f in meshauth.validate(docs) if f.rule == "MA015"]
    assert [(f.object, f.path) for f in findings] == ([] if known else [(PROXY, f"{ARGS}[2]")])
    if release:
        assert f"is not a flag of {release}" in findings[0].message


def test_a_release_that_is_not_a_version_is_judged_by_any_v7_release():
    docs = [proxy(*GOOD, "--no-such-flag=1", image="quay.io/oauth2-proxy/oauth2-proxy:v6.1.1")]
    [finding] = [f for f in meshauth.validate(docs) if f.rule == "MA015"]
    assert "is not a flag of any oauth2-proxy v7 release:" in finding.message


def test_settings_from_the_environment_are_not_command_line_flags():
    env = [{"name": "OAUTH2_PROXY_NO_SUCH_FLAG", "value": "1"}]
    assert found([proxy(*GOOD, env=env)], "MA015") == []


@pytest.mark.parametrize(
    "tag, release",
    [
        ("v7.0.0", "oauth2-proxy v7.0.0"),  # the first v7 release is a v7 release
        ("07.6.0", "any oauth2-proxy v7 release"),  # a leading zero: not a release tag
    ],
)
def test_the_release_a_flag_is_judged_by(tag, release):
    docs = [proxy(*GOOD, "--no-such-flag=1", image=f"quay.io/oauth2-proxy/oauth2-proxy:{tag}")]
    [finding] = [f for f in meshauth.validate(docs) if f.rule == "MA015"]
    assert f"is not a flag of {release}:" in finding.message
