"""oauth2-proxy's side of a login, read from its Deployment's container (arguments and literal
``OAUTH2_PROXY_*`` variables): which flags it runs with, and why it would refuse an ID token."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from meshauth.compat.proxyflags import command_line, env_flag


def proxy_args(deployment: Mapping[str, Any]) -> dict[str, list[str]]:
    """oauth2-proxy's settings as its container states them: its arguments, then the
    ``OAUTH2_PROXY_*`` variables with a literal value for flags no argument sets (arguments win, as
    in oauth2-proxy). Settings from a Secret or a ``--config`` file are not known here."""
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    parsed: dict[str, list[str]] = {}
    for _, name, value in command_line([str(arg) for arg in container.get("args") or []]):
        if name is not None:
            parsed.setdefault(name, []).append(value)
    for variable in container.get("env") or []:
        flag = env_flag(str(variable.get("name") or ""))
        value = variable.get("value")
        if flag and isinstance(value, str) and flag not in parsed:
            parsed[flag] = [value]
    return parsed


def first_arg(args: Mapping[str, list[str]], name: str) -> str | None:
    values = args.get(name)
    return values[0] if values else None


def anonymous_answer(
    args: Mapping[str, list[str]], provider: Mapping[str, Any], call: Any
) -> tuple[int, str]:
    """oauth2-proxy's answer to a check without a session (``oauthproxy.go``, ``ErrNeedsLogin``):
    401 JSON with ``--force-json-errors``, for a request that accepts ``application/json`` (when the
    provider passes ``Accept`` on to the check) or on an ``--api-route``; else a redirect to the IdP
    with ``--skip-provider-button``, or its sign-in page with a 403 without it."""
    passed = {str(h).lower() for h in provider.get("includeRequestHeadersInCheck") or []}
    accept = str(call.headers.get("accept", "")) if "accept" in passed else ""
    if first_arg(args, "force-json-errors") == "true":
        return (
            401,
            "oauth2-proxy answers 401 (--force-json-errors) instead of redirecting to the identity provider",
        )
    if "application/json" in (t.strip() for t in accept.split(",")):
        return 401, "the request accepts application/json, so oauth2-proxy answers 401 instead of redirecting"
    if any(_api_route(route, call.path) for route in args.get("api-route", [])):
        return 401, "the path is an --api-route, so oauth2-proxy answers 401 instead of redirecting"
    if first_arg(args, "skip-provider-button") == "false" or (
        "skip-provider-button" not in args and "config" not in args
    ):
        return 403, "oauth2-proxy shows its sign-in page (403): --skip-provider-button is not set"
    return 302, "oauth2-proxy redirects to the identity provider (or answers its callback)"


def _api_route(pattern: str, path: str) -> bool:
    try:
        return re.search(pattern, path) is not None
    except re.error:
        return False


def login_refusal(token: Mapping[str, Any], args: Mapping[str, list[str]]) -> str | None:
    """Why oauth2-proxy would refuse this login (403/500), or None; from its flags."""
    issuer = first_arg(args, "oidc-issuer-url")  # None: set where this cannot see (a Secret, a file)
    if issuer is not None and token.get("iss") != issuer:
        return "the ID token's issuer is not --oidc-issuer-url"
    client = first_arg(args, "client-id")
    if client is not None and not {client, *args.get("oidc-extra-audience", [])} & _audiences(token):
        return "the ID token's audience is not the client id (or --oidc-extra-audience)"
    if (
        token.get("email_verified") is False
        and first_arg(args, "insecure-oidc-allow-unverified-email") != "true"
    ):
        return "the email address is not verified (email_verified: false)"
    email = token.get("email")
    domains = args.get("email-domain", [])
    if isinstance(email, str) and not any(_email_in(email, d) for d in domains):
        return f"--email-domain does not admit {email.rsplit('@', 1)[-1]}"
    groups = args.get("allowed-group")
    groups_claim = token.get("groups")
    user_groups: list[Any] = groups_claim if isinstance(groups_claim, list) else []
    if groups and not set(groups) & set(user_groups):
        return "--allowed-group: the user is in none of the allowed groups"
    return None


def _email_in(email: str, domain: str) -> bool:
    email, domain = email.lower(), domain.lower()
    if domain == "*":
        return True
    if domain.startswith(("*.", ".")):
        return email.rsplit("@", 1)[-1].endswith("." + domain.lstrip("*."))
    return email.endswith("@" + domain)


# --- authservice (istio-ecosystem/authservice) -------------------------------------------------------

AUTHSERVICE_CONFIG = "config.json"


def authservice_config(deployment: Mapping[str, Any], configmaps: list[Mapping[str, Any]]) -> Any:
    """authservice's JSON configuration: the ConfigMap mounted by the Deployment (None: not found;
    a ValueError when its ``config.json`` is not JSON)."""
    import json

    volumes = ((deployment.get("spec") or {}).get("template") or {}).get("spec", {}).get("volumes") or []
    names = [(v.get("configMap") or {}).get("name") for v in volumes if isinstance(v, Mapping)]
    for configmap in configmaps:
        if configmap["metadata"]["name"] in names:
            text = (configmap.get("data") or {}).get(AUTHSERVICE_CONFIG)
            if text is not None:
                return json.loads(text)
    return None


def authservice_chain(config: Mapping[str, Any], authority: str) -> Any:
    """The first filter chain whose ``match`` takes the ``:authority`` (authservice's order)."""
    for chain in config.get("chains") or []:
        if not isinstance(chain, Mapping):
            continue
        match = chain.get("match")
        if not match:
            return chain
        if match.get("header") != ":authority":
            continue
        if "equality" in match and authority == match["equality"]:
            return chain
        if "prefix" in match and authority.startswith(str(match["prefix"])):
            return chain
    return None


def oidc_of(chain: Mapping[str, Any]) -> Mapping[str, Any]:
    return next((f["oidc"] for f in chain.get("filters") or [] if isinstance(f, Mapping) and "oidc" in f), {})


def oidc_issuer(oidc: Mapping[str, Any]) -> str:
    uri = str(oidc.get("configuration_uri") or "")
    return uri.removesuffix("/.well-known/openid-configuration")


def authservice_refusal(token: Mapping[str, Any], oidc: Mapping[str, Any]) -> str | None:
    """Why authservice would refuse the ID token of a login (its issuer and audience), or None."""
    issuer = oidc_issuer(oidc)
    if not issuer or token.get("iss") != issuer:
        return "the ID token's issuer is not the chain's OIDC issuer (configuration_uri)"
    if oidc.get("client_id") not in _audiences(token):
        return "the ID token's audience is not the chain's client_id"
    return None


def _audiences(token: Mapping[str, Any]) -> set[str]:
    """The token's ``aud``: one string or a list of them (anything else names no audience)."""
    aud = token.get("aud")
    return {a for a in (aud if isinstance(aud, list) else [aud]) if isinstance(a, str)}
