"""The parts of the ``oauth2Proxy`` section that make up a session: the cookie, where sessions live
(the cookie itself or Redis), where redirects may go, and signing out."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, Tag, field_validator, model_validator

from meshauth.config.base import At, Model, discriminator
from meshauth.config.fieldtypes import (
    CookieName,
    DnsSubdomain,
    Duration,
    ImageRef,
    RedisUrl,
    Text,
    duration_seconds,
    is_dns_subdomain,
)


class Cookie(Model):
    name: CookieName = Field("_oauth2_proxy_istio_ingressgateway", description="Name of the session cookie.")
    domains: list[DnsSubdomain] = Field(
        default_factory=list,
        description="--cookie-domain. Default: the app hosts' common parent domain when there are "
        "several hosts, so that one login covers every app.",
    )
    shared: bool = Field(
        True, description="One cookie (one login) for all app hosts; false: a cookie per host."
    )
    secure: bool = Field(True, description="Send the cookie over HTTPS only; false needs no tls.")
    same_site: Literal["lax", "strict", "none", ""] = Field(
        "lax", description="The cookie's SameSite attribute; none needs secure."
    )
    refresh: Duration = Field(
        "1h",
        description="Refresh the session (and ID token) after this long; below expire and below "
        "the IdP's ID-token lifetime.",
    )
    expire: Duration = Field("4h", description="The session ends after this long.")

    @field_validator("domains", mode="before")
    @classmethod
    def _strip_leading_dot(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [v[1:] if isinstance(v, str) and v.startswith(".") else v for v in value]
        return value

    @model_validator(mode="after")
    def _same_site_none_needs_secure(self) -> Cookie:
        if self.same_site == "none" and not self.secure:
            raise At(
                ("sameSite",),
                "none needs secure: true; browsers drop a SameSite=None cookie that is not "
                "Secure, and login loops",
            )
        return self

    @model_validator(mode="after")
    def _refresh_below_expire(self) -> Cookie:
        refresh, expire = duration_seconds(self.refresh), duration_seconds(self.expire)
        if expire and refresh >= expire:
            raise At(("refresh",), "must be shorter than expire (oauth2-proxy refuses to start otherwise)")
        return self


class CookieSessionStore(Model):
    type: Literal["cookie"] = Field("cookie", description="Keep the session in the cookie itself.")


REDIS_NAME = "oauth2-proxy-redis"


def _secret_key(value: str) -> str:
    if not 0 < len(value) <= 253 or not all(c.isascii() and (c.isalnum() or c in "-._") for c in value):
        raise ValueError("must be a Secret key: letters, digits, '-', '_' or '.'")
    return value


class SecretKeyRef(Model):
    """A key of a Secret in oauth2-proxy's namespace; the value never enters the manifests."""

    name: DnsSubdomain = Field(description="The Secret's name, in oauth2-proxy's namespace.")
    key: Annotated[Text, AfterValidator(_secret_key)] = Field(description="The key holding the value.")


class RedisSentinel(Model):
    master_name: Text = Field(min_length=1, description="--redis-sentinel-master-name")
    urls: list[RedisUrl] = Field(min_length=1, description="--redis-sentinel-connection-urls")
    password_secret: SecretKeyRef | None = Field(
        None, description="The sentinels' own password (OAUTH2_PROXY_REDIS_SENTINEL_PASSWORD)."
    )


class RedisCluster(Model):
    urls: list[RedisUrl] = Field(min_length=1, description="--redis-cluster-connection-urls")


