"""``meshauth explain``: an access table per app, read from the rendered policies, for review.

For every app a route on a gateway sends to (a VirtualService on an Istio Gateway, an HTTPRoute on
a Gateway API Gateway): its hosts, the paths an
anonymous visitor reaches (found by asking :mod:`meshauth.authz.simulate` about every path pattern the
policies name, so the table and ``simulate`` cannot disagree), the ACME challenge path, and who may
enter: oauth2-proxy's own limits, the gateway's conditions and the app's ALLOW rules, in words.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from meshauth.authz import matcher as authz
from meshauth.authz import requests as authz_eval
from meshauth.authz.decision import Environment, Request
from meshauth.authz.meshview import ACME_PREFIX, MeshView, Pods, extension_providers
from meshauth.authz.proxylogin import proxy_args
from meshauth.authz.simulate import environment_for
from meshauth.errors import ConfigError, Problem
from meshauth.findings import object_ref

PROBE = "meshauth-probe"


@dataclass(frozen=True)
class AppAccess:
    app: str  # namespace/service
    hosts: tuple[str, ...]
    public_paths: tuple[str, ...]  # anonymous visitors get through (HTTPS)
    acme_paths: tuple[str, ...]  # served to cert-manager's HTTP-01 solver on port 80
    login: str  # who checks the login, or "" when no CUSTOM policy covers the app
    who: tuple[str, ...]  # conditions, all of which hold for a signed-in visitor
    policies: tuple[str, ...]  # the policies that decide


def access_table(bundle: Any, environment: Environment) -> list[AppAccess]:
    """One entry per app a route on a gateway sends to: a VirtualService on an Istio Gateway or an
    HTTPRoute on a Gateway API Gateway (waypoints are not entrances)."""
    mesh = MeshView.of(bundle, environment)
    table: dict[tuple[str, tuple[str, ...]], AppAccess] = {}
    for route in [*mesh.kind("VirtualService"), *mesh.http_routes]:
        hosts, destinations = _entrance(mesh, route)
        for fqdn in destinations:
            app = _app(mesh, hosts, fqdn)
            table.setdefault((app.app, app.hosts), app)
    return sorted(table.values(), key=lambda a: (a.app, a.hosts))


def _entrance(mesh: MeshView, route: Mapping[str, Any]) -> tuple[tuple[str, ...], list[str]]:
    """The hosts a route serves at a gateway, and the in-mesh Services it sends to."""
    spec, namespace = route.get("spec") or {}, route["metadata"].get("namespace") or "default"
    if route.get("kind") == "VirtualService":
        if not spec.get("gateways"):
            return (), []
        hosts = tuple(spec.get("hosts") or [])
        found = [
            d.get("destination", {}).get("host", "")
            for h in spec.get("http") or []
            for d in h.get("route") or []
        ]
        fqdns = [f if "." in f else f"{f}.{namespace}.svc.cluster.local" for f in found]
    else:
        gateways = {(g["metadata"].get("namespace"), g["metadata"]["name"]) for g in mesh.k8s_gateways}
        parents = [
            (r.get("namespace") or namespace, r.get("name"))
            for r in spec.get("parentRefs") or []
            if r.get("kind", "Gateway") == "Gateway"
        ]
        if not any(p in gateways for p in parents):
            return (), []
        hosts = tuple(spec.get("hostnames") or [])
        fqdns = [
            f"{b.get('name')}.{b.get('namespace') or namespace}.svc.cluster.local"
            for rule in spec.get("rules") or []
            for b in (rule or {}).get("backendRefs") or []
            if b.get("kind", "Service") == "Service"
        ]
    return hosts, [f for f in dict.fromkeys(fqdns) if f.endswith(".svc.cluster.local")] if hosts else []


def _app(mesh: MeshView, hosts: Sequence[str], fqdn: str) -> AppAccess:
    host = hosts[0]
    gateway = _gateway_pods(mesh, host)
    at_gateway = _policies(mesh, gateway) if gateway else []
    at_app = [p for pods in mesh.enforcers(fqdn) for p in _policies(mesh, pods)]
    patterns = _patterns(mesh.rules_about(p, h) for p in at_gateway + at_app for h in hosts)
    public = tuple(p for p in patterns if _reaches(mesh, host, p, None, fqdn))
    acme = tuple(p for p in patterns if p.startswith(ACME_PREFIX) and _reaches(mesh, host, p, 80, None))
    custom = [p for p in at_gateway if _action(p) == "CUSTOM"]
    login = ", ".join(f"{_provider(p)} ({object_ref(p)})" for p in custom)
    signed_in = [_proxy_limits(mesh, custom[0])] if custom else []
    filtered = mesh.envoy_filter_login(gateway, authz.Call(host, "/", "GET", 443), None) if gateway else None
    if not custom and filtered:
        login = f"oauth2-proxy ({filtered[0]}: ext_authz on the host's HTTPS filter chain)"
        signed_in = [_http_limits(mesh, filtered[1], "oauth2-proxy")]
    who = [f"signed in through {s}" for s in signed_in] + _who(mesh, at_gateway, at_app, host)
    deciding = [object_ref(p) for p in at_gateway + at_app]
    name = f"{fqdn.split('.')[1]}/{fqdn.split('.')[0]}"
    return AppAccess(name, tuple(hosts), public, acme, login, tuple(who), tuple(dict.fromkeys(deciding)))


def _gateway_pods(mesh: MeshView, host: str) -> Pods | None:
    try:
        entry = mesh.entry_or_none(host)
    except authz.Unsupported as error:
        raise ConfigError(Problem(f"cannot explain {host}: {error}")) from None
    return entry.pods if entry else None


def _policies(mesh: MeshView, pods: Pods) -> list[Mapping[str, Any]]:
    return [p for p in mesh.selecting("AuthorizationPolicy", pods) if authz_eval.enforced(p)]


def _action(policy: Mapping[str, Any]) -> str:
    return (policy.get("spec") or {}).get("action") or "ALLOW"


def _provider(policy: Mapping[str, Any]) -> str:
    return str(((policy.get("spec") or {}).get("provider") or {}).get("name", "?"))


def _patterns(rule_lists: Iterable[list[Mapping[str, Any]]]) -> list[str]:
    """Every path pattern the rules name, in order, once."""
    found: dict[str, None] = {}
    for rules in rule_lists:
        for rule in rules:
            for to in rule.get("to") or []:
                operation = to.get("operation") or {}
                for pattern in [*(operation.get("paths") or []), *(operation.get("notPaths") or [])]:
                    found.setdefault(pattern, None)
    return list(found)


def _probe(pattern: str) -> str:
    """A concrete path that the pattern matches."""
    text = pattern.replace("{**}", f"{PROBE}/{PROBE}").replace("{*}", PROBE)
    if text == "*":
        return f"/{PROBE}"
    if text.startswith("*"):
        return f"/{PROBE}{text[1:]}"
    if text.endswith("*"):
        return f"{text[:-1]}{PROBE}"
    return text


def _reaches(mesh: MeshView, host: str, pattern: str, port: int | None, fqdn: str | None) -> bool:
    """Does an anonymous request for a path the pattern matches reach the app (``fqdn``; None: the
    ACME solver)?"""
    decision = mesh.decide(Request(host=host, path=_probe(pattern), port=port))
    if not decision.decided:
        raise ConfigError(Problem(f"cannot explain {host}{_probe(pattern)}: {decision.reason}"))
    return decision.allowed and decision.destination in (fqdn or "ACME solver", "ACME solver")


def _who(
    mesh: MeshView, at_gateway: Sequence[Mapping[str, Any]], at_app: Sequence[Mapping[str, Any]], host: str
) -> list[str]:
    who = []
    for where, policies in (("gateway", at_gateway), ("app", at_app)):
        for policy in policies:
            if _action(policy) == "CUSTOM":
                continue
            rules = [r or {} for r in (policy.get("spec") or {}).get("rules") or []]
            relevant = [
                r
                for r in mesh.rules_about(policy, host)
                if _about(r, host) and (r.get("from") or r.get("when"))
            ]
            if not relevant and _action(policy) == "ALLOW" and not rules:
                who.append(f"{where}: nobody ({object_ref(policy)} has no rules)")
            if relevant:
                verb = "denied if" if _action(policy) == "DENY" else "any of"
                options = "; or ".join(describe_rule(r, skip_hosts=True) for r in relevant)
                who.append(f"{where} ({object_ref(policy)}), {verb}: {options}")
    return who


def _about(rule: Mapping[str, Any], host: str) -> bool:
    """Does a rule concern requests for ``host`` (no host condition, or one that matches)?"""
    operations = [o.get("operation") or {} for o in rule.get("to") or []]
    if not operations:
        return True
    return any(authz.field_matches(o, "hosts", [host], fold=True) for o in operations)


def _proxy_limits(mesh: MeshView, custom: Mapping[str, Any]) -> str:
    name = _provider(custom)
    provider = next((p for p in extension_providers(mesh.mesh) if p.get("name") == name), None)
    if provider is not None and "envoyExtAuthzGrpc" in provider:
        return f"authservice ({name}: any user the identity provider signs in)"
    return _http_limits(mesh, (provider or {}).get("envoyExtAuthzHttp") or {}, f"provider {name}")


def _http_limits(mesh: MeshView, http: Mapping[str, Any], unknown: str) -> str:
    """oauth2-proxy's own limits on who signs in, read from its flags."""
    service = mesh.service(str(http.get("service", "")))
    deployment = mesh.deployment_for(service) if service else None
    if deployment is None:
        return unknown
    args = proxy_args(deployment)
    limits = [f"email domain in {_set(args.get('email-domain', []))}"]
    if args.get("allowed-group"):
        limits.append(f"group in {_set(args['allowed-group'])}")
    return f"oauth2-proxy ({', '.join(limits)})"


