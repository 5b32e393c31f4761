"""config -> plan: which objects to render, from which template, with which values.

The plan chooses the shapes for the config (:func:`meshauth.rendering.shapes.choose.select`) and
joins what each renders, in a fixed order. The shapes decide the objects: names, apiVersions and
fields for the target versions (asked of :mod:`meshauth.compat.versions`), which paths skip the
login, who may enter each app. Templates receive plain values and only lay them out.

How the policies fit together (Envoy runs ext_authz, then jwt_authn, then rbac, at the gateway and at
each sidecar):

* gateway, login (:mod:`~meshauth.rendering.shapes.gatewaypolicy`): every request for an app host
  goes to the authorizer, except the app's public paths and, with an HTTP-01 issuer, the ACME
  challenge path;
* gateway, RequestAuthentication ``<name>-jwt``: checks the ID token the authorizer adds and
  forwards it;
* gateway, ALLOW ``<name>-access``: for app hosts, a token for one of the audiences, or one of the
  paths excluded from the login (they carry no token); other hosts on a shared gateway are left alone;
* each app's sidecar (or waypoint), RequestAuthentication + ALLOW: the app's audiences, claims and
  identities, and its public paths (within its pathPrefix when apps share a host); the token check
  there copies the app's claimHeaders;
* gateway, EnvoyFilter ``<name>-identity-headers``: before all of the above, removes the identity
  headers a client sent (:mod:`~meshauth.rendering.shapes.identityheaders`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from meshauth.config.model import App, ExternalService, MeshAuthConfig
from meshauth.findings import Finding
from meshauth.rendering.configwarnings import config_warnings
from meshauth.rendering.context import Planned, RenderContext
from meshauth.rendering.shapes import cluster, externals, gatewaypolicy, identityheaders
from meshauth.rendering.shapes.choose import Modes, select
from meshauth.rendering.shapes.demo import demo_workload


@dataclass(frozen=True)
class Plan:
    objects: list[Planned]
    mesh: Planned
    warnings: list[Finding] = field(default_factory=list)


def plan(config: MeshAuthConfig) -> Plan:
    ctx = RenderContext(config)
    modes = select(ctx)
    spec = config.spec
    attach = modes.ingress.attach()
    objects = [
        *cluster.namespaces(ctx, modes.authorizer.namespace, modes.dataplane.namespace_labels),
        *cluster.issuer(ctx, modes.ingress.http01_solver),
        *modes.authorizer.objects(),
        gatewaypolicy.mesh_mtls(ctx),
        gatewaypolicy.token_check(ctx, attach),
        identityheaders.header_removal(ctx),
        *modes.login.objects(),
        *gatewaypolicy.access_policies(ctx, attach),
        *modes.ingress.gateway(),
        *modes.dataplane.shared(),
        *(obj for app in spec.apps for obj in _app(ctx, modes, app)),
        *(obj for service in spec.external_services for obj in _external(ctx, modes, service)),
    ]
    warnings = [*config_warnings(spec), *modes.warnings()]
    return Plan(objects=objects, mesh=modes.authorizer.mesh_config(), warnings=warnings)


def _app(ctx: RenderContext, modes: Modes, app: App) -> Iterator[Planned]:
    yield from modes.dataplane.app_policies(app)
    yield from modes.ingress.route(app, modes.login.public_route)
    if app.deploy:
        yield from demo_workload(ctx, app)


def _external(ctx: RenderContext, modes: Modes, service: ExternalService) -> Iterator[Planned]:
    yield from externals.external_service(ctx, service)
    yield modes.ingress.external_route(
        service, externals.upstream(service), modes.login.public_route(service)
    )
