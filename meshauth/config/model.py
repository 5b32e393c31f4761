"""The typed config (contract section 1): pydantic models with every documented default.

Keys are camelCase, unknown keys are errors, alternatives are discriminated unions. Checks that need
several fields live in ``model_validator``s next to the fields they relate. Derived defaults (an
app's namespace, the preset's issuer) are filled in here, so that everything after loading sees one
complete, checked config.
"""

from __future__ import annotations

import base64
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    FieldSerializationInfo,
    PrivateAttr,
    SecretStr,
    SerializerFunctionWrapHandler,
    Tag,
    ValidationInfo,
    field_serializer,
    field_validator,
    model_serializer,
    model_validator,
)
from pydantic.alias_generators import to_camel

from meshauth.compat import proxycli as oauth2proxy
from meshauth.compat import proxyflags
from meshauth.compat.versions import (
    DEFAULT_KUBERNETES,
    ambient_problem,
    authservice_problem,
    gateway_api_problem,
    istio_version_problem,
    kubernetes_version_problem,
)
from meshauth.config import sso
from meshauth.config.fieldtypes import (
    ClaimName,
    CookieName,
    DnsLabel,
    DnsSubdomain,
    Duration,
    Email,
    GitRevision,
    GitUrl,
    Host,
    HttpsUrl,
    HttpUrl,
    ImageDigest,
    ImageRef,
    IstioPath,
    LabelKey,
    LabelValue,
    MajorMinor,
    RedisUrl,
    RepoPath,
    RequestPrincipal,
    Text,
    duration_seconds,
    is_dns_subdomain,
    major_minor,
)
from meshauth.config.presets import PRESETS, PresetError, check_parameters

API_VERSION = "meshauth.dev/v1alpha1"
KIND = "MeshAuthConfig"
ACME_CHALLENGE_PATH = "/.well-known/acme-challenge/*"
REVEAL_SECRETS = "meshauth.reveal_secrets"  # serialization context key; see InlineValues._masked

Labels = dict[LabelKey, LabelValue]


class At(ValueError):
    """A cross-field problem that belongs to a field below the validated model (``path``)."""

    def __init__(self, path: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.path = path


class Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        alias_generator=to_camel,
        validate_default=True,
        strict=True,  # YAML already types values: "80" is not a port, yes is not true
        hide_input_in_errors=True,  # a ValidationError must never carry a (secret) input value
    )


def _tag(field: str, default: str):
    """A discriminator that reads ``field`` and falls back to the documented default source/type."""

    def pick(value: Any) -> Any:
        if isinstance(value, dict):
            return value.get(field, default)
        return getattr(value, field, default)

    pick.__name__ = field  # pydantic names the discriminator in errors after the function
    return Discriminator(pick)


# --- metadata and platform ---------------------------------------------------------------------


class Metadata(Model):
    name: DnsLabel = Field(description="Used in labels and generated object names.")


class Platform(Model):
    istio_version: MajorMinor = Field(description="Target Istio MAJOR.MINOR; decides API shapes.")
    kubernetes_version: MajorMinor = Field(
        DEFAULT_KUBERNETES, description="Target Kubernetes MAJOR.MINOR; decides schema validation."
    )

    @field_validator("istio_version", "kubernetes_version")
    @classmethod
    def _supported(cls, value: str, info: ValidationInfo) -> str:
        check = istio_version_problem if info.field_name == "istio_version" else kubernetes_version_problem
        problem = check(major_minor(value))
        if problem:
            raise ValueError(problem)
        return value

    @property
    def istio(self) -> tuple[int, int]:
        return major_minor(self.istio_version)


class Mesh(Model):
    root_namespace: DnsLabel = Field(
        "istio-system", description="Istio's root namespace; the mesh-wide PeerAuthentication lives here."
    )
    mtls: Literal["STRICT", "PERMISSIVE"] = Field(
        "STRICT", description="Mesh-wide mutual TLS mode of the PeerAuthentication `default`."
    )
    extension_provider: DnsLabel = Field(
        "oauth2-proxy",
        description="Name of the MeshConfig extension provider. From Istio 1.30 a name that is not "
        "a lowercase DNS label makes every request it guards fail.",
    )
    install: Literal["istioctl", "helm"] = Field(
        "istioctl",
        description="How Istio is installed: `istioctl` (the mesh config is an IstioOperator overlay "
        "for `istioctl install -f`) or `helm` (values for the istiod chart).",
    )
    cni: bool = Field(
        False,
        description="true when Istio runs with its CNI plugin (no istio-init container): then the "
        "namespaces whose pods meshauth renders enforce the restricted Pod Security Standard.",
    )
    dataplane: Literal["sidecar", "ambient"] = Field(
        "sidecar",
        description="sidecar: namespaces labelled for injection, per-app policies at the sidecars; "
        "ambient: namespaces in the ambient mesh, per-app policies at a waypoint (Istio 1.25+).",
    )
    waypoint: DnsSubdomain = Field(
        "waypoint", description="dataplane ambient: name of the waypoint in each app namespace."
    )