def describe_rule(rule: Mapping[str, Any], skip_hosts: bool = False) -> str:
    """One AuthorizationPolicy rule in words: every condition that must hold, joined by "and"."""
    parts = []
    for source in [s.get("source") or {} for s in rule.get("from") or []]:
        if source.get("requestPrincipals") == ["*"]:
            parts.append("any signed-in user (a valid token)")
        elif source.get("requestPrincipals"):
            parts.append(f"user (issuer/subject) in {_set(source['requestPrincipals'])}")
        if source.get("principals"):
            parts.append(f"mesh identity in {_set(source['principals'])}")
        if source.get("namespaces"):
            parts.append(f"from namespace in {_set(source['namespaces'])}")
    for operation in [o.get("operation") or {} for o in rule.get("to") or []]:
        for key, words in (
            ("hosts", "host in"),
            ("notHosts", "host not in"),
            ("paths", "path in"),
            ("notPaths", "path not in"),
            ("methods", "method in"),
        ):
            if operation.get(key) and not (skip_hosts and key in ("hosts", "notHosts")):
                parts.append(f"{words} {_set(operation[key])}")
    for condition in rule.get("when") or []:
        key = str(condition.get("key", ""))
        subject = (
            "token audience"
            if key == "request.auth.audiences"
            else f"claim {key[len('request.auth.claims[') : -1]}"
            if key.startswith("request.auth.claims[")
            else key
        )
        if condition.get("values"):
            parts.append(f"{subject} in {_set(condition['values'])}")
        if condition.get("notValues"):
            parts.append(f"{subject} not in {_set(condition['notValues'])}")
    return " and ".join(parts) or "any request"


