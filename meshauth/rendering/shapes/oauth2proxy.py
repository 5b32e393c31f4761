"""``authorizer: oauth2-proxy`` (the default): the oauth2-proxy workload, its Redis, and the mesh's
extension provider that sends the gateway's login checks to it.

oauth2-proxy's command line is :mod:`meshauth.rendering.aspects.proxyargs`; what each release can
do is :mod:`meshauth.compat.proxyflags`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from meshauth.compat import proxyflags
from meshauth.config import sso
from meshauth.config.model import REDIS_NAME, REDIS_PASSWORD_KEY, SECRET_KEYS, RedisSessionStore
from meshauth.k8s import ID_TOKEN_LIFETIME
from meshauth.rendering.aspects import bearer, hardening, idp, proxyargs, sessions
from meshauth.rendering.context import Planned, RenderContext
from meshauth.rendering.shapes.workloads import guards, secret

PROXY_NAME = "oauth2-proxy"
HOLD_UNTIL_PROXY_STARTS = '{"holdApplicationUntilProxyStarts":true}'
# The headers Envoy's ext_authz passes to oauth2-proxy and back (extension provider and EnvoyFilter).
EXT_AUTHZ_HEADERS = {
    "check": ["authorization", "cookie"],
    "upstream_on_allow": [
        "authorization",
        "x-auth-request-user",
        "x-auth-request-email",
        "x-auth-request-groups",
        "x-auth-request-preferred-username",
    ],
    "downstream_on_allow": ["set-cookie"],
    "downstream_on_deny": ["content-type", "set-cookie"],
}


class OAuth2Proxy:
    def __init__(self, ctx: RenderContext) -> None:
        self.ctx = ctx
        self.namespace = ctx.spec.oauth2_proxy.namespace

    def objects(self) -> Iterator[Planned]:
        ctx = self.ctx
        spec = ctx.spec
        proxy = spec.oauth2_proxy
        namespace = proxy.namespace
        selector = {"app.kubernetes.io/name": PROXY_NAME}
        yield Planned("service-account.yaml.j2", {"meta": ctx.meta(PROXY_NAME, namespace, **selector)})
        yield from secret(ctx, ctx.meta(spec.secret.name, namespace, **selector))
        yield Planned(
            "oauth2-proxy-service.yaml.j2",
            {
                "meta": ctx.meta(PROXY_NAME, namespace, **selector),
                "selector": selector,
                "port": proxyargs.PORT,
            },
        )
        if proxy.session_store.type == "redis" and proxy.session_store.deploy:
            yield from self.redis(namespace, proxy.session_store, selector)
        yield self.deployment(selector)
        gateway_pods, gateway_account = ctx.gateway_workload()
        gateway = hardening.principal(spec.ingress.namespace, gateway_account)
        yield from guards(
            ctx,
            PROXY_NAME,
            namespace,
            selector,
            proxy.replicas,
            principals=[gateway],
            peers=hardening.ingress_from(spec.ingress.namespace, gateway_pods, proxyargs.PORT),
        )

    def deployment(self, selector: dict[str, str]) -> Planned:
        ctx = self.ctx
        spec = ctx.spec
        proxy = spec.oauth2_proxy
        liveness, readiness = proxyflags.health_paths(proxy.version)
        uid = proxyflags.image_user(proxy.version)
        image = f"{proxy.image}:{proxy.version}" + (f"@{proxy.digest}" if proxy.digest else "")
        inputs = self.secret_inputs()
        inputs["env"] += [
            {"name": e["name"], "valueFrom": {"secretKeyRef": {"name": e["secret"], "key": e["key"]}}}
            for e in sessions.env(spec)
        ]
        low_uid = f"UID {uid} is the image's user before v7.3.0" if uid < hardening.HIGH_UID else None
        meta = ctx.meta(PROXY_NAME, proxy.namespace, **selector)
        meta["annotations"] = hardening.checkov_skips(
            image, low_uid=low_uid, secret_env=secret_env_reason(inputs["env"])
        )
        if spec.identity.id_token_lifetime is not None:  # read by rule MA018
            meta["annotations"][ID_TOKEN_LIFETIME] = f"{spec.identity.id_token_lifetime_seconds}s"
        return Planned(
            "oauth2-proxy-deployment.yaml.j2",
            {
                "meta": meta,
                "replicas": proxy.replicas,
                "selector": selector,
                "pod_labels": {**selector, "app": PROXY_NAME},
                "service_account": PROXY_NAME,
                "image": image,
                "pull_policy": hardening.pull_policy(image),
                "spread": hardening.spread(selector, proxy.replicas),
                **inputs,
                "args": proxyargs.args(
                    spec,
                    idp.provider(spec),
                    idp.whitelist_domains(spec),
                    sso.cookie_domains(spec.hosts(), proxy.cookie.domains, proxy.cookie.shared),
                    [*sessions.flags(spec), *idp.flags(spec), *bearer.flags(spec)],
                ),
                # oauth2-proxy fetches the OIDC discovery document (and tests Redis) when it
                # starts, through its sidecar: hold it until the sidecar is ready.
                "pod_annotations": {"proxy.istio.io/config": HOLD_UNTIL_PROXY_STARTS},
                "secret_name": spec.secret.name,
                "port": proxyargs.PORT,
                "uid": uid,
                "liveness_path": liveness,
                "readiness_path": readiness,
            },
        )

    def secret_inputs(self) -> dict[str, Any]:
        """How oauth2-proxy reads its Secret: as files where the release can (so the values are not
        in its environment), else as environment variables; the Redis password always from the
        environment (there is no file flag for it)."""
        proxy, name = self.ctx.spec.oauth2_proxy, self.ctx.spec.secret.name
        files = proxyflags.reads_secret_files(proxy.version)
        env = (
            []
            if files
            else [
                {
                    "name": f"OAUTH2_PROXY_{key.upper().replace('-', '_')}",
                    "valueFrom": {"secretKeyRef": {"name": name, "key": key}},
                }
                for key in SECRET_KEYS
            ]
        )
        store = proxy.session_store
        if store.type == "redis" and not store.deploy and store.password_secret is None:
            env.append(
                {
                    "name": "OAUTH2_PROXY_REDIS_PASSWORD",
                    "valueFrom": {
                        "secretKeyRef": {"name": name, "key": REDIS_PASSWORD_KEY, "optional": True}
                    },
                }
            )
        volume = (
            {
                "path": proxyargs.SECRET_DIR,
                "secret": name,
                "items": [{"key": key, "path": key} for key in SECRET_KEYS],
            }
            if files
            else None
        )
        return {"env": env, "secret_volume": volume}

    def redis(
        self, namespace: str, store: RedisSessionStore, proxy_selector: dict[str, str]
    ) -> Iterator[Planned]:
        """A small Redis for oauth2-proxy's sessions: disposable (no persistence), non-root,
        reachable only by oauth2-proxy (mTLS identity and NetworkPolicy), with the password from
        passwordSecret when one is set. One replica: sessions live in its memory."""
        ctx = self.ctx
        selector = {"app.kubernetes.io/name": REDIS_NAME}
        meta = ctx.meta(REDIS_NAME, namespace, **selector)
        password = sessions.redis_password(ctx.spec)
        image = store.image
        yield Planned("service-account.yaml.j2", {"meta": meta})
        yield Planned("redis-service.yaml.j2", {"meta": meta, "selector": selector})
        yield Planned(
            "redis-deployment.yaml.j2",
            {
                "meta": {
                    **meta,
                    "annotations": hardening.checkov_skips(
                        image,
                        secret_env="redis-server takes its password only as --requirepass, which "
                        "Kubernetes fills in from the environment"
                        if password
                        else None,
                    ),
                },
                "selector": selector,
                "pod_labels": {**selector, "app": REDIS_NAME},
                "image": image,
                "service_account": REDIS_NAME,
                "uid": hardening.REDIS_UID,
                "pull_policy": hardening.pull_policy(image),
                "password": {"secret": password[0], "key": password[1]} if password else None,
            },
        )
        yield from guards(
            ctx,
            REDIS_NAME,
            namespace,
            selector,
            1,
            principals=[hardening.principal(namespace, PROXY_NAME)],
            peers=hardening.ingress_from(namespace, proxy_selector, 6379),
        )

    def mesh_config(self) -> Planned:
        """The extension provider for oauth2-proxy (Istio 1.9+); before, the login is an
        EnvoyFilter and the mesh configuration adds nothing."""
        ctx = self.ctx
        if not ctx.istio.extension_providers:
            return mesh_config_without_provider(ctx)
        provider = {
            "name": ctx.spec.mesh.extension_provider,
            "service": f"{PROXY_NAME}.{self.namespace}.svc.cluster.local",
            "port": proxyargs.PORT,
            "include_key": ctx.istio.include_headers_key,
            "headers": {
                **EXT_AUTHZ_HEADERS,
                "downstream_on_allow": (
                    EXT_AUTHZ_HEADERS["downstream_on_allow"]
                    if ctx.istio.headers_to_downstream_on_allow
                    else None
                ),
            },
        }
        entry = Planned("extension-provider.yaml.j2", {"provider": provider})
        if ctx.spec.mesh.install == "helm":
            return Planned("mesh-istiod-values.yaml.j2", {"provider": entry})
        return Planned(
            "mesh-istio-operator.yaml.j2",
            {"meta": ctx.meta(f"{ctx.name}-mesh", ctx.spec.mesh.root_namespace), "provider": entry},
        )


def secret_env_reason(env: list[dict[str, Any]]) -> str | None:
    """Why the Deployment has secrets in its environment (a checkov skip), if it has."""
    names = {e["name"] for e in env}
    reasons = []
    if "OAUTH2_PROXY_COOKIE_SECRET" in names:
        reasons.append("oauth2-proxy reads the cookie secret from a file only from v7.11.0")
    if "OAUTH2_PROXY_REDIS_PASSWORD" in names:
        reasons.append("oauth2-proxy has no file flag for the Redis password")
    return "; ".join(reasons) or None


def mesh_config_without_provider(ctx: RenderContext) -> Planned:
    """Before Istio 1.9 there are no extension providers: the mesh configuration adds nothing."""
    if ctx.spec.mesh.install == "helm":
        return Planned("mesh-istiod-values-empty.yaml.j2", {})
    return Planned(
        "mesh-istio-operator-empty.yaml.j2",
        {"meta": ctx.meta(f"{ctx.name}-mesh", ctx.spec.mesh.root_namespace)},
    )
