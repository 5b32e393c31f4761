"""The analyzer on the shapes people really run (Kubeflow's auth stack, istio.io's ext-authz task,
kustomize patches): no false errors, no rule lost to a crash, and a rule that still raises fails
the run instead of turning into a warning.

The Kubeflow-shaped set is tests/manifests/good/kubeflow-shaped-auth-stack.yaml (written here in
the shapes of kubeflow/manifests' common/istio, common/oauth2-proxy and dex).
"""

from __future__ import annotations

import copy

import pytest
import yaml
from conftest import ROOT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wrongkinds import each_field_of_the_wrong_kind, field_paths

import meshauth
from meshauth.cli.main import main as cli_main
from meshauth.errors import ConfigError
from meshauth.files.manifests import mesh_source
from meshauth.validation.rules import registry
from meshauth.validation.rules.facts import Facts

CASES = ROOT / "tests" / "manifests"
KUBEFLOW = CASES / "good" / "kubeflow-shaped-auth-stack.yaml"


def kubeflow() -> list[dict]:
    return [d for d in yaml.safe_load_all(KUBEFLOW.read_text(encoding="utf-8")) if d]


def find(docs, kind, name):
    return next(d for d in docs if d.get("kind") == kind and d["metadata"]["name"] == name)


def errors_of(docs, rule, **kwargs):
    findings = meshauth.validate(docs, **kwargs)
    return [f for f in findings if f.rule == rule and f.severity == "error"]


# --- false errors -------------------------------------------------------------------------------


def test_a_quoted_provider_port_reaches_the_service():
    docs = kubeflow()
    assert errors_of(docs, "MA011") == []  # port: "80" is Istio's 80
    find(docs, "Service", "oauth2-proxy")["spec"]["ports"][0]["port"] = 8080
    [finding] = errors_of(docs, "MA011")
    assert "port 80 is not a port of Service oauth2-proxy.oauth2-proxy (ports: 8080)" in finding.message


def test_root_allow_nothing_is_not_applied_where_no_sidecar_enforces_it():
    docs = kubeflow()
    assert errors_of(docs, "MA017") == []  # dex's namespace auth has no sidecars
    find(docs, "Namespace", "auth")["metadata"]["labels"] = {"istio-injection": "enabled"}
    [finding] = errors_of(docs, "MA017")  # now dex's sidecar enforces the mesh-wide allow-nothing
    assert finding.object == "AuthorizationPolicy istio-system/global-deny-all"
    assert "kubeflow.example.com/dex/* is excluded from the login" in finding.message


def test_a_public_path_is_judged_only_at_the_app_it_is_routed_to():
    docs = kubeflow()
    find(docs, "Namespace", "auth")["metadata"]["labels"] = {"istio-injection": "enabled"}
    docs.append(
        {
            "apiVersion": "security.istio.io/v1",
            "kind": "AuthorizationPolicy",
            "metadata": {"name": "dex", "namespace": "auth"},
            "spec": {"selector": {"matchLabels": {"app": "dex"}}, "rules": [{}]},
        }
    )
    # /dex/* goes to dex, which lets it through; the dashboard's ALLOW (gateway principal only) is
    # not on its way, though the dashboard serves the same host under /.
    assert errors_of(docs, "MA017") == []


@pytest.mark.parametrize("gateway_pods_listed", [True, False])
def test_a_gateway_object_in_another_namespace_is_one_gateway(gateway_pods_listed):
    docs = kubeflow()
    find(docs, "Namespace", "auth")["metadata"]["labels"] = {"istio-injection": "enabled"}
    if not gateway_pods_listed:
        docs.remove(find(docs, "Deployment", "istio-ingressgateway"))
    assert len(errors_of(docs, "MA017")) == 1


# --- misses -------------------------------------------------------------------------------------


def test_a_virtualservice_naming_a_gateway_the_set_lacks_is_an_error():
    docs = kubeflow()
    assert errors_of(docs, "MA010") == []
    find(docs, "VirtualService", "dex")["spec"]["gateways"] = ["kubeflow-gateway"]  # namespace left out
    [finding] = errors_of(docs, "MA010")
    assert finding.object == "VirtualService auth/dex" and finding.path == "spec.gateways[0]"
    assert "auth/kubeflow-gateway" in finding.message and "kubeflow/kubeflow-gateway" in finding.message


def test_a_virtualservice_for_the_mesh_or_without_gateways_in_the_set_is_not_judged():
    docs = kubeflow()
    find(docs, "VirtualService", "dex")["spec"]["gateways"] = [
        "mesh",
        "kubeflow-gateway.kubeflow.svc.cluster.local",
    ]
    assert errors_of(docs, "MA010") == []
    docs = [d for d in docs if d["kind"] != "Gateway"]
    find(docs, "VirtualService", "dex")["spec"]["gateways"] = ["knative-serving/knative-ingress-gateway"]
    assert errors_of(docs, "MA010") == []


