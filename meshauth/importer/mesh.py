"""Import, mesh side: the extension provider, mesh-wide mTLS, the ingress gateway, TLS, versions."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

import yaml

from meshauth.compat.versions import NEWEST_KNOWN_ISTIO
from meshauth.config.model import Ingress, Mesh
from meshauth.files.manifests import istio_version_of
from meshauth.files.yamlread import load_yaml
from meshauth.importer.context import Context, match_labels, strings
from meshauth.importer.sources import ISTIOD_VALUES, Source
from meshauth.k8s import is_custom_policy, mapping, name_of, namespace_of, provider_name, sequence, spec_of
from meshauth.rendering.aspects import proxyargs as oauth2proxy
from meshauth.rendering.shapes.oauth2proxy import EXT_AUTHZ_HEADERS, PROXY_NAME

DEFAULT_ROOT = Mesh.model_fields["root_namespace"].default
DEFAULT_INGRESS = Ingress.model_fields["namespace"].default
_SERVICE = re.compile(r"^([a-z0-9-]+)\.([a-z0-9-]+)(?:\.svc(?:\.cluster\.local)?)?$")
_PROVIDER_HEADERS = {
    "headersToUpstreamOnAllow": "upstream_on_allow",
    "headersToDownstreamOnDeny": "downstream_on_deny",
    "headersToDownstreamOnAllow": "downstream_on_allow",
    "includeRequestHeadersInCheck": "check",
    "includeHeadersInCheck": "check",
}
_PROVIDER_KEYS = {"service", "port", *_PROVIDER_HEADERS}


# --- the extension provider ------------------------------------------------------------------------


def custom_policies(ctx: Context) -> list[Source]:
    if "custom" not in ctx.memo:
        ctx.memo["custom"] = [s for s in ctx.of_kind("AuthorizationPolicy") if is_custom_policy(s.obj)]
    return list(ctx.memo["custom"])


def mesh_section(ctx: Context) -> tuple[dict[str, Any], str | None]:
    """``spec.mesh`` and the oauth2-proxy namespace named by the provider's service."""
    mesh: dict[str, Any] = {}
    providers = list(_providers(ctx))
    wanted = {provider_name(p.obj) for p in custom_policies(ctx)}
    chosen = [
        (s, p) for s, p in providers if isinstance(p.get("name"), str) and p["name"] in wanted
    ] or providers
    if not chosen:
        ctx.warn(
            "no extension provider found (IstioOperator or istiod values with "
            "meshConfig.extensionProviders): meshauth writes one, see render --mesh-config"
        )
        return _mesh_defaults(ctx, mesh), None
    source, provider = chosen[0]
    for other, extra in chosen[1:]:
        ctx.warn(
            f"extension provider {extra.get('name')!r} not imported: meshauth configures one "
            "provider, for oauth2-proxy",
            other,
        )
    if provider.get("name") != "oauth2-proxy":
        mesh["extensionProvider"] = provider.get("name")
    if source.obj.get("kind") == ISTIOD_VALUES:
        mesh["install"] = "helm"
    if _is_authservice(provider):
        ctx.memo["authservice"] = _authservice_provider(ctx, source, provider["envoyExtAuthzGrpc"])
        return _mesh_defaults(ctx, mesh), None
    namespace = _provider_service(ctx, source, mapping(provider.get("envoyExtAuthzHttp")))
    return _mesh_defaults(ctx, mesh), namespace


def mesh_holders(ctx: Context) -> Iterator[tuple[Source, dict[str, Any]]]:
    """(source, the mapping that holds meshConfig) for IstioOperators, istiod values and Istio's
    mesh ConfigMap (``data.mesh``, a YAML text, read as the meshConfig itself)."""
    for source in ctx.of_kind("IstioOperator") + ctx.of_kind(ISTIOD_VALUES):
        obj = source.obj
        yield source, (obj["values"] if obj.get("kind") == ISTIOD_VALUES else spec_of(obj))
    for source in ctx.of_kind("ConfigMap"):
        text = (source.obj.get("data") or {}).get("mesh")
        if name_of(source.obj).startswith("istio") and isinstance(text, str):
            try:
                mesh = load_yaml(text)
            except yaml.YAMLError:
                ctx.warn("data.mesh is not valid YAML; not read", source)
                continue
            yield source, {"meshConfig": mesh if isinstance(mesh, dict) else {}}