class Ingress(Model):
    namespace: DnsLabel = Field(
        "istio-system",
        description="Where the ingress gateway pods run; the Gateway, its policies and the "
        "Certificates go here.",
    )
    selector: Labels = Field(
        default_factory=lambda: {"app": "istio-ingressgateway"},
        min_length=1,
        description="Labels of the ingress gateway pods.",
    )
    gateway: DnsSubdomain = Field("meshauth", description="Name of the Istio Gateway object.")
    service_account: DnsSubdomain = Field(
        "istio-ingressgateway-service-account",
        description="Service account of the ingress gateway pods; only its mTLS identity may call "
        "oauth2-proxy. istioctl's default; the gateway Helm chart names it after the release.",
    )
    api: Literal["istio", "gateway-api"] = Field(
        "istio",
        description="istio: an Istio Gateway + VirtualServices on the pods `selector` picks; "
        "gateway-api: a Gateway API Gateway + HTTPRoutes, policies attached with targetRefs "
        "(Istio 1.22+).",
    )
    gateway_class: DnsSubdomain = Field(
        "istio", description="api gateway-api: the GatewayClass of the Gateway."
    )


# --- TLS -----------------------------------------------------------------------------------------


class Acme(Model):
    server: HttpsUrl = Field(
        "https://acme-v02.api.letsencrypt.org/directory",
        description="ACME directory URL (Let's Encrypt production by default).",
    )
    email: Email | None = Field(None, description="Contact for the ACME account (expiry notices).")
    solver: Literal["http01", "dns01"] = Field(
        "http01",
        description="How certificates are proven: `http01` (through an Ingress of class istio; the "
        "challenge path skips the login) or `dns01` (needs the `dns01` block).",
    )
    dns01: dict[str, Any] | None = Field(
        None, description="cert-manager's dns01 solver block, passed through as is (solver: dns01)."
    )

    @model_validator(mode="after")
    def _solver_block(self) -> Acme:
        if self.solver == "dns01" and not self.dns01:
            raise At(("dns01",), "solver dns01 needs a dns01 block (cert-manager's dns01 solver)")
        if self.solver == "http01" and self.dns01 is not None:
            raise At(("dns01",), "a dns01 block is only used with solver: dns01")
        return self


class Issuer(Model):
    name: DnsSubdomain = Field("letsencrypt", description="Name of the cert-manager issuer.")
    kind: Literal["ClusterIssuer", "Issuer"] = Field(
        "ClusterIssuer", description="An `Issuer` is created in the ingress namespace."
    )
    create: bool = Field(True, description="false = reference an existing issuer.")
    acme: Acme = Field(default_factory=Acme, description="The ACME account and challenge solver.")


class Tls(Model):
    issuer: Issuer = Field(
        default_factory=Issuer, description="The cert-manager issuer that signs the app certificates."
    )

    @property
    def http01(self) -> bool:
        return self.issuer.acme.solver == "http01"


# --- identity ------------------------------------------------------------------------------------


def _realm(value: str) -> str:
    if not 0 < len(value) <= 255 or not all(c.isascii() and (c.isalnum() or c in "-._") for c in value):
        raise ValueError("must be a Keycloak realm name: letters, digits, '-', '_' or '.'")
    return value


class ExtraIssuer(Model):
    issuer: HttpUrl = Field(description="The iss of the machine tokens, exactly as they carry it.")
    jwks_uri: HttpUrl = Field(description="Where that issuer publishes its signing keys.")
    audiences: list[Annotated[Text, Field(min_length=1)]] = Field(
        min_length=1, description="A token must name one of these in aud to be accepted."
    )


class BearerTokens(Model):
    """Requests with ``Authorization: Bearer <JWT>`` skip the browser login; Istio checks the token."""

    extra_issuers: list[ExtraIssuer] = Field(
        default_factory=list,
        description="Issuers of machine tokens besides identity.issuerUrl, each with its audiences.",
    )

    @field_validator("extra_issuers")
    @classmethod
    def _unique_issuers(cls, value: list[ExtraIssuer]) -> list[ExtraIssuer]:
        _unique([((i, "issuer"), e.issuer) for i, e in enumerate(value)], "issuer {} is listed twice")
        return value


