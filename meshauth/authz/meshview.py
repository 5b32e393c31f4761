"""The walk of one request over a bundle's objects, hop by hop (see :mod:`meshauth.authz.simulate`).

:class:`MeshView` indexes the objects once (routes and gateway servers by host), then follows a
request from the gateway over the route to the destination's sidecar, noting every step, until a
hop decides. The hops share the indexes, the trace and the way out (a decision ends the walk), so
the walk stays one class in one module.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

from meshauth.authz import matcher as authz
from meshauth.authz import requests as authz_eval
from meshauth.authz.decision import Decision, Environment, Request, Step
from meshauth.authz.proxylogin import first_arg, login_refusal, proxy_args
from meshauth.errors import ConfigError, Problem
from meshauth.findings import object_ref

ACME_PREFIX = "/.well-known/acme-challenge/"
TOKEN_DEFAULT_SUBJECT = "simulated-user"


class _Done(Exception):
    def __init__(self, decision: Decision) -> None:
        self.decision = decision


@dataclass
class Pods:
    name: str  # for the trace: "namespace/app=x"
    namespace: str
    labels: Mapping[str, str]


class MeshView:
    """The objects of a bundle, indexed once, and the walk of one request at a time over them."""

    def __init__(self, objects: list[Mapping[str, Any]], mesh: Mapping[str, Any], env: Environment):
        self.objects, self.mesh, self.env = objects, mesh, env
        self.steps: list[Step] = []
        self.last_allow = ""  # the ALLOW policy and rule that let the request through last
        self._kinds: dict[str, list[Mapping[str, Any]]] = {}
        self._placed: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
        for obj in objects:
            namespace = str((obj.get("metadata") or {}).get("namespace") or "")
            self._kinds.setdefault(str(obj.get("kind")), []).append(obj)
            self._placed.setdefault((str(obj.get("kind")), namespace), []).append(obj)
        self._rules: dict[int, authz.PolicyIndex] = {}
        self._routes = _HostIndex(
            self.kind("VirtualService"), lambda vs: (vs.get("spec") or {}).get("hosts") or []
        )
        self._servers = _HostIndex(
            [
                (g, server)
                for g in self.kind("Gateway")
                for server in (g.get("spec") or {}).get("servers") or []
            ],
            lambda pair: pair[1].get("hosts") or [],
        )

    def match(self, policy: Mapping[str, Any], call: authz.Call) -> int | None:
        return authz.matching_rule(policy, call, self.rule_index(policy))

    def rule_index(self, policy: Mapping[str, Any]) -> authz.PolicyIndex:
        index = self._rules.get(id(policy))
        if index is None:
            index = self._rules[id(policy)] = authz.PolicyIndex(policy)
        return index

    def rules_about(self, policy: Mapping[str, Any], host: str) -> list[Mapping[str, Any]]:
        """The rules of a policy that can concern requests for ``host``."""
        rules = (policy.get("spec") or {}).get("rules") or []
        return [rules[n] or {} for n in self.rule_index(policy).candidates(host)]

    @classmethod
    def of(cls, bundle: Any, env: Environment) -> MeshView:
        objects, mesh = (bundle.objects, bundle.mesh_config) if hasattr(bundle, "objects") else bundle
        return cls(list(objects), mesh or {}, env)

    def decide(self, request: Request) -> Decision:
        self.steps, self.last_allow = [], ""
        try:
            return self.run(request)
        except _Done as done:
            return done.decision
        except authz.Unsupported as error:
            raise ConfigError(Problem(f"cannot simulate: {error}")) from None

    def kind(self, kind: str, namespace: str | None = None) -> list[Mapping[str, Any]]:
        if namespace is None:
            return self._kinds.get(kind, [])
        return self._placed.get((kind, namespace), [])

    def selecting(self, kind: str, pods: Pods) -> list[Mapping[str, Any]]:
        """The policies of ``kind`` that apply to the pods (their namespace, and mesh-wide ones)."""
        root = self.env.root_namespace
        candidates = self.kind(kind, pods.namespace)
        if root != pods.namespace:
            candidates = candidates + self.kind(kind, root)
        return [p for p in candidates if authz_eval.applies(p, pods.namespace, pods.labels, root)]

    # --- the walk --------------------------------------------------------------------------------

    def run(self, request: Request) -> Decision:
        try:
            path = authz_eval.normalize_path(request.path)
            method = authz_eval.check_method(request.method)
        except ValueError as error:
            self.stop(False, 400, "Envoy", str(error))
        gateway, port = self.gateway_for(request)
        pods = Pods(
            f"{gateway['metadata']['namespace']}/{_labels(gateway['spec']['selector'])}",
            gateway["metadata"]["namespace"],
            gateway["spec"]["selector"],
        )
        call = authz.Call(
            host=request.host,
            path=path,
            method=method,
            port=port,
            headers={k.lower(): v for k, v in request.headers.items()},
        )
        token, call = self.hop("gateway", pods, call, request.claims, token=None)
        destination, service_port = self.route(gateway, request, call, port)
        if destination is None:
            return self.done(
                True,
                200,
                "cert-manager HTTP-01 solver",
                "the ACME challenge passes the gateway's policies",
                "ACME solver",
            )
        app_pods = self.pods_of(destination)
        forwarded = authz.Call(
            host=request.host,
            path=path,
            method=method,
            port=service_port,
            source_principal=self.env.gateway_principal,
            headers=call.headers,
        )
        self.hop("sidecar", app_pods, forwarded, None, token=token)
        return self.done(
            True,
            200,
            self.last_allow or "no policy at the app",
            "allowed at the gateway and at the app's sidecar",
            destination,
        )

    def stop(self, allowed: bool, status: int, by: str, reason: str, dest: str | None = None) -> NoReturn:
        raise _Done(self.done(allowed, status, by, reason, dest))

    def done(self, allowed: bool, status: int, by: str, reason: str, dest: str | None) -> Decision:
        return Decision(allowed, status, by, reason, dest, tuple(self.steps))

    def note(self, hop: str, stage: str, outcome: str, policy: str = "") -> None:
        self.steps.append(Step(hop, stage, outcome, policy))

    # --- one proxy: ext_authz, jwt_authn, rbac ---------------------------------------------------

    def hop(
        self,
        hop: str,
        pods: Pods,
        call: authz.Call,
        session: Mapping[str, Any] | None,
        *,
        token: Mapping[str, Any] | None,
    ) -> tuple[Mapping[str, Any] | None, authz.Call]:
        """Run one proxy's filters; return the token it passes upstream and the call as checked."""
        policies = [p for p in self.selecting("AuthorizationPolicy", pods) if authz_eval.enforced(p)]
        for policy in _action(policies, "CUSTOM"):
            rule = self.match(policy, call)
            if rule is not None:
                self.note(hop, "CUSTOM", f"rule {rule} matches: ask the provider", object_ref(policy))
                if hop == "provider":  # the check of a check: Envoy would loop until it fails
                    self.stop(
                        False,
                        403,
                        object_ref(policy),
                        "a CUSTOM policy guards the "
                        "extension provider itself, so its own checks are sent to it",
                    )
                token = self.ext_authz(policy, call, session)
                break
        else:
            self.note(hop, "CUSTOM", "no CUSTOM policy matches: no login check")
        token, call = self.jwt(hop, pods, call, token)
        for policy in _action(policies, "DENY"):
            rule = self.match(policy, call)
            if rule is not None:
                self.note(hop, "DENY", f"rule {rule} matches", object_ref(policy))
                self.stop(False, 403, object_ref(policy), f"DENY rule {rule} matches at the {hop}")
        allow = _action(policies, "ALLOW")
        for policy in allow:
            rule = self.match(policy, call)
            if rule is not None:
                self.note(hop, "ALLOW", f"rule {rule} matches", object_ref(policy))
                self.last_allow = f"{object_ref(policy)} rule {rule}"
                return token, call
        if allow:
            names = ", ".join(object_ref(p) for p in allow)
            self.note(hop, "ALLOW", "no ALLOW rule matches", names)
            self.stop(
                False, 403, names, f"no rule of the ALLOW policies at the {hop} matches (RBAC: access denied)"
            )
        self.note(hop, "ALLOW", "no ALLOW policy: allowed")
        self.last_allow = ""
        return token, call

    def jwt(
        self, hop: str, pods: Pods, call: authz.Call, token: Mapping[str, Any] | None
    ) -> tuple[Mapping[str, Any] | None, authz.Call]:
        authentications = self.selecting("RequestAuthentication", pods)
        check = authz_eval.check_token(authentications, token)
        self.note(hop, "jwt", check.reason, check.policy)
        if check.outcome == "rejected":
            self.stop(False, 401, check.policy, check.reason)
        call = authz.Call(
            call.host, call.path, call.method, call.port, call.source_principal, check.identity, call.headers
        )
        return (token if check.forward else None), call

    # --- the extension provider (oauth2-proxy) ---------------------------------------------------

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
        http = provider.get("envoyExtAuthzHttp") or {}
        service = self.service(str(http.get("service", "")))
        deployment = self.deployment_for(service) if service else None
        if service is None or deployment is None:
            self.stop(
                False,
                403,
                object_ref(policy),
                f"provider service {http.get('service')} is not in the bundle; cannot tell what it answers",
            )
        pods = Pods(
            f"{service['metadata']['namespace']}/{service['metadata']['name']}",
            service["metadata"]["namespace"],
            _pod_labels(deployment),
        )
        check = authz.Call(
            host=str(http.get("service")),
            path=call.path,
            method=call.method,
            port=int(http.get("port", 0)),
            source_principal=self.env.gateway_principal,
        )
        self.hop("provider", pods, check, None, token=None)
        return self.oauth2_proxy(deployment, http, session, object_ref(policy))

    def oauth2_proxy(
        self,
        deployment: Mapping[str, Any],
        http: Mapping[str, Any],
        session: Mapping[str, Any] | None,
        custom: str,
    ) -> Mapping[str, Any] | None:
        """oauth2-proxy's answer, read from its flags; the CUSTOM policy that asked decides."""
        args = proxy_args(deployment)
        by = object_ref(deployment)
        if session is None:
            self.note("provider", "login", "no session cookie: redirect to the IdP", by)
            self.stop(
                False,
                302,
                custom,
                "login required: oauth2-proxy redirects to the identity provider (or answers its callback)",
            )
        token = {
            "iss": first_arg(args, "oidc-issuer-url"),
            "aud": first_arg(args, "client-id"),
            "sub": TOKEN_DEFAULT_SUBJECT,
            **session,
        }
        problem = login_refusal(token, args)
        if problem:
            self.note("provider", "login", problem, by)
            self.stop(False, 403, custom, f"oauth2-proxy refuses the login: {problem}")
        passes_token = first_arg(args, "set-authorization-header") == "true" and "authorization" in [
            h.lower() for h in http.get("headersToUpstreamOnAllow") or []
        ]
        self.note(
            "provider",
            "login",
            "session accepted: 200"
            + (", ID token added as Authorization" if passes_token else ", no token passed on"),
            by,
        )
        return token if passes_token else None

    # --- routing ---------------------------------------------------------------------------------

    def gateway_for(self, request: Request) -> tuple[Mapping[str, Any], int]:
        serving = [
            (g, s)
            for g, s in self._servers.candidates(request.host)
            if any(host_in(h, request.host) for h in s.get("hosts") or [])
        ]
        if not serving:
            self.stop(False, 404, "Gateway", f"no Gateway in the bundle serves {request.host}")
        port = request.port or (443 if any(s["port"]["number"] == 443 for _, s in serving) else 80)
        return serving[0][0], port

    def route(
        self, gateway: Mapping[str, Any], request: Request, call: authz.Call, port: int
    ) -> tuple[str | None, int]:
        server = next(
            (
                s
                for g, s in self._servers.candidates(request.host)
                if g is gateway
                and s["port"]["number"] == port
                and any(host_in(h, request.host) for h in s.get("hosts") or [])
            ),
            None,
        )
        if server is None:
            if port == 80 and call.path.startswith(ACME_PREFIX) and self.http01_for(request.host):
                self.note("route", "route", "ACME HTTP-01 challenge: cert-manager's solver")
                return None, port
            self.stop(False, 404, object_ref(gateway), f"no server for {request.host} on port {port}")
        if (server.get("tls") or {}).get("httpsRedirect"):
            self.stop(False, 301, object_ref(gateway), "plain HTTP is redirected to HTTPS")
        ref = f"{gateway['metadata']['namespace']}/{gateway['metadata']['name']}"
        for service in self._routes.candidates(request.host):
            spec, namespace = service.get("spec") or {}, service["metadata"]["namespace"]
            gateways = [g if "/" in g else f"{namespace}/{g}" for g in spec.get("gateways") or []]
            if ref in gateways and any(host_in(h, request.host) for h in spec.get("hosts") or []):
                for http in spec.get("http") or []:
                    if http.get("match") and not uri_matches(http["match"], call.path, object_ref(service)):
                        continue
                    destination = http["route"][0]["destination"]
                    host = _fqdn(destination["host"], namespace)
                    number = (destination.get("port") or {}).get("number", port)
                    self.note("route", "route", f"to {host}:{number}", object_ref(service))
                    return host, self.target_port(host, number)
        self.stop(False, 404, object_ref(gateway), f"no VirtualService routes {request.host}")
        raise AssertionError  # unreachable

    def http01_for(self, host: str) -> bool:
        for certificate in self.kind("Certificate"):
            spec = certificate.get("spec") or {}
            if any(host_in(h, host) for h in spec.get("dnsNames") or []):
                issuer = self.issuer(spec.get("issuerRef") or {}, certificate["metadata"].get("namespace"))
                solvers = ((issuer or {}).get("spec") or {}).get("acme", {}).get("solvers") or []
                if any("http01" in s for s in solvers):
                    return True
        return False

    def issuer(self, ref: Mapping[str, Any], namespace: str | None) -> Mapping[str, Any] | None:
        kind = ref.get("kind", "Issuer")
        return next(
            (
                i
                for i in self.kind(kind)
                if i["metadata"]["name"] == ref.get("name")
                and (kind == "ClusterIssuer" or i["metadata"].get("namespace") == namespace)
            ),
            None,
        )

    # --- services and pods -----------------------------------------------------------------------

    def service(self, fqdn: str) -> Mapping[str, Any] | None:
        name, _, rest = fqdn.partition(".")
        namespace = rest.split(".", 1)[0]
        return next((s for s in self.kind("Service", namespace) if s["metadata"]["name"] == name), None)

    def deployment_for(self, service: Mapping[str, Any]) -> Mapping[str, Any] | None:
        selector = (service.get("spec") or {}).get("selector") or {}
        return next(
            (
                d
                for d in self.kind("Deployment", service["metadata"].get("namespace"))
                if selector and all(_pod_labels(d).get(k) == v for k, v in selector.items())
            ),
            None,
        )

    def target_port(self, fqdn: str, port: int) -> int:
        service = self.service(fqdn)
        for entry in ((service or {}).get("spec") or {}).get("ports") or []:
            if entry.get("port") == port and isinstance(entry.get("targetPort"), int):
                return int(entry["targetPort"])
        return port

    def pods_of(self, fqdn: str) -> Pods:
        namespace = fqdn.split(".")[1]
        service = self.service(fqdn)
        deployment = self.deployment_for(service) if service else None
        if deployment is not None:
            labels: Mapping[str, str] = _pod_labels(deployment)
        else:  # the app's pods are not rendered: the environment says what labels they carry
            labels = self.env.service_labels.get(fqdn, {})
        return Pods(f"{namespace}/{_labels(labels)}", namespace, labels)


