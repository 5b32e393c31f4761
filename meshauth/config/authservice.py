"""The ``authservice`` section: istio-ecosystem/authservice, the alternative to oauth2-proxy."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

from meshauth.config.base import At, Model, image_without_tag
from meshauth.config.fieldtypes import DnsLabel, Duration, IstioPath, RedisUrl, Text, duration_seconds


class AuthService(Model):
    """istio-ecosystem/authservice, asked over gRPC (``authorizer: authservice``)."""

    version: Text = Field("1.0.0", description="Image tag of the authservice release.")
    image: Text = Field(
        "ghcr.io/istio-ecosystem/authservice/authservice",
        description="Image name without tag; the tag is version.",
    )
    namespace: DnsLabel = Field("authservice", description="Where authservice runs.")
    replicas: int = Field(
        1, ge=1, le=100, description="More than 1 needs redisUrl: sessions live in memory otherwise."
    )
    callback_path: IstioPath = Field(
        "/oauth/callback", description="Path on each host where the IdP sends the browser back."
    )
    redis_url: RedisUrl | None = Field(None, description="Session store shared by the replicas.")
    log_level: Literal["trace", "debug", "info", "error", "critical"] = Field(
        "info", description="authservice's log level."
    )
    idle_session_timeout: Duration | None = Field(
        None,
        description="End a session after this long without a request (idle_session_timeout). "
        "Sessions always end oauth2Proxy.cookie.expire after the login (absolute_session_timeout).",
    )

    @field_validator("image")
    @classmethod
    def _image_without_tag(cls, value: str) -> str:
        return image_without_tag(value)

    @model_validator(mode="after")
    def _replicas_share_sessions(self) -> AuthService:
        if self.replicas > 1 and self.redis_url is None:
            raise At(
                ("redisUrl",),
                "required with more than 1 replica: each authservice keeps its sessions in "
                "memory, so a login on one replica is unknown to the others and loops",
            )
        if "*" in self.callback_path:
            raise At(("callbackPath",), "must be an exact path, without *")
        return self


# With authorizer: authservice, oauth2-proxy is not deployed. Of the oauth2Proxy section only
# cookie.expire has an effect (authservice's absolute_session_timeout). Any other field the config
# sets is reported: refused where authservice would admit more users or send the cookie more widely
# than the config says (emailDomains, sameSite strict), a warning where it only does nothing.
# docs/config.md ("spec.authorizer and spec.authservice") lists the decisions.
_USED = {("cookie", "expire")}
_WHY = {
    "email_domains": "authservice checks no email domain, so a user of any domain the IdP signs in "
    "would get in; admit users per app with apps[].authorization.emails (such as '*@example.com') "
    "or claims instead",
    "cookie": "authservice sets its own session cookie (__Host-<metadata.name>-authservice-session-"
    "id-cookie: Secure, SameSite=Lax, one per host, holding only a session id, refreshing tokens "
    "when they expire); of the cookie settings only expire applies (the session's absolute timeout)",
    "session_store": "authservice keeps its sessions in memory, or in authservice.redisUrl",
    "logout": "authservice renders no sign-out path",
    "whitelist_domains": "authservice sends the browser back only to the page it asked for",
}
_GENERIC = "oauth2-proxy is not deployed with authorizer: authservice (its settings are spec.authservice)"


def oauth2_proxy_fields_ignored(proxy: Any) -> list[tuple[tuple[str, ...], str, bool]]:
    """The fields of the ``oauth2Proxy`` section that the config sets and authservice ignores:
    (path below the section, message, whether that is an error)."""
    found: list[tuple[tuple[str, ...], str, bool]] = []
    for name in sorted(proxy.model_fields_set):
        value = getattr(proxy, name)
        if name == "email_domains" and value == ["*"]:
            continue  # the default: admits any domain, as authservice does
        nested = sorted(value.model_fields_set) if name == "cookie" else [None]
        for sub in nested:
            if (name, sub) in _USED:
                continue
            path = (to_camel(name),) if sub is None else (to_camel(name), to_camel(sub))
            error = name == "email_domains" or (sub == "same_site" and value.same_site == "strict")
            why = _WHY.get(name, _GENERIC)
            found.append((path, f"has no effect with authorizer: authservice: {why}; remove it", error))
    return found


def session_timeouts(settings: AuthService, expire: str) -> dict[str, int]:
    """absolute_session_timeout and idle_session_timeout in seconds. authservice sets no TTL on a
    Redis session (nor ends one in memory) when both are 0, so at least one is always set."""
    timeouts = {"absolute_session_timeout": int(duration_seconds(expire))}
    if settings.idle_session_timeout is not None:
        timeouts["idle_session_timeout"] = int(duration_seconds(settings.idle_session_timeout))
    return {key: seconds for key, seconds in timeouts.items() if seconds > 0}
