"""Where a request enters and where it is routed, for both ingress APIs meshauth renders.

* **Istio**: a ``networking.istio.io`` Gateway's server for the host and port (its ``selector`` gives
  the gateway pods), then the VirtualServices bound to that Gateway for the host, their ``http``
  routes in order, the first whose ``match`` (any of its entries) fits the request wins
  (istio.io, "Virtual Service" reference: ``uri``/``authority``/``headers`` with ``exact``,
  ``prefix`` (a plain string prefix) or ``regex`` (RE2, whole value), ``method``, ``port``,
  ``queryParams``, ``withoutHeaders``, ``ignoreUriCase``).
* **Gateway API**: a ``gateway.networking.k8s.io`` Gateway's listener for the port and host (over
  HTTPS the most specific hostname, as SNI picks it), the HTTPRoutes attached to it (``parentRefs``
  by name, namespace, ``sectionName`` and ``port``, admitted by the listener's ``allowedRoutes``),
  the most specific matching hostname (an exact name before the longest wildcard), then every
  (rule, match) ordered as Istio orders them (pilot's ``sortHTTPRoutes``, which implements the
  HTTPRouteRule precedence): Exact before PathPrefix before RegularExpression, longer values first,
  a method match first, more header matches first, more query matches first; ties in the routes'
  order (oldest, then namespace/name) and the rules' order. A missing ``matches`` is the API
  server's default, PathPrefix ``/``. PathPrefix matches whole path elements (``/a`` matches ``/a``
  and ``/a/b``, not ``/ab``). The Gateway's pods carry ``gateway.networking.k8s.io/gateway-name``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from meshauth.authz.matcher import Unsupported, match_string
from meshauth.findings import object_ref

GATEWAY_API = "gateway.networking.k8s.io"
GATEWAY_NAME_LABEL = "gateway.networking.k8s.io/gateway-name"
WAYPOINT_CLASS = "istio-waypoint"


@dataclass(frozen=True)
class Pods:
    """The pods one proxy runs in, and what policy attachment asks of them."""

    name: str  # for the trace: "namespace/app=x"
    namespace: str
    labels: Mapping[str, str]
    gateway_name: str | None = None  # a Gateway API gateway or waypoint: its Gateway's name
    waypoint: bool = False
    services: tuple[tuple[str, str], ...] = ()  # (namespace, name) of Services a waypoint serves here


@dataclass(frozen=True)
class Entry:
    """The gateway a request for a host and port reaches."""

    gateway: Mapping[str, Any]
    pods: Pods
    port: int
    server: Mapping[str, Any] | None  # the Istio server or Gateway API listener; None: none on the port


@dataclass(frozen=True)
class Route:
    """What the gateway's router does with the request."""

    via: str = ""  # the VirtualService or HTTPRoute that decided, for the trace
    name: str = ""  # the Istio route's name (EnvoyFilter per-route patches)
    backend: Mapping[str, Any] = field(default_factory=dict)  # host (FQDN), port, kind
    redirect: int = 0  # a redirect's status
    missing: str = ""  # why nothing routes (404)
    path: str = ""  # the path as rewritten for the upstream ("" : unchanged)
    host: str = ""  # the Host as rewritten for the upstream ("" : unchanged)


def host_in(pattern: str, host: str) -> bool:
    """Gateway / VirtualService host matching: the Host header without its port, ignoring case;
    ``*.example.com`` covers subdomains; ``ns/host`` names are read as host."""
    return match_string(pattern.rsplit("/", 1)[-1], bare_host(host), ignore_case=True)


def bare_host(host: str) -> str:
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def labels_text(labels: Mapping[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items())) or "(any)"


def is_gateway_api(gateway: Mapping[str, Any]) -> bool:
    return str(gateway.get("apiVersion", "")).startswith(GATEWAY_API + "/")


def gateway_pods(gateway: Mapping[str, Any]) -> Pods:
    meta, spec = gateway["metadata"], gateway.get("spec") or {}
    namespace = str(meta.get("namespace") or "default")
    if is_gateway_api(gateway):
        labels = {GATEWAY_NAME_LABEL: str(meta["name"])}
        waypoint = spec.get("gatewayClassName") == WAYPOINT_CLASS
        return Pods(f"{namespace}/{labels_text(labels)}", namespace, labels, str(meta["name"]), waypoint)
    selector = spec.get("selector") or {}
    return Pods(f"{namespace}/{labels_text(selector)}", namespace, selector)


