"""``--crds``: validation against user-supplied CRDs (meshauth/validation/schemas/usercrds.py), CEL rules included.

The reference CRDs stand in for "the CRDs of your cluster"; they are read in place (and written
as a ``kind: List`` into a temporary folder, as ``kubectl get crd -o yaml`` would print them).
tests/upstream.py stays an independent implementation of the same strictness: the two must agree
on every harness case.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys

import pytest
import yaml
from conftest import ROOT
from test_crd_schemas import CASES as INVALID_CASES
from test_upstream_conformance import CONFIGS
from test_upstream_harness import CASES as HARNESS_CASES
from test_upstream_harness import istio_gateway, request_authentication
from upstream import UpstreamSchemas, require_ref

import meshauth
from meshauth.validation.schemas import cel as celrules
from meshauth.validation.schemas import usercrds as crds

QUICKSTART = ROOT / "examples" / "quickstart.yaml"


@pytest.fixture(scope="module", params=["newest", "released"])
def crd_files(request):
    ref = require_ref() / "crds"
    top = sorted(ref.glob("*.yaml"))
    if request.param == "newest":
        return top
    released = sorted((ref / "released").glob("*.yaml"))
    replaced = {
        "istio-crds.yaml",
        "cert-manager-certificates.yaml",
        "cert-manager-clusterissuers.yaml",
        "cert-manager-issuers.yaml",
        "argocd-application-crd.yaml",
    }
    gateway_api = {p for p in top if p.name.startswith("gateway-api")}
    return released + [p for p in top if p.name not in replaced and p not in gateway_api]


@pytest.fixture(scope="module")
def crd_set(crd_files):
    return crds.load_crds(crd_files)


@pytest.fixture(scope="module")
def upstream():
    return UpstreamSchemas.newest(require_ref())


def schema_findings(findings):
    return [str(f) for f in findings if f.rule == "schema"]


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_rendered_bundles_validate_against_the_given_crds(crd_set, name):
    findings = meshauth.validate(meshauth.render(CONFIGS[name]), crds=crd_set)
    assert [str(f) for f in findings if f.severity == "error"] == []


@pytest.mark.parametrize(
    "kind,name,make,mutate", INVALID_CASES, ids=[f"{c[0]}-{c[1]}" for c in INVALID_CASES]
)
def test_invalid_objects_are_rejected_against_the_given_crds(crd_set, kind, name, make, mutate):
    valid = make()
    assert crd_set.findings(valid) == []
    broken = copy.deepcopy(valid)
    mutate(broken)
    assert crd_set.findings(broken) or any(
        f.rule == "MA014" for f in meshauth.validate([broken], crds=crd_set)
    )


@pytest.fixture(scope="module")
def newest_set():
    return crds.load_crds(sorted((require_ref() / "crds").glob("*.yaml")))


@pytest.mark.parametrize("case", HARNESS_CASES, ids=[c.id for c in HARNESS_CASES])
def test_agrees_with_the_test_harness(upstream, newest_set, case):
    crd_set = newest_set
    valid = case.make()
    broken_field = copy.deepcopy(valid)
    broken_field["spec"]["bogus"] = True
    for obj in (valid, broken_field):
        ours = {f.path for f in crd_set.findings(obj)}
        theirs = {e.split(": ")[1] for e in upstream.errors(obj)}
        assert ours == theirs, (ours, theirs)


def test_kubectl_get_crd_output_is_a_list(tmp_path):
    crd_docs = [d for d in yaml.safe_load_all((require_ref() / "crds" / "istio-crds.yaml").read_text()) if d]
    listing = tmp_path / "crds.yaml"
    listing.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": crd_docs}))
    crd_set = crds.load_crds([tmp_path])
    assert ("security.istio.io", "AuthorizationPolicy") in crd_set.crds
    assert crd_set.sources[("security.istio.io", "AuthorizationPolicy")] == str(listing)


def test_unknown_kind_and_unserved_version_are_reported(crd_set):
    policy = request_authentication("v1")
    policy["kind"] = "RequestAuthn"
    [finding] = crd_set.findings(policy)
    assert (finding.path, finding.rule) == (
        "kind",
        "schema",
    ) and "define no kind RequestAuthn" in finding.message
    old = request_authentication("v1alpha1")
    [finding] = crd_set.findings(old)
    assert finding.path == "apiVersion" and "served: v1, v1beta1" in finding.message


def test_no_crds_is_an_input_error(tmp_path):
    (tmp_path / "empty.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    with pytest.raises(meshauth.ConfigError, match="no CustomResourceDefinition found"):
        crds.load_crds([tmp_path])


# --- CEL ------------------------------------------------------------------------------------------

needs_cel = pytest.mark.skipif(not celrules.available(), reason="common-expression-language is not installed")


@needs_cel
def test_cel_rules_are_evaluated(crd_set):
    rule = request_authentication("v1")
    rule["spec"]["jwtRules"][0]["jwks"] = '{"keys": []}'
    [finding] = crd_set.findings(rule)
    assert (finding.path, finding.message) == ("spec.jwtRules[0]", "only one of jwks or jwksUri can be set")
    gateway = istio_gateway("v1")
    gateway["spec"]["servers"][0]["tls"]["credentialNames"] = ["a", "b"]
    assert [f.message for f in crd_set.findings(gateway)] == [
        "only one of credentialName or credentialNames can be set"
    ]


@needs_cel
def test_cel_rules_with_kubernetes_library_functions(crd_set):
    peer = {
        "apiVersion": "security.istio.io/v1",
        "kind": "PeerAuthentication",
        "metadata": {"name": "p", "namespace": "a"},
        "spec": {"portLevelMtls": {"8080": {"mode": "DISABLE"}}},
    }
    assert [f.message for f in crd_set.findings(peer)] == ["portLevelMtls requires selector"]
    peer["spec"]["selector"] = {"matchLabels": {"app": "a"}}
    assert crd_set.findings(peer) == []


@needs_cel
def test_substring_as_kubernetes_defines_it():
    # ServiceEntry's rule for unix socket endpoints (Istio's CRD) calls substring
    rule = 'self.startsWith("unix://") ? (self.substring(7, 8) == "/" || self.substring(7, 8) == "@") : true'
    assert celrules.evaluate(rule, "unix:///var/run/sock") is True
    assert celrules.evaluate(rule, "unix://relative") is False
    assert celrules.evaluate('self.substring(2) == "cd"', "abcd") is True
    assert "out of range" in celrules.evaluate('self.substring(3, 9) == ""', "abcd")


def test_unsupported_and_transition_rules_are_skipped():
    assert celrules.evaluate("quantity(self).isInteger()", "1") is None or not celrules.available()
    schema = {
        "type": "object",
        "x-kubernetes-validations": [{"rule": "self == oldSelf", "message": "immutable"}],
    }
    assert list(celrules.problems(schema, {"a": 1})) == []


def test_without_cel_one_warning_says_the_rules_were_skipped(crd_set, monkeypatch):
    monkeypatch.setattr(celrules, "available", lambda: False)
    rule = request_authentication("v1")
    rule["spec"]["jwtRules"][0]["jwks"] = '{"keys": []}'
    findings = meshauth.validate([rule, copy.deepcopy(rule)], crds=crd_set)
    assert [(f.rule, f.severity) for f in findings] == [("schema", "warning")]
    assert (
        "pip install 'meshauth[cel]'" in findings[0].message
        and "RequestAuthentication" in findings[0].message
    )


def test_cli_crds_option(tmp_path):
    bad = tmp_path / "bad.yaml"
    rule = request_authentication("v1")
    rule["spec"]["jwtRules"][0]["bogus"] = 1
    bad.write_text(yaml.safe_dump(rule))
    istio = require_ref() / "crds" / "istio-crds.yaml"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "meshauth",
            "validate",
            "--manifests",
            str(bad),
            "--crds",
            str(istio),
            "--output",
            "json",
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1, result.stderr
    [finding] = [
        f for f in json.loads(result.stdout)["findings"] if f["severity"] == "error"
    ]  # (+ a CEL notice without CEL)
    assert (finding["rule"], finding["path"], finding["file"]) == (
        "schema",
        "spec.jwtRules[0].bogus",
        str(bad),
    )
    assert "known here:" in finding["message"]


CEL_BUILTINS = {
    "has",
    "all",
    "exists",
    "exists_one",
    "map",
    "filter",
    "size",
    "matches",
    "contains",
    "startsWith",
    "endsWith",
    "int",
    "uint",
    "double",
    "string",
    "bool",
    "duration",
    "timestamp",
    "type",
    "dyn",
}


def test_every_cel_rule_of_the_emitted_kinds_uses_only_evaluated_functions():
    import re

    import yaml as pyyaml
    from test_crd_schemas import EMITTED

    rules = set()
    for path in sorted((require_ref() / "crds").rglob("*.yaml")):
        for doc in pyyaml.load_all(
            path.read_text(), Loader=getattr(pyyaml, "CSafeLoader", pyyaml.SafeLoader)
        ):
            if not doc or doc.get("kind") != "CustomResourceDefinition":
                continue
            for version in doc["spec"]["versions"]:
                key = (f"{doc['spec']['group']}/{version['name']}", doc["spec"]["names"]["kind"])
                if key in EMITTED:
                    rules |= set(re.findall(r"rule: (.*)", pyyaml.safe_dump(version["schema"], width=10**6)))
    assert rules
    called = {name for rule in rules for name in re.findall(r"([A-Za-z_]\w*)\s*\(", rule)}
    assert called <= CEL_BUILTINS | set(celrules.FUNCTIONS), called - CEL_BUILTINS - set(celrules.FUNCTIONS)
