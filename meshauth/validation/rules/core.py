"""Cross-resource rules: what the cluster would accept but get wrong at runtime.

One small function per rule, registered with its ID, severity and summary (docs/rules.md has an
entry for each). A rule reads :class:`meshauth.validation.rules.facts.Facts` (objects, mesh configuration, target
versions) and yields ``(object, path, message)`` for every problem; the message says what breaks
at runtime and how to fix it, and never shows a secret. Rules work on what meshauth renders and on
manifests written by hand alike, and stay silent when the manifests do not tell enough to judge.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from meshauth.authz import matcher as authz
from meshauth.authz.matcher import Request
from meshauth.compat import proxyflags, versions
from meshauth.config.fieldtypes import duration_seconds
from meshauth.config.presets import PRESETS
from meshauth.files.manifests import MeshSource, mesh_source
from meshauth.findings import Finding, Severity, object_ref
from meshauth.k8s import ID_TOKEN_LIFETIME
from meshauth.validation.rules.facts import (
    Facts,
    Proxy,
    Workload,
    mapping,
    name_of,
    namespace_of,
    pod_template,
)
from meshauth.validation.schemas.kubernetes import core_validator

Hit = tuple[Mapping[str, Any] | None, str, str]
Check = Callable[[Facts], Iterable[Hit]]

ACME_DIR = "/.well-known/acme-challenge/"  # served by cert-manager's solver, never by an app
ACME_PROBE = ACME_DIR + "probe-token"
ANY_HOST = "any-host.invalid"  # a probe for policies that match every host
GOOGLE_ISSUER = "https://accounts.google.com"
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
# OIDC standard claims that are not strings (OpenID Connect Core 1.0, section 5.1 and 2).
NON_STRING_CLAIMS = frozenset(
    {"email_verified", "phone_number_verified", "exp", "iat", "nbf", "auth_time", "updated_at", "address"}
)
_IDENTITY_SOURCE_FIELDS = (
    "principals",
    "notPrincipals",
    "requestPrincipals",
    "notRequestPrincipals",
    "namespaces",
    "notNamespaces",
)
_IDENTITY_CONDITIONS = ("request.auth.", "source.principal", "source.namespace")
COOKIE_SECRET_KEYS = ("cookie-secret", "cookie_secret", "cookieSecret", "OAUTH2_PROXY_COOKIE_SECRET")


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    summary: str
    check: Check


RULES: list[Rule] = []


def rule(id: str, severity: Severity, summary: str) -> Callable[[Check], Check]:
    def register(check: Check) -> Check:
        RULES.append(Rule(id, severity, summary, check))
        return check

    return register


def check(
    objects: Iterable[Mapping[str, Any]],
    mesh: None | Mapping[str, Any] | Sequence[MeshSource] = None,
    *,
    istio_version: tuple[int, int] | None = None,
    kubernetes_version: tuple[int, int] | None = None,
    files: Mapping[int, str] | None = None,
) -> list[Finding]:
    """Every rule's findings. ``mesh``: mesh sources, or one IstioOperator/istiod values/ConfigMap."""
    if isinstance(mesh, Mapping):
        mesh = [s for s in (mesh_source(mesh),) if s is not None]
    facts = Facts(list(objects), tuple(mesh or ()), istio_version, kubernetes_version)
    return run(facts, files or {})


def run(facts: Facts, files: Mapping[int, str]) -> list[Finding]:
    labels = {id(s.document): (s.label, s.file) for s in facts.mesh}
    findings = []
    for r in RULES:
        try:
            hits = list(r.check(facts))
        except (AttributeError, TypeError, ValueError, KeyError, IndexError) as error:
            # a shape no schema allows (reported as a schema finding): say this rule could not judge
            findings.append(
                Finding(
                    r.id,
                    "warning",
                    f"not checked: the manifests have a malformed "
                    f"field this rule reads ({type(error).__name__}); fix the schema errors first",
                )
            )
            continue
        for obj, path, message in hits:
            label, file = labels.get(id(obj), (object_ref(obj) if obj else "", files.get(id(obj), "")))
            findings.append(Finding(r.id, r.severity, message, object=label, path=path, file=file))
    return findings


# --- helpers shared by rules ---------------------------------------------------------------------


def custom_policies(facts: Facts) -> Iterator[Mapping[str, Any]]:
    for policy in facts.of_kind("AuthorizationPolicy"):
        if (policy.get("spec") or {}).get("action") == "CUSTOM":
            yield policy


def provider_name(policy: Mapping[str, Any]) -> str:
    return str(((policy.get("spec") or {}).get("provider") or {}).get("name", ""))


def rules_of(policy: Mapping[str, Any]) -> list[tuple[int, Mapping[str, Any]]]:
    rules = (policy.get("spec") or {}).get("rules")
    return [(i, r) for i, r in enumerate(rules if isinstance(rules, list) else []) if isinstance(r, Mapping)]


def operations(rule_: Mapping[str, Any]) -> Iterator[tuple[int, Mapping[str, Any]]]:
    for i, entry in enumerate(rule_.get("to") or []):
        if isinstance(entry, Mapping) and isinstance(entry.get("operation"), Mapping):
            yield i, entry["operation"]


