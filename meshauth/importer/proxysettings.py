"""Import, oauth2-proxy side: its flags -> ``spec.oauth2Proxy`` (cookie, domains, session store,
``extraArgs``).

Flags meshauth sets itself map to config fields, or are reported when they differ from what meshauth
fixes; any other flag the release knows goes to ``extraArgs``.
"""

from __future__ import annotations

import re
from typing import Any

from meshauth.compat import proxycli as oauth2proxy
from meshauth.compat import proxyflags
from meshauth.importer.context import Context
from meshauth.importer.flagsources import Flag, flag_value, flag_values
from meshauth.importer.hardening import use_guards
from meshauth.importer.proxy import Proxy
from meshauth.k8s import spec_of

_FIXED = {
    "http-address": {"0.0.0.0:4180", ":4180"},
    "upstream": {"static://200"},
    "reverse-proxy": {"true", ""},
}
_ALWAYS = {"set-authorization-header", "set-xauthrequest"}  # meshauth sets them to true


def _default_whitelist(raw: list[str], hosts: list[str]) -> bool:
    """What meshauth renders without whitelistDomains: the app hosts exactly, plus at most the
    IdP's end-session host."""
    exact = set(raw)
    return set(hosts) <= exact and len(exact - set(hosts)) <= 1


def proxy_settings(
    ctx: Context, proxy: Proxy, hosts: list[str], cookie_secure_default: bool
) -> dict[str, Any]:
    """``spec.oauth2Proxy`` from the flags (cookie, domains, session store, extraArgs)."""
    section = dict(proxy.section)
    flags = proxy.flags
    cookie = _cookie(flags, cookie_secure_default) if proxy.source else {}
    if proxy.source and flag_value(flags, "cookie-refresh") in (None, "0", "0s"):
        ctx.warn(
            "your oauth2-proxy never refreshes sessions (no --cookie-refresh), so ID tokens "
            "expire under live sessions (401 Jwt is expired): meshauth refreshes after 1h; "
            "set oauth2Proxy.cookie.refresh below your IdP's token lifetime",
            proxy.source,
            "spec.oauth2Proxy.cookie.refresh",
        )
        cookie.pop("refresh", None)
    if cookie:
        section["cookie"] = cookie
    raw = flag_values(flags, "whitelist-domain")
    if raw and not _default_whitelist(raw, hosts):
        section["whitelistDomains"] = raw  # as written: a leading dot admits subdomains
    domains = flag_values(flags, "email-domain")
    if domains and domains != ["*"]:
        section["emailDomains"] = domains
    store = flag_value(flags, "session-store-type")
    if store == "redis":
        section["sessionStore"] = _redis(ctx, proxy, flag_value(flags, "redis-connection-url"))
    extra = _extra_args(ctx, proxy, section.get("version", proxyflags.LATEST))
    if extra:
        section["extraArgs"] = extra
    return section


def _redis(ctx: Context, proxy: Proxy, url: str | None) -> dict[str, Any]:
    """The Redis session store; ``deploy: true`` when the manifests hold the Redis meshauth renders."""
    from meshauth.config.model import REDIS_NAME, RedisSessionStore

    deployment = ctx.named("Deployment", REDIS_NAME, proxy.namespace)
    host = (url or "").split("://", 1)[-1].split(":", 1)[0].split("/", 1)[0]
    if deployment is None or host.split(".")[0] != REDIS_NAME:
        return {"type": "redis", "url": url}
    ctx.use(deployment)
    ctx.use(ctx.named("Service", REDIS_NAME, proxy.namespace))
    use_guards(ctx, REDIS_NAME, proxy.namespace)
    containers = ((spec_of(deployment.obj).get("template") or {}).get("spec") or {}).get("containers") or [{}]
    image = str(containers[0].get("image", ""))
    default = RedisSessionStore.model_fields["image"].default
    return {
        "type": "redis",
        "deploy": True,
        **({"image": image} if image and image != default else {}),
    }


_COOKIE = {
    "cookie-name": "name",
    "cookie-samesite": "sameSite",
    "cookie-refresh": "refresh",
    "cookie-expire": "expire",
}
_COOKIE_DEFAULTS = {
    "name": "_oauth2_proxy_istio_ingressgateway",
    "sameSite": "lax",
    "refresh": "1h",
    "expire": "4h",
}


def _cookie(flags: dict[str, Flag], secure_default: bool) -> dict[str, Any]:
    cookie: dict[str, Any] = {}
    for flag, key in _COOKIE.items():
        value = flag_value(flags, flag)
        if value is not None and _same_value(key, value) != _COOKIE_DEFAULTS[key]:
            cookie[key] = _same_value(key, value)
    if "expire" not in cookie and flag_value(flags, "cookie-expire") is None:
        cookie["expire"] = "168h"  # oauth2-proxy's own default when the flag is not given
    secure = flag_value(flags, "cookie-secure")
    secure_value = secure_default if secure is None else secure.lower() != "false"
    if not secure_value:
        cookie["secure"] = False
    domains = [d.lstrip(".") for d in flag_values(flags, "cookie-domain")]
    if domains:
        cookie["domains"] = domains
    return cookie


def _same_value(key: str, value: str) -> str:
    """A Go duration as written by people (``1h0m0s`` -> ``1h``)."""
    if key in ("refresh", "expire"):
        value = re.sub(r"(?<=[hm])0s$", "", value)
        value = re.sub(r"(?<=h)0m$", "", value)
    return value


def _extra_args(ctx: Context, proxy: Proxy, version: str) -> dict[str, Any]:
    managed = set(oauth2proxy.MANAGED_FLAGS) | {"skip-provider-button"}
    extra: dict[str, Any] = {}
    for name, flag in sorted(proxy.flags.items()):
        values = flag.values
        if name in _FIXED and values and values[-1] not in _FIXED[name]:
            ctx.warn(
                f"--{name}={values[-1]}: meshauth fixes it ({oauth2proxy.MANAGED_FLAGS[name]})",
                proxy.source,
            )
        elif name in _ALWAYS and values and values[-1] == "false":
            ctx.warn(
                f"--{name}=false: meshauth sets it to true (the gateway needs the ID token)",
                proxy.source,
            )
        if name == "skip-provider-button" and values and values[-1] == "false":
            extra[name] = False
        if name in managed or not values:
            continue
        value: Any = (
            [_typed(name, v) for v in values] if proxyflags.is_list_flag(name) else _typed(name, values[-1])
        )
        problems = list(oauth2proxy.extra_arg_problems(version, {name: value}))
        if problems:
            ctx.warn(f"--{name} is not imported: it {problems[0][1]}", proxy.source)
        else:
            extra[name] = value
    return extra


def _typed(name: str, value: str) -> Any:
    if proxyflags.is_bool_flag(name):
        return value.lower() != "false"
    return value
