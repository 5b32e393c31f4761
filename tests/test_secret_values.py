"""What the ``secret`` section accepts, refuses and shows, value by value.

A cookie secret is measured as oauth2-proxy measures it (or the proxy refuses to start after
meshauth said yes); a value that is not kubeseal's output is refused (or a pasted plain secret
would be rendered in the clear); a dump masks every secret but keeps it for whoever validates the
dump again; a deployed Redis takes its password from the source that fills it.

These are behaviours mutation testing showed unchecked (tools/mutation.py on
meshauth/config/secrets.py); tests/test_secrets.py covers the output channels.
"""

from __future__ import annotations

import base64
import copy
import json
from typing import Any

import jsonschema
import pytest
from configs import document
from pydantic import SecretStr, ValidationError

import meshauth
from meshauth.cli.main import main as cli_main
from meshauth.config.schema import config_schema_text
from meshauth.config.secrets import (
    REVEAL_SECRETS,
    ExternalSecretsSecret,
    InlineSecret,
    InlineValues,
    SealedValues,
    cookie_secret_length,
)

KEY_16 = bytes(range(100, 116))
KEY_24 = bytes(range(200, 224))
KEY_32 = bytes(range(224, 256))


def urlsafe(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).decode()


# --- the cookie secret, as oauth2-proxy reads it -------------------------------------------------------


@pytest.mark.parametrize("key", [KEY_16, KEY_24, KEY_32], ids=["16", "24", "32"])
def test_a_url_safe_base64_key_counts_its_decoded_bytes_with_or_without_padding(key):
    assert cookie_secret_length(urlsafe(key)) == len(key)
    assert cookie_secret_length(urlsafe(key).rstrip("=")) == len(key)


def test_every_secret_meshauth_cookie_secret_prints_is_a_32_byte_key(capsys):
    for _ in range(20):  # random bytes: some print - and _, the URL-safe digits
        assert cli_main(["cookie-secret"]) == 0
        printed = capsys.readouterr().out.strip()
        assert len(printed) == 44 and cookie_secret_length(printed) == 32
        InlineValues(clientSecret="c", cookieSecret=printed)


def test_a_raw_secret_counts_its_characters():
    assert cookie_secret_length("0123456789abcdef") == 16
    assert cookie_secret_length("twenty-characters-xx") == 20
    # base64 of 12 bytes: not a key length once decoded, so oauth2-proxy takes the 16 characters
    assert cookie_secret_length("c2hvcnQtc2VjcmV0") == 16


def test_standard_base64_with_plus_or_slash_is_read_raw_as_oauth2_proxy_does():
    """`openssl rand -base64 32` prints `+` and `/`, which Go's URL-safe decoder refuses: oauth2-proxy
    then reads the 44 characters as the key and refuses to start, so meshauth must refuse it too."""
    standard = base64.b64encode(KEY_32).decode()
    assert "+" in standard or "/" in standard
    assert cookie_secret_length(standard) == 44
    with pytest.raises(ValidationError, match="16, 24 or 32 bytes"):
        InlineValues(clientSecret="c", cookieSecret=standard)


def test_a_character_outside_base64_makes_the_whole_secret_raw():
    assert cookie_secret_length("!" + urlsafe(KEY_24)) == 33
    assert cookie_secret_length(urlsafe(KEY_16)[:-2] + " ") == 23


def test_line_breaks_are_skipped_as_oauth2_proxy_skips_them():
    assert cookie_secret_length(urlsafe(KEY_32).rstrip("=") + "\n") == 32


@pytest.mark.parametrize("secret", ["0123456789abcdef", "x" * 24, "x" * 32, urlsafe(KEY_16).rstrip("=")])
def test_every_key_length_is_accepted(secret):
    assert InlineValues(clientSecret="c", cookieSecret=secret).cookie_secret.get_secret_value() == secret


@pytest.mark.parametrize("secret", ["x" * 15, "x" * 20, "x" * 33, base64.b64encode(KEY_16).decode() + "?"])
def test_a_cookie_secret_of_another_length_is_refused(secret):
    with pytest.raises(ValidationError, match="16, 24 or 32 bytes"):
        InlineValues(clientSecret="c", cookieSecret=secret)


def test_an_empty_client_secret_is_refused():
    with pytest.raises(ValidationError, match="clientSecret"):
        InlineValues(clientSecret="", cookieSecret="x" * 32)


