"""The walk of one request over a bundle's objects, hop by hop (see :mod:`meshauth.authz.simulate`).

:class:`MeshView` indexes the objects once, then follows a request from the gateway (an Istio
Gateway or a Gateway API Gateway, :mod:`meshauth.authz.ingress`) over its route to the destination:
its sidecar, or in ambient mode its waypoint and ztunnel (:mod:`meshauth.authz.ambient`), noting
every step, until a hop decides; the login a gateway asks for is :mod:`meshauth.authz.logins`.
What the bundle does not say raises :class:`~meshauth.authz.matcher.Unsupported`, which
:meth:`MeshView.decide` turns into an undecided decision naming the reason.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, NoReturn

from meshauth.authz import ambient
from meshauth.authz import matcher as authz
from meshauth.authz import requests as authz_eval
from meshauth.authz import routes as routing
from meshauth.authz.decision import Decision, Environment, Request, Step, Stopped
from meshauth.authz.ingress import ACME_PREFIX, Ingress
from meshauth.authz.logins import Logins, extension_providers
from meshauth.authz.routes import Pods, Route, host_in, labels_text
from meshauth.findings import object_ref

__all__ = ["ACME_PREFIX", "MeshView", "Pods", "extension_providers", "host_in"]


class MeshView(Ingress, Logins):
    """The objects of a bundle, indexed once, and the walk of one request at a time over them."""

    def __init__(self, objects: list[Mapping[str, Any]], mesh: Mapping[str, Any], env: Environment):
        self.objects, self.mesh, self.env = objects, mesh, env
        self.steps: list[Step] = []
        self.gateway_port = 443  # the port of the gateway's Service the request came in on
        self.last_allow = ""  # the ALLOW policy and rule that let the request through last
        self._kinds: dict[str, list[Mapping[str, Any]]] = {}
        self._placed: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
        for obj in objects:
            namespace = str((obj.get("metadata") or {}).get("namespace") or "")
            self._kinds.setdefault(str(obj.get("kind")), []).append(obj)
            self._placed.setdefault((str(obj.get("kind")), namespace), []).append(obj)
        self._rules: dict[int, tuple[Mapping[str, Any], authz.PolicyIndex]] = {}
        self._ztunnel: dict[int, tuple[Mapping[str, Any], Mapping[str, Any] | None]] = {}
        self.index_routes()
        self.namespaces = {
            str(n["metadata"]["name"]): dict(n["metadata"].get("labels") or {})
            for n in self.kind("Namespace")
        }

    def match(self, policy: Mapping[str, Any], call: authz.Call) -> int | None:
        return authz.matching_rule(policy, call, self.rule_index(policy))

    def rule_index(self, policy: Mapping[str, Any]) -> authz.PolicyIndex:
        found = self._rules.get(id(policy))
        if found is None or found[0] is not policy:
            found = self._rules[id(policy)] = (policy, authz.PolicyIndex(policy))
        return found[1]

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
        except Stopped as done:
            return done.decision
        except (authz.Unsupported, RecursionError) as error:
            reason = str(error) if isinstance(error, authz.Unsupported) else "nested too deeply"
            self.note("simulate", "-", f"cannot decide: {reason}")
            return Decision(False, 0, "simulate", reason, None, tuple(self.steps), decided=False)

    def kind(self, kind: str, namespace: str | None = None) -> list[Mapping[str, Any]]:
        if namespace is None:
            return self._kinds.get(kind, [])
        return self._placed.get((kind, namespace), [])

    def selecting(self, kind: str, pods: Pods) -> list[Mapping[str, Any]]:
        """The policies of ``kind`` that attach to the pods' proxy (their namespace, and the root's)."""
        root = self.env.root_namespace
        candidates = self.kind(kind, pods.namespace)
        if root != pods.namespace:
            candidates = candidates + self.kind(kind, root)
        return [p for p in candidates if authz_eval.attaches(p, pods, root)]

    # --- the walk --------------------------------------------------------------------------------

    def run(self, request: Request) -> Decision:
        try:
            path = authz_eval.normalize_path(request.path)
            method = authz_eval.check_method(request.method)
        except ValueError as error:
            self.stop(False, 400, "Envoy", str(error))
        entry = self.entry_for(request)
        headers = {k.lower(): v for k, v in request.headers.items()}
        listening = self.env.gateway_ports.get(entry.port, entry.port)  # what policies' ports see
        call = authz.Call(host=request.host, path=path, method=method, port=listening, headers=headers)
        self.gateway_port = entry.port
        query = request.path.split("?", 1)[1].split("#", 1)[0] if "?" in request.path else ""
        http = routing.HttpRequest(request.host, path, query, method, entry.port, headers)
        route = self.route_of(entry, http)
        token, call = self.hop("gateway", entry.pods, call, request.claims, token=None, route=route)
        backend = self.follow(entry, route)
        if backend["kind"] == "acme":
            return self.done(
                True,
                200,
                "cert-manager HTTP-01 solver",
                "the ACME challenge passes the gateway's policies",
                "ACME solver",
            )
        if backend["kind"] == "external":
            return self.done(
                True,
                200,
                self.last_allow or "no policy at the gateway",
                "allowed at the gateway; the upstream is outside the mesh",
                backend["host"],
            )
        if route.path or route.host:
            self.note(
                "route",
                "rewrite",
                f"upstream sees {route.host or request.host}{route.path or path}",
                route.via,
            )
        forwarded = authz.Call(
            route.host or request.host,
            route.path or path,
            method,
            backend["port"],
            self.env.gateway_principal,
            headers=headers,
        )
        self.workload("sidecar", backend["host"], forwarded, token)
        return self.done(
            True,
            200,
            self.last_allow or "no policy at the app",
            "allowed at the gateway and at the app",
            backend["host"],
        )

    def stop(self, allowed: bool, status: int, by: str, reason: str, dest: str | None = None) -> NoReturn:
        raise Stopped(self.done(allowed, status, by, reason, dest))

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
        route: Route | None = None,
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
                        "a CUSTOM policy guards the extension provider itself, so its own checks are sent to it",
                    )
                token = self.ext_authz(policy, call, session)
                break
        else:
            login = (
                self.envoy_filter_login(pods, call, route, self.gateway_port) if hop == "gateway" else None
            )
            if login is not None:
                filter_ref, http = login
                self.note(hop, "CUSTOM", "ext_authz of an EnvoyFilter: ask oauth2-proxy", filter_ref)
                token = self.ask_provider(filter_ref, http, call, session)
            else:
                self.note(hop, "CUSTOM", "no CUSTOM policy matches: no login check")
        token, call = self.jwt(hop, pods, call, token)
        self.rbac(hop, policies, call)
        return token, call

    def rbac(self, hop: str, policies: Sequence[Mapping[str, Any]], call: authz.Call) -> None:
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
                return
        if allow:
            names = ", ".join(object_ref(p) for p in allow)
            self.note(hop, "ALLOW", "no ALLOW rule matches", names)
            status = 403
            self.stop(
                False,
                status,
                names,
                f"no rule of the ALLOW policies at the {hop} matches (RBAC: access denied)",
            )
        self.note(hop, "ALLOW", "no ALLOW policy: allowed")

    def jwt(
        self, hop: str, pods: Pods, call: authz.Call, token: Mapping[str, Any] | None
    ) -> tuple[Mapping[str, Any] | None, authz.Call]:
        authentications = self.selecting("RequestAuthentication", pods)
        check = authz_eval.check_token(authentications, token)
        self.note(hop, "jwt", check.reason, check.policy)
        if check.outcome == "rejected":
            self.stop(False, 401, check.policy, check.reason)
        return (token if check.forward else None), replace(call, auth=check.identity)

    # --- the destination: a sidecar, or a waypoint and ztunnel -------------------------------------

    def workload(self, hop: str, fqdn: str, call: authz.Call, token: Mapping[str, Any] | None) -> None:
        """Pass the destination's proxies: its sidecar, or in ambient mode (the gateway sends
        through the Service's waypoint where ``istio.io/ingress-use-waypoint`` says so) ztunnel."""
        pods = self.pods_of(fqdn)
        self.last_allow = ""
        namespace_labels = self.namespaces.get(pods.namespace)
        if not ambient.in_ambient(namespace_labels, pods.labels, self.env.dataplane == "ambient"):
            if not ambient.injected(namespace_labels, pods.labels):
                self.note(hop, "-", "no sidecar is injected here: nothing enforces policies", pods.name)
                return
            self.hop(hop, pods, call, None, token=token)
            return
        service = self.service(fqdn)
        waypoint = ambient.waypoint_of(service, pods.namespace, namespace_labels or {})
        if waypoint is not None and ambient.ingress_uses_waypoint(service, namespace_labels or {}):
            served = ((pods.namespace, fqdn.split(".")[0]),)
            self.hop("waypoint", ambient.waypoint_pods(*waypoint, served), call, None, token=token)
            call = replace(call, source_principal=f"cluster.local/ns/{waypoint[0]}/sa/{waypoint[1]}")
        elif waypoint is not None:
            self.note(
                "route", "route", f"the gateway does not send through waypoint {waypoint[0]}/{waypoint[1]}"
            )
        policies = [
            self.at_ztunnel(p) for p in self.selecting("AuthorizationPolicy", pods) if authz_eval.enforced(p)
        ]
        enforced = [p for p in policies if p is not None]
        ignored = len(policies) - len(enforced)
        self.note(
            "ztunnel",
            "L4",
            f"{len(enforced)} policies on L4 attributes" + (f", {ignored} CUSTOM ignored" if ignored else ""),
            pods.name,
        )
        self.rbac("ztunnel", enforced, replace(call, auth=None))

    def at_ztunnel(self, policy: Mapping[str, Any]) -> Mapping[str, Any] | None:
        """ztunnel's view of a policy, made once (so its rule index is made once too)."""
        found = self._ztunnel.get(id(policy))
        if found is None or found[0] is not policy:
            found = self._ztunnel[id(policy)] = (policy, ambient.at_ztunnel(policy))
        return found[1]

    def enforcers(self, fqdn: str) -> list[Pods]:
        """The proxies whose policies decide at an app reached from the gateway: its sidecar, or
        its waypoint (where the gateway sends through it) and ztunnel."""
        pods = self.pods_of(fqdn)
        namespace_labels = self.namespaces.get(pods.namespace)
        if not ambient.in_ambient(namespace_labels, pods.labels, self.env.dataplane == "ambient"):
            return [pods] if ambient.injected(namespace_labels, pods.labels) else []
        service = self.service(fqdn)
        waypoint = ambient.waypoint_of(service, pods.namespace, namespace_labels or {})
        if waypoint is not None and ambient.ingress_uses_waypoint(service, namespace_labels or {}):
            return [ambient.waypoint_pods(*waypoint, ((pods.namespace, fqdn.split(".")[0]),)), pods]
        return [pods]

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
                if selector and all(pod_labels(d).get(k) == v for k, v in selector.items())
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
        namespace = fqdn.split(".")[1] if "." in fqdn else "default"
        service = self.service(fqdn)
        deployment = self.deployment_for(service) if service else None
        if deployment is not None:
            labels: Mapping[str, str] = pod_labels(deployment)
        else:  # the app's pods are not rendered: the environment says what labels they carry
            labels = self.env.service_labels.get(fqdn, {})
        return Pods(f"{namespace}/{labels_text(labels)}", namespace, labels)


# --- small readers -----------------------------------------------------------------------------------


def _action(policies: Sequence[Mapping[str, Any]], action: str) -> list[Mapping[str, Any]]:
    return [p for p in policies if ((p.get("spec") or {}).get("action") or "ALLOW") == action]


def pod_labels(deployment: Mapping[str, Any]) -> Mapping[str, str]:
    return (((deployment.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("labels") or {}