def conditions(rule_: Mapping[str, Any]) -> Iterator[tuple[int, Mapping[str, Any]]]:
    for i, condition in enumerate(rule_.get("when") or []):
        if isinstance(condition, Mapping):
            yield i, condition


def plain_host(pattern: str) -> str | None:
    """A concrete host from a policy or Gateway host pattern (``app.example.com:*`` -> app...)."""
    host = pattern.split("/")[-1].split(":")[0].lower()
    if host.startswith("*."):
        host = "probe" + host[1:]
    return host if host and "*" not in host else None


def probe_path(pattern: str) -> str | None:
    """A request path that an Istio path pattern matches."""
    if pattern == "*" or "{" in pattern:
        return None
    if pattern.endswith("*"):
        return pattern[:-1] + "probe"
    if pattern.startswith("*"):
        return "/probe" + pattern[1:]
    return pattern


def custom_hosts(facts: Facts, policy: Mapping[str, Any]) -> list[str]:
    """The hosts a CUSTOM policy sends to its provider (all routed hosts when it names none)."""
    hosts: list[str] = []
    for _, r in rules_of(policy):
        ops = [op for _, op in operations(r)]
        if not ops or any("hosts" not in op for op in ops):
            hosts += routed_hosts(facts)
        for op in ops:
            hosts += [h for h in map(plain_host, map(str, op.get("hosts") or [])) if h]
    return list(dict.fromkeys(hosts))


def routed_hosts(facts: Facts) -> list[str]:
    """Hosts that reach the gateway: VirtualServices bound to one, and the Gateways' servers."""
    hosts = []
    for vs in facts.of_kind("VirtualService"):
        spec = vs.get("spec") or {}
        if any(g != "mesh" for g in spec.get("gateways") or []):
            hosts += [h for h in map(plain_host, map(str, spec.get("hosts") or [])) if h]
    for gateway in facts.of_kind("Gateway"):
        for server in (gateway.get("spec") or {}).get("servers") or []:
            entries = server.get("hosts") if isinstance(server, Mapping) else None
            hosts += [h for h in map(plain_host, map(str, entries or [])) if h and not h.startswith("probe.")]
    return list(dict.fromkeys(hosts))


def proxy_for(facts: Facts, provider: str) -> Proxy | None:
    """The oauth2-proxy a provider name reaches (the only one, when the mesh config is unknown)."""
    for p in facts.providers:
        if p.name == provider and p.ext_authz:
            service = facts.service_for(str(p.ext_authz[1].get("service", "")))
            for proxy in facts.proxies:
                selector = ((service or {}).get("spec") or {}).get("selector") or {}
                if (
                    service
                    and namespace_of(service) == proxy.namespace
                    and selector
                    and all(proxy.pod_labels.get(k) == v for k, v in selector.items())
                ):
                    return proxy
    return facts.proxies[0] if len(facts.proxies) == 1 else None


def flag_path(proxy: Proxy, name: str) -> str:
    flag = proxy.last(name)
    return flag.path if flag else f"{proxy.container_path}.args"


def proxy_issuer(proxy: Proxy) -> str | None:
    flag = proxy.last("oidc-issuer-url")
    if flag:
        return same_issuer(flag.value)
    provider = proxy.last("provider")
    return same_issuer(GOOGLE_ISSUER) if provider and provider.value == "google" else None


def same_issuer(issuer: Any) -> str:
    """An issuer as compared here: without scheme or trailing slash (Google's tokens say either
    ``accounts.google.com`` or ``https://accounts.google.com``)."""
    return str(issuer).split("://", 1)[-1].rstrip("/")


def gateway_applied(facts: Facts, action: str) -> Iterator[tuple[Workload, Mapping[str, Any]]]:
    for workload in facts.gateway_workloads:
        for policy, verdict in facts.policies(action, workload):
            if verdict is True:
                yield workload, policy


# --- the rules -----------------------------------------------------------------------------------


@rule("MA001", "error", "a CUSTOM policy names a provider that no mesh config defines")
def _custom_provider_defined(facts: Facts) -> Iterator[Hit]:
    if not facts.mesh_known:
        return
    names = {p.name for p in facts.providers}
    for policy in custom_policies(facts):
        name = provider_name(policy)
        if name not in names:
            yield (
                policy,
                "spec.provider.name",
                (
                    f"provider {name!r} is not an extension provider of the mesh config "
                    f"(defined: {', '.join(sorted(names)) or 'none'}); Istio denies every "
                    "request this policy matches. Add the provider to meshConfig.extensionProviders "
                    "or fix the name"
                ),
            )


