"""External services: a service outside the cluster, served at the gateway behind the same login.

For each entry the gateway gets a ServiceEntry (so it has a cluster for the upstream), with TLS a
DestinationRule that originates TLS with the upstream's name as SNI, and a route for the public
host (VirtualService or HTTPRoute, as the ingress renders routes) that rewrites the Host header to
the upstream's name. The login and gateway policies, the Gateway's listeners and the certificates
cover the public host like an app's (the plan treats both as sites); the route is the ingress
shape's, sent to :func:`upstream`. There is no sidecar in front of an external service: who may
enter is decided at the gateway (a token for the client id).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from meshauth.rendering.context import Planned, RenderContext

if TYPE_CHECKING:
    from meshauth.config.model import ExternalService


def external_service(ctx: RenderContext, service: ExternalService) -> Iterator[Planned]:
    """The ServiceEntry for the upstream, and with TLS its DestinationRule (the route is the
    ingress's, see :func:`upstream`)."""
    upstream = service.upstream
    namespace = ctx.spec.ingress.namespace
    base = f"{ctx.name}-{service.name}"
    yield Planned(
        "service-entry.yaml.j2",
        {
            "api_version": ctx.istio.service_entry_api,
            "meta": ctx.meta(base, namespace),
            "host": upstream.host,
            "port": upstream.port,
            "port_name": "https" if upstream.tls else "http",
            "protocol": "HTTPS" if upstream.tls else "HTTP",
        },
    )
    if upstream.tls:
        yield Planned(
            "destination-rule.yaml.j2",
            {
                "api_version": ctx.istio.networking_api,
                "meta": ctx.meta(base, namespace),
                "host": upstream.host,
                "port": upstream.port,
                "sni": upstream.sni or upstream.host,
            },
        )


def upstream(service: ExternalService) -> dict[str, Any]:
    """Where the ingress's route for ``service`` sends its requests (host and port)."""
    return {"host": service.upstream.host, "port": service.upstream.port}
