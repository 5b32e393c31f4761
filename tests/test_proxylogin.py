"""The login a simulated oauth2-proxy or authservice accepts: an ID token whose issuer and audience
are the ones configured. oauth2-proxy's settings come from its arguments or literal environment
variables; one set where the simulation cannot see (a Secret, a ``--config`` file) is not judged.
authservice's chain is read whole: something missing there matches no token."""

from __future__ import annotations

import pytest

from meshauth.authz.proxylogin import authservice_refusal, login_refusal, proxy_args

ISSUER = "https://idp.example.com"
ARGS = {"oidc-issuer-url": [ISSUER], "client-id": ["web"], "email-domain": ["*"]}
TOKEN = {"iss": ISSUER, "aud": "web", "email": "ana@example.com"}
CHAIN = {"configuration_uri": f"{ISSUER}/.well-known/openid-configuration", "client_id": "web"}


def test_the_configured_issuer_and_audience_sign_in():
    assert login_refusal(TOKEN, ARGS) is None
    assert login_refusal({**TOKEN, "aud": ["other", "web"]}, ARGS) is None
    assert authservice_refusal(TOKEN, CHAIN) is None


@pytest.mark.parametrize(
    ("token", "args"),
    [
        ({k: v for k, v in TOKEN.items() if k != "aud"}, ARGS),
        ({**TOKEN, "iss": f"{ISSUER}/"}, ARGS),
        ({**TOKEN, "aud": [None, 7]}, ARGS),
        ({**TOKEN, "aud": "webx"}, ARGS),
    ],
    ids=["no-aud", "near-miss-iss", "aud-not-strings", "near-miss-aud"],
)
def test_a_missing_or_foreign_claim_is_refused_by_oauth2_proxy(token, args):
    assert login_refusal(token, args) is not None


def test_an_extra_audience_admits_its_tokens():
    assert login_refusal({**TOKEN, "aud": "cli"}, {**ARGS, "oidc-extra-audience": ["cli"]}) is None


@pytest.mark.parametrize(
    ("token", "chain"),
    [
        (
            {k: v for k, v in TOKEN.items() if k != "aud"},
            {k: v for k, v in CHAIN.items() if k != "client_id"},
        ),
        (
            {k: v for k, v in TOKEN.items() if k != "iss"},
            {k: v for k, v in CHAIN.items() if k != "configuration_uri"},
        ),
        ({**TOKEN, "aud": ["webx"]}, CHAIN),
    ],
    ids=["no-aud-no-client-id", "no-iss-no-issuer", "near-miss-aud"],
)
def test_a_missing_or_foreign_claim_is_refused_by_authservice(token, chain):
    assert authservice_refusal(token, chain) is not None


def test_settings_from_a_secret_or_file_are_not_judged_but_literal_variables_are():
    unseen = {"email-domain": ["*"]}
    assert login_refusal({"aud": "anything", "iss": "https://elsewhere"}, unseen) is None

    env = [
        {"name": "OAUTH2_PROXY_CLIENT_ID", "value": "web"},
        {"name": "OAUTH2_PROXY_OIDC_ISSUER_URL", "value": ISSUER},
        {"name": "OAUTH2_PROXY_CLIENT_SECRET", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}},
    ]
    deployment = {
        "spec": {"template": {"spec": {"containers": [{"args": ["--email-domain=*"], "env": env}]}}}
    }
    args = proxy_args(deployment)
    assert args == {"email-domain": ["*"], "client-id": ["web"], "oidc-issuer-url": [ISSUER]}
    assert login_refusal(TOKEN, args) is None
    assert login_refusal({**TOKEN, "aud": "other"}, args) is not None


def test_an_argument_wins_over_the_variable_for_the_same_flag():
    env = [{"name": "OAUTH2_PROXY_CLIENT_ID", "value": "from-env"}]
    container = {"args": ["--client-id=from-arg"], "env": env}
    args = proxy_args({"spec": {"template": {"spec": {"containers": [container]}}}})
    assert args["client-id"] == ["from-arg"]