@rule("MA002", "error", "an extension provider name is not a lowercase DNS label")
def _provider_name_is_dns_label(facts: Facts) -> Iterator[Hit]:
    why = (
        "is not a lowercase DNS label (a-z, 0-9 and '-', at most 63 characters); from Istio 1.30 "
        "such a provider is invalid and every request a CUSTOM policy sends to it is denied. "
        "Rename it, such as 'oauth2-proxy', in meshConfig.extensionProviders and in every CUSTOM "
        "policy's provider.name"
    )
    for provider in facts.providers:
        if not _DNS_LABEL.match(provider.name):
            yield provider.source.document, f"{provider.path}.name", f"provider name {provider.name!r} {why}"
    defined = {p.name for p in facts.providers}
    for policy in custom_policies(facts):
        name = provider_name(policy)
        if name and name not in defined and not _DNS_LABEL.match(name):
            yield policy, "spec.provider.name", f"provider name {name!r} {why}"


@rule("MA003", "error", "an ACME HTTP-01 issuer while login is enforced on the challenge path")
def _acme_challenge_not_behind_login(facts: Facts) -> Iterator[Hit]:
    issuers = [i for i in facts.of_kind("Issuer", "ClusterIssuer") if _http01(i)]
    if not issuers:
        return
    hosts = [h for i in issuers for h in _certificate_hosts(facts, i)] or routed_hosts(facts)
    for _, policy in gateway_applied(facts, "CUSTOM"):
        probes = hosts or custom_hosts(facts, policy) or [ANY_HOST]
        host = next((h for h in probes if facts.matches(policy, Request(h, ACME_PROBE))), None)
        if host:
            issuer = issuers[0]
            shown = "every host's " if host == ANY_HOST else host
            yield (
                policy,
                "spec.rules",
                (
                    f"sends {shown}/.well-known/acme-challenge/ to the login, but {issuer['kind']} "
                    f"{name_of(issuer)} solves ACME HTTP-01 challenges: Let's Encrypt cannot fetch the "
                    "token, so issuing and renewing the certificate fails. Add notPaths: "
                    "[/.well-known/acme-challenge/*] to the policy's operations, or use a DNS-01 solver"
                ),
            )


@rule("MA004", "error", "an app host is outside oauth2-proxy's whitelist or cookie domains")
def _hosts_within_proxy_domains(facts: Facts) -> Iterator[Hit]:
    for policy in custom_policies(facts):
        proxy = proxy_for(facts, provider_name(policy))
        if proxy is None:
            continue
        cookie_domains, whitelist = proxy.values("cookie-domain"), proxy.values("whitelist-domain")
        exact = {d.split(":")[0].lstrip(".") for d in whitelist}
        parents = [d.split(":")[0].lstrip(".") for d in whitelist if d.startswith(".")]
        for host in custom_hosts(facts, policy):
            if cookie_domains and not host.endswith(tuple(cookie_domains)):
                yield (
                    proxy.workload,
                    flag_path(proxy, "cookie-domain"),
                    (
                        f"app host {host} is not within any --cookie-domain ({', '.join(cookie_domains)}): "
                        "the browser rejects the session cookie and login loops. Add a cookie domain "
                        f"that {host} ends with"
                    ),
                )
            if whitelist and host not in exact and not host.endswith(tuple(parents)):
                yield (
                    proxy.workload,
                    flag_path(proxy, "whitelist-domain"),
                    (
                        f"app host {host} is not within any --whitelist-domain ({', '.join(whitelist)}): "
                        "oauth2-proxy refuses to redirect back to it after login. Add it (or a parent "
                        "domain with a leading dot) to --whitelist-domain"
                    ),
                )


@rule("MA005", "error", "oauth2-proxy cookie-refresh is not below cookie-expire")
def _refresh_below_expire(facts: Facts) -> Iterator[Hit]:
    for proxy in facts.proxies:
        refresh, refresh_flag = proxy.duration("cookie-refresh", 0.0)
        expire, _ = proxy.duration("cookie-expire", 168 * 3600.0)
        if refresh is None or expire is None or not expire or refresh < expire:
            continue
        yield (
            proxy.workload,
            flag_path(proxy, "cookie-refresh"),
            (
                "--cookie-refresh is not shorter than --cookie-expire: oauth2-proxy refuses to start "
                '("cookie_refresh must be less than cookie_expire"). Make the refresh shorter, such '
                "as 30m with an expire of 4h"
            ),
        )


@rule("MA006", "error", "a known cookie secret is not 16, 24 or 32 bytes")
def _cookie_secret_length(facts: Facts) -> Iterator[Hit]:
    from meshauth.config.model import cookie_secret_length

    for obj, path, where, secret in _cookie_secrets(facts):
        length = cookie_secret_length(secret)
        if length not in (16, 24, 32):
            yield (
                obj,
                path,
                (
                    f"the cookie secret ({where}) is {length} bytes, raw and after URL-safe base64 "
                    "decoding: oauth2-proxy refuses to start (it needs an AES key of 16, 24 or 32 "
                    "bytes). Generate one with: meshauth cookie-secret"
                ),
            )


@rule("MA007", "error", "a policy matches a claim that is not a string")
def _string_claims_only(facts: Facts) -> Iterator[Hit]:
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


