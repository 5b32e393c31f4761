"""``meshauth simulate``: who gets through, decided over the rendered objects, hop by hop.

The evaluator reads only the bundle (the objects and the mesh configuration) plus a few facts about
the cluster that no object states (:class:`Environment`: the ingress gateway's mTLS identity, the
labels of app pods meshauth does not render, the root namespace). It does not look at the config's
intent (emails, groups, public paths), so it is an independent check of what was rendered.

A request goes (Envoy's filter order is ext_authz, jwt_authn, rbac at every proxy; see
docs/design.md):

1. **gateway**: the Gateway object that serves the host gives the gateway pods (its namespace and
   selector). CUSTOM policies there: if one matches, the extension provider (mesh config) is asked:
   its Service and Deployment are found in the bundle, the provider's own policies must admit the
   gateway's identity, and oauth2-proxy (read from its arguments) answers: no session means a
   redirect to login; a session passes when oauth2-proxy accepts the email, and adds the ID token
   (``--set-authorization-header`` and ``authorization`` in ``headersToUpstreamOnAllow``). Then
   RequestAuthentication, DENY and ALLOW policies;
2. **route**: the Gateway server for the port (an HTTPS redirect ends here), then the VirtualService
   bound to that Gateway for the host; on port 80 an ACME HTTP-01 challenge for a host whose
   Certificate uses an HTTP-01 issuer goes to cert-manager's solver instead;
3. **sidecar** of the destination pods (the Service's selector, the labels of the Deployment that
   matches it): mTLS from the gateway's identity, the token as the gateway forwarded it
   (``forwardOriginalToken``), then the same CUSTOM, jwt_authn, DENY, ALLOW steps.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from meshauth.authz.decision import Decision, Environment, Request, Step
from meshauth.authz.headers import app_headers
from meshauth.authz.meshview import MeshView
from meshauth.errors import ConfigError, Problem

__all__ = [
    "Decision",
    "Environment",
    "MeshView",
    "Request",
    "Step",
    "environment_for",
    "evaluate",
    "parse_claims",
    "parse_header",
    "simulate",
]


def simulate(
    config: Any,
    host: str,
    path: str,
    method: str = "GET",
    claims: Mapping[str, Any] | None = None,
    port: int | None = None,
    *,
    headers: Mapping[str, str] | None = None,
    overlays: Sequence[Any] = (),
    allow_plaintext_secrets: bool = False,
) -> Decision:
    """Render ``config`` (path, dict or model) and decide one request over the rendered bundle;
    ``headers`` are what the client sends besides, and the decision lists the headers the app
    receives (:mod:`meshauth.authz.headers`)."""
    from meshauth.config.load import load_config
    from meshauth.rendering.render import render

    model = load_config(config, overlays, allow_plaintext_secrets=allow_plaintext_secrets)
    request = Request(
        host=host, path=path, method=method, claims=claims, port=port, headers=dict(headers or {})
    )
    bundle, environment = render(model), environment_for(model)
    decision = evaluate(bundle, request, environment)
    return replace(decision, headers=app_headers(bundle, request, decision, environment))


def environment_for(config: Any) -> Environment:
    """The cluster facts a config states: the gateway's service account, the app pods' labels."""
    from meshauth.rendering.aspects.hardening import principal

    spec = config.spec
    labels = {
        f"{app.service.name}.{app.namespace}.svc.cluster.local": dict(app.selector or {}) for app in spec.apps
    }
    return Environment(
        gateway_principal=principal(spec.ingress.namespace, spec.ingress.service_account),
        service_labels=labels,
        root_namespace=spec.mesh.root_namespace,
    )


def evaluate(bundle: Any, request: Request, environment: Environment) -> Decision:
    """Decide ``request`` over a bundle (or ``(objects, mesh_config)``)."""
    return MeshView.of(bundle, environment).decide(request)


def parse_claims(text: str) -> dict[str, Any]:
    """``--claims JSON`` for the CLI: a JSON object, or a ConfigError saying what is wrong."""
    try:
        claims = json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigError(Problem(f"--claims is not valid JSON ({error.msg})")) from None
    if not isinstance(claims, dict):
        raise ConfigError(
            Problem(
                '--claims must be a JSON object, such as \'{"email": "a@example.com", "groups": ["sre"]}\''
            )
        )
    return claims


def parse_header(text: str) -> tuple[str, str]:
    """``--header NAME=VALUE`` for the CLI: a header the client sends, or a ConfigError."""
    name, sep, value = text.partition("=")
    name = name.strip()
    if not sep or not name or not all(c.isalnum() or c in "-_" for c in name):
        raise ConfigError(Problem(f"--header must be NAME=VALUE with an HTTP header name, not {text!r}"))
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ConfigError(Problem(f"--header {name}: the value must not contain control characters"))
    return name.lower(), value
