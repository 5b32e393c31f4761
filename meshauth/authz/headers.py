"""The identity headers an app receives for one request, and where each came from.

:mod:`meshauth.authz.simulate` decides whether a request gets in; this module says, for a request
that does, which identity headers the app sees: read from the rendered objects, in Envoy's order at
the gateway and the app's proxy:

1. a client header reaches the app unless an EnvoyFilter inserts a filter *first* into the gateway's
   HTTP filters (``INSERT_FIRST``, before ext_authz and jwt_authn) that removes it (a Lua
   ``headers:remove("name")``): then it is a *removed client copy*;
2. ext_authz (the login): oauth2-proxy with ``--set-xauthrequest`` answers with
   ``X-Auth-Request-User``, ``-Email``, ``-Groups`` and ``-Preferred-Username`` for what the session
   has (no groups, no groups header), and Envoy sets those the extension provider lists in
   ``headersToUpstreamOnAllow`` (overriding a copy of the same name);
3. jwt_authn at the app's proxy (sidecar, or the waypoint of its namespace): each
   ``outputClaimToHeaders`` of a RequestAuthentication there, for a token it verified, *adds* the
   claim's value (Envoy's ``addCopy``: a client copy that was not removed stays beside it). Strings
   as they are; lists and objects as Envoy writes them, base64 of their JSON.

Route-level header removal is not modelled as protection: the router applies it after these filters.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from meshauth.authz.decision import Decision, Environment, Request
from meshauth.authz.proxylogin import first_arg, proxy_args
from meshauth.findings import object_ref
from meshauth.k8s import mapping, sequence

REMOVED = "removed client copy"
CLIENT = "client"
OAUTH2_PROXY = "oauth2-proxy"
_LUA_REMOVE = re.compile(
    r"""headers\(\)\s*:\s*remove\(\s*["']([^"']+)["']\s*\)|:remove\(\s*["']([^"']+)["']\s*\)"""
)
_XAUTH = {
    "x-auth-request-user": "sub",
    "x-auth-request-email": "email",
    "x-auth-request-groups": "groups",
    "x-auth-request-preferred-username": "preferred_username",
}


@dataclass(frozen=True)
class AppHeader:
    """One header as the app receives it: ``value`` None when the app does not get it."""

    name: str
    value: str | None
    source: str  # client, oauth2-proxy, claim <name>, removed client copy
    by: str = ""  # the object that set or removed it

    def __str__(self) -> str:
        value = "(not passed on)" if self.value is None else self.value
        by = f"  [{self.by}]" if self.by else ""
        return f"{self.name}: {value}  <- {self.source}{by}"


def app_headers(bundle: Any, request: Request, decision: Decision, env: Environment) -> tuple[AppHeader, ...]:
    """The identity and client headers the app receives, for an allowed request that reaches an app."""
    if not decision.allowed or not decision.destination or "." not in decision.destination:
        return ()
    objects, mesh = (bundle.objects, bundle.mesh_config) if hasattr(bundle, "objects") else bundle
    objects = list(objects)
    out: dict[str, list[AppHeader]] = {}
    removed = gateway_removals(objects, request.host)
    for name, value in request.headers.items():
        key = name.lower()
        if key in removed:
            out.setdefault(key, []).append(AppHeader(key, None, REMOVED, removed[key]))
        else:
            out.setdefault(key, []).append(AppHeader(key, value, CLIENT))
    token = _session_token(decision, request)
    if token is not None:
        for header in _oauth2_proxy_headers(objects, mesh or {}, decision, token):
            out[header.name] = [h for h in out.get(header.name, []) if h.value is None] + [header]
    if token is not None and _token_reaches_app(decision):
        for header in _claim_headers(objects, decision.destination, env, token):
            out.setdefault(header.name, []).append(header)
    return tuple(h for name in sorted(out) for h in out[name])


def gateway_removals(objects: Iterable[Mapping[str, Any]], host: str) -> dict[str, str]:
    """Header name -> the EnvoyFilter that removes it first at the gateway serving ``host``."""
    labels = _gateway_labels(objects, host)
    removed: dict[str, str] = {}
    for obj in objects:
        if obj.get("kind") != "EnvoyFilter" or labels is None:
            continue
        selector = mapping(mapping(mapping(obj.get("spec")).get("workloadSelector")).get("labels"))
        if (
            any(labels[1].get(k) != v for k, v in selector.items())
            or mapping(obj.get("metadata")).get("namespace") != labels[0]
        ):
            continue
        for name in removed_first(obj):
            removed.setdefault(name, object_ref(obj))
    return removed


def removed_first(envoy_filter: Mapping[str, Any]) -> list[str]:
    """The headers (lowercase) an EnvoyFilter removes in an HTTP filter it inserts first at a
    gateway, before ext_authz and jwt_authn (a Lua ``remove``)."""
    names: list[str] = []
    for patch in map(mapping, sequence(mapping(envoy_filter.get("spec")).get("configPatches"))):
        body = mapping(patch.get("patch"))
        first = body.get("operation") == "INSERT_FIRST"
        at_gateway = mapping(patch.get("match")).get("context") in ("GATEWAY", "ANY", None)
        if patch.get("applyTo") != "HTTP_FILTER" or not first or not at_gateway:
            continue
        code = mapping(mapping(body.get("value")).get("typed_config"))
        text = str(code.get("inline_code") or code.get("inlineCode") or "")
        names += [(m.group(1) or m.group(2)).lower() for m in _LUA_REMOVE.finditer(text)]
    return names


def _gateway_labels(objects: Iterable[Mapping[str, Any]], host: str) -> tuple[str, dict[str, str]] | None:
    """(namespace, pod labels) of the gateway that serves ``host``."""
    for obj in objects:
        if obj.get("kind") != "Gateway":
            continue
        spec, meta = mapping(obj.get("spec")), mapping(obj.get("metadata"))
        if str(obj.get("apiVersion", "")).startswith("networking.istio.io"):
            hosts = [h for s in sequence(spec.get("servers")) for h in sequence(mapping(s).get("hosts"))]
            if any(_host_in(str(h), host) for h in hosts):
                return str(meta.get("namespace")), dict(mapping(spec.get("selector")))
        elif any(
            lst.get("protocol") in ("HTTP", "HTTPS") and _host_in(str(lst.get("hostname") or "*"), host)
            for lst in map(mapping, sequence(spec.get("listeners")))
        ):  # a waypoint (HBONE) serves no host
            return str(meta.get("namespace")), {
                "gateway.networking.k8s.io/gateway-name": str(meta.get("name"))
            }
    return None


def _host_in(pattern: str, host: str) -> bool:
    pattern = pattern.split("/", 1)[-1]
    return pattern == "*" or pattern == host or (pattern.startswith("*.") and host.endswith(pattern[1:]))


def _session_token(decision: Decision, request: Request) -> Mapping[str, Any] | None:
    """The ID token's claims when the login passed this request (None: no login ran)."""
    accepted = any(s.hop == "provider" and s.outcome.startswith("session accepted") for s in decision.steps)
    return dict(request.claims or {}) if accepted and request.claims is not None else None