@rule("MA008", "error", "a CUSTOM policy uses identity fields that CUSTOM cannot evaluate")
def _custom_without_identity(facts: Facts) -> Iterator[Hit]:
    why = (
        "CUSTOM policies run before authentication, so Istio rejects them when they use "
        "principals, requestPrincipals, namespaces or request.auth.* conditions, and the login "
        "is not enforced. Move the identity check to an ALLOW or DENY policy"
    )
    for policy in custom_policies(facts):
        for i, r in rules_of(policy):
            for k, entry in enumerate(r.get("from") or []):
                source = (entry or {}).get("source") if isinstance(entry, Mapping) else None
                for field in _IDENTITY_SOURCE_FIELDS:
                    if isinstance(source, Mapping) and field in source:
                        yield policy, f"spec.rules[{i}].from[{k}].source.{field}", f"{field}: {why}"
            for j, condition in conditions(r):
                key = str(condition.get("key", ""))
                if key.startswith(_IDENTITY_CONDITIONS):
                    yield policy, f"spec.rules[{i}].when[{j}].key", f"{key}: {why}"


@rule("MA009", "error", "the audience check does not accept the OIDC client id")
def _audience_includes_client_id(facts: Facts) -> Iterator[Hit]:
    for proxy in facts.proxies:
        client = next((value for *_, value in _settings(facts, proxy, "client-id")), None)
        if client is None:
            continue
        issuer = proxy_issuer(proxy)
        for ra in facts.of_kind("RequestAuthentication"):
            for i, jwt_rule in enumerate((ra.get("spec") or {}).get("jwtRules") or []):
                audiences = (jwt_rule or {}).get("audiences") if isinstance(jwt_rule, Mapping) else None
                issued = same_issuer((jwt_rule or {}).get("issuer", "")) == issuer
                if audiences and issued and client not in map(str, audiences):
                    yield ra, f"spec.jwtRules[{i}].audiences", _audience_message(client)
        for policy in facts.of_kind("AuthorizationPolicy"):
            path = _audience_rule_without(policy, client)
            if path:
                yield policy, path, _audience_message(client)


@rule("MA010", "error", "a VirtualService host or a Gateway credential has nothing behind it")
def _gateway_hosts_and_credentials(facts: Facts) -> Iterator[Hit]:
    gateways = {(namespace_of(g), name_of(g)): g for g in facts.of_kind("Gateway") if _istio(g)}
    served = {key: _gateway_hosts(g) for key, g in gateways.items()}
    for vs in facts.of_kind("VirtualService"):
        spec = vs.get("spec") or {}
        for i, ref in enumerate(spec.get("gateways") or []):
            hosts = served.get(_gateway_key(str(ref), namespace_of(vs)))
            if hosts is None:
                continue
            for host in spec.get("hosts") or []:
                if not _served_by(str(host), namespace_of(vs), hosts):
                    yield (
                        vs,
                        f"spec.gateways[{i}]",
                        (
                            f"host {host} is not among the hosts of Gateway {ref}'s servers: the "
                            "gateway never routes it here and requests for it get 404. Add the host to "
                            "a server of the Gateway, or bind the VirtualService to the right Gateway"
                        ),
                    )
    yield from _credentials_without_certificate(facts, gateways.values())


@rule("MA011", "error", "the provider's service or port does not reach the oauth2-proxy Service")
def _provider_reaches_proxy(facts: Facts) -> Iterator[Hit]:
    for provider in facts.providers:
        found = provider.ext_authz
        if found is None or not facts.is_proxy_provider(provider):
            continue
        key, settings = found
        host, port = str(settings.get("service", "")), settings.get("port")
        service = facts.service_for(host)
        where = f"{provider.path}.{key}"
        if service is None:
            known = [s for s in facts.of_kind("Service") if facts.selects_proxy(s)]
            if known:
                yield (
                    provider.source.document,
                    f"{where}.service",
                    (
                        f"service {host!r} is not a Service in the manifests; oauth2-proxy's Service is "
                        f"{name_of(known[0])}.{namespace_of(known[0])}.svc.cluster.local. Every check "
                        "fails and Istio denies the requests: point service at that Service"
                    ),
                )
            continue
        ports = [
            p.get("port") for p in (service.get("spec") or {}).get("ports") or [] if isinstance(p, Mapping)
        ]
        if port not in ports:
            yield (
                provider.source.document,
                f"{where}.port",
                (
                    f"port {port} is not a port of Service {name_of(service)}.{namespace_of(service)} "
                    f"(ports: {', '.join(map(str, ports)) or 'none'}); every check fails and Istio "
                    "denies the requests. Use the Service's port"
                ),
            )
        if facts.proxies and not facts.selects_proxy(service):
            yield (
                service,
                "spec.selector",
                (
                    "this Service, which the extension provider calls, selects no oauth2-proxy pods: "
                    "it has no endpoints, every check fails and Istio denies the requests. Make its "
                    "selector match the oauth2-proxy pod labels"
                ),
            )


