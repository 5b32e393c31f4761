"""Where oauth2-proxy keeps sessions: in the cookie (default) or in Redis, and what each needs.

Cookie sessions hold the ID, access and refresh tokens (``--set-authorization-header`` needs them,
and oauth2-proxy refuses ``--session-cookie-minimal`` with it). Encrypted and base64-encoded they
grow by a third; above 4 KB oauth2-proxy splits the cookie into ``<name>_0``, ``<name>_1``..., and
every request then carries them, which apps and proxies with 8 KB header limits answer with 431 or
400. meshauth estimates the size from the preset's typical tokens and warns (MA062).

Redis: oauth2-proxy tests the connection when it starts and exits when Redis is unreachable (#722,
v7.0.0), so Redis must be up first. meshauth orders the Redis Service and Deployment before
oauth2-proxy's Deployment, holds oauth2-proxy until its Istio sidecar is ready (its first
connection goes through it), and Kubernetes restarts oauth2-proxy with back-off until Redis answers;
from v7.5.0 its ``/ready`` probe also checks Redis. Passwords come from Secrets through the
environment (``OAUTH2_PROXY_REDIS_PASSWORD``, ``OAUTH2_PROXY_REDIS_SENTINEL_PASSWORD``), never as
flags or in the manifests.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from meshauth.compat import proxyflags
from meshauth.config.presets import PRESETS
from meshauth.config.secrets import REDIS_PASSWORD_KEY, fills_redis_password
from meshauth.findings import Finding

if TYPE_CHECKING:
    from meshauth.config.model import Spec

COOKIE_LIMIT = 4096  # bytes per cookie (name, value and attributes) that browsers keep
ASSUMED_GROUPS = 20  # groups a user carries when apps authorize by groups (for the estimate)
SESSION_OVERHEAD = 300  # email, user, timestamps, nonce, msgpack framing, signature (bytes)

_ENV = {
    "redis-password": "OAUTH2_PROXY_REDIS_PASSWORD",
    "redis-sentinel-password": "OAUTH2_PROXY_REDIS_SENTINEL_PASSWORD",
}


def flags(spec: Spec) -> list[tuple[str, Any]]:
    store = spec.oauth2_proxy.session_store
    if store.type != "redis":
        return []
    found: list[tuple[str, Any]] = [("session-store-type", "redis")]
    if store.sentinel is not None:
        found += [
            ("redis-use-sentinel", True),
            ("redis-sentinel-master-name", store.sentinel.master_name),
            *(("redis-sentinel-connection-urls", u) for u in store.sentinel.urls),
        ]
    elif store.cluster is not None:
        found += [
            ("redis-use-cluster", True),
            *(("redis-cluster-connection-urls", u) for u in store.cluster.urls),
        ]
    else:
        found.append(("redis-connection-url", store.url))
    if store.username is not None:
        found.append(("redis-username", store.username))
    return found


def redis_password(spec: Spec) -> tuple[str, str] | None:
    """(Secret, key) of the password of the Redis session store, if it has one: ``passwordSecret``,
    or, for the Redis meshauth deploys, the ``redis-password`` key of the authorizer's Secret when the
    secret source fills it (``inline``/``externalSecret``/``sealed``): the rendered Redis requires
    it and oauth2-proxy sends it. (For a Redis meshauth does not deploy, the Deployment reads that
    key optionally: see the oauth2-proxy shape.)"""
    store = spec.oauth2_proxy.session_store
    if store.type != "redis":
        return None
    if store.password_secret is not None:
        return store.password_secret.name, store.password_secret.key
    if store.deploy and fills_redis_password(spec.secret):
        return spec.secret.name, REDIS_PASSWORD_KEY
    return None


def env(spec: Spec) -> list[dict[str, str]]:
    """Environment variables read from Secrets: ``{name, secret, key}`` for the Deployment."""
    store = spec.oauth2_proxy.session_store
    if store.type != "redis":
        return []
    sentinel = store.sentinel.password_secret if store.sentinel else None
    refs: list[tuple[str, tuple[str, str] | None]] = [
        ("redis-password", redis_password(spec)),
        ("redis-sentinel-password", (sentinel.name, sentinel.key) if sentinel else None),
    ]
    available = proxyflags.flags_for(spec.oauth2_proxy.version)
    found = []
    for flag, ref in refs:
        if ref is None:
            continue
        assert flag in available, f"meshauth bug: {flag} is not a flag of this release"
        found.append({"name": _ENV[flag], "secret": ref[0], "key": ref[1]})
    return found


def estimated_cookie_bytes(spec: Spec) -> int | None:
    """About how large the session cookie grows, or None when the preset gives no basis."""
    preset = PRESETS[spec.identity.preset]
    if preset.token_bytes is None:
        return None
    uses_groups = any(app.authorization and app.authorization.groups for app in spec.apps)
    groups = 0
    if uses_groups and spec.identity.groups_claim_name:
        named = {g for app in spec.apps if app.authorization for g in app.authorization.groups}
        groups = max(ASSUMED_GROUPS, len(named))
    return preset_cookie_bytes(spec.identity.preset, spec.oauth2_proxy.cookie.name, groups)


def preset_cookie_bytes(name: str, cookie_name: str = "_oauth2_proxy", groups: int = 0) -> int:
    """The session cookie size for a preset's typical tokens (0 when the preset gives no basis)."""
    preset = PRESETS[name]
    if preset.token_bytes is None:
        return 0
    plain = preset.token_bytes + groups * preset.group_bytes * preset.group_claim_copies
    encoded = math.ceil((plain + SESSION_OVERHEAD) * 4 / 3)  # encrypted, then base64
    return encoded + len(cookie_name) + 1


def warnings(spec: Spec) -> Iterator[Finding]:
    if spec.authorizer != "oauth2-proxy" or spec.oauth2_proxy.session_store.type != "cookie":
        return  # authservice's cookie holds a session id, its sessions live in memory or Redis
    size = estimated_cookie_bytes(spec)
    if size is None or size <= COOKIE_LIMIT:
        return
    groups = (
        " with the groups claim of apps that authorize by groups"
        if any(app.authorization and app.authorization.groups for app in spec.apps)
        else ""
    )
    yield Finding(
        "MA062",
        "warning",
        f"the session cookie will be about {size / 1024:.1f} KB ({spec.identity.preset}'s ID, "
        f"access and refresh tokens{groups}): above 4 KB oauth2-proxy splits it into several "
        "cookies that every request carries, and apps or proxies with 8 KB header limits answer "
        "431; keep sessions in Redis (oauth2Proxy.sessionStore: {type: redis, deploy: true})",
        path="spec.oauth2Proxy.sessionStore",
    )
