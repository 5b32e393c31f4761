"""Istio's AuthorizationPolicy matching, in one place, for a described or a complete request.

Who asks what:

* the cross-resource rules (:mod:`meshauth.validation.rules` through :class:`meshauth.validation.rules.facts.Facts` and
  :class:`PolicyIndex`) ask about a :class:`Request` that the manifests only partly describe ("a
  request without a JWT to host h, path p"). What they cannot decide (a claim, a header, an IP, a
  peer behind mTLS, the port) is unknown, so answers are three-valued: True, False or None, combined
  by ``and_`` / ``or_`` as Kleene logic does; a rule reports a problem only on a definite answer.
* ``simulate`` and ``explain`` (:mod:`meshauth.authz.simulate`, :mod:`meshauth.authz.explain`; request
  normalisation and RequestAuthentication are in :mod:`meshauth.authz.requests`) and the tests'
  ``policy_sim`` ask about a :class:`Call`, which knows every fact, so answers are True or False.
  What is not modelled raises :class:`Unsupported` rather than being guessed.

Both kinds of request answer one question, :meth:`Request.value`: the values of an attribute
(a condition key such as ``request.auth.claims[groups]``), or None when unknown. Matching follows
istio.io's "Authorization Policy" reference: a rule matches when one of its ``from`` sources, one of
its ``to`` operations and every ``when`` condition match; inside a source or operation every field
given must match one value and its ``notX`` twin none; strings match exactly, by prefix ``abc*``,
by suffix ``*abc`` (a leading ``*`` is read first, as Istio does) or ``*`` for "present"; hosts
ignore case and are matched as sent, port included (hence meshauth's ``host:*``); paths also match
templates, ``{*}`` one segment and ``{**}`` the rest. A field given as null is absent, as in Istio.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

Tri = bool | None  # True, False, or None (unknown)
Values = Sequence[str | None] | None  # an attribute's values; None: unknown


class Unsupported(ValueError):
    """A policy uses a field the evaluator does not model; the answer would be a guess."""


def and_(values: Iterable[Tri]) -> Tri:
    return _kleene(values, False)


def or_(values: Iterable[Tri]) -> Tri:
    return _kleene(values, True)


def _kleene(values: Iterable[Tri], decisive: bool) -> Tri:
    """Kleene's and (``decisive`` False) or or (True): a decisive value wins, else any unknown."""
    result: Tri = not decisive
    for value in values:
        if value is decisive:
            return decisive
        if value is None:
            result = None
    return result


# --- requests ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """A request the manifests describe in part (for the rules)."""

    host: str
    path: str
    method: str = "GET"
    jwt: bool = False  # carries a token that a RequestAuthentication validated
    peer_known: bool = True  # True at the ingress gateway: the client has no mesh identity
    port: int | None = None  # unknown

    def value(self, key: str) -> Values:
        if key.startswith("request.auth."):
            return None if self.jwt else []  # no token: no claim, audience or principal
        if key in ("source.principal", "source.namespace") and self.peer_known:
            return [None]
        return None


@dataclass(frozen=True)
class Identity:
    """What RequestAuthentication established: ``request.auth.*``."""

    principal: str
    audiences: tuple[str, ...]
    claims: Mapping[str, Any]
    presenter: str = ""


@dataclass(frozen=True)
class Call:
    """One request as one workload sees it, every fact known (for simulate and explain)."""

    host: str  # the Host header as sent (maybe with a port)
    path: str  # normalized, without query
    method: str
    port: int  # the destination port at this workload
    source_principal: str | None = None  # the peer's mTLS identity; None for a plain client
    auth: Identity | None = None
    headers: Mapping[str, str] = field(default_factory=dict)

    def value(self, key: str) -> Values:
        auth = self.auth
        if key == "request.auth.audiences":
            return list(auth.audiences) if auth else []
        if key == "request.auth.principal":
            return [auth.principal] if auth else []
        if key == "request.auth.presenter":
            return [auth.presenter or None] if auth else []
        if key.startswith("request.auth.claims["):
            return _claim(auth, key) if auth else []
        if key.startswith("request.headers[") and key.endswith("]"):
            return [self.headers.get(key[len("request.headers[") : -1].lower())]
        if key == "source.principal":
            return [_comparable(self.source_principal)]
        if key == "source.namespace":
            return [_namespace_of(self.source_principal)]
        if key == "destination.port":
            return [str(self.port)]
        if key == "connection.sni":
            return [self.host.split(":", 1)[0]]
        raise Unsupported(
            f"{key!r} (a condition key, or what ipBlocks or serviceAccounts need) is not modelled"
        )


def _claim(auth: Identity, key: str) -> list[str | None]:
    names = re.findall(r"\[([^\]]+)\]", key[len("request.auth.claims") :])
    value: Any = auth.claims
    for name in names:
        value = value.get(name) if isinstance(value, Mapping) else None
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    return []  # absent, or not a string / string list: Istio cannot match it