@rule("MA012", "error", "the provider does not pass the cookie or the Set-Cookie headers")
def _provider_passes_cookies(facts: Facts) -> Iterator[Hit]:
    for provider in facts.providers:
        http = provider.http
        if http is None or not facts.is_proxy_provider(provider):
            continue
        where = f"{provider.path}.envoyExtAuthzHttp"
        deny = http.get("headersToDownstreamOnDeny")
        if deny is not None and not authz.any_matches(deny, "set-cookie", fold=True):
            yield (
                provider.source.document,
                f"{where}.headersToDownstreamOnDeny",
                (
                    "lacks set-cookie: the cookie oauth2-proxy sets at the end of the login never "
                    "reaches the browser, so login loops. Add set-cookie (and content-type)"
                ),
            )
        check_headers = http.get("includeRequestHeadersInCheck", http.get("includeHeadersInCheck"))
        if not authz.any_matches(check_headers, "cookie", fold=True):
            yield (
                provider.source.document,
                f"{where}.includeRequestHeadersInCheck",
                (
                    "lacks cookie: Envoy does not send the browser's session cookie to oauth2-proxy, "
                    "which then sends every request to the login page again. Add cookie (and "
                    "authorization for bearer tokens)"
                ),
            )


@rule("MA013", "error", "oauth2-proxy does not answer the check with 200 where Envoy calls it")
def _proxy_answers_200(facts: Facts) -> Iterator[Hit]:
    for proxy in facts.proxies:
        upstreams = proxy.values("upstream")
        if not (proxy.config_file and not upstreams) and not set(upstreams) & {"static://200", "static://"}:
            yield (
                proxy.workload,
                flag_path(proxy, "upstream"),
                (
                    "oauth2-proxy is not started with --upstream=static://200: for a logged-in user "
                    "it answers the check with something other than 200 and Envoy denies the "
                    "request. Set --upstream=static://200"
                ),
            )
        address = proxy.last("http-address")
        host = (address.value if address else "127.0.0.1:4180").rsplit(":", 1)[0].strip("[]")
        if host in ("127.0.0.1", "localhost", "::1") and not (proxy.config_file and address is None):
            yield (
                proxy.workload,
                flag_path(proxy, "http-address"),
                (
                    f"oauth2-proxy listens on {host} (the default of --http-address is 127.0.0.1:4180): "
                    "the gateway cannot reach it and every check fails. Set --http-address=0.0.0.0:4180"
                ),
            )
    for provider in facts.providers:
        prefix = str((provider.http or {}).get("pathPrefix", ""))
        if facts.is_proxy_provider(provider) and prefix.rstrip("/").endswith("/auth"):
            yield (
                provider.source.document,
                f"{provider.path}.envoyExtAuthzHttp.pathPrefix",
                (
                    f"pathPrefix {prefix} sends the checks to oauth2-proxy's auth endpoint, which "
                    "answers 202 Accepted for a logged-in user; Envoy treats anything but 200 as a "
                    "denial. Remove pathPrefix and run oauth2-proxy with --upstream=static://200"
                ),
            )


@rule("MA014", "error", "an apiVersion or field the target Istio or Kubernetes version lacks")
def _available_in_target_versions(facts: Facts) -> Iterator[Hit]:
    for obj in facts.objects:
        api_version, kind = str(obj.get("apiVersion")), str(obj.get("kind"))
        message = _api_problem(facts, api_version, kind)
        if message:
            yield obj, "apiVersion", message
            continue
        for field, since in versions.ISTIO_FIELD_SINCE.items():
            if field[0] == kind and field[1] in (obj.get("spec") or {}) and _older(facts, since):
                yield obj, f"spec.{field[1]}", _too_old(facts, f"spec.{field[1]}", since)
    for provider in facts.providers:
        http = provider.http or {}
        for field, since in versions.EXT_AUTHZ_FIELD_SINCE.items():
            if field in http and _older(facts, since):
                path = f"{provider.path}.envoyExtAuthzHttp.{field}"
                yield provider.source.document, path, _too_old(facts, field, since)


@rule("MA015", "error", "an oauth2-proxy flag that the chosen release does not have")
def _proxy_flags_exist(facts: Facts) -> Iterator[Hit]:
    for proxy in facts.proxies:
        version = proxy.version if proxy.version and _is_v7(proxy.version) else None
        known = proxyflags.flags_for(version or proxyflags.LATEST)
        for name, flags in sorted(proxy.flags.items()):
            flag = next((f for f in flags if ".env[" not in f.path), None)
            if flag is None or name in known:
                continue
            since = proxyflags.flag_since(name)
            release = f"oauth2-proxy {version}" if version else "any oauth2-proxy v7 release"
            detail = f" (it appeared in {since})" if since else ""
            yield (
                proxy.workload,
                flag.path,
                (
                    f'--{name} is not a flag of {release}{detail}: oauth2-proxy exits with "unknown '
                    'flag" and the login is down. Remove it, fix its spelling, or use a newer image'
                ),
            )


