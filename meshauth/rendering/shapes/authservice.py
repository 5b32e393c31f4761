"""``authorizer: authservice``: istio-ecosystem/authservice instead of oauth2-proxy.

authservice speaks Envoy's ext_authz gRPC protocol, so the mesh gets an ``envoyExtAuthzGrpc``
extension provider, and the same CUSTOM login, token check and per-app policies as with
oauth2-proxy. Its JSON configuration (a ConfigMap, mounted at ``/etc/authservice/config.json``,
where the image reads it) has one filter chain per host, matched on ``:authority`` (bare, and with
a port), each an OIDC filter whose callback is on that host, so the session cookie is set for the
host the user asked for. Endpoints come from the issuer's discovery document; the ID token goes
upstream as ``Authorization: Bearer``, where the gateway's RequestAuthentication checks it as it
checks oauth2-proxy's. The client secret stays in the Secret (``client-secret`` key) that
``secret`` describes: authservice reads it through the Kubernetes API (``client_secret_ref``), so
its service account may read Secrets in its own namespace (Role + RoleBinding), and nothing secret
is in the ConfigMap. Sessions live in memory unless ``redisUrl`` is set; they always end (and Redis
always gets a TTL): ``oauth2Proxy.cookie.expire`` after the login, or ``idleSessionTimeout`` without
a request (authservice keeps a session forever when both are 0, ``internal/oidc/redis.go``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from meshauth.config.authservice import session_timeouts
from meshauth.rendering.aspects import hardening
from meshauth.rendering.context import Planned, RenderContext
from meshauth.rendering.shapes.workloads import guards, secret

NAME = "authservice"
GRPC_PORT = 10003
HEALTH_PORT = 10004
CONFIG_DIR = "/etc/authservice"
THREADS = 4
IMAGE_USER = 65532  # distroless "nonroot"


class AuthServiceAuthorizer:
    def __init__(self, ctx: RenderContext) -> None:
        self.ctx = ctx
        self.settings = ctx.spec.authservice
        self.namespace = self.settings.namespace

    def meta(self, name: str = NAME) -> dict[str, Any]:
        return self.ctx.meta(name, self.namespace, **{"app.kubernetes.io/name": NAME})

    def objects(self) -> Iterator[Planned]:
        ctx, settings = self.ctx, self.settings
        selector = {"app.kubernetes.io/name": NAME}
        image = f"{settings.image}:{settings.version}"
        yield Planned("service-account.yaml.j2", {"meta": self.meta()})
        yield from secret(ctx, self.meta(ctx.spec.secret.name))
        reads_secrets = {
            "checkov.io/skip1": "CKV2_K8S_5=authservice reads its client secret "
            "through the API; the Role is confined to its own namespace"
        }
        yield Planned(
            "role.yaml.j2", {"meta": {**self.meta(f"{NAME}-secrets"), "annotations": reads_secrets}}
        )
        yield Planned(
            "role-binding.yaml.j2",
            {
                "meta": {**self.meta(f"{NAME}-secrets"), "annotations": reads_secrets},
                "role": f"{NAME}-secrets",
                "service_account": NAME,
                "namespace": self.namespace,
            },
        )
        yield Planned("authservice-config.yaml.j2", {"meta": self.meta(), "config": self.config_json()})
        yield Planned(
            "authservice-service.yaml.j2",
            {"meta": self.meta(), "selector": selector, "grpc_port": GRPC_PORT, "health_port": HEALTH_PORT},
        )
        yield Planned(
            "authservice-deployment.yaml.j2",
            {
                "meta": {
                    **self.meta(),
                    "annotations": hardening.checkov_skips(
                        image, api_token="authservice reads its client secret through the Kubernetes API"
                    ),
                },
                "pull_policy": hardening.pull_policy(image),
                "replicas": settings.replicas,
                "selector": selector,
                "pod_labels": {**selector, "app": NAME},
                "service_account": NAME,
                "image": image,
                "config_map": NAME,
                "config_dir": CONFIG_DIR,
                "grpc_port": GRPC_PORT,
                "health_port": HEALTH_PORT,
                "uid": IMAGE_USER,
            },
        )
        gateway_pods, gateway_account = ctx.gateway_workload()
        yield from guards(
            ctx,
            NAME,
            self.namespace,
            selector,
            settings.replicas,
            principals=[hardening.principal(ctx.spec.ingress.namespace, gateway_account)],
            peers=hardening.ingress_from(ctx.spec.ingress.namespace, gateway_pods, GRPC_PORT),
            probe_ports=(HEALTH_PORT,),
        )

    def config_json(self) -> str:
        """authservice's configuration (config/v1 proto, as JSON), canonical: sorted, indented."""
        config = {
            "listen_address": "0.0.0.0",
            "listen_port": GRPC_PORT,
            "log_level": self.settings.log_level,
            "threads": THREADS,
            "allow_unmatched_requests": False,
            "chains": [chain for host in self.ctx.spec.hosts() for chain in self.chains(host)],
        }
        return json.dumps(config, indent=2, sort_keys=True) + "\n"

    def chains(self, host: str) -> list[dict[str, Any]]:
        """Requests for ``host`` (with or without a port) log in with the callback on ``host``."""
        oidc = {"oidc": self.oidc(host)}
        return [
            {"name": host, "match": {"header": ":authority", "equality": host}, "filters": [oidc]},
            {
                "name": f"{host}-with-port",
                "match": {"header": ":authority", "prefix": f"{host}:"},
                "filters": [oidc],
            },
        ]

    def oidc(self, host: str) -> dict[str, Any]:
        spec = self.ctx.spec
        identity = spec.identity
        scheme = "https" if spec.tls is not None else "http"
        issuer = str(identity.issuer_url).rstrip("/")
        oidc: dict[str, Any] = {
            "configuration_uri": f"{issuer}/.well-known/openid-configuration",
            "callback_uri": f"{scheme}://{host}{self.settings.callback_path}",
            "client_id": identity.client_id,
            "client_secret_ref": {"namespace": self.namespace, "name": spec.secret.name},
            "scopes": [s for s in identity.scopes if s != "openid"],  # openid is always sent
            "cookie_name_prefix": self.ctx.name,
            "id_token": {"preamble": "Bearer", "header": "authorization"},
            **session_timeouts(self.settings, spec.oauth2_proxy.cookie.expire),
        }
        if self.settings.redis_url:
            oidc["redis_session_store_config"] = {"server_uri": self.settings.redis_url}
        return oidc

    def mesh_config(self) -> Planned:
        ctx = self.ctx
        provider = {
            "name": ctx.spec.mesh.extension_provider,
            "service": f"{NAME}.{self.namespace}.svc.cluster.local",
            "port": GRPC_PORT,
        }
        entry = Planned("extension-provider-grpc.yaml.j2", {"provider": provider})
        if ctx.spec.mesh.install == "helm":
            return Planned("mesh-istiod-values.yaml.j2", {"provider": entry})
        return Planned(
            "mesh-istio-operator.yaml.j2",
            {"meta": ctx.meta(f"{ctx.name}-mesh", ctx.spec.mesh.root_namespace), "provider": entry},
        )
