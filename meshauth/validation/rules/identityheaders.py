"""Rules on the identity headers an app trusts: a header the mesh fills from a verified token must
not also be one the client can send."""

from __future__ import annotations

from collections.abc import Iterator

from meshauth.authz.headers import removed_first
from meshauth.k8s import mapping, sequence
from meshauth.validation.rules.facts import Facts, Hit


def claim_headers_not_client_set(facts: Facts) -> Iterator[Hit]:
    """A RequestAuthentication copies a claim (`outputClaimToHeaders`) or the whole payload
    (`outputPayloadToHeader`) of a verified token into a header, but no
    EnvoyFilter removes a copy of that header the client sent before the gateway checks the
    request. Envoy's jwt_authn *adds* the verified value beside the client's copy (it does not
    replace it), and where the token lacks the claim, or the path needs no token, the client's copy
    alone reaches the app: an app that trusts the header is told who the user is by the user.
    Checked when the manifests include a Gateway.

    Fix: insert an HTTP filter first at the gateway (`INSERT_FIRST`) that removes the header, as the
    Lua EnvoyFilter `<name>-identity-headers` meshauth renders for `identity.claimHeaders` does. A
    route's `headers.request.remove` is no fix: the router applies it after jwt_authn, so it removes
    the verified value too.
    """
    if not facts.of_kind("Gateway"):
        return
    removed = {name for f in facts.of_kind("EnvoyFilter") for name in removed_first(f)}
    for policy in facts.of_kind("RequestAuthentication"):
        for i, rule in enumerate(sequence(mapping(policy.get("spec")).get("jwtRules"))):
            outputs = [
                (
                    f"spec.jwtRules[{i}].outputClaimToHeaders[{j}].header",
                    o.get("header"),
                    f"claim {o.get('claim')}",
                )
                for j, o in enumerate(map(mapping, sequence(mapping(rule).get("outputClaimToHeaders"))))
            ]
            outputs.append(
                (
                    f"spec.jwtRules[{i}].outputPayloadToHeader",
                    mapping(rule).get("outputPayloadToHeader"),
                    "payload",
                )
            )
            for path, header, what in outputs:
                if not isinstance(header, str) or not header or header.lower() in removed:
                    continue
                yield (
                    policy,
                    path,
                    (
                        f"header {header} is filled from the {what} of a verified token, but no "
                        "EnvoyFilter removes a copy the client sends first: Envoy adds the verified "
                        "value beside the client's, and where the token lacks it or no token is "
                        f"checked the client's value alone reaches the app. Remove {header} in an HTTP "
                        "filter inserted first at the gateway (INSERT_FIRST), as meshauth's "
                        "<name>-identity-headers EnvoyFilter does"
                    ),
                )
