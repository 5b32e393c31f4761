"""Every cross-resource rule, listed once: its ID, severity, theme, title and check; and running them.

A rule catches what the cluster would accept but get wrong at runtime. It reads
:class:`meshauth.validation.rules.facts.Facts` (objects, mesh configuration, target versions) and
yields a :data:`~meshauth.validation.rules.facts.Hit` ``(object, path, message)`` for every
problem; the message says what breaks at runtime and how to fix it, and never shows a secret.
Rules work on what meshauth renders and on manifests written by hand alike, and stay silent when
the manifests do not tell enough to judge. The checks live in one module per theme; this list is
the order findings come in. Each check's docstring says what breaks at runtime and, in a last
paragraph ``Fix: ...``, how to fix it: :mod:`meshauth.validation.rulesdoc` writes docs/rules.md from
them (with the warnings of :mod:`meshauth.validation.rules.renderwarnings`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from meshauth.files.manifests import MeshSource, mesh_source
from meshauth.findings import Finding, Severity, object_ref
from meshauth.validation.rules import (
    certificates,
    gateways,
    identityheaders,
    login,
    meshfields,
    mtls,
    objectsize,
    provider,
    proxy,
    sessions,
    targetversions,
    tokens,
    topology,
)
from meshauth.validation.rules.facts import Facts, Hit

Check = Callable[[Facts], Iterable[Hit]]


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    theme: str  # the module the check lives in
    title: str  # one line: the problem the rule finds
    check: Check


# fmt: off
RULES: list[Rule] = [
    Rule("MA001", "error", "provider", "a CUSTOM policy names a provider that no mesh config defines", provider.custom_provider_defined),
    Rule("MA002", "error", "provider", "an extension provider name is not a lowercase DNS label", provider.provider_name_is_dns_label),
    Rule("MA003", "error", "certificates", "an ACME HTTP-01 issuer while login is enforced on the challenge path", certificates.acme_challenge_not_behind_login),
    Rule("MA004", "error", "sessions", "an app host is outside oauth2-proxy's whitelist or cookie domains", sessions.hosts_within_proxy_domains),
    Rule("MA005", "error", "sessions", "oauth2-proxy cookie-refresh is not below cookie-expire", sessions.refresh_below_expire),
    Rule("MA006", "error", "sessions", "a known cookie secret is not 16, 24 or 32 bytes", sessions.cookie_secret_length),
    Rule("MA007", "error", "tokens", "a policy matches a claim that is not a string", tokens.string_claims_only),
    Rule("MA008", "error", "login", "a CUSTOM policy uses identity fields that CUSTOM cannot evaluate", login.custom_without_identity),
    Rule("MA009", "error", "tokens", "the audience check does not accept the OIDC client id", tokens.audience_includes_client_id),
    Rule("MA010", "error", "gateways", "a VirtualService host or a Gateway credential has nothing behind it", gateways.gateway_hosts_and_credentials),
    Rule("MA011", "error", "provider", "the provider's service or port does not reach the oauth2-proxy Service", provider.provider_reaches_proxy),
    Rule("MA012", "error", "provider", "the provider does not pass the cookie or the Set-Cookie headers", provider.provider_passes_cookies),
    Rule("MA013", "error", "proxy", "oauth2-proxy does not answer the check with 200 where Envoy calls it", proxy.proxy_answers_200),
    Rule("MA014", "error", "targetversions", "an apiVersion or field the target Istio or Kubernetes version lacks", targetversions.available_in_target_versions),
    Rule("MA015", "error", "proxy", "an oauth2-proxy flag that the chosen release does not have", proxy.proxy_flags_exist),
    Rule("MA016", "error", "mtls", "STRICT mTLS while a namespace with meshauth workloads has no sidecars", mtls.strict_mtls_needs_sidecars),
    Rule("MA017", "error", "login", "a path excluded from the login that an ALLOW policy then denies", login.open_paths_allowed),
    Rule("MA018", "warning", "sessions", "oauth2-proxy's cookie-refresh is not shorter than the ID token's lifetime", sessions.refresh_before_token_expiry),
    Rule("MA020", "error", "meshfields", "a mesh config field Istio's MeshConfig does not have there in the target release", meshfields.known_mesh_fields),
    Rule("MA021", "warning", "identityheaders", "a header filled from a token's claim is one the client can also send", identityheaders.claim_headers_not_client_set),
    Rule("MA070", "error", "topology", "an L7 policy is left to ztunnel in an ambient namespace", topology.l7_policy_at_ztunnel),
    Rule("MA071", "error", "topology", "a policy targets a Service or waypoint no waypoint enforces", topology.target_without_waypoint),
    Rule("MA072", "warning", "topology", "a policy targets a Gateway the bundle does not render", topology.target_gateway_missing),
    Rule("MA073", "error", "topology", "an HTTPRoute names a listener that does not accept it", topology.route_not_admitted),
    Rule("MA074", "warning", "topology", "a policy's selector matches no workload in its namespace", topology.selector_matches_a_workload),
    Rule("MA080", "error", "objectsize", "an object is larger than the API server stores (1.5 MiB)", objectsize.object_over_api_limit),
    Rule("MA081", "warning", "objectsize", "an object is too large for a client-side kubectl apply (256 KiB)", objectsize.object_over_last_applied_limit),
]
# fmt: on


def check(
    objects: Iterable[Mapping[str, Any]],
    mesh: None | Mapping[str, Any] | Sequence[MeshSource] = None,
    *,
    istio_version: tuple[int, int] | None = None,
    kubernetes_version: tuple[int, int] | None = None,
) -> list[Finding]:
    """Every rule's findings on plain objects (the tests' entry; ``meshauth.validate`` calls
    :func:`run` with the file each object came from). ``mesh``: mesh sources, or one
    IstioOperator/istiod values/ConfigMap."""
    if isinstance(mesh, Mapping):
        mesh = [s for s in (mesh_source(mesh),) if s is not None]
    facts = Facts(list(objects), tuple(mesh or ()), istio_version, kubernetes_version)
    return run(facts, {})


def internal_error(rule_id: str, error: BaseException) -> Finding:
    """The finding for a rule that raised: an error (the run fails), never a skipped check."""
    return Finding(
        rule_id,
        "error",
        f"internal error: rule {rule_id} raised {type(error).__name__} on these manifests, so they "
        "were not checked by it. This is a bug in meshauth; please report it with the manifests",
    )


def run(facts: Facts, files: Mapping[int, str]) -> list[Finding]:
    """Every rule's findings on ``facts``, in the order of :data:`RULES`; ``files``: by id(object)."""
    labels = {id(s.document): (s.label, s.file) for s in facts.mesh}
    findings = []
    for r in RULES:
        try:
            hits = list(r.check(facts))
        except Exception as error:  # noqa: BLE001 - a rule that raises must fail the run, never hide
            findings.append(internal_error(r.id, error))
            continue
        for obj, path, message in hits:
            label, file = labels.get(id(obj), (object_ref(obj) if obj else "", files.get(id(obj), "")))
            findings.append(Finding(r.id, r.severity, message, object=label, path=path, file=file))
    return findings