def _set(values: Iterable[Any]) -> str:
    return "{" + ", ".join(str(v) for v in values) + "}"


# --- formats ---------------------------------------------------------------------------------------


def to_text(table: Sequence[AppAccess]) -> str:
    lines: list[str] = []
    for app in table:
        lines.append(f"app {app.app}")
        rows = [
            ("hosts", ", ".join(app.hosts)),
            ("public paths", ", ".join(app.public_paths) or "(none)"),
            (
                "ACME HTTP-01",
                ", ".join(app.acme_paths) + " (port 80, cert-manager's solver)"
                if app.acme_paths
                else "(none)",
            ),
            ("login", app.login or "(none: no CUSTOM policy covers the app)"),
        ]
        rows += [("who may enter" if i == 0 else "", line) for i, line in enumerate(app.who or ["anyone"])]
        rows += [("policies" if i == 0 else "", p) for i, p in enumerate(app.policies)]
        lines += [f"  {label:<14} {value}" for label, value in rows]
        lines.append("")
    return "\n".join(lines)


def to_markdown(table: Sequence[AppAccess]) -> str:
    """A summary table, then who may enter each app: reads well in a pull request."""
    lines = [
        "| App | Hosts | Public paths | ACME HTTP-01 (port 80) | Login |",
        "| --- | --- | --- | --- | --- |",
    ]
    for app in table:
        cells = [
            _code(app.app),
            "<br>".join(_code(h) for h in app.hosts),
            "<br>".join(_code(p) for p in app.public_paths) or "none",
            "<br>".join(_code(p) for p in app.acme_paths) or "none",
            _md(app.login) or "**none**",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    for app in table:
        lines += ["", f"### {_code(app.app)}: who may enter", ""]
        lines += [f"- {_md(line)}" for line in app.who or ["anyone"]]
        lines += ["", "Decided by " + ", ".join(_code(p) for p in app.policies) + "."]
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    """Plain text for Markdown: no character of a config value may start a link, tag or format."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return "".join("\\" + c if c in "\\`*_[]()#|!~" else c for c in text)


def _code(text: str) -> str:
    return f"`{text}`" if "`" not in text and "|" not in text else _md(text)


def explain(
    config: Any, format: str = "text", *, overlays: Sequence[Any] = (), allow_plaintext_secrets: bool = False
) -> str:
    """The access table of a config (path, dict or model), as ``text`` or ``markdown``."""
    from meshauth.config.load import load_config
    from meshauth.rendering.render import render

    if format not in ("text", "markdown"):
        raise ValueError("format must be text or markdown")
    model = load_config(config, overlays, allow_plaintext_secrets=allow_plaintext_secrets)
    table = access_table(render(model), environment_for(model))
    if not table:
        raise ConfigError(
            Problem("explain: no route on a gateway of the rendered bundle sends to an app in the mesh")
        )
    return to_markdown(table) if format == "markdown" else to_text(table)
