"""Where the config meets the cluster: the Istio and Kubernetes versions, the mesh, the ingress
gateway and the TLS certificates (the ``platform``, ``mesh``, ``ingress`` and ``tls`` sections)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from meshauth.compat.versions import DEFAULT_KUBERNETES, istio_version_problem, kubernetes_version_problem
from meshauth.config.base import At, Labels, Model
from meshauth.config.fieldtypes import DnsLabel, DnsSubdomain, Email, HttpsUrl, MajorMinor, major_minor

ACME_CHALLENGE_PATH = "/.well-known/acme-challenge/*"


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