def _providers(ctx: Context) -> Iterator[tuple[Source, dict[str, Any]]]:
    for source, holder in mesh_holders(ctx):
        ctx.use(source)
        mesh_config = mapping(holder.get("meshConfig"))
        others = sorted(set(holder) - {"meshConfig"}) + sorted(
            f"meshConfig.{k}" for k in set(mesh_config) - {"extensionProviders"}
        )
        if others:
            ctx.warn(
                f"only meshConfig.extensionProviders is imported; keep installing the rest "
                f"({', '.join(others)}) as you do, and add meshauth's --mesh-config output next to "
                "it (istioctl install -f yours.yaml -f mesh.yaml, or a second helm -f)",
                source,
            )
        wrong = list(
            _wrong_kinds(holder.get("meshConfig"), _MESH_PATHS.get(str(source.obj.get("kind")), "meshConfig"))
        )
        for path, kind in wrong:
            ctx.error(f"the mesh config cannot be read: must be {kind}", source, path)
        if wrong:
            continue
        for provider in sequence(mesh_config.get("extensionProviders")):
            if isinstance(provider, dict) and ("envoyExtAuthzHttp" in provider or _is_authservice(provider)):
                yield source, provider
            elif isinstance(provider, dict):
                ctx.warn(
                    f"extension provider {provider.get('name')!r} is not envoyExtAuthzHttp; not imported",
                    source,
                )


# Where each holder of mesh config keeps it (the istiod values' is "meshConfig").
_MESH_PATHS = {"IstioOperator": "spec.meshConfig", "ConfigMap": "data.mesh"}


def _wrong_kinds(config: Any, path: str) -> Iterator[tuple[str, str]]:
    """(field, the kind it must be) for what the import reads of a mesh config that has the wrong
    kind. No schema covers it: the CRDs leave meshConfig open, and istiod values have none."""
    if config is None:
        return
    if not isinstance(config, Mapping):
        yield path, "a mapping"
        return
    providers = config.get("extensionProviders")
    if providers is not None and not isinstance(providers, list):
        yield f"{path}.extensionProviders", "a list"
        return
    for i, provider in enumerate(providers or ()):
        at = f"{path}.extensionProviders[{i}]"
        if not isinstance(provider, Mapping):
            yield at, "a mapping"
            continue
        if not isinstance(provider.get("name", ""), str):
            yield f"{at}.name", "a string"
        for key in ("envoyExtAuthzHttp", "envoyExtAuthzGrpc"):
            if key in provider and not isinstance(provider[key], Mapping):
                yield f"{at}.{key}", "a mapping"


def _is_authservice(provider: dict[str, Any]) -> bool:
    """An envoyExtAuthzGrpc provider that calls istio-ecosystem/authservice (by its Service name)."""
    grpc = provider.get("envoyExtAuthzGrpc")
    return isinstance(grpc, dict) and "authservice" in str(grpc.get("service", "")).split(".")[0]


