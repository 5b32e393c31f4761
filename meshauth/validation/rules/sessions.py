"""Rules on the login session: oauth2-proxy's cookie (domains, secret, refresh and expiry) and how long
the ID token it carries stays valid.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from meshauth.config.fieldtypes import duration_seconds
from meshauth.config.presets import PRESETS
from meshauth.k8s import (
    ID_TOKEN_LIFETIME,
    custom_policies,
    mapping,
    name_of,
    namespace_of,
    provider_name,
    sequence,
)
from meshauth.validation.rules.facts import Facts, Hit
from meshauth.validation.rules.policyparts import custom_hosts
from meshauth.validation.rules.proxycontainer import Proxy
from meshauth.validation.rules.proxysettings import (
    flag_path,
    proxy_for,
    proxy_issuer,
    same_issuer,
    secret_values,
    setting_values,
)

COOKIE_SECRET_KEYS = ("cookie-secret", "cookie_secret", "cookieSecret", "OAUTH2_PROXY_COOKIE_SECRET")


def hosts_within_proxy_domains(facts: Facts) -> Iterator[Hit]:
    """A host that a CUSTOM policy sends to oauth2-proxy does not end with any
    `--cookie-domain` (the browser drops the session cookie: login loops), or matches no
    `--whitelist-domain` (oauth2-proxy refuses to redirect back after login). Checked only when the
    flags are set: without them oauth2-proxy uses the request's own host.

    Fix: add a cookie domain the host ends with, and the host (or `.parent.domain`) to
    `--whitelist-domain`.
    """
    for policy in custom_policies(facts.of_kind("AuthorizationPolicy")):
        proxy = proxy_for(facts, provider_name(policy))
        if proxy is None:
            continue
        cookie_domains, whitelist = proxy.values("cookie-domain"), proxy.values("whitelist-domain")
        exact = {d.split(":")[0].lstrip(".") for d in whitelist}
        parents = [d.split(":")[0].lstrip(".") for d in whitelist if d.startswith(".")]
        for host in custom_hosts(facts, policy):
            if cookie_domains and not host.endswith(tuple(cookie_domains)):
                yield (
                    proxy.workload,
                    flag_path(proxy, "cookie-domain"),
                    (
                        f"app host {host} is not within any --cookie-domain ({', '.join(cookie_domains)}): "
                        "the browser rejects the session cookie and login loops. Add a cookie domain "
                        f"that {host} ends with"
                    ),
                )
            if whitelist and host not in exact and not host.endswith(tuple(parents)):
                yield (
                    proxy.workload,
                    flag_path(proxy, "whitelist-domain"),
                    (
                        f"app host {host} is not within any --whitelist-domain ({', '.join(whitelist)}): "
                        "oauth2-proxy refuses to redirect back to it after login. Add it (or a parent "
                        "domain with a leading dot) to --whitelist-domain"
                    ),
                )


def refresh_below_expire(facts: Facts) -> Iterator[Hit]:
    """`--cookie-refresh` is equal to or longer than `--cookie-expire` (default 168h):
    oauth2-proxy refuses to start ("cookie_refresh must be less than cookie_expire"), so every login
    fails. A refresh of 0 (off) or an expire of 0 (session cookie) are fine.

    Fix: shorten the refresh, such as `--cookie-refresh=30m --cookie-expire=4h`.
    """
    for proxy in facts.proxies:
        refresh, refresh_flag = proxy.duration("cookie-refresh", 0.0)
        expire, _ = proxy.duration("cookie-expire", 168 * 3600.0)
        if refresh is None or expire is None or not expire or refresh < expire:
            continue
        yield (
            proxy.workload,
            flag_path(proxy, "cookie-refresh"),
            (
                "--cookie-refresh is not shorter than --cookie-expire: oauth2-proxy refuses to start "
                '("cookie_refresh must be less than cookie_expire"). Make the refresh shorter, such '
                "as 30m with an expire of 4h"
            ),
        )


def cookie_secret_length(facts: Facts) -> Iterator[Hit]:
    """The cookie secret oauth2-proxy reads (`--cookie-secret`, a literal
    `OAUTH2_PROXY_COOKIE_SECRET`, or the key of a `Secret` in the manifests that the container
    references through `secretKeyRef` or `envFrom`) is not 16, 24 or 32 bytes, neither raw nor after
    URL-safe base64 decoding. oauth2-proxy refuses to start (it needs an AES key). Secrets meshauth
    cannot see (ExternalSecret, SealedSecret, an existing Secret) are not checked. The message gives
    the length, never the value.

    Fix: `meshauth cookie-secret` prints a fresh 32-byte secret.
    """
    from meshauth.config.model import cookie_secret_length

    for obj, path, where, secret in _cookie_secrets(facts):
        length = cookie_secret_length(secret)
        if length not in (16, 24, 32):
            yield (
                obj,
                path,
                (
                    f"the cookie secret ({where}) is {length} bytes, raw and after URL-safe base64 "
                    "decoding: oauth2-proxy refuses to start (it needs an AES key of 16, 24 or 32 "
                    "bytes). Generate one with: meshauth cookie-secret"
                ),
            )


def refresh_before_token_expiry(facts: Facts) -> Iterator[Hit]:
    """oauth2-proxy passes the ID token it got at login on to the gateway, whose
    RequestAuthentication checks it; the token is renewed only when oauth2-proxy refreshes the session
    (`--cookie-refresh`, off by default). For an IdP with a documented, fixed ID-token lifetime
    (Google: 1 hour), a refresh that is off or not shorter than that lets the token expire inside the
    session: the gateway answers 401 "Jwt is expired" until the user logs in again. Silent when the
    manifests' RequestAuthentications check only other issuers.

    Fix: `--cookie-refresh` below the lifetime, such as `30m` (`oauth2Proxy.cookie.refresh` in
    meshauth.yaml).
    """
    checked = {
        same_issuer(r.get("issuer", ""))
        for ra in facts.of_kind("RequestAuthentication")
        for r in sequence(mapping(ra.get("spec")).get("jwtRules"))
        if isinstance(r, Mapping)
    }
    for proxy in facts.proxies:
        issuer = proxy_issuer(proxy)
        preset = _lifetime_preset(proxy, issuer)
        lifetime = _lifetime_override(proxy) or (preset.id_token_lifetime_seconds if preset else None)
        refresh, _ = proxy.duration("cookie-refresh", 0.0)
        if not lifetime or (checked and issuer not in checked) or refresh is None:
            continue  # no lifetime known, or the token checked is another issuer's
        if not 0 < refresh < lifetime:
            idp_name = f"{preset.name} " if preset else ""
            yield (
                proxy.workload,
                flag_path(proxy, "cookie-refresh"),
                (
                    f"--cookie-refresh is not shorter than the {idp_name}ID token's lifetime "
                    f"({lifetime // 60}m): once the token expires before oauth2-proxy refreshes it, the "
                    'gateway answers 401 "Jwt is expired"; set the refresh below it, such as 30m'
                ),
            )


def _lifetime_override(proxy: Proxy) -> int | None:
    """identity.idTokenLifetime as meshauth records it on the oauth2-proxy Deployment."""
    value = mapping(mapping(proxy.workload.get("metadata")).get("annotations")).get(ID_TOKEN_LIFETIME)
    try:
        return int(duration_seconds(str(value))) if value else None
    except ValueError:
        return None


def _lifetime_preset(proxy: Proxy, issuer: str | None) -> Any:
    """The IdP preset whose documented ID-token lifetime applies: by its fixed issuer, else by the
    IdP-specific --provider only that preset uses (keycloak-oidc, gitlab, entra-id)."""
    known = [p for p in PRESETS.values() if p.id_token_lifetime_seconds]
    by_issuer = [p for p in known if p.issuer and "{" not in p.issuer and same_issuer(p.issuer) == issuer]
    if by_issuer:
        return by_issuer[0]
    flag = proxy.last("provider")
    if flag is None or flag.value == "oidc":
        return None
    by_provider = [p for p in known if p.provider == flag.value]
    return by_provider[0] if len(by_provider) == 1 else None


def _cookie_secrets(facts: Facts) -> Iterator[tuple[Mapping[str, Any], str, str, str]]:
    """Every cookie secret whose value the manifests show: the proxies' settings, and Secrets
    with an oauth2-proxy cookie-secret key that no proxy in the manifests references."""
    seen: set[int] = set()
    for proxy in facts.proxies:
        for obj, path, where, value in setting_values(facts, proxy, "cookie-secret"):
            seen.add(id(obj))
            yield obj, path, where, value
    for secret in facts.of_kind("Secret"):
        if id(secret) in seen:
            continue
        for key in COOKIE_SECRET_KEYS:
            yield from secret_values(facts, namespace_of(secret), name_of(secret), key)
