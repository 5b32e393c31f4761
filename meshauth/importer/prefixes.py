"""Import, several apps on one host: each route of a VirtualService that matches a path prefix
becomes an app with ``pathPrefix`` (Kubeflow's layout: the dashboard at ``/``, the other apps'
routes under their prefixes), the open paths of a shared host go to the app that owns them, and
``outputClaimToHeaders`` of the token checks becomes ``claimHeaders``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from meshauth.importer.context import Context, strings
from meshauth.importer.sources import Source
from meshauth.k8s import mapping, namespace_of, sequence, spec_of
from meshauth.rendering.shapes.oauth2proxy import EXT_AUTHZ_HEADERS

ROUTE_EXTRAS = (
    "rewrite",
    "redirect",
    "headers",
    "timeout",
    "retries",
    "fault",
    "mirror",
    "corsPolicy",
    "delegate",
)


@dataclass(frozen=True)
class Target:
    service: str
    namespace: str
    port: int | None
    prefix: str


def targets(ctx: Context, source: Source) -> list[Target]:
    """One target per destination of the VirtualService's routes, with the path prefix it is routed
    by (``/`` for a route without a match). A Service routed by several routes keeps the last: a
    named ``*-public`` route before it is meshauth's own public route (Istio before 1.9)."""
    routes = [r for r in spec_of(source.obj).get("http") or [] if isinstance(r, dict) and r.get("route")]
    hosts = [str((r["route"][0].get("destination") or {}).get("host", "")) for r in routes]
    found: list[Target] = []
    for index, route in enumerate(routes):
        host = hosts[index]
        if host in hosts[index + 1 :]:
            if not str(route.get("name", "")).endswith("-public"):
                ctx.warn(f"{host} is routed by several routes; only its last is imported", source)
            continue
        if len(route["route"]) > 1 or any(k in route for k in ROUTE_EXTRAS):
            ctx.warn(
                f"only the plain route to {host} is imported: meshauth writes one route per app, "
                "by path prefix (keep a VirtualService of your own for rewrites, splits and the like)",
                source,
            )
        prefix = _prefix(route.get("match"))
        if prefix is None:
            ctx.warn(
                f"the route to {host} matches more than a path prefix; not imported (meshauth "
                "routes by host and path prefix)",
                source,
            )
            continue
        parts = host.split(".")
        port = (route["route"][0].get("destination") or {}).get("port", {}).get("number")
        namespace = parts[1] if len(parts) > 1 else namespace_of(source.obj)
        found.append(Target(parts[0], namespace, port if isinstance(port, int) else None, prefix))
    return found


def _prefix(match: Any) -> str | None:
    """The path prefix a route's ``match`` stands for: none is ``/``; ``prefix: P`` is P;
    ``prefix: P/`` with ``exact: P`` (meshauth's own) is P/. Anything else: None."""
    if not match:
        return "/"
    if not isinstance(match, list) or not all(isinstance(m, dict) and set(m) == {"uri"} for m in match):
        return None
    uris = [m["uri"] for m in match if isinstance(m["uri"], dict) and len(m["uri"]) == 1]
    prefixes = [str(u["prefix"]) for u in uris if isinstance(u.get("prefix"), str)]
    exacts = [u["exact"] for u in uris if isinstance(u.get("exact"), str)]
    if len(uris) != len(match) or len(prefixes) != 1 or not prefixes[0].startswith("/"):
        return None
    prefix = prefixes[0]
    if exacts and (exacts != [prefix.rstrip("/")] or not prefix.endswith("/")):
        return None
    return prefix


def owns(prefix: str, path: str) -> bool:
    return path.startswith(prefix) or (prefix != "/" and prefix.endswith("/") and path == prefix[:-1])


def split_public_paths(apps: list[dict[str, Any]]) -> None:
    """Apps that share a host keep only the open paths under their own (longest) prefix."""
    for app in apps:
        hosts = set(app.get("hosts", [app.get("host")]))
        prefix = app.get("pathPrefix", "/")
        others = [
            o.get("pathPrefix", "/")
            for o in apps
            if o is not app and hosts & set(o.get("hosts", [o.get("host")]))
        ]
        if not others or "publicPaths" not in app:
            continue
        longer = [p for p in others if len(p) > len(prefix)]
        kept = [
            path
            for path in app["publicPaths"]
            if owns(prefix, path.rstrip("*")) and not any(owns(p, path.rstrip("*")) for p in longer)
        ]
        if kept:
            app["publicPaths"] = kept
        else:
            del app["publicPaths"]