def _token_reaches_app(decision: Decision) -> bool:
    return any(s.hop == "provider" and "ID token added" in s.outcome for s in decision.steps)


def _oauth2_proxy_headers(
    objects: list[Mapping[str, Any]], mesh: Mapping[str, Any], decision: Decision, token: Mapping[str, Any]
) -> list[AppHeader]:
    step = next(s for s in decision.steps if s.hop == "provider" and s.stage == "login")
    deployment = next((o for o in objects if object_ref(o) == step.policy), None)
    if deployment is None or first_arg(proxy_args(deployment), "set-xauthrequest") != "true":
        return []
    passed: set[str] = set()
    config = (mesh.get("spec") or {}).get("meshConfig") if "spec" in mesh else mesh.get("meshConfig")
    for provider in (config or {}).get("extensionProviders") or []:
        http = provider.get("envoyExtAuthzHttp") or {}
        passed |= {str(h).lower() for h in http.get("headersToUpstreamOnAllow") or []}
    headers = []
    for name, claim in _XAUTH.items():
        value = token.get(claim, "simulated-user" if claim == "sub" else None)
        if name in passed and value not in (None, "", []):
            text = ",".join(map(str, value)) if isinstance(value, list) else str(value)
            headers.append(AppHeader(name, text, OAUTH2_PROXY, step.policy))
    return headers


def _claim_headers(
    objects: list[Mapping[str, Any]], destination: str, env: Environment, token: Mapping[str, Any]
) -> list[AppHeader]:
    namespace = destination.split(".")[1]
    labels = env.service_labels.get(destination, {})
    headers = []
    for obj in objects:
        meta, spec = obj.get("metadata") or {}, obj.get("spec") or {}
        if obj.get("kind") != "RequestAuthentication" or meta.get("namespace") != namespace:
            continue
        selector = (spec.get("selector") or {}).get("matchLabels")
        at_waypoint = any(ref.get("kind") == "Gateway" for ref in spec.get("targetRefs") or [])
        if not at_waypoint and (selector is None or any(labels.get(k) != v for k, v in selector.items())):
            continue
        for rule in spec.get("jwtRules") or []:
            for output in rule.get("outputClaimToHeaders") or []:
                value = token.get(output.get("claim"))
                if value is not None:
                    headers.append(
                        AppHeader(
                            str(output["header"]).lower(),
                            _claim_text(value),
                            f"claim {output.get('claim')}",
                            object_ref(obj),
                        )
                    )
            break  # the token's issuer is the login's: the first rule
    return headers


def _claim_text(value: Any) -> str:
    """A claim as Envoy's jwt_authn writes it into a header."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return base64.b64encode(json.dumps(value, separators=(",", ":")).encode()).decode()
    return str(value)
