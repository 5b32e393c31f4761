"""The login before Istio 1.9: an EnvoyFilter that puts ext_authz into the ingress gateway.

Istio 1.9 brought extension providers and the CUSTOM action; before that, the way to ask an
external authorizer was to patch Envoy's ext_authz HTTP filter into the gateway's HTTP connection
managers (the shape per version is :class:`meshauth.compat.versions.EnvoyFilterShape`):

* one ``HTTP_FILTER`` patch per site, matched by the SNI of the site's HTTPS server (Istio builds
  one filter chain per Gateway server, with its hosts as server names), inserted before the JWT
  filter: the same order as CUSTOM from 1.9 (ext_authz, jwt_authn, rbac). Other servers on a shared
  gateway, and the plain-HTTP port where cert-manager's HTTP-01 solver answers, are left alone.
  Without tls there is no SNI to tell hosts apart: the filter then applies to every host the
  gateway serves (a warning says so);
* public paths cannot be excluded by a policy rule: the site's route gets a named route for them
  and an ``HTTP_ROUTE`` patch turns ext_authz off there (``ExtAuthzPerRoute.disabled``).

If the JWT filter is missing (no RequestAuthentication at the gateway) the patch does not apply,
and the gateway's ALLOW policy, which requires a token, denies: the failure mode is closed.
oauth2-proxy is asked at ``http://<service>:4180`` through the gateway's outbound cluster for it,
with the same headers as the extension provider (Envoy before 1.17 cannot pass headers to the
client on allow).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from meshauth.findings import Finding
from meshauth.rendering import sizes
from meshauth.rendering.aspects import proxyargs
from meshauth.rendering.context import Planned, RenderContext
from meshauth.rendering.shapes.oauth2proxy import EXT_AUTHZ_HEADERS, PROXY_NAME

if TYPE_CHECKING:
    from meshauth.compat.versions import EnvoyFilterShape
    from meshauth.config.model import App, ExternalService

CHECK_TIMEOUT = "10s"
PATCH_BYTES = 300  # one patch without the ext_authz filter it inserts (match, operation), as stored


def string_patterns(names: list[str]) -> dict[str, Any]:
    return {"patterns": [{"exact": name} for name in names]}


class EnvoyFilterLogin:
    def __init__(self, ctx: RenderContext) -> None:
        assert ctx.istio.envoy_filter is not None
        self.ctx = ctx
        self.shape: EnvoyFilterShape = ctx.istio.envoy_filter

    def objects(self) -> Iterator[Planned]:
        """``<name>-login``; past the size budget its patches continue in ``<name>-login-2``, ...
        (each site's patches stay together; the patches of different sites are independent)."""
        ctx, shape = self.ctx, self.shape
        ingress = ctx.spec.ingress
        ext_authz = self.ext_authz()
        patch_bytes = sizes.stored_bytes(ext_authz) + PATCH_BYTES

        tls = ctx.spec.tls is not None
        first_on_host = {id(site) for site in ctx.host_sites()}  # apps on one host share its SNI
        patches = [
            # without tls one ext_authz patch, with no SNI, covers every host (the first site's)
            {
                "sni": site.all_hosts[0] if tls else None,
                "filter": id(site) in first_on_host if tls else index == 0,
                "public_route": route,
            }
            for index, site in enumerate(ctx.sites())
            for route in [(self.public_route(site) or {}).get("name")]
        ]

        def size(patch: dict[str, Any]) -> int:
            return (patch_bytes if patch["filter"] else 0) + (PATCH_BYTES if patch["public_route"] else 0)

        for number, batch in enumerate(sizes.pack(patches, max_items=len(patches), size=size)):
            yield Planned(
                "login-envoy-filter.yaml.j2",
                {
                    "api_version": shape.api_version,
                    "meta": ctx.meta(sizes.numbered(f"{ctx.name}-login", number), ingress.namespace),
                    "selector": ingress.selector,
                    "connection_manager": shape.connection_manager,
                    "jwt_filter": shape.jwt_filter,
                    "snis": [patch["sni"] for patch in batch if patch["filter"]],
                    "ext_authz": ext_authz,
                    "public_routes": [patch["public_route"] for patch in batch if patch["public_route"]],
                    "per_route": {
                        shape.ext_authz_filter: {"@type": shape.ext_authz_per_route_type, "disabled": True},
                    },
                },
            )

    def ext_authz(self) -> dict[str, Any]:
        """The ext_authz filter, asking oauth2-proxy with the extension provider's headers."""
        shape = self.shape
        host = f"{PROXY_NAME}.{self.ctx.spec.oauth2_proxy.namespace}.svc.cluster.local"
        port = proxyargs.PORT
        return {
            "name": shape.ext_authz_filter,
            "typed_config": {
                "@type": shape.ext_authz_type,
                "failure_mode_allow": False,
                "http_service": {
                    "server_uri": {
                        "uri": f"http://{host}:{port}",
                        "cluster": f"outbound|{port}||{host}",
                        "timeout": CHECK_TIMEOUT,
                    },
                    "authorization_request": {
                        "allowed_headers": string_patterns(EXT_AUTHZ_HEADERS["check"]),
                    },
                    "authorization_response": {
                        "allowed_upstream_headers": string_patterns(EXT_AUTHZ_HEADERS["upstream_on_allow"]),
                        "allowed_client_headers": string_patterns(EXT_AUTHZ_HEADERS["downstream_on_deny"]),
                    },
                },
            },
        }

    def public_route(self, site: App | ExternalService) -> dict[str, Any] | None:
        """The named route for a site's public paths (Istio path syntax: exact, or prefix ``/*``)."""
        if not site.public_paths:
            return None
        match = [
            {"uri": {"prefix": path[:-1]}} if path.endswith("*") else {"uri": {"exact": path}}
            for path in site.public_paths
        ]
        return {"name": f"{self.ctx.name}-{site.name}-public", "match": match}

    def warnings(self) -> Iterator[Finding]:
        if self.ctx.spec.tls is None:
            yield Finding(
                "config",
                "warning",
                f"Istio {self.ctx.spec.platform.istio_version} has no CUSTOM action: the login is "
                "an EnvoyFilter on the gateway, and without tls there is no SNI that limits it to "
                "the app hosts, so every host this gateway serves goes through the login",
                path="spec.tls",
            )
