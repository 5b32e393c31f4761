"""Identity headers a client can never choose: the gateway removes every client-sent copy first.

Apps learn who the user is from headers: oauth2-proxy's ``x-auth-request-*`` (the extension
provider's ``headersToUpstreamOnAllow``) and the ``claimHeaders`` that a RequestAuthentication
copies from the verified token (``outputClaimToHeaders``). Neither filter that sets them removes a
copy the client sent (Envoy's ext_authz overrides only the headers the check answers with, and
jwt_authn *adds* claim headers, ``addCopy``), and on public paths neither runs at all. Route-level
removal (VirtualService ``headers.request.remove``, HTTPRoute ``RequestHeaderModifier``) is no
answer: the router applies it when it forwards, after ext_authz and jwt_authn, so it would drop
the values they set too.

So an EnvoyFilter puts a small Lua filter first (``INSERT_FIRST``) into every HTTP connection
manager of the ingress gateway: it removes these names before ext_authz, jwt_authn or rbac run,
on every port, host and path, in every shape (the gateway is an Envoy in all of them). The values
an app then sees are only those set for this request, further down the same chain or at the app's
sidecar (or waypoint) whose RequestAuthentication outputs the claim headers.
"""

from __future__ import annotations

from meshauth.compat.versions import header_removal_shape
from meshauth.config.model import Spec
from meshauth.rendering.context import Planned, RenderContext
from meshauth.rendering.shapes.oauth2proxy import EXT_AUTHZ_HEADERS

ENVOY_FILTER_API = "networking.istio.io/v1alpha3"


def identity_header_names(spec: Spec) -> list[str]:
    """Every header that tells an app who the user is: oauth2-proxy's, then the claim headers."""
    provider = [h for h in EXT_AUTHZ_HEADERS["upstream_on_allow"] if h.startswith("x-auth-request-")]
    claims = {h for app in spec.apps for h in spec.claim_headers_for(app)}
    claims |= set(spec.identity.claim_headers)
    return [*provider, *sorted(claims - set(provider))]


def lua_code(names: list[str]) -> str:
    """The filter's script; the names are checked header names (lower-case letters, digits, -)."""
    lines = [f'  headers:remove("{name}")' for name in names]
    return "\n".join(
        [
            "function envoy_on_request(request_handle)",
            "  local headers = request_handle:headers()",
            *lines,
            "end",
            "",
        ]
    )


def header_removal(ctx: RenderContext) -> Planned:
    """The EnvoyFilter ``<name>-identity-headers`` on the ingress gateway pods."""
    shape = header_removal_shape(ctx.spec.platform.istio)
    selector, _ = ctx.gateway_workload()
    return Planned(
        "identity-headers-envoy-filter.yaml.j2",
        {
            "api_version": ENVOY_FILTER_API,
            "meta": ctx.meta(f"{ctx.name}-identity-headers", ctx.spec.ingress.namespace),
            "selector": selector,
            "connection_manager": shape.connection_manager,
            "filter": {
                "name": shape.filter_name,
                "typed_config": {
                    "@type": shape.filter_type,
                    "inline_code": lua_code(identity_header_names(ctx.spec)),
                },
            },
        },
    )
