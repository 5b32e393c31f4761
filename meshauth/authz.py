"""Would an AuthorizationPolicy match a request? Three-valued, so that rules only speak when sure.

The rules ask questions such as "does the CUSTOM login policy at the gateway send the ACME challenge
path to oauth2-proxy?" or "does any ALLOW policy let a public path through without a JWT?". This
module answers them for a described request, following Istio's matching semantics (authorization
policy reference): a policy's rule matches when one of its ``from`` entries, one of its ``to``
entries and all of its ``when`` conditions match; strings match exactly, by prefix ``abc*``, by
suffix ``*abc`` or ``*`` for presence; hosts are compared case-insensitively.

Anything the manifests cannot decide (an IP block, a header condition, a peer identity through
mTLS) is ``None``: unknown. ``and_`` and ``or_`` combine such answers the way Kleene logic does,
and a rule reports a problem only on a definite ``True`` or ``False``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Optional

Tri = Optional[bool]  # True, False, or None (unknown)


@dataclass(frozen=True)
class Request:
    host: str
    path: str
    method: str = "GET"
    jwt: bool = False  # carries a token that a RequestAuthentication validated
    peer_known: bool = True  # True at the ingress gateway: the client has no mesh identity


def and_(values: Iterable[Tri]) -> Tri:
    result: Tri = True
    for value in values:
        if value is False:
            return False
        if value is None:
            result = None
    return result


def or_(values: Iterable[Tri]) -> Tri:
    result: Tri = False
    for value in values:
        if value is True:
            return True
        if value is None:
            result = None
    return result


def string_matches(pattern: str, value: str) -> bool:
    """Istio's string match: exact, ``prefix*``, ``*suffix`` or ``*``."""
    if pattern == "*":
        return True
    if pattern.endswith("*"):
        return value.startswith(pattern[:-1])
    if pattern.startswith("*"):
        return value.endswith(pattern[1:])
    return value == pattern


PatternSet = tuple[frozenset[str], tuple[str, ...], tuple[str, ...], bool, bool]
Sets = Callable[[Any, bool], PatternSet]  # (patterns, fold) -> the patterns split by kind


def any_matches(patterns: Any, value: str, fold: bool = False, sets: Optional[Sets] = None) -> bool:
    exact, prefixes, suffixes, anything, _ = (sets or pattern_set)(patterns, fold)
    value = value.lower() if fold else value
    return (
        anything or value in exact or value.startswith(prefixes) or value.endswith(suffixes)
    )


def pattern_set(patterns: Any, fold: bool) -> PatternSet:
    return _pattern_set(tuple(map(str, _list(patterns))), fold)


@lru_cache(maxsize=4096)
def _pattern_set(patterns: tuple[str, ...], fold: bool) -> PatternSet:
    """Patterns split by kind: exact, prefixes, suffixes, presence, and whether any is a path template."""
    folded = [p.lower() for p in patterns] if fold else list(patterns)
    prefixes = tuple(p[:-1] for p in folded if p.endswith("*") and p != "*")
    suffixes = tuple(p[1:] for p in folded if p.startswith("*") and not p.endswith("*"))
    template = any("{" in p for p in patterns)
    return frozenset(p for p in folded if "*" not in p), prefixes, suffixes, "*" in folded, template


def path_matches(patterns: Any, path: str, sets: Optional[Sets] = None) -> Tri:
    if (sets or pattern_set)(patterns, False)[4]:
        return None  # path templates ({*}, {**}) are not evaluated here
    return any_matches(patterns, path, sets=sets)


def rule_matches(rule: Mapping[str, Any], request: Request, sets: Optional[Sets] = None) -> Tri:
    """Whether one rule of a policy matches ``request``; ``sets`` splits pattern lists (cached)."""
    if not isinstance(rule, Mapping):
        return None
    sources = [s.get("source") or {} for s in _list(rule.get("from")) if isinstance(s, Mapping)]
    operations = [o.get("operation") or {} for o in _list(rule.get("to")) if isinstance(o, Mapping)]
    return and_(
        [
            or_(source_matches(s, request) for s in sources) if sources else True,
            or_(operation_matches(o, request, sets) for o in operations) if operations else True,
            and_(condition_matches(c, request) for c in _list(rule.get("when"))),
        ]
    )


def policy_matches(policy: Mapping[str, Any], request: Request) -> Tri:
    """Whether any rule of the policy matches (a policy without rules matches nothing)."""
    return PolicyIndex(policy).matches(request)