class Identity(Model):
    preset: Literal["google", "azure", "dex", "keycloak", "okta", "auth0", "gitlab", "generic"] = Field(
        "generic",
        description="The identity provider; a preset fixes or derives issuerUrl and jwksUri where "
        "the provider allows.",
    )
    issuer_url: HttpUrl | None = Field(None, description="Required unless the preset fixes it.")
    jwks_uri: HttpUrl | None = Field(None, description="Required unless the preset derives it.")
    client_id: Text = Field(min_length=1, description="OIDC client id; also the default audience.")
    scopes: list[Annotated[Text, Field(min_length=1)]] = Field(
        default_factory=lambda: ["openid", "email", "profile"],
        min_length=1,
        description="OIDC scopes oauth2-proxy asks for; must include openid.",
    )
    tenant: DnsSubdomain | None = Field(None, description="Entra ID tenant ID (a GUID) for preset azure.")
    realm: Annotated[Text, AfterValidator(_realm)] | None = Field(
        None, description="Keycloak realm; with serverUrl it gives the issuer (preset keycloak)."
    )
    server_url: HttpUrl | None = Field(
        None, description="Keycloak server URL (with /auth before Keycloak 17), used with realm."
    )
    groups_claim: ClaimName | None = Field(
        None,
        description="The claim that carries groups. Default: the preset's (groups; "
        "groups_direct for gitlab; none for google and auth0).",
    )
    id_token_lifetime: Duration | None = Field(
        None, description="The IdP's ID-token lifetime, if you changed it. Default: the preset's."
    )
    end_session_url: HttpUrl | None = Field(
        None, description="The IdP's end-session (logout) endpoint. Default: the preset's."
    )
    bearer_tokens: BearerTokens | None = Field(
        None, description="Machine-to-machine access with bearer tokens (omit: browsers only)."
    )
    _derived: set[str] = PrivateAttr(default_factory=set)

    @model_validator(mode="after")
    def _derive_from_preset(self) -> Identity:
        preset = PRESETS[self.preset]
        try:
            check_parameters(
                preset,
                issuer_url=self.issuer_url,
                tenant=self.tenant,
                realm=self.realm,
                server_url=self.server_url,
            )
        except PresetError as error:
            raise At((error.field,), str(error)) from None
        if self.issuer_url is None:
            self.issuer_url = preset.issuer_for(self.tenant, self.realm, self.server_url)
            self._derived.add("issuer_url")
        if self.issuer_url is None:
            hint = {"azure": " (or tenant)", "keycloak": " (or serverUrl and realm)"}
            raise At(("issuerUrl",), f"required{hint.get(self.preset, '')} with preset {self.preset}")
        self.issuer_url = preset.normalize_issuer(self.issuer_url)
        if self.jwks_uri is None:
            self.jwks_uri = preset.jwks_for(self.issuer_url, self.tenant)
            self._derived.add("jwks_uri")
        if self.jwks_uri is None:
            raise At(("jwksUri",), f"required with preset {self.preset}")
        if "openid" not in self.scopes:
            raise At(("scopes",), "must include openid, or the IdP returns no ID token to check")
        for i, extra in enumerate(self.bearer_tokens.extra_issuers if self.bearer_tokens else ()):
            if extra.issuer == self.issuer_url:
                raise At(
                    ("bearerTokens", "extraIssuers", i, "issuer"),
                    "is identity.issuerUrl, whose tokens are accepted already",
                )
        return self

    @model_serializer(mode="wrap")
    def _without_derived(self, handler: SerializerFunctionWrapHandler) -> Any:
        """Dump what the config says, not what the preset derived (so overlays re-derive it)."""
        data = handler(self)
        if isinstance(data, dict):
            for name in self._derived:
                data.pop(name, None)
                data.pop(to_camel(name), None)
        return data

    @property
    def groups_claim_name(self) -> str | None:
        return self.groups_claim or PRESETS[self.preset].groups_claim

    @property
    def id_token_lifetime_seconds(self) -> int | None:
        if self.id_token_lifetime is not None:
            return int(duration_seconds(self.id_token_lifetime))
        return PRESETS[self.preset].id_token_lifetime_seconds

    @property
    def end_session(self) -> str | None:
        if self.end_session_url is not None:
            return self.end_session_url
        assert self.issuer_url is not None
        return PRESETS[self.preset].end_session_for(self.issuer_url, self.tenant)

    def issuers(self) -> list[str]:
        """Every issuer whose tokens are accepted: the login's, then the machine-token issuers."""
        assert self.issuer_url is not None
        extra = self.bearer_tokens.extra_issuers if self.bearer_tokens else []
        return [self.issuer_url, *(e.issuer for e in extra)]


# --- the oauth2-proxy Secret ---------------------------------------------------------------------


