"""Identity-provider presets: what each provider fixes or lets meshauth derive.

A preset may fix the issuer (Google), build it from a tenant (Entra ID), or derive the JWKS URI from
the issuer by the provider's documented pattern. Where a provider's JWKS location is not a fixed
pattern, the preset leaves ``jwksUri`` to the config.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

IssuerFn = Callable[[Optional[str]], Optional[str]]


@dataclass(frozen=True)
class Preset:
    name: str
    issuer: Optional[str] = None  # fixed issuer (or a pattern with {tenant})
    jwks: Optional[str] = None  # pattern with {issuer} (issuer without trailing slash) or {tenant}
    oauth2_proxy_provider: str = "oidc"
    id_token_lifetime_seconds: Optional[int] = None  # when the provider documents a fixed one
    needs_tenant: bool = False

    def issuer_for(self, tenant: Optional[str]) -> Optional[str]:
        if self.issuer is None:
            return None
        return self.issuer.format(tenant=tenant) if self.needs_tenant and tenant else (
            None if self.needs_tenant else self.issuer
        )

    def jwks_for(self, issuer: str, tenant: Optional[str]) -> Optional[str]:
        if self.jwks is None or (self.needs_tenant and not tenant):
            return None
        return self.jwks.format(issuer=issuer.rstrip("/"), tenant=tenant)


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            "google",
            issuer="https://accounts.google.com",
            jwks="https://www.googleapis.com/oauth2/v3/certs",
            id_token_lifetime_seconds=3600,
        ),
        Preset(
            "azure",
            issuer="https://login.microsoftonline.com/{tenant}/v2.0",
            jwks="https://login.microsoftonline.com/{tenant}/discovery/v2.0/keys",
            needs_tenant=True,
        ),
        Preset("dex", jwks="{issuer}/keys"),
        Preset("keycloak", jwks="{issuer}/protocol/openid-connect/certs"),
        Preset("okta", jwks="{issuer}/v1/keys"),
        Preset("auth0", jwks="{issuer}/.well-known/jwks.json"),
        Preset("gitlab", issuer="https://gitlab.com", jwks="{issuer}/oauth/discovery/keys"),
        Preset("generic"),
    )
}
PRESET_NAMES = tuple(PRESETS)