@rule("MA016", "error", "STRICT mTLS while a namespace with meshauth workloads has no sidecars")
def _strict_mtls_needs_sidecars(facts: Facts) -> Iterator[Hit]:
    namespaces = {name_of(n): n for n in reversed(list(facts.of_kind("Namespace")))}
    for namespace in sorted(_meshauth_namespaces(facts)):
        if _mtls_mode(facts, namespace) != "STRICT":
            continue
        ns = namespaces.get(namespace)  # the first Namespace of that name, as before
        if ns is None or _injected(ns) or _all_workloads_opt_in(facts, namespace):
            continue
        yield (
            ns,
            "metadata.labels",
            (
                f"namespace {namespace} runs meshauth workloads (oauth2-proxy or an app) but has no "
                "sidecar injection, while mTLS is STRICT: its pods' plain-text calls to meshed "
                "workloads are refused, and the app's own RequestAuthentication and "
                "AuthorizationPolicy are not enforced. Label it istio-injection: enabled (or "
                "istio.io/rev) and restart its pods"
            ),
        )


@rule("MA017", "error", "a path excluded from the login that an ALLOW policy then denies")
def _open_paths_allowed(facts: Facts) -> Iterator[Hit]:
    for workload, custom in gateway_applied(facts, "CUSTOM"):
        for host, path, pattern in _excluded(facts, custom):
            apps = [] if path.startswith(ACME_DIR) else facts.app_workloads_for(host)
            for target in [workload, *apps]:
                request = Request(host, path, peer_known=target.gateway)
                denied = _denied(facts, target, request)
                if denied is not None:
                    yield (
                        denied,
                        "spec.rules",
                        (
                            f"{'' if host == ANY_HOST else host}{pattern} is excluded from the login (notPaths of CUSTOM policy "
                            f"{name_of(custom)}), so it carries no JWT; no rule of this ALLOW policy "
                            "lets a request without a token through, so it is answered 403. Add a "
                            "rule with to.operation hosts and paths for exactly those paths"
                        ),
                    )
                    break


@rule("MA018", "warning", "oauth2-proxy's cookie-refresh is not shorter than the ID token's lifetime")
def _refresh_before_token_expiry(facts: Facts) -> Iterator[Hit]:
    checked = {
        same_issuer(r.get("issuer", ""))
        for ra in facts.of_kind("RequestAuthentication")
        for r in (ra.get("spec") or {}).get("jwtRules") or []
        if isinstance(r, Mapping)
    }
    for proxy in facts.proxies:
        issuer = proxy_issuer(proxy)
        preset = _lifetime_preset(proxy, issuer)
        lifetime = _lifetime_override(proxy) or (preset.id_token_lifetime_seconds if preset else None)
        refresh, _ = proxy.duration("cookie-refresh", 0.0)
        if not lifetime or (checked and issuer not in checked) or refresh is None:
            continue  # no lifetime known, or the token checked is another issuer's
        if not 0 < refresh < lifetime:
            idp_name = f"{preset.name} " if preset else ""
            yield (
                proxy.workload,
                flag_path(proxy, "cookie-refresh"),
                (
                    f"--cookie-refresh is not shorter than the {idp_name}ID token's lifetime "
                    f"({lifetime // 60}m): once the token expires before oauth2-proxy refreshes it, the "
                    'gateway answers 401 "Jwt is expired"; set the refresh below it, such as 30m'
                ),
            )


# --- small helpers of single rules ---------------------------------------------------------------


def _lifetime_override(proxy: Proxy) -> int | None:
    """identity.idTokenLifetime as meshauth records it on the oauth2-proxy Deployment."""
    value = ((proxy.workload.get("metadata") or {}).get("annotations") or {}).get(ID_TOKEN_LIFETIME)
    try:
        return int(duration_seconds(str(value))) if value else None
    except ValueError:
        return None


def _lifetime_preset(proxy: Proxy, issuer: str | None) -> Any:
    """The IdP preset whose documented ID-token lifetime applies: by its fixed issuer, else by the
    IdP-specific --provider only that preset uses (keycloak-oidc, gitlab, entra-id)."""
    known = [p for p in PRESETS.values() if p.id_token_lifetime_seconds]
    by_issuer = [p for p in known if p.issuer and "{" not in p.issuer and same_issuer(p.issuer) == issuer]
    if by_issuer:
        return by_issuer[0]
    flag = proxy.last("provider")
    if flag is None or flag.value == "oidc":
        return None
    by_provider = [p for p in known if p.provider == flag.value]
    return by_provider[0] if len(by_provider) == 1 else None


def _http01(issuer: Mapping[str, Any]) -> bool:
    solvers = (((issuer.get("spec") or {}).get("acme")) or {}).get("solvers") or []
    return any(isinstance(s, Mapping) and "http01" in s for s in solvers)


def _certificate_hosts(facts: Facts, issuer: Mapping[str, Any]) -> list[str]:
    hosts = []
    for cert in facts.of_kind("Certificate"):
        ref = (cert.get("spec") or {}).get("issuerRef") or {}
        same_kind = ref.get("kind", "Issuer") == issuer.get("kind")
        same_ns = issuer.get("kind") == "ClusterIssuer" or namespace_of(cert) == namespace_of(issuer)
        if ref.get("name") == name_of(issuer) and same_kind and same_ns:
            hosts += [
                h for h in map(plain_host, map(str, (cert.get("spec") or {}).get("dnsNames") or [])) if h
            ]
    return hosts


