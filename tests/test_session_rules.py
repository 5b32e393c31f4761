"""MA005, MA006 and MA018 on a hand-written oauth2-proxy: a refresh oauth2-proxy refuses, a cookie
secret that is no AES key, and an ID token that expires inside the session. One finding at the
exact flag or key; the fixed twin is silent; the secret's value never appears."""

from __future__ import annotations

import base64

import pytest
from handwritten import oauth2_proxy

import meshauth
from meshauth.k8s import ID_TOKEN_LIFETIME

GOOGLE = "https://accounts.google.com"
ARGS = "spec.template.spec.containers[0].args"
PROXY = "Deployment oauth2-proxy/oauth2-proxy"


proxy = oauth2_proxy


def secret(name="oauth2-proxy", string_data=None, data=None, namespace="oauth2-proxy"):
    obj = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": namespace}}
    if string_data is not None:
        obj["stringData"] = string_data
    if data is not None:
        obj["data"] = data
    return obj


def found(docs, rule):
    return [(f.object, f.path) for f in meshauth.validate(docs) if f.rule == rule]


# --- MA005: refresh below expire -------------------------------------------------------------------


@pytest.mark.parametrize(
    "flags, refused",
    [
        (["--cookie-refresh=1h", "--cookie-expire=4h"], False),
        (["--cookie-refresh=4h", "--cookie-expire=4h"], True),  # equal is refused too
        (["--cookie-refresh=5h", "--cookie-expire=4h"], True),
        (["--cookie-refresh=167h"], False),  # the expire defaults to 168h
        (["--cookie-refresh=168h"], True),
        (["--cookie-refresh=0", "--cookie-expire=4h"], False),  # refresh off
        (["--cookie-refresh=4h", "--cookie-expire=0"], False),  # a session cookie
        (["--cookie-refresh=soon", "--cookie-expire=4h"], False),  # not a duration: MA015's to say
        (["--cookie-expire=1s"], False),  # no refresh
    ],
)
def test_a_refresh_not_shorter_than_the_expiry_stops_oauth2_proxy(flags, refused):
    assert found([proxy(*flags)], "MA005") == ([(PROXY, f"{ARGS}[2]")] if refused else [])


# --- MA006: the cookie secret ------------------------------------------------------------------------

RAW32 = "0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize(
    "value, key",
    [
        ("0123456789abcdef", True),
        ("0123456789abcdef01234567", True),
        (RAW32, True),
        (base64.urlsafe_b64encode(b"k" * 32).decode(), True),  # 32 bytes after decoding
        ("0123456789abcde", False),
        ("0123456789abcdef0", False),
        (RAW32 + "0", False),
        ("too-short", False),
    ],
)
def test_a_cookie_secret_must_be_an_aes_key(value, key):
    docs = [proxy(f"--cookie-secret={value}")]
    assert found(docs, "MA006") == ([] if key else [(PROXY, f"{ARGS}[2]")])
    if not key:
        [finding] = [f for f in meshauth.validate(docs) if f.rule == "MA006"]
        assert value not in finding.message and "bytes" in finding.message


def test_a_secret_the_proxy_reads_is_judged_once_at_its_key():
    ref = {
        "name": "OAUTH2_PROXY_COOKIE_SECRET",
        "valueFrom": {"secretKeyRef": {"name": "oauth2-proxy", "key": "cookie-secret"}},
    }
    docs = [proxy(env=[ref]), secret(string_data={"cookie-secret": "too-short"})]
    assert found(docs, "MA006") == [("Secret oauth2-proxy/oauth2-proxy", "stringData.cookie-secret")]
    docs[1] = secret(string_data={"cookie-secret": RAW32})
    assert found(docs, "MA006") == []


def test_a_secret_read_through_env_from_is_judged_at_its_variable():
    docs = [
        proxy(env_from=[{"secretRef": {"name": "oauth2-proxy"}}]),
        secret(data={"OAUTH2_PROXY_COOKIE_SECRET": base64.b64encode(b"too-short").decode()}),
    ]
    assert found(docs, "MA006") == [("Secret oauth2-proxy/oauth2-proxy", "data.OAUTH2_PROXY_COOKIE_SECRET")]


@pytest.mark.parametrize(
    "key", ["cookie-secret", "cookie_secret", "cookieSecret", "OAUTH2_PROXY_COOKIE_SECRET"]
)
def test_a_cookie_secret_no_proxy_here_reads_is_still_judged(key):
    assert found([secret(string_data={key: "too-short"})], "MA006") == [
        ("Secret oauth2-proxy/oauth2-proxy", f"stringData.{key}")
    ]
    assert found([secret(string_data={key: RAW32})], "MA006") == []
    assert found([secret(string_data={"client-secret": "too-short"})], "MA006") == []


# --- MA018: the ID token outlives the session's refresh ------------------------------------------------


def google(*flags, **kwargs):
    return proxy(f"--oidc-issuer-url={GOOGLE}", *flags, **kwargs)


