"""Identity-provider presets: what each provider fixes, and what meshauth can derive from it.

A preset may fix the issuer (Google, gitlab.com), build it from a parameter (Entra ID's tenant,
Keycloak's server URL and realm), derive the JWKS URI and the end-session (logout) endpoint from the
issuer by the provider's documented pattern, and knows which oauth2-proxy ``--provider`` fits each
release, which claim carries groups and which scope that claim needs, and the ID-token lifetime
where the provider documents one. The data is plain and lives here; the config, the plan and
:mod:`meshauth.rendering.aspects.proxyargs` consume it. ``docs/presets/<name>.md`` explains each preset and its caveats.

Sources (upstream documentation, read for this table):

* Google: ``https://accounts.google.com/.well-known/openid-configuration`` (no end_session_endpoint);
  ID tokens carry no groups claim ("hd" names a Workspace domain); ID tokens live 1 h.
* Entra ID: issuer ``https://login.microsoftonline.com/{tenant-id}/v2.0`` (the tenant *ID*: the
  discovery document of a tenant domain names the GUID); groups claim holds object IDs and is left
  out above 200 groups (overage); ID tokens live 1 h by default. oauth2-proxy ``entra-id`` provider
  from v7.8.0 (#2390), ``docs/configuration/providers/ms_entra_id.md``.
* Keycloak: issuer ``{server}/realms/{realm}`` (``{server}/auth/realms/{realm}`` before Keycloak
  17), JWKS ``/protocol/openid-connect/certs``, end session ``/protocol/openid-connect/logout``;
  ID tokens live as long as access tokens (realm "Access Token Lifespan", 300 s by default); groups
  come from a "Group Membership" mapper, usually in a client scope named ``groups``. oauth2-proxy
  ``keycloak-oidc`` from v7.2.0 (#1210), whose docs show ``--backend-logout-url`` with
  ``id_token_hint={id_token}``.
* Okta: custom authorization servers ``https://{domain}/oauth2/{id}`` (keys at ``/v1/keys``), the
  org authorization server ``https://{domain}`` (keys at ``/oauth2/v1/keys``); ID tokens live 60 min
  (fixed on the org server); the groups claim must be configured and is requested with ``groups``.
* Auth0: issuer ``https://{domain}/`` *with* the trailing slash, keys at
  ``/.well-known/jwks.json``, RP-initiated logout at ``/oidc/logout``; ID tokens live 36000 s by
  default; custom claims (groups) must be namespaced and added by an Action.
* GitLab: ``https://gitlab.com`` or the instance URL, keys at ``/oauth/discovery/keys``; the ID
  token carries ``groups_direct`` (``groups`` only at userinfo) and lives 120 s (Doorkeeper's
  default; self-managed: ``openid_id_token_expire_in_seconds``). oauth2-proxy's ``gitlab`` provider
  is built on its OIDC provider from v7.2.0 (#1239).
* Dex: the configured issuer, keys at ``/keys``; groups need the ``groups`` scope; ID tokens live
  24 h by default (``expiry.idTokens``); no end_session_endpoint.

Typical token sizes (``token_bytes``: ID + access + refresh token text for a user without groups)
are rough measurements of real tokens, used only to warn that a cookie session may pass 4 KB.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from meshauth.compat import proxyflags

_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_AZURE_ISSUER = re.compile(r"^(https://[^/]+)/([^/]+)/v2\.0$")
_MULTI_TENANT = ("common", "organizations", "consumers")


class PresetError(ValueError):
    """A preset parameter that cannot work; ``field`` names the identity key at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Preset:
    name: str
    title: str
    issuer: str | None = None  # fixed issuer (default), or a pattern with {tenant} / {server} {realm}
    jwks: str | None = None  # pattern: {base} (issuer, no trailing slash), {origin}, {tenant}
    end_session: str | None = None  # RP-initiated logout endpoint, same placeholders
    provider: str = "oidc"  # preferred oauth2-proxy --provider; "oidc" where the release lacks it
    provider_extras: str = ""  # what that provider adds over oidc
    provider_from: str | None = None  # first release meshauth uses it in, if later than it exists
    groups_claim: str | None = "groups"  # None: the ID token carries no groups
    groups_scopes: tuple[str, ...] = ()  # scopes the groups claim needs
    id_token_lifetime_seconds: int | None = None  # the provider's documented default
    backend_logout: bool = False  # its end-session endpoint takes a server-side id_token_hint call
    needs_tenant: bool = False
    uses_realm: bool = False
    issuer_trailing_slash: bool = False
    org_server_path: str | None = None  # Okta: endpoints of the org server live under /oauth2
    token_bytes: int | None = None  # typical ID + access + refresh token text, no groups
    group_claim_copies: int = 1  # how many of those tokens repeat the groups claim
    group_bytes: int = 24  # typical bytes per group entry in a token

    # --- issuer ------------------------------------------------------------------------------

    def issuer_for(
        self,
        tenant: str | None = None,
        realm: str | None = None,
        server_url: str | None = None,
    ) -> str | None:
        """The issuer the preset's parameters give, or None when they give none."""
        if self.needs_tenant:
            return self.issuer.format(tenant=tenant) if self.issuer and tenant else None
        if self.uses_realm:
            if realm and server_url:
                return f"{server_url.rstrip('/')}/realms/{realm}"
            return None
        return self.issuer

    def normalize_issuer(self, issuer: str) -> str:
        """Auth0 writes its issuer with a trailing slash; tokens carry exactly that."""
        if self.issuer_trailing_slash and not issuer.endswith("/"):
            return issuer + "/"
        return issuer

    # --- endpoints derived from the issuer ---------------------------------------------------

    def _fill(self, pattern: str | None, issuer: str, tenant: str | None) -> str | None:
        if pattern is None:
            return None
        base = issuer.rstrip("/")
        if self.org_server_path and f"{self.org_server_path}/" not in urlsplit(base).path + "/":
            base += self.org_server_path
        if self.needs_tenant:
            match = _AZURE_ISSUER.match(base)
            if tenant is None and match is None:
                return None
            origin, tenant = (
                (match.group(1), match.group(2)) if match else ("https://login.microsoftonline.com", tenant)
            )
        else:
            parts = urlsplit(base)
            origin = f"{parts.scheme}://{parts.netloc}"
        return pattern.format(base=base, origin=origin, tenant=tenant)

    def jwks_for(self, issuer: str, tenant: str | None = None) -> str | None:
        return self._fill(self.jwks, issuer, tenant)

    def end_session_for(self, issuer: str, tenant: str | None = None) -> str | None:
        return self._fill(self.end_session, issuer, tenant)

    # --- oauth2-proxy ------------------------------------------------------------------------

    def provider_since(self) -> str:
        """The first release in which meshauth picks the preferred provider."""
        since = proxyflags.provider_since(self.provider) or proxyflags.LATEST
        later = self.provider_from or since
        return max(since, later, key=proxyflags.parse_version)

    def provider_for(self, version: str) -> str:
        """The ``--provider`` for that release: the preferred one if the release has it, else oidc."""
        wanted = min(proxyflags.parse_version(version), proxyflags.parse_version(proxyflags.LATEST))
        usable = proxyflags.has_provider(version, self.provider)
        if usable and wanted >= proxyflags.parse_version(self.provider_since()):
            return self.provider
        return "oidc"


