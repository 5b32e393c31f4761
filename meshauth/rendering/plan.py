"""config -> plan: which objects to render, from which template, with which values.

Every decision lives here: names, apiVersions and fields for the target versions (asked of
:mod:`meshauth.compat.versions` and :mod:`meshauth.rendering.aspects.proxyargs`), which paths skip the login, who may
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

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from meshauth.compat import proxyflags
from meshauth.compat.versions import NEWEST_KNOWN_ISTIO, IstioFeatures, istio_features
from meshauth.config import sso
from meshauth.config.model import (
    ACME_CHALLENGE_PATH,
    REDIS_NAME,
    REDIS_PASSWORD_KEY,
    SECRET_KEYS,
    App,
    ExternalService,
    MeshAuthConfig,
    RedisSessionStore,
)
from meshauth.findings import Finding
from meshauth.k8s import ID_TOKEN_LIFETIME
from meshauth.rendering.aspects import bearer, hardening, idp, sessions
from meshauth.rendering.aspects import proxyargs as oauth2proxy
from meshauth.rendering.context import Planned
from meshauth.rendering.shapes import choose as topology
from meshauth.rendering.shapes.externals import external_service

PROXY_NAME = "oauth2-proxy"
# Istio's CRDs allow at most 512 rules in one AuthorizationPolicy (spec.rules maxItems); beyond
# that, the gateway's policies continue in <name>-2, <name>-3, ... (ALLOW and CUSTOM policies add up).
MAX_POLICY_RULES = 512
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
class Plan:
    objects: list[Planned]
    mesh: Planned
    warnings: list[Finding] = field(default_factory=list)


def plan(config: MeshAuthConfig) -> Plan:
    p = _Planner(config)
    modes = p.modes
    objects = [
        *p.namespaces(),
        *p.issuer(),
        *modes.authorizer.objects(),
        *p.mesh_policies(),
        *modes.ingress.gateway(),
        *modes.dataplane.shared(),
        *(obj for app in config.spec.apps for obj in p.app(app)),
        *(obj for svc in config.spec.external_services for obj in external_service(p, svc)),
    ]
    warnings = [*p.warnings(), *modes.warnings()]
    return Plan(objects=objects, mesh=modes.authorizer.mesh_config(), warnings=warnings)


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
        self.modes: topology.Modes = topology.select(self)
        self._apps_by_namespace: dict[str | None, list[App]] = {}
        for app in self.spec.apps:
            self._apps_by_namespace.setdefault(app.namespace, []).append(app)

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

    def sites(self) -> list[App | ExternalService]:
        """Everything served at the gateway behind the login: the apps, then external services."""
        return [*self.spec.apps, *self.spec.external_services]

    def gateway_ref(self) -> str:
        return f"{self.spec.ingress.namespace}/{self.spec.ingress.gateway}"

    # --- objects ---------------------------------------------------------------------------------

    def namespaces(self) -> Iterator[Planned]:
        istio_managed = {self.spec.mesh.root_namespace, self.spec.ingress.namespace}
        wanted = [self.modes.authorizer.namespace, *(app.namespace for app in self.spec.apps)]
        for namespace in sorted(set(wanted) - istio_managed):
            labels = {**self.modes.dataplane.namespace_labels(namespace), **self.pod_security(namespace)}
            yield Planned("namespace.yaml.j2", {"meta": self.meta(namespace, **labels)})

    def pod_security(self, namespace: str) -> dict[str, str]:
        """Enforce the restricted profile where meshauth renders every pod it knows to be there
        (the proxy's namespace; an app namespace whose apps all deploy), and only with Istio CNI
        (see :mod:`meshauth.rendering.aspects.hardening`)."""
        apps = self._apps_by_namespace.get(namespace, [])
        ours = namespace == self.spec.oauth2_proxy.namespace or bool(apps)
        shared = namespace == "default"  # holds whatever lands there; never restrict it wholesale
        if not self.spec.mesh.cni or not ours or shared or not all(app.deploy for app in apps):
            return {}
        return hardening.pod_security_labels(self.spec.platform.kubernetes_version)

    def issuer(self) -> Iterator[Planned]:
        tls = self.spec.tls
        if tls is None or not tls.issuer.create:
            return
        issuer, acme = tls.issuer, tls.issuer.acme
        if acme.solver == "http01":
            solver, extra = self.modes.ingress.http01_solver()
            yield from extra
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
        yield Planned("service-account.yaml.j2", {"meta": self.meta(PROXY_NAME, namespace, **selector)})
        yield from self.secret(self.meta(secret.name, namespace, **selector))
        yield Planned(
            "oauth2-proxy-service.yaml.j2",
            {
                "meta": self.meta(PROXY_NAME, namespace, **selector),
                "selector": selector,
                "port": oauth2proxy.PORT,
            },
        )
        if proxy.session_store.type == "redis" and proxy.session_store.deploy:
            yield from self.redis(namespace, proxy.session_store, selector)
        liveness, readiness = proxyflags.health_paths(proxy.version)
        uid = proxyflags.image_user(proxy.version)
        image = f"{proxy.image}:{proxy.version}" + (f"@{proxy.digest}" if proxy.digest else "")
        inputs = self.secret_inputs()
        inputs["env"] += [
            {"name": e["name"], "valueFrom": {"secretKeyRef": {"name": e["secret"], "key": e["key"]}}}
            for e in sessions.env(self.spec)
        ]
        low_uid = f"UID {uid} is the image's user before v7.3.0" if uid < hardening.HIGH_UID else None
        meta = self.meta(PROXY_NAME, namespace, **selector)
        meta["annotations"] = hardening.checkov_skips(
            image, low_uid=low_uid, secret_env=self.secret_env_reason(inputs["env"])
        )
        if self.spec.identity.id_token_lifetime is not None:  # read by rule MA018
            meta["annotations"][ID_TOKEN_LIFETIME] = f"{self.spec.identity.id_token_lifetime_seconds}s"
        yield Planned(
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
                "args": oauth2proxy.args(
                    self.spec,
                    idp.provider(self.spec),
                    idp.whitelist_domains(self.spec),
                    sso.cookie_domains(self.spec.hosts(), proxy.cookie.domains, proxy.cookie.shared),
                    [*sessions.flags(self.spec), *idp.flags(self.spec), *bearer.flags(self.spec)],
                ),
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
        gateway_pods, gateway_account = self.gateway_workload()
        gateway = hardening.principal(self.spec.ingress.namespace, gateway_account)
        yield from self.guards(
            PROXY_NAME,
            namespace,
            selector,
            proxy.replicas,
            principals=[gateway],
            peers=hardening.ingress_from(self.spec.ingress.namespace, gateway_pods, oauth2proxy.PORT),
        )

    def secret_inputs(self) -> dict[str, Any]:
        """How oauth2-proxy reads its Secret: as files where the release can (so the values are not
        in its environment), else as environment variables; the Redis password always from the
        environment (there is no file flag for it)."""
        proxy, name = self.spec.oauth2_proxy, self.spec.secret.name
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
                "path": oauth2proxy.SECRET_DIR,
                "secret": name,
                "items": [{"key": key, "path": key} for key in SECRET_KEYS],
            }
            if files
            else None
        )
        return {"env": env, "secret_volume": volume}

    @staticmethod
    def secret_env_reason(env: list[dict[str, Any]]) -> str | None:
        names = {e["name"] for e in env}
        reasons = []
        if "OAUTH2_PROXY_COOKIE_SECRET" in names:
            reasons.append("oauth2-proxy reads the cookie secret from a file only from v7.11.0")
        if "OAUTH2_PROXY_REDIS_PASSWORD" in names:
            reasons.append("oauth2-proxy has no file flag for the Redis password")
        return "; ".join(reasons) or None

    def gateway_workload(self) -> tuple[dict[str, str], str]:
        """Pod labels and service account of the ingress gateway pods that call the workloads.

        With Gateway API, Istio deploys the gateway itself as ``<gateway>-<class>``, with that
        service account and the ``gateway.networking.k8s.io/gateway-name`` pod label.
        """
        ingress = self.spec.ingress
        if ingress.api != "gateway-api":
            return dict(ingress.selector), ingress.service_account
        account = (
            ingress.service_account
            if "service_account" in ingress.model_fields_set
            else f"{ingress.gateway}-{ingress.gateway_class}"
        )
        return {"gateway.networking.k8s.io/gateway-name": ingress.gateway}, account

    def guards(
        self,
        name: str,
        namespace: str,
        selector: dict[str, str],
        replicas: int,
        *,
        principals: list[str],
        peers: dict[str, Any],
    ) -> Iterator[Planned]:
        """Who may reach a workload (AuthorizationPolicy on mTLS identities when ``principals``,
        NetworkPolicy from ``peers``) and how many replicas a drain may take (more than one)."""
        meta = self.meta(name, namespace)
        budget = hardening.disruption_budget(replicas)
        if budget:
            yield Planned(
                "pod-disruption-budget.yaml.j2",
                {"meta": meta, "selector": selector, "max_unavailable": budget["maxUnavailable"]},
            )
        if self.spec.mesh.dataplane == "ambient":
            # In ambient mode traffic arrives over HBONE (port 15008) from ztunnel and waypoints,
            # not from the caller's pods: admit only HBONE, where the mTLS identity check below
            # (and the waypoint's policies) decide who gets in.
            peers = {"ports": [{"protocol": "TCP", "port": 15008}]}
        yield Planned("network-policy.yaml.j2", {"meta": meta, "selector": selector, "ingress": [peers]})
        if principals:
            yield Planned(
                "workload-access-policy.yaml.j2",
                {
                    "api_version": self.istio.security_api,
                    "meta": meta,
                    "selector": selector,
                    "principals": principals,
                },
            )

    def secret(self, meta: dict[str, Any]) -> Iterator[Planned]:
        """The object that holds (or produces) the Secret oauth2-proxy reads; none for existing."""
        secret = self.spec.secret
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

    def redis(
        self, namespace: str, store: RedisSessionStore, proxy_selector: dict[str, str]
    ) -> Iterator[Planned]:
        """A small Redis for oauth2-proxy's sessions: disposable (no persistence), non-root,
        reachable only by oauth2-proxy (mTLS identity and NetworkPolicy), with the password from
        passwordSecret when one is set. One replica: sessions live in its memory."""
        selector = {"app.kubernetes.io/name": REDIS_NAME}
        meta = self.meta(REDIS_NAME, namespace, **selector)
        password = store.password_secret
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
                "password": {"secret": password.name, "key": password.key} if password else None,
            },
        )
        yield from self.guards(
            REDIS_NAME,
            namespace,
            selector,
            1,
            principals=[hardening.principal(namespace, PROXY_NAME)],
            peers=hardening.ingress_from(namespace, proxy_selector, 6379),
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
        yield self.request_authentication(
            f"{self.name}-jwt", ingress.namespace, attach=self.modes.ingress.attach()
        )
        yield from self.modes.login.objects()
        audiences = list(dict.fromkeys(a for site in self.sites() for a in self.audiences(site)))
        token_rules = bearer.gateway_token_rules(spec, audiences)
        fixed = 1 + len(token_rules)  # the notHosts rule, and a rule per kind of token
        open_rules = [{"hosts": hosts, "paths": paths} for hosts, paths in self.open_groups if paths]
        for number, batch in enumerate(_batches(open_rules, MAX_POLICY_RULES - fixed)):
            yield Planned(
                "gateway-access-policy.yaml.j2",
                {
                    "api_version": self.istio.security_api,
                    "meta": self.meta(_numbered(f"{self.name}-access", number), ingress.namespace),
                    **self.modes.ingress.attach(),
                    "first": number == 0,
                    "hosts": self.host_patterns(spec.hosts()),
                    "token_rules": token_rules,
                    "open": batch,
                },
            )

    def custom_login(self) -> Iterator[Planned]:
        """The CUSTOM policy at the gateway: app hosts go to the extension provider (Istio 1.9+)."""
        ingress = self.spec.ingress
        when = bearer.login_conditions(self.spec)
        rules = [{"hosts": hosts, "not_paths": paths, "when": when} for hosts, paths in self.open_groups]
        for number, batch in enumerate(_batches(rules, MAX_POLICY_RULES)):
            yield Planned(
                "login-policy.yaml.j2",
                {
                    "api_version": self.istio.security_api,
                    "meta": self.meta(_numbered(f"{self.name}-login", number), ingress.namespace),
                    **self.modes.ingress.attach(),
                    "provider": self.spec.mesh.extension_provider,
                    "rules": batch,
                },
            )

    @cached_property
    def open_groups(self) -> list[tuple[list[str], list[str]]]:
        """(host patterns, paths) for each distinct list of paths that skip the login, in the order
        the sites first use it: one rule serves every site that opens the same paths, so that a few
        hundred apps stay one rule or a handful, not a rule each."""
        groups: dict[tuple[str, ...], list[str]] = {}
        for site in self.sites():
            groups.setdefault(tuple(self.open_paths(site)), []).extend(self.host_patterns(site.all_hosts))
        return [(hosts, list(paths)) for paths, hosts in groups.items()]

    def request_authentication(
        self,
        name: str,
        namespace: str,
        selector: dict[str, str] | None = None,
        *,
        attach: dict[str, Any] | None = None,
    ) -> Planned:
        """A token check on the workloads ``selector`` picks, or where ``attach`` (targetRefs) says."""
        return Planned(
            "request-authentication.yaml.j2",
            {
                "api_version": self.istio.security_api,
                "meta": self.meta(name, namespace),
                **(attach or {"selector": selector}),
                "jwt_rules": bearer.jwt_rules(self.spec),
            },
        )

    def gateway(self) -> Iterator[Planned]:
        spec, tls = self.spec, self.spec.tls
        https = (
            [
                {
                    "port_name": f"https-{app.name}",
                    "hosts": app.all_hosts,
                    "credential": f"{self.name}-{app.name}-tls",
                }
                for app in self.sites()
            ]
            if tls
            else []
        )
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
        yield from self.certificates()

    def certificates(self) -> Iterator[Planned]:
        """One cert-manager Certificate per site, in the ingress namespace (where the Gateway is)."""
        spec, tls = self.spec, self.spec.tls
        for app in self.sites() if tls else ():
            yield Planned(
                "certificate.yaml.j2",
                {
                    "meta": self.meta(f"{self.name}-{app.name}", spec.ingress.namespace),
                    "secret_name": f"{self.name}-{app.name}-tls",
                    "dns_names": app.all_hosts,
                    "issuer": {"name": tls.issuer.name, "kind": tls.issuer.kind, "group": "cert-manager.io"},
                },
            )

    def app(self, app: App) -> Iterator[Planned]:
        yield from self.modes.dataplane.app_policies(app)
        yield from self.modes.ingress.route(app)
        if app.deploy:
            yield from self.demo_workload(app)

    def sidecar_app_policies(self, app: App) -> Iterator[Planned]:
        """Token check and ALLOW policy at the app's sidecar, picked by the app's selector."""
        assert app.namespace and app.selector
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

    def virtual_service(self, app: App) -> Planned:
        assert app.namespace and app.service.name
        return Planned(
            "virtual-service.yaml.j2",
            {
                "api_version": self.istio.networking_api,
                "meta": self.meta(f"{self.name}-{app.name}", app.namespace),
                "hosts": app.all_hosts,
                "gateway": self.gateway_ref(),
                "destination": f"{app.service.name}.{app.namespace}.svc.cluster.local",
                "port": app.service.port,
                "public_route": self.modes.login.public_route(app),
            },
        )

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
            {"principals": principals, "when": required + extra} for principals, extra in rules or anyone
        ] + bearer.machine_rules(self.spec, machines)

    def demo_workload(self, app: App) -> Iterator[Planned]:
        assert app.deploy and app.service.name and app.namespace
        meta = self.meta(app.service.name, app.namespace)
        target_port = app.deploy.container_port or app.service.port
        yield Planned(
            "demo-service.yaml.j2",
            {"meta": meta, "selector": app.selector, "port": app.service.port, "target_port": target_port},
        )
        deploy, ingress = app.deploy, self.spec.ingress
        yield Planned("service-account.yaml.j2", {"meta": meta})
        own_user = None
        if deploy.run_as_user is None:
            own_user = "runs as the image's own non-root user; set deploy.runAsUser to choose one"
        elif deploy.run_as_user < hardening.HIGH_UID:
            own_user = f"deploy.runAsUser {deploy.run_as_user} is chosen in the config (meshauth warns)"
        skips = hardening.checkov_skips(deploy.image, low_uid=own_user)
        yield Planned(
            "demo-deployment.yaml.j2",
            {
                "meta": {**meta, "annotations": skips},
                "selector": app.selector,
                "replicas": deploy.replicas,
                "image": deploy.image,
                "port": target_port,
                "service_account": app.service.name,
                "uid": deploy.run_as_user,
                "pull_policy": hardening.pull_policy(deploy.image),
                "spread": hardening.spread(app.selector, deploy.replicas),
                "tmp_size": hardening.TMP_SIZE,
            },
        )
        # Who may enter is the app's AuthorizationPolicy (JWT at the sidecar); the network only has
        # to let the ingress gateway through.
        yield from self.guards(
            app.service.name,
            app.namespace,
            app.selector,
            deploy.replicas,
            principals=[],
            peers=hardening.ingress_from(ingress.namespace, self.gateway_workload()[0], target_port),
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
            {"meta": self.meta(f"{self.name}-mesh", self.spec.mesh.root_namespace), "provider": entry},
        )

    def warnings(self) -> Iterator[Finding]:
        # MA018 (refresh vs. the ID token's lifetime) is a rule on the objects: meshauth.validation.rules.core.
        spec = self.spec
        yield from idp.warnings(spec)
        yield from sessions.warnings(spec)
        if spec.tls is None:
            yield Finding(
                "config",
                "warning",
                "no tls: apps are served over plain HTTP, and the login cookie and ID token travel "
                "unencrypted; use this only for a local test setup",
                path="spec.tls",
            )
        newer = proxyflags.parse_version(spec.oauth2_proxy.version) > proxyflags.parse_version(
            proxyflags.LATEST
        )
        if spec.authorizer == "oauth2-proxy" and newer:  # authservice runs no oauth2-proxy
            yield Finding(
                "config",
                "warning",
                f"oauth2-proxy {spec.oauth2_proxy.version} is newer than the newest release "
                f"meshauth knows ({proxyflags.LATEST}); flags are checked against that one",
                path="spec.oauth2Proxy.version",
            )
        if spec.platform.istio > NEWEST_KNOWN_ISTIO:
            yield Finding(
                "config",
                "warning",
                f"Istio {spec.platform.istio_version} is newer than the newest version meshauth "
                "knows (1.30); the 1.30 API shapes are used",
                path="spec.platform.istioVersion",
            )
        yield from hardening.findings(spec)
        if spec.secret.source == "inline":
            yield Finding(
                "config",
                "warning",
                f"secret.source inline writes the client secret and cookie secret of Secret "
                f"{spec.oauth2_proxy.namespace}/{spec.secret.name} into the output as plain text: "
                "anyone who can read the rendered files or the Git repository can log in as any "
                "user. Use existing, external-secrets or sealed-secrets outside a throwaway setup",
                path="spec.secret.source",
            )


def _batches(rules: list[Any], room: int) -> list[list[Any]]:
    """Rules in policies of at most MAX_POLICY_RULES, the first with ``room`` left (always one)."""
    batches, rest = [rules[:room]], rules[room:]
    batches += [rest[i : i + MAX_POLICY_RULES] for i in range(0, len(rest), MAX_POLICY_RULES)]
    return batches


def _numbered(name: str, number: int) -> str:
    return name if number == 0 else f"{name}-{number + 1}"
