"""Istio's authorization semantics, written from Istio's reference docs, for offline evaluation.

This module knows nothing about meshauth's config: it reads AuthorizationPolicy and
RequestAuthentication objects and decides for one request at one workload, so that
:mod:`meshauth.simulate` can check what was rendered independently of how it was planned.

What it follows (istio.io, "Authorization Policy" reference, "Authorization Policy Normalization",
"Authentication Policy" reference):

* actions: CUSTOM first, then DENY, then ALLOW (AUDIT never decides); with ALLOW policies present,
  a request no rule matches is denied; a policy with no rules never matches (``spec: {}`` thus
  denies everything once it applies); ``istio.io/dry-run: "true"`` policies do not enforce;
* a rule matches when its ``from`` (any source), ``to`` (any operation) and ``when`` (every
  condition) all match; inside a source or operation every field given must match; a ``notX``
  field matches when no value matches;
* string matching: exact, prefix (``abc*``), suffix (``*abc``), and ``*`` for "present, any
  value"; hosts ignore case; a host is matched as it comes in the Host header, port included (hence
  meshauth's ``host:*`` patterns); paths drop the query and are normalized as Istio's default
  (``BASE``) does; path templates ``{*}`` (one segment) and ``{**}`` (the rest) are supported;
* conditions: ``request.auth.audiences``/``principal``/``presenter``/``claims[a][b]`` (only
  string and string-list claims ever match), ``request.headers[name]``, ``source.principal``,
  ``source.namespace``, ``destination.port``, ``connection.sni``;
* RequestAuthentication: a request without a token passes with no identity; a token whose issuer
  no rule names, or whose audience a rule does not list, is rejected (401); a valid token sets
  ``request.auth.*`` and is removed before the upstream unless ``forwardOriginalToken: true``.

Anything else (``ipBlocks``, ``targetRefs``, other condition keys) raises :class:`Unsupported`
rather than being guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Optional, Sequence
from urllib.parse import unquote

from meshauth.findings import object_ref

DRY_RUN = "istio.io/dry-run"
_UNRESERVED_ESCAPE = re.compile(r"%(2[dDeE]|3[0-9]|[46][1-9a-fA-F]|[57][0-9aA]|5[fF]|7[eE])")


class Unsupported(ValueError):
    """A policy uses a field the evaluator does not model; the answer would be a guess."""


@dataclass(frozen=True)
class Identity:
    """What RequestAuthentication established: ``request.auth.*``."""

    principal: str
    audiences: tuple[str, ...]
    claims: Mapping[str, Any]
    presenter: str = ""


@dataclass(frozen=True)
class Call:
    """One request as one workload sees it."""

    host: str  # the Host header as sent (maybe with a port)
    path: str  # normalized, without query
    method: str
    port: int  # the destination port at this workload
    source_principal: Optional[str] = None  # the peer's mTLS identity; None for a plain client
    auth: Optional[Identity] = None
    headers: Mapping[str, str] = field(default_factory=dict)


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


# --- string matching -------------------------------------------------------------------------------


def match_string(pattern: str, value: Optional[str], ignore_case: bool = False) -> bool:
    """Istio's exact / ``prefix*`` / ``*suffix`` / ``*`` (present) matching."""
    if value is None:
        return False
    if ignore_case:
        pattern, value = pattern.lower(), value.lower()
    if pattern == "*":
        return True
    if pattern.startswith("*"):
        return value.endswith(pattern[1:])
    if pattern.endswith("*"):
        return value.startswith(pattern[:-1])
    return value == pattern


def match_path(pattern: str, path: str) -> bool:
    if "{" in pattern:
        return _template(pattern).fullmatch(path) is not None
    return match_string(pattern, path)


def _template(pattern: str) -> re.Pattern[str]:
    parts = re.split(r"(\{\*\*\}|\{\*\})", pattern)
    text = "".join(
        "[^/]+" if p == "{*}" else ".*" if p == "{**}" else re.escape(p) for p in parts
    )
    return re.compile(text)


def _any(patterns: Iterable[str], values: Sequence[Optional[str]], **options: Any) -> bool:
    return any(match_string(p, v, **options) for p in patterns for v in values)


# --- rules -----------------------------------------------------------------------------------------