@pytest.mark.parametrize(
    "refresh, expires_inside",
    [
        (None, True),  # refresh off: the 1-hour token expires inside the session
        ("--cookie-refresh=30m", False),
        ("--cookie-refresh=59m", False),
        ("--cookie-refresh=1h", True),
        ("--cookie-refresh=2h", True),
        ("--cookie-refresh=0", True),
    ],
)
def test_a_google_id_token_expires_after_an_hour(refresh, expires_inside):
    docs = [google(*([refresh] if refresh else []))]
    assert [f.rule for f in meshauth.validate(docs) if f.rule == "MA018"] == (
        ["MA018"] if expires_inside else []
    )
    if refresh and expires_inside:
        assert found(docs, "MA018") == [(PROXY, f"{ARGS}[3]")]


def test_the_lifetime_and_idp_are_named():
    [finding] = [f for f in meshauth.validate([google("--cookie-refresh=2h")]) if f.rule == "MA018"]
    assert "than the google ID token's lifetime (60m)" in finding.message


@pytest.mark.parametrize(
    "flags, lifetime_minutes",
    [
        (["--provider=keycloak-oidc", "--oidc-issuer-url=https://kc.example.com/realms/x"], 5),
        (["--provider=gitlab"], 2),  # gitlab.com's issuer, or its own --provider
        (["--oidc-issuer-url=https://gitlab.com/"], 2),
        (["--provider=google"], 60),
        (["--provider=entra-id", "--oidc-issuer-url=https://login.microsoftonline.com/t/v2.0"], 60),
    ],
)
def test_the_idps_documented_lifetime_is_used(flags, lifetime_minutes):
    docs = [proxy(*flags, f"--cookie-refresh={lifetime_minutes}m")]
    assert [f.rule for f in meshauth.validate(docs) if f.rule == "MA018"] == ["MA018"]
    docs = [proxy(*flags, f"--cookie-refresh={lifetime_minutes * 60 - 1}s")]
    assert [f.rule for f in meshauth.validate(docs) if f.rule == "MA018"] == []


@pytest.mark.parametrize(
    "flags",
    [
        ["--oidc-issuer-url=https://idp.example.com"],
        ["--provider=oidc", "--oidc-issuer-url=https://idp.example.com"],
        [],
    ],
)
def test_an_unknown_lifetime_is_not_guessed(flags):
    assert [f for f in meshauth.validate([proxy(*flags)]) if f.rule == "MA018"] == []


def test_a_recorded_lifetime_overrides_the_idps():
    annotated = google("--cookie-refresh=30m", annotations={ID_TOKEN_LIFETIME: "20m"})
    assert found([annotated], "MA018") == [(PROXY, f"{ARGS}[3]")]
    known = proxy(
        "--oidc-issuer-url=https://idp.example.com",
        "--cookie-refresh=30m",
        annotations={ID_TOKEN_LIFETIME: "1h"},
    )
    assert found([known], "MA018") == []
    known["metadata"]["annotations"][ID_TOKEN_LIFETIME] = "20m"
    assert found([known], "MA018") == [(PROXY, f"{ARGS}[3]")]
    known["metadata"]["annotations"][ID_TOKEN_LIFETIME] = "a while"  # unreadable: no lifetime known
    assert found([known], "MA018") == []


def test_only_a_token_the_gateway_checks_can_expire_there():
    def jwt(issuer):
        return {
            "apiVersion": "security.istio.io/v1",
            "kind": "RequestAuthentication",
            "metadata": {"name": "jwt", "namespace": "istio-system"},
            "spec": {"jwtRules": [{"issuer": issuer}, "not-a-rule"]},
        }

    assert found([google(), jwt("https://idp.example.com")], "MA018") == []
    assert len(found([google(), jwt(GOOGLE)], "MA018")) == 1
    assert len(found([google(), jwt("accounts.google.com")], "MA018")) == 1


def _second(deployment):
    """The same proxy in another namespace, listed after the first."""
    deployment["metadata"]["namespace"] = "z-second"
    return deployment


def test_a_fine_proxy_listed_first_does_not_hide_a_faulty_one():
    second = "Deployment z-second/oauth2-proxy"
    docs = [proxy("--cookie-refresh=1h"), _second(proxy("--cookie-refresh=4h", "--cookie-expire=4h"))]
    assert found(docs, "MA005") == [(second, f"{ARGS}[2]")]
    docs = [proxy("--oidc-issuer-url=https://idp.example.com"), _second(google())]
    assert found(docs, "MA018") == [(second, ARGS)]


def test_a_secret_a_proxy_reads_does_not_hide_the_ones_after_it():
    ref = {
        "name": "OAUTH2_PROXY_COOKIE_SECRET",
        "valueFrom": {"secretKeyRef": {"name": "oauth2-proxy", "key": "cookie-secret"}},
    }
    docs = [
        proxy(env=[ref]),
        secret(string_data={"cookie-secret": RAW32}),
        secret(name="leftover", string_data={"cookie-secret": "too-short"}),
    ]
    assert found(docs, "MA006") == [("Secret oauth2-proxy/leftover", "stringData.cookie-secret")]


def test_a_refresh_of_a_second_is_a_refresh():
    assert found([google("--cookie-refresh=1s")], "MA018") == []


def test_an_issuer_still_holding_a_placeholder_is_no_idps():
    # Entra's documented issuer is a template: an issuer that still says {tenant} is not it
    docs = [proxy("--oidc-issuer-url=https://login.microsoftonline.com/{tenant}/v2.0")]
    assert found(docs, "MA018") == []


def test_a_refresh_that_is_not_a_duration_is_left_to_other_checks():
    assert found([google("--cookie-refresh=soon")], "MA018") == []