def _authservice_provider(ctx: Context, source: Source, grpc: dict[str, Any]) -> dict[str, Any]:
    """``spec.authservice`` from the gRPC provider, and authservice's Deployment and Service."""
    from meshauth.rendering.shapes.authservice import GRPC_PORT

    section: dict[str, Any] = {}
    match = _SERVICE.match(str(grpc.get("service", "")))
    namespace = match.group(2) if match else "authservice"
    if namespace != "authservice":
        section["namespace"] = namespace
    if _port(grpc.get("port")) not in (None, GRPC_PORT):
        ctx.warn(f"provider port {grpc.get('port')}: meshauth's authservice listens on {GRPC_PORT}", source)
    for key in sorted(set(grpc) - {"service", "port"}):
        ctx.warn(f"envoyExtAuthzGrpc.{key} is not imported: meshauth does not set it", source)
    for deployment in ctx.of_kind("Deployment", namespace):
        containers = ((spec_of(deployment.obj).get("template") or {}).get("spec") or {}).get(
            "containers"
        ) or []
        images = [str(c.get("image", "")) for c in containers if isinstance(c, dict)]
        image = next((i for i in images if "authservice" in i.rsplit("/", 1)[-1]), None)
        if image is None:
            continue
        ctx.use(deployment)
        ctx.use(ctx.named("Service", "authservice", namespace))  # meshauth renders both
        name, _, tag = image.rpartition(":")
        if tag and tag != "1.0.0" and "/" not in tag:
            section["version"] = tag
        if name and name != "ghcr.io/istio-ecosystem/authservice/authservice":
            section["image"] = name
        break
    return section


def _provider_service(ctx: Context, source: Source, http: Mapping[str, Any]) -> str | None:
    match = _SERVICE.match(str(http.get("service", "")))
    namespace = match.group(2) if match else None
    if not match or match.group(1) != PROXY_NAME:
        ctx.warn(
            f"provider service {http.get('service')!r}: meshauth's provider points at its own "
            f"Service {PROXY_NAME}.<oauth2Proxy.namespace>.svc.cluster.local",
            source,
        )
    if _port(http.get("port")) not in (None, oauth2proxy.PORT):
        ctx.warn(
            f"provider port {http.get('port')}: meshauth's oauth2-proxy listens on {oauth2proxy.PORT}", source
        )
    for key, value in sorted(http.items()):
        if key not in _PROVIDER_KEYS:
            ctx.warn(f"envoyExtAuthzHttp.{key} is not imported: meshauth does not set it", source)
        elif key in _PROVIDER_HEADERS:
            extra = [h for h in strings(value) if h.lower() not in EXT_AUTHZ_HEADERS[_PROVIDER_HEADERS[key]]]
            if extra:
                hint = (
                    "; an app that reads one of them as who the user is gets it from the verified "
                    "token with identity.claimHeaders (header: claim)"
                    if key == "headersToUpstreamOnAllow"
                    else ""
                )
                ctx.warn(
                    f"envoyExtAuthzHttp.{key}: {', '.join(extra)} not passed by meshauth's "
                    "provider (it passes the ID token and oauth2-proxy's x-auth-request-* "
                    f"identity headers){hint}",
                    source,
                )
    return namespace


def _port(value: Any) -> Any:
    """A port as Istio reads it: ``"4180"`` is 4180."""
    return int(value) if isinstance(value, str) and value.strip().isdigit() else value


def _root_namespace(ctx: Context) -> str:
    for _, provider_holder in mesh_holders(ctx):
        root = mapping(provider_holder.get("meshConfig")).get("rootNamespace")
        if isinstance(root, str) and root:
            return str(root)
    return str(DEFAULT_ROOT)


def _mesh_defaults(ctx: Context, mesh: dict[str, Any]) -> dict[str, Any]:
    # Istio: a PeerAuthentication in the root namespace without a selector is mesh-wide, whatever
    # its name (``default`` is only the convention)
    root = _root_namespace(ctx)
    mesh_wide = sorted(
        (
            p
            for p in ctx.of_kind("PeerAuthentication", root)
            if not (spec_of(p.obj).get("selector") or {}).get("matchLabels")
        ),
        key=lambda p: name_of(p.obj) != "default",
    )
    for policy in ctx.of_kind("PeerAuthentication"):
        if policy not in mesh_wide[:1]:
            ctx.keep(policy)
            ctx.warn(
                "not imported: meshauth renders only the mesh-wide PeerAuthentication; keep "
                "applying this one yourself if you need it",
                policy,
            )
    if not mesh_wide:
        ctx.warn(
            "no mesh-wide PeerAuthentication found: meshauth renders one with mtls STRICT "
            "(set mesh.mtls: PERMISSIVE if workloads outside the mesh call your apps)"
        )
        return mesh
    policy = mesh_wide[0]
    ctx.use(policy)
    if namespace_of(policy.obj) != DEFAULT_ROOT:
        mesh["rootNamespace"] = namespace_of(policy.obj)
    mode = (spec_of(policy.obj).get("mtls") or {}).get("mode") or "STRICT"
    if mode not in ("STRICT", "PERMISSIVE"):
        ctx.warn(f"mtls mode {mode} is not supported: meshauth writes STRICT or PERMISSIVE", policy)
    elif mode != "STRICT":
        mesh["mtls"] = mode
    return mesh