class PolicyIndex:
    """A policy's rules indexed by the exact hosts they name, so that matching one request reads
    only the rules that can match its host (a login policy has one rule per app)."""

    def __init__(self, policy: Mapping[str, Any]) -> None:
        self._sets: dict[tuple[int, bool], tuple[Any, PatternSet]] = {}
        self.by_host: dict[str, list[Mapping[str, Any]]] = {}
        self.any_host: list[Any] = []
        for rule in _list((policy.get("spec") or {}).get("rules")):
            hosts = _exact_hosts(rule)
            if hosts is None:
                self.any_host.append(rule)
            for host in hosts or ():
                self.by_host.setdefault(host, []).append(rule)

    def matches(self, request: Request) -> Tri:
        candidates = [*self.by_host.get(request.host.lower(), ()), *self.any_host]
        return or_(rule_matches(rule, request, self.pattern_set) for rule in candidates)

    def pattern_set(self, patterns: Any, fold: bool) -> PatternSet:
        """A pattern list of this policy split by kind, once per list: the gateway's ALLOW policy
        lists every app's host, and reading it again for every request made rules quadratic."""
        key = (id(patterns), fold)
        found = self._sets.get(key)
        if found is None or found[0] is not patterns:
            found = self._sets[key] = (patterns, pattern_set(patterns, fold))
        return found[1]


def _exact_hosts(rule: Any) -> Optional[set[str]]:
    """The hosts a rule can match, when every ``to`` entry lists only exact hosts; else None."""
    if not isinstance(rule, Mapping) or not _list(rule.get("to")):
        return None
    hosts: set[str] = set()
    for entry in _list(rule.get("to")):
        operation = (entry or {}).get("operation") if isinstance(entry, Mapping) else None
        names = operation.get("hosts") if isinstance(operation, Mapping) else None
        if not isinstance(names, list) or any("*" in str(h) for h in names if not str(h).endswith(":*")):
            return None
        hosts |= {str(h).lower() for h in names if not str(h).endswith(":*")}
    return hosts


def operation_matches(operation: Mapping[str, Any], request: Request, sets: Optional[Sets] = None) -> Tri:
    checks: list[Tri] = []
    host = request.host
    if "hosts" in operation:
        checks.append(any_matches(operation["hosts"], host, True, sets))
    if "notHosts" in operation:
        checks.append(not any_matches(operation["notHosts"], host, True, sets))
    if "paths" in operation:
        checks.append(path_matches(operation["paths"], request.path, sets))
    if "notPaths" in operation:
        matched = path_matches(operation["notPaths"], request.path, sets)
        checks.append(None if matched is None else not matched)
    if "methods" in operation:
        checks.append(any_matches(operation["methods"], request.method, sets=sets))
    if "notMethods" in operation:
        checks.append(not any_matches(operation["notMethods"], request.method, sets=sets))
    if "ports" in operation or "notPorts" in operation:
        checks.append(None)
    return and_(checks)


def source_matches(source: Mapping[str, Any], request: Request) -> Tri:
    checks: list[Tri] = []
    for field in ("requestPrincipals", "notRequestPrincipals"):
        if field in source:
            present = None if request.jwt else False  # which principal a token carries is unknown
            checks.append(present if field == "requestPrincipals" else _negate(present))
    for field in ("principals", "namespaces", "notPrincipals", "notNamespaces"):
        if field in source:
            present = False if request.peer_known else None
            checks.append(_negate(present) if field.startswith("not") else present)
    if any(field in source for field in ("ipBlocks", "notIpBlocks", "remoteIpBlocks", "notRemoteIpBlocks", "serviceAccounts", "notServiceAccounts")):
        checks.append(None)
    return and_(checks)


def condition_matches(condition: Any, request: Request) -> Tri:
    if not isinstance(condition, Mapping):
        return None
    key = str(condition.get("key", ""))
    if key.startswith("request.auth.") and not request.jwt:
        present: Tri = False  # no token: no claim, audience or principal to match
    elif key in ("source.principal", "source.namespace") and request.peer_known:
        present = False
    else:
        return None
    checks: list[Tri] = []
    if "values" in condition:
        checks.append(present)
    if "notValues" in condition:
        checks.append(_negate(present))
    return and_(checks)


def _negate(value: Tri) -> Tri:
    return None if value is None else not value


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else []
