"""Istio's own API types accept what meshauth renders: every Istio object and the mesh config
(extension providers included, from the IstioOperator overlay, the istiod Helm values and an
``istio`` ConfigMap), parsed by istio.io/api with unknown fields refused (tests/istioapi.py), for
every example and valid test config, at each Istio version a served istio.io/api release covers."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml
from conftest import ROOT
from istioapi import KINDS, RELEASES, check

import meshauth

CONFIGS = sorted([*ROOT.glob("examples/*.yaml"), *ROOT.glob("tests/cases/valid/*.yaml")])


def _mesh_config(obj: dict[str, Any]) -> dict[str, Any] | None:
    if obj.get("kind") == "IstioOperator":
        return obj["spec"].get("meshConfig")
    if obj.get("kind") == "ConfigMap":
        return yaml.safe_load(obj["data"]["mesh"])
    return obj.get("meshConfig")  # istiod Helm values


def items(bundle: meshauth.Bundle) -> list[tuple[str, str, Any]]:
    found = [
        (f"{o['kind']}/{o['metadata']['name']}", o["kind"], o.get("spec") or {})
        for o in bundle.objects
        if o["kind"] in KINDS and o["apiVersion"].partition("/")[0].endswith("istio.io")
    ]
    mesh = _mesh_config(bundle.mesh_config) if bundle.mesh_config else None
    if mesh is not None:
        found.append(("mesh config", "MeshConfig", mesh))
    return found


def at(path, istio: str) -> meshauth.Bundle | None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data = copy.deepcopy(data)
    data["spec"].setdefault("platform", {})["istioVersion"] = istio
    try:
        return meshauth.render(meshauth.load_config(data))
    except meshauth.ConfigError:
        return None  # a feature this Istio lacks (ambient before 1.25, ...): refused, not rendered


@pytest.mark.parametrize("istio", sorted(RELEASES), ids=[f"istio-{v}" for v in sorted(RELEASES)])
def test_istio_api_types_accept_every_rendered_object_and_mesh_config(istio):
    release = RELEASES[istio]
    labelled = []
    for path in CONFIGS:
        bundle = at(path, istio)
        if bundle is not None:
            labelled += [
                (f"{path.relative_to(ROOT)}: {label}", kind, spec) for label, kind, spec in items(bundle)
            ]
    errors = check(release, [(kind, spec) for _, kind, spec in labelled])
    assert [f"{label}: {e}" for (label, _, _), e in zip(labelled, errors) if e] == []
    assert len(labelled) > 100
    assert {kind for _, kind, _ in labelled} >= {"AuthorizationPolicy", "RequestAuthentication", "MeshConfig"}


def test_helm_values_and_the_istio_configmap_carry_the_same_accepted_mesh_config():
    data = yaml.safe_load((ROOT / "examples" / "quickstart.yaml").read_text(encoding="utf-8"))
    data["spec"]["platform"]["istioVersion"] = "1.32"
    data["spec"].setdefault("mesh", {})["install"] = "helm"
    values = meshauth.render(meshauth.load_config(data)).mesh_config
    mesh = values["meshConfig"]
    configmap = {"kind": "ConfigMap", "metadata": {"name": "istio"}, "data": {"mesh": yaml.safe_dump(mesh)}}
    assert check("v1.32.0", [("MeshConfig", mesh), ("MeshConfig", _mesh_config(configmap))]) == [None, None]


@pytest.mark.parametrize("release", sorted(set(RELEASES.values())))
def test_unknown_fields_are_refused(release):
    provider = {
        "name": "oauth2-proxy",
        "envoyExtAuthzHttp": {"service": "s", "port": 4180, "headersToUpstream": []},
    }
    errors = check(
        release,
        [
            ("AuthorizationPolicy", {"action": "CUSTOM", "provider": {"name": "x"}, "rule": []}),
            ("MeshConfig", {"extensionProviders": [provider]}),
        ],
    )
    assert errors[0] is not None and 'unknown field "rule"' in errors[0]
    assert errors[1] is not None and 'unknown field "headersToUpstream"' in errors[1]


def test_a_field_newer_than_the_release_is_refused_by_it():
    # jwtRules[].presence came with Istio 1.32 (istio.io/api v1.32.0)
    spec = {"jwtRules": [{"issuer": "https://idp.example.com", "presence": "REQUIRED"}]}
    assert check("v1.32.0", [("RequestAuthentication", spec)]) == [None]
    [error] = check("v1.31.4", [("RequestAuthentication", spec)])
    assert error is not None and 'unknown field "presence"' in error
