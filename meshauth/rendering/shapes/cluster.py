"""What every shape needs around it: the namespaces meshauth creates, and cert-manager's issuer and
certificates for the sites."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from meshauth.rendering.aspects import hardening
from meshauth.rendering.context import Planned, RenderContext


def namespaces(
    ctx: RenderContext, authorizer_namespace: str, dataplane_labels: Callable[[str], dict[str, str]]
) -> Iterator[Planned]:
    """The authorizer's and the apps' namespaces, except those Istio manages; the dataplane says
    how each joins the mesh. With the Gateway API the ingress namespace is where meshauth's Gateway
    makes Istio deploy the gateway pods: nothing creates it but meshauth, so it is rendered (unless
    it is the mesh root namespace), with no dataplane or Pod Security labels of its own (the
    gateway pods are Istio's, injected by their own template)."""
    spec = ctx.spec
    gateway_api = spec.ingress.api == "gateway-api"
    istio_managed = {spec.mesh.root_namespace} | (set() if gateway_api else {spec.ingress.namespace})
    # an app's namespace defaults to its name (filled in while loading; `or` tells the type checker)
    wanted = {authorizer_namespace, *(app.namespace or app.name for app in spec.apps)} - istio_managed
    gateway_only = {spec.ingress.namespace} - wanted - istio_managed if gateway_api else set()
    for namespace in sorted(wanted | gateway_only):
        labels = (
            {}
            if namespace in gateway_only
            else {**dataplane_labels(namespace), **pod_security(ctx, namespace)}
        )
        yield Planned("namespace.yaml.j2", {"meta": ctx.meta(namespace, **labels)})


def pod_security(ctx: RenderContext, namespace: str) -> dict[str, str]:
    """Enforce the restricted profile where meshauth renders every pod it knows to be there
    (the proxy's namespace; an app namespace whose apps all deploy), and only with Istio CNI
    (see :mod:`meshauth.rendering.aspects.hardening`)."""
    spec = ctx.spec
    apps = ctx.apps_in(namespace)
    ours = namespace == spec.oauth2_proxy.namespace or bool(apps)
    shared = namespace == "default"  # holds whatever lands there; never restrict it wholesale
    if not spec.mesh.cni or not ours or shared or not all(app.deploy for app in apps):
        return {}
    return hardening.pod_security_labels(spec.platform.kubernetes_version)


def issuer(
    ctx: RenderContext, http01_solver: Callable[[], tuple[dict[str, Any], list[Planned]]]
) -> Iterator[Planned]:
    """The cert-manager (Cluster)Issuer, when the config asks for one; with HTTP-01 the ingress
    says how the challenge is answered (and what that needs)."""
    tls = ctx.spec.tls
    if tls is None or not tls.issuer.create:
        return
    issuer, acme = tls.issuer, tls.issuer.acme
    if acme.solver == "http01":
        solver, extra = http01_solver()
        yield from extra
    else:
        solver = {"dns01": acme.dns01}
    namespace = ctx.spec.ingress.namespace if issuer.kind == "Issuer" else None
    yield Planned(
        "issuer.yaml.j2",
        {
            "kind": issuer.kind,
            "meta": ctx.meta(issuer.name, namespace),
            "server": acme.server,
            "email": acme.email,
            "account_key": f"{issuer.name}-account-key",
            "solver": solver,
        },
    )


def certificates(ctx: RenderContext) -> Iterator[Planned]:
    """One cert-manager Certificate per site, in the ingress namespace (where the Gateway is)."""
    spec, tls = ctx.spec, ctx.spec.tls
    if tls is None:
        return
    for app in ctx.host_sites():
        yield Planned(
            "certificate.yaml.j2",
            {
                "meta": ctx.meta(f"{ctx.name}-{app.name}", spec.ingress.namespace),
                "secret_name": f"{ctx.name}-{app.name}-tls",
                "dns_names": app.all_hosts,
                "issuer": {"name": tls.issuer.name, "kind": tls.issuer.kind, "group": "cert-manager.io"},
            },
        )
