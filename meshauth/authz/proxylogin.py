"""oauth2-proxy's side of a login, read from its Deployment's arguments: which flags it runs with,
and why it would refuse an ID token."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def proxy_args(deployment: Mapping[str, Any]) -> dict[str, list[str]]:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    parsed: dict[str, list[str]] = {}
    for arg in containers[0].get("args") or []:
        name, _, value = str(arg).removeprefix("--").partition("=")
        parsed.setdefault(name, []).append(value or "true")
    return parsed


def first_arg(args: Mapping[str, list[str]], name: str) -> str | None:
    values = args.get(name)
    return values[0] if values else None


def login_refusal(token: Mapping[str, Any], args: Mapping[str, list[str]]) -> str | None:
    """Why oauth2-proxy would refuse this login (403/500), or None; from its flags."""
    if token.get("iss") != first_arg(args, "oidc-issuer-url"):
        return "the ID token's issuer is not --oidc-issuer-url"
    aud = token.get("aud")
    audiences: list[Any] = aud if isinstance(aud, list) else [aud]
    if not {first_arg(args, "client-id"), *args.get("oidc-extra-audience", [])} & set(audiences):
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
