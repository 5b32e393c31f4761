"""The login a gateway asks for (ext_authz): the extension provider a CUSTOM policy names, or (Istio
before 1.9) an EnvoyFilter that inserts ext_authz for a host's TLS filter chain; the provider's own
proxy (its policies must admit the gateway); and what the provider answers:

* **oauth2-proxy** (``envoyExtAuthzHttp``), read from its Deployment's arguments
  (:mod:`meshauth.authz.proxylogin`): no session: a redirect to the IdP (302); a session it refuses
  (email domain, groups, issuer, audience): 403; else 200, and the ID token goes upstream as
  ``Authorization`` when ``--set-authorization-header`` and ``headersToUpstreamOnAllow`` say so;
* **authservice** (``envoyExtAuthzGrpc``), read from the ConfigMap its Deployment mounts: the first
  chain matching the ``:authority`` (none: 403 unless ``allow_unmatched_requests``); no session: a
  redirect to the chain's IdP (302); a session: 200 with the ID token in the chain's ``id_token``
  header (gRPC ext_authz passes the check's headers upstream). authservice checks no email or group.

:class:`Logins` is a part of :class:`~meshauth.authz.meshview.MeshView` (the walk's notes and stops).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from meshauth.authz import matcher as authz
from meshauth.authz import proxylogin
from meshauth.authz.routes import Pods, Route, bare_host
from meshauth.authz.walk import Walk
from meshauth.findings import object_ref

TOKEN_DEFAULT_SUBJECT = "simulated-user"


class Logins(Walk):
    """The ext_authz half of the walk (mixed into MeshView, which provides the rest)."""

    mesh: Mapping[str, Any]
    env: Any

    def hop(
        self, hop: str, pods: Pods, call: authz.Call, session: Any, *, token: Any, route: Any = None
    ) -> Any:
        raise NotImplementedError

    def workload(self, hop: str, fqdn: str, call: authz.Call, token: Mapping[str, Any] | None) -> None:
        raise NotImplementedError

    # --- which provider -----------------------------------------------------------------------------

    def ext_authz(
        self, policy: Mapping[str, Any], call: authz.Call, session: Mapping[str, Any] | None
    ) -> Mapping[str, Any] | None:
        name = ((policy.get("spec") or {}).get("provider") or {}).get("name")
        provider = next((p for p in extension_providers(self.mesh) if p.get("name") == name), None)
        if provider is None:
            self.stop(
                False,
                403,
                object_ref(policy),
                f"extension provider {name!r} is not in the mesh config: Istio denies",
            )
        if "envoyExtAuthzGrpc" in provider:
            return self.ask_authservice(
                object_ref(policy), provider["envoyExtAuthzGrpc"] or {}, call, session
            )
        if "envoyExtAuthzHttp" not in provider:
            raise authz.Unsupported(f"extension provider {name!r}: only ext_authz providers are modelled")
        return self.ask_provider(object_ref(policy), provider["envoyExtAuthzHttp"] or {}, call, session)

    def provider_deployment(
        self, custom: str, target: Mapping[str, Any], call: authz.Call
    ) -> Mapping[str, Any]:
        """The provider's Deployment, after its own proxy admitted the gateway's check."""
        fqdn = str(target.get("service", ""))
        service = self.service(fqdn)
        deployment = self.deployment_for(service) if service else None
        if service is None or deployment is None:
            raise authz.Unsupported(
                f"{custom}: provider service {fqdn or None} and its Deployment are not in the bundle, "
                "so what it answers is not known"
            )
        check = authz.Call(
            host=fqdn,
            path=call.path,
            method=call.method,
            port=_port(target, service),
            source_principal=self.env.gateway_principal,
        )
        self.workload(
            "provider",
            f"{fqdn.split('.')[0]}.{service['metadata']['namespace']}.svc.cluster.local",
            check,
            None,
        )
        return deployment

    # --- oauth2-proxy ---------------------------------------------------------------------------------

    def ask_provider(
        self, custom: str, http: Mapping[str, Any], call: authz.Call, session: Mapping[str, Any] | None
    ) -> Mapping[str, Any] | None:
        """oauth2-proxy's answer, read from its flags; the CUSTOM policy (or EnvoyFilter) that asked decides."""
        deployment = self.provider_deployment(custom, http, call)
        args = proxylogin.proxy_args(deployment)
        by = object_ref(deployment)
        if session is None:
            status, why = proxylogin.anonymous_answer(args, http, call)
            self.note("provider", "login", f"no session cookie: {why}", by)
            self.stop(False, status, custom, f"login required: {why}")
        token = {
            "iss": proxylogin.first_arg(args, "oidc-issuer-url"),
            "aud": proxylogin.first_arg(args, "client-id"),
            "sub": TOKEN_DEFAULT_SUBJECT,
            **session,
        }
        problem = proxylogin.login_refusal(token, args)
        if problem:
            self.note("provider", "login", problem, by)
            self.stop(False, 403, custom, f"oauth2-proxy refuses the login: {problem}")
        passes_token = proxylogin.first_arg(
            args, "set-authorization-header"
        ) == "true" and "authorization" in [h.lower() for h in http.get("headersToUpstreamOnAllow") or []]
        self.note(
            "provider",
            "login",
            "session accepted: 200"
            + (", ID token added as Authorization" if passes_token else ", no token passed on"),
            by,
        )
        return token if passes_token else None

    # --- authservice ----------------------------------------------------------------------------------

    def ask_authservice(
        self, custom: str, grpc: Mapping[str, Any], call: authz.Call, session: Mapping[str, Any] | None
    ) -> Mapping[str, Any] | None:
        deployment = self.provider_deployment(custom, grpc, call)
        by = object_ref(deployment)
        namespace = deployment["metadata"].get("namespace")
        try:
            config = proxylogin.authservice_config(deployment, self.kind("ConfigMap", namespace))
        except ValueError as error:
            raise authz.Unsupported(f"{by}: its config.json is not JSON ({error})") from None
        if not isinstance(config, Mapping):
            raise authz.Unsupported(
                f"{custom}: the gRPC provider {by} mounts no authservice config.json in the bundle"
            )
        chain = proxylogin.authservice_chain(config, call.host)
        if chain is None:
            if config.get("allow_unmatched_requests"):
                self.note("provider", "login", "no chain matches the host: allowed unchecked", by)
                return None
            self.note("provider", "login", f"no chain matches {call.host}", by)
            self.stop(False, 403, custom, f"authservice has no filter chain for {bare_host(call.host)}")
        oidc = proxylogin.oidc_of(chain)
        where = f"{by} chain {chain.get('name', '?')}"
        if session is None:
            self.note("provider", "login", "no session cookie: redirect to the IdP", where)
            self.stop(False, 302, custom, "login required: authservice redirects to the identity provider")
        token = {
            "iss": proxylogin.oidc_issuer(oidc),
            "aud": oidc.get("client_id"),
            "sub": TOKEN_DEFAULT_SUBJECT,
            **session,
        }
        problem = proxylogin.authservice_refusal(token, oidc)
        if problem:
            self.note("provider", "login", problem, where)
            self.stop(False, 403, custom, f"authservice refuses the login: {problem}")
        header = str((oidc.get("id_token") or {}).get("header") or "")
        passes = (
            header.lower() == "authorization" and (oidc.get("id_token") or {}).get("preamble") == "Bearer"
        )
        self.note(
            "provider",
            "login",
            "session accepted: OK"
            + (", ID token added as Authorization" if passes else ", no bearer token passed on"),
            where,
        )
        return token if passes else None

    # --- Istio before 1.9: ext_authz by EnvoyFilter ---------------------------------------------------

    def envoy_filter_login(
        self, pods: Pods, call: authz.Call, route: Route | None, port: int = 443
    ) -> tuple[str, dict[str, Any]] | None:
        """An EnvoyFilter inserting ext_authz into the gateway's filter chain for the host's SNI
        (TLS: port 443), unless the route's name has it disabled: (the filter, the HTTP service)."""
        login: tuple[str, dict[str, Any]] | None = None
        disabled: set[str] = set()
        for envoy_filter in self.kind("EnvoyFilter"):
            meta, spec = envoy_filter["metadata"], envoy_filter.get("spec") or {}
            selector = (spec.get("workloadSelector") or {}).get("labels") or {}
            if meta.get("namespace") not in (pods.namespace, self.env.root_namespace):
                continue
            if not all(pods.labels.get(k) == v for k, v in selector.items()):
                continue
            for patch in spec.get("configPatches") or []:
                value = ((patch.get("patch") or {}).get("value")) or {}
                match = patch.get("match") or {}
                if patch.get("applyTo") == "HTTP_ROUTE":
                    name = (
                        ((match.get("routeConfiguration") or {}).get("vhost") or {}).get("route") or {}
                    ).get("name")
                    per_route = (value.get("typed_per_filter_config") or {}).get(
                        "envoy.filters.http.ext_authz"
                    ) or {}
                    if name and per_route.get("disabled"):
                        disabled.add(str(name))
                    continue
                if (
                    patch.get("applyTo") != "HTTP_FILTER"
                    or value.get("name") != "envoy.filters.http.ext_authz"
                ):
                    continue
                sni = ((match.get("listener") or {}).get("filterChain") or {}).get("sni")
                if sni is not None and (port != 443 or sni.lower() != bare_host(call.host).lower()):
                    continue
                service = (value.get("typed_config") or {}).get("http_service") or {}
                uri = str((service.get("server_uri") or {}).get("uri", ""))
                host_port = uri.split("://", 1)[-1].split("/", 1)[0]
                host, _, number = host_port.partition(":")
                if number and not number.isdigit():
                    raise authz.Unsupported(f"{object_ref(envoy_filter)}: ext_authz server_uri {uri!r}")
                response = service.get("authorization_response") or {}
                request = service.get("authorization_request") or {}
                login = (
                    object_ref(envoy_filter),
                    {
                        "service": host,
                        "port": int(number or 80),
                        "headersToUpstreamOnAllow": _exact_names(response.get("allowed_upstream_headers")),
                        "includeRequestHeadersInCheck": _exact_names(request.get("allowed_headers")),
                    },
                )
        if login is None or (route is not None and route.name and route.name in disabled):
            return None
        return login


def extension_providers(mesh: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    config = (mesh.get("spec") or {}).get("meshConfig") if "spec" in mesh else mesh.get("meshConfig")
    return list((config or {}).get("extensionProviders") or [])


def _port(target: Mapping[str, Any], service: Mapping[str, Any]) -> int:
    try:
        return int(target.get("port", 0))
    except (TypeError, ValueError):
        return 0


def _exact_names(matcher: Any) -> list[str]:
    """The header names an Envoy ListStringMatcher lists exactly (``patterns: [{exact: ...}]``)."""
    return [str(p.get("exact")) for p in (matcher or {}).get("patterns") or [] if p.get("exact")]
