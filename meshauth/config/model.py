"""The typed config (contract section 1): the whole file, put together from its sections.

Keys are camelCase, unknown keys are errors, alternatives are discriminated unions. Checks that need
several fields live in ``model_validator``s next to the fields they relate: a section's own checks in
its module (:mod:`~meshauth.config.platform`, :mod:`~meshauth.config.identity`,
:mod:`~meshauth.config.secrets`, :mod:`~meshauth.config.sessions`, :mod:`~meshauth.config.apps`,
:mod:`~meshauth.config.authservice`, :mod:`~meshauth.config.gitops`), the checks across sections
on :class:`Spec` here. Derived defaults (an app's namespace, the preset's issuer) are filled in while
loading, so that everything after it sees one complete, checked config.

``oauth2Proxy`` is defined here rather than in :mod:`~meshauth.config.sessions` because it checks
its ``extraArgs`` against the release's flags. Everything other packages need from the config is
importable from this module (``__all__``).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from meshauth.compat import proxycli as oauth2proxy
from meshauth.compat import proxyflags
from meshauth.compat.versions import (
    DEFAULT_KUBERNETES,
    ambient_problem,
    authservice_problem,
    claim_headers_problem,
    gateway_api_problem,
)
from meshauth.config import sso
from meshauth.config.apps import (
    App,
    AppService,
    Authorization,
    Deploy,
    ExternalService,
    Upstream,
    check_shared_hosts,
)
from meshauth.config.authservice import AuthService, oauth2_proxy_fields_ignored, session_timeouts
from meshauth.config.base import At, Model, image_without_tag, unique
from meshauth.config.fieldtypes import DnsLabel, ImageDigest, Text
from meshauth.config.gitops import GitOps
from meshauth.config.identity import BearerTokens, ExtraIssuer, Identity
from meshauth.config.platform import ACME_CHALLENGE_PATH, Acme, Ingress, Issuer, Mesh, Platform, Tls
from meshauth.config.secrets import (
    REDIS_PASSWORD_KEY,
    REVEAL_SECRETS,
    SECRET_KEYS,
    ExistingSecret,
    ExternalSecretsSecret,
    InlineSecret,
    SealedSecretsSecret,
    SecretSource,
    cookie_secret_length,
)
from meshauth.config.sessions import (
    REDIS_NAME,
    Cookie,
    CookieSessionStore,
    ExtraArgValue,
    Logout,
    RedisSessionStore,
    SecretKeyRef,
    SessionStore,
    WhitelistDomain,
    points_at_rendered_redis,
)

API_VERSION = "meshauth.dev/v1alpha1"
KIND = "MeshAuthConfig"

__all__ = [
    "ACME_CHALLENGE_PATH",
    "API_VERSION",
    "DEFAULT_KUBERNETES",
    "KIND",
    "REDIS_NAME",
    "REDIS_PASSWORD_KEY",
    "REVEAL_SECRETS",
    "SECRET_KEYS",
    "Acme",
    "App",
    "AppService",
    "At",
    "AuthService",
    "Authorization",
    "BearerTokens",
    "Cookie",
    "Deploy",
    "ExistingSecret",
    "ExternalSecretsSecret",
    "ExternalService",
    "ExtraIssuer",
    "GitOps",
    "Identity",
    "Ingress",
    "InlineSecret",
    "Issuer",
    "Mesh",
    "MeshAuthConfig",
    "Metadata",
    "OAuth2Proxy",
    "Platform",
    "RedisSessionStore",
    "SealedSecretsSecret",
    "SecretKeyRef",
    "Spec",
    "Tls",
    "Upstream",
    "cookie_secret_length",
]


class Metadata(Model):
    name: DnsLabel = Field(description="Used in labels and generated object names.")


class OAuth2Proxy(Model):
    version: Text = Field(
        proxyflags.LATEST, description="oauth2-proxy release (image tag); default the newest known."
    )
    image: Text = Field(
        "quay.io/oauth2-proxy/oauth2-proxy", description="Image name without tag; the tag is version."
    )
    digest: ImageDigest | None = Field(
        None,
        description="Pin the image to this digest (image:version@digest); the version still "
        "decides the flags.",
    )
    namespace: DnsLabel = Field("oauth2-proxy", description="Where oauth2-proxy runs.")
    replicas: int = Field(1, ge=1, le=100, description="Number of oauth2-proxy pods.")
    cookie: Cookie = Field(default_factory=Cookie, description="The session cookie.")
    whitelist_domains: list[WhitelistDomain] = Field(
        default_factory=list,
        description="Where oauth2-proxy may redirect after login and sign-out: host, .domain or "
        "*.domain (subdomains), optionally :port or :*. Default: the app hosts and the IdP's "
        "end-session host.",
    )
    email_domains: list[Annotated[Text, Field(min_length=1)]] = Field(
        default_factory=lambda: ["*"],
        min_length=1,
        description='Allowed email domains; ["*"] admits any (oauth2-proxy refuses to start with none).',
    )
    session_store: SessionStore = Field(
        default_factory=CookieSessionStore, description="Where sessions live: cookie or redis."
    )
    logout: Logout = Field(default_factory=Logout, description="Sign-out and the IdP's end-session.")
    extra_args: dict[Text, ExtraArgValue] = Field(
        default_factory=dict,
        description="Escape hatch: flag (without --) -> value, checked against the version's flags.",
    )

    @field_validator("version")
    @classmethod
    def _known_release(cls, value: str) -> str:
        try:
            version = proxyflags.parse_version(value)
        except ValueError:
            raise ValueError('must be a release tag such as "v7.2.0"') from None
        if version < (7, 0, 0):
            raise ValueError("must be v7.0.0 or newer")
        return value

    @field_validator("image")
    @classmethod
    def _image_without_tag(cls, value: str) -> str:
        return image_without_tag(value)

    @model_validator(mode="after")
    def _redis_url(self) -> OAuth2Proxy:
        store = self.session_store
        if store.type != "redis":
            return self
        rendered = f"redis://{REDIS_NAME}.{self.namespace}.svc.cluster.local:6379"
        if store.username is not None and "redis-username" not in proxyflags.flags_for(self.version):
            raise At(
                ("sessionStore", "username"),
                f"needs oauth2-proxy v7.6.0 or newer (--redis-username), not {self.version}",
            )
        if store.sentinel is not None or store.cluster is not None:
            return self
        if store.url is None and not store.deploy:
            raise At(("sessionStore", "url"), "required unless deploy: true (or sentinel, cluster)")
        if store.url is None:
            store.url = rendered
        elif store.deploy and not points_at_rendered_redis(store.url, self.namespace):
            raise At(
                ("sessionStore", "url"),
                f"with deploy: true it must point at the Redis meshauth renders ({rendered}), "
                "or leave it out",
            )
        return self

    @model_validator(mode="after")
    def _extra_args_exist(self) -> OAuth2Proxy:
        for flag, message in oauth2proxy.extra_arg_problems(self.version, self.extra_args):
            raise At(("extraArgs", flag), message)
        return self


class Spec(Model):
    platform: Platform = Field(description="The Istio and Kubernetes versions to render for.")
    mesh: Mesh = Field(default_factory=Mesh, description="Mesh-wide settings.")
    ingress: Ingress = Field(default_factory=Ingress, description="The ingress gateway.")
    tls: Tls | None = Field(None, description="Omit to serve plain HTTP (a warning is emitted).")
    identity: Identity = Field(description="The OIDC identity provider and client.")
    secret: SecretSource = Field(
        default_factory=ExistingSecret,
        description="Where oauth2-proxy's client and cookie secrets come from.",
    )
    oauth2_proxy: OAuth2Proxy = Field(
        default_factory=OAuth2Proxy, alias="oauth2Proxy", description="The oauth2-proxy deployment."
    )
    apps: list[App] = Field(min_length=1, description="The apps behind the login.")
    gitops: GitOps | None = Field(
        None, description="Settings of meshauth gitops and meshauth check; render ignores them."
    )
    authorizer: Literal["oauth2-proxy", "authservice"] = Field(
        "oauth2-proxy", description="The service the login asks: oauth2-proxy, or authservice."
    )
    authservice: AuthService = Field(
        default_factory=AuthService,
        description="Settings of authservice; used only with authorizer: authservice.",
    )
    external_services: list[ExternalService] = Field(
        default_factory=list,
        description="Services outside the cluster, served at the gateway behind the same login.",
    )

    @model_validator(mode="after")
    def _apps_agree(self) -> Spec:
        unique(
            [(("apps", i, "name"), a.name) for i, a in enumerate(self.apps)],
            "app names must be unique: {} repeats",
        )
        check_shared_hosts(self.apps)
        unique(
            [
                (("apps", i, "service", "name"), f"{a.namespace}/{a.service.name}")
                for i, a in enumerate(self.apps)
                if a.deploy
            ],
            "two apps deploy the same Service {}",
        )
        return self

    @model_validator(mode="after")
    def _redis_password_is_read(self) -> Spec:
        secret, store = self.secret, self.oauth2_proxy.session_store
        path: tuple[str, ...] = ()
        value: object = None
        if isinstance(secret, InlineSecret):
            path, value = ("inline", "redisPassword"), secret.inline.redis_password
        elif isinstance(secret, ExternalSecretsSecret):
            path = ("externalSecret", "data", "redisPassword")
            value = secret.external_secret.data.redis_password
        elif isinstance(secret, SealedSecretsSecret):
            path = ("sealed", "encryptedData", REDIS_PASSWORD_KEY)
            value = secret.sealed.encrypted_data.get(REDIS_PASSWORD_KEY)
        if value is None:
            return self
        if not isinstance(store, RedisSessionStore):
            raise At(("secret", *path), "is only read with a Redis session store; remove it")
        if store.deploy and store.password_secret is not None:
            raise At(
                ("secret", *path),
                "the Redis password comes from oauth2Proxy.sessionStore.passwordSecret; give it "
                "in one place only (remove this, or passwordSecret)",
            )
        return self

    @model_validator(mode="after")
    def _authservice_honours_the_config(self) -> Spec:
        if self.authorizer != "authservice":
            return self
        for path, message, error in oauth2_proxy_fields_ignored(self.oauth2_proxy):
            if error:
                raise At(("oauth2Proxy", *path), message)
        if self.tls is None:
            raise At(("tls",), "authservice's session cookie is always Secure (__Host-): it needs tls")
        if not session_timeouts(self.authservice, self.oauth2_proxy.cookie.expire):
            raise At(
                ("authservice", "idleSessionTimeout"),
                "required when oauth2Proxy.cookie.expire is 0: otherwise authservice's sessions "
                "(and the state of every anonymous visit) never expire",
            )
        return self

    @model_validator(mode="after")
    def _cookie_needs_tls(self) -> Spec:
        if self.tls is None and self.oauth2_proxy.cookie.secure:
            raise At(
                ("oauth2Proxy", "cookie", "secure"),
                "without tls the apps are served over plain HTTP, where browsers drop a secure "
                "cookie and login loops; configure tls, or set oauth2Proxy.cookie.secure: false "
                "for a test setup",
            )
        return self

    @model_validator(mode="after")
    def _external_services_agree(self) -> Spec:
        names = [(("apps", i, "name"), a.name) for i, a in enumerate(self.apps)]
        names += [(("externalServices", i, "name"), e.name) for i, e in enumerate(self.external_services)]
        unique(names, "names must be unique across apps and externalServices: {} repeats")
        app_hosts = {h: i for i, a in enumerate(self.apps) for h in a.all_hosts}
        hosts = [(("apps", i, "host"), h) for h, i in app_hosts.items()]
        hosts += [(("externalServices", i, "host"), e.host) for i, e in enumerate(self.external_services)]
        unique(hosts, "host {} is served twice (apps and externalServices)")
        return self

    @model_validator(mode="after")
    def _topology_fits_istio(self) -> Spec:
        version = self.platform.istio
        checks = [
            (self.ingress.api == "gateway-api", ("ingress", "api"), gateway_api_problem),
            (self.mesh.dataplane == "ambient", ("mesh", "dataplane"), ambient_problem),
            (self.authorizer == "authservice", ("authorizer",), authservice_problem),
        ]
        for wanted, path, problem in checks:
            message = problem(version) if wanted else None
            if message:
                raise At(path, message)
        claim_paths: list[tuple[str | int, ...]] = (
            [("identity", "claimHeaders")] if self.identity.claim_headers else []
        )
        claim_paths += [("apps", i, "claimHeaders") for i, a in enumerate(self.apps) if a.claim_headers]
        message = claim_headers_problem(version)
        if claim_paths and message:
            raise At(claim_paths[0], message)
        if self.ingress.api == "gateway-api":
            for i, app in enumerate(self.apps):
                if not app.path_prefix.endswith("/"):
                    raise At(
                        ("apps", i, "pathPrefix"),
                        f"with api gateway-api a pathPrefix ends with / ({app.path_prefix}/): Gateway "
                        "API matches prefixes by whole path segments",
                    )
        if self.mesh.dataplane == "ambient":
            first: dict[str | None, App] = {}
            for i, app in enumerate(self.apps):
                other = first.setdefault(app.namespace, app)
                if self.claim_headers_for(other) != self.claim_headers_for(app):
                    raise At(
                        ("apps", i, "claimHeaders"),
                        f"with dataplane ambient the apps of namespace {app.namespace} share one "
                        f"token check at its waypoint: give {app.name} the claimHeaders of {other.name}",
                    )
            istio_owned = {self.mesh.root_namespace, self.ingress.namespace}
            for i, app in enumerate(self.apps):
                if app.namespace in istio_owned:
                    raise At(
                        ("apps", i, "namespace"),
                        f"with dataplane ambient an app cannot live in {app.namespace}: its "
                        "policies attach to a waypoint that meshauth enrolls the app's namespace "
                        "in, and Istio's own namespaces are not enrolled",
                    )
        return self

    @model_validator(mode="after")
    def _one_login_for_all_hosts(self) -> Spec:
        cookie = self.oauth2_proxy.cookie
        try:
            sso.cookie_domains(self.hosts(), cookie.domains, cookie.shared)
        except sso.SsoError as error:
            raise At(("oauth2Proxy", "cookie", "domains"), str(error)) from None
        return self

    @model_validator(mode="after")
    def _identities_can_match(self) -> Spec:
        identity = self.identity
        issuers = identity.issuers()
        for i, app in enumerate(self.apps):
            authz = app.authorization
            assert authz is not None
            if authz.groups and identity.groups_claim_name is None:
                raise At(
                    ("apps", i, "authorization", "groups"),
                    _NO_GROUPS_CLAIM.get(
                        identity.preset, "the ID tokens carry no groups claim; set identity.groupsClaim"
                    ),
                )
            for j, principal in enumerate(authz.principals):
                if not any(principal.startswith(issuer + "/") for issuer in issuers):
                    raise At(
                        ("apps", i, "authorization", "principals", j),
                        "names an issuer whose tokens are never accepted: a principal is "
                        "<iss>/<sub> with iss identity.issuerUrl or one of "
                        "identity.bearerTokens.extraIssuers",
                    )
        return self

    @model_validator(mode="after")
    def _backend_logout_possible(self) -> Spec:
        proxy = self.oauth2_proxy
        if proxy.logout.backend is not True:
            return self
        if "backend-logout-url" not in proxyflags.flags_for(proxy.version):
            raise At(
                ("oauth2Proxy", "logout", "backend"),
                f"needs oauth2-proxy v7.6.0 or newer (--backend-logout-url), not {proxy.version}",
            )
        if self.identity.end_session is None:
            raise At(
                ("oauth2Proxy", "logout", "backend"),
                f"preset {self.identity.preset} has no end-session endpoint; set identity.endSessionUrl",
            )
        return self

    def hosts(self) -> list[str]:
        """Every host served at the gateway (once): the apps', then the external services'."""
        apps = dict.fromkeys(h for app in self.apps for h in app.all_hosts)
        return [*apps, *(e.host for e in self.external_services)]

    def claim_headers_for(self, app: App) -> dict[str, str]:
        """Header -> claim the app receives: its own claimHeaders, else identity.claimHeaders."""
        return dict(app.claim_headers if app.claim_headers is not None else self.identity.claim_headers)


_NO_GROUPS_CLAIM = {
    "google": "Google ID tokens carry no groups claim, so this never matches; authorize with emails, "
    "principals or claims (hd: the Workspace domain), or set identity.groupsClaim if your tokens "
    "have one",
    "auth0": "Auth0 has no groups claim of its own: add a namespaced one with an Action and name it "
    "in identity.groupsClaim (such as https://example.com/groups)",
}


class MeshAuthConfig(Model):
    api_version: Literal["meshauth.dev/v1alpha1"] = Field(
        alias="apiVersion", description="The version of this file format."
    )
    kind: Literal["MeshAuthConfig"] = Field(description="Always MeshAuthConfig.")
    metadata: Metadata = Field(description="The config's name.")
    spec: Spec = Field(description="The setup to render.")
