"""What a visitor without a session gets from oauth2-proxy, as oauth2-proxy decides it
(``oauthproxy.go``, the ``ErrNeedsLogin`` case): a 401 JSON answer with ``--force-json-errors``, for
a request that accepts ``application/json`` (only if the provider passes ``Accept`` to the check) or
on an ``--api-route``; else the redirect to the IdP with ``--skip-provider-button`` (what meshauth
renders), or the sign-in page with a 403 without it."""

from __future__ import annotations

import copy

import pytest
from conftest import ROOT

import meshauth
from meshauth.authz.simulate import Request, environment_for, evaluate
from meshauth.config.load import load_config

CONFIG = ROOT / "examples" / "quickstart.yaml"
HOST, PATH = "grafana.example.com", "/d/1"


@pytest.fixture(scope="module")
def rendered():
    return meshauth.render(str(CONFIG)), environment_for(load_config(str(CONFIG)))


def anonymous(rendered, args=None, accept_passed=False, **request):
    bundle, env = rendered
    objects = copy.deepcopy(list(bundle.objects))
    mesh = copy.deepcopy(bundle.mesh_config)
    proxy = next(o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == "oauth2-proxy")
    container = proxy["spec"]["template"]["spec"]["containers"][0]
    if args is not None:
        container["args"] = args(container["args"])
    if accept_passed:
        provider = mesh["spec"]["meshConfig"]["extensionProviders"][0]["envoyExtAuthzHttp"]
        provider["includeRequestHeadersInCheck"].append("accept")
    return evaluate((objects, mesh), Request(HOST, PATH, **request), env)


def without(flag):
    return lambda args: [a for a in args if not a.startswith(f"--{flag}")]


def test_the_rendered_proxy_redirects_to_the_identity_provider(rendered):
    decision = anonymous(rendered)
    assert (decision.verdict, decision.status) == ("DENY", 302)


def test_without_skip_provider_button_the_sign_in_page_answers_403(rendered):
    decision = anonymous(rendered, without("skip-provider-button"))
    assert (decision.verdict, decision.status) == ("DENY", 403)
    assert "sign-in page" in decision.reason


def test_force_json_errors_answers_401(rendered):
    decision = anonymous(rendered, lambda args: [*args, "--force-json-errors"])
    assert (decision.verdict, decision.status) == ("DENY", 401)


def test_a_json_client_gets_401_only_when_the_check_sees_its_accept_header(rendered):
    json_client = {"headers": {"Accept": "text/html, application/json"}}
    assert anonymous(rendered, **json_client).status == 302  # Accept is not passed to the check
    assert anonymous(rendered, accept_passed=True, **json_client).status == 401
    assert anonymous(rendered, accept_passed=True, headers={"Accept": "application/jsonx"}).status == 302


def test_an_api_route_answers_401(rendered):
    assert anonymous(rendered, lambda args: [*args, "--api-route=^/d/"]).status == 401
    assert anonymous(rendered, lambda args: [*args, "--api-route=^/api/"]).status == 302


def test_a_signed_in_user_is_not_affected(rendered):
    decision = anonymous(
        rendered, lambda args: [*without("skip-provider-button")(args), "--force-json-errors"]
    )
    assert decision.status == 401
    bundle, env = rendered
    allowed = evaluate(
        bundle, Request(HOST, PATH, claims={"email": "ana@example.com", "groups": ["platform-team"]}), env
    )
    assert allowed.allowed
