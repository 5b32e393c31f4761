"""``meshauth simulate``: who gets through, decided over the rendered objects, hop by hop.

The evaluator reads only the bundle (the objects and the mesh configuration) plus a few facts about
the cluster that no object states (:class:`Environment`: the ingress gateway's mTLS identity, the
labels of app pods meshauth does not render, the root namespace, the dataplane of namespaces it
does not render). It does not look at the config's
intent (emails, groups, public paths), so it is an independent check of what was rendered.

A request goes (Envoy's filter order is ext_authz, jwt_authn, rbac at every proxy; see
docs/design.md):

1. **gateway**: the Istio Gateway server or Gateway API listener that serves the host gives the
   gateway pods (:mod:`meshauth.authz.ingress`). CUSTOM policies there (or, before Istio 1.9, an
   EnvoyFilter's ext_authz): the login service is asked (:mod:`meshauth.authz.logins`): its own
   proxy must admit the gateway's identity, and oauth2-proxy (its flags) or authservice (its
   ``config.json``) answers: no session means a redirect to login; a session passes when the
   provider accepts it, and the ID token goes upstream. Then RequestAuthentication, DENY and ALLOW;
2. **route**: chosen before the filters run, acting after them: a VirtualService's first matching
   route or the HTTPRoute rule Gateway API precedence picks (:mod:`meshauth.authz.routes`); a
   redirect or a missing route ends here; on port 80 an ACME HTTP-01 challenge for a host whose
   Certificate uses an HTTP-01 issuer goes to cert-manager's solver;
3. **the app**: its sidecar (where one is injected), or in ambient mode its waypoint (where the
   gateway sends through it) and ztunnel's L4 share (:mod:`meshauth.authz.ambient`): mTLS from the
   gateway's identity, the token as the gateway forwarded it (``forwardOriginalToken``), then the
   same CUSTOM, jwt_authn, DENY, ALLOW steps.

What the bundle does not decide is a :class:`Decision` with ``decided`` False (verdict UNDECIDED).
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
    ingress = spec.ingress
    account = ingress.service_account
    if ingress.api == "gateway-api" and "service_account" not in ingress.model_fields_set:
        account = f"{ingress.gateway}-{ingress.gateway_class}"  # Istio deploys <gateway>-<class>
    # istioctl's istio-ingressgateway (and the old istio-ingress chart) listen on 8080 and 8443 behind
    # Service ports 80 and 443; the gateway Helm chart and Gateway API gateways on the ports themselves
    classic = ingress.api == "istio" and dict(ingress.selector) == {"app": "istio-ingressgateway"}
    return Environment(
        gateway_principal=principal(ingress.namespace, account),
        gateway_ports={80: 8080, 443: 8443} if classic else {},
        service_labels=labels,
        root_namespace=spec.mesh.root_namespace,
        dataplane=spec.mesh.dataplane,
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
    except RecursionError:  # json.loads on '[[[[...'
        raise ConfigError(Problem("--claims is nested too deeply to be a token's claims")) from None
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
