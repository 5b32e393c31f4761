"""Which oauth2-proxy serves a provider, and what it is set to: flags, issuer, Secret-held values."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator, Mapping
from typing import Any

from meshauth.k8s import mapping, name_of, namespace_of, sequence
from meshauth.validation.rules.facts import Facts
from meshauth.validation.rules.proxycontainer import Proxy

GOOGLE_ISSUER = "https://accounts.google.com"


def proxy_for(facts: Facts, provider: str) -> Proxy | None:
    """The oauth2-proxy a provider name reaches (the only one, when the mesh config is unknown)."""
    for p in facts.providers:
        if p.name == provider and p.ext_authz:
            service = facts.service_for(str(p.ext_authz[1].get("service", "")))
            for proxy in facts.proxies:
                selector = mapping(mapping(mapping(service).get("spec")).get("selector"))
                if (
                    service
                    and namespace_of(service) == proxy.namespace
                    and selector
                    and all(proxy.pod_labels.get(k) == v for k, v in selector.items())
                ):
                    return proxy
    return facts.proxies[0] if len(facts.proxies) == 1 else None


def flag_path(proxy: Proxy, name: str) -> str:
    """Where a finding about a flag points: the flag, or the container's args when it is unset."""
    flag = proxy.last(name)
    return flag.path if flag else f"{proxy.container_path}.args"


def proxy_issuer(proxy: Proxy) -> str | None:
    """The OIDC issuer oauth2-proxy logs in with (as :func:`same_issuer` has it), if known."""
    flag = proxy.last("oidc-issuer-url")
    if flag:
        return same_issuer(flag.value)
    provider = proxy.last("provider")
    return same_issuer(GOOGLE_ISSUER) if provider and provider.value == "google" else None


def same_issuer(issuer: Any) -> str:
    """An issuer as compared here: without scheme or trailing slash (Google's tokens say either
    ``accounts.google.com`` or ``https://accounts.google.com``)."""
    return str(issuer).split("://", 1)[-1].rstrip("/")


def setting_values(
    facts: Facts, proxy: Proxy, flag: str
) -> Iterator[tuple[Mapping[str, Any], str, str, str]]:
    """(object, path, description, value) of an oauth2-proxy setting: a literal flag or
    variable, or the Secret key a variable or envFrom reads."""
    literal = proxy.last(flag)
    if literal:
        yield proxy.workload, literal.path, f"--{flag}", literal.value
    variable = "OAUTH2_PROXY_" + flag.upper().replace("-", "_")
    for env in sequence(proxy.container.get("env")):
        ref = mapping(mapping(env).get("valueFrom")).get("secretKeyRef") if isinstance(env, Mapping) else None
        if mapping(env).get("name") == variable and isinstance(ref, Mapping):
            yield from secret_values(facts, proxy.namespace, str(ref.get("name")), str(ref.get("key")))
    for source in sequence(proxy.container.get("envFrom")):
        ref = mapping(source).get("secretRef") if isinstance(source, Mapping) else None
        if isinstance(ref, Mapping):
            yield from secret_values(facts, proxy.namespace, str(ref.get("name")), variable)


def secret_values(
    facts: Facts, namespace: str, name: str, key: str
) -> Iterator[tuple[Mapping[str, Any], str, str, str]]:
    """(Secret, path, description, value) of a key of the Secret ``namespace``/``name``."""
    for secret in facts.of_kind("Secret"):
        if namespace_of(secret) != namespace or name_of(secret) != name:
            continue
        where = f"Secret {namespace}/{name} key {key}"
        if isinstance(mapping(secret.get("stringData")).get(key), str):
            yield secret, f"stringData.{key}", where, secret["stringData"][key]
        elif isinstance(mapping(secret.get("data")).get(key), str):
            try:
                value = base64.b64decode(secret["data"][key], validate=True).decode("utf-8")
            except (binascii.Error, ValueError):
                continue  # not base64: the schema check reports it
            yield secret, f"data.{key}", where, value