def cookie_secret_length(secret: str) -> int:
    """The cookie secret's length in bytes as oauth2-proxy reads it.

    oauth2-proxy takes the URL-safe base64 decoding when it has an AES key length (16, 24, 32) and
    the raw string otherwise (``pkg/encryption/utils.go`` SecretBytes).
    """
    try:
        decoded = base64.urlsafe_b64decode(secret.rstrip("=") + "=" * (-len(secret.rstrip("=")) % 4))
    except (ValueError, TypeError):
        decoded = b""
    if len(decoded) in (16, 24, 32):
        return len(decoded)
    return len(secret.encode())


class InlineValues(Model):
    client_secret: SecretStr = Field(min_length=1, description="The OIDC client secret.")
    cookie_secret: SecretStr = Field(
        description="16, 24 or 32 bytes, raw or URL-safe base64 (meshauth cookie-secret prints one)."
    )
    redis_password: SecretStr | None = Field(
        None, description="Password of the Redis session store (key redis-password)."
    )

    @field_serializer("client_secret", "cookie_secret", "redis_password")
    def _masked(self, value: SecretStr | None, info: FieldSerializationInfo) -> Any:
        """Masked (``**********``) in every dump, unless the caller asks with REVEAL_SECRETS
        (only :func:`meshauth.config.load.load_config`, to re-validate a model with overlays)."""
        if value is None or not (info.context or {}).get(REVEAL_SECRETS):
            return value if info.mode != "json" or value is None else str(value)
        return value.get_secret_value()

    @field_validator("cookie_secret")
    @classmethod
    def _cookie_secret_length(cls, value: SecretStr) -> SecretStr:
        if cookie_secret_length(value.get_secret_value()) not in (16, 24, 32):
            raise ValueError(
                "must be 16, 24 or 32 bytes, raw or URL-safe base64 encoded "
                "(generate one with: meshauth cookie-secret)"
            )
        return value


class SecretBase(Model):
    name: DnsSubdomain = Field(
        "oauth2-proxy",
        description="The Secret (keys client-secret, cookie-secret) in the oauth2-proxy namespace.",
    )


class ExistingSecret(SecretBase):
    source: Literal["existing"] = Field(
        "existing", description="Reference a Secret you create; meshauth renders none."
    )


class InlineSecret(SecretBase):
    source: Literal["inline"] = Field(description="Render a plain Secret from `inline`.")
    allow_plaintext: bool = Field(
        False, description="Must be true: inline values end up as plain text in Git."
    )
    inline: InlineValues = Field(description="The secret values (plain text in the output).")

    @model_validator(mode="after")
    def _plaintext_allowed(self) -> InlineSecret:
        if not self.allow_plaintext:
            raise At(
                ("allowPlaintext",),
                "source inline writes the client and cookie secrets into the manifests as plain "
                "text; set allowPlaintext: true (or pass --allow-plaintext-secrets) to accept that, "
                "or use existing, external-secrets or sealed-secrets",
            )
        return self


class RemoteRef(Model):
    key: Text = Field(min_length=1, description="The key in the external store.")
    property: Text | None = Field(None, description="A property inside that key, if any.")


class ExternalSecretData(Model):
    client_secret: RemoteRef = Field(description="Where the client secret is stored.")
    cookie_secret: RemoteRef = Field(description="Where the cookie secret is stored.")
    redis_password: RemoteRef | None = Field(
        None, description="Password of the Redis session store (key redis-password)."
    )


class StoreRef(Model):
    name: DnsSubdomain = Field(description="Name of the SecretStore or ClusterSecretStore.")
    kind: Literal["SecretStore", "ClusterSecretStore"] = Field(
        "ClusterSecretStore", description="A SecretStore must be in the oauth2-proxy namespace."
    )


class ExternalSecretSpec(Model):
    store_ref: StoreRef = Field(description="The store the External Secrets Operator reads.")
    refresh_interval: Duration = Field("1h", description="How often the Secret is refreshed.")
    data: ExternalSecretData = Field(description="Where each secret value is stored.")


class ExternalSecretsSecret(SecretBase):
    source: Literal["external-secrets"] = Field(
        description="Render an external-secrets.io/v1 ExternalSecret that produces the Secret."
    )
    external_secret: ExternalSecretSpec = Field(description="The ExternalSecret to render.")


SECRET_KEYS = ("client-secret", "cookie-secret")  # what the oauth2-proxy Deployment always reads
REDIS_PASSWORD_KEY = "redis-password"  # read (optionally) with a Redis session store


def _sealed_key(key: str) -> str:
    if key not in (*SECRET_KEYS, REDIS_PASSWORD_KEY):
        raise ValueError("unknown key; the sealed keys are client-secret, cookie-secret and redis-password")
    return key


