"""Rules on the extension provider: that it exists, is well named, reaches oauth2-proxy and passes
the session cookie both ways.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

from meshauth.authz import matcher as authz
from meshauth.k8s import custom_policies, mapping, name_of, namespace_of, provider_name, sequence
from meshauth.validation.rules.facts import Facts, Hit

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


def custom_provider_defined(facts: Facts) -> Iterator[Hit]:
    """An `AuthorizationPolicy` with `action: CUSTOM` names `provider.name`, but no
    `meshConfig.extensionProviders` entry has that name. Istio does not check this: every request the
    policy matches is denied (403), for every user, with no hint in the policy's status.

    Fix: add the provider to `meshConfig.extensionProviders`, or correct the name in the policy.
    """
    if not facts.mesh_known:
        return
    names = {p.name for p in facts.providers}
    for policy in custom_policies(facts.of_kind("AuthorizationPolicy")):
        name = provider_name(policy)
        if name not in names:
            yield (
                policy,
                "spec.provider.name",
                (
                    f"provider {name!r} is not an extension provider of the mesh config "
                    f"(defined: {', '.join(sorted(names)) or 'none'}); Istio denies every "
                    "request this policy matches. Add the provider to meshConfig.extensionProviders "
                    "or fix the name"
                ),
            )


def provider_name_is_dns_label(facts: Facts) -> Iterator[Hit]:
    """A provider name (in the mesh config, or in a CUSTOM policy when no mesh config is
    given) has capitals, underscores, dots or more than 63 characters. From Istio 1.30 such a provider
    is invalid and every request it guards is denied; before, it works until the upgrade.

    Fix: rename it to a DNS label such as `oauth2-proxy`, in the mesh config and in every CUSTOM
    policy's `provider.name`.
    """
    why = (
        "is not a lowercase DNS label (a-z, 0-9 and '-', at most 63 characters); from Istio 1.30 "
        "such a provider is invalid and every request a CUSTOM policy sends to it is denied. "
        "Rename it, such as 'oauth2-proxy', in meshConfig.extensionProviders and in every CUSTOM "
        "policy's provider.name"
    )
    for provider in facts.providers:
        if not _DNS_LABEL.match(provider.name):
            yield provider.source.document, f"{provider.path}.name", f"provider name {provider.name!r} {why}"
    defined = {p.name for p in facts.providers}
    for policy in custom_policies(facts.of_kind("AuthorizationPolicy")):
        name = provider_name(policy)
        if name and name not in defined and not _DNS_LABEL.match(name):
            yield policy, "spec.provider.name", f"provider name {name!r} {why}"


def provider_reaches_proxy(facts: Facts) -> Iterator[Hit]:
    """The oauth2-proxy extension provider's `service` is not a Service in the
    manifests while oauth2-proxy's Service is (wrong name or namespace), or its `port` is not one of
    that Service's ports, or that Service selects no oauth2-proxy pods. Every check fails and Istio
    denies the requests (403).

    Fix: point `service` at `<service>.<namespace>.svc.cluster.local` and `port` at the Service's port.
    """
    for provider in facts.providers:
        found = provider.ext_authz
        if found is None or not facts.is_proxy_provider(provider):
            continue
        key, settings = found
        host, port = str(settings.get("service", "")), settings.get("port")
        service = facts.service_for(host)
        where = f"{provider.path}.{key}"
        if service is None:
            known = [s for s in facts.of_kind("Service") if facts.selects_proxy(s)]
            if known:
                yield (
                    provider.source.document,
                    f"{where}.service",
                    (
                        f"service {host!r} is not a Service in the manifests; oauth2-proxy's Service is "
                        f"{name_of(known[0])}.{namespace_of(known[0])}.svc.cluster.local. Every check "
                        "fails and Istio denies the requests: point service at that Service"
                    ),
                )
            continue
        ports = [
            p.get("port")
            for p in sequence(mapping(service.get("spec")).get("ports"))
            if isinstance(p, Mapping)
        ]
        if _port_number(port) not in [_port_number(p) for p in ports]:
            yield (
                provider.source.document,
                f"{where}.port",
                (
                    f"port {port} is not a port of Service {name_of(service)}.{namespace_of(service)} "
                    f"(ports: {', '.join(map(str, ports)) or 'none'}); every check fails and Istio "
                    "denies the requests. Use the Service's port"
                ),
            )
        if facts.proxies and not facts.selects_proxy(service):
            yield (
                service,
                "spec.selector",
                (
                    "this Service, which the extension provider calls, selects no oauth2-proxy pods: "
                    "it has no endpoints, every check fails and Istio denies the requests. Make its "
                    "selector match the oauth2-proxy pod labels"
                ),
            )


def provider_passes_cookies(facts: Facts) -> Iterator[Hit]:
    """For the oauth2-proxy provider, `headersToDownstreamOnDeny` is set but does not
    include `set-cookie` (the session cookie set at the end of the login never reaches the browser),
    or `includeRequestHeadersInCheck` (`includeHeadersInCheck` before Istio 1.10) does not include
    `cookie` (Envoy sends only host, method and path by default, so oauth2-proxy never sees the
    session). Either way, login loops.

    Fix: `includeRequestHeadersInCheck: [authorization, cookie]` and
    `headersToDownstreamOnDeny: [content-type, set-cookie]`.
    """
    for provider in facts.providers:
        http = provider.http
        if http is None or not facts.is_proxy_provider(provider):
            continue
        where = f"{provider.path}.envoyExtAuthzHttp"
        deny = http.get("headersToDownstreamOnDeny")
        if deny is not None and not authz.any_matches(deny, "set-cookie", fold=True):
            yield (
                provider.source.document,
                f"{where}.headersToDownstreamOnDeny",
                (
                    "lacks set-cookie: the cookie oauth2-proxy sets at the end of the login never "
                    "reaches the browser, so login loops. Add set-cookie (and content-type)"
                ),
            )
        check_headers = http.get("includeRequestHeadersInCheck", http.get("includeHeadersInCheck"))
        if not authz.any_matches(check_headers, "cookie", fold=True):
            yield (
                provider.source.document,
                f"{where}.includeRequestHeadersInCheck",
                (
                    "lacks cookie: Envoy does not send the browser's session cookie to oauth2-proxy, "
                    "which then sends every request to the login page again. Add cookie (and "
                    "authorization for bearer tokens)"
                ),
            )


def _port_number(value: object) -> object:
    """A port as Istio reads it: ``"4180"`` is 4180 (istio.io's examples quote it)."""
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return value
