"""Import, app side: one app per VirtualService on the gateway, with its login exceptions, who may
enter (the ALLOW policies at its sidecar) and, for a simple Deployment, a demo workload (read by
:mod:`meshauth.importer.demoworkload`)."""

from __future__ import annotations

import re
from typing import Any

from meshauth.config.fieldtypes import is_dns_label
from meshauth.config.model import ACME_CHALLENGE_PATH
from meshauth.importer.context import (
    Context,
    denies_without_token,
    match_labels,
    plain_host,
    selects,
    strings,
    walk_rules,
)
from meshauth.importer.demoworkload import demo_workload
from meshauth.importer.mesh import custom_policies
from meshauth.importer.sources import Source
from meshauth.k8s import name_of, namespace_of, spec_of

_ROUTE_EXTRAS = (
    "match",
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
_CLAIM = re.compile(r"^request\.auth\.claims\[([^\]]+)\]$")


def bound_gateway(ctx: Context) -> Source | None:
    """The Gateway most VirtualServices are bound to (``ns/name`` or ``name`` in their namespace)."""
    counts: dict[int, int] = {}
    for service in ctx.of_kind("VirtualService"):
        for gateway in _gateways_of(ctx, service):
            counts[id(gateway)] = counts.get(id(gateway), 0) + 1
    gateways = ctx.of_kind("Gateway")
    best = max(gateways, key=lambda g: counts.get(id(g), 0), default=None)
    for gateway in gateways:
        if gateway is not best:
            ctx.keep(gateway)
            ctx.warn("not imported: meshauth writes one Gateway (spec.ingress.gateway)", gateway)
    ctx.use(best)
    return best


def _login_order(ctx: Context) -> dict[str, int]:
    """Each host's place in the login policy's rules (apps keep that order)."""
    hosts = [
        plain_host(h)
        for p in custom_policies(ctx)
        for _, rule in walk_rules(p.obj)
        for t in rule.get("to") or []
        for h in strings((t.get("operation") or {}).get("hosts"))
    ]
    return {host: index for index, host in reversed(list(enumerate(hosts)))}


def _gateways_of(ctx: Context, service: Source) -> list[Source]:
    found = []
    for ref in strings(spec_of(service.obj).get("gateways")):
        namespace, _, name = ref.rpartition("/")
        gateway = ctx.named("Gateway", name, namespace or namespace_of(service.obj))
        if gateway is not None:
            found.append(gateway)
    return found


def apps_section(ctx: Context, gateway: Source | None, client_id: str) -> list[dict[str, Any]]:
    services = [
        s for s in ctx.of_kind("VirtualService") if gateway is None or gateway in _gateways_of(ctx, s)
    ]
    apps: list[dict[str, Any]] = []
    order = _login_order(ctx)

    def position(service: Source) -> int:
        first = next(iter(strings(spec_of(service.obj).get("hosts"))), "")
        return order.get(first, len(order))

    for service in sorted(services, key=position):
        app = _app(ctx, service, {a["name"] for a in apps}, client_id)
        if app is not None:
            apps.append(app)
    _hosts_behind_login(ctx, [h for a in apps for h in a.get("hosts", [a.get("host")])])
    for service in ctx.of_kind("VirtualService"):
        if service not in services:
            ctx.keep(service)
            ctx.warn("not imported: it is not bound to the Gateway meshauth imports", service)
    if not apps:
        ctx.error(
            "no app found: meshauth makes one app per VirtualService bound to the gateway; "
            "give the VirtualServices too",
            path="spec.apps",
        )
    return apps


def _app(ctx: Context, service: Source, taken: set[str], client_id: str) -> dict[str, Any] | None:
    hosts = [h for h in strings(spec_of(service.obj).get("hosts")) if "*" not in h and "." in h]
    if len(hosts) != len(strings(spec_of(service.obj).get("hosts"))):
        ctx.warn("wildcard and short hosts are not imported: an app needs fully qualified hosts", service)
    destination = _destination(ctx, service)
    if not hosts or destination is None:
        ctx.keep(service)
        ctx.warn("not imported: no host or no route destination", service, "spec.hosts")
        return None
    ctx.use(service)
    target, namespace, port = destination
    own = name_of(service.obj).removeprefix(f"{ctx.options.name}-")  # meshauth's own output
    candidates = (own,) if own != name_of(service.obj) else ()
    name = next(
        n
        for n in (*candidates, target, name_of(service.obj), f"{target}-{len(taken) + 2}")
        if is_dns_label(n) and n not in taken
    )
    app: dict[str, Any] = {"name": name}
    if namespace != name:
        app["namespace"] = namespace
    app.update({"host": hosts[0]} if len(hosts) == 1 else {"hosts": hosts})
    backend = ctx.named("Service", target, namespace)
    port = port or _single_port(backend)
    service_block = {
        k: v
        for k, v in (
            ("name", target if target != name else None),
            ("port", port if port not in (None, 80) else None),
        )
        if v
    }
    if service_block:
        app["service"] = service_block
    selector = _selector(ctx, backend, namespace)
    if selector and selector != {"app": name}:
        app["selector"] = selector
    public = _public_paths(ctx, hosts)
    authorization, open_paths = _authorization(ctx, namespace, selector or {"app": name}, client_id)
    public += [p for p in open_paths if p not in public]
    if public:
        app["publicPaths"] = public
    if authorization:
        app["authorization"] = authorization
    deploy = demo_workload(ctx, backend, namespace, selector or {"app": name}, port or 80)
    if deploy is not None:
        app["deploy"] = deploy
    return app


def _destination(ctx: Context, service: Source) -> tuple[str, str, int | None] | None:
    routes = [r for r in spec_of(service.obj).get("http") or [] if isinstance(r, dict)]
    if not routes or not routes[0].get("route"):
        return None
    first = routes[0]["route"][0].get("destination") or {}
    if len(routes) > 1 or len(routes[0]["route"]) > 1 or any(k in routes[0] for k in _ROUTE_EXTRAS):
        ctx.warn(
            f"only the route to {first.get('host')} is imported: meshauth writes one plain "
            "route per app (keep a VirtualService of your own for the rest)",
            service,
        )
    parts = str(first.get("host", "")).split(".")
    namespace = parts[1] if len(parts) > 1 else namespace_of(service.obj)
    port = (first.get("port") or {}).get("number")
    return parts[0], namespace, port if isinstance(port, int) else None


def _single_port(backend: Source | None) -> int | None:
    ports = [p.get("port") for p in spec_of(backend.obj).get("ports") or []] if backend else []
    return ports[0] if len(ports) == 1 and isinstance(ports[0], int) else None


def _selector(ctx: Context, backend: Source | None, namespace: str) -> dict[str, str]:
    policies = [
        p
        for p in ctx.of_kind("AuthorizationPolicy", namespace)
        + ctx.of_kind("RequestAuthentication", namespace)
        if match_labels(p.obj)
    ]
    if policies:
        return match_labels(policies[0].obj)
    return (
        {str(k): str(v) for k, v in (spec_of(backend.obj).get("selector") or {}).items()} if backend else {}
    )


def _public_paths(ctx: Context, hosts: list[str]) -> list[str]:
    """The login policy's ``notPaths`` for these hosts (the ACME path aside): the open paths."""
    paths: list[str] = []
    for policy, index, operation in _login_operations(ctx, hosts):
        written = [p for p in strings(operation.get("notPaths")) if p != ACME_CHALLENGE_PATH]
        for k, pattern in enumerate(written):
            if pattern in paths or _covered(pattern, written):
                continue  # "/dex/**" is Istio's prefix "/dex/*", within "/dex/*"
            if not _expressible(pattern):
                ctx.warn(
                    f"notPaths {pattern!r} is not carried over: publicPaths take exact paths or a "
                    "prefix ending in a single '*'; add the path it means to publicPaths",
                    policy,
                    f"spec.rules[{index}].to[].operation.notPaths[{k}]",
                )
                continue
            paths.append(pattern)
        if operation.get("paths"):
            ctx.warn(
                f"rule {index}: login only on some paths ({', '.join(strings(operation['paths']))}) "
                "is not imported: meshauth puts the whole host behind the login, except "
                "publicPaths",
                policy,
                f"spec.rules[{index}]",
            )
    return paths


def _covered(pattern: str, others: list[str]) -> bool:
    """Another prefix pattern matches every path ``pattern`` matches (Istio: a trailing ``*`` is
    a prefix match, any other ``*`` a literal)."""
    prefix = pattern[:-1] if pattern.endswith("*") else pattern
    return any(o != pattern and o.endswith("*") and prefix.startswith(o[:-1]) for o in others)


def _expressible(pattern: str) -> bool:
    star = pattern.find("*")
    return (
        pattern.startswith("/") and not any(c in pattern for c in "?# \t") and star in (-1, len(pattern) - 1)
    )


def _login_operations(ctx: Context, hosts: list[str]) -> list[tuple[Source, int, dict[str, Any]]]:
    """The login policies' operations that name one of ``hosts``, each once, in policy order."""
    if "login-operations" not in ctx.memo:
        by_host: dict[str, list[tuple[int, Source, int, dict[str, Any]]]] = {}
        order = 0
        for policy in custom_policies(ctx):
            for index, rule in walk_rules(policy.obj):
                for target in rule.get("to") or []:
                    operation = target.get("operation") or {}
                    # an operation that names no host applies to every host
                    for host in {plain_host(h) for h in strings(operation.get("hosts"))} or {"*"}:
                        by_host.setdefault(host, []).append((order, policy, index, operation))
                    order += 1
        ctx.memo["login-operations"] = by_host
    found = {
        entry[0]: entry for host in [*hosts, "*"] for entry in ctx.memo["login-operations"].get(host, ())
    }
    return [
        (policy, index, operation)
        for _, policy, index, operation in sorted(found.values(), key=lambda e: e[0])
    ]


def _hosts_behind_login(ctx: Context, hosts: list[str]) -> None:
    guarded: set[str] = set()
    for policy in custom_policies(ctx):
        ctx.use(policy)
        for index, rule in walk_rules(policy.obj):
            operations = [t.get("operation") or {} for t in rule.get("to") or []]
            rule_hosts = {plain_host(h) for o in operations for h in strings(o.get("hosts"))}
            guarded |= rule_hosts
            if any("hosts" not in o for o in operations):  # notPaths alone: every host, but those paths
                guarded |= set(hosts)
            if (
                rule.get("when")
                or rule.get("from")
                or any(set(o) - {"hosts", "notPaths", "paths"} for o in operations)
            ):
                ctx.warn(
                    f"rule {index}: conditions other than hosts and paths are not imported",
                    policy,
                    f"spec.rules[{index}]",
                )
        if any(not rule.get("to") for _, rule in walk_rules(policy.obj)):
            guarded |= set(hosts)
    for host in sorted(set(hosts) - guarded):
        ctx.warn(
            f"host {host} was not behind the login in your manifests; meshauth puts every app "
            "host behind it (list open paths in publicPaths)",
            path="spec.apps",
        )
    for host in sorted(guarded - set(hosts)):
        ctx.warn(f"host {host} is behind the login but no imported app serves it", path="spec.apps")


# --- who may enter ---------------------------------------------------------------------------------


def _authorization(
    ctx: Context, namespace: str, selector: dict[str, str], client_id: str
) -> tuple[dict[str, Any], list[str]]:
    """(authorization, open paths) from the ALLOW policies at the app's sidecar."""
    found: dict[str, Any] = {
        "emails": [],
        "groups": [],
        "principals": [],
        "claims": {},
        "audiences": [],
    }
    open_paths: list[str] = []
    for policy in ctx.of_kind("RequestAuthentication", namespace):
        if selects(match_labels(policy.obj), selector):
            ctx.use(policy)
    for policy in ctx.of_kind("AuthorizationPolicy", namespace):
        if not selects(match_labels(policy.obj), selector) or spec_of(policy.obj).get("action") == "CUSTOM":
            continue
        if denies_without_token(policy.obj):
            ctx.use(policy)
            continue
        if spec_of(policy.obj).get("action", "ALLOW") != "ALLOW":
            ctx.keep(policy)
            ctx.warn(
                f"not imported: at the sidecars of {namespace} meshauth writes ALLOW policies only, "
                f"not this {spec_of(policy.obj).get('action')} policy; keep applying it yourself",
                policy,
                "spec.action",
            )
            continue
        ctx.use(policy)
        for index, rule in walk_rules(policy.obj):
            _rule(ctx, policy, index, rule, found, open_paths)
    if found["audiences"] == [client_id]:
        found["audiences"] = []
    return {k: v for k, v in found.items() if v}, open_paths


def _rule(
    ctx: Context,
    policy: Source,
    index: int,
    rule: dict[str, Any],
    found: dict[str, Any],
    open_paths: list[str],
) -> None:
    where = f"spec.rules[{index}]"
    sources = [f.get("source") or {} for f in rule.get("from") or []]
    operations = [t.get("operation") or {} for t in rule.get("to") or []]
    principals = [p for s in sources for p in strings(s.get("requestPrincipals"))]
    if not sources and not rule.get("when") and operations:
        open_paths += [p for o in operations for p in strings(o.get("paths")) if p not in open_paths]
        return
    unmapped = sorted({k for s in sources for k in s} - {"requestPrincipals"})
    unmapped += sorted({k for o in operations for k in o} - {"paths"})
    kinds = 0
    for condition in rule.get("when") or []:
        key, values = str(condition.get("key", "")), strings(condition.get("values"))
        claim = _CLAIM.match(key)
        if key == "request.auth.audiences":
            found["audiences"] += [v for v in values if v not in found["audiences"]]
        elif claim and claim.group(1) in ("email", "groups"):
            target = "emails" if claim.group(1) == "email" else "groups"
            found[target] += [v for v in values if v not in found[target]]
            kinds += 1
        elif claim:
            found["claims"][claim.group(1)] = values
        else:
            unmapped.append(f"when {key}")
    specific = [p for p in principals if p != "*"]
    if specific:
        found["principals"] += [p for p in specific if p not in found["principals"]]
        kinds += 1
    if unmapped:
        ctx.warn(
            f"rule {index}: {', '.join(unmapped)} not imported (meshauth matches audiences, "
            "claims, emails, groups and principals)",
            policy,
            where,
        )
    if kinds > 1:
        ctx.warn(
            f"rule {index} requires several identities at once; meshauth admits anyone who "
            "matches one of emails, groups or principals",
            policy,
            where,
        )