# --- ingress and TLS -------------------------------------------------------------------------------


def ingress_section(ctx: Context, gateway: Source | None) -> dict[str, Any]:
    ingress: dict[str, Any] = {}
    policies = custom_policies(ctx)
    anchor = policies[0] if policies else gateway
    if anchor is None:
        return ingress
    namespace = namespace_of(anchor.obj)
    labels = match_labels(anchor.obj)
    if namespace != DEFAULT_INGRESS:
        ingress["namespace"] = namespace
    if labels and labels != {"app": "istio-ingressgateway"}:
        ingress["selector"] = labels
    if gateway is not None:
        if name_of(gateway.obj) != "meshauth":
            ingress["gateway"] = name_of(gateway.obj)
        if labels and match_labels(gateway.obj) != labels:
            ctx.warn(
                f"the Gateway selects {match_labels(gateway.obj)} but the login policy "
                f"selects {labels}: meshauth uses {labels} for both",
                gateway,
            )
        if namespace_of(gateway.obj) != namespace:
            ctx.warn(
                f"the Gateway is in {namespace_of(gateway.obj)}, the login policy in "
                f"{namespace}: meshauth puts both in {namespace}",
                gateway,
            )
    return ingress


def tls_section(ctx: Context, gateway: Source | None, hosts: list[str]) -> dict[str, Any] | None:
    """``spec.tls`` from the Certificates behind the Gateway's HTTPS servers, and their issuer."""
    credentials = _credentials(gateway) if gateway else set()
    certificates = [
        c
        for c in ctx.of_kind("Certificate")
        if spec_of(c.obj).get("secretName") in credentials
        or set(strings(spec_of(c.obj).get("dnsNames"))) & set(hosts)
    ]
    if not certificates and not credentials:
        return None
    for certificate in certificates:
        ctx.use(certificate)
        extra = set(strings(spec_of(certificate.obj).get("dnsNames"))) - set(hosts)
        if extra:
            ctx.warn(
                f"dnsNames {', '.join(sorted(extra))} belong to no imported app: meshauth "
                "writes one Certificate per app, for its hosts",
                certificate,
            )
    if not certificates:
        ctx.warn(
            "the Gateway's HTTPS certificates do not come from cert-manager Certificates in "
            "your manifests: meshauth writes Certificates signed by tls.issuer (create: false "
            "references an issuer you already have; set its name)",
            gateway,
        )
        return {"issuer": {"create": False}}
    ref = spec_of(certificates[0].obj).get("issuerRef") or {}
    return {
        "issuer": _issuer(
            ctx,
            str(ref.get("name", "letsencrypt")),
            str(ref.get("kind") or "Issuer"),
            namespace_of(certificates[0].obj),
        )
    }


def _credentials(gateway: Source) -> set[str]:
    return {
        str((server.get("tls") or {}).get("credentialName"))
        for server in spec_of(gateway.obj).get("servers") or []
        if isinstance(server, dict) and (server.get("tls") or {}).get("credentialName")
    }


