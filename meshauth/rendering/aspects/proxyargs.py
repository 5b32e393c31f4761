"""oauth2-proxy's command line for a config (which flags meshauth manages, and the checks on
``extraArgs``, are :mod:`meshauth.compat.proxycli`).

What oauth2-proxy must do behind Istio's ext_authz (design notes): listen on 0.0.0.0:4180, answer 200
to an authenticated check (``--upstream=static://200``; its ``/oauth2/auth`` answers 202, which Envoy
treats as a denial), return the ID token as ``Authorization: Bearer`` so that the gateway's
RequestAuthentication can check it, and send the browser straight to the IdP.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from meshauth.compat import proxyflags
from meshauth.compat.proxycli import DEFAULTS

if TYPE_CHECKING:
    from meshauth.config.model import Spec

PORT = 4180
SECRET_DIR = "/etc/oauth2-proxy/secrets"  # where the Secret is mounted when read as files


def args(
    spec: Spec,
    provider: str,
    whitelist: list[str],
    cookie_domains: list[str] | None = None,
    extra: Sequence[tuple[str, Any]] = (),
) -> list[str]:
    """The container arguments, in a fixed order, extraArgs last and sorted by flag.

    ``extra`` holds the flags of the session store, the IdP and bearer tokens, in that order.
    Every flag must exist in the chosen release: the config refuses what a release lacks, so a
    missing one here is a meshauth bug.
    """
    proxy, identity, cookie = spec.oauth2_proxy, spec.identity, spec.oauth2_proxy.cookie
    domains = cookie.domains if cookie_domains is None else cookie_domains
    flags: list[tuple[str, Any]] = [
        ("http-address", f"0.0.0.0:{PORT}"),
        ("upstream", "static://200"),
        ("reverse-proxy", True),
        ("provider", provider),
        ("oidc-issuer-url", identity.issuer_url),
        ("client-id", identity.client_id),
        ("scope", " ".join(identity.scopes)),
        *(("email-domain", d) for d in proxy.email_domains),
        ("cookie-name", cookie.name),
        ("cookie-secure", cookie.secure),
        *((("cookie-samesite", cookie.same_site),) if cookie.same_site else ()),
        ("cookie-refresh", cookie.refresh),
        ("cookie-expire", cookie.expire),
        *(("cookie-domain", d) for d in domains),
        *(("whitelist-domain", d) for d in whitelist),
        ("set-authorization-header", True),
        ("set-xauthrequest", True),
        *((name, v) for name, v in DEFAULTS.items() if name not in proxy.extra_args),
        *extra,
    ]
    if proxyflags.reads_secret_files(proxy.version):
        flags += [
            ("client-secret-file", f"{SECRET_DIR}/client-secret"),
            ("cookie-secret-file", f"{SECRET_DIR}/cookie-secret"),
        ]
    for name in sorted(proxy.extra_args):
        value = proxy.extra_args[name]
        flags += [(name, v) for v in value] if isinstance(value, list) else [(name, value)]
    unknown = {name for name, _ in flags} - proxyflags.flags_for(proxy.version)
    assert not unknown, f"meshauth bug: oauth2-proxy {proxy.version} has no {sorted(unknown)}"
    return [f"--{name}={_text(value)}" for name, value in flags]


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
