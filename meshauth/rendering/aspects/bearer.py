"""Machine-to-machine access: requests that bring their own token skip the browser login.

With ``identity.bearerTokens`` a request carrying ``Authorization: Bearer <JWT>`` is not sent to
oauth2-proxy: the CUSTOM login policy applies only to requests *without* such a header. Istio
forbids ``request.auth.*`` and ``requestPrincipals`` conditions in CUSTOM policies (ext_authz runs
before jwt_authn, so no token has been checked yet), but a ``request.headers[authorization]``
condition is allowed, and ``notValues: ["Bearer *"]`` is a case-sensitive prefix match on the
header, the same ``Bearer `` prefix from which Envoy's jwt_authn extracts the token.

What keeps this closed, filter by filter at the gateway (ext_authz, then jwt_authn, then rbac):

1. ext_authz (CUSTOM ``<name>-login``): skipped for ``Bearer`` requests, applied to everything else.
2. jwt_authn (RequestAuthentication ``<name>-jwt``): one jwtRule per issuer (the login's issuer and
   every extra issuer, each extra one limited to its audiences). A bearer token that is malformed,
   expired, badly signed or from an unknown issuer is answered 401 here.
3. rbac (ALLOW ``<name>-access``): app hosts need a token of the login's issuer for the apps'
   audiences, or a token of an extra issuer for that issuer's audiences (rules tied to the issuer
   by ``requestPrincipals: ["<iss>/*"]``). A request that skipped the login but carries no valid
   token has no principal and is denied 403.

At each app's sidecar the forwarded token is checked again, and the app's ALLOW policy admits
machine principals (``<iss>/<sub>`` of an extra issuer) only when listed in
``authorization.principals``, with that issuer's audiences.

oauth2-proxy gets ``--skip-jwt-bearer-tokens`` and ``--extra-jwt-issuers=<iss>=<aud>`` as well, so
that a bearer request that reaches it anyway (another spelling of the header) is judged by the same
issuers and audiences instead of being sent to a login page. It fetches each extra issuer's
discovery document at startup, so each must serve ``/.well-known/openid-configuration``.

Headers oauth2-proxy sets on allow (``x-auth-request-*``) are not set for requests that skip it;
the copies a client sends are removed at the gateway (:mod:`~meshauth.rendering.shapes.identityheaders`).
With bearer tokens on, apps read identity from the forwarded JWT or the ``claimHeaders``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from meshauth.config.model import Spec

AUTHORIZATION_HEADER = "request.headers[authorization]"
BEARER_PREFIX = "Bearer *"


def enabled(spec: Spec) -> bool:
    return spec.identity.bearer_tokens is not None


def flags(spec: Spec) -> list[tuple[str, Any]]:
    if not enabled(spec):
        return []
    assert spec.identity.bearer_tokens is not None
    pairs = [
        ("extra-jwt-issuers", f"{extra.issuer}={audience}")
        for extra in spec.identity.bearer_tokens.extra_issuers
        for audience in extra.audiences
    ]
    return [("skip-jwt-bearer-tokens", True), *pairs]


def jwt_rules(spec: Spec) -> list[dict[str, Any]]:
    """RequestAuthentication jwtRules: the login's issuer, then each extra issuer with audiences."""
    identity = spec.identity
    rules: list[dict[str, Any]] = [
        {"issuer": identity.issuer_url, "jwks_uri": identity.jwks_uri, "audiences": []}
    ]
    for extra in identity.bearer_tokens.extra_issuers if identity.bearer_tokens else ():
        rules.append({"issuer": extra.issuer, "jwks_uri": extra.jwks_uri, "audiences": list(extra.audiences)})
    return rules


def login_conditions(spec: Spec) -> list[dict[str, Any]]:
    """``when`` of the CUSTOM login rules: only requests without a bearer token go to oauth2-proxy."""
    if not enabled(spec):
        return []
    return [{"key": AUTHORIZATION_HEADER, "not_values": [BEARER_PREFIX]}]


def gateway_token_rules(spec: Spec, audiences: list[str]) -> list[dict[str, Any]]:
    """Gateway ALLOW rules for tokens: per issuer, its principals and the audiences it may carry.

    Without extra issuers this is the single audience rule it always was (no principal condition).
    """
    identity = spec.identity
    extras = identity.bearer_tokens.extra_issuers if identity.bearer_tokens else []
    if not extras:
        return [{"principals": None, "audiences": audiences}]
    return [
        {"principals": [f"{identity.issuer_url}/*"], "audiences": audiences},
        *({"principals": [f"{e.issuer}/*"], "audiences": list(e.audiences)} for e in extras),
    ]


def issuer_of(spec: Spec, principal: str) -> str | None:
    """The accepted issuer a principal (``<iss>/<sub>``) names: the longest that prefixes it."""
    matching = [i for i in spec.identity.issuers() if principal.startswith(i + "/")]
    return max(matching, key=len) if matching else None


def audiences_of(spec: Spec, issuer: str) -> list[str] | None:
    """An extra issuer's audiences; None for the login's issuer (the app's audiences apply)."""
    identity = spec.identity
    for extra in identity.bearer_tokens.extra_issuers if identity.bearer_tokens else ():
        if extra.issuer == issuer:
            return list(extra.audiences)
    return None


def split_principals(spec: Spec, principals: list[str]) -> tuple[list[str], dict[str, list[str]]]:
    """(principals of the login's issuer, {extra issuer: its principals}), in the given order."""
    users: list[str] = []
    machines: dict[str, list[str]] = {}
    for principal in principals:
        issuer = issuer_of(spec, principal)
        if issuer is not None and audiences_of(spec, issuer) is not None:
            machines.setdefault(issuer, []).append(principal)
        else:
            users.append(principal)
    return users, machines


def machine_rules(spec: Spec, machines: dict[str, list[str]]) -> list[dict[str, Any]]:
    """App ALLOW rules for machine principals: their issuer's audiences, not the app's claims."""
    return [
        {
            "principals": principals,
            "when": [{"key": "request.auth.audiences", "values": audiences_of(spec, issuer)}],
        }
        for issuer, principals in machines.items()
    ]
