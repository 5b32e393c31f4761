"""What is served at the gateway behind the login: the ``apps`` (in the cluster, each with its
authorization) and the ``externalServices`` (outside it)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, field_validator, model_validator

from meshauth.config.base import At, Labels, Model
from meshauth.config.fieldtypes import (
    AdmittedEmail,
    AdmittedPrincipal,
    ClaimName,
    ClaimValue,
    DnsLabel,
    HeaderName,
    Host,
    ImageRef,
    PathPrefix,
    PublicPath,
    Text,
    admitted_email,
)


class AppService(Model):
    name: DnsLabel | None = Field(None, description="Default: the app name.")
    port: int = Field(80, ge=1, le=65535, description="The Service port the VirtualService routes to.")


class Authorization(Model):
    audiences: list[Annotated[Text, Field(min_length=1)]] = Field(
        default_factory=list, description="Default: [identity.clientId]."
    )
    emails: list[AdmittedEmail] = Field(
        default_factory=list, description="Admit these users (the email claim)."
    )
    groups: list[Annotated[ClaimValue, Field(min_length=1)]] = Field(
        default_factory=list,
        description="Admit members of these groups (a string-list groups claim in the ID token).",
    )
    principals: list[AdmittedPrincipal] = Field(
        default_factory=list,
        description="Admit these users by <iss>/<sub>, the only stable OIDC user identifier.",
    )
    claims: dict[ClaimName, list[ClaimValue]] = Field(
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

    @field_validator("claims", mode="after")
    @classmethod
    def _email_claim_values(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for address in value.get("email", ()):
            admitted_email(address)  # the email claim widens the same way as emails
        return value


class Deploy(Model):
    image: ImageRef = Field(
        description="Image of the demo workload, pinned by a tag other than latest or a digest, such as "
        "nginxinc/nginx-unprivileged:1.27; it runs "
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

    @field_validator("image", mode="after")
    @classmethod
    def _pinned(cls, value: str) -> str:
        """A tag other than ``latest``, or a digest: what runs must not change under the config
        (checkov CKV_K8S_14)."""
        if "@sha256:" in value:
            return value
        name = value.rsplit("/", 1)[-1]
        tag = name.partition(":")[2]
        if not tag or tag == "latest":
            raise ValueError(
                f"{value!r} is not pinned: {'the tag latest' if tag else 'without a tag, the image'} "
                "moves with each push, so what runs changes without the config changing; name a "
                "version tag (nginxinc/nginx-unprivileged:1.27) and, better, a digest (@sha256:...)"
            )
        return value


class App(Model):
    name: DnsLabel = Field(description="Unique; used in generated object names.")
    namespace: DnsLabel | None = Field(None, description="Default: the app name.")
    host: Host | None = Field(
        None, description="The app's host name, such as app.example.com (or use hosts)."
    )
    hosts: list[Host] | None = Field(
        None, min_length=1, description="Several host names for one app (instead of host)."
    )
    path_prefix: PathPrefix = Field(
        "/",
        description='The part of the host this app serves, such as "/pipeline/"; the longest prefix '
        "of a host wins. A prefix ending in / also serves the path without it (/pipeline).",
    )
    service: AppService = Field(
        default_factory=AppService, description="The Service the VirtualService routes to."
    )
    selector: Labels | None = Field(None, description="Default: {app: <name>}.")
    public_paths: list[PublicPath] = Field(
        default_factory=list,
        description='Served without login: exact "/healthz" or prefix "/static/*".',
    )
    authorization: Authorization | None = Field(None, description="Omit to let any logged-in user in.")
    claim_headers: dict[HeaderName, ClaimName] | None = Field(
        None,
        description="Header -> claim for this app instead of identity.claimHeaders ({} for none).",
    )
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
        for i, path in enumerate(self.public_paths):
            if not self.owns(path.rstrip("*")) or (path.endswith("*") and not self.owns(path[:-1] + "x")):
                raise At(
                    ("publicPaths", i),
                    f"{path} lies outside the app's pathPrefix {self.path_prefix}: public paths of "
                    "an app are under its prefix",
                )
        return self

    @property
    def all_hosts(self) -> list[str]:
        return [self.host] if self.host else list(self.hosts or ())

    def owns(self, path: str) -> bool:
        """Is ``path`` under this app's prefix (``/pipeline/`` owns ``/pipeline`` too)?"""
        prefix = self.path_prefix
        return path.startswith(prefix) or (prefix.endswith("/") and path == prefix[:-1])

    @property
    def prefix_paths(self) -> list[str]:
        """The app's prefix in Istio policy path syntax (exact, and prefix with ``*``)."""
        prefix = self.path_prefix
        if prefix == "/":
            return ["/*"]
        if prefix.endswith("/"):
            return [prefix[:-1], prefix + "*"]
        return [prefix + "*"]


def check_shared_hosts(apps: list[App]) -> None:
    """Apps that share a host: distinct prefixes, the same host list, no prefix or public path that
    reaches into another app's part (an error names both apps)."""
    by_host: dict[str, list[tuple[int, App]]] = {}
    for i, app in enumerate(apps):
        for host in app.all_hosts:
            by_host.setdefault(host, []).append((i, app))
    for host, sharing in by_host.items():
        for (i, a), (j, b) in ((x, y) for n, x in enumerate(sharing) for y in sharing[n + 1 :]):
            if a.path_prefix == b.path_prefix:
                raise At(
                    ("apps", j, "host" if b.host else "hosts"),
                    f"host {host} with pathPrefix {b.path_prefix} belongs to apps {a.name} and "
                    f"{b.name}; give one of them another host or pathPrefix",
                )
            if sorted(a.all_hosts) != sorted(b.all_hosts):
                raise At(
                    ("apps", j, "host" if b.host else "hosts"),
                    f"apps {a.name} and {b.name} share host {host} but not all their hosts; apps "
                    "that split a host by pathPrefix list the same hosts",
                )
            for (k, outer), inner in ((i, a), b), ((j, b), a):
                prefix = outer.path_prefix
                if prefix.endswith("/") or not inner.path_prefix.startswith(prefix):
                    continue
                if not inner.path_prefix.startswith(prefix + "/"):
                    raise At(
                        ("apps", k, "pathPrefix"),
                        f"pathPrefix {prefix} of app {outer.name} would also catch "
                        f"{inner.path_prefix} of app {inner.name}; end it with / ({prefix}/)",
                    )
            for (k, own), other in ((i, a), b), ((j, b), a):
                if len(other.path_prefix) <= len(own.path_prefix):
                    continue
                for n, path in enumerate(own.public_paths):
                    base = path.rstrip("*")
                    reaches = other.owns(base) or (path.endswith("*") and other.path_prefix.startswith(base))
                    if reaches:
                        raise At(
                            ("apps", k, "publicPaths", n),
                            f"{path} of app {own.name} reaches into pathPrefix {other.path_prefix} "
                            f"of app {other.name}, which is {other.name}'s to open",
                        )


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
    public_paths: list[PublicPath] = Field(
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