def _cookie_secrets(facts: Facts) -> Iterator[tuple[Mapping[str, Any], str, str, str]]:
    """Every cookie secret whose value the manifests show: the proxies' settings, and Secrets
    with an oauth2-proxy cookie-secret key that no proxy in the manifests references."""
    seen: set[int] = set()
    for proxy in facts.proxies:
        for obj, path, where, value in _settings(facts, proxy, "cookie-secret"):
            seen.add(id(obj))
            yield obj, path, where, value
    for secret in facts.of_kind("Secret"):
        if id(secret) in seen:
            continue
        for key in COOKIE_SECRET_KEYS:
            yield from _secret_value(facts, namespace_of(secret), name_of(secret), key)


def _settings(facts: Facts, proxy: Proxy, flag: str) -> Iterator[tuple[Mapping[str, Any], str, str, str]]:
    """(object, path, description, value) of an oauth2-proxy setting: a literal flag or
    variable, or the Secret key a variable or envFrom reads."""
    literal = proxy.last(flag)
    if literal:
        yield proxy.workload, literal.path, f"--{flag}", literal.value
    variable = "OAUTH2_PROXY_" + flag.upper().replace("-", "_")
    for env in proxy.container.get("env") or []:
        ref = ((env or {}).get("valueFrom") or {}).get("secretKeyRef") if isinstance(env, Mapping) else None
        if env.get("name") == variable and isinstance(ref, Mapping):
            yield from _secret_value(facts, proxy.namespace, str(ref.get("name")), str(ref.get("key")))
    for source in proxy.container.get("envFrom") or []:
        ref = (source or {}).get("secretRef") if isinstance(source, Mapping) else None
        if isinstance(ref, Mapping):
            yield from _secret_value(facts, proxy.namespace, str(ref.get("name")), variable)


def _secret_value(
    facts: Facts, namespace: str, name: str, key: str
) -> Iterator[tuple[Mapping[str, Any], str, str, str]]:
    import base64
    import binascii

    for secret in facts.of_kind("Secret"):
        if namespace_of(secret) != namespace or name_of(secret) != name:
            continue
        where = f"Secret {namespace}/{name} key {key}"
        if isinstance((secret.get("stringData") or {}).get(key), str):
            yield secret, f"stringData.{key}", where, secret["stringData"][key]
        elif isinstance((secret.get("data") or {}).get(key), str):
            try:
                value = base64.b64decode(secret["data"][key], validate=True).decode("utf-8")
            except (binascii.Error, ValueError):
                continue  # not base64: the schema check reports it
            yield secret, f"data.{key}", where, value


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
    action = str((policy.get("spec") or {}).get("action") or "ALLOW")
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


def _istio(obj: Mapping[str, Any]) -> bool:
    return str(obj.get("apiVersion", "")).startswith("networking.istio.io/")


def _gateway_key(ref: str, namespace: str) -> tuple[str, str]:
    ns, _, name = ref.rpartition("/")
    return ns or namespace, name


def _served_by(host: str, namespace: str, hosts: tuple[set[tuple[str, str]], list[tuple[str, str]]]) -> bool:
    exact, patterns = hosts
    host = host.lower()
    if any((ns, host) in exact for ns in ("", "*", namespace)):
        return True
    for ns, pattern in patterns:
        if ns in ("", "*", namespace) and _host_covers(pattern, host):
            return True
    return False


def _gateway_hosts(gateway: Mapping[str, Any]) -> tuple[set[tuple[str, str]], list[tuple[str, str]]]:
    """A Gateway's server hosts as (namespace qualifier, host): exact ones in a set, wildcards."""
    exact: set[tuple[str, str]] = set()
    patterns: list[tuple[str, str]] = []
    for server in (gateway.get("spec") or {}).get("servers") or []:
        for entry in (server or {}).get("hosts") or [] if isinstance(server, Mapping) else []:
            ns, _, pattern = str(entry).lower().rpartition("/")
            ns = namespace_of(gateway) if ns == "." else ns
            (patterns.append((ns, pattern)) if "*" in pattern else exact.add((ns, pattern)))
    return exact, patterns


def _host_covers(pattern: str, host: str) -> bool:
    if pattern == "*" or pattern == host:
        return True
    if pattern.startswith("*"):
        return host.endswith(pattern[1:]) or (host.startswith("*") and host.endswith(pattern[1:]))
    return False


def _credentials_without_certificate(facts: Facts, gateways: Iterable[Mapping[str, Any]]) -> Iterator[Hit]:
    certificates = facts.of_kind("Certificate")
    if not certificates:
        return  # certificates are not managed in these manifests: nothing to compare with
    for gateway in gateways:
        namespace = namespace_of(gateway)
        produced = {
            str((c.get("spec") or {}).get("secretName")) for c in certificates if namespace_of(c) == namespace
        }
        produced |= {
            name_of(s) for s in facts.of_kind("Secret", "SealedSecret") if namespace_of(s) == namespace
        }
        for i, server in enumerate((gateway.get("spec") or {}).get("servers") or []):
            credential = (
                ((server or {}).get("tls") or {}).get("credentialName")
                if isinstance(server, Mapping)
                else None
            )
            if credential and credential not in produced:
                yield (
                    gateway,
                    f"spec.servers[{i}].tls.credentialName",
                    (
                        f"no Certificate in namespace {namespace} writes the Secret {credential!r}: "
                        "the gateway has no certificate for this server and TLS handshakes fail. Set "
                        "a Certificate's secretName to it, in the gateway's namespace"
                    ),
                )


