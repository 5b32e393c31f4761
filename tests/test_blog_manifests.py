"""The original blog post's hand-written manifests (tests/manifests/blog), through the CLI."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import ROOT

import meshauth

BLOG = ROOT / "tests" / "manifests" / "blog"


def run(*args):
    return subprocess.run([sys.executable, "-m", "meshauth", *args], capture_output=True, text=True, cwd=ROOT)


def test_validate_manifests_reports_what_is_wrong_with_the_blog_setup():
    result = run("validate", "--manifests", str(BLOG), "--istio-version", "1.11", "--output", "json")
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert report["valid"] is False
    found = {(f["rule"], f["severity"], f["object"], f["path"]) for f in report["findings"]}
    assert found == {
        ("MA014", "error", "IngressClass istio", "apiVersion"),
        ("MA003", "error", "AuthorizationPolicy istio-system/oauth2-proxy", "spec.rules"),
        (
            "MA018",
            "warning",
            "Deployment oauth2-proxy/oauth2-proxy",
            "spec.template.spec.containers[0].args[10]",
        ),
    }
    removed = next(f for f in report["findings"] if f["rule"] == "MA014")
    assert removed["file"].endswith("cert-manager.yaml")
    assert "networking.k8s.io/v1beta1 was removed in Kubernetes 1.22" in removed["message"]


def test_text_output_names_file_object_path_severity_and_rule():
    result = run("validate", "--manifests", str(BLOG / "cert-manager.yaml"))
    assert result.returncode == 1
    first = result.stdout.splitlines()[0]
    assert first.startswith(f"{BLOG / 'cert-manager.yaml'}: IngressClass istio: apiVersion: error MA014: ")
    assert result.stdout.splitlines()[-1].endswith("1 error(s), 0 warning(s)")


def test_the_blog_still_works_on_the_kubernetes_it_was_written_for():
    findings = meshauth.validate(
        meshauth.load_manifests([BLOG]), kubernetes_version="1.21", istio_version="1.11"
    )
    assert {f.rule for f in findings if f.severity == "error"} == {"MA003"}


def test_the_mesh_config_is_found_in_the_istio_operator():
    manifests = meshauth.load_manifests([BLOG])
    assert [s.label for s in manifests.mesh] == ["IstioOperator istio-system/istio"]
    assert len(manifests.objects) == len(manifests.files) == 17


def test_validate_takes_a_config_or_manifests_not_both_nor_neither():
    assert run("validate").returncode == 2
    both = run("validate", "examples/seed.yaml", "--manifests", str(BLOG))
    assert both.returncode == 2 and "either CONFIG or --manifests" in both.stderr


def test_a_missing_manifest_path_is_an_input_error():
    result = run("validate", "--manifests", "no/such/folder")
    assert result.returncode == 1
    assert "no/such/folder: no such file or folder" in result.stderr


def test_validate_config_keeps_working_and_reports_in_json():
    result = run("validate", "examples/seed.yaml", "--output", "json")
    assert result.returncode == 0, result.stdout
    report = json.loads(result.stdout)
    assert report["valid"] is True
    # The seed keeps the blog's stand-ins (example.com, a placeholder client id), which warn, and
    # the blog's Istio 1.11 cannot hand a refreshed cookie to the browser.
    assert report["findings"], "the seed's placeholders are reported"
    assert {(f["rule"], f["severity"]) for f in report["findings"]} == {
        ("MA066", "warning"),
        ("config", "warning"),
    }
    assert [f["path"] for f in report["findings"] if f["rule"] == "config"] == [
        "spec.oauth2Proxy.cookie.refresh"
    ]
    assert all(
        f["file"] == "examples/seed.yaml" and f["path"].startswith("spec.") for f in report["findings"]
    )