def _comparable(principal: str | None) -> str | None:
    """A peer identity as policies compare it: without ``spiffe://``; ``cluster.local`` stands for
    the mesh's own trust domain, which the evaluator takes to be the principal's own."""
    return None if principal is None else principal.removeprefix("spiffe://")


def _namespace_of(principal: str | None) -> str | None:
    match = re.search(r"/ns/([^/]+)/sa/", principal or "")
    return match.group(1) if match else None


Asked = Request | Call  # either answers value(key); only a Request answers None (unknown)


# --- strings and paths ------------------------------------------------------------------------------

# exact, prefixes, suffixes, "*" present, path templates
PatternSet = tuple[frozenset[str], tuple[str, ...], tuple[str, ...], bool, tuple["re.Pattern[str]", ...]]
Sets = Callable[[Any, bool, bool], PatternSet]  # (patterns, fold, paths) -> the patterns split by kind


def pattern_set(patterns: Any, fold: bool, paths: bool) -> PatternSet:
    return _pattern_set(tuple(map(str, _list(patterns))), fold, paths)


@lru_cache(maxsize=4096)
def _pattern_set(patterns: tuple[str, ...], fold: bool, paths: bool) -> PatternSet:
    """Patterns split by kind (Istio reads a leading ``*`` before a trailing one); ``paths``: read
    ``{*}`` and ``{**}`` as path templates."""
    exact: set[str] = set()
    prefixes: list[str] = []
    suffixes: list[str] = []
    templates: list[re.Pattern[str]] = []
    anything = False  # "*": any value present
    for pattern in patterns:
        pattern = pattern.lower() if fold else pattern
        if pattern == "*":
            anything = True
        elif paths and "{" in pattern:
            templates.append(_template(pattern))
        elif pattern.startswith("*"):
            suffixes.append(pattern[1:])
        elif pattern.endswith("*"):
            prefixes.append(pattern[:-1])
        else:
            exact.add(pattern)
    return frozenset(exact), tuple(prefixes), tuple(suffixes), anything, tuple(templates)


def _template(pattern: str) -> re.Pattern[str]:
    parts = re.split(r"(\{\*\*\}|\{\*\})", pattern)
    return re.compile(
        "".join("[^/]+" if p == "{*}" else ".*" if p == "{**}" else re.escape(p) for p in parts)
    )


def _split_matches(split: PatternSet, value: str | None, fold: bool) -> bool:
    if value is None:
        return False
    exact, prefixes, suffixes, anything, templates = split
    value = value.lower() if fold else value
    return (
        anything
        or value in exact
        or value.startswith(prefixes)
        or value.endswith(suffixes)
        or any(t.fullmatch(value) for t in templates)
    )


def any_matches(patterns: Any, value: str | None, fold: bool = False) -> bool:
    """Does any of the patterns match the value (None: absent, matches nothing)?"""
    return _split_matches(pattern_set(patterns, fold, False), value, fold)


def match_string(pattern: str, value: str | None, ignore_case: bool = False) -> bool:
    """Istio's exact / ``prefix*`` / ``*suffix`` / ``*`` (present) matching."""
    return any_matches((pattern,), value, ignore_case)


# --- rules ------------------------------------------------------------------------------------------

_SOURCE = (  # unmodelled ones first: a complete request raises before any other field decides
    ("ipBlocks", "source.ip"),
    ("remoteIpBlocks", "remote.ip"),
    ("serviceAccounts", "source.serviceAccount"),
    ("principals", "source.principal"),
    ("requestPrincipals", "request.auth.principal"),
    ("namespaces", "source.namespace"),
)
_UNMODELLED = {"ipBlocks", "remoteIpBlocks", "serviceAccounts"}
_OPERATION: dict[str, Callable[[Asked], Values]] = {  # hosts first: most rules are about another host
    "hosts": lambda request: [request.host],
    "paths": lambda request: [request.path],
    "methods": lambda request: [request.method],
    "ports": lambda request: None if request.port is None else [str(request.port)],
}
_TWIN = {name: "not" + name[0].upper() + name[1:] for name in ["values", *_OPERATION, *dict(_SOURCE)]}


def field_matches(
    spec: Mapping[str, Any],
    name: str,
    values: Values,
    sets: Sets | None = None,
    fold: bool = False,
    paths: bool = False,
) -> Tri:
    """A field and its ``not`` twin: the field (if given) must match one value, the twin none."""
    positive, negative = spec.get(name), spec.get(_TWIN[name])
    if positive is None and negative is None:
        return True
    if values is None:
        return None
    split = sets or pattern_set
    if positive is not None and not _any_value(split(positive, fold, paths), values, fold):
        return False
    return negative is None or not _any_value(split(negative, fold, paths), values, fold)


def _any_value(split: PatternSet, values: Sequence[str | None], fold: bool) -> bool:
    return any(_split_matches(split, value, fold) for value in values)


def source_matches(source: Mapping[str, Any], request: Asked, sets: Sets | None = None) -> Tri:
    given = [(name, key) for name, key in _SOURCE if name in source or _TWIN[name] in source]
    return and_(
        field_matches(source, name, request.value(key), sets)
        for name, key in given
        if name not in _UNMODELLED or source.get(name) or source.get(_TWIN[name])  # empty: absent
    )


