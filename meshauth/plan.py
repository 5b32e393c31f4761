"""config -> plan: which objects to render, from which template, with which values.

Every decision lives here: names, apiVersions and fields for the target versions (asked of
:mod:`meshauth.versions` and :mod:`meshauth.oauth2proxy`), which paths skip the login, who may
enter each app. Templates receive plain values and only lay them out.

How the policies fit together (Envoy runs ext_authz, then jwt_authn, then rbac, at the gateway and at
each sidecar):

* gateway, CUSTOM ``<name>-login``: every request for an app host goes to oauth2-proxy, except the
  app's public paths and, with an HTTP-01 issuer, the ACME challenge path;
* gateway, RequestAuthentication ``<name>-jwt``: checks the ID token oauth2-proxy adds and forwards it;
* gateway, ALLOW ``<name>-access``: for app hosts, a token for one of the audiences, or one of the
  paths excluded from the login (they carry no token); other hosts on a shared gateway are left alone;
* each app's sidecar, RequestAuthentication + ALLOW: the app's audiences, claims and identities,
  and its public paths.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator

from meshauth import bearer, idp, oauth2proxy, proxyflags, sessions, sso
from meshauth.config import (
    ACME_CHALLENGE_PATH,
    REDIS_NAME,
    App,
    MeshAuthConfig,
    RedisSessionStore,
)
from meshauth.fieldtypes import duration_seconds
from meshauth.findings import Finding
from meshauth.versions import NEWEST_KNOWN_ISTIO, IstioFeatures, istio_features

PROXY_NAME = "oauth2-proxy"
HOLD_UNTIL_PROXY_STARTS = '{"holdApplicationUntilProxyStarts":true}'
INGRESS_CLASS = "istio"
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


@dataclass(frozen=True)
class Planned:
    template: str
    values: dict[str, Any]


@dataclass(frozen=True)
class Plan:
    objects: list[Planned]
    mesh: Planned
    warnings: list[Finding] = field(default_factory=list)


def plan(config: MeshAuthConfig) -> Plan:
    p = _Planner(config)
    objects = [
        *p.namespaces(),
        *p.issuer(),
        *p.oauth2_proxy(),
        *p.mesh_policies(),
        *p.gateway(),
        *(obj for app in config.spec.apps for obj in p.app(app)),
    ]
    return Plan(objects=objects, mesh=p.mesh_config(), warnings=list(p.warnings()))


class _Planner:
    def __init__(self, config: MeshAuthConfig) -> None:
        self.config = config
        self.spec = config.spec
        self.name = config.metadata.name
        self.istio: IstioFeatures = istio_features(self.spec.platform.istio)
        self.labels = {
            "app.kubernetes.io/managed-by": "meshauth",
            "app.kubernetes.io/part-of": self.name,
        }

    # --- shared facts ----------------------------------------------------------------------------

    def meta(self, name: str, namespace: str | None = None, **extra: str) -> dict[str, Any]:
        return {"name": name, "namespace": namespace, "labels": {**self.labels, **extra}}

    @property
    def http01(self) -> bool:
        return self.spec.tls is not None and self.spec.tls.http01

    def open_paths(self, app: App) -> list[str]:
        """Paths of ``app`` that skip the login: its public paths and the ACME challenge path."""
        acme = [ACME_CHALLENGE_PATH] if self.http01 else []
        return [*app.public_paths, *(p for p in acme if p not in app.public_paths)]

    @staticmethod
    def host_patterns(hosts: list[str]) -> list[str]:
        """A host as Istio matches it: bare, and with any port (``Host: app.example.com:443``)."""
        return [pattern for host in hosts for pattern in (host, f"{host}:*")]

    def audiences(self, app: App) -> list[str]:
        assert app.authorization is not None
        return app.authorization.audiences or [self.spec.identity.client_id]

    def gateway_ref(self) -> str:
        return f"{self.spec.ingress.namespace}/{self.spec.ingress.gateway}"

    # --- objects ---------------------------------------------------------------------------------

    def namespaces(self) -> Iterator[Planned]:
        istio_managed = {self.spec.mesh.root_namespace, self.spec.ingress.namespace}
        wanted = [self.spec.oauth2_proxy.namespace, *(app.namespace for app in self.spec.apps)]
        for namespace in sorted(set(wanted) - istio_managed):
            meta = self.meta(namespace, **{"istio-injection": "enabled"})
            yield Planned("namespace.yaml.j2", {"meta": meta})

    def issuer(self) -> Iterator[Planned]:
        tls = self.spec.tls
        if tls is None or not tls.issuer.create:
            return
        issuer, acme = tls.issuer, tls.issuer.acme
        if acme.solver == "http01":
            solver: dict[str, Any] = {"http01": {"ingress": {"ingressClassName": INGRESS_CLASS}}}
            yield Planned("ingress-class.yaml.j2", {"meta": self.meta(INGRESS_CLASS)})
        else:
            solver = {"dns01": acme.dns01}
        namespace = self.spec.ingress.namespace if issuer.kind == "Issuer" else None
        yield Planned(
            "issuer.yaml.j2",
            {
                "kind": issuer.kind,
                "meta": self.meta(issuer.name, namespace),
                "server": acme.server,
                "email": acme.email,
                "account_key": f"{issuer.name}-account-key",
                "solver": solver,
            },
        )

    def oauth2_proxy(self) -> Iterator[Planned]:
        proxy, secret = self.spec.oauth2_proxy, self.spec.secret
        namespace = proxy.namespace
        selector = {"app.kubernetes.io/name": PROXY_NAME}
        yield Planned(
            "service-account.yaml.j2", {"meta": self.meta(PROXY_NAME, namespace, **selector)}
        )
        yield from self.secret(self.meta(secret.name, namespace, **selector))
        yield Planned(
            "oauth2-proxy-service.yaml.j2",
            {"meta": self.meta(PROXY_NAME, namespace, **selector), "selector": selector,
             "port": oauth2proxy.PORT},
        )
        if proxy.session_store.type == "redis" and proxy.session_store.deploy:
            yield from self.redis(namespace, proxy.session_store, selector)
        liveness, readiness = proxyflags.health_paths(proxy.version)
        uid = proxyflags.image_user(proxy.version)
        yield Planned(
            "oauth2-proxy-deployment.yaml.j2",
            {
                "meta": self.meta(PROXY_NAME, namespace, **selector),
                "replicas": proxy.replicas,
                "selector": selector,
                "pod_labels": {**selector, "app": PROXY_NAME},
                "service_account": PROXY_NAME,
                "image": f"{proxy.image}:{proxy.version}",
                "args": oauth2proxy.args(
                    self.spec,
                    idp.provider(self.spec),
                    idp.whitelist_domains(self.spec),
                    sso.cookie_domains(self.spec.hosts(), proxy.cookie.domains, proxy.cookie.shared),
                    [*sessions.flags(self.spec), *idp.flags(self.spec), *bearer.flags(self.spec)],
                ),
                "env": sessions.env(self.spec),
                # oauth2-proxy fetches the OIDC discovery document (and tests Redis) when it
                # starts, through its sidecar: hold it until the sidecar is ready.
                "pod_annotations": {"proxy.istio.io/config": HOLD_UNTIL_PROXY_STARTS},
                "secret_name": secret.name,
                "port": oauth2proxy.PORT,
                "uid": uid,
                "liveness_path": liveness,
                "readiness_path": readiness,
            },
        )

    def secret(self, meta: dict[str, Any]) -> Iterator[Planned]:
        """The object that holds (or produces) the Secret oauth2-proxy reads; none for existing."""
        secret = self.spec.secret
        if secret.source == "inline":
            yield Planned(
                "oauth2-proxy-secret.yaml.j2",
                {
                    "meta": meta,
                    "client_id": self.spec.identity.client_id,
                    "client_secret": secret.inline.client_secret.get_secret_value(),
                    "cookie_secret": secret.inline.cookie_secret.get_secret_value(),
                },
            )
        elif secret.source == "external-secrets":
            external = secret.external_secret
            refs = (("client-secret", external.data.client_secret),
                    ("cookie-secret", external.data.cookie_secret))
            yield Planned(
                "external-secret.yaml.j2",
                {
                    "meta": meta,
                    "refresh_interval": external.refresh_interval,
                    "store": external.store_ref.model_dump(),
                    "data": [
                        {"secretKey": key, "remoteRef": ref.model_dump(exclude_none=True)}
                        for key, ref in refs
                    ],
                },
            )
        elif secret.source == "sealed-secrets":
            yield Planned(
                "sealed-secret.yaml.j2",
                {"meta": meta, "encrypted_data": dict(sorted(secret.sealed.encrypted_data.items()))},
            )

    def redis(
        self, namespace: str, store: RedisSessionStore, proxy_selector: dict[str, str]
    ) -> Iterator[Planned]:
        """A small Redis for oauth2-proxy's sessions: disposable (no persistence), non-root, reachable
        only from oauth2-proxy's pods, with the password from passwordSecret when one is set."""
        selector = {"app.kubernetes.io/name": REDIS_NAME}
        meta = self.meta(REDIS_NAME, namespace, **selector)
        password = store.password_secret
        yield Planned("redis-service.yaml.j2", {"meta": meta, "selector": selector})
        yield Planned(
            "redis-network-policy.yaml.j2",
            {"meta": meta, "selector": selector, "clients": proxy_selector},
        )
        yield Planned(
            "redis-deployment.yaml.j2",
            {"meta": meta, "selector": selector, "pod_labels": {**selector, "app": REDIS_NAME},
             "image": store.image,
             "password": {"secret": password.name, "key": password.key} if password else None},
        )

    def mesh_policies(self) -> Iterator[Planned]:
        spec, ingress = self.spec, self.spec.ingress
        yield Planned(
            "peer-authentication.yaml.j2",
            {
                "api_version": self.istio.peer_authentication_api,
                "meta": self.meta("default", spec.mesh.root_namespace),
                "mode": spec.mesh.mtls,
            },
        )
        yield self.request_authentication(f"{self.name}-jwt", ingress.namespace, ingress.selector)
        yield Planned(
            "login-policy.yaml.j2",
            {
                "api_version": self.istio.security_api,
                "meta": self.meta(f"{self.name}-login", ingress.namespace),
                "selector": ingress.selector,
                "provider": spec.mesh.extension_provider,
                "rules": [
                    {"hosts": self.host_patterns(app.all_hosts), "not_paths": self.open_paths(app),
                     "when": bearer.login_conditions(spec)}
                    for app in spec.apps
                ],
            },
        )
        audiences = list(dict.fromkeys(a for app in spec.apps for a in self.audiences(app)))
        yield Planned(
            "gateway-access-policy.yaml.j2",
            {
                "api_version": self.istio.security_api,
                "meta": self.meta(f"{self.name}-access", ingress.namespace),
                "selector": ingress.selector,
                "hosts": self.host_patterns(spec.hosts()),
                "token_rules": bearer.gateway_token_rules(spec, audiences),
                "open": [
                    {"hosts": self.host_patterns(app.all_hosts), "paths": self.open_paths(app)}
                    for app in spec.apps
                    if self.open_paths(app)
                ],
            },
        )

    def request_authentication(
        self, name: str, namespace: str, selector: dict[str, str]
    ) -> Planned:
        return Planned(
            "request-authentication.yaml.j2",
            {
                "api_version": self.istio.security_api,
                "meta": self.meta(name, namespace),
                "selector": selector,
                "jwt_rules": bearer.jwt_rules(self.spec),
            },
        )

    def gateway(self) -> Iterator[Planned]:
        spec, tls = self.spec, self.spec.tls
        https = [
            {
                "port_name": f"https-{app.name}",
                "hosts": app.all_hosts,
                "credential": f"{self.name}-{app.name}-tls",
            }
            for app in spec.apps
        ] if tls else []
        http_hosts = [] if self.http01 else spec.hosts()
        yield Planned(
            "gateway.yaml.j2",
            {
                "api_version": self.istio.networking_api,
                "meta": self.meta(spec.ingress.gateway, spec.ingress.namespace),
                "selector": spec.ingress.selector,
                "https": https,
                "http_hosts": http_hosts,
                "https_redirect": tls is not None,
            },
        )
        for app in spec.apps if tls else ():
            yield Planned(
                "certificate.yaml.j2",
                {
                    "meta": self.meta(f"{self.name}-{app.name}", spec.ingress.namespace),
                    "secret_name": f"{self.name}-{app.name}-tls",
                    "dns_names": app.all_hosts,
                    "issuer": {"name": tls.issuer.name, "kind": tls.issuer.kind,
                               "group": "cert-manager.io"},
                },
            )

    def app(self, app: App) -> Iterator[Planned]:
        assert app.namespace and app.service.name and app.selector and app.authorization
        base = f"{self.name}-{app.name}"
        yield self.request_authentication(f"{base}-jwt", app.namespace, app.selector)
        yield Planned(
            "app-access-policy.yaml.j2",
            {
                "api_version": self.istio.security_api,
                "meta": self.meta(f"{base}-access", app.namespace),
                "selector": app.selector,
                "rules": self.identity_rules(app),
                "public_paths": app.public_paths,
            },
        )
        yield Planned(
            "virtual-service.yaml.j2",
            {
                "api_version": self.istio.networking_api,
                "meta": self.meta(base, app.namespace),
                "hosts": app.all_hosts,
                "gateway": self.gateway_ref(),
                "destination": f"{app.service.name}.{app.namespace}.svc.cluster.local",
                "port": app.service.port,
            },
        )
        if app.deploy:
            yield from self.demo_workload(app)

    def identity_rules(self, app: App) -> list[dict[str, Any]]:
        """ALLOW rules at the app's sidecar: any listed identity, always with audience and claims.

        Principals of a machine-token issuer (identity.bearerTokens) get a rule of their own that
        asks for that issuer's audiences instead of the app's, and no claims.
        """
        authz = app.authorization
        assert authz is not None
        required = [{"key": "request.auth.audiences", "values": self.audiences(app)}]
        required += [
            {"key": f"request.auth.claims[{name}]", "values": values}
            for name, values in sorted(authz.claims.items())
        ]
        groups_claim = self.spec.identity.groups_claim_name
        rules = []
        if authz.emails:
            rules.append((["*"], [{"key": "request.auth.claims[email]", "values": authz.emails}]))
        if authz.groups:
            claim = f"request.auth.claims[{groups_claim}]"
            rules.append((["*"], [{"key": claim, "values": authz.groups}]))
        users, machines = bearer.split_principals(self.spec, authz.principals)
        if users:
            rules.append((users, []))
        anyone = [] if machines else [(["*"], [])]  # listing only machines admits only them
        return [
            {"principals": principals, "when": required + extra}
            for principals, extra in rules or anyone
        ] + bearer.machine_rules(self.spec, machines)

    def demo_workload(self, app: App) -> Iterator[Planned]:
        assert app.deploy and app.service.name and app.namespace
        meta = self.meta(app.service.name, app.namespace)
        target_port = app.deploy.container_port or app.service.port
        yield Planned(
            "demo-service.yaml.j2",
            {"meta": meta, "selector": app.selector, "port": app.service.port,
             "target_port": target_port},
        )
        yield Planned(
            "demo-deployment.yaml.j2",
            {"meta": meta, "selector": app.selector, "replicas": app.deploy.replicas,
             "image": app.deploy.image, "port": target_port},
        )

    # --- the mesh configuration (not in the stream) ----------------------------------------------

    def mesh_config(self) -> Planned:
        proxy = self.spec.oauth2_proxy
        provider = {
            "name": self.spec.mesh.extension_provider,
            "service": f"{PROXY_NAME}.{proxy.namespace}.svc.cluster.local",
            "port": oauth2proxy.PORT,
            "include_key": self.istio.include_headers_key,
            "headers": {
                **EXT_AUTHZ_HEADERS,
                "downstream_on_allow": (
                    EXT_AUTHZ_HEADERS["downstream_on_allow"]
                    if self.istio.headers_to_downstream_on_allow
                    else None
                ),
            },
        }
        entry = Planned("extension-provider.yaml.j2", {"provider": provider})
        if self.spec.mesh.install == "helm":
            return Planned("mesh-istiod-values.yaml.j2", {"provider": entry})
        return Planned(
            "mesh-istio-operator.yaml.j2",
            {"meta": self.meta(f"{self.name}-mesh", self.spec.mesh.root_namespace),
             "provider": entry},
        )

    def warnings(self) -> Iterator[Finding]:
        spec = self.spec
        lifetime = spec.identity.id_token_lifetime_seconds
        refresh = duration_seconds(spec.oauth2_proxy.cookie.refresh)
        if lifetime and not 0 < refresh < lifetime:
            yield Finding(
                "MA018", "warning",
                f"cookie refresh {spec.oauth2_proxy.cookie.refresh} is not shorter than the "
                f"{spec.identity.preset} ID token's lifetime ({_duration(lifetime)}): once the "
                "token expires before oauth2-proxy refreshes it, the gateway answers 401 \"Jwt is "
                "expired\"; set oauth2Proxy.cookie.refresh below it, such as "
                f"{_duration(lifetime // 2)} (or identity.idTokenLifetime if you changed it)",
                path="spec.oauth2Proxy.cookie.refresh",
            )
        yield from idp.warnings(spec)
        yield from sessions.warnings(spec)
        if spec.tls is None:
            yield Finding(
                "config", "warning",
                "no tls: apps are served over plain HTTP, and the login cookie and ID token travel "
                "unencrypted; use this only for a local test setup",
                path="spec.tls",
            )
        if proxyflags.parse_version(spec.oauth2_proxy.version) > proxyflags.parse_version(
            proxyflags.LATEST
        ):
            yield Finding(
                "config", "warning",
                f"oauth2-proxy {spec.oauth2_proxy.version} is newer than the newest release "
                f"meshauth knows ({proxyflags.LATEST}); flags are checked against that one",
                path="spec.oauth2Proxy.version",
            )
        if spec.platform.istio > NEWEST_KNOWN_ISTIO:
            yield Finding(
                "config", "warning",
                f"Istio {spec.platform.istio_version} is newer than the newest version meshauth "
                "knows (1.30); the 1.30 API shapes are used",
                path="spec.platform.istioVersion",
            )


def _duration(seconds: int) -> str:
    """Seconds as a Go duration (``1h``, ``5m``, ``2m30s``)."""
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = "".join(f"{n}{unit}" for n, unit in ((hours, "h"), (minutes, "m"), (secs, "s")) if n)
    return text or "0s"