def _api_problem(facts: Facts, api_version: str, kind: str) -> str | None:
    removal = versions.api_removal(api_version, kind, facts.kubernetes_version)
    if removal:
        return f"{kind} {api_version} was removed in {removal[0]}: the apply fails. Use {removal[1]}"
    known = versions.kubernetes_versions()
    if (
        versions.is_kubernetes_group(api_version)
        and facts.kubernetes_version
        and known
        and facts.kubernetes_version >= known[0]
    ):
        target = "{}.{}".format(*facts.kubernetes_version)
        if core_validator(target, api_version, kind) is None:
            return f"Kubernetes {target} does not serve {kind} in {api_version}: the apply fails"
    since = versions.ISTIO_API_SINCE.get((api_version, kind))
    if since and _older(facts, since):
        return _too_old(facts, api_version, since) + f" (use {api_version.rpartition('/')[0]}/v1beta1)"
    return None


def _older(facts: Facts, since: tuple[int, int]) -> bool:
    return facts.istio_version is not None and facts.istio_version < since


def _too_old(facts: Facts, what: str, since: tuple[int, int]) -> str:
    target = "{}.{}".format(*(facts.istio_version or (0, 0)))
    return f"{what} exists from Istio {since[0]}.{since[1]}; Istio {target} rejects or ignores it"


def _is_v7(version: str) -> bool:
    try:
        return proxyflags.parse_version(version) >= (7, 0, 0)
    except ValueError:
        return False


def _mtls_mode(facts: Facts, namespace: str) -> str | None:
    mode = None
    for scope in (facts.root_namespace, namespace):
        for pa in facts.of_kind("PeerAuthentication"):
            spec = pa.get("spec") or {}
            if namespace_of(pa) == scope and not (spec.get("selector") or {}).get("matchLabels"):
                found = (spec.get("mtls") or {}).get("mode")
                mode = found if found and found != "UNSET" else mode
    return mode


def _meshauth_namespaces(facts: Facts) -> set[str]:
    """Namespaces whose workloads the login setup needs meshed: oauth2-proxy's, the apps' (routed
    from a gateway, or guarded by a workload policy), and those of workloads meshauth rendered."""
    found = {p.namespace for p in facts.proxies} | facts.app_namespaces
    for policy in facts.of_kind("AuthorizationPolicy", "RequestAuthentication"):
        if mapping(mapping(policy["spec"].get("selector")).get("matchLabels")):
            found.add(namespace_of(policy))
    for obj in facts.of_kind("Deployment", "StatefulSet", "DaemonSet"):
        if mapping(obj["metadata"].get("labels")).get("app.kubernetes.io/managed-by") == "meshauth":
            found.add(namespace_of(obj))
    return found - {w.namespace for w in facts.gateway_workloads} - {facts.root_namespace}


def _injected(namespace: Mapping[str, Any]) -> bool:
    labels = (namespace.get("metadata") or {}).get("labels") or {}
    return (
        labels.get("istio-injection") == "enabled"
        or ("istio.io/rev" in labels and labels.get("istio-injection") != "disabled")
        or labels.get("istio.io/dataplane-mode") == "ambient"
    )


def _all_workloads_opt_in(facts: Facts, namespace: str) -> bool:
    workloads = [
        o for o in facts.of_kind("Deployment", "StatefulSet", "DaemonSet") if namespace_of(o) == namespace
    ]
    labels = [(pod_template(o).get("metadata") or {}).get("labels") or {} for o in workloads]
    return bool(workloads) and all(str(label.get("sidecar.istio.io/inject")) == "true" for label in labels)


def _excluded(facts: Facts, policy: Mapping[str, Any]) -> Iterator[tuple[str, str, str]]:
    """(host, probe path, pattern) for the paths a CUSTOM policy's notPaths keep from the login."""
    seen = set()
    for _, r in rules_of(policy):
        for _, op in operations(r):
            hosts = [h for h in map(plain_host, map(str, op.get("hosts") or [])) if h]
            hosts = hosts or ([] if op.get("hosts") else routed_hosts(facts)) or [ANY_HOST]
            for pattern in op.get("notPaths") or []:
                path = probe_path(str(pattern))
                for host in hosts if path else ():
                    if (host, path) not in seen:
                        seen.add((host, path))
                        yield host, path, str(pattern)


def _denied(facts: Facts, workload: Workload, request: Request) -> Mapping[str, Any] | None:
    """The ALLOW policy that definitely denies the request at the workload, if one does."""
    allows = facts.policies("ALLOW", workload)
    if not allows or any(verdict is None for _, verdict in allows):
        return None
    if authz.or_(facts.matches(p, request) for p, _ in allows) is False:
        return allows[0][0]
    return None


from meshauth.validation.rules import topology as rules_topology  # noqa: E402,F401  registers the ambient / Gateway API rules
