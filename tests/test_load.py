"""Loading: files, dicts and models; overlays merge maps, replace lists, and null removes."""

from __future__ import annotations

import copy

import pytest
import yaml
from conftest import ROOT

import meshauth
from meshauth.config.load import merge

QUICKSTART = ROOT / "examples" / "quickstart.yaml"


def test_merge_semantics():
    base = {"a": {"x": 1, "y": [1, 2]}, "b": 1, "c": {"keep": True}}
    overlay = {"a": {"y": [3], "z": 2}, "b": None, "d": {"new": 1}}
    assert merge(base, overlay) == {"a": {"x": 1, "y": [3], "z": 2}, "c": {"keep": True}, "d": {"new": 1}}
    assert base == {"a": {"x": 1, "y": [1, 2]}, "b": 1, "c": {"keep": True}}  # inputs untouched


def test_null_in_an_overlay_removes_a_key_and_restores_the_default(tmp_path):
    overlay = tmp_path / "o.yaml"
    overlay.write_text("spec:\n  oauth2Proxy:\n    cookie:\n      refresh: null\n")
    config = meshauth.load_config(QUICKSTART, overlays=[overlay])
    assert config.spec.oauth2_proxy.cookie.refresh == "1h"


def test_an_overlay_replaces_lists(tmp_path):
    overlay = tmp_path / "o.yaml"
    overlay.write_text("spec:\n  apps:\n    - {name: one, host: one.example.com}\n")
    config = meshauth.load_config(QUICKSTART, overlays=[overlay])
    assert [a.name for a in config.spec.apps] == ["one"]


def test_dict_file_and_model_sources_agree():
    data = yaml.safe_load(QUICKSTART.read_text())
    from_file = meshauth.load_config(QUICKSTART)
    from_dict = meshauth.load_config(data)
    from_model = meshauth.load_config(from_file)
    assert from_file == from_dict == from_model
    assert meshauth.render(from_model).to_yaml() == meshauth.render(QUICKSTART).to_yaml()


def test_a_loaded_model_takes_overlays(tmp_path):
    overlay = tmp_path / "o.yaml"
    overlay.write_text("spec:\n  oauth2Proxy:\n    replicas: 3\n")
    config = meshauth.load_config(meshauth.load_config(QUICKSTART), overlays=[overlay])
    assert config.spec.oauth2_proxy.replicas == 3
    assert config.spec.apps[1].all_hosts == ["docs.example.com", "www.docs.example.com"]


def test_defaults_of_the_contract():
    spec = meshauth.load_config(QUICKSTART).spec
    assert spec.platform.kubernetes_version == "1.30"
    assert (spec.mesh.root_namespace, spec.mesh.mtls, spec.mesh.extension_provider, spec.mesh.install) == (
        "istio-system",
        "STRICT",
        "oauth2-proxy",
        "istioctl",
    )
    assert (spec.ingress.namespace, spec.ingress.selector, spec.ingress.gateway) == (
        "istio-system",
        {"app": "istio-ingressgateway"},
        "meshauth",
    )
    issuer = spec.tls.issuer
    assert (issuer.name, issuer.kind, issuer.create, issuer.acme.solver) == (
        "letsencrypt",
        "ClusterIssuer",
        True,
        "http01",
    )
    assert issuer.acme.server == "https://acme-v02.api.letsencrypt.org/directory"
    assert spec.identity.preset == "generic" and spec.identity.scopes == ["openid", "email", "profile"]
    assert (spec.secret.name, spec.secret.source) == ("oauth2-proxy", "existing")
    proxy = spec.oauth2_proxy
    assert (proxy.image, proxy.namespace, proxy.replicas) == (
        "quay.io/oauth2-proxy/oauth2-proxy",
        "oauth2-proxy",
        1,
    )
    assert (proxy.cookie.name, proxy.cookie.secure, proxy.cookie.same_site, proxy.cookie.expire) == (
        "_oauth2_proxy_istio_ingressgateway",
        True,
        "lax",
        "4h",
    )
    assert proxy.cookie.domains == [] and proxy.whitelist_domains == [] and proxy.email_domains == ["*"]
    assert proxy.session_store.type == "cookie" and proxy.extra_args == {}
    docs = spec.apps[1]
    assert (docs.namespace, docs.service.name, docs.service.port, docs.selector) == (
        "docs",
        "docs",
        80,
        {"app": "docs"},
    )
    assert docs.authorization.audiences == [] and docs.deploy is None


def test_an_error_names_the_overlay_that_set_the_value(tmp_path):
    overlay = tmp_path / "prod.yaml"
    overlay.write_text("spec:\n  apps:\n    - {name: Bad, host: bad.example.com}\n")
    with pytest.raises(meshauth.ConfigError) as caught:
        meshauth.load_config(QUICKSTART, overlays=[overlay])
    (problem,) = caught.value.problems
    assert (problem.file, problem.path) == (str(overlay), "spec.apps[0].name")


def test_a_missing_required_field_is_blamed_on_the_base_file(tmp_path):
    data = yaml.safe_load(QUICKSTART.read_text())
    del data["spec"]["identity"]["clientId"]
    base = tmp_path / "base.yaml"
    base.write_text(yaml.safe_dump(data))
    overlay = tmp_path / "o.yaml"
    overlay.write_text("spec: {oauth2Proxy: {replicas: 2}}\n")
    with pytest.raises(meshauth.ConfigError) as caught:
        meshauth.load_config(base, overlays=[overlay])
    assert [str(p) for p in caught.value.problems] == [f"{base}: spec.identity.clientId: required"]


def test_all_problems_are_reported_at_once():
    data = yaml.safe_load(QUICKSTART.read_text())
    data["spec"]["apps"][0]["host"] = "UPPER.example.com"
    data["spec"]["apps"][1]["service"] = {"port": 0}
    data["spec"]["mesh"] = {"mtls": "OFF"}
    with pytest.raises(meshauth.ConfigError) as caught:
        meshauth.load_config(copy.deepcopy(data))
    assert {p.path for p in caught.value.problems} == {
        "spec.apps[0].host",
        "spec.apps[1].service.port",
        "spec.mesh.mtls",
    }