class RedisSessionStore(Model):
    type: Literal["redis"] = Field(description="Keep sessions in Redis; the cookie holds a ticket.")
    url: RedisUrl | None = Field(
        None,
        description="Required unless deploy, sentinel or cluster is set (deploy: defaults to "
        "the Redis it renders).",
    )
    deploy: bool = Field(False, description="Render a small Redis next to oauth2-proxy.")
    image: ImageRef = Field("redis:7.4-alpine", description="The image of the Redis deploy renders.")
    password_secret: SecretKeyRef | None = Field(
        None,
        description="The Redis password, from a Secret (OAUTH2_PROXY_REDIS_PASSWORD); with "
        "deploy the rendered Redis requires it too.",
    )
    username: Annotated[Text, Field(min_length=1)] | None = Field(
        None, description="Redis ACL user (--redis-username, oauth2-proxy v7.6.0 and newer)."
    )
    sentinel: RedisSentinel | None = Field(None, description="Redis Sentinel instead of url.")
    cluster: RedisCluster | None = Field(None, description="Redis Cluster instead of url.")

    @model_validator(mode="after")
    def _no_password_in_urls(self) -> RedisSessionStore:
        located: list[tuple[tuple[str | int, ...], str | None]] = [(("url",), self.url)]
        located += [
            (("sentinel", "urls", i), u) for i, u in enumerate(self.sentinel.urls if self.sentinel else [])
        ]
        located += [
            (("cluster", "urls", i), u) for i, u in enumerate(self.cluster.urls if self.cluster else [])
        ]
        for path, url in located:
            if url and ":" in url.split("://", 1)[1].split("/", 1)[0].rpartition("@")[0]:
                raise At(
                    path,
                    "must not carry a password: URLs become flags that anyone who can read "
                    "the Deployment sees; put it in the oauth2-proxy Secret under redis-password, "
                    "or in a Secret named by passwordSecret",
                )
        return self

    @model_validator(mode="after")
    def _one_topology(self) -> RedisSessionStore:
        given = [name for name in ("url", "sentinel", "cluster") if getattr(self, name) is not None]
        if len(given) > 1:
            raise At((given[1],), f"give one of url, sentinel or cluster, not {' and '.join(given)}")
        if self.deploy and given and given[0] != "url":
            raise At(
                (given[0],), f"deploy renders a single Redis; leave deploy out to use a {given[0]} you run"
            )
        return self


SessionStore = Annotated[
    Annotated[CookieSessionStore, Tag("cookie")] | Annotated[RedisSessionStore, Tag("redis")],
    discriminator("type", "cookie"),
]

ExtraArgValue = bool | int | Text | list[Text]


def _whitelist_entry_ok(value: str) -> bool:
    name, _, port = value.partition(":")
    if port and port != "*" and not (port.isdigit() and 0 < int(port) < 65536):
        return False
    return is_dns_subdomain(name.removeprefix("*.").removeprefix("."))


WhitelistDomain = Annotated[
    Text,
    AfterValidator(
        lambda v: (
            v
            if _whitelist_entry_ok(v)
            else _raise(
                "must be a host (app.example.com), .domain or *.domain for its subdomains, optionally "
                "with :port or :*"
            )
        )
    ),
]


def _raise(message: str) -> Any:
    raise ValueError(message)


class Logout(Model):
    """Signing out at /oauth2/sign_out, and ending the IdP's session as well."""

    end_session: bool = Field(
        True,
        description="Whitelist the host of identity's end-session endpoint, so that "
        "/oauth2/sign_out?rd=<end-session URL> may send the browser there.",
    )
    backend: bool | None = Field(
        None,
        description="--backend-logout-url: oauth2-proxy ends the IdP session itself "
        "(id_token_hint). Default: where the preset supports it and the release has the flag.",
    )


def points_at_rendered_redis(url: str, namespace: str) -> bool:
    """Whether ``url`` names the Redis that meshauth renders next to oauth2-proxy in ``namespace``."""
    host = url.split("://", 1)[1].split("/", 1)[0].rsplit("@", 1)[-1].split(":", 1)[0]
    base = f"{REDIS_NAME}.{namespace}"
    return host in {REDIS_NAME, base, f"{base}.svc", f"{base}.svc.cluster.local"}