# --- specificity of host names -----------------------------------------------------------------------


def specificity(pattern: str | None, host: str) -> tuple[int, int] | None:
    """How specifically a host name (pattern) matches the host: exact (2) before wildcard (1,
    longer first) before none (0); None: no match."""
    if pattern is None or pattern == "*":
        return (0, 0)
    pattern = pattern.rsplit("/", 1)[-1].lower()
    bare = bare_host(host).lower()
    if pattern.startswith("*."):
        return (1, len(pattern)) if bare.endswith(pattern[1:]) else None
    return (2, len(pattern)) if pattern == bare else None


def _gateway_api_host(listener: str | None, route: str | None, host: str) -> tuple[int, int] | None:
    """A route hostname under a listener hostname: both must admit the host; the more specific
    of the two is the virtual host the route lands in."""
    a, b = specificity(listener, host), specificity(route, host)
    return None if a is None or b is None else max(a, b)


# --- Istio VirtualService matches --------------------------------------------------------------------


def string_match(spec: Any, value: str | None, ignore_case: bool = False) -> bool:
    """An Istio StringMatch (exact, prefix, regex)."""
    if not isinstance(spec, Mapping) or value is None:
        return False
    if ignore_case:
        value = value.lower()
    if "exact" in spec:
        return value == (str(spec["exact"]).lower() if ignore_case else str(spec["exact"]))
    if "prefix" in spec:
        return value.startswith(str(spec["prefix"]).lower() if ignore_case else str(spec["prefix"]))
    if "regex" in spec:
        return _regex(str(spec["regex"])).fullmatch(value) is not None
    raise Unsupported(f"string match {dict(spec)!r} is not modelled")


def _regex(text: str) -> re.Pattern[str]:
    try:
        return re.compile(text)
    except re.error as error:
        raise Unsupported(f"regular expression {text!r} ({error})") from None


@dataclass(frozen=True)
class HttpRequest:
    host: str
    path: str  # the path as the router sees it (normalized), without query
    query: str
    method: str
    port: int
    headers: Mapping[str, str]  # lower-case names


_ISTIO_MATCH_FIELDS = {
    "name",
    "uri",
    "method",
    "authority",
    "headers",
    "port",
    "queryParams",
    "ignoreUriCase",
    "withoutHeaders",
    "gateways",
}


def istio_match(match: Mapping[str, Any], request: HttpRequest, gateway_ref: str, namespace: str) -> bool:
    unknown = set(match) - _ISTIO_MATCH_FIELDS
    if unknown:
        raise Unsupported(f"VirtualService match fields {sorted(unknown)} are not modelled")
    if "uri" in match and not string_match(match["uri"], request.path, bool(match.get("ignoreUriCase"))):
        return False
    if "method" in match and not string_match(match["method"], request.method):
        return False
    if "authority" in match and not string_match(match["authority"], request.host):
        return False
    if "port" in match and int(match["port"]) != request.port:
        return False
    if "gateways" in match:
        names = [g if "/" in g else f"{namespace}/{g}" for g in match["gateways"] or []]
        if gateway_ref not in names:
            return False
    for name, spec in (match.get("headers") or {}).items():
        if not string_match(spec, request.headers.get(str(name).lower())):
            return False
    for name, spec in (match.get("withoutHeaders") or {}).items():
        value = request.headers.get(str(name).lower())
        if value is not None and (not spec or string_match(spec, value)):
            return False
    query = dict(parse_qsl(request.query, keep_blank_values=True))
    return all(string_match(spec, query.get(str(n))) for n, spec in (match.get("queryParams") or {}).items())


# --- Gateway API HTTPRoute matches -------------------------------------------------------------------

_RANK = {"Exact": 3, "PathPrefix": 2, "RegularExpression": 1}


