"""The policies at the ingress gateway, in every shape, and the login by extension provider.

Envoy runs ext_authz, then jwt_authn, then rbac, at the gateway and at each sidecar:

* gateway, CUSTOM ``<name>-login`` (:class:`ProviderLogin`, Istio 1.9+): every request for an app
  host goes to the authorizer, except the app's public paths and, with an HTTP-01 issuer, the ACME
  challenge path;
* gateway, RequestAuthentication ``<name>-jwt``: checks the ID token the authorizer adds and
  forwards it;
* gateway, ALLOW ``<name>-access``: for app hosts, a token for one of the audiences, or one of the
  paths excluded from the login (they carry no token); other hosts on a shared gateway are left
  alone.

``attach`` is where the ingress attaches gateway policies: a selector, or targetRefs.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from meshauth.config.model import App, ExternalService
from meshauth.findings import Finding
from meshauth.rendering.aspects import bearer
from meshauth.rendering.context import Planned, RenderContext
from meshauth.rendering.shapes.tokens import request_authentication

# Istio's CRDs allow at most 512 rules in one AuthorizationPolicy (spec.rules maxItems); beyond
# that, the gateway's policies continue in <name>-2, <name>-3, ... (ALLOW and CUSTOM policies add up).
MAX_POLICY_RULES = 512


def mesh_mtls(ctx: RenderContext) -> Planned:
    """The mesh-wide PeerAuthentication in the root namespace."""
    return Planned(
        "peer-authentication.yaml.j2",
        {
            "api_version": ctx.istio.peer_authentication_api,
            "meta": ctx.meta("default", ctx.spec.mesh.root_namespace),
            "mode": ctx.spec.mesh.mtls,
        },
    )


def token_check(ctx: RenderContext, attach: dict[str, Any]) -> Planned:
    """The gateway's RequestAuthentication ``<name>-jwt``."""
    return request_authentication(ctx, f"{ctx.name}-jwt", ctx.spec.ingress.namespace, attach=attach)


def access_policies(ctx: RenderContext, attach: dict[str, Any]) -> Iterator[Planned]:
    """The gateway's ALLOW ``<name>-access`` (continued in numbered policies past the rule limit)."""
    spec = ctx.spec
    audiences = list(dict.fromkeys(a for site in ctx.sites() for a in ctx.audiences(site)))
    token_rules = bearer.gateway_token_rules(spec, audiences)
    fixed = 1 + len(token_rules)  # the notHosts rule, and a rule per kind of token
    open_rules = [{"hosts": hosts, "paths": paths} for hosts, paths in ctx.open_groups if paths]
    for number, batch in enumerate(batches(open_rules, MAX_POLICY_RULES - fixed)):
        yield Planned(
            "gateway-access-policy.yaml.j2",
            {
                "api_version": ctx.istio.security_api,
                "meta": ctx.meta(numbered(f"{ctx.name}-access", number), spec.ingress.namespace),
                **attach,
                "first": number == 0,
                "hosts": ctx.host_patterns(spec.hosts()),
                "token_rules": token_rules,
                "open": batch,
            },
        )


class ProviderLogin:
    """The CUSTOM policy at the gateway: app hosts go to the extension provider (Istio 1.9+)."""

    def __init__(self, ctx: RenderContext, attach: dict[str, Any]) -> None:
        self.ctx = ctx
        self.attach = attach

    def objects(self) -> Iterator[Planned]:
        ctx = self.ctx
        when = bearer.login_conditions(ctx.spec)
        rules = [{"hosts": hosts, "not_paths": paths, "when": when} for hosts, paths in ctx.open_groups]
        for number, batch in enumerate(batches(rules, MAX_POLICY_RULES)):
            yield Planned(
                "login-policy.yaml.j2",
                {
                    "api_version": ctx.istio.security_api,
                    "meta": ctx.meta(numbered(f"{ctx.name}-login", number), ctx.spec.ingress.namespace),
                    **self.attach,
                    "provider": ctx.spec.mesh.extension_provider,
                    "rules": batch,
                },
            )

    def public_route(self, app: App | ExternalService) -> dict[str, Any] | None:
        return None  # the CUSTOM policy's notPaths already skip the login

    def warnings(self) -> Iterator[Finding]:
        return iter(())


def batches(rules: list[Any], room: int) -> list[list[Any]]:
    """Rules in policies of at most MAX_POLICY_RULES, the first with ``room`` left (always one)."""
    first, rest = [rules[:room]], rules[room:]
    return first + [rest[i : i + MAX_POLICY_RULES] for i in range(0, len(rest), MAX_POLICY_RULES)]


def numbered(name: str, number: int) -> str:
    return name if number == 0 else f"{name}-{number + 1}"
