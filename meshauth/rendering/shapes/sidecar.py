"""``mesh.dataplane: sidecar`` (the default): each app's token check and ALLOW policy at its
sidecar, picked by the app's selector."""

from __future__ import annotations

from collections.abc import Iterator

from meshauth.config.model import App
from meshauth.rendering.context import Planned, RenderContext
from meshauth.rendering.shapes.tokens import identity_rules, path_scope, request_authentication


class SidecarDataplane:
    def __init__(self, ctx: RenderContext) -> None:
        self.ctx = ctx

    def namespace_labels(self, namespace: str) -> dict[str, str]:
        return {"istio-injection": "enabled"}

    def shared(self) -> Iterator[Planned]:
        return iter(())

    def app_policies(self, app: App) -> Iterator[Planned]:
        """Token check and ALLOW policy at the app's sidecar, picked by the app's selector."""
        assert app.namespace and app.selector
        ctx = self.ctx
        base = f"{ctx.name}-{app.name}"
        claim_headers = ctx.spec.claim_headers_for(app)
        yield request_authentication(
            ctx, f"{base}-jwt", app.namespace, app.selector, claim_headers=claim_headers
        )
        yield Planned(
            "app-access-policy.yaml.j2",
            {
                "api_version": ctx.istio.security_api,
                "meta": ctx.meta(f"{base}-access", app.namespace),
                "selector": app.selector,
                "rules": identity_rules(ctx, app),
                "scope": path_scope(ctx, app),
                "public_paths": app.public_paths,
            },
        )
