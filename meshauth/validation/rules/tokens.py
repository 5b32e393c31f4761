"""Rules on the JWT checks: claims a policy can match, and audiences that accept oauth2-proxy's ID token."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from meshauth.authz import matcher as authz
from meshauth.k8s import mapping, sequence
from meshauth.validation.rules.facts import Facts, Hit
from meshauth.validation.rules.policyparts import conditions, rules_of
from meshauth.validation.rules.proxysettings import proxy_issuer, same_issuer, setting_values

# OIDC standard claims that are not strings (OpenID Connect Core 1.0, section 5.1 and 2).
NON_STRING_CLAIMS = frozenset(
    {"email_verified", "phone_number_verified", "exp", "iat", "nbf", "auth_time", "updated_at", "address"}
)


def string_claims_only(facts: Facts) -> Iterator[Hit]:
    """A `when` condition on `request.auth.claims[...]` names a claim that OIDC defines
    as a boolean, number or object (`email_verified`, `phone_number_verified`, `exp`, `iat`, `nbf`,
    `auth_time`, `updated_at`, `address`). Istio matches only string and string-list claims: the
    condition never matches, and the rule never lets anyone in.

    Fix: match a string claim (such as `email` or `hd`), or have oauth2-proxy check it.
    """
    for policy in facts.of_kind("AuthorizationPolicy"):
        for i, r in rules_of(policy):
            for j, condition in conditions(r):
                claim = _claim_name(str(condition.get("key", "")))
                if claim in NON_STRING_CLAIMS:
                    yield (
                        policy,
                        f"spec.rules[{i}].when[{j}].key",
                        (
                            f"claim {claim!r} is not a string in an OIDC token (a boolean or number); "
                            "Istio matches only string and string-list claims, so this condition never "
                            "matches and the rule never allows anyone. Match a string claim instead, "
                            "such as email or hd, or check it in oauth2-proxy"
                        ),
                    )


def audience_includes_client_id(facts: Facts) -> Iterator[Hit]:
    """oauth2-proxy passes the ID token on, and an ID token's audience is the client id
    (`--client-id`). A `RequestAuthentication` for oauth2-proxy's issuer lists `audiences` without it
    (401), or an ALLOW policy's `request.auth.audiences` conditions accept no value matching it (403,
    checked per policy: one rule accepting it is enough). Every logged-in request is rejected.

    Fix: add the client id to the audiences.
    """
    for proxy in facts.proxies:
        client = next((value for *_, value in setting_values(facts, proxy, "client-id")), None)
        if client is None:
            continue
        issuer = proxy_issuer(proxy)
        for ra in facts.of_kind("RequestAuthentication"):
            for i, jwt_rule in enumerate(sequence(mapping(ra.get("spec")).get("jwtRules"))):
                audiences = mapping(jwt_rule).get("audiences") if isinstance(jwt_rule, Mapping) else None
                issued = same_issuer(mapping(jwt_rule).get("issuer", "")) == issuer
                if audiences and issued and client not in map(str, audiences):
                    yield ra, f"spec.jwtRules[{i}].audiences", _audience_message(client)
        for policy in facts.of_kind("AuthorizationPolicy"):
            path = _audience_rule_without(policy, client)
            if path:
                yield policy, path, _audience_message(client)


def _claim_name(key: str) -> str | None:
    if not key.startswith("request.auth.claims["):
        return None
    parts = re.findall(r"\[([^\]]*)\]", key)
    return parts[-1] if parts else None


def _audience_message(client_id: str) -> str:
    return (
        f"the accepted audiences do not include oauth2-proxy's client id {client_id!r}, the "
        "audience of the ID token it passes on: every logged-in request is rejected (401 or "
        "403). Add the client id to the audiences"
    )


def _audience_rule_without(policy: Mapping[str, Any], client_id: str) -> str | None:
    """Path of an audience condition, when no audience condition of this policy accepts the id."""
    action = str(mapping(policy.get("spec")).get("action") or "ALLOW")
    key = "values" if action == "ALLOW" else "notValues" if action == "DENY" else None
    found = [
        (f"spec.rules[{i}].when[{j}].{key}", c.get(key))
        for i, r in rules_of(policy)
        for j, c in conditions(r)
        if key and c.get("key") == "request.auth.audiences" and key in c
    ]
    if found and not any(authz.any_matches(values, client_id) for _, values in found):
        return found[0][0]
    return None