SealedKey = Annotated[str, AfterValidator(_sealed_key)]


class SealedValues(Model):
    encrypted_data: dict[SealedKey, Annotated[Text, Field(min_length=1)]] = Field(
        description="kubeseal's output for the keys client-secret and cookie-secret, sealed for "
        "this Secret's name and namespace."
    )

    @field_validator("encrypted_data")
    @classmethod
    def _both_keys(cls, value: dict[str, str]) -> dict[str, str]:
        missing = {"client-secret", "cookie-secret"} - set(value)
        if missing:
            raise ValueError(
                f"needs the sealed keys client-secret and cookie-secret (missing {', '.join(sorted(missing))})"
            )
        return value


class SealedSecretsSecret(SecretBase):
    source: Literal["sealed-secrets"] = Field(
        description="Render a bitnami.com/v1alpha1 SealedSecret that produces the Secret."
    )
    sealed: SealedValues = Field(description="The SealedSecret's encrypted values.")


SecretSource = Annotated[
    Annotated[ExistingSecret, Tag("existing")]
    | Annotated[InlineSecret, Tag("inline")]
    | Annotated[ExternalSecretsSecret, Tag("external-secrets")]
    | Annotated[SealedSecretsSecret, Tag("sealed-secrets")],
    _tag("source", "existing"),
]


# --- oauth2-proxy ----------------------------------------------------------------------------------


