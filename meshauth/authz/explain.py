"""``meshauth explain``: an access table per app, read from the rendered policies, for review.

For every VirtualService on a Gateway of the bundle (one per app): its hosts, the paths an
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
from meshauth.authz.meshview import ACME_PREFIX, MeshView, Pods, extension_providers, host_in
from meshauth.authz.proxylogin import proxy_args
from meshauth.authz.simulate import environment_for
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
    mesh = MeshView.of(bundle, environment)
    table = []
    for service in mesh.kind("VirtualService"):
        spec = service.get("spec") or {}
        hosts = tuple(spec.get("hosts") or [])
        routes = [h for h in spec.get("http") or [] if h.get("route")]
        if not hosts or not routes or not spec.get("gateways"):
            continue
        namespace = service["metadata"]["namespace"]
        # apps that split a host by path prefix share its VirtualService: one entry per destination
        for destination in dict.fromkeys(r["route"][0]["destination"]["host"] for r in routes):
            fqdn = destination if "." in destination else f"{destination}.{namespace}.svc.cluster.local"
            table.append(_app(mesh, hosts, fqdn))
    return sorted(table, key=lambda a: a.app)


def _app(mesh: MeshView, hosts: Sequence[str], fqdn: str) -> AppAccess:
    host = hosts[0]
    gateway = _gateway_pods(mesh, host)
    app = mesh.pods_of(fqdn)
    at_gateway = _policies(mesh, gateway) if gateway else []
    at_app = _policies(mesh, app)
    patterns = _patterns(mesh.rules_about(p, h) for p in at_gateway + at_app for h in hosts)
    public = tuple(p for p in patterns if _reaches(mesh, host, p, None, fqdn))
    acme = tuple(p for p in patterns if p.startswith(ACME_PREFIX) and _reaches(mesh, host, p, 80))
    custom = [p for p in at_gateway if _action(p) == "CUSTOM"]
    login = ", ".join(f"{_provider(p)} ({object_ref(p)})" for p in custom)
    who = _who(mesh, custom, at_gateway, at_app, host)
    deciding = [object_ref(p) for p in at_gateway + at_app]
    name = f"{fqdn.split('.')[1]}/{fqdn.split('.')[0]}"
    return AppAccess(name, tuple(hosts), public, acme, login, tuple(who), tuple(deciding))


def _gateway_pods(mesh: MeshView, host: str) -> Pods | None:
    for gateway in mesh.kind("Gateway"):
        servers = (gateway.get("spec") or {}).get("servers") or []
        if any(host_in(h, host) for s in servers for h in s.get("hosts") or []):
            meta = gateway["metadata"]
            return Pods(meta["name"], meta["namespace"], gateway["spec"]["selector"])
    return None


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


def _reaches(mesh: MeshView, host: str, pattern: str, port: int | None, fqdn: str | None = None) -> bool:
    """Does an anonymous request for the pattern get through (to the app ``fqdn``, when given)?"""
    decision = mesh.decide(Request(host=host, path=_probe(pattern), port=port))
    return decision.allowed and (fqdn is None or decision.destination == fqdn)


def _who(
    mesh: MeshView,
    custom: Sequence[Mapping[str, Any]],
    at_gateway: Sequence[Mapping[str, Any]],
    at_app: Sequence[Mapping[str, Any]],
    host: str,
) -> list[str]:
    who = []
    if custom:
        who.append("signed in through " + _proxy_limits(mesh, custom[0]))
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
    service = mesh.service(str(((provider or {}).get("envoyExtAuthzHttp") or {}).get("service", "")))
    deployment = mesh.deployment_for(service) if service else None
    if deployment is None:
        return f"provider {name}"
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
    return to_markdown(table) if format == "markdown" else to_text(table)
