"""The ``secret`` section: where oauth2-proxy's client and cookie secrets come from.

Four sources, told apart by ``source``: a Secret you create, inline values (plain text in Git),
an ExternalSecret or a SealedSecret. Inline values are masked in every dump unless the caller asks
with :data:`REVEAL_SECRETS`.
"""

from __future__ import annotations

import base64
import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    Field,
    FieldSerializationInfo,
    SecretStr,
    Tag,
    field_serializer,
    field_validator,
    model_validator,
)

from meshauth.config.base import At, Model, discriminator
from meshauth.config.fieldtypes import DnsSubdomain, Duration, Text

REVEAL_SECRETS = "meshauth.reveal_secrets"  # serialization context key; see InlineValues._masked

_URLSAFE_BASE64 = re.compile(r"[A-Za-z0-9_-]*")  # Go's RawURLEncoding alphabet


def cookie_secret_length(secret: str) -> int:
    """The cookie secret's length in bytes as oauth2-proxy reads it.

    oauth2-proxy takes the decoding of the secret, trailing ``=`` removed, as unpadded URL-safe
    base64 when it has an AES key length (16, 24, 32) and the raw string otherwise
    (``pkg/encryption/utils.go`` SecretBytes). Go's ``RawURLEncoding`` skips line breaks and fails
    on any other character outside ``A-Za-z0-9-_``: the ``+`` and ``/`` of standard base64 (``openssl
    rand -base64``) make oauth2-proxy read the raw string.
    """
    data = secret.rstrip("=").replace("\r", "").replace("\n", "")
    decoded = b""
    if _URLSAFE_BASE64.fullmatch(data):
        try:
            decoded = base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))
        except ValueError:  # 4n + 1 characters: no base64 is that long
            decoded = b""
    if len(decoded) in (16, 24, 32):
        return len(decoded)
    return len(secret.encode())


class InlineValues(Model):
    client_secret: SecretStr = Field(min_length=1, description="The OIDC client secret.")
    cookie_secret: SecretStr = Field(
        description="16, 24 or 32 bytes, raw or URL-safe base64 (meshauth cookie-secret prints one)."
    )
    redis_password: SecretStr | None = Field(
        None, description="Password of the Redis session store (key redis-password)."
    )

    @field_serializer("client_secret", "cookie_secret", "redis_password")
    def _masked(self, value: SecretStr | None, info: FieldSerializationInfo) -> Any:
        """Masked (``**********``) in every dump, unless the caller asks with REVEAL_SECRETS
        (only :func:`meshauth.config.load.load_config`, to re-validate a model with overlays)."""
        if value is None or not (info.context or {}).get(REVEAL_SECRETS):
            return value  # pydantic writes a SecretStr as ********** in JSON, keeps it in Python
        return value.get_secret_value()

    @field_validator("cookie_secret")
    @classmethod
    def _cookie_secret_length(cls, value: SecretStr) -> SecretStr:
        if cookie_secret_length(value.get_secret_value()) not in (16, 24, 32):
            raise ValueError(
                "must be 16, 24 or 32 bytes, raw or URL-safe base64 encoded "
                "(generate one with: meshauth cookie-secret)"
            )
        return value


class SecretBase(Model):
    name: DnsSubdomain = Field(
        "oauth2-proxy",
        description="The Secret (keys client-secret, cookie-secret) in the oauth2-proxy namespace.",
    )


class ExistingSecret(SecretBase):
    source: Literal["existing"] = Field(
        "existing", description="Reference a Secret you create; meshauth renders none."
    )


class InlineSecret(SecretBase):
    source: Literal["inline"] = Field(description="Render a plain Secret from `inline`.")
    allow_plaintext: bool = Field(
        False, description="Must be true: inline values end up as plain text in Git."
    )
    inline: InlineValues = Field(description="The secret values (plain text in the output).")

    @model_validator(mode="after")
    def _plaintext_allowed(self) -> InlineSecret:
        if not self.allow_plaintext:
            raise At(
                ("allowPlaintext",),
                "source inline writes the client and cookie secrets into the manifests as plain "
                "text; set allowPlaintext: true (or pass --allow-plaintext-secrets) to accept that, "
                "or use existing, external-secrets or sealed-secrets",
            )
        return self


class RemoteRef(Model):
    key: Text = Field(min_length=1, description="The key in the external store.")
    property: Text | None = Field(None, description="A property inside that key, if any.")


