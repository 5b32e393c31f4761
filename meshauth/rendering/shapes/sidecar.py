"""``mesh.dataplane: sidecar`` (the default): each app's token check and ALLOW policy at its
sidecar, picked by the app's selector."""

from __future__ import annotations

from collections.abc import Iterator

from meshauth.config.model import App
from meshauth.rendering.context import Planned, RenderContext
from meshauth.rendering.shapes.tokens import access_policies, request_authentication


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
        yield from access_policies(ctx, app, app.namespace, {"selector": app.selector}, app.public_paths)
