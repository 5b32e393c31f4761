"""Pieces the workloads meshauth deploys share: who may reach a workload, and the Secret an
authorizer reads its client secret (and cookie secret, Redis password) from."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from meshauth.config.model import REDIS_PASSWORD_KEY
from meshauth.rendering.aspects import hardening
from meshauth.rendering.context import Planned, RenderContext

HBONE_PORT = 15008
# Where ambient mode's kubelet probes come from: istio-cni SNATs them to this link-local address so
# that ztunnel lets them through in plain text (Istio docs, "Ambient and Kubernetes NetworkPolicy").
AMBIENT_PROBE_SOURCE = "169.254.7.127/32"


def guards(
    ctx: RenderContext,
    name: str,
    namespace: str,
    selector: dict[str, str],
    replicas: int,
    *,
    principals: list[str],
    peers: dict[str, Any],
    probe_ports: tuple[int, ...] = (),
) -> Iterator[Planned]:
    """Who may reach a workload (AuthorizationPolicy on mTLS identities when ``principals``,
    NetworkPolicy from ``peers``) and how many replicas a drain may take (more than one). The
    kubelet probes the ports of ``peers`` and ``probe_ports``."""
    meta = ctx.meta(name, namespace)
    budget = hardening.disruption_budget(replicas)
    if budget:
        yield Planned(
            "pod-disruption-budget.yaml.j2",
            {"meta": meta, "selector": selector, "max_unavailable": budget["maxUnavailable"]},
        )
    ingress = [peers]
    if ctx.spec.mesh.dataplane == "ambient":
        # In ambient mode traffic arrives over HBONE (port 15008) from ztunnel and waypoints,
        # not from the caller's pods: admit HBONE, where the mTLS identity check below (and the
        # waypoint's policies) decide who gets in. The kubelet's probes arrive in plain text from
        # the address istio-cni SNATs them to ("Ambient and Kubernetes NetworkPolicy", Istio docs):
        # admit that address on the probed ports only.
        probed = [*(p["port"] for p in peers["ports"]), *probe_ports]
        ingress = [
            {"ports": [{"protocol": "TCP", "port": HBONE_PORT}]},
            {
                "from": [{"ipBlock": {"cidr": AMBIENT_PROBE_SOURCE}}],
                "ports": [{"protocol": "TCP", "port": port} for port in dict.fromkeys(probed)],
            },
        ]
    yield Planned("network-policy.yaml.j2", {"meta": meta, "selector": selector, "ingress": ingress})
    if principals:
        yield Planned(
            "workload-access-policy.yaml.j2",
            {
                "api_version": ctx.istio.security_api,
                "meta": meta,
                "selector": selector,
                "principals": principals,
            },
        )


def secret(ctx: RenderContext, meta: dict[str, Any]) -> Iterator[Planned]:
    """The object that holds (or produces) the Secret the authorizer reads; none for existing."""
    secret = ctx.spec.secret
    if secret.source == "inline":
        inline = secret.inline
        values = (
            ("client-secret", inline.client_secret),
            ("cookie-secret", inline.cookie_secret),
            (REDIS_PASSWORD_KEY, inline.redis_password),
        )
        yield Planned(
            "oauth2-proxy-secret.yaml.j2",
            {"meta": meta, "data": {key: value.get_secret_value() for key, value in values if value}},
        )
    elif secret.source == "external-secrets":
        external = secret.external_secret
        refs = (
            ("client-secret", external.data.client_secret),
            ("cookie-secret", external.data.cookie_secret),
            (REDIS_PASSWORD_KEY, external.data.redis_password),
        )
        yield Planned(
            "external-secret.yaml.j2",
            {
                "meta": meta,
                "refresh_interval": external.refresh_interval,
                "store": external.store_ref.model_dump(),
                "data": [
                    {"secretKey": key, "remoteRef": ref.model_dump(exclude_none=True)}
                    for key, ref in refs
                    if ref is not None
                ],
            },
        )
    elif secret.source == "sealed-secrets":
        yield Planned(
            "sealed-secret.yaml.j2",
            {"meta": meta, "encrypted_data": dict(sorted(secret.sealed.encrypted_data.items()))},
        )