# --- inline values in dumps ----------------------------------------------------------------------------


def _inline(**extra: str) -> InlineValues:
    return InlineValues(clientSecret="client-s3cr3t", cookieSecret="x" * 32, **extra)


def test_a_json_dump_masks_the_secrets_and_leaves_an_absent_password_empty():
    dumped = _inline().model_dump(mode="json", by_alias=True)
    assert dumped == {"clientSecret": "**********", "cookieSecret": "**********", "redisPassword": None}
    assert json.loads(_inline().model_dump_json(by_alias=True))["redisPassword"] is None


def test_a_python_dump_keeps_the_secrets_wrapped_so_it_validates_back_to_the_same_values():
    dumped = _inline(redisPassword="redis-s3cr3t").model_dump(by_alias=True)
    assert all(isinstance(dumped[k], SecretStr) for k in ("clientSecret", "cookieSecret", "redisPassword"))
    assert "client-s3cr3t" not in repr(dumped)
    again = InlineValues.model_validate(dumped)
    assert again.client_secret.get_secret_value() == "client-s3cr3t"
    assert again.redis_password is not None and again.redis_password.get_secret_value() == "redis-s3cr3t"
    assert _inline().model_dump()["redis_password"] is None


@pytest.mark.parametrize("mode", ["json", "python"])
def test_revealing_gives_the_values_and_an_absent_password_stays_empty(mode):
    dumped = _inline().model_dump(mode=mode, by_alias=True, context={REVEAL_SECRETS: True})
    assert dumped == {"clientSecret": "client-s3cr3t", "cookieSecret": "x" * 32, "redisPassword": None}


def test_an_overlay_on_a_loaded_model_without_a_redis_password_keeps_the_secrets():
    data = document(
        "sec",
        secret={
            "source": "inline",
            "allowPlaintext": True,
            "inline": {"clientSecret": "client-s3cr3t", "cookieSecret": "x" * 32},
        },
        apps=[{"name": "web", "host": "web.example.com"}],
    )
    merged = meshauth.load_config(
        meshauth.load_config(data), overlays=[{"spec": {"oauth2Proxy": {"replicas": 2}}}]
    )
    assert merged.spec.secret.inline.client_secret.get_secret_value() == "client-s3cr3t"
    assert merged.spec.secret.inline.redis_password is None


# --- inline needs the opt-in; external references need a key ------------------------------------------


def test_inline_values_without_allow_plaintext_are_refused():
    with pytest.raises(ValidationError, match="allowPlaintext"):
        InlineSecret.model_validate(
            {"source": "inline", "inline": {"clientSecret": "c", "cookieSecret": "x" * 32}}
        )


def test_an_external_reference_with_an_empty_key_is_refused():
    spec = {
        "storeRef": {"name": "vault"},
        "data": {"clientSecret": {"key": "sso/app"}, "cookieSecret": {"key": ""}},
    }
    with pytest.raises(ValidationError, match="cookieSecret.key"):
        ExternalSecretsSecret.model_validate({"source": "external-secrets", "externalSecret": spec})


# --- sealed values -------------------------------------------------------------------------------------

SEALED = "AgB" + "x" * 253  # 256 characters of base64: the shortest kubeseal output


def sealed(**values: str) -> SealedValues:
    return SealedValues.model_validate({"encryptedData": values})


def test_the_shortest_sealed_value_is_accepted():
    assert len(SEALED) == 256
    assert (
        sealed(**{"client-secret": SEALED, "cookie-secret": SEALED + "AgB="}).encrypted_data["client-secret"]
        == SEALED
    )


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(SEALED[:252], id="four-characters-short"),
        pytest.param("AgB=", id="base64-but-tiny"),
        pytest.param("my client secret, pasted by mistake " * 8, id="plain-text-long-enough"),
        pytest.param("AgB-" + "x" * 252, id="url-safe-not-kubeseal"),
        pytest.param(SEALED + "x", id="257-characters"),
        pytest.param("", id="empty"),
    ],
)
def test_a_value_that_is_not_a_sealed_value_is_refused_without_showing_it(value):
    with pytest.raises(ValidationError) as caught:
        sealed(**{"client-secret": value, "cookie-secret": SEALED})
    assert "client-secret" in str(caught.value)
    if value:
        assert value not in str(caught.value)


