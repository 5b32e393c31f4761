"""oauth2-proxy's command line as meshauth drives it: the flags meshauth sets itself (and the config
field that decides each), the flags that take a secret, the defaults, and the check of ``extraArgs``
against a release's flags (:mod:`meshauth.compat.proxyflags`).

The config validates ``extraArgs`` with :func:`extra_arg_problems`; the command line itself is
built in :mod:`meshauth.rendering.aspects.proxyargs`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from meshauth.compat import proxyflags

# Flags meshauth sets itself, and the config field that decides each.
MANAGED_FLAGS: Mapping[str, str] = {
    "http-address": "fixed to 0.0.0.0:4180 (the mesh reaches the proxy there)",
    "upstream": "fixed to static://200 (Envoy's check needs a 200)",
    "reverse-proxy": "fixed to true (the proxy sits behind the gateway)",
    "provider": "identity.preset",
    "oidc-issuer-url": "identity.issuerUrl",
    "client-id": "identity.clientId",
    "client-secret": "secret",
    "cookie-secret": "secret",
    "client-secret-file": "secret (mounted as a file where the release can read it)",
    "cookie-secret-file": "secret (mounted as a file where the release can read it)",
    "scope": "identity.scopes",
    "email-domain": "oauth2Proxy.emailDomains",
    "cookie-name": "oauth2Proxy.cookie.name",
    "cookie-secure": "oauth2Proxy.cookie.secure",
    "cookie-samesite": "oauth2Proxy.cookie.sameSite",
    "cookie-refresh": "oauth2Proxy.cookie.refresh",
    "cookie-expire": "oauth2Proxy.cookie.expire",
    "cookie-domain": "oauth2Proxy.cookie.domains",
    "whitelist-domain": "oauth2Proxy.whitelistDomains",
    "set-authorization-header": "fixed to true (the gateway checks the ID token)",
    "set-xauthrequest": "fixed to true (identity headers for the apps)",
    "session-store-type": "oauth2Proxy.sessionStore",
    "redis-connection-url": "oauth2Proxy.sessionStore.url",
    "redis-password": "oauth2Proxy.sessionStore.passwordSecret (never a flag: it would show the password)",
    "redis-username": "oauth2Proxy.sessionStore.username",
    "redis-use-sentinel": "oauth2Proxy.sessionStore.sentinel",
    "redis-sentinel-master-name": "oauth2Proxy.sessionStore.sentinel.masterName",
    "redis-sentinel-connection-urls": "oauth2Proxy.sessionStore.sentinel.urls",
    "redis-sentinel-password": "oauth2Proxy.sessionStore.sentinel.passwordSecret",
    "redis-use-cluster": "oauth2Proxy.sessionStore.cluster",
    "redis-cluster-connection-urls": "oauth2Proxy.sessionStore.cluster.urls",
    "oidc-groups-claim": "identity.groupsClaim (the same claim the apps' group rules read)",
    "backend-logout-url": "oauth2Proxy.logout.backend and identity.endSessionUrl",
    "skip-jwt-bearer-tokens": "identity.bearerTokens",
    "extra-jwt-issuers": "identity.bearerTokens.extraIssuers",
}


# Flags whose value is a secret: as extraArgs they would be plain text in the Deployment (and in Git).
SECRET_FLAGS: Mapping[str, str] = {
    "redis-password": "put it into the Secret under the key redis-password instead",
    "redis-sentinel-password": "use a Redis the password of which is in the Secret (redis-password)",
    "basic-auth-password": "meshauth does not pass basic-auth credentials to the apps",
    "github-token": "meshauth does not support it; use group claims in the ID token instead",
    "jwt-key": "meshauth does not support it; use the client secret",
    "signature-key": "meshauth does not support it",
}

# Flags meshauth sets unless extraArgs says otherwise.
DEFAULTS: Mapping[str, Any] = {"skip-provider-button": True}


def extra_arg_problems(version: str, extra_args: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(flag, message) for every extraArgs entry that oauth2-proxy ``version`` would not accept."""
    available = proxyflags.flags_for(version)
    for flag in sorted(extra_args):
        name = flag.removeprefix("--")
        if name != flag:
            yield flag, f"write the flag without leading dashes ({name})"
        elif name in MANAGED_FLAGS:
            yield flag, f"is set by meshauth: {MANAGED_FLAGS[name]}"
        elif name in SECRET_FLAGS:
            yield (
                flag,
                (
                    "takes a secret, which extraArgs would write into the Deployment as plain text; "
                    + SECRET_FLAGS[name]
                ),
            )
        elif name not in available:
            since = proxyflags.flag_since(name)
            detail = f" (it appeared in {since})" if since else ""
            yield flag, f"is not a flag of oauth2-proxy {version}{detail}"
        elif isinstance(extra_args[flag], list) and not proxyflags.is_list_flag(name):
            yield flag, "takes a single value, not a list"
        elif proxyflags.is_bool_flag(name) and not isinstance(extra_args[flag], bool):
            yield flag, "takes true or false"
        elif not proxyflags.is_bool_flag(name) and isinstance(extra_args[flag], bool):
            yield flag, "takes a value, not true or false"
