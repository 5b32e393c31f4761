"""Warnings about the config that rendering reports next to the objects (each shape's own, such
as the EnvoyFilter login's, come from the shape)."""

from __future__ import annotations

from collections.abc import Iterator

from meshauth.compat import proxyflags
from meshauth.compat.versions import NEWEST_KNOWN_ISTIO, istio_features
from meshauth.config.authservice import oauth2_proxy_fields_ignored
from meshauth.config.fieldtypes import duration_seconds
from meshauth.config.model import Spec
from meshauth.findings import Finding
from meshauth.rendering.aspects import hardening, idp, sessions


def config_warnings(spec: Spec) -> Iterator[Finding]:
    """What the config asks for that works, but that an operator should know about."""
    # MA018 (refresh vs. the ID token's lifetime) is a rule on the objects: meshauth.validation.rules.sessions.
    yield from idp.warnings(spec)
    yield from sessions.warnings(spec)
    if spec.tls is None:
        yield Finding(
            "config",
            "warning",
            "no tls: apps are served over plain HTTP, and the login cookie and ID token travel "
            "unencrypted; use this only for a local test setup",
            path="spec.tls",
        )
    newer = proxyflags.parse_version(spec.oauth2_proxy.version) > proxyflags.parse_version(proxyflags.LATEST)
    if spec.authorizer == "oauth2-proxy" and newer:  # authservice runs no oauth2-proxy
        yield Finding(
            "config",
            "warning",
            f"oauth2-proxy {spec.oauth2_proxy.version} is newer than the newest release "
            f"meshauth knows ({proxyflags.LATEST}); flags are checked against that one",
            path="spec.oauth2Proxy.version",
        )
    if spec.platform.istio > NEWEST_KNOWN_ISTIO:
        newest = "{}.{}".format(*NEWEST_KNOWN_ISTIO)
        yield Finding(
            "config",
            "warning",
            f"Istio {spec.platform.istio_version} is newer than the newest version meshauth "
            f"knows ({newest}); the {newest} API shapes are used",
            path="spec.platform.istioVersion",
        )
    yield from _refresh_without_set_cookie(spec)
    yield from hardening.findings(spec)
    if spec.authorizer == "authservice":
        for path, message, error in oauth2_proxy_fields_ignored(spec.oauth2_proxy):
            if not error:  # the errors were raised when the config loaded
                yield Finding("config", "warning", message, path=".".join(("spec.oauth2Proxy", *path)))
    if spec.secret.source == "inline":
        yield Finding(
            "config",
            "warning",
            f"secret.source inline writes the client secret and cookie secret of Secret "
            f"{spec.oauth2_proxy.namespace}/{spec.secret.name} into the output as plain text: "
            "anyone who can read the rendered files or the Git repository can log in as any "
            "user. Use existing, external-secrets or sealed-secrets outside a throwaway setup",
            path="spec.secret.source",
        )


def _refresh_without_set_cookie(spec: Spec) -> Iterator[Finding]:
    """Before Istio 1.14 the headers of an allowed (200) check go to the app only: before 1.9 the
    login is an EnvoyFilter on Envoy 1.14-1.16, whose ext_authz has no
    ``allowed_client_headers_on_success``; from 1.9 to 1.13 the extension provider has no
    ``headersToDownstreamOnAllow`` to set it. The ``Set-Cookie`` of a session oauth2-proxy
    refreshed never reaches the browser, which keeps sending the old cookie, so past
    ``cookie.refresh`` every request refreshes again (a call to the IdP's token endpoint per
    request) until the cookie expires."""
    cookie = spec.oauth2_proxy.cookie
    features = istio_features(spec.platform.istio)
    if (
        spec.authorizer != "oauth2-proxy"
        or features.headers_to_downstream_on_allow
        or not duration_seconds(cookie.refresh)
    ):
        return
    why = (
        "its Envoy (1.16 or older) passes the headers of an allowed check only to the app"
        if features.envoy_filter
        else "its extension provider has no headersToDownstreamOnAllow, so the headers of an allowed "
        "check go only to the app"
    )
    yield Finding(
        "config",
        "warning",
        f"cookie.refresh {cookie.refresh} never reaches the browser on Istio "
        f"{spec.platform.istio_version}: {why}: the Set-Cookie of a refreshed session is dropped and, once the "
        "session is older than the refresh, oauth2-proxy refreshes it on every request (a call to "
        'the IdP each time) until cookie.expire ends it. Set refresh: "0" and keep expire within '
        "the ID token's lifetime, or target Istio 1.14+ (headersToDownstreamOnAllow)",
        path="spec.oauth2Proxy.cookie.refresh",
    )