def claim_headers(policies: list[Source]) -> dict[str, str]:
    """header -> claim from the jwtRules' ``outputClaimToHeaders`` of these RequestAuthentications."""
    found: dict[str, str] = {}
    for policy in policies:
        for rule in spec_of(policy.obj).get("jwtRules") or []:
            for output in (rule.get("outputClaimToHeaders") if isinstance(rule, dict) else None) or []:
                if isinstance(output, dict) and output.get("header") and output.get("claim"):
                    found.setdefault(str(output["header"]).lower(), str(output["claim"]))
    return found


def hoist_claim_headers(identity: dict[str, Any], apps: list[dict[str, Any]]) -> None:
    """Claim headers every app has alike become identity.claimHeaders (when the gateway's token check
    named none); an app keeps its own only where they differ from those."""
    own = [a.get("claimHeaders") or {} for a in apps]
    if "claimHeaders" not in identity and own and own[0] and all(o == own[0] for o in own):
        identity["claimHeaders"] = own[0]
    shared = identity.get("claimHeaders", {})
    for app in apps:
        if not app.get("claimHeaders") or app["claimHeaders"] == shared:
            app.pop("claimHeaders", None)


def scope_paths(prefix: str) -> list[str]:
    """The paths meshauth's own per-app policy is scoped to, for an app at ``prefix``."""
    if prefix == "/":
        return ["/*"]
    return [prefix[:-1], prefix + "*"] if prefix.endswith("/") else [prefix + "*"]


def is_scope(operation: dict[str, Any], prefix: str) -> bool:
    """Is this ``to.operation`` only the app's own prefix (without the longer ones of others)?"""
    paths, not_paths = strings(operation.get("paths")), strings(operation.get("notPaths"))
    if set(operation) - {"paths", "notPaths"} or paths != scope_paths(prefix):
        return False
    return all(owns(prefix, p.rstrip("*")) and p.rstrip("*") != prefix for p in not_paths)


_LUA_REMOVE = re.compile(r"""\bheaders:remove\(\s*"([a-z0-9-]+)"\s*\)""")
_LUA_LINE = re.compile(
    r"""^\s*(function envoy_on_request\(request_handle\)|local headers = request_handle:headers\(\)|"""
    r"""headers:remove\("[a-z0-9-]+"\)|end)?\s*$"""
)


def identity_header_filters(ctx: Context, identity: dict[str, Any], apps: list[dict[str, Any]]) -> None:
    """A gateway EnvoyFilter that only removes headers first (as meshauth's ``<name>-identity-headers``)
    is what meshauth renders from the config: it is accounted for, and a header it removes that the
    config would not is reported."""
    wanted = {h for h in EXT_AUTHZ_HEADERS["upstream_on_allow"] if h.startswith("x-auth-request-")}
    wanted |= set(identity.get("claimHeaders") or {})
    wanted |= {h for app in apps for h in app.get("claimHeaders") or {}}
    for source in ctx.of_kind("EnvoyFilter"):
        patches = sequence(spec_of(source.obj).get("configPatches"))
        bodies = [mapping(mapping(p).get("patch")) for p in patches]
        codes = [
            str(mapping(mapping(body.get("value")).get("typed_config")).get("inline_code", ""))
            for body in bodies
            if body.get("operation") == "INSERT_FIRST"
        ]
        if len(codes) != len(patches) or not codes:
            continue
        if not all(_LUA_LINE.match(line) for code in codes for line in code.splitlines()):
            continue
        ctx.use(source)
        extra = sorted({m.group(1) for code in codes for m in _LUA_REMOVE.finditer(code)} - wanted)
        if extra:
            ctx.warn(
                f"it removes {', '.join(extra)} from every request first; meshauth removes oauth2-proxy's "
                "x-auth-request-* headers and the claimHeaders: name a claim header in claimHeaders, or "
                "keep applying this filter for the others",
                source,
            )
