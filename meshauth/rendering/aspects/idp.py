"""What the identity provider asks of oauth2-proxy: the provider type, groups, and logout.

The preset (:mod:`meshauth.config.presets`) says what the provider supports; this module turns it into
oauth2-proxy flags for the chosen release (every flag checked against :mod:`meshauth.compat.proxyflags`)
and into warnings where the configured pieces will not work together at runtime.

Logout: ``/oauth2/sign_out`` on any app host clears oauth2-proxy's cookie (behind Istio the request
reaches oauth2-proxy through the CUSTOM policy like every other path, and its 302 reaches the
browser). It then redirects to ``rd`` when that URL's host is whitelisted, so meshauth whitelists the
host of the IdP's end-session endpoint: ``/oauth2/sign_out?rd=<end-session URL>`` ends the IdP
session in the browser. Where the IdP ends a session on a server-side call with ``id_token_hint``
(Keycloak), oauth2-proxy does it itself with ``--backend-logout-url`` (v7.6.0 and newer).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from meshauth.compat import proxyflags
from meshauth.config.presets import PRESETS, Preset
from meshauth.findings import Finding

if TYPE_CHECKING:
    from meshauth.config.model import Spec

OIDC_DEFAULT_GROUPS_CLAIM = "groups"  # oauth2-proxy's --oidc-groups-claim default


def preset(spec: Spec) -> Preset:
    return PRESETS[spec.identity.preset]


def provider(spec: Spec) -> str:
    """``--provider``: the preset's preferred one when the release has it, else ``oidc``."""
    return preset(spec).provider_for(spec.oauth2_proxy.version)


def backend_logout_url(spec: Spec) -> str | None:
    """``--backend-logout-url`` (``{id_token}`` is oauth2-proxy's placeholder), or None."""
    wanted = spec.oauth2_proxy.logout.backend
    end_session = spec.identity.end_session
    if wanted is False or end_session is None:
        return None
    if wanted is None and not preset(spec).backend_logout:
        return None
    if "backend-logout-url" not in proxyflags.flags_for(spec.oauth2_proxy.version):
        return None  # logout.backend: true on an older release is refused by the config
    separator = "&" if "?" in end_session else "?"
    return f"{end_session}{separator}id_token_hint={{id_token}}"


def flags(spec: Spec) -> list[tuple[str, Any]]:
    claim = spec.identity.groups_claim_name
    found: list[tuple[str, Any]] = []
    if claim and claim != OIDC_DEFAULT_GROUPS_CLAIM:
        found.append(("oidc-groups-claim", claim))
    logout = backend_logout_url(spec)
    if logout:
        found.append(("backend-logout-url", logout))
    return found


def end_session_host(spec: Spec) -> str | None:
    """The host ``/oauth2/sign_out?rd=`` may redirect to, when logout.endSession wants one."""
    end_session = spec.identity.end_session
    if not spec.oauth2_proxy.logout.end_session or end_session is None:
        return None
    return urlsplit(end_session).hostname


def whitelist_domains(spec: Spec) -> list[str]:
    """``--whitelist-domain``: the configured list, or every app host and the end-session host."""
    configured = spec.oauth2_proxy.whitelist_domains
    if configured:
        return list(configured)
    host = end_session_host(spec)
    return list(dict.fromkeys([*spec.hosts(), *([host] if host else [])]))


def warnings(spec: Spec) -> Iterator[Finding]:
    yield from _provider_fallback(spec)
    yield from _groups_scope(spec)
    yield from _logout(spec)


def _provider_fallback(spec: Spec) -> Iterator[Finding]:
    wanted, chosen = preset(spec).provider, provider(spec)
    if wanted != chosen:
        yield Finding(
            "MA063",
            "warning",
            f"meshauth uses --provider={wanted} from oauth2-proxy {preset(spec).provider_since()}, "
            f"not in {spec.oauth2_proxy.version}; using {chosen}, which logs in and checks the "
            f"ID token the same way but lacks {preset(spec).provider_extras or 'its extras'}; pin "
            f"{preset(spec).provider_since()} or newer in oauth2Proxy.version to use it",
            path="spec.oauth2Proxy.version",
        )


def _groups_scope(spec: Spec) -> Iterator[Finding]:
    scopes = preset(spec).groups_scopes
    missing = [s for s in scopes if s not in spec.identity.scopes]
    uses_groups = any(app.authorization and app.authorization.groups for app in spec.apps)
    if uses_groups and missing and spec.identity.groups_claim is None:
        yield Finding(
            "MA061",
            "warning",
            f"apps authorize by groups, but {spec.identity.preset} puts the groups claim into "
            f"tokens only for the scope {', '.join(missing)}; without it nobody matches a group "
            f"rule: add {', '.join(missing)} to identity.scopes",
            path="spec.identity.scopes",
        )


def _logout(spec: Spec) -> Iterator[Finding]:
    logout = spec.oauth2_proxy.logout
    if (
        logout.backend is None
        and preset(spec).backend_logout
        and spec.identity.end_session
        and "backend-logout-url" not in proxyflags.flags_for(spec.oauth2_proxy.version)
    ):
        yield Finding(
            "MA064",
            "warning",
            f"oauth2-proxy {spec.oauth2_proxy.version} has no --backend-logout-url (from v7.6.0): "
            f"/oauth2/sign_out clears oauth2-proxy's cookie but the {spec.identity.preset} session "
            "stays, and the next visit logs the user in again without a prompt",
            path="spec.oauth2Proxy.version",
        )
    host = end_session_host(spec)
    configured = spec.oauth2_proxy.whitelist_domains
    if host and configured and not any(_allows(entry, host) for entry in configured):
        yield Finding(
            "MA065",
            "warning",
            f"the IdP's end-session host {host} is not in whitelistDomains: "
            "/oauth2/sign_out?rd=<end-session URL> falls back to / instead of ending the IdP "
            "session; add it, or set logout.endSession: false",
            path="spec.oauth2Proxy.whitelistDomains",
        )


def _allows(entry: str, host: str) -> bool:
    """oauth2-proxy's whitelist: exact host, or ``.domain`` / ``*.domain`` for subdomains."""
    name = entry.split(":", 1)[0]
    if name.startswith("*."):
        return host.endswith(name[1:])
    if name.startswith("."):
        return host.endswith(name) or host == name[1:]
    return name == host