def _path_of(match: Mapping[str, Any]) -> tuple[str, str]:
    path = match.get("path") or {}
    kind, value = str(path.get("type", "PathPrefix")), str(path.get("value", "/"))
    if kind not in _RANK:
        raise Unsupported(f"HTTPRoute path match type {kind!r} is not modelled")
    if kind == "PathPrefix" and value != "/":
        value = value.rstrip("/")
    return kind, value


def gateway_api_order(match: Mapping[str, Any]) -> tuple[int, int, int, int, int]:
    """The sort key of one match (smaller first), as Istio's sortHTTPRoutes orders them."""
    kind, value = _path_of(match)
    return (
        -_RANK[kind],
        -len(value),
        0 if match.get("method") else 1,
        -len(match.get("headers") or []),
        -len(match.get("queryParams") or []),
    )


def gateway_api_match(match: Mapping[str, Any], request: HttpRequest) -> bool:
    kind, value = _path_of(match)
    if kind == "Exact" and request.path != value:
        return False
    if (
        kind == "PathPrefix"
        and value != "/"
        and not (request.path == value or request.path.startswith(value + "/"))
    ):
        return False
    if kind == "RegularExpression" and not _regex(value).fullmatch(request.path):
        return False
    if match.get("method") and str(match["method"]) != request.method:
        return False
    for header in match.get("headers") or []:
        if not _value_match(header, request.headers.get(str(header.get("name", "")).lower())):
            return False
    query = dict(parse_qsl(request.query, keep_blank_values=True))
    return all(_value_match(q, query.get(str(q.get("name", "")))) for q in match.get("queryParams") or [])


def _value_match(spec: Mapping[str, Any], value: str | None) -> bool:
    if value is None:
        return False
    kind = spec.get("type", "Exact")
    if kind == "Exact":
        return value == str(spec.get("value", ""))
    if kind == "RegularExpression":
        return _regex(str(spec.get("value", ""))).fullmatch(value) is not None
    raise Unsupported(f"HTTPRoute match type {kind!r} is not modelled")


# --- Gateway API attachment --------------------------------------------------------------------------


def listeners_for(listeners: Sequence[Mapping[str, Any]], host: str, port: int) -> list[Mapping[str, Any]]:
    """The listeners (of one Gateway API Gateway) that take a request for the host on the port;
    over HTTPS only the most specific (SNI picks one filter chain)."""
    found = [
        (rank, listener)
        for listener in listeners
        if int(listener.get("port", 0)) == port
        and listener.get("protocol") in ("HTTP", "HTTPS")
        and (rank := specificity(listener.get("hostname"), host)) is not None
    ]
    if not found:
        return []
    if any(listener.get("protocol") == "HTTPS" for _, listener in found):
        best = max(rank for rank, _ in found)
        return [listener for rank, listener in found if rank == best]
    return [listener for _, listener in found]


def admits(
    listener: Mapping[str, Any],
    gateway: Mapping[str, Any],
    route: Mapping[str, Any],
    namespace_labels: Mapping[str, Mapping[str, str]],
) -> bool:
    """Does a listener's ``allowedRoutes`` admit an HTTPRoute from the route's namespace?"""
    allowed = listener.get("allowedRoutes") or {}
    kinds = [k.get("kind") for k in allowed.get("kinds") or []]
    if kinds and "HTTPRoute" not in kinds:
        return False
    namespaces = allowed.get("namespaces") or {}
    source = namespaces.get("from", "Same")
    route_ns = route["metadata"].get("namespace") or "default"
    if source == "All":
        return True
    if source == "Same":
        return route_ns == (gateway["metadata"].get("namespace") or "default")
    selector = namespaces.get("selector") or {}
    if selector.get("matchExpressions"):
        raise Unsupported(f"{object_ref(gateway)}: allowedRoutes matchExpressions are not modelled")
    labels = {**namespace_labels.get(route_ns, {}), "kubernetes.io/metadata.name": route_ns}
    return all(labels.get(k) == v for k, v in (selector.get("matchLabels") or {}).items())