class ExternalSecretData(Model):
    client_secret: RemoteRef = Field(description="Where the client secret is stored.")
    cookie_secret: RemoteRef = Field(description="Where the cookie secret is stored.")
    redis_password: RemoteRef | None = Field(
        None, description="Password of the Redis session store (key redis-password)."
    )


class StoreRef(Model):
    name: DnsSubdomain = Field(description="Name of the SecretStore or ClusterSecretStore.")
    kind: Literal["SecretStore", "ClusterSecretStore"] = Field(
        "ClusterSecretStore", description="A SecretStore must be in the oauth2-proxy namespace."
    )


class ExternalSecretSpec(Model):
    store_ref: StoreRef = Field(description="The store the External Secrets Operator reads.")
    refresh_interval: Duration = Field("1h", description="How often the Secret is refreshed.")
    data: ExternalSecretData = Field(description="Where each secret value is stored.")


class ExternalSecretsSecret(SecretBase):
    source: Literal["external-secrets"] = Field(
        description="Render an external-secrets.io/v1 ExternalSecret that produces the Secret."
    )
    external_secret: ExternalSecretSpec = Field(description="The ExternalSecret to render.")


SECRET_KEYS = ("client-secret", "cookie-secret")  # what the oauth2-proxy Deployment always reads
REDIS_PASSWORD_KEY = "redis-password"  # read (optionally) with a Redis session store


def _sealed_key(key: str) -> str:
    if key not in (*SECRET_KEYS, REDIS_PASSWORD_KEY):
        raise ValueError("unknown key; the sealed keys are client-secret, cookie-secret and redis-password")
    return key


SealedKey = Annotated[str, AfterValidator(_sealed_key)]

SEALED_MIN_LENGTH = 256
"""kubeseal's output is base64 of an RSA-encrypted session key (256 bytes with a 2048-bit key, 512
with the controller's default 4096-bit one) plus the AES-GCM ciphertext: never shorter than this."""
_BASE64 = re.compile(r"^[A-Za-z0-9+/]*={0,2}\Z")


def _sealed_value(value: str) -> str:
    """A value kubeseal sealed; plain text pasted here would be rendered in the clear (never printed)."""
    if not _BASE64.match(value) or len(value) % 4:
        raise ValueError(
            "is not a sealed value (not base64): paste the output of kubeseal --raw, not the "
            "secret itself; the value is not shown here"
        )
    if len(value) < SEALED_MIN_LENGTH:
        raise ValueError(
            f"is too short to be a sealed value (kubeseal's output is at least {SEALED_MIN_LENGTH} "
            "characters, starting with Ag): paste the output of kubeseal --raw, not the secret "
            "itself; the value is not shown here"
        )
    return value


SealedValue = Annotated[Text, Field(min_length=1), AfterValidator(_sealed_value)]


class SealedValues(Model):
    encrypted_data: dict[SealedKey, SealedValue] = Field(
        description="kubeseal's output for the keys client-secret and cookie-secret, sealed for "
        "this Secret's name and namespace."
    )

    @field_validator("encrypted_data")
    @classmethod
    def _both_keys(cls, value: dict[str, str]) -> dict[str, str]:
        missing = {"client-secret", "cookie-secret"} - set(value)
        if missing:
            raise ValueError(
                f"needs the sealed keys client-secret and cookie-secret (missing {', '.join(sorted(missing))})"
            )
        return value


class SealedSecretsSecret(SecretBase):
    source: Literal["sealed-secrets"] = Field(
        description="Render a bitnami.com/v1alpha1 SealedSecret that produces the Secret."
    )
    sealed: SealedValues = Field(description="The SealedSecret's encrypted values.")


SecretSource = Annotated[
    Annotated[ExistingSecret, Tag("existing")]
    | Annotated[InlineSecret, Tag("inline")]
    | Annotated[ExternalSecretsSecret, Tag("external-secrets")]
    | Annotated[SealedSecretsSecret, Tag("sealed-secrets")],
    discriminator("source", "existing"),
]


def fills_redis_password(secret: SecretBase) -> bool:
    """Whether the source writes the ``redis-password`` key into the Secret it makes."""
    if isinstance(secret, InlineSecret):
        return secret.inline.redis_password is not None
    if isinstance(secret, ExternalSecretsSecret):
        return secret.external_secret.data.redis_password is not None
    if isinstance(secret, SealedSecretsSecret):
        return REDIS_PASSWORD_KEY in secret.sealed.encrypted_data
    return False
