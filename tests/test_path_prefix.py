"""Several apps on one host (``apps[].pathPrefix``), in Kubeflow's layout: the central dashboard at
/, Pipelines and the Jupyter web app under their prefixes, each for its own groups."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

import meshauth
from meshauth.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
KUBEFLOW = ROOT / "examples" / "kubeflow.yaml"
HOST = "kubeflow.example.com"
ENGINEER = {"email": "ana@example.com", "groups": ["ml-engineers"]}
SCIENTIST = {"email": "bo@example.com", "groups": ["data-scientists"]}
NOBODY = {"email": "cy@example.com", "groups": []}
DASHBOARD = "centraldashboard.kubeflow.svc.cluster.local"
PIPELINES = "ml-pipeline-ui.kubeflow.svc.cluster.local"
JUPYTER = "jupyter-web-app-service.kubeflow.svc.cluster.local"


def config_data() -> dict:
    return yaml.safe_load(KUBEFLOW.read_text())


def objects(data=None, kind=None):
    bundle = meshauth.render(meshauth.load_config(data if data is not None else KUBEFLOW))
    return [o for o in bundle.objects if kind is None or o["kind"] == kind]


@pytest.mark.parametrize(
    "path, claims, verdict, status, destination",
    [
        # the dashboard: any signed-in user, nobody anonymous (except its public assets)
        ("/", NOBODY, "ALLOW", 200, DASHBOARD),
        ("/", None, "DENY", 302, None),
        ("/assets/app.js", None, "ALLOW", 200, DASHBOARD),
        # /pipelinex is not under /pipeline/: the dashboard serves it
        ("/pipelinex", NOBODY, "ALLOW", 200, DASHBOARD),
        ("/pipelinex/runs", NOBODY, "ALLOW", 200, DASHBOARD),
        # Pipelines: ml-engineers only, at /pipeline and under /pipeline/
        ("/pipeline/", ENGINEER, "ALLOW", 200, PIPELINES),
        ("/pipeline", ENGINEER, "ALLOW", 200, PIPELINES),
        ("/pipeline/apis/v2beta1/runs?x=1", ENGINEER, "ALLOW", 200, PIPELINES),
        ("/pipeline/", SCIENTIST, "DENY", 403, None),
        ("/pipeline/", NOBODY, "DENY", 403, None),
        ("/pipeline/", None, "DENY", 302, None),
        # dot segments are resolved before routing and policies: no way around a prefix's policy
        ("/assets/../pipeline/runs", SCIENTIST, "DENY", 403, None),
        ("/jupyter/../pipeline/runs", SCIENTIST, "DENY", 403, None),
        # Jupyter: data-scientists only; its static files are public
        ("/jupyter/", SCIENTIST, "ALLOW", 200, JUPYTER),
        ("/jupyter/", ENGINEER, "DENY", 403, None),
        ("/jupyter/static/main.js", None, "ALLOW", 200, JUPYTER),
        ("/jupyter/api/notebooks", None, "DENY", 302, None),
    ],
)
def test_kubeflow_layout_simulates_as_it_means(path, claims, verdict, status, destination):
    decision = meshauth.simulate(str(KUBEFLOW), host=HOST, path=path, claims=claims)
    assert (decision.verdict, decision.status) == (verdict, status), decision.explain()
    if destination:
        assert decision.destination == destination


def test_kubeflow_layout_validates_without_errors():
    findings = meshauth.validate(meshauth.render(meshauth.load_config(KUBEFLOW)))
    assert [str(f) for f in findings if f.severity == "error"] == []


def test_one_virtual_service_per_host_longest_prefix_first():
    services = objects(kind="VirtualService")
    assert len(services) == 1, "Istio merges VirtualServices of one host in no defined order"
    http = services[0]["spec"]["http"]
    targets = [(r.get("name"), r.get("match"), r["route"][0]["destination"]["host"]) for r in http]
    assert targets == [
        (None, [{"uri": {"prefix": "/pipeline/"}}, {"uri": {"exact": "/pipeline"}}], PIPELINES),
        (None, [{"uri": {"prefix": "/jupyter/"}}, {"uri": {"exact": "/jupyter"}}], JUPYTER),
        (None, None, DASHBOARD),
    ]


def test_one_login_one_server_one_certificate_for_the_host():
    gateway = objects(kind="Gateway")[0]
    https = [s for s in gateway["spec"]["servers"] if s["port"]["number"] == 443]
    assert [s["hosts"] for s in https] == [[HOST]]
    assert [c["spec"]["dnsNames"] for c in objects(kind="Certificate")] == [[HOST]]
    login = next(p for p in objects(kind="AuthorizationPolicy") if p["metadata"]["name"] == "kubeflow-login")
    assert [r["to"][0]["operation"] for r in login["spec"]["rules"]] == [
        {
            "hosts": [HOST, f"{HOST}:*"],
            "notPaths": ["/assets/*", "/jupyter/static/*", "/.well-known/acme-challenge/*"],
        },
        {  # the ACME challenge is exempt on port 80 only (8080: istioctl's gateway pod port)
            "hosts": [HOST, f"{HOST}:*"],
            "paths": ["/.well-known/acme-challenge/*"],
            "notPorts": ["80", "8080"],
        },
    ]


def test_each_app_policy_covers_only_its_own_prefix():
    policies = {p["metadata"]["name"]: p for p in objects(kind="AuthorizationPolicy")}
    dashboard = policies["kubeflow-dashboard-access"]["spec"]["rules"][0]["to"][0]["operation"]
    assert dashboard == {
        "paths": ["/*"],
        "notPaths": ["/pipeline", "/pipeline/*", "/jupyter", "/jupyter/*"],
    }
    pipelines = policies["kubeflow-pipelines-access"]["spec"]["rules"]
    assert pipelines[0]["to"][0]["operation"] == {"paths": ["/pipeline", "/pipeline/*"]}
    assert pipelines[0]["when"][-1] == {"key": "request.auth.claims[groups]", "values": ["ml-engineers"]}
    jupyter = policies["kubeflow-jupyter-access"]["spec"]["rules"]
    assert jupyter[-1] == {"to": [{"operation": {"paths": ["/jupyter/static/*"]}}]}


def test_an_app_alone_on_its_host_renders_as_before():
    data = config_data()
    data["spec"]["apps"] = [data["spec"]["apps"][0]]
    policy = next(
        o for o in objects(data, "AuthorizationPolicy") if o["metadata"]["name"].endswith("dashboard-access")
    )
    assert "to" not in policy["spec"]["rules"][0]
    assert "match" not in objects(data, "VirtualService")[0]["spec"]["http"][-1]


def test_gateway_api_routes_each_prefix_and_admits_every_namespace_on_the_listener():
    data = config_data()
    data["spec"]["ingress"] = {"api": "gateway-api"}
    data["spec"]["apps"][1]["namespace"] = "kubeflow-pipelines"
    routes = {r["metadata"]["name"]: r for r in objects(data, "HTTPRoute")}
    assert routes["kubeflow-pipelines"]["spec"]["rules"][0]["matches"] == [
        {"path": {"type": "PathPrefix", "value": "/pipeline/"}}
    ]
    assert "matches" not in routes["kubeflow-dashboard"]["spec"]["rules"][0]
    gateway = objects(data, "Gateway")[0]
    https = [lst for lst in gateway["spec"]["listeners"] if lst["port"] == 443]
    assert [lst["hostname"] for lst in https] == [HOST]
    assert https[0]["allowedRoutes"]["namespaces"]["selector"]["matchExpressions"] == [
        {"key": "kubernetes.io/metadata.name", "operator": "In", "values": ["kubeflow", "kubeflow-pipelines"]}
    ]


def test_apps_in_any_order_render_the_same_routes():
    data = config_data()
    reordered = copy.deepcopy(data)
    reordered["spec"]["apps"] = [data["spec"]["apps"][i] for i in (1, 2, 0)]
    first = objects(data, "VirtualService")[0]["spec"]["http"]
    second = objects(reordered, "VirtualService")[0]["spec"]["http"]
    assert first == second


@pytest.mark.parametrize(
    "prefixes, message",
    [
        (("/pipeline/", "/pipeline/"), "belongs to apps a and b"),
        (("/pipelinex/", "/pipeline"), "pathPrefix /pipeline of app b would also catch /pipelinex/ of app a"),
        (("/pipeline", "/pipelinex/"), "pathPrefix /pipeline of app a would also catch /pipelinex/ of app b"),
    ],
)
def test_conflicting_prefixes_are_errors_that_name_both_apps(prefixes, message):
    data = config_data()
    data["spec"]["apps"] = [
        {"name": name, "namespace": "kubeflow", "host": HOST, "pathPrefix": prefix}
        for name, prefix in zip("ab", prefixes)
    ]
    with pytest.raises(ConfigError) as error:
        meshauth.load_config(data)
    assert message in str(error.value)


def test_a_prefix_under_a_slashless_prefix_is_fine():
    data = config_data()
    data["spec"]["apps"] = [
        {"name": "a", "namespace": "kubeflow", "host": HOST, "pathPrefix": "/api"},
        {"name": "b", "namespace": "kubeflow", "host": HOST, "pathPrefix": "/api/v2/"},
    ]
    http = objects(data, "VirtualService")[0]["spec"]["http"]
    assert [r["match"][0]["uri"]["prefix"] for r in http] == ["/api/v2/", "/api"]


def test_envoyfilter_login_turns_ext_authz_off_on_each_apps_public_route():
    case = ROOT / "tests" / "cases" / "valid" / "path-prefix-istio-1-8-envoyfilter-login.yaml"
    bundle = meshauth.render(meshauth.load_config(case))
    http = next(o for o in bundle.objects if o["kind"] == "VirtualService")["spec"]["http"]
    assert [r.get("name") or r["match"][0]["uri"] if "match" in r else "catch-all" for r in http] == [
        "demo-api-public",
        {"prefix": "/api"},
        "demo-web-public",
        "catch-all",
    ]
    login = next(
        o for o in bundle.objects if o["kind"] == "EnvoyFilter" and o["metadata"]["name"] == "demo-login"
    )
    routes = [
        p["match"]["routeConfiguration"]["vhost"]["route"]["name"]
        for p in login["spec"]["configPatches"]
        if p["applyTo"] == "HTTP_ROUTE"
    ]
    assert routes == ["demo-web-public", "demo-api-public"]


def test_explain_lists_each_app_of_a_shared_host_with_its_own_public_paths():
    text = meshauth.explain(str(KUBEFLOW))
    entries = {block.splitlines()[0]: block for block in text.split("\n\n") if block.startswith("app ")}
    assert set(entries) == {
        "app kubeflow/centraldashboard",
        "app kubeflow/ml-pipeline-ui",
        "app kubeflow/jupyter-web-app-service",
    }
    assert "public paths   /assets/*\n" in entries["app kubeflow/centraldashboard"]
    assert "public paths   /jupyter/static/*\n" in entries["app kubeflow/jupyter-web-app-service"]
    assert "public paths   (none)" in entries["app kubeflow/ml-pipeline-ui"]


# --- import: Kubeflow's layout becomes apps with pathPrefix, its claim outputs claimHeaders -------


def test_a_kubeflow_shaped_platform_imports_as_apps_with_prefixes_and_claim_headers():
    from meshauth.importer.run import import_manifests

    imported = import_manifests(
        [str(ROOT / "tests" / "fixtures" / "kubeflow-platform.yaml")], name="kubeflow"
    )
    assert imported.valid, [str(f) for f in imported.findings if f.severity == "error"]
    spec = imported.config["spec"]
    assert spec["identity"]["claimHeaders"] == {"kubeflow-userid": "email", "kubeflow-groups": "groups"}
    apps = {a["name"]: a for a in spec["apps"]}
    assert "pathPrefix" not in apps["centraldashboard"]
    assert apps["ml-pipeline-ui"]["pathPrefix"] == "/pipeline"  # as Kubeflow routes it: a string prefix
    assert apps["ml-pipeline-ui"]["authorization"] == {"groups": ["ml-engineers"]}
    assert apps["jupyter-web-app-service"]["pathPrefix"] == "/jupyter/"
    assert apps["jupyter-web-app-service"]["authorization"] == {"groups": ["data-scientists"]}
    assert all(a["host"] == "ml.example.org" for a in apps.values())
    messages = [f.message for f in imported.findings]
    assert any(m.startswith("only the plain route to ml-pipeline-ui") and "rewrites" in m for m in messages)
    config = meshauth.load_config(imported.config)
    for path, groups, destination in [
        ("/pipeline/runs", ["ml-engineers"], "ml-pipeline-ui.kubeflow.svc.cluster.local"),
        ("/jupyter/", ["data-scientists"], "jupyter-web-app-service.kubeflow.svc.cluster.local"),
        ("/", [], "centraldashboard.kubeflow.svc.cluster.local"),
    ]:
        decision = meshauth.simulate(
            config, host="ml.example.org", path=path, claims={"email": "a@example.org", "groups": groups}
        )
        assert (decision.allowed, decision.destination) == (True, destination), decision.explain()


def test_meshauths_own_shared_host_output_imports_back_to_the_same_apps(tmp_path):
    from meshauth.importer.run import import_manifests

    bundle = meshauth.render(meshauth.load_config(KUBEFLOW))
    (tmp_path / "stream.yaml").write_text(bundle.to_yaml())
    (tmp_path / "mesh.yaml").write_text(bundle.mesh_config_yaml())
    imported = import_manifests([str(tmp_path)], name="kubeflow", istio_version="1.24")
    original = config_data()["spec"]
    assert [a["name"] for a in imported.config["spec"]["apps"]] == ["dashboard", "pipelines", "jupyter"]
    assert imported.config["spec"]["identity"]["claimHeaders"] == original["identity"]["claimHeaders"]
    assert not any(f.object.startswith("EnvoyFilter") for f in imported.findings)


def test_a_placeholder_host_shared_by_several_apps_is_reported_once():
    from meshauth.config.placeholders import placeholders

    found = [
        f
        for f in placeholders(meshauth.load_config(KUBEFLOW).spec)
        if "reserved for documentation" in f.message
    ]
    assert [f.path for f in found] == ["spec.apps[0].host"]
