"""Test support: how Envoy, configured by Istio, judges one request with meshauth's policies.

Only what meshauth renders is modelled, in Envoy's HTTP filter order at the ingress gateway and at a
sidecar (Istio 1.11 to 1.30): ext_authz (CUSTOM policies), then jwt_authn (RequestAuthentication),
then rbac (ALLOW). A request is a dict: ``host``, ``path``, ``headers`` (lowercase names), ``claims``
of its token, and optionally ``session``: the token oauth2-proxy puts into ``Authorization`` when the
request reaches it with a valid cookie. Tokens are ``Bearer <issuer>|<sub>|<aud,...>|<ok|bad>``
stand-ins instead of real JWTs. The simulation answers ``"ext_authz"`` (sent to oauth2-proxy, which
redirects to the login), ``401`` (token rejected), ``403`` (no ALLOW rule matched) or ``200``.
"""

from __future__ import annotations

from typing import Any, Optional


def token(issuer: str, sub: str, audiences: list[str], valid: bool = True) -> str:
    return f"Bearer {issuer}|{sub}|{','.join(audiences)}|{'ok' if valid else 'bad'}"


def _match(value: str, pattern: str) -> bool:
    if pattern == "*":
        return True
    if pattern.endswith("*"):
        return value.startswith(pattern[:-1])
    if pattern.startswith("*"):
        return value.endswith(pattern[1:])
    return value == pattern


def _any(value: Optional[str], patterns: list[str]) -> bool:
    return value is not None and any(_match(value, p) for p in patterns)


def _operation(op: dict, request: dict) -> bool:
    if "hosts" in op and not _any(request["host"], op["hosts"]):
        return False
    if "notHosts" in op and _any(request["host"], op["notHosts"]):
        return False
    if "paths" in op and not _any(request["path"], op["paths"]):
        return False
    if "notPaths" in op and _any(request["path"], op["notPaths"]):
        return False
    return True


def _condition(cond: dict, request: dict, auth: Optional[dict]) -> bool:
    key = cond["key"]
    if key.startswith("request.headers["):
        value = request["headers"].get(key[len("request.headers["):-1].lower())
    elif key == "request.auth.audiences":
        if auth is None:
            return False
        present = auth["aud"]
        return any(_any(a, cond.get("values", [])) for a in present) if "values" in cond else True
    elif key.startswith("request.auth.claims["):
        if auth is None:
            return False
        claim = auth["claims"].get(key[len("request.auth.claims["):-1])
        claims = claim if isinstance(claim, list) else [claim] if claim is not None else []
        return any(_any(c, cond["values"]) for c in claims)
    else:
        raise AssertionError(f"condition key not modelled: {key}")
    if "values" in cond and not _any(value, cond["values"]):
        return False
    if "notValues" in cond and _any(value, cond["notValues"]):
        return False
    return True


def _rule(rule: dict, request: dict, auth: Optional[dict]) -> bool:
    principal = f"{auth['iss']}/{auth['sub']}" if auth else None
    froms = rule.get("from") or []
    if froms and not any(_any(principal, f["source"].get("requestPrincipals", [])) for f in froms):
        return False
    tos = rule.get("to") or []
    if tos and not any(_operation(t["operation"], request) for t in tos):
        return False
    return all(_condition(c, request, auth) for c in rule.get("when") or [])


def _jwt(request: dict, authentications: list[dict]) -> tuple[bool, Optional[dict]]:
    """(accepted, auth): a missing token passes without auth; a bad one fails (401)."""
    header = request["headers"].get("authorization")
    if header is None or not header.startswith("Bearer "):
        return True, None
    issuer, sub, audiences, valid = header[len("Bearer "):].split("|")
    rules = [r for ra in authentications for r in ra["spec"]["jwtRules"] if r["issuer"] == issuer]
    aud = [a for a in audiences.split(",") if a]
    if valid != "ok" or not rules:
        return False, None
    if all(r.get("audiences") and not set(r["audiences"]) & set(aud) for r in rules):
        return False, None
    claims = dict(request.get("claims", {}))
    return True, {"iss": issuer, "sub": sub, "aud": aud, "claims": claims}


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
    accepted, auth = _jwt(request, [o for o in objects if o["kind"] == "RequestAuthentication" and applies(o)])
    if not accepted:
        return 401
    allows = [p for p in policies if p["spec"]["action"] == "ALLOW"]
    if allows and not any(_rule(r, request, auth) for p in allows for r in p["spec"]["rules"]):
        return 403
    return 200