def _provider_in(place: str, provider: dict) -> dict:
    mesh = {"rootNamespace": "istio-system", "extensionProviders": [provider]}
    if place == "IstioOperator":
        return {
            "apiVersion": "install.istio.io/v1alpha1",
            "kind": "IstioOperator",
            "metadata": {"name": "installed-state", "namespace": "istio-system"},
            "spec": {"meshConfig": mesh},
        }
    if place == "values":
        return {"global": {"hub": "docker.io/istio"}, "meshConfig": mesh}
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "istio", "namespace": "istio-system"},
        "data": {"mesh": yaml.safe_dump(mesh)},
    }


@pytest.mark.parametrize("place", ["IstioOperator", "values", "ConfigMap"])
def test_the_extension_provider_is_read_strictly_in_all_three_places(place, tmp_path):
    good = {
        "name": "oauth2-proxy",
        "envoyExtAuthzHttp": {"service": "oauth2-proxy.oauth2-proxy.svc", "port": 80},
    }
    bad = {
        "name": "oauth2-proxy",
        "port": 80,
        "envoyExtAuthzHttp": {"service": "oauth2-proxy.oauth2-proxy.svc"},
    }
    for provider, expected in ((good, 0), (bad, 1)):
        file = tmp_path / f"{place}.yaml"
        file.write_text(yaml.safe_dump(_provider_in(place, provider)))
        findings = meshauth.validate(meshauth.load_manifests([file]), istio_version="1.29")
        found = [f for f in findings if f.rule == "MA020"]
        assert len(found) == expected, [str(f) for f in findings]
    assert found[0].path.endswith("extensionProviders[0].port")
    assert "belongs inside envoyExtAuthzHttp" in found[0].message


def test_mesh_fields_follow_the_target_release():
    provider = {
        "name": "authz",
        "envoyExtAuthzHttp": {"service": "a.b.svc", "port": 80, "clearRouteCache": True},
    }
    mesh = _provider_in("values", provider)
    assert errors_of([], "MA020") == []
    found = registry.check([], mesh, istio_version=(1, 24))
    assert [f.message.split(";")[0] for f in found if f.rule == "MA020"] == [
        "clearRouteCache is a field of the mesh config only from Istio 1.25, not in Istio 1.24"
    ]
    assert [f for f in registry.check([], mesh, istio_version=(1, 25)) if f.rule == "MA020"] == []
    # snake_case is what protobuf's JSON reader accepts too
    provider["envoyExtAuthzHttp"] = {
        "service": "a.b.svc",
        "port": 80,
        "include_request_headers_in_check": ["cookie"],
    }
    assert [f for f in registry.check([], mesh, istio_version=(1, 29)) if f.rule == "MA020"] == []


def test_the_field_table_names_where_each_release_came_from():
    from meshauth.compat.meshfields import MESSAGES, SOURCES

    assert min(SOURCES) == (1, 6) and (1, 32) in SOURCES
    assert all("istio/api" in label or "istio.io/api@" in label for label in SOURCES.values())
    http = MESSAGES["MeshConfig.ExtensionProvider.EnvoyExternalAuthorizationHttpProvider"]
    assert http["include_request_headers_in_check"][1] == (1, 10)
    assert "port" not in MESSAGES["MeshConfig.ExtensionProvider"]


# --- crashes ------------------------------------------------------------------------------------

_STRICT_WITHOUT_INJECTION = """\
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: istio-system}
spec:
  mtls: {mode: STRICT}
---
apiVersion: v1
kind: Namespace
metadata: {name: apps}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: apps}
spec:
  selector: {app: web}
  ports:
  - {name: http, port: 80}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: web, namespace: apps}
spec:
  hosts: [web.example.com]
  gateways: [istio-system/web]
  http:
  - route:
    - destination: {host: web.apps.svc.cluster.local}
---
# Istio's allow-nothing policy: no spec at all
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow-nothing, namespace: apps}
"""

_PATCH_DELETE = """\
$patch: delete
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: global-deny-all, namespace: istio-system}
"""


@pytest.mark.parametrize("with_patch", [False, True])
def test_a_policy_without_spec_keeps_ma016_an_error_and_the_exit_code_1(with_patch, tmp_path, capsys):
    (tmp_path / "apps.yaml").write_text(_STRICT_WITHOUT_INJECTION)
    if with_patch:
        (tmp_path / "delete-global-deny-all.yaml").write_text(_PATCH_DELETE)
    findings = meshauth.validate(meshauth.load_manifests([tmp_path]))
    assert [(f.rule, f.severity) for f in findings] == [("MA016", "error")]
    assert "namespace apps runs meshauth workloads" in findings[0].message
    assert cli_main(["validate", "--manifests", str(tmp_path)]) == 1


