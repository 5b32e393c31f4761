"""Import, oauth2-proxy side: the identity provider (``spec.identity``) from its flags and the
gateway's JWT rules.

The client id is copied wherever it is found: it is not a secret (RFC 6749 section 2.2; it is in
every login redirect, and meshauth passes it as a flag).
"""

from __future__ import annotations

import re
from typing import Any

from meshauth.config.presets import PRESETS
from meshauth.importer.context import Context, strings
from meshauth.importer.flagsources import Flag, flag_value, flag_values
from meshauth.importer.proxy import Proxy
from meshauth.importer.sources import Source, unresolved
from meshauth.k8s import spec_of

CLIENT_ID_PLACEHOLDER = "REPLACE-WITH-YOUR-CLIENT-ID"


def identity_section(ctx: Context, proxy: Proxy, gateway_policies: list[Source]) -> dict[str, Any]:
    flags = proxy.flags
    rules = [r for p in gateway_policies for r in spec_of(p.obj).get("jwtRules") or [] if isinstance(r, dict)]
    provider = flag_value(flags, "provider") or "google"
    issuer = flag_value(flags, "oidc-issuer-url") or (rules[0].get("issuer") if rules else None)
    if issuer is None and provider == "google":
        issuer = "https://accounts.google.com"
    jwks = next((r.get("jwksUri") for r in rules if r.get("issuer") == issuer and r.get("jwksUri")), None)
    for rule in rules:
        if rule.get("issuer") != issuer:
            ctx.warn(
                f"JWT issuer {rule.get('issuer')!r} differs from oauth2-proxy's {issuer!r}: "
                "meshauth checks the tokens of identity.issuerUrl only",
                gateway_policies[0],
            )
    identity = identity_preset(str(issuer or ""), jwks, provider)
    if issuer is None:
        ctx.error(
            "no OIDC issuer found (oauth2-proxy --oidc-issuer-url, or a RequestAuthentication "
            "at the gateway): set identity.issuerUrl",
            path="spec.identity.issuerUrl",
        )
    elif "jwksUri" not in identity and PRESETS[identity["preset"]].jwks is None:
        ctx.warn(
            f"no jwksUri found for {issuer}: set identity.jwksUri to the jwks_uri of "
            f"{issuer.rstrip('/')}/.well-known/openid-configuration",
            path="spec.identity.jwksUri",
        )
        identity["jwksUri"] = issuer.rstrip("/") + "/.well-known/jwks.json"
    identity["clientId"] = _client_id(ctx, proxy, rules)
    bearer = _bearer_tokens(ctx, proxy, rules)
    if bearer is not None:
        identity["bearerTokens"] = bearer
    _claim_headers_not_carried(ctx, gateway_policies)
    scope = flag_value(flags, "scope")
    if scope and scope.replace(",", " ").split() != ["openid", "email", "profile"]:
        identity["scopes"] = scope.replace(",", " ").split()
    return identity


def _bearer_tokens(ctx: Context, proxy: Proxy, rules: list[dict[str, Any]]) -> dict[str, Any] | None:
    """``--skip-jwt-bearer-tokens`` (wherever it is set: args, env, a ConfigMap) -> bearerTokens,
    with ``--extra-jwt-issuers issuer=audience`` whose keys a RequestAuthentication names."""
    if (flag_value(proxy.flags, "skip-jwt-bearer-tokens") or "").lower() != "true":
        return None
    extra: list[dict[str, Any]] = []
    for entry in flag_values(proxy.flags, "extra-jwt-issuers"):
        issuer, _, audience = entry.partition("=")
        jwks = next((r.get("jwksUri") for r in rules if r.get("issuer") == issuer and r.get("jwksUri")), None)
        if not (issuer and audience and jwks):
            ctx.warn(
                f"--extra-jwt-issuers {entry}: not imported (needs issuer=audience and a "
                "RequestAuthentication at the gateway with that issuer's jwksUri); add it to "
                "identity.bearerTokens.extraIssuers",
                proxy.source,
                "spec.identity.bearerTokens.extraIssuers",
            )
            continue
        extra.append({"issuer": issuer, "jwksUri": jwks, "audiences": [audience]})
    return {"extraIssuers": extra} if extra else {}


def _claim_headers_not_carried(ctx: Context, gateway_policies: list[Source]) -> None:
    for policy in gateway_policies:
        for index, rule in enumerate(spec_of(policy.obj).get("jwtRules") or []):
            headers = rule.get("outputClaimToHeaders") if isinstance(rule, dict) else None
            if headers:
                pairs = ", ".join(
                    f"{h.get('claim')} -> {h.get('header')}" for h in headers if isinstance(h, dict)
                )
                ctx.keep(policy)
                ctx.warn(
                    f"outputClaimToHeaders ({pairs}) is not carried over: meshauth's "
                    "RequestAuthentication does not copy claims into headers, and apps that read "
                    "those headers see none; keep a RequestAuthentication of your own for them",
                    policy,
                    f"spec.jwtRules[{index}].outputClaimToHeaders",
                )


def identity_preset(issuer: str, jwks: str | None, provider: str) -> dict[str, Any]:
    """The preset that fixes or derives what the manifests say, and only what it cannot."""
    azure = re.match(r"^https://login\.microsoftonline\.com/([^/]+)/v2\.0/?$", issuer)
    if azure and (jwks is None or jwks == PRESETS["azure"].jwks_for(issuer, azure.group(1))):
        return {"preset": "azure", "tenant": azure.group(1)}
    hints = [
        ("keycloak", "/realms/" in issuer or provider == "keycloak-oidc"),
        ("okta", "okta" in issuer),
        ("auth0", "auth0.com" in issuer),
        ("dex", "dex" in issuer),
    ]
    for name in ("google", "gitlab"):
        if issuer == PRESETS[name].issuer and jwks in (None, PRESETS[name].jwks_for(issuer, None)):
            return {"preset": name}
    for name, hint in hints:
        if hint and jwks in (None, PRESETS[name].jwks_for(issuer, None)):
            return {"preset": name, "issuerUrl": issuer}
    return {"preset": "generic", "issuerUrl": issuer, **({"jwksUri": jwks} if jwks else {})}


def _client_id(ctx: Context, proxy: Proxy, rules: list[dict[str, Any]]) -> str:
    flag = proxy.flags.get("client-id", Flag())
    if flag.values and not unresolved(flag.values[-1]):
        return flag.values[-1]
    audiences = [a for r in rules for a in strings(r.get("audiences"))]
    if len(set(audiences)) == 1:
        return audiences[0]
    where = f"Secret {flag.secret_ref[0]}, key {flag.secret_ref[1]}" if flag.secret_ref else "--client-id"
    ctx.warn(
        f"the OIDC client id is not in your manifests ({where}): set identity.clientId "
        f"(now {CLIENT_ID_PLACEHOLDER})",
        proxy.source,
        "spec.identity.clientId",
    )
    return CLIENT_ID_PLACEHOLDER
