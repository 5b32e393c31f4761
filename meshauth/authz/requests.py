"""What simulate and explain add around matching: a request as Istio normalizes it, which policies
apply to a workload, and what RequestAuthentication makes of a token.

Used by :mod:`meshauth.authz.simulate` and :mod:`meshauth.authz.explain`; whether a policy's rules match is
:mod:`meshauth.authz.matcher`'s, which the rules share. This module knows nothing about meshauth's config.

What it follows (istio.io, "Authorization Policy Normalization", "Authentication Policy" reference):

* paths drop the query and are normalized as Istio's default (``BASE``) does; methods are upper case;
* a policy attaches to a proxy as pilot's ``WorkloadPolicyMatcher.ShouldAttachPolicy`` decides
  (:func:`attaches`): a sidecar (or an Istio gateway) by namespace and ``selector.matchLabels`` (root
  namespace without a selector: mesh-wide), never by ``targetRefs``; a Gateway API gateway by
  ``targetRefs`` to its Gateway (same namespace), or without ``targetRefs`` by selector as a sidecar;
  a waypoint only by ``targetRefs``: its Gateway, a Service it serves, or the ``istio-waypoint``
  GatewayClass from the root namespace; ``istio.io/dry-run: "true"`` policies do not enforce;
* RequestAuthentication: a request without a token passes with no identity; a token whose issuer
  no rule names, or whose audience a rule does not list, is rejected (401); a valid token sets
  ``request.auth.*`` and is removed before the upstream unless ``forwardOriginalToken: true``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from meshauth.authz.matcher import Identity
from meshauth.authz.routes import GATEWAY_API, WAYPOINT_CLASS, Pods
from meshauth.findings import object_ref

DRY_RUN = "istio.io/dry-run"
_UNRESERVED_ESCAPE = re.compile(r"%(2[dDeE]|3[0-9]|[46][1-9a-fA-F]|[57][0-9aA]|5[fF]|7[eE])")


# --- requests as Istio normalizes them -------------------------------------------------------------


def normalize_path(raw: str) -> str:
    """The path Istio's policies see with the default normalization (``BASE``): query and fragment
    dropped, unreserved percent-escapes decoded once (``%2F`` and ``%5C`` stay), backslashes turned
    into slashes, dot segments resolved (RFC 3986). Raises ValueError for what Envoy rejects (400)."""
    path = raw.split("?", 1)[0].split("#", 1)[0]
    if "%00" in path or "\x00" in path:
        raise ValueError("a path with %00 is rejected (400)")
    if not path.startswith(("/", "\\")):
        raise ValueError("a path must start with /")
    path = _UNRESERVED_ESCAPE.sub(lambda m: unquote(m.group(0)), path).replace("\\", "/")
    out: list[str] = []
    for segment in path.split("/")[1:]:
        if segment == "..":
            if out:
                out.pop()
        elif segment != ".":
            out.append(segment)
    trailing = path.endswith(("/.", "/..")) and out
    return "/" + "/".join(out) + ("/" if trailing else "")


def check_method(method: str) -> str:
    if not method or method != method.upper() or not method.isalpha():
        raise ValueError("a method that is not upper case is rejected (400)")
    return method


# --- which policies apply --------------------------------------------------------------------------


def applies(policy: Mapping[str, Any], namespace: str, labels: Mapping[str, str], root: str) -> bool:
    """Does the policy (AuthorizationPolicy or RequestAuthentication) select this sidecar workload?
    A sidecar ignores policies with ``targetRefs``."""
    return attaches(policy, Pods("", namespace, labels), root)


def target_refs(policy: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    spec = policy.get("spec") or {}
    refs = spec.get("targetRefs") or ([spec["targetRef"]] if spec.get("targetRef") else [])
    return [r for r in refs if isinstance(r, Mapping)]


def attaches(policy: Mapping[str, Any], pods: Pods, root: str) -> bool:
    """Does the policy attach to the proxy of ``pods`` (see the module's notes)?"""
    meta, spec = policy.get("metadata") or {}, policy.get("spec") or {}
    namespace = meta.get("namespace") or "default"
    refs = target_refs(policy)
    if pods.gateway_name is None or not refs:
        if refs or pods.waypoint:
            return False
        selector = (spec.get("selector") or {}).get("matchLabels")
        if namespace == root and not selector:
            return True  # mesh-wide
        if namespace != pods.namespace:
            return False
        return all(pods.labels.get(k) == v for k, v in (selector or {}).items())
    for ref in refs:
        group, kind, name = ref.get("group") or "", ref.get("kind"), ref.get("name")
        if (
            pods.waypoint
            and kind == "Service"
            and group in ("", "core")
            and (namespace, name) in pods.services
        ):
            return True
        if pods.waypoint and kind == "GatewayClass" and group == GATEWAY_API and name == WAYPOINT_CLASS:
            if namespace == root:
                return True
        if namespace != pods.namespace or (ref.get("namespace") or namespace) != pods.namespace:
            continue
        if kind == "Gateway" and group == GATEWAY_API and name == pods.gateway_name:
            return True
    return False


def enforced(policy: Mapping[str, Any]) -> bool:
    annotations = (policy.get("metadata") or {}).get("annotations") or {}
    return str(annotations.get(DRY_RUN, "")).lower() != "true"


# --- RequestAuthentication -------------------------------------------------------------------------


@dataclass(frozen=True)
class TokenCheck:
    outcome: str  # "none" (no token, or no RequestAuthentication), "valid", "rejected"
    identity: Identity | None = None
    forward: bool = True  # does the token stay in the request for the upstream?
    policy: str = ""  # the RequestAuthentication that decided
    reason: str = ""


def check_token(authentications: Sequence[Mapping[str, Any]], claims: Mapping[str, Any] | None) -> TokenCheck:
    """What jwt_authn makes of a bearer token with ``claims`` (None: no token) at one workload."""
    if claims is None:
        return TokenCheck("none", reason="no token: the request goes on without an identity")
    if not authentications:
        return TokenCheck("none", reason="no RequestAuthentication: the token is not looked at")
    issuer = claims.get("iss")
    for policy in authentications:
        for rule in (policy.get("spec") or {}).get("jwtRules") or []:
            if rule.get("issuer") != issuer:
                continue
            audiences = _audiences(claims)
            wanted = rule.get("audiences") or []
            if wanted and not set(wanted) & set(audiences):
                return TokenCheck(
                    "rejected", policy=object_ref(policy), reason="Audiences in Jwt are not allowed (401)"
                )
            identity = Identity(
                principal=f"{issuer}/{claims.get('sub', '')}",
                audiences=tuple(audiences),
                claims=dict(claims),
                presenter=str(claims.get("azp", "")),
            )
            return TokenCheck(
                "valid",
                identity,
                bool(rule.get("forwardOriginalToken")),
                object_ref(policy),
                f"token of {issuer} verified",
            )
    return TokenCheck(
        "rejected",
        policy=", ".join(object_ref(p) for p in authentications),
        reason=f"Jwt issuer is not configured: {issuer!r} (401)",
    )


def _audiences(claims: Mapping[str, Any]) -> list[str]:
    aud = claims.get("aud")
    if isinstance(aud, str):
        return [aud]
    if isinstance(aud, list):
        return [a for a in aud if isinstance(a, str)]
    return []
