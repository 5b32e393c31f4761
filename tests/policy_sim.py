"""Test support: how Envoy, configured by Istio, judges one request with meshauth's policies.

Only what meshauth renders is modelled, in Envoy's HTTP filter order at the ingress gateway and at a
sidecar (Istio 1.11 to 1.30): ext_authz (CUSTOM policies), then jwt_authn (RequestAuthentication),
then rbac (ALLOW). A request is a dict: ``host``, ``path``, ``headers`` (lowercase names), ``claims``
of its token, and optionally ``session``: the token oauth2-proxy puts into ``Authorization`` when the
request reaches it with a valid cookie. Tokens are ``Bearer <issuer>|<sub>|<aud,...>|<ok|bad>``
stand-ins instead of real JWTs. The simulation answers ``"ext_authz"`` (sent to oauth2-proxy, which
redirects to the login), ``401`` (token rejected), ``403`` (no ALLOW rule matched) or ``200``.
Whether a rule matches is decided by :mod:`meshauth.authz.matcher`, the evaluator ``simulate`` uses.
"""

from __future__ import annotations

from typing import Any

from meshauth.authz import matcher as authz
from meshauth.authz.matcher import Call, Identity


def token(issuer: str, sub: str, audiences: list[str], valid: bool = True) -> str:
    return f"Bearer {issuer}|{sub}|{','.join(audiences)}|{'ok' if valid else 'bad'}"


def _rule(rule: dict, request: dict, auth: Identity | None) -> bool:
    """Matched by meshauth.authz.matcher, the evaluator simulate uses, at port 443 without a mesh peer."""
    call = Call(request["host"], request["path"], "GET", 443, auth=auth, headers=request["headers"])
    return authz.rule_matches(rule, call) is True


def _jwt(request: dict, authentications: list[dict]) -> tuple[bool, Identity | None]:
    """(accepted, auth): a missing token passes without auth; a bad one fails (401)."""
    header = request["headers"].get("authorization")
    if header is None or not header.startswith("Bearer "):
        return True, None
    issuer, sub, audiences, valid = header[len("Bearer ") :].split("|")
    rules = [r for ra in authentications for r in ra["spec"]["jwtRules"] if r["issuer"] == issuer]
    aud = [a for a in audiences.split(",") if a]
    if valid != "ok" or not rules:
        return False, None
    if all(r.get("audiences") and not set(r["audiences"]) & set(aud) for r in rules):
        return False, None
    return True, Identity(f"{issuer}/{sub}", tuple(aud), dict(request.get("claims", {})))


def judge(objects: list[dict], selector_of: dict, request: dict) -> Any:
    """The answer of the workload whose pods carry ``selector_of`` labels."""

    def applies(obj: dict) -> bool:
        labels = (obj["spec"].get("selector") or {}).get("matchLabels") or {}
        return all(selector_of.get(k) == v for k, v in labels.items())

    policies = [o for o in objects if o["kind"] == "AuthorizationPolicy" and applies(o)]
    custom = [p for p in policies if p["spec"]["action"] == "CUSTOM"]
    if any(_rule(r, request, None) for p in custom for r in p["spec"]["rules"]):
        if not request.get("session"):
            return "ext_authz"  # oauth2-proxy answers: a redirect to the login
        # a logged-in browser: oauth2-proxy allows and puts its ID token into Authorization
        request = {**request, "headers": {**request["headers"], "authorization": request["session"]}}
    accepted, auth = _jwt(
        request, [o for o in objects if o["kind"] == "RequestAuthentication" and applies(o)]
    )
    if not accepted:
        return 401
    allows = [p for p in policies if p["spec"]["action"] == "ALLOW"]
    if allows and not any(_rule(r, request, auth) for p in allows for r in p["spec"]["rules"]):
        return 403
    return 200