def check_parameters(
    preset: Preset,
    *,
    issuer_url: str | None,
    tenant: str | None,
    realm: str | None,
    server_url: str | None,
) -> None:
    """Refuse preset parameters that cannot produce tokens Istio and oauth2-proxy accept."""
    if tenant is not None and not preset.needs_tenant:
        raise PresetError("tenant", f"is only used with preset azure, not {preset.name}")
    for field, value in (("realm", realm), ("serverUrl", server_url)):
        if value is not None and not preset.uses_realm:
            raise PresetError(field, f"is only used with preset keycloak, not {preset.name}")
    if preset.needs_tenant:
        _check_tenant(preset, issuer_url, tenant)
    if preset.uses_realm:
        _check_realm(preset, issuer_url, realm, server_url)


def _check_tenant(preset: Preset, issuer_url: str | None, tenant: str | None) -> None:
    if tenant in _MULTI_TENANT or (issuer_url and _tenant_of(issuer_url) in _MULTI_TENANT):
        raise PresetError(
            "tenant" if tenant else "issuerUrl",
            "multi-tenant endpoints (common, organizations, consumers) issue tokens under each "
            "user's own tenant, and a RequestAuthentication checks one fixed issuer: give the tenant "
            "ID of your organization",
        )
    if tenant is not None and not _GUID.match(tenant):
        raise PresetError(
            "tenant",
            "must be the tenant ID, a GUID such as 72f988bf-86f1-41af-91ab-2d7cd011db47: Entra ID "
            "names the tenant by its ID in the token's iss (and in its discovery document), so a "
            "tenant domain never matches; `meshauth discover https://login.microsoftonline.com/"
            "<domain>/v2.0` shows the ID",
        )
    if tenant is not None and issuer_url is not None and issuer_url != preset.issuer_for(tenant):
        raise PresetError("tenant", "does not match issuerUrl; give one of them")


