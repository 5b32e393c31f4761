"""The ``identity`` section: the OIDC provider (through its preset) and the machine-token issuers.

A preset fixes or derives the issuer and the JWKS URI where the provider allows; what it derived is
left out of dumps, so that overlays derive it again.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    Field,
    PrivateAttr,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
    model_validator,
)
from pydantic.alias_generators import to_camel

from meshauth.config.base import At, Model, unique
from meshauth.config.fieldtypes import (
    ClaimName,
    DnsSubdomain,
    Duration,
    HeaderName,
    HttpUrl,
    Text,
    duration_seconds,
)
from meshauth.config.presets import PRESETS, PresetError, check_parameters


def _realm(value: str) -> str:
    if not 0 < len(value) <= 255 or not all(c.isascii() and (c.isalnum() or c in "-._") for c in value):
        raise ValueError("must be a Keycloak realm name: letters, digits, '-', '_' or '.'")
    return value


class ExtraIssuer(Model):
    issuer: HttpUrl = Field(description="The iss of the machine tokens, exactly as they carry it.")
    jwks_uri: HttpUrl = Field(description="Where that issuer publishes its signing keys.")
    audiences: list[Annotated[Text, Field(min_length=1)]] = Field(
        min_length=1, description="A token must name one of these in aud to be accepted."
    )


class BearerTokens(Model):
    """Requests with ``Authorization: Bearer <JWT>`` skip the browser login; Istio checks the token."""

    extra_issuers: list[ExtraIssuer] = Field(
        default_factory=list,
        description="Issuers of machine tokens besides identity.issuerUrl, each with its audiences.",
    )

    @field_validator("extra_issuers")
    @classmethod
    def _unique_issuers(cls, value: list[ExtraIssuer]) -> list[ExtraIssuer]:
        unique([((i, "issuer"), e.issuer) for i, e in enumerate(value)], "issuer {} is listed twice")
        return value


class Identity(Model):
    preset: Literal["google", "azure", "dex", "keycloak", "okta", "auth0", "gitlab", "generic"] = Field(
        "generic",
        description="The identity provider; a preset fixes or derives issuerUrl and jwksUri where "
        "the provider allows.",
    )
    issuer_url: HttpUrl | None = Field(None, description="Required unless the preset fixes it.")
    jwks_uri: HttpUrl | None = Field(None, description="Required unless the preset derives it.")
    client_id: Text = Field(min_length=1, description="OIDC client id; also the default audience.")
    scopes: list[Annotated[Text, Field(min_length=1)]] = Field(
        default_factory=lambda: ["openid", "email", "profile"],
        min_length=1,
        description="OIDC scopes oauth2-proxy asks for; must include openid.",
    )
    tenant: DnsSubdomain | None = Field(None, description="Entra ID tenant ID (a GUID) for preset azure.")
    realm: Annotated[Text, AfterValidator(_realm)] | None = Field(
        None, description="Keycloak realm; with serverUrl it gives the issuer (preset keycloak)."
    )
    server_url: HttpUrl | None = Field(
        None, description="Keycloak server URL (with /auth before Keycloak 17), used with realm."
    )
    groups_claim: ClaimName | None = Field(
        None,
        description="The claim that carries groups. Default: the preset's (groups; "
        "groups_direct for gitlab; none for google and auth0).",
    )
    id_token_lifetime: Duration | None = Field(
        None, description="The IdP's ID-token lifetime, if you changed it. Default: the preset's."
    )
    end_session_url: HttpUrl | None = Field(
        None, description="The IdP's end-session (logout) endpoint. Default: the preset's."
    )
    bearer_tokens: BearerTokens | None = Field(
        None, description="Machine-to-machine access with bearer tokens (omit: browsers only)."
    )
    claim_headers: dict[HeaderName, ClaimName] = Field(
        default_factory=dict,
        description="Header -> claim: each app receives these headers with the values of its "
        "verified token (RequestAuthentication outputClaimToHeaders, Istio 1.17+); a client's own "
        "copies are removed on every path.",
    )
    _derived: set[str] = PrivateAttr(default_factory=set)

    @model_validator(mode="after")
    def _derive_from_preset(self) -> Identity:
        preset = PRESETS[self.preset]
        try:
            check_parameters(
                preset,
                issuer_url=self.issuer_url,
                tenant=self.tenant,
                realm=self.realm,
                server_url=self.server_url,
            )
        except PresetError as error:
            raise At((error.field,), str(error)) from None
        if self.issuer_url is None:
            self.issuer_url = preset.issuer_for(self.tenant, self.realm, self.server_url)
            self._derived.add("issuer_url")
        if self.issuer_url is None:
            hint = {"azure": " (or tenant)", "keycloak": " (or serverUrl and realm)"}
            raise At(("issuerUrl",), f"required{hint.get(self.preset, '')} with preset {self.preset}")
        self.issuer_url = preset.normalize_issuer(self.issuer_url)
        if self.jwks_uri is None:
            self.jwks_uri = preset.jwks_for(self.issuer_url, self.tenant)
            self._derived.add("jwks_uri")
        if self.jwks_uri is None:
            raise At(("jwksUri",), f"required with preset {self.preset}")
        if "openid" not in self.scopes:
            raise At(("scopes",), "must include openid, or the IdP returns no ID token to check")
        for i, extra in enumerate(self.bearer_tokens.extra_issuers if self.bearer_tokens else ()):
            if extra.issuer == self.issuer_url:
                raise At(
                    ("bearerTokens", "extraIssuers", i, "issuer"),
                    "is identity.issuerUrl, whose tokens are accepted already",
                )
        return self

    @model_serializer(mode="wrap")
    def _without_derived(self, handler: SerializerFunctionWrapHandler) -> Any:
        """Dump what the config says, not what the preset derived (so overlays re-derive it)."""
        data = handler(self)
        if isinstance(data, dict):
            for name in self._derived:
                data.pop(name, None)
                data.pop(to_camel(name), None)
        return data

    @property
    def groups_claim_name(self) -> str | None:
        return self.groups_claim or PRESETS[self.preset].groups_claim

    @property
    def id_token_lifetime_seconds(self) -> int | None:
        if self.id_token_lifetime is not None:
            return int(duration_seconds(self.id_token_lifetime))
        return PRESETS[self.preset].id_token_lifetime_seconds

    @property
    def end_session(self) -> str | None:
        if self.end_session_url is not None:
            return self.end_session_url
        assert self.issuer_url is not None
        return PRESETS[self.preset].end_session_for(self.issuer_url, self.tenant)

    def issuers(self) -> list[str]:
        """Every issuer whose tokens are accepted: the login's, then the machine-token issuers."""
        assert self.issuer_url is not None
        extra = self.bearer_tokens.extra_issuers if self.bearer_tokens else []
        return [self.issuer_url, *(e.issuer for e in extra)]
