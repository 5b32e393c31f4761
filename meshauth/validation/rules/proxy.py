"""Rules on the oauth2-proxy workload: started so that Envoy can call it and gets 200 for a
logged-in user, and with only flags its release has.
"""

from __future__ import annotations

from collections.abc import Iterator

from meshauth.compat import proxyflags
from meshauth.k8s import mapping
from meshauth.validation.rules.facts import Facts, Hit
from meshauth.validation.rules.proxysettings import flag_path


def proxy_answers_200(facts: Facts) -> Iterator[Hit]:
    """Envoy allows a request only when the check answers 200. oauth2-proxy must run
    with `--upstream=static://200` (any other upstream, or none, answers something else), must not
    be reached through a `pathPrefix` ending in `/auth` (its auth endpoint answers 202, a denial for
    Envoy), and must listen on all interfaces: the default `--http-address` is `127.0.0.1:4180`,
    which the gateway cannot reach.

    Fix: `--http-address=0.0.0.0:4180 --upstream=static://200`, and no `pathPrefix`.
    """
    for proxy in facts.proxies:
        upstreams = proxy.values("upstream")
        if not (proxy.config_file and not upstreams) and not set(upstreams) & {"static://200", "static://"}:
            yield (
                proxy.workload,
                flag_path(proxy, "upstream"),
                (
                    "oauth2-proxy is not started with --upstream=static://200: for a logged-in user "
                    "it answers the check with something other than 200 and Envoy denies the "
                    "request. Set --upstream=static://200"
                ),
            )
        address = proxy.last("http-address")
        host = (address.value if address else "127.0.0.1:4180").rsplit(":", 1)[0].strip("[]")
        if host in ("127.0.0.1", "localhost", "::1") and not (proxy.config_file and address is None):
            yield (
                proxy.workload,
                flag_path(proxy, "http-address"),
                (
                    f"oauth2-proxy listens on {host} (the default of --http-address is 127.0.0.1:4180): "
                    "the gateway cannot reach it and every check fails. Set --http-address=0.0.0.0:4180"
                ),
            )
    for provider in facts.providers:
        prefix = str(mapping(provider.http).get("pathPrefix", ""))
        if facts.is_proxy_provider(provider) and prefix.rstrip("/").endswith("/auth"):
            yield (
                provider.source.document,
                f"{provider.path}.envoyExtAuthzHttp.pathPrefix",
                (
                    f"pathPrefix {prefix} sends the checks to oauth2-proxy's auth endpoint, which "
                    "answers 202 Accepted for a logged-in user; Envoy treats anything but 200 as a "
                    "denial. Remove pathPrefix and run oauth2-proxy with --upstream=static://200"
                ),
            )


def proxy_flags_exist(facts: Facts) -> Iterator[Hit]:
    """A command-line flag is not defined by the oauth2-proxy release of the container's
    image tag (or by any v7 release when the tag is not a version): oauth2-proxy exits with
    "unknown flag" and the login is down. The message names the release that added the flag.

    Fix: remove or correct the flag, or use a newer image.
    """
    for proxy in facts.proxies:
        version = proxy.version if proxy.version and _is_v7(proxy.version) else None
        known = proxyflags.flags_for(version or proxyflags.LATEST)
        for name, flags in sorted(proxy.flags.items()):
            flag = next((f for f in flags if ".env[" not in f.path), None)
            if flag is None or name in known:
                continue
            since = proxyflags.flag_since(name)
            release = f"oauth2-proxy {version}" if version else "any oauth2-proxy v7 release"
            detail = f" (it appeared in {since})" if since else ""
            yield (
                proxy.workload,
                flag.path,
                (
                    f'--{name} is not a flag of {release}{detail}: oauth2-proxy exits with "unknown '
                    'flag" and the login is down. Remove it, fix its spelling, or use a newer image'
                ),
            )


def _is_v7(version: str) -> bool:
    try:
        return proxyflags.parse_version(version) >= (7, 0, 0)
    except ValueError:
        return False