def test_a_rule_that_raises_is_an_internal_error_that_fails_the_run(monkeypatch, tmp_path):
    def broken(facts):
        raise KeyError("spec")

    rules = [
        registry.Rule(r.id, r.severity, r.theme, r.title, broken) if r.id == "MA016" else r
        for r in registry.RULES
    ]
    monkeypatch.setattr(registry, "RULES", rules)
    (tmp_path / "m.yaml").write_text(KUBEFLOW.read_text(encoding="utf-8"))
    findings = meshauth.validate(meshauth.load_manifests([tmp_path]))
    [finding] = [f for f in findings if f.rule == "MA016"]
    assert finding.severity == "error" and finding.message.startswith(
        "internal error: rule MA016 raised KeyError"
    )
    assert cli_main(["validate", "--manifests", str(tmp_path)]) == 1


def test_a_rule_that_raises_does_not_stop_the_rules_after_it(monkeypatch):
    def broken(facts):
        raise KeyError("spec")

    def every_gateway(facts):
        return [(g, "spec", "checked") for g in facts.of_kind("Gateway")]

    replaced = {"MA016": broken, "MA021": broken, "MA081": every_gateway}
    rules = [
        registry.Rule(r.id, r.severity, r.theme, r.title, replaced.get(r.id, r.check)) for r in registry.RULES
    ]
    monkeypatch.setattr(registry, "RULES", rules)
    docs = [d for d in yaml.safe_load_all(KUBEFLOW.read_text(encoding="utf-8")) if isinstance(d, dict)]
    findings = registry.check(docs, istio_version=(1, 24))
    assert [(f.rule, f.message.split(":")[0]) for f in findings] == [
        ("MA016", "internal error"),
        ("MA021", "internal error"),
        *[("MA081", "checked")] * sum(d.get("kind") == "Gateway" for d in docs),
    ]


# --- no rule ever raises ------------------------------------------------------------------------


def _seed_documents() -> list:
    docs = []
    for path in sorted(CASES.glob("*/*.yaml")):
        docs += [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if isinstance(d, dict)]
    return docs


SEEDS = _seed_documents()
_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-5, 70000)
    | st.text(max_size=6)
    | st.sampled_from(
        [
            "*",
            "/",
            "/dex/*",
            "istio-system",
            "STRICT",
            "CUSTOM",
            "ALLOW",
            "DENY",
            "4180",
            "a.b.svc.cluster.local",
        ]
    )
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)


@st.composite
def mutated_sets(draw):
    docs = copy.deepcopy(draw(st.lists(st.sampled_from(SEEDS), min_size=1, max_size=8)))
    for _ in range(draw(st.integers(0, 6))):
        doc = draw(st.sampled_from(docs))
        paths = [p for p in field_paths(doc) if p[0] not in ("apiVersion", "kind")]
        if not paths:
            continue
        path = draw(st.sampled_from(paths))
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        if draw(st.booleans()) and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(_VALUES)
    return docs


def _mesh_or_none(doc):
    try:
        return mesh_source(doc)
    except ConfigError:  # mesh text that is not YAML: the loader's error, named by file, not a rule's
        return None


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(docs=mutated_sets(), version=st.sampled_from([None, (1, 9), (1, 24), (1, 29), (1, 40)]))
def test_no_rule_raises_on_real_shapes_with_any_field_changed_or_dropped(docs, version):
    mesh = tuple(s for s in map(_mesh_or_none, docs) if s is not None)
    objects = [d for d in docs if "apiVersion" in d and "kind" in d]
    for rule in registry.RULES:
        facts = Facts(objects, mesh, version, (1, 30))
        list(rule.check(facts))  # raises here, with the rule in the traceback, if a rule breaks


@pytest.mark.parametrize("case", sorted(CASES.glob("*/*.yaml")), ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_no_rule_raises_when_any_one_field_of_a_case_has_the_wrong_kind(case):
    # Every field, one at a time: the random search above rarely hits the one field a rule reads
    # without checking its kind (an EnvoyFilter patch that is a string broke MA021 that way).
    docs = [d for d in yaml.safe_load_all(case.read_text(encoding="utf-8")) if isinstance(d, dict)]
    checked = 0
    for _, path, changed in each_field_of_the_wrong_kind(docs):
        mesh = tuple(s for s in map(_mesh_or_none, changed) if s is not None)
        objects = [d for d in changed if "apiVersion" in d and "kind" in d]
        findings = registry.run(Facts(objects, mesh, (1, 24), (1, 30)), {})
        assert [f.message for f in findings if f.message.startswith("internal error")] == [], path
        checked += 1
    assert checked > 0
