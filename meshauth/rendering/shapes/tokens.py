"""The token checks every shape places: a RequestAuthentication where the ID token (or a machine
token) is checked, and the ALLOW rules that say which identities may enter an app."""

from __future__ import annotations

from typing import Any

from meshauth.config.model import App
from meshauth.rendering.aspects import bearer
from meshauth.rendering.context import Planned, RenderContext


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
        {"principals": principals, "when": required + extra} for principals, extra in rules or anyone
    ] + bearer.machine_rules(ctx.spec, machines)
