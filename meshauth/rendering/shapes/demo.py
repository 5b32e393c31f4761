"""An app's demo workload (``apps[].deploy``): a Service, a hardened Deployment and its guards."""

from __future__ import annotations

from collections.abc import Iterator

from meshauth.config.model import App
from meshauth.rendering.aspects import hardening
from meshauth.rendering.context import Planned, RenderContext
from meshauth.rendering.shapes.workloads import guards


def demo_workload(ctx: RenderContext, app: App) -> Iterator[Planned]:
    assert app.deploy and app.service.name and app.namespace and app.selector  # filled in while loading
    selector = app.selector
    meta = ctx.meta(app.service.name, app.namespace)
    target_port = app.deploy.container_port or app.service.port
    yield Planned(
        "demo-service.yaml.j2",
        {"meta": meta, "selector": app.selector, "port": app.service.port, "target_port": target_port},
    )
    deploy, ingress = app.deploy, ctx.spec.ingress
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
            "spread": hardening.spread(selector, deploy.replicas),
            "tmp_size": hardening.TMP_SIZE,
        },
    )
    # Who may enter is the app's AuthorizationPolicy (JWT at the sidecar); the network only has
    # to let the ingress gateway through.
    yield from guards(
        ctx,
        app.service.name,
        app.namespace,
        selector,
        deploy.replicas,
        principals=[],
        peers=hardening.ingress_from(ingress.namespace, ctx.gateway_workload()[0], target_port),
    )
