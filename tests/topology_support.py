"""Helpers for the topology tests: configs per mode, and what a bundle routes and protects."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

import yaml
from conftest import ROOT

import meshauth

BASE = yaml.safe_load((ROOT / "examples" / "quickstart.yaml").read_text())
EXTERNAL = {
    "name": "wiki",
    "host": "wiki.example.com",
    "upstream": {"host": "wiki.internal.example.net"},
    "publicPaths": ["/status"],
}

# mode name -> (spec overrides); every mode serves the same apps and external service.
MODES: dict[str, dict[str, Any]] = {
    "sidecar": {},
    "gateway-api": {"ingress": {"api": "gateway-api"}},
    "ambient": {"mesh": {"dataplane": "ambient"}},
    "ambient+gateway-api": {"mesh": {"dataplane": "ambient"}, "ingress": {"api": "gateway-api"}},
    "authservice": {"authorizer": "authservice"},
    "envoyfilter": {"platform": {"istioVersion": "1.8"}},
}


def config(
    istio: str = "1.30", kubernetes: str = "1.30", external: bool = True, **spec: Any
) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    data["spec"]["platform"] = {"istioVersion": istio, "kubernetesVersion": kubernetes}
    if external:
        data["spec"]["externalServices"] = [copy.deepcopy(EXTERNAL)]
    for key, value in spec.items():
        current = data["spec"].get(key)
        data["spec"][key] = {**current, **value} if isinstance(current, dict) else value
    return data


def render_mode(mode: str, istio: str = "1.30", **kwargs: Any) -> meshauth.Bundle:
    overrides = copy.deepcopy(MODES[mode])
    platform = overrides.pop("platform", {})
    data = config(istio=platform.get("istioVersion", istio), **kwargs, **overrides)
    return meshauth.render(data)


def of_kind(bundle: meshauth.Bundle, kind: str) -> list[dict[str, Any]]:
    return [o for o in bundle.objects if o["kind"] == kind]


def _bare(hosts: Iterable[str]) -> set[str]:
    return {h.split(":", 1)[0] for h in hosts}


def routed_hosts(bundle: meshauth.Bundle) -> set[str]:
    """Hosts the ingress routes somewhere: VirtualServices bound to it, HTTPRoutes attached to it."""
    hosts = set()
    for vs in of_kind(bundle, "VirtualService"):
        if vs["spec"].get("gateways"):
            hosts |= set(vs["spec"]["hosts"])
    for route in of_kind(bundle, "HTTPRoute"):
        if any("backendRefs" in rule for rule in route["spec"]["rules"]):
            hosts |= set(route["spec"]["hostnames"])
    return hosts


def login_hosts(bundle: meshauth.Bundle) -> set[str]:
    """Hosts whose requests go through the login: CUSTOM rules, or the EnvoyFilter's SNI chains."""
    hosts: set[str] = set()
    for policy in of_kind(bundle, "AuthorizationPolicy"):
        if policy["spec"].get("action") == "CUSTOM":
            for rule in policy["spec"]["rules"]:
                hosts |= _bare(rule["to"][0]["operation"]["hosts"])
    servers = {
        h: s["hosts"]
        for g in of_kind(bundle, "Gateway")
        for s in g["spec"].get("servers", [])
        for h in s["hosts"]
    }
    for envoy_filter in of_kind(bundle, "EnvoyFilter"):
        for patch in envoy_filter["spec"]["configPatches"]:
            sni = patch["match"].get("listener", {}).get("filterChain", {}).get("sni")
            if patch["applyTo"] == "HTTP_FILTER" and sni:
                hosts |= set(servers[sni])  # Istio's filter chain for a server holds all its hosts
    return hosts


def token_hosts(bundle: meshauth.Bundle) -> set[str]:
    """Hosts for which the gateway's ALLOW policy demands a token (outside the open paths)."""
    hosts: set[str] = set()
    for policy in of_kind(bundle, "AuthorizationPolicy"):
        for rule in policy["spec"].get("rules", []):
            keys = {c["key"] for c in rule.get("when", [])}
            operation = (rule.get("to") or [{}])[0].get("operation", {})
            if policy["metadata"]["namespace"] == "istio-system" and "request.auth.audiences" in keys:
                hosts |= _bare(operation.get("hosts", []))
    return hosts