def applies(policy: Mapping[str, Any], namespace: str, labels: Mapping[str, str], root: str) -> bool:
    """Does the policy (AuthorizationPolicy or RequestAuthentication) select this workload?"""
    meta, spec = policy.get("metadata") or {}, policy.get("spec") or {}
    if spec.get("targetRef") or spec.get("targetRefs"):
        raise Unsupported(f"{object_ref(policy)}: targetRefs are not modelled")
    selector = (spec.get("selector") or {}).get("matchLabels")
    if meta.get("namespace") == root and not selector:
        return True  # mesh-wide
    if meta.get("namespace") != namespace:
        return False
    return all(labels.get(k) == v for k, v in (selector or {}).items())


def enforced(policy: Mapping[str, Any]) -> bool:
    annotations = (policy.get("metadata") or {}).get("annotations") or {}
    return str(annotations.get(DRY_RUN, "")).lower() != "true"


def matching_rule(
    policy: Mapping[str, Any], call: Call, index: Optional["RuleIndex"] = None
) -> Optional[int]:
    """The index of the first rule of the policy that matches the call, or None."""
    rules = (policy.get("spec") or {}).get("rules") or []
    candidates = index.candidates(call.host) if index else range(len(rules))
    for number in candidates:
        if rule_matches(rules[number] or {}, call):
            return number
    return None


class RuleIndex:
    """Which rules of a policy can match a host at all, so that a policy with a rule per app is not
    read rule by rule for every request. A rule whose every operation lists hosts, each exact or
    ``host:*``, cannot match a request for another host; every other rule is always a candidate.
    Candidates are still matched in full, so this changes speed, never the answer."""

    def __init__(self, policy: Mapping[str, Any]) -> None:
        self.always: list[int] = []
        self.by_host: dict[str, list[int]] = {}
        for number, rule in enumerate((policy.get("spec") or {}).get("rules") or []):
            names = _exact_hosts(rule or {})
            if names is None:
                self.always.append(number)
            for name in names or ():
                self.by_host.setdefault(name, []).append(number)

    def candidates(self, host: str) -> list[int]:
        if host.startswith("["):  # an IPv6 literal: no shortcut
            return sorted({*self.always, *(n for ns in self.by_host.values() for n in ns)})
        return sorted({*self.always, *self.by_host.get(host.split(":", 1)[0].lower(), ())})


def _exact_hosts(rule: Mapping[str, Any]) -> Optional[set[str]]:
    operations = [o.get("operation") or {} for o in rule.get("to") or []]
    if not operations:
        return None
    names: set[str] = set()
    for operation in operations:
        if not operation.get("hosts"):
            return None
        for pattern in operation["hosts"]:
            base = pattern[:-2] if pattern.endswith(":*") else pattern
            if "*" in base or ":" in base:
                return None
            names.add(base.lower())
    return names


def rule_matches(rule: Mapping[str, Any], call: Call) -> bool:
    sources = [s.get("source") or {} for s in rule.get("from") or []]
    operations = [o.get("operation") or {} for o in rule.get("to") or []]
    if sources and not any(source_matches(s, call) for s in sources):
        return False
    if operations and not any(operation_matches(o, call) for o in operations):
        return False
    return all(condition_matches(c, call) for c in rule.get("when") or [])


def _field(spec: Mapping[str, Any], name: str, values: Sequence[Optional[str]], **options: Any) -> bool:
    """A field and its ``not`` twin: the field (if given) must match, the twin must not."""
    positive = spec.get(name)
    negative = spec.get("not" + name[0].upper() + name[1:])
    if positive is not None and not _any(positive, values, **options):
        return False
    return not (negative and _any(negative, values, **options))


def source_matches(source: Mapping[str, Any], call: Call) -> bool:
    for unsupported in ("ipBlocks", "notIpBlocks", "remoteIpBlocks", "notRemoteIpBlocks"):
        if source.get(unsupported):
            raise Unsupported(f"source.{unsupported} needs addresses, which are not modelled")
    principal = call.source_principal
    namespace = _namespace_of(principal)
    request_principal = call.auth.principal if call.auth else None
    return (
        _field(source, "principals", [_comparable(principal)])
        and _field(source, "requestPrincipals", [request_principal])
        and _field(source, "namespaces", [namespace])
    )