def _issuer(ctx: Context, name: str, kind: str, namespace: str) -> dict[str, Any]:
    issuer: dict[str, Any] = {}
    if name != "letsencrypt":
        issuer["name"] = name
    if kind != "ClusterIssuer":
        issuer["kind"] = kind
    source = ctx.named(kind, name, namespace if kind == "Issuer" else None)
    if source is None:
        ctx.warn(
            f"{kind} {name} is not in your manifests: meshauth references it (create: false) "
            "and assumes an HTTP-01 solver; set tls.issuer.acme.solver: dns01 if it uses DNS-01"
        )
        return {**issuer, "create": False}
    ctx.use(source)
    acme = spec_of(source.obj).get("acme")
    if not isinstance(acme, dict):
        ctx.warn(
            "not an ACME issuer: meshauth writes ACME issuers only; it references this one (create: false)",
            source,
        )
        return {**issuer, "create": False}
    return {**issuer, "acme": _acme(ctx, source, acme)}


def _acme(ctx: Context, source: Source, acme: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if acme.get("server") not in (None, "https://acme-v02.api.letsencrypt.org/directory"):
        out["server"] = acme["server"]
    if acme.get("email"):
        out["email"] = acme["email"]
    solvers = [s for s in acme.get("solvers") or [] if isinstance(s, dict)]
    if len(solvers) > 1 or any("selector" in s for s in solvers):
        ctx.warn("only the first ACME solver is imported, without its selector", source)
    solver = solvers[0] if solvers else {"http01": {}}
    if "dns01" in solver:
        return {**out, "solver": "dns01", "dns01": solver["dns01"]}
    ingress = (solver.get("http01") or {}).get("ingress") or {}
    used_class = ingress.get("ingressClassName") or ingress.get("class")
    if used_class not in (None, "istio"):
        ctx.warn(
            f"the HTTP-01 solver uses ingress class {used_class!r}: meshauth solves through an "
            "IngressClass named istio (controller istio.io/ingress-controller)",
            source,
        )
    for key in sorted(set(ingress) - {"ingressClassName", "class"}):
        ctx.warn(f"http01.ingress.{key} is not imported", source)
    return out


def ingress_class(ctx: Context, http01: bool) -> None:
    for source in ctx.of_kind("IngressClass"):
        if http01 and spec_of(source.obj).get("controller") == "istio.io/ingress-controller":
            ctx.use(source)


# --- versions --------------------------------------------------------------------------------------


def istio_version(ctx: Context) -> str:
    """The given version, else ISTIO_VERSION, else what validate reads (image tags, then an
    IstioOperator's or istiod values' tag), else a guess with a warning."""
    if ctx.options.istio_version:
        return ctx.options.istio_version
    match = re.match(r"^v?(\d+)\.(\d+)", ctx.variables.get("ISTIO_VERSION", ""))
    if match:
        return f"{match.group(1)}.{match.group(2)}"
    holders = [s.obj for s in ctx.of_kind("IstioOperator")] + [
        s.obj["values"] for s in ctx.of_kind(ISTIOD_VALUES)
    ]
    found = istio_version_of([s.obj for s in ctx.sources], holders)  # validate's own inference
    if found:
        return found
    guess = _guess_istio(ctx)
    ctx.warn(
        f'istioVersion "{guess}" is a guess from the API versions in your manifests: set '
        "spec.platform.istioVersion to the Istio you run (or pass --istio-version)",
        path="spec.platform.istioVersion",
    )
    return guess


def _guess_istio(ctx: Context) -> str:
    api_versions = {str(s.obj.get("apiVersion")) for s in ctx.sources}
    providers = [p for _, p in _providers_quiet(ctx)]
    if "networking.istio.io/v1" in api_versions:
        return "{}.{}".format(*NEWEST_KNOWN_ISTIO)
    if "security.istio.io/v1" in api_versions:
        return "1.17"
    if any("headersToDownstreamOnAllow" in (p.get("envoyExtAuthzHttp") or {}) for p in providers):
        return "1.14"
    if any("includeRequestHeadersInCheck" in (p.get("envoyExtAuthzHttp") or {}) for p in providers):
        return "1.10"
    return "1.9"


def _providers_quiet(ctx: Context) -> Iterator[tuple[Source, dict[str, Any]]]:
    for source, holder in mesh_holders(ctx):
        for provider in sequence(mapping(holder.get("meshConfig")).get("extensionProviders")):
            if isinstance(provider, dict):
                yield source, provider
