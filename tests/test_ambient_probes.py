"""In ambient mode the NetworkPolicies meshauth renders let the kubelet's probes through: istio-cni
SNATs them to 169.254.7.127 (Istio docs, "Ambient and Kubernetes NetworkPolicy"), and a policy that
admits only HBONE would fail every probe, so the pods never become ready."""

from __future__ import annotations

import pytest
from topology_support import config, of_kind

import meshauth

PROBE_SOURCE = {"ipBlock": {"cidr": "169.254.7.127/32"}}


def _probed_ports(deployment):
    """The container ports (by number) the kubelet's TCP/HTTP/gRPC probes reach."""
    ports = set()
    for container in deployment["spec"]["template"]["spec"]["containers"]:
        named = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            spec = container.get(probe) or {}
            for kind in ("tcpSocket", "httpGet", "grpc"):
                if kind in spec:
                    port = spec[kind]["port"]
                    ports.add(named.get(port, port))
    return ports


def _admitted_from_probe_source(policy):
    return {
        p["port"]
        for rule in policy["spec"]["ingress"]
        if PROBE_SOURCE in rule.get("from", [])
        for p in rule["ports"]
    }


def _bundle(authorizer):
    data = config(mesh={"dataplane": "ambient"}, authorizer=authorizer)
    data["spec"]["oauth2Proxy"] = {"sessionStore": {"type": "redis", "deploy": True}}
    data["spec"]["apps"][1]["deploy"] = {"image": "nginxinc/nginx-unprivileged:1.27", "containerPort": 8080}
    if authorizer == "authservice":
        data["spec"].pop("oauth2Proxy")
    return meshauth.render(data)


@pytest.mark.parametrize("authorizer", ["oauth2-proxy", "authservice"])
def test_every_probed_port_is_admitted_from_the_ambient_probe_address(authorizer):
    bundle = _bundle(authorizer)
    policies = {
        (p["metadata"]["namespace"], p["metadata"]["name"]): p for p in of_kind(bundle, "NetworkPolicy")
    }
    deployments = of_kind(bundle, "Deployment")
    assert len(deployments) >= 2
    for deployment in deployments:
        key = (deployment["metadata"]["namespace"], deployment["metadata"]["name"])
        probed = _probed_ports(deployment)
        assert probed, key
        assert _admitted_from_probe_source(policies[key]) == probed, key
        assert {"ports": [{"protocol": "TCP", "port": 15008}]} in policies[key]["spec"]["ingress"]


def test_with_sidecars_the_probe_address_is_not_admitted():
    bundle = meshauth.render(config())
    assert not [p for p in of_kind(bundle, "NetworkPolicy") if _admitted_from_probe_source(p)]
