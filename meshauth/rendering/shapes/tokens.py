"""The token checks every shape places: a RequestAuthentication where the ID token (or a machine
token) is checked, and the ALLOW rules that say which identities may enter an app."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from meshauth.config.model import App
from meshauth.rendering import sizes
from meshauth.rendering.aspects import bearer
from meshauth.rendering.context import Planned, RenderContext

MAX_APP_RULES = 511  # Istio's 512 rules per AuthorizationPolicy, less the public paths' rule


def request_authentication(
    ctx: RenderContext,
    name: str,
    namespace: str,
    selector: dict[str, str] | None = None,
    *,
    attach: dict[str, Any] | None = None,
    claim_headers: dict[str, str] | None = None,
) -> Planned:
    """A token check on the workloads ``selector`` picks, or where ``attach`` (targetRefs) says;
    ``claim_headers`` (header -> claim) become each rule's outputClaimToHeaders."""
    return Planned(
        "request-authentication.yaml.j2",
        {
            "api_version": ctx.istio.security_api,
            "meta": ctx.meta(name, namespace),
            **(attach or {"selector": selector}),
            "jwt_rules": bearer.jwt_rules(ctx.spec),
            "claim_headers": [{"header": h, "claim": c} for h, c in sorted((claim_headers or {}).items())],
        },
    )


def path_scope(ctx: RenderContext, app: App) -> dict[str, list[str]] | None:
    """Where an app that shares its host admits anyone: its own prefix, without the longer prefixes
    of the other apps on the host, so that no app's policy opens another's part (None: the whole
    app, as an app alone on its host)."""
    if not ctx.shares_host(app):
        return None
    inner = [
        path
        for other in ctx.siblings(app)
        if len(other.path_prefix) > len(app.path_prefix) and app.owns(other.path_prefix)
        for path in other.prefix_paths
    ]
    return {"paths": app.prefix_paths, "not_paths": inner}


def identity_rules(ctx: RenderContext, app: App) -> list[dict[str, Any]]:
    """ALLOW rules at the app's sidecar (or waypoint): any listed identity, always with audience
    and claims.

    Principals of a machine-token issuer (identity.bearerTokens) get a rule of their own that
    asks for that issuer's audiences instead of the app's, and no claims.
    """
    authz = app.authorization
    assert authz is not None
    required = [{"key": "request.auth.audiences", "values": ctx.audiences(app)}]
    required += [
        {"key": f"request.auth.claims[{name}]", "values": values}
        for name, values in sorted(authz.claims.items())
    ]
    groups_claim = ctx.spec.identity.groups_claim_name
    rules: list[tuple[list[str], list[dict[str, Any]]]] = []
    if authz.emails:
        rules.append((["*"], [{"key": "request.auth.claims[email]", "values": authz.emails}]))
    if authz.groups:
        claim = f"request.auth.claims[{groups_claim}]"
        rules.append((["*"], [{"key": claim, "values": authz.groups}]))
    users, machines = bearer.split_principals(ctx.spec, authz.principals)
    if users:
        rules.append((users, []))
    anyone: list[tuple[list[str], list[dict[str, Any]]]] = (
        [] if machines else [(["*"], [])]
    )  # listing only machines admits only them
    return [
        {"principals": principals_part, "when": required + extra_part}
        for principals, extra in rules or anyone
        # a long list of users, emails or groups is cut into rules that each admit a part of it
        for principals_part in sizes.chunks(principals, sizes.VALUES_PER_RULE)
        for extra_part in _parts(extra)
    ] + bearer.machine_rules(ctx.spec, machines)


def _parts(conditions: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The one condition of an identity rule (emails or groups) in parts of VALUES_PER_RULE values."""
    if not conditions:
        return [[]]
    (condition,) = conditions
    return [
        [{**condition, "values": part}] for part in sizes.chunks(condition["values"], sizes.VALUES_PER_RULE)
    ]


def access_policies(
    ctx: RenderContext, app: App, namespace: str, attach: dict[str, Any], public_paths: list[str]
) -> Iterator[Planned]:
    """The app's ALLOW ``<name>-<app>-access``: its identity rules, continued in ``-access-2``, ...
    past the size budget (meshauth.rendering.sizes); the public paths' rule is in the first."""
    rules = identity_rules(ctx, app)
    scope = path_scope(ctx, app)
    first = (1, sizes.stored_bytes(public_paths)) if public_paths else (0, 0)
    for number, batch in enumerate(sizes.pack(rules, max_items=MAX_APP_RULES, first=first)):
        yield Planned(
            "app-access-policy.yaml.j2",
            {
                "api_version": ctx.istio.security_api,
                "meta": ctx.meta(sizes.numbered(f"{ctx.name}-{app.name}-access", number), namespace),
                **attach,
                "rules": batch,
                "scope": scope,
                "public_paths": public_paths if number == 0 else [],
            },
        )