def parent_matches(ref: Mapping[str, Any], route: Mapping[str, Any], gateway: Mapping[str, Any]) -> bool:
    if (ref.get("group", GATEWAY_API), ref.get("kind", "Gateway")) != (GATEWAY_API, "Gateway"):
        return False
    namespace = ref.get("namespace") or route["metadata"].get("namespace") or "default"
    meta = gateway["metadata"]
    return ref.get("name") == meta["name"] and namespace == (meta.get("namespace") or "default")


def attached_routes(
    gateway: Mapping[str, Any],
    listeners: Sequence[Mapping[str, Any]],
    routes: Sequence[Mapping[str, Any]],
    host: str,
    namespace_labels: Mapping[str, Mapping[str, str]],
) -> list[tuple[Mapping[str, Any], tuple[int, int]]]:
    """HTTPRoutes attached to any of the listeners for the host, each with the specificity of the
    virtual host it lands in."""
    found = []
    for route in routes:
        spec = route.get("spec") or {}
        best: tuple[int, int] | None = None
        for ref in spec.get("parentRefs") or []:
            if not parent_matches(ref, route, gateway):
                continue
            for listener in listeners:
                if ref.get("sectionName") not in (None, listener.get("name")):
                    continue
                if ref.get("port") not in (None, listener.get("port")):
                    continue
                if not admits(listener, gateway, route, namespace_labels):
                    continue
                for hostname in spec.get("hostnames") or [None]:
                    rank = _gateway_api_host(listener.get("hostname"), hostname, host)
                    if rank is not None and (best is None or rank > best):
                        best = rank
        if best is not None:
            found.append((route, best))
    return found


def route_order(route: Mapping[str, Any]) -> tuple[str, str, str]:
    """HTTPRoutes oldest first, then by namespace/name (the Gateway API's tie-breaks)."""
    meta = route["metadata"]
    return (str(meta.get("creationTimestamp") or ""), str(meta.get("namespace") or ""), str(meta["name"]))


def virtual_service_order(service: Mapping[str, Any]) -> tuple[str, str, str]:
    """Istio merges a gateway host's VirtualServices oldest first, then by name, then namespace."""
    meta = service["metadata"]
    return (str(meta.get("creationTimestamp") or ""), str(meta["name"]), str(meta.get("namespace") or ""))


def istio_rewrite(http: Mapping[str, Any], match: Mapping[str, Any], path: str) -> tuple[str, str]:
    """A VirtualService route's ``rewrite``: (path, authority) for the upstream, "" where unchanged.
    ``uri`` replaces the prefix a ``uri.prefix`` match matched, else the whole path."""
    rewrite = http.get("rewrite") or {}
    if "uriRegexRewrite" in rewrite:
        raise Unsupported("a VirtualService uriRegexRewrite is not modelled")
    new_path = ""
    if rewrite.get("uri") is not None:
        prefix = ((match.get("uri") or {}) if isinstance(match.get("uri"), Mapping) else {}).get("prefix")
        new_path = str(rewrite["uri"]) + path[len(prefix) :] if prefix is not None else str(rewrite["uri"])
    return new_path, str(rewrite.get("authority") or "")


def gateway_api_rewrite(rule: Mapping[str, Any], match: Mapping[str, Any], path: str) -> tuple[str, str]:
    """An HTTPRoute rule's URLRewrite filter: (path, hostname) for the upstream, "" where unchanged.
    ReplacePrefixMatch replaces the matched path prefix element-wise, as the spec's table shows."""
    for f in rule.get("filters") or []:
        if f.get("type") != "URLRewrite":
            continue
        rewrite = f.get("urlRewrite") or {}
        change = rewrite.get("path") or {}
        new_path = ""
        if change.get("type") == "ReplaceFullPath":
            new_path = str(change.get("replaceFullPath") or "/")
        elif change.get("type") == "ReplacePrefixMatch":
            kind, prefix = _path_of(match)
            if kind != "PathPrefix":
                raise Unsupported("ReplacePrefixMatch needs a PathPrefix match")
            rest = path[len(prefix) :] if prefix != "/" else path
            new_path = (str(change.get("replacePrefixMatch") or "").rstrip("/") + rest) or "/"
        elif change:
            raise Unsupported(f"URLRewrite path type {change.get('type')!r} is not modelled")
        return new_path, str(rewrite.get("hostname") or "")
    return "", ""