def operation_matches(operation: Mapping[str, Any], request: Asked, sets: Sets | None = None) -> Tri:
    given = [name for name in _OPERATION if name in operation or _TWIN[name] in operation]
    return and_(
        field_matches(
            operation, name, _OPERATION[name](request), sets, fold=name == "hosts", paths=name == "paths"
        )
        for name in given
    )


def condition_matches(condition: Any, request: Asked) -> Tri:
    if not isinstance(condition, Mapping):
        return None
    return field_matches(condition, "values", request.value(str(condition.get("key", ""))))


def rule_matches(rule: Any, request: Asked, sets: Sets | None = None) -> Tri:
    """Whether one rule matches; parts are read in order and only while they can still match, so
    that a complete request raises :class:`Unsupported` only where the answer depends on it."""
    return and_(_rule_parts(rule, request, sets)) if isinstance(rule, Mapping) else None


def _rule_parts(rule: Mapping[str, Any], request: Asked, sets: Sets | None) -> Iterator[Tri]:
    sources = [s.get("source") or {} for s in _list(rule.get("from")) if isinstance(s, Mapping)]
    if sources:
        yield or_(source_matches(s, request, sets) for s in sources)
    operations = [o.get("operation") or {} for o in _list(rule.get("to")) if isinstance(o, Mapping)]
    if operations:
        yield or_(operation_matches(o, request, sets) for o in operations)
    yield from (condition_matches(c, request) for c in _list(rule.get("when")))


class PolicyIndex:
    """A policy's rules indexed by the hosts they can match, and its pattern lists split once.

    The gateway's login policy has a rule per app and its ALLOW policy lists every app's host:
    reading every rule, and splitting every list again, for every request made the rules quadratic.
    A rule whose every operation lists hosts, each exact or ``host:*``, cannot match a request for
    another host; every other rule is always a candidate. Candidates are matched in full, so the
    index changes speed, never the answer."""

    def __init__(self, policy: Mapping[str, Any]) -> None:
        self._sets: dict[tuple[int, bool, bool], tuple[Any, PatternSet]] = {}
        self.rules = _list((policy.get("spec") or {}).get("rules"))
        self.always: list[int] = []
        self.by_host: dict[str, list[int]] = {}
        for number, rule in enumerate(self.rules):
            names = _exact_hosts(rule)
            if names is None:
                self.always.append(number)
            for name in names or ():
                self.by_host.setdefault(name, []).append(number)

    def named(self, host: str) -> list[int]:
        """The rules that name the host (all of them for an IPv6 literal, which is not indexed)."""
        if host.startswith("["):
            return list(range(len(self.rules)))
        return self.by_host.get(host.split(":", 1)[0].lower(), [])

    def candidates(self, host: str) -> list[int]:
        """The rules that can match a request for the host, in order."""
        return sorted({*self.named(host), *self.always})

    def matches(self, request: Asked) -> Tri:
        """Whether any rule matches (a policy without rules matches nothing); the rules that name
        the host first, as they decide most often."""
        numbers = dict.fromkeys([*self.named(request.host), *self.always])
        return or_(rule_matches(self.rules[n], request, self.pattern_set) for n in numbers)

    def pattern_set(self, patterns: Any, fold: bool, paths: bool) -> PatternSet:
        key = (id(patterns), fold, paths)
        found = self._sets.get(key)
        if found is None:  # the entry keeps the list alive, so no other list can take its id
            found = self._sets[key] = (patterns, pattern_set(patterns, fold, paths))
        return found[1]


def matching_rule(policy: Mapping[str, Any], call: Call, index: PolicyIndex | None = None) -> int | None:
    """The number of the first rule of the policy that matches the complete request, or None;
    ``index`` (the policy's) only skips rules that cannot match."""
    rules = _list((policy.get("spec") or {}).get("rules"))
    for number in index.candidates(call.host) if index else range(len(rules)):
        verdict = rule_matches(rules[number] or {}, call, index.pattern_set if index else None)
        if verdict is None:
            raise Unsupported(f"rule {number} of the policy is not well-formed")
        if verdict:
            return number
    return None


def _exact_hosts(rule: Any) -> set[str] | None:
    """The hosts (without port) a rule can match, when every operation lists only exact or
    ``host:*`` hosts; else None."""
    entries = _list(rule.get("to")) if isinstance(rule, Mapping) else []
    operations = [o.get("operation") if isinstance(o, Mapping) else None for o in entries]
    if not operations:
        return None
    names: set[str] = set()
    for operation in operations:
        hosts = operation.get("hosts") if isinstance(operation, Mapping) else None
        if not hosts or not isinstance(hosts, list):
            return None
        for pattern in map(str, hosts):
            base = pattern[:-2] if pattern.endswith(":*") else pattern
            if "*" in base or ":" in base:
                return None
            names.add(base.lower())
    return names


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else []