def _check_realm(preset: Preset, issuer_url: str | None, realm: str | None, server_url: str | None) -> None:
    if (realm is None) != (server_url is None):
        missing = "serverUrl" if server_url is None else "realm"
        raise PresetError(
            missing,
            "required with realm/serverUrl: Keycloak's issuer is <serverUrl>/realms/<realm> "
            "(or give the whole issuerUrl)",
        )
    derived = preset.issuer_for(realm=realm, server_url=server_url)
    if derived and issuer_url and issuer_url.rstrip("/") != derived:
        raise PresetError(
            "issuerUrl",
            f"does not match serverUrl and realm ({derived}); give issuerUrl, or serverUrl with realm",
        )


def _tenant_of(issuer_url: str) -> str | None:
    match = _AZURE_ISSUER.match(issuer_url.rstrip("/"))
    return match.group(2) if match else None


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            "google",
            "Google",
            issuer="https://accounts.google.com",
            jwks="https://www.googleapis.com/oauth2/v3/certs",
            groups_claim=None,
            id_token_lifetime_seconds=3600,
            token_bytes=1300,
        ),
        Preset(
            "azure",
            "Microsoft Entra ID (v2.0 endpoints)",
            issuer="https://login.microsoftonline.com/{tenant}/v2.0",
            jwks="{origin}/{tenant}/discovery/v2.0/keys",
            end_session="{origin}/{tenant}/oauth2/v2.0/logout",
            provider="entra-id",
            provider_extras="group overage through Microsoft Graph and multi-tenant checks",
            id_token_lifetime_seconds=3600,
            needs_tenant=True,
            token_bytes=5300,
            group_bytes=39,
        ),
        Preset(
            "dex",
            "Dex",
            jwks="{base}/keys",
            groups_scopes=("groups",),
            id_token_lifetime_seconds=86400,
            token_bytes=2100,
            group_claim_copies=2,
        ),
        Preset(
            "keycloak",
            "Keycloak",
            jwks="{base}/protocol/openid-connect/certs",
            end_session="{base}/protocol/openid-connect/logout",
            provider="keycloak-oidc",
            provider_extras="--allowed-role for realm and client roles",
            groups_scopes=("groups",),
            id_token_lifetime_seconds=300,
            backend_logout=True,
            uses_realm=True,
            token_bytes=3500,
            group_claim_copies=2,
        ),
        Preset(
            "okta",
            "Okta",
            jwks="{base}/v1/keys",
            end_session="{base}/v1/logout",
            groups_scopes=("groups",),
            id_token_lifetime_seconds=3600,
            org_server_path="/oauth2",
            token_bytes=1900,
        ),
        Preset(
            "auth0",
            "Auth0",
            jwks="{base}/.well-known/jwks.json",
            end_session="{base}/oidc/logout",
            groups_claim=None,
            id_token_lifetime_seconds=36000,
            issuer_trailing_slash=True,
            token_bytes=1500,
        ),
        Preset(
            "gitlab",
            "GitLab",
            issuer="https://gitlab.com",
            jwks="{base}/oauth/discovery/keys",
            provider="gitlab",
            provider_extras="--gitlab-group and --gitlab-project restrictions",
            provider_from="v7.2.0",  # OIDC-based from #1239; group checks broken in v7.0.0
            groups_claim="groups_direct",
            id_token_lifetime_seconds=120,
            token_bytes=900,
        ),
        Preset("generic", "Any OpenID Connect provider"),
    )
}
PRESET_NAMES = tuple(PRESETS)