class Cookie(Model):
    name: CookieName = Field("_oauth2_proxy_istio_ingressgateway", description="Name of the session cookie.")
    domains: list[DnsSubdomain] = Field(
        default_factory=list,
        description="--cookie-domain. Default: the app hosts' common parent domain when there are "
        "several hosts, so that one login covers every app.",
    )
    shared: bool = Field(
        True, description="One cookie (one login) for all app hosts; false: a cookie per host."
    )
    secure: bool = Field(True, description="Send the cookie over HTTPS only; false needs no tls.")
    same_site: Literal["lax", "strict", "none", ""] = Field(
        "lax", description="The cookie's SameSite attribute; none needs secure."
    )
    refresh: Duration = Field(
        "1h",
        description="Refresh the session (and ID token) after this long; below expire and below "
        "the IdP's ID-token lifetime.",
    )
    expire: Duration = Field("4h", description="The session ends after this long.")

    @field_validator("domains", mode="before")
    @classmethod
    def _strip_leading_dot(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [v[1:] if isinstance(v, str) and v.startswith(".") else v for v in value]
        return value

    @model_validator(mode="after")
    def _same_site_none_needs_secure(self) -> Cookie:
        if self.same_site == "none" and not self.secure:
            raise At(
                ("sameSite",),
                "none needs secure: true; browsers drop a SameSite=None cookie that is not "
                "Secure, and login loops",
            )
        return self

    @model_validator(mode="after")
    def _refresh_below_expire(self) -> Cookie:
        refresh, expire = duration_seconds(self.refresh), duration_seconds(self.expire)
        if expire and refresh >= expire:
            raise At(("refresh",), "must be shorter than expire (oauth2-proxy refuses to start otherwise)")
        return self


class CookieSessionStore(Model):
    type: Literal["cookie"] = Field("cookie", description="Keep the session in the cookie itself.")


REDIS_NAME = "oauth2-proxy-redis"


def _secret_key(value: str) -> str:
    if not 0 < len(value) <= 253 or not all(c.isascii() and (c.isalnum() or c in "-._") for c in value):
        raise ValueError("must be a Secret key: letters, digits, '-', '_' or '.'")
    return value


class SecretKeyRef(Model):
    """A key of a Secret in oauth2-proxy's namespace; the value never enters the manifests."""

    name: DnsSubdomain = Field(description="The Secret's name, in oauth2-proxy's namespace.")
    key: Annotated[Text, AfterValidator(_secret_key)] = Field(description="The key holding the value.")


class RedisSentinel(Model):
    master_name: Text = Field(min_length=1, description="--redis-sentinel-master-name")
    urls: list[RedisUrl] = Field(min_length=1, description="--redis-sentinel-connection-urls")
    password_secret: SecretKeyRef | None = Field(
        None, description="The sentinels' own password (OAUTH2_PROXY_REDIS_SENTINEL_PASSWORD)."
    )


class RedisCluster(Model):
    urls: list[RedisUrl] = Field(min_length=1, description="--redis-cluster-connection-urls")


class RedisSessionStore(Model):
    type: Literal["redis"] = Field(description="Keep sessions in Redis; the cookie holds a ticket.")
    url: RedisUrl | None = Field(
        None,
        description="Required unless deploy, sentinel or cluster is set (deploy: defaults to "
        "the Redis it renders).",
    )
    deploy: bool = Field(False, description="Render a small Redis next to oauth2-proxy.")
    image: ImageRef = Field("redis:7.4-alpine", description="The image of the Redis deploy renders.")
    password_secret: SecretKeyRef | None = Field(
        None,
        description="The Redis password, from a Secret (OAUTH2_PROXY_REDIS_PASSWORD); with "
        "deploy the rendered Redis requires it too.",
    )
    username: Annotated[Text, Field(min_length=1)] | None = Field(
        None, description="Redis ACL user (--redis-username, oauth2-proxy v7.6.0 and newer)."
    )
    sentinel: RedisSentinel | None = Field(None, description="Redis Sentinel instead of url.")
    cluster: RedisCluster | None = Field(None, description="Redis Cluster instead of url.")

    @model_validator(mode="after")
    def _no_password_in_urls(self) -> RedisSessionStore:
        located = [(("url",), self.url)]
        located += [
            (("sentinel", "urls", i), u) for i, u in enumerate(self.sentinel.urls if self.sentinel else [])
        ]
        located += [
            (("cluster", "urls", i), u) for i, u in enumerate(self.cluster.urls if self.cluster else [])
        ]
        for path, url in located:
            if url and ":" in url.split("://", 1)[1].split("/", 1)[0].rpartition("@")[0]:
                raise At(
                    path,
                    "must not carry a password: URLs become flags that anyone who can read "
                    "the Deployment sees; put it in the oauth2-proxy Secret under redis-password, "
                    "or in a Secret named by passwordSecret",
                )
        return self

    @model_validator(mode="after")
    def _one_topology(self) -> RedisSessionStore:
        given = [name for name in ("url", "sentinel", "cluster") if getattr(self, name) is not None]
        if len(given) > 1:
            raise At((given[1],), f"give one of url, sentinel or cluster, not {' and '.join(given)}")
        if self.deploy and given and given[0] != "url":
            raise At(
                (given[0],), f"deploy renders a single Redis; leave deploy out to use a {given[0]} you run"
            )
        return self


SessionStore = Annotated[
    Annotated[CookieSessionStore, Tag("cookie")] | Annotated[RedisSessionStore, Tag("redis")],
    _tag("type", "cookie"),
]

ExtraArgValue = bool | int | Text | list[Text]


def _whitelist_entry_ok(value: str) -> bool:
    name, _, port = value.partition(":")
    if port and port != "*" and not (port.isdigit() and 0 < int(port) < 65536):
        return False
    return is_dns_subdomain(name.removeprefix("*.").removeprefix("."))


WhitelistDomain = Annotated[
    Text,
    AfterValidator(
        lambda v: (
            v
            if _whitelist_entry_ok(v)
            else _raise(
                "must be a host (app.example.com), .domain or *.domain for its subdomains, optionally "
                "with :port or :*"
            )
        )
    ),
]


def _raise(message: str) -> Any:
    raise ValueError(message)


class Logout(Model):
    """Signing out at /oauth2/sign_out, and ending the IdP's session as well."""

    end_session: bool = Field(
        True,
        description="Whitelist the host of identity's end-session endpoint, so that "
        "/oauth2/sign_out?rd=<end-session URL> may send the browser there.",
    )
    backend: bool | None = Field(
        None,
        description="--backend-logout-url: oauth2-proxy ends the IdP session itself "
        "(id_token_hint). Default: where the preset supports it and the release has the flag.",
    )


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
        if "@" in value or ":" in value.rsplit("/", 1)[-1] or not value or " " in value:
            raise ValueError("must be an image name without tag or digest; the tag is `version`")
        return value

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
        elif store.deploy and _redis_host(store.url) not in _redis_hosts(self.namespace):
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


def _redis_host(url: str) -> str:
    return url.split("://", 1)[1].split("/", 1)[0].rsplit("@", 1)[-1].split(":", 1)[0]


def _redis_hosts(namespace: str) -> set[str]:
    base = f"{REDIS_NAME}.{namespace}"
    return {REDIS_NAME, base, f"{base}.svc", f"{base}.svc.cluster.local"}


# --- apps ------------------------------------------------------------------------------------------


class AppService(Model):
    name: DnsLabel | None = Field(None, description="Default: the app name.")
    port: int = Field(80, ge=1, le=65535, description="The Service port the VirtualService routes to.")


class Authorization(Model):
    audiences: list[Annotated[Text, Field(min_length=1)]] = Field(
        default_factory=list, description="Default: [identity.clientId]."
    )
    emails: list[Email] = Field(default_factory=list, description="Admit these users (the email claim).")
    groups: list[Annotated[Text, Field(min_length=1)]] = Field(
        default_factory=list,
        description="Admit members of these groups (a string-list groups claim in the ID token).",
    )
    principals: list[RequestPrincipal] = Field(
        default_factory=list,
        description="Admit these users by <iss>/<sub>, the only stable OIDC user identifier.",
    )
    claims: dict[ClaimName, list[Text]] = Field(
        default_factory=dict,
        description="Claim name -> accepted values; every listed claim must match (string and "
        "string-list claims only).",
    )

    @field_validator("claims", mode="before")
    @classmethod
    def _string_claim_values(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        for name, values in value.items():
            items = values if isinstance(values, list) else [values]
            if not values or any(not isinstance(v, str) for v in items):
                raise ValueError(
                    f"claim {name!r}: values must be a non-empty list of strings; Istio matches only "
                    "string and string-list claims (a boolean such as email_verified cannot be matched)"
                )
            if not isinstance(values, list):
                raise ValueError(f"claim {name!r}: values must be a list of strings")
        return value


class Deploy(Model):
    image: ImageRef = Field(
        description="Image of the demo workload, such as nginxinc/nginx-unprivileged:1.27; it runs "
        "as non-root with a read-only root file system."
    )
    container_port: int | None = Field(None, ge=1, le=65535, description="Default: service.port.")
    replicas: int = Field(1, ge=1, le=100, description="Number of demo pods.")
    run_as_user: int | None = Field(
        None,
        ge=1,
        le=2147483647,
        description="UID to run as. Default: the image's own user, which must be numeric and not "
        "root (the pod always runs as non-root); set it for an image whose USER is a name.",
    )


class App(Model):
    name: DnsLabel = Field(description="Unique; used in generated object names.")
    namespace: DnsLabel | None = Field(None, description="Default: the app name.")
    host: Host | None = Field(
        None, description="The app's host name, such as app.example.com (or use hosts)."
    )
    hosts: list[Host] | None = Field(
        None, min_length=1, description="Several host names for one app (instead of host)."
    )
    service: AppService = Field(
        default_factory=AppService, description="The Service the VirtualService routes to."
    )
    selector: Labels | None = Field(None, description="Default: {app: <name>}.")
    public_paths: list[IstioPath] = Field(
        default_factory=list,
        description='Served without login: exact "/healthz" or prefix "/static/*".',
    )
    authorization: Authorization | None = Field(None, description="Omit to let any logged-in user in.")
    deploy: Deploy | None = Field(
        None, description="Render a demo workload (Deployment and Service) for the app."
    )

    @model_validator(mode="after")
    def _defaults_from_name(self) -> App:
        if (self.host is None) == (self.hosts is None):
            raise At(("host",), "give exactly one of host or hosts")
        if len(set(self.all_hosts)) != len(self.all_hosts):
            raise At(("hosts",), "must not repeat")
        self.namespace = self.namespace or self.name
        self.service.name = self.service.name or self.name
        self.selector = self.selector or {"app": self.name}
        self.authorization = self.authorization or Authorization()
        return self

    @property
    def all_hosts(self) -> list[str]:
        return [self.host] if self.host else list(self.hosts or ())


# --- GitOps: what `meshauth gitops` and `meshauth check` write (render ignores it) ---------------

OverlayPath = Annotated[Text, Field(min_length=1)]


class GitOps(Model):
    engine: Literal["argocd", "flux"] = Field(
        "argocd", description="Which engine's objects to write (--engine overrides)."
    )
    repo_url: GitUrl | None = Field(
        None, description="The Git repository the engine pulls (--repo-url overrides)."
    )
    revision: GitRevision = Field(
        "main", description="Branch, tag, full ref or commit the engine follows (--revision)."
    )
    path: RepoPath = Field(
        "", description="Folder inside the repository that holds the tree (--path); '' = its root."
    )
    environments: dict[DnsLabel, OverlayPath | list[OverlayPath]] = Field(
        default_factory=dict,
        description="Environment name -> overlay file (or list of them), relative to this file; "
        "--env replaces the whole map.",
    )


# --- the whole file --------------------------------------------------------------------------------


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
        default_factory=lambda: AuthService(),
        description="Settings of authservice; used only with authorizer: authservice.",
    )
    external_services: list[ExternalService] = Field(
        default_factory=list,
        description="Services outside the cluster, served at the gateway behind the same login.",
    )

    @model_validator(mode="after")
    def _apps_agree(self) -> Spec:
        _unique(
            [(("apps", i, "name"), a.name) for i, a in enumerate(self.apps)],
            "app names must be unique: {} repeats",
        )
        _unique(
            [
                (("apps", i, "host" if a.host else "hosts"), h)
                for i, a in enumerate(self.apps)
                for h in a.all_hosts
            ],
            "host {} belongs to more than one app",
        )
        _unique(
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
        given = {
            "inline": lambda: (("inline", "redisPassword"), secret.inline.redis_password),
            "external-secrets": lambda: (
                ("externalSecret", "data", "redisPassword"),
                secret.external_secret.data.redis_password,
            ),
            "sealed-secrets": lambda: (
                ("sealed", "encryptedData", REDIS_PASSWORD_KEY),
                secret.sealed.encrypted_data.get(REDIS_PASSWORD_KEY),
            ),
        }.get(secret.source, lambda: ((), None))()
        path, value = given
        if value is not None and (store.type != "redis" or store.deploy):
            raise At(
                ("secret", *path),
                "is only read with a Redis session store that meshauth "
                "does not deploy (sessionStore: {type: redis, url: ...}); remove it",
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
        _unique(names, "names must be unique across apps and externalServices: {} repeats")
        hosts = [(("apps", i, "host"), h) for i, a in enumerate(self.apps) for h in a.all_hosts]
        hosts += [(("externalServices", i, "host"), e.host) for i, e in enumerate(self.external_services)]
        _unique(hosts, "host {} is served twice (apps and externalServices)")
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
        if self.mesh.dataplane == "ambient":
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
        """Every host served at the gateway: the apps', then the external services'."""
        return [h for app in self.apps for h in app.all_hosts] + [e.host for e in self.external_services]


# --- authservice and external services ---------------------------------------------------------


class AuthService(Model):
    """istio-ecosystem/authservice, asked over gRPC (``authorizer: authservice``)."""

    version: Text = Field("1.0.0", description="Image tag of the authservice release.")
    image: Text = Field(
        "ghcr.io/istio-ecosystem/authservice/authservice",
        description="Image name without tag; the tag is version.",
    )
    namespace: DnsLabel = Field("authservice", description="Where authservice runs.")
    replicas: int = Field(
        1, ge=1, le=100, description="More than 1 needs redisUrl: sessions live in memory otherwise."
    )
    callback_path: IstioPath = Field(
        "/oauth/callback", description="Path on each host where the IdP sends the browser back."
    )
    redis_url: RedisUrl | None = Field(None, description="Session store shared by the replicas.")
    log_level: Literal["trace", "debug", "info", "error", "critical"] = Field(
        "info", description="authservice's log level."
    )

    @field_validator("image")
    @classmethod
    def _image_without_tag(cls, value: str) -> str:
        return OAuth2Proxy._image_without_tag(value)

    @model_validator(mode="after")
    def _replicas_share_sessions(self) -> AuthService:
        if self.replicas > 1 and self.redis_url is None:
            raise At(
                ("redisUrl",),
                "required with more than 1 replica: each authservice keeps its sessions in "
                "memory, so a login on one replica is unknown to the others and loops",
            )
        if "*" in self.callback_path:
            raise At(("callbackPath",), "must be an exact path, without *")
        return self


class Upstream(Model):
    host: Host = Field(description="Host name of the service outside the cluster.")
    port: int = Field(443, ge=1, le=65535, description="Port of the service outside the cluster.")
    tls: bool = Field(True, description="Originate TLS at the gateway (DestinationRule SIMPLE).")
    sni: Host | None = Field(None, description="Default: host.")


class ExternalService(Model):
    """A service outside the cluster, served at the gateway on ``host`` behind the same login."""

    name: DnsLabel = Field(description="Names the objects rendered for this service.")
    host: Host = Field(description="The public host name served at the gateway.")
    upstream: Upstream = Field(description="Where the gateway sends the requests.")
    public_paths: list[IstioPath] = Field(
        default_factory=list,
        description='Served without login: exact "/healthz" or prefix "/static/*".',
    )

    @model_validator(mode="after")
    def _distinct_upstream(self) -> ExternalService:
        if self.upstream.host == self.host:
            raise At(
                ("upstream", "host"),
                "must differ from host: the gateway would route the public name to itself",
            )
        return self

    @property
    def all_hosts(self) -> list[str]:
        return [self.host]

    @property
    def authorization(self) -> Authorization:
        """Any logged-in user with a token for the client id: there is no sidecar to ask more."""
        return Authorization()


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


def _unique(located: list[tuple[tuple[str | int, ...], str]], message: str) -> None:
    seen: set[str] = set()
    for path, value in located:
        if value in seen:
            raise At(path, message.format(value))
        seen.add(value)


Spec.model_rebuild()  # resolve the forward references to the models defined after Spec
MeshAuthConfig.model_rebuild()
