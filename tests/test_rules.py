"""Cross-resource rules: each has a case that passes and one that fails."""

from __future__ import annotations

import copy

from conftest import ROOT

import meshauth

SEED = meshauth.render(ROOT / "examples" / "seed.yaml")


def rule_ids(findings):
    return {f.rule for f in findings}


def test_rendered_bundles_have_no_rule_findings():
    assert [f for f in meshauth.validate(SEED) if f.rule.startswith("MA")] == []


def test_ma001_custom_policy_names_an_undefined_provider():
    objects = copy.deepcopy(list(SEED.objects))
    login = next(o for o in objects if o["kind"] == "AuthorizationPolicy" and o["spec"]["action"] == "CUSTOM")
    login["spec"]["provider"]["name"] = "oauth2proxy"
    from meshauth import rules

    findings = rules.check(objects, SEED.mesh_config)
    assert [(f.rule, f.object, f.path) for f in findings] == [
        ("MA001", "AuthorizationPolicy istio-system/blog-login", "spec.provider.name")]
    assert "denies every request" in findings[0].message


def test_ma001_needs_a_mesh_config_to_judge():
    from meshauth import rules

    assert rules.check(list(SEED.objects), None) == []


def test_validate_raises_on_request():
    objects = copy.deepcopy(list(SEED.objects))
    next(o for o in objects if o["kind"] == "Deployment")["spec"]["replicas"] = "x"
    try:
        meshauth.validate(objects, raise_on_error=True)
    except meshauth.ValidationFailed as failure:
        assert failure.findings[0].rule == "schema"
    else:  # pragma: no cover
        raise AssertionError("expected ValidationFailed")