def operation_matches(operation: Mapping[str, Any], call: Call) -> bool:
    # hosts first: with one rule per app, most rules are about another host
    return (
        _field(operation, "hosts", [call.host], ignore_case=True)
        and _paths(operation.get("paths"), call.path, True)
        and not (operation.get("notPaths") and _paths(operation["notPaths"], call.path, False))
        and _field(operation, "methods", [call.method])
        and _field(operation, "ports", [str(call.port)])
    )


def _paths(patterns: Optional[Sequence[str]], path: str, absent: bool) -> bool:
    if patterns is None:
        return absent
    return any(match_path(p, path) for p in patterns)


def condition_matches(condition: Mapping[str, Any], call: Call) -> bool:
    values = _condition_values(str(condition.get("key", "")), call)
    positive, negative = condition.get("values"), condition.get("notValues")
    if positive is not None and not _any(positive, values):
        return False
    return not (negative and _any(negative, values))


def _condition_values(key: str, call: Call) -> list[Optional[str]]:
    auth = call.auth
    if key == "request.auth.audiences":
        return list(auth.audiences) if auth else []
    if key == "request.auth.principal":
        return [auth.principal] if auth else []
    if key == "request.auth.presenter":
        return [auth.presenter or None] if auth else []
    if key.startswith("request.auth.claims["):
        return _claim(auth, key) if auth else []
    if key.startswith("request.headers[") and key.endswith("]"):
        return [call.headers.get(key[len("request.headers["):-1].lower())]
    if key == "source.principal":
        return [_comparable(call.source_principal)]
    if key == "source.namespace":
        return [_namespace_of(call.source_principal)]
    if key == "destination.port":
        return [str(call.port)]
    if key == "connection.sni":
        return [call.host.split(":", 1)[0]]
    raise Unsupported(f"condition key {key!r} is not modelled")


def _claim(auth: Identity, key: str) -> list[Optional[str]]:
    names = re.findall(r"\[([^\]]+)\]", key[len("request.auth.claims"):])
    value: Any = auth.claims
    for name in names:
        value = value.get(name) if isinstance(value, Mapping) else None
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    return []  # absent, or not a string / string list: Istio cannot match it


def _comparable(principal: Optional[str]) -> Optional[str]:
    """A peer identity as policies compare it: without ``spiffe://``; ``cluster.local`` stands for
    the mesh's own trust domain, which the evaluator takes to be the principal's own."""
    if principal is None:
        return None
    return principal.removeprefix("spiffe://")


def _namespace_of(principal: Optional[str]) -> Optional[str]:
    match = re.search(r"/ns/([^/]+)/sa/", principal or "")
    return match.group(1) if match else None


# --- RequestAuthentication -------------------------------------------------------------------------


@dataclass(frozen=True)
class TokenCheck:
    outcome: str  # "none" (no token, or no RequestAuthentication), "valid", "rejected"
    identity: Optional[Identity] = None
    forward: bool = True  # does the token stay in the request for the upstream?
    policy: str = ""  # the RequestAuthentication that decided
    reason: str = ""


def check_token(
    authentications: Sequence[Mapping[str, Any]], claims: Optional[Mapping[str, Any]]
) -> TokenCheck:
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
                return TokenCheck("rejected", policy=object_ref(policy),
                                  reason="Audiences in Jwt are not allowed (401)")
            identity = Identity(
                principal=f"{issuer}/{claims.get('sub', '')}",
                audiences=tuple(audiences),
                claims=dict(claims),
                presenter=str(claims.get("azp", "")),
            )
            return TokenCheck("valid", identity, bool(rule.get("forwardOriginalToken")),
                              object_ref(policy), f"token of {issuer} verified")
    return TokenCheck("rejected", policy=", ".join(object_ref(p) for p in authentications),
                      reason=f"Jwt issuer is not configured: {issuer!r} (401)")


def _audiences(claims: Mapping[str, Any]) -> list[str]:
    aud = claims.get("aud")
    if isinstance(aud, str):
        return [aud]
    if isinstance(aud, list):
        return [a for a in aud if isinstance(a, str)]
    return []
