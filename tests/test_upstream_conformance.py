"""Every object meshauth emits validates strictly against the upstream CRDs in ../shared/ref/crds
(newest and released) and, for core kinds, against the Kubernetes schemas of the target version."""

from __future__ import annotations

import copy

import pytest
import yaml
from conftest import EXAMPLES, OVERLAYS, ROOT, VALID_CASES
from upstream import UpstreamSchemas, require_ref

import meshauth
from meshauth.validation.validate import is_core_group

ISTIO_VERSIONS = ["1.9", "1.10", "1.13", "1.14", "1.16", "1.17", "1.21", "1.22", "1.26", "1.30"]


def _configs():
    for example in EXAMPLES:
        yield example.stem, meshauth.load_config(example)
        for overlay in OVERLAYS:
            yield f"{example.stem}+{overlay.stem}", meshauth.load_config(example, overlays=[overlay])
    for case in VALID_CASES:
        yield f"case-{case.stem}", meshauth.load_config(case)
    base = yaml.safe_load((ROOT / "examples" / "quickstart.yaml").read_text())
    for version in ISTIO_VERSIONS:
        for install in ("istioctl", "helm"):
            data = copy.deepcopy(base)
            data["spec"]["platform"]["istioVersion"] = version
            data["spec"]["mesh"] = {"install": install}
            yield f"istio-{version}-{install}", meshauth.load_config(data)


CONFIGS = dict(_configs())


@pytest.fixture(scope="module", params=["newest", "released"])
def schemas(request):
    return getattr(UpstreamSchemas, request.param)(require_ref())


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_custom_resources_validate_against_upstream_crds(schemas, name):
    bundle = meshauth.render(CONFIGS[name])
    custom = [o for o in bundle.objects if not is_core_group(o["apiVersion"])]
    assert custom, "every bundle has Istio and cert-manager objects"
    problems = [error for obj in custom for error in schemas.errors(obj)]
    assert problems == []
    assert all(schemas.knows(o["apiVersion"], o["kind"]) for o in custom)


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_core_objects_validate_against_kubernetes_schemas(name):
    bundle = meshauth.render(CONFIGS[name])
    findings = meshauth.validate(bundle)
    assert [str(f) for f in findings if f.severity == "error"] == []
    assert any(is_core_group(o["apiVersion"]) for o in bundle.objects)


def test_kubernetes_schema_validation_catches_a_broken_core_object():
    bundle = meshauth.render(CONFIGS["seed"])
    broken = copy.deepcopy(list(bundle.objects))
    deployment = next(o for o in broken if o["kind"] == "Deployment")
    deployment["spec"]["replicas"] = "two"
    deployment["spec"]["template"]["spec"]["bogus"] = True
    old_ingress_class = {
        "apiVersion": "networking.k8s.io/v1beta1",
        "kind": "IngressClass",
        "metadata": {"name": "istio"},
        "spec": {"controller": "istio.io/ingress-controller"},
    }
    findings = meshauth.validate([*broken, old_ingress_class], kubernetes_version="1.30")
    messages = [f"{f.object} {f.path}: {f.message}" for f in findings if f.rule == "schema"]
    assert any("spec.replicas: must be of type" in m for m in messages), messages
    assert any("bogus" in m for m in messages), messages
    removed = [f for f in findings if f.rule == "MA014"]
    assert [(f.object, f.path) for f in removed] == [("IngressClass istio", "apiVersion")]
    assert "removed in Kubernetes 1.22" in removed[0].message and "networking.k8s.io/v1" in removed[0].message