def test_plain_text_is_refused_as_not_base64():
    with pytest.raises(ValidationError, match="not base64"):
        sealed(**{"client-secret": "pasted secret " * 20, "cookie-secret": SEALED})
    with pytest.raises(ValidationError, match="not base64"):
        sealed(**{"client-secret": SEALED + "x", "cookie-secret": SEALED})


def test_a_short_base64_value_is_refused_as_too_short():
    with pytest.raises(ValidationError, match="too short"):
        sealed(**{"client-secret": SEALED[:252], "cookie-secret": SEALED})


def test_the_schema_editors_read_refuses_an_empty_sealed_value_as_the_loader_does():
    data = copy.deepcopy(BASE)
    data["spec"]["secret"] = {
        "source": "sealed-secrets",
        "sealed": {"encryptedData": {"client-secret": "", "cookie-secret": SEALED}},
    }
    with pytest.raises(meshauth.ConfigError, match="client-secret"):
        meshauth.load_config(data)
    schema = json.loads(config_schema_text())  # what meshauth schema prints, as the model makes it
    validator = jsonschema.Draft202012Validator(schema)
    assert [list(e.absolute_path) for e in validator.iter_errors(data)] == [["spec", "secret"]]
    data["spec"]["secret"]["sealed"]["encryptedData"]["client-secret"] = SEALED
    assert list(validator.iter_errors(data)) == []


def test_sealed_values_need_both_keys_and_no_other():
    with pytest.raises(ValidationError, match=r"missing cookie-secret\)"):
        sealed(**{"client-secret": SEALED})
    with pytest.raises(ValidationError, match="unknown key"):
        sealed(**{"client-secret": SEALED, "cookie-secret": SEALED, "cookie_secret": SEALED})
    assert set(
        sealed(**{"client-secret": SEALED, "cookie-secret": SEALED, "redis-password": SEALED}).encrypted_data
    ) == {
        "client-secret",
        "cookie-secret",
        "redis-password",
    }


# --- a deployed Redis takes its password from the source that fills it ---------------------------------

BASE = document(
    "sec",
    oauth2Proxy={"sessionStore": {"type": "redis", "deploy": True}},
    apps=[{"name": "web", "host": "web.example.com"}],
)
INLINE = {
    "source": "inline",
    "allowPlaintext": True,
    "inline": {"clientSecret": "c", "cookieSecret": "x" * 32},
}
EXTERNAL = {
    "source": "external-secrets",
    "externalSecret": {
        "storeRef": {"name": "vault"},
        "data": {"clientSecret": {"key": "sso/client"}, "cookieSecret": {"key": "sso/cookie"}},
    },
}
SEALED_SOURCE = {
    "source": "sealed-secrets",
    "sealed": {"encryptedData": {"client-secret": SEALED, "cookie-secret": SEALED}},
}


def _redis_password_ref(secret: dict[str, Any] | None) -> dict[str, str] | None:
    data = copy.deepcopy(BASE)
    if secret is not None:
        data["spec"]["secret"] = secret
    bundle = meshauth.render(data)
    proxy = next(
        o for o in bundle.objects if o["kind"] == "Deployment" and o["metadata"]["name"] == "oauth2-proxy"
    )
    env = proxy["spec"]["template"]["spec"]["containers"][0].get("env") or []
    refs = [e["valueFrom"]["secretKeyRef"] for e in env if e["name"] == "OAUTH2_PROXY_REDIS_PASSWORD"]
    return refs[0] if refs else None


def _with_password(source: dict[str, Any]) -> dict[str, Any]:
    source = copy.deepcopy(source)
    if source["source"] == "inline":
        source["inline"]["redisPassword"] = "redis-s3cr3t"
    elif source["source"] == "external-secrets":
        source["externalSecret"]["data"]["redisPassword"] = {"key": "sso/redis"}
    else:
        source["sealed"]["encryptedData"]["redis-password"] = SEALED
    return source


@pytest.mark.parametrize("source", [INLINE, EXTERNAL, SEALED_SOURCE], ids=["inline", "external", "sealed"])
def test_a_deployed_redis_uses_the_password_the_secret_source_fills(source):
    assert _redis_password_ref(_with_password(source)) == {"name": "oauth2-proxy", "key": "redis-password"}


@pytest.mark.parametrize(
    "source", [INLINE, EXTERNAL, SEALED_SOURCE, None], ids=["inline", "external", "sealed", "existing"]
)
def test_a_secret_source_without_a_redis_password_gives_the_deployed_redis_none(source):
    assert _redis_password_ref(source) is None
