"""The policies at the ingress gateway, in every shape, and the login by extension provider.

Envoy runs ext_authz, then jwt_authn, then rbac, at the gateway and at each sidecar:

* gateway, CUSTOM ``<name>-login`` (:class:`ProviderLogin`, Istio 1.9+): every request for an app
  host goes to the authorizer, except the app's public paths and, with an HTTP-01 issuer, the ACME
  challenge path on the plain-HTTP port (:func:`acme_ports`; over HTTPS it is behind the login like
  any path: an external service, with no sidecar behind the gateway, would answer it to anyone);
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

from meshauth.config.model import ACME_CHALLENGE_PATH, App, ExternalService
from meshauth.findings import Finding
from meshauth.rendering import sizes
from meshauth.rendering.aspects import bearer
from meshauth.rendering.context import Planned, RenderContext
from meshauth.rendering.shapes.tokens import request_authentication

# Istio's CRDs allow at most 512 rules in one AuthorizationPolicy (spec.rules maxItems); past that,
# or past the size budget of meshauth.rendering.sizes, the gateway's policies continue in
# <name>-2, <name>-3, ... (ALLOW and CUSTOM policies add up). Host lists are cut into rules of
# HOSTS_PER_RULE patterns, so that no one rule outgrows a policy.
MAX_POLICY_RULES = 512
ACCESS_KEYS = ("principals", "not_hosts", "hosts", "paths", "ports", "audiences")
LOGIN_KEYS = ("hosts", "paths", "not_paths", "not_ports", "when")


def _filled(rule: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    """The rule with every field its template asks for (None where the rule has none)."""
    return {key: rule.get(key) for key in keys}


def acme_ports(ctx: RenderContext) -> list[str]:
    """The gateway ports (as AuthorizationPolicy ``ports`` see them: the port Envoy listens on)
    where cert-manager's HTTP-01 challenge arrives, plain HTTP. A Gateway API gateway listens on
    its listener's port (80); Istio's own ingress gateway installs map Service port 80 to pod port
    8080 (istioctl profiles) or 80 (the gateway Helm chart). Never an HTTPS port."""
    return ["80"] if ctx.spec.ingress.api == "gateway-api" else ["80", "8080"]


def exemptions(ctx: RenderContext) -> tuple[list[tuple[list[str], list[str]]], list[str]]:
    """The login's exemptions: (host patterns, public paths) per distinct list of public paths, and
    the host patterns whose ACME challenge path skips the login on :func:`acme_ports` only."""
    public, acme = [], []
    for hosts, paths in ctx.open_groups:
        if ACME_CHALLENGE_PATH in paths:
            acme += hosts
        public.append((hosts, [p for p in paths if p != ACME_CHALLENGE_PATH]))
    return public, acme


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
    hosts = ctx.host_patterns(spec.hosts())
    # Other hosts on a shared gateway are left alone: the one rule that must list every app host.
    others = {"not_hosts": hosts}
    public, acme = exemptions(ctx)
    rules = [
        {**rule, "hosts": chunk}
        for rule in bearer.gateway_token_rules(spec, audiences)
        for chunk in sizes.chunks(hosts, sizes.HOSTS_PER_RULE)
    ]
    rules += [
        {"hosts": chunk, "paths": paths}
        for group, paths in public
        if paths
        for chunk in sizes.chunks(group, sizes.HOSTS_PER_RULE)
    ]
    if acme:
        rules += [
            {"hosts": chunk, "paths": [ACME_CHALLENGE_PATH], "ports": acme_ports(ctx)}
            for chunk in sizes.chunks(acme, sizes.HOSTS_PER_RULE)
        ]
    first = (1, sizes.stored_bytes(others))
    for number, batch in enumerate(sizes.pack(rules, max_items=MAX_POLICY_RULES, first=first)):
        yield Planned(
            "gateway-access-policy.yaml.j2",
            {
                "api_version": ctx.istio.security_api,
                "meta": ctx.meta(sizes.numbered(f"{ctx.name}-access", number), spec.ingress.namespace),
                **attach,
                "rules": [_filled(r, ACCESS_KEYS) for r in ([others, *batch] if number == 0 else batch)],
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
        public, acme = exemptions(ctx)
        # Everything but the public paths and the ACME path goes to the login; the ACME path too,
        # except on the plain-HTTP port where the challenge arrives.
        exempt = [ACME_CHALLENGE_PATH] if acme else []
        rules = [
            {"hosts": chunk, "not_paths": paths + [p for p in exempt if p not in paths], "when": when}
            for group, paths in public
            for chunk in sizes.chunks(group, sizes.HOSTS_PER_RULE)
        ]
        rules += [
            {"hosts": chunk, "paths": exempt, "not_ports": acme_ports(ctx), "when": when}
            for chunk in (sizes.chunks(acme, sizes.HOSTS_PER_RULE) if acme else [])
        ]
        for number, batch in enumerate(sizes.pack(rules, max_items=MAX_POLICY_RULES)):
            yield Planned(
                "login-policy.yaml.j2",
                {
                    "api_version": ctx.istio.security_api,
                    "meta": ctx.meta(sizes.numbered(f"{ctx.name}-login", number), ctx.spec.ingress.namespace),
                    **self.attach,
                    "provider": ctx.spec.mesh.extension_provider,
                    "rules": [_filled(r, LOGIN_KEYS) for r in batch],
                },
            )

    def public_route(self, app: App | ExternalService) -> dict[str, Any] | None:
        return None  # the CUSTOM policy's notPaths already skip the login

    def warnings(self) -> Iterator[Finding]:
        return iter(())
