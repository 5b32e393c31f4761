"""Import, oauth2-proxy side: find its Deployment, and what it says besides the flags.

The Deployment's image (repository, tag, digest), replicas and namespace go to ``spec.oauth2Proxy``;
its Service and ServiceAccount are accounted for (meshauth renders its own). The flags are read by
:mod:`meshauth.importer.flagsources` and mapped to config fields by
:mod:`meshauth.importer.proxysettings`, :mod:`meshauth.importer.identity` and
:mod:`meshauth.importer.proxysecret`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from meshauth.compat import proxyflags
from meshauth.importer.context import Context
from meshauth.importer.flagsources import Flag, read_flags
from meshauth.importer.hardening import use_guards
from meshauth.importer.sources import Source
from meshauth.k8s import name_of, namespace_of, spec_of


@dataclass
class Proxy:
    """What the import learns from oauth2-proxy, for the other steps."""

    section: dict[str, Any]
    namespace: str
    flags: dict[str, Flag]
    source: Source | None
    guard: Source | None = None  # its ALLOW policy on the callers' mTLS identities


def find_proxy(ctx: Context, namespace: str | None, expected: bool = True) -> Proxy:
    """oauth2-proxy's Deployment and flags; ``expected``: the login asks oauth2-proxy (not authservice)."""
    deployments = [d for d in ctx.of_kind("Deployment") if _proxy_container(d.obj)]
    in_namespace = [d for d in deployments if namespace in (None, namespace_of(d.obj))]
    chosen = next(iter(in_namespace or deployments), None)
    for other in deployments:
        if other is not chosen:
            ctx.warn("a second oauth2-proxy Deployment: not imported (meshauth runs one)", other)
    if chosen is None:
        if not expected:
            return Proxy({}, namespace or "oauth2-proxy", {}, None)
        ctx.warn(
            f"no oauth2-proxy Deployment found: meshauth renders one ({proxyflags.LATEST}, its defaults)"
        )
        return Proxy({}, namespace or "oauth2-proxy", {}, None)
    ctx.use(chosen)
    namespace = namespace_of(chosen.obj)
    container = _proxy_container(chosen.obj) or {}
    flags = read_flags(ctx, chosen, container, namespace)
    section = _image(ctx, chosen, str(container.get("image", "")))
    if namespace != "oauth2-proxy":
        section["namespace"] = namespace
    replicas = spec_of(chosen.obj).get("replicas", 1)
    if isinstance(replicas, int) and replicas != 1:
        section["replicas"] = replicas
    _account_companions(ctx, chosen, namespace)
    return Proxy(section, namespace, flags, chosen, use_guards(ctx, "oauth2-proxy", namespace))


def _proxy_container(obj: dict[str, Any]) -> dict[str, Any] | None:
    containers = ((spec_of(obj).get("template") or {}).get("spec") or {}).get("containers") or []
    return next(
        (
            c
            for c in containers
            if isinstance(c, dict) and re.search(r"oauth2[-_]proxy", str(c.get("image", "")))
        ),
        None,
    )


def _image(ctx: Context, source: Source, image: str) -> dict[str, Any]:
    named, _, digest = image.partition("@")
    repository, _, tag = named.rpartition(":") if ":" in named.rsplit("/", 1)[-1] else (named, "", "")
    section: dict[str, Any] = {}
    if repository and repository != "quay.io/oauth2-proxy/oauth2-proxy":
        section["image"] = repository
    if digest:
        section["digest"] = digest
    try:
        version = proxyflags.parse_version(tag)
    except ValueError:
        ctx.warn(
            f"image {image!r} has no release tag: meshauth uses oauth2-proxy "
            f"{proxyflags.LATEST} (set oauth2Proxy.version)",
            source,
        )
        return section
    if version < (7, 0, 0):
        ctx.warn(
            f"oauth2-proxy {tag} is older than v7, which meshauth needs: it uses "
            f"{proxyflags.LATEST} (its flags may differ from yours)",
            source,
        )
        return section
    return {**section, "version": tag}


def _account_companions(ctx: Context, deployment: Source, namespace: str) -> None:
    """The proxy's Service and ServiceAccount are rendered by meshauth."""
    labels = ((spec_of(deployment.obj).get("template") or {}).get("metadata") or {}).get("labels") or {}
    for service in ctx.of_kind("Service", namespace):
        selector = spec_of(service.obj).get("selector") or {}
        if selector and all(labels.get(k) == v for k, v in selector.items()):
            ctx.use(service)
            ports = [p.get("port") for p in spec_of(service.obj).get("ports") or [] if isinstance(p, dict)]
            if name_of(service.obj) != "oauth2-proxy" or ports != [4180]:
                ctx.warn("meshauth's oauth2-proxy Service is named oauth2-proxy, port 4180", service)
    account = ((spec_of(deployment.obj).get("template") or {}).get("spec") or {}).get("serviceAccountName")
    ctx.use(ctx.named("ServiceAccount", str(account), namespace) if account else None)
