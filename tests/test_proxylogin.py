"""The login a simulated oauth2-proxy or authservice accepts: an ID token whose issuer and audience
are the ones configured. Something missing on both sides is no match: a token without `aud` is not
for a proxy that names no client id, and a token without `iss` is not from an issuer nobody set."""

from __future__ import annotations

import pytest

from meshauth.authz.proxylogin import authservice_refusal, login_refusal

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
        ({k: v for k, v in TOKEN.items() if k != "aud"}, {k: v for k, v in ARGS.items() if k != "client-id"}),
        (
            {k: v for k, v in TOKEN.items() if k != "iss"},
            {k: v for k, v in ARGS.items() if k != "oidc-issuer-url"},
        ),
        ({**TOKEN, "aud": [None, 7]}, ARGS),
        ({**TOKEN, "aud": "webx"}, ARGS),
    ],
    ids=["no-aud-no-client-id", "no-iss-no-issuer", "aud-not-strings", "near-miss-aud"],
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