# --- small readers -----------------------------------------------------------------------------------


def uri_matches(matches: Sequence[Mapping[str, Any]], path: str, where: str) -> bool:
    """Does a VirtualService route's ``match`` take ``path`` (uri prefix or exact, as Envoy compares
    them: strings, in route order)? Other kinds of match are not modelled."""
    for match in matches:
        uri = match.get("uri") or {}
        if set(match) != {"uri"} or set(uri) - {"prefix", "exact"} or len(uri) != 1:
            raise authz.Unsupported(f"{where}: route matches other than uri prefix or exact are not modelled")
        if path.startswith(uri["prefix"]) if "prefix" in uri else path == uri["exact"]:
            return True
    return False


def _action(policies: Sequence[Mapping[str, Any]], action: str) -> list[Mapping[str, Any]]:
    return [p for p in policies if ((p.get("spec") or {}).get("action") or "ALLOW") == action]


def extension_providers(mesh: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    config = (mesh.get("spec") or {}).get("meshConfig") if "spec" in mesh else mesh.get("meshConfig")
    return list((config or {}).get("extensionProviders") or [])


def host_in(pattern: str, host: str) -> bool:
    """Gateway / VirtualService host matching: the Host header without its port, ignoring case;
    ``*.example.com`` covers subdomains; ``ns/host`` names are read as host."""
    bare = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    return authz.match_string(pattern.rsplit("/", 1)[-1], bare, ignore_case=True)


def _fqdn(host: str, namespace: str) -> str:
    return host if "." in host else f"{host}.{namespace}.svc.cluster.local"


def _pod_labels(deployment: Mapping[str, Any]) -> Mapping[str, str]:
    return (((deployment.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("labels") or {}


def _labels(labels: Mapping[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items())) or "(any)"


class _HostIndex:
    """Objects by the hosts they name: exact names in a dict, patterns with ``*`` always tried.
    Candidates come in the objects' order and are still matched in full."""

    def __init__(self, objects: Sequence[Any], hosts_of: Any) -> None:
        self.objects = list(objects)
        self.always: list[int] = []
        self.exact: dict[str, list[int]] = {}
        for number, obj in enumerate(self.objects):
            for host in hosts_of(obj):
                name = str(host).rsplit("/", 1)[-1].lower()
                if "*" in name:
                    self.always.append(number)
                else:
                    self.exact.setdefault(name, []).append(number)

    def candidates(self, host: str) -> list[Any]:
        bare = (host.rsplit(":", 1)[0] if host.count(":") == 1 else host).lower()
        return [self.objects[n] for n in sorted({*self.always, *self.exact.get(bare, ())})]
