"""External services: a service outside the cluster, served at the gateway behind the same login.

For each entry the gateway gets a ServiceEntry (so it has a cluster for the upstream), with TLS a
DestinationRule that originates TLS with the upstream's name as SNI, and a route for the public
host (VirtualService or HTTPRoute, as the ingress renders routes) that rewrites the Host header to
the upstream's name. The login and gateway policies, the Gateway's listeners and the certificates
cover the public host like an app's (the plan treats both as sites). There is no sidecar in front
of an external service: who may enter is decided at the gateway (a token for the client id).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from meshauth.rendering.context import Planned

if TYPE_CHECKING:
    from meshauth.config.model import ExternalService
    from meshauth.rendering.plan import _Planner


def external_service(p: _Planner, service: ExternalService) -> Iterator[Planned]:
    upstream = service.upstream
    namespace = p.spec.ingress.namespace
    base = f"{p.name}-{service.name}"
    yield Planned(
        "service-entry.yaml.j2",
        {
            "api_version": p.istio.service_entry_api,
            "meta": p.meta(base, namespace),
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
                "api_version": p.istio.networking_api,
                "meta": p.meta(base, namespace),
                "host": upstream.host,
                "port": upstream.port,
                "sni": upstream.sni or upstream.host,
            },
        )
    yield p.modes.ingress.external_route(service, {"host": upstream.host, "port": upstream.port})
