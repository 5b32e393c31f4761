"""Version decisions: which apiVersions and fields each Istio / oauth2-proxy version gets."""

from __future__ import annotations

import copy

import pytest
import yaml
from conftest import ROOT

import meshauth

BASE = yaml.safe_load((ROOT / "examples" / "seed.yaml").read_text())


def render(istio="1.11", proxy="v7.2.0"):
    data = copy.deepcopy(BASE)
    data["spec"]["platform"]["istioVersion"] = istio
    data["spec"]["oauth2Proxy"]["version"] = proxy
    return meshauth.render(data)


def api_versions(bundle):
    return {o["kind"]: o["apiVersion"] for o in bundle.objects}


@pytest.mark.parametrize(
    "istio, security, peer, networking",
    [
        ("1.9", "security.istio.io/v1beta1", "security.istio.io/v1beta1", "networking.istio.io/v1beta1"),
        ("1.16", "security.istio.io/v1beta1", "security.istio.io/v1beta1", "networking.istio.io/v1beta1"),
        ("1.17", "security.istio.io/v1", "security.istio.io/v1beta1", "networking.istio.io/v1beta1"),
        ("1.21", "security.istio.io/v1", "security.istio.io/v1beta1", "networking.istio.io/v1beta1"),
        ("1.22", "security.istio.io/v1", "security.istio.io/v1", "networking.istio.io/v1"),
        ("1.30", "security.istio.io/v1", "security.istio.io/v1", "networking.istio.io/v1"),
    ],
)
def test_istio_api_versions(istio, security, peer, networking):
    versions = api_versions(render(istio))
    assert versions["AuthorizationPolicy"] == versions["RequestAuthentication"] == security
    assert versions["PeerAuthentication"] == peer
    assert versions["Gateway"] == versions["VirtualService"] == networking
    assert versions["IngressClass"] == "networking.k8s.io/v1"
    assert versions["Certificate"] == versions["ClusterIssuer"] == "cert-manager.io/v1"


@pytest.mark.parametrize(
    "istio, include_key, on_allow",
    [
        ("1.9", "includeHeadersInCheck", False),
        ("1.10", "includeRequestHeadersInCheck", False),
        ("1.13", "includeRequestHeadersInCheck", False),
        ("1.14", "includeRequestHeadersInCheck", True),
    ],
)
def test_extension_provider_fields(istio, include_key, on_allow):
    provider = render(istio).mesh_config["spec"]["meshConfig"]["extensionProviders"][0]
    http = provider["envoyExtAuthzHttp"]
    assert http[include_key] == ["authorization", "cookie"]
    assert {"includeHeadersInCheck", "includeRequestHeadersInCheck"} - {include_key} & set(http) == set()
    assert ("headersToDownstreamOnAllow" in http) is on_allow
    assert http["headersToDownstreamOnDeny"] == ["content-type", "set-cookie"]
    assert http["service"] == "oauth2-proxy.oauth2-proxy.svc.cluster.local" and http["port"] == 4180


def _proxy(bundle):
    return next(
        o for o in bundle.objects if o["kind"] == "Deployment" and o["metadata"]["name"] == "oauth2-proxy"
    )


@pytest.mark.parametrize(
    "version, ready, uid",
    [("v7.2.0", "/ping", 2000), ("v7.4.0", "/ping", 65532), ("v7.5.0", "/ready", 65532)],
)
def test_oauth2_proxy_probes_and_user_follow_the_release(version, ready, uid):
    pod = _proxy(render(proxy=version))["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["image"] == f"quay.io/oauth2-proxy/oauth2-proxy:{version}"
    assert container["livenessProbe"]["httpGet"]["path"] == "/ping"
    assert container["readinessProbe"]["httpGet"]["path"] == ready
    assert pod["securityContext"]["runAsUser"] == uid and pod["securityContext"]["runAsNonRoot"] is True


def test_default_oauth2_proxy_version_is_the_newest_known():
    data = copy.deepcopy(BASE)
    del data["spec"]["oauth2Proxy"]
    assert _proxy(meshauth.render(data))["spec"]["template"]["spec"]["containers"][0]["image"].endswith(
        ":v7.15.3"
    )


def test_oauth2_proxy_is_configured_to_answer_envoy_correctly():
    args = _proxy(render())["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "--http-address=0.0.0.0:4180" in args
    assert "--upstream=static://200" in args
    assert "--set-authorization-header=true" in args
    assert "--oidc-issuer-url=https://accounts.google.com" in args
    assert "--whitelist-domain=nginx.example.com" in args
    assert not any(a.startswith(("--client-secret", "--cookie-secret")) for a in args)


def test_extra_args_are_checked_against_the_chosen_release():
    data = copy.deepcopy(BASE)
    data["spec"]["oauth2Proxy"]["extraArgs"] = {"ready-path": "/r"}
    with pytest.raises(
        meshauth.ConfigError, match="not a flag of oauth2-proxy v7.2.0 .it appeared in v7.5.0"
    ):
        meshauth.load_config(data)
    data["spec"]["oauth2Proxy"]["version"] = "v7.5.0"
    args = _proxy(meshauth.render(data))["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[-1] == "--ready-path=/r"


def test_newer_than_known_versions_render_with_a_warning():
    bundle = render(istio="1.33", proxy="v7.99.0")
    paths = {w.path for w in bundle.warnings}
    assert paths == {"spec.platform.istioVersion", "spec.oauth2Proxy.version"}
    [istio] = [w.message for w in bundle.warnings if w.path == "spec.platform.istioVersion"]
    assert istio == (
        "Istio 1.33 is newer than the newest version meshauth knows (1.32); the 1.32 API shapes are used"
    )
    assert api_versions(bundle)["PeerAuthentication"] == "security.istio.io/v1"


@pytest.mark.parametrize("istio", ["1.31", "1.32"])
def test_istio_1_31_and_1_32_are_known(istio):
    # both only added fields meshauth does not write (istio.io/api v1.31.4, v1.32.0 against v1.30.8)
    bundle = render(istio=istio)
    assert "spec.platform.istioVersion" not in {w.path for w in bundle.warnings}
    assert api_versions(bundle) == api_versions(render(istio="1.30"))
    assert bundle.mesh_config == render(istio="1.30").mesh_config
