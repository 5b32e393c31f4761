"""meshauth.gitops: the repository tree, its ordering, ownership, idempotence and pruning."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
import yaml
from gitops_support import CONFIG, REPO_URL, changed, environments, times, tree, write_inputs

import meshauth
from meshauth.files.tree import RECORD
from meshauth.files.yamltext import KIND_ORDER
from meshauth.gitopstree.engines import flux_ref
from meshauth.gitopstree.layers import LAYERS, POLICIES, layer_of
from meshauth.gitopstree.repo import ARGOCD_PRUNE_LAST, ARGOCD_SYNC_OPTIONS, SYNC_WAVE, keep_namespace

KUBECTL = pytest.mark.skipif(
    shutil.which("kubectl") is None, reason="kubectl (with kustomize) is not installed"
)
OWNERSHIP = {"app.kubernetes.io/managed-by": "meshauth", "app.kubernetes.io/part-of": "acme"}


def generate(tmp_path, config=None, engine="argocd", **options):
    path = write_inputs(tmp_path, config)
    return meshauth.gitops(path, environments(tmp_path), engine=engine, repo_url=REPO_URL, **options)


def rendered(tmp_path, env, config=None):
    path = write_inputs(tmp_path, config)
    return meshauth.render(meshauth.load_config(path, [tmp_path / "overlays" / f"{env}.yaml"]))


def kustomize(directory):
    built = subprocess.run(
        ["kubectl", "kustomize", str(directory)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "KUBECONFIG": os.devnull},
    ).stdout
    return [doc for doc in yaml.safe_load_all(built) if doc]


def without_wave(obj):
    obj = yaml.safe_load(yaml.safe_dump(obj))
    annotations = obj["metadata"]["annotations"]
    assert annotations.pop(SYNC_WAVE) == str(layer_of(obj).wave), obj["metadata"]["name"]
    if layer_of(obj) == POLICIES:
        assert annotations.pop(ARGOCD_SYNC_OPTIONS) == ARGOCD_PRUNE_LAST
    if not annotations:
        del obj["metadata"]["annotations"]
    return obj


# --- the tree ----------------------------------------------------------------------------------------


def test_each_environment_is_a_folder_per_layer_with_the_engine_objects_beside_it(tmp_path):
    files = generate(tmp_path).files()
    for env in ("dev", "prod"):
        top = yaml.safe_load(files[f"envs/{env}/kustomization.yaml"])
        assert top["resources"] == [
            "00-namespaces",
            "10-config",
            "20-workloads",
            "30-routes",
            "40-policies",
            "50-gateway",
        ]
        assert f"mesh/{env}/istio-operator.yaml" in files
        assert f"argocd/{env}/application.argocd.acme-{env}.yaml" in files
    assert not any(p.startswith("flux/") for p in files)
    assert "envs/dev/40-policies/authorizationpolicy.istio-system.acme-login.yaml" in files
    assert "envs/dev/30-routes/virtualservice.shop.acme-shop.yaml" in files
    assert "envs/dev/10-config/externalsecret.oauth2-proxy.oauth2-proxy.yaml" in files


def test_every_kind_has_one_layer_and_routes_policies_gateway_come_in_that_order():
    assert [layer.wave for layer in LAYERS] == sorted(layer.wave for layer in LAYERS)
    named = [kind for layer in LAYERS for kind in layer.kinds]
    assert sorted(named) == sorted(KIND_ORDER)  # each kind render writes, in exactly one layer

    def layer(kind):
        return layer_of({"kind": kind, "metadata": {"name": "x"}})

    assert layer("Namespace").name == "namespaces"
    assert {layer(k).name for k in ("Secret", "ExternalSecret", "SealedSecret", "ClusterIssuer")} == {
        "config"
    }
    assert layer("Deployment").name == "workloads"
    # a host is served by a route and a Gateway server: the route comes before the policies (it serves
    # nothing alone), the server after them (test_gitops_prune.py steps through both engines)
    for policy in ("PeerAuthentication", "RequestAuthentication", "AuthorizationPolicy"):
        for route in ("VirtualService", "HTTPRoute"):
            assert layer(route).wave < layer(policy).wave < layer("Gateway").wave
    assert layer("Certificate") == layer("Gateway")  # with the Gateway whose servers use it
    assert layer("SomethingNew") == LAYERS[-1]  # unknown kinds come last, as in render


def in_layers(objects):
    """render's objects, layer by layer, each layer in render's order."""
    return sorted(objects, key=lambda obj: layer_of(obj).wave)


def test_the_layers_hold_exactly_the_rendered_objects_in_order(tmp_path):
    repo = generate(tmp_path, engine="flux")
    files = repo.files()
    for env in repo.environments:
        listed = []
        for layer in LAYERS:
            folder = f"envs/{env.name}/{layer.directory}"
            resources = yaml.safe_load(files[f"{folder}/kustomization.yaml"])["resources"]
            listed += [yaml.safe_load(files[f"{folder}/{name}"]) for name in resources]
        # render's objects; only the Namespaces are marked for Flux to keep (test_gitops_prune.py)
        assert listed == in_layers(keep_namespace(obj, "flux") for obj in env.bundle.objects)


@KUBECTL
@pytest.mark.parametrize("engine", ["argocd", "flux"])
def test_kubectl_kustomize_builds_each_environment_into_exactly_render(tmp_path, engine):
    repo = generate(tmp_path, engine=engine)
    repo.write(tmp_path / "repo")
    for env in ("dev", "prod"):
        built = kustomize(tmp_path / "repo" / "envs" / env)
        if engine == "argocd":
            built = [without_wave(obj) for obj in built]
        expected = in_layers(keep_namespace(obj, engine) for obj in rendered(tmp_path, env).objects)
        assert built == expected, env


@KUBECTL
@pytest.mark.parametrize("engine", ["argocd", "flux"])
def test_kubectl_kustomize_builds_the_engine_objects(tmp_path, engine):
    repo = generate(tmp_path, engine=engine)
    repo.write(tmp_path / "repo")
    built = kustomize(tmp_path / "repo" / engine / "prod")
    assert {obj["metadata"]["name"] for obj in built} >= {
        "acme-prod" if engine == "argocd" else "acme-prod-routes"
    }
    assert all(obj["metadata"]["labels"] == OWNERSHIP for obj in built)


def test_argocd_waves_follow_the_layers(tmp_path):
    files = generate(tmp_path).files()
    for layer in LAYERS:
        folder = f"envs/prod/{layer.directory}/"
        docs = [yaml.safe_load(t) for p, t in files.items() if p.startswith(folder) and "kustom" not in p]
        assert docs, layer
        assert {d["metadata"]["annotations"][SYNC_WAVE] for d in docs} == {str(layer.wave)}


def test_flux_kustomizations_depend_on_the_layer_before(tmp_path):
    files = generate(tmp_path, engine="flux", path="clusters/meshauth").files()
    order = yaml.safe_load(files["flux/dev/kustomization.yaml"])["resources"]
    docs = [yaml.safe_load(files[f"flux/dev/{name}"]) for name in order]
    kustomizations = [d for d in docs if d["kind"] == "Kustomization"]
    assert [k["metadata"]["name"] for k in kustomizations] == [f"acme-dev-{layer.name}" for layer in LAYERS]
    assert "dependsOn" not in kustomizations[0]["spec"]
    for before, after in zip(kustomizations, kustomizations[1:]):
        assert after["spec"]["dependsOn"] == [{"name": before["metadata"]["name"]}]
    for kustomization, layer in zip(kustomizations, LAYERS):
        assert kustomization["spec"]["path"] == f"./clusters/meshauth/envs/dev/{layer.directory}"
        assert kustomization["spec"]["wait"] is True and kustomization["spec"]["prune"] is True
        assert kustomization["spec"]["sourceRef"] == {"kind": "GitRepository", "name": "acme-dev"}
    source = docs[0]
    assert source["kind"] == "GitRepository"
    assert source["spec"]["url"] == REPO_URL and source["spec"]["ref"] == {"branch": "main"}
    # no object of the environment carries an Argo CD annotation with Flux
    assert not any(SYNC_WAVE in t for p, t in files.items() if p.startswith("envs/"))


def test_every_object_is_labelled_as_meshauth_s_and_none_as_an_argocd_instance(tmp_path):
    for engine in ("argocd", "flux"):
        files = generate(tmp_path, engine=engine).files()
        for path, text in files.items():
            if path.endswith("kustomization.yaml") or path.startswith("mesh/"):
                continue
            labels = yaml.safe_load(text)["metadata"]["labels"]
            assert labels.items() >= OWNERSHIP.items(), path
            assert "app.kubernetes.io/instance" not in labels, path


def test_helm_values_go_into_the_engine_objects_not_a_loose_file(tmp_path):
    config = changed(mesh={"install": "helm"})
    argocd = generate(tmp_path, config, engine="argocd")
    flux = generate(tmp_path, config, engine="flux")
    values = argocd.environments[0].bundle.mesh_config
    assert values["meshConfig"]["extensionProviders"][0]["name"] == "oauth2-proxy"
    for repo in (argocd, flux):
        assert not any(p.startswith("mesh/") for p in repo.files())
    app = yaml.safe_load(argocd.files()["argocd/dev/application.argocd.acme-dev-istiod.yaml"])
    assert app["spec"]["source"]["chart"] == "istiod"
    assert app["spec"]["source"]["targetRevision"] == "1.24.*"
    assert app["spec"]["source"]["helm"]["valuesObject"] == values
    assert app["spec"]["destination"]["namespace"] == "istio-system"
    release = yaml.safe_load(flux.files()["flux/dev/helmrelease.flux-system.acme-dev-istiod.yaml"])
    assert release["spec"]["values"] == values
    assert release["spec"]["chart"]["spec"]["version"] == "1.24.*"
    assert release["spec"]["targetNamespace"] == "istio-system"
    assert release["spec"]["chart"]["spec"]["sourceRef"]["name"] == "acme-dev-istio"


def test_the_repository_path_prefixes_the_engine_paths_and_holds_the_tree(tmp_path):
    repo = generate(tmp_path, path="./deploy/meshauth/")
    repo.write(tmp_path / "checkout")
    assert (tmp_path / "checkout" / "deploy" / "meshauth" / RECORD).is_file()
    app = yaml.safe_load(repo.files()["argocd/dev/application.argocd.acme-dev.yaml"])
    assert app["spec"]["source"] == {
        "repoURL": REPO_URL,
        "targetRevision": "main",
        "path": "deploy/meshauth/envs/dev",
    }


@pytest.mark.parametrize(
    "revision, ref",
    [
        ("main", {"branch": "main"}),
        ("refs/tags/v1.2.0", {"name": "refs/tags/v1.2.0"}),
        ("0123456789abcdef0123456789abcdef01234567", {"commit": "0123456789abcdef0123456789abcdef01234567"}),
    ],
)
def test_flux_ref_follows_the_revision(revision, ref):
    assert flux_ref(revision) == ref


# --- writing -----------------------------------------------------------------------------------------


def test_regenerating_an_unchanged_config_changes_nothing_not_even_times(tmp_path):
    out = tmp_path / "repo"
    generate(tmp_path).write(out)
    before, stamps = tree(out), times(out)
    report = generate(tmp_path).write(out)
    assert report.written == () and report.removed == ()
    assert tree(out) == before
    assert times(out) == stamps


def test_removing_an_app_removes_only_its_files_and_leaves_foreign_files(tmp_path):
    out = tmp_path / "repo"
    first = generate(tmp_path)
    first.write(out)
    (out / "README.md").write_text("ours\n")
    (out / "envs" / "dev" / "30-routes" / "notes.txt").write_text("ours too\n")
    one_app = changed(apps=[CONFIG["spec"]["apps"][0]])
    second = generate(tmp_path, one_app)
    report = second.write(out)
    gone = set(first.files()) - set(second.files())
    assert set(report.removed) == gone
    assert gone and all(".shop." in p or "acme-shop" in p for p in gone), sorted(gone)
    assert {p for p in gone if p.startswith("envs/dev/")} == {
        "envs/dev/00-namespaces/namespace.shop.yaml",
        "envs/dev/10-config/networkpolicy.shop.shop.yaml",
        "envs/dev/10-config/serviceaccount.shop.shop.yaml",
        "envs/dev/20-workloads/deployment.shop.shop.yaml",
        "envs/dev/20-workloads/service.shop.shop.yaml",
        "envs/dev/40-policies/authorizationpolicy.shop.acme-shop-access.yaml",
        "envs/dev/40-policies/requestauthentication.shop.acme-shop-jwt.yaml",
        "envs/dev/50-gateway/certificate.istio-system.acme-shop.yaml",
        "envs/dev/30-routes/virtualservice.shop.acme-shop.yaml",
    }
    assert (out / "README.md").read_text() == "ours\n"
    assert (out / "envs" / "dev" / "30-routes" / "notes.txt").read_text() == "ours too\n"
    assert set(tree(out)) == {*second.files(), RECORD, "README.md", "envs/dev/30-routes/notes.txt"}
    assert second.check(out).clean


def test_switching_engine_replaces_the_engine_folder(tmp_path):
    out = tmp_path / "repo"
    generate(tmp_path, engine="argocd").write(out)
    report = generate(tmp_path, engine="flux").write(out)
    assert {p.split("/")[0] for p in report.removed} == {"argocd"}
    assert not (out / "argocd").exists()
    assert (out / "flux" / "dev" / "gitrepository.flux-system.acme-dev.yaml").is_file()


def test_a_file_meshauth_did_not_write_is_never_overwritten(tmp_path):
    out = tmp_path / "repo"
    (out / "argocd" / "dev").mkdir(parents=True)
    (out / "argocd" / "dev" / "kustomization.yaml").write_text("# mine\n")
    with pytest.raises(meshauth.OutputError, match="not written by meshauth"):
        generate(tmp_path).write(out)
    assert tree(out) == {"argocd/dev/kustomization.yaml": b"# mine\n"}


def test_a_failed_write_leaves_the_repository_as_it_was(tmp_path, monkeypatch):
    import meshauth.files.tree as output

    out = tmp_path / "repo"
    generate(tmp_path).write(out)
    before = tree(out)

    def fail(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(output, "_write_all", fail)
    with pytest.raises(meshauth.OutputError, match="No space left"):
        generate(tmp_path, changed(apps=[CONFIG["spec"]["apps"][0]])).write(out)
    assert tree(out) == before


# --- inputs ------------------------------------------------------------------------------------------


def test_the_config_can_name_its_environments_relative_to_itself(tmp_path, monkeypatch):
    config = changed(
        gitops={
            "engine": "flux",
            "repoUrl": REPO_URL,
            "revision": "refs/tags/v2",
            "environments": {"dev": "overlays/dev.yaml", "prod": ["overlays/prod.yaml"]},
        }
    )
    path = write_inputs(tmp_path, config)
    monkeypatch.chdir(tmp_path.parent)
    repo = meshauth.gitops(path)
    assert [e.name for e in repo.environments] == ["dev", "prod"]
    assert repo.target.engine == "flux" and repo.target.revision == "refs/tags/v2"
    expected = generate(tmp_path / "elsewhere", engine="flux", revision="refs/tags/v2")
    assert repo.files() == expected.files()
    # arguments override the config's settings and environments
    only_dev = meshauth.gitops(path, {"dev": [tmp_path / "overlays/dev.yaml"]}, engine="argocd")
    assert [e.name for e in only_dev.environments] == ["dev"]
    assert only_dev.target.engine == "argocd" and only_dev.target.repo_url == REPO_URL


def test_an_environment_without_overlays_is_the_base_config(tmp_path):
    path = write_inputs(tmp_path)
    repo = meshauth.gitops(path, {"base": []}, repo_url=REPO_URL)
    assert repo.environments[0].bundle.objects == meshauth.render(path).objects


@pytest.mark.parametrize(
    "kwargs, where, message",
    [
        ({}, "spec.gitops.environments", "no environments"),
        ({"environments": {"Dev": []}}, "", "environment name 'Dev' must be a DNS label"),
        ({"environments": {"dev": []}, "repo_url": None}, "spec.gitops.repoUrl", "needs the URL"),
        ({"environments": {"dev": []}, "repo_url": "ftp://x/y"}, "spec.gitops.repoUrl", "must be a Git"),
        (
            {"environments": {"dev": []}, "engine": "flux", "repo_url": "git@github.com:acme/x.git"},
            "spec.gitops.repoUrl",
            "Flux needs a URL with a scheme",
        ),
        ({"environments": {"dev": []}, "path": "../elsewhere"}, "spec.gitops.path", "must be a relative"),
        ({"environments": {"dev": []}, "revision": "main branch"}, "spec.gitops.revision", "must be a Git"),
        (
            {
                "environments": {"a-very-long-environment-name-that-is-far-too-long-really": []},
                "engine": "flux",
            },
            "metadata.name",
            "longer than 63",
        ),
    ],
)
def test_bad_inputs_are_config_errors_that_say_what_to_do(tmp_path, kwargs, where, message):
    path = write_inputs(tmp_path)
    kwargs = {"repo_url": REPO_URL, **kwargs}
    with pytest.raises(meshauth.ConfigError) as raised:
        meshauth.gitops(path, kwargs.pop("environments", None), **kwargs)
    problem = raised.value.problems[0]
    assert problem.path == where and message in problem.message, problem


def test_an_error_in_an_environment_names_its_overlay(tmp_path):
    path = write_inputs(tmp_path)
    bad = tmp_path / "broken.yaml"
    bad.write_text("spec:\n  oauth2Proxy:\n    replicas: 0\n")
    with pytest.raises(meshauth.ConfigError) as raised:
        meshauth.gitops(path, {"dev": [bad]}, repo_url=REPO_URL)
    assert str(raised.value).startswith(f"{bad}: spec.oauth2Proxy.replicas:")


def test_warnings_name_their_environment(tmp_path):
    repo = generate(tmp_path, changed(oauth2Proxy={}))  # refresh 1h: not shorter than Google's 1h
    warned = {f.file for f in repo.warnings if f.rule == "MA018"}
    assert warned == {"environment prod"}  # dev's overlay sets 15m


def test_render_ignores_the_gitops_settings(tmp_path):
    settings = changed(gitops={"engine": "flux", "repoUrl": REPO_URL, "environments": {"dev": []}})
    assert meshauth.render(settings).to_yaml() == meshauth.render(CONFIG).to_yaml()


@pytest.mark.parametrize("api", ["istio", "gateway-api"])
def test_a_first_sync_finds_every_namespace_it_writes_into(tmp_path, api):
    # Istio's root namespace (istiod's) is the only one the tree relies on without creating it; with
    # the Gateway API the gateway's namespace is meshauth's to create (Istio deploys the pods there).
    config = changed(ingress={"api": api, "namespace": "edge"} if api == "gateway-api" else {"api": api})
    repo = generate(tmp_path, config, engine="flux")
    for env in repo.environments:
        created = {obj["metadata"]["name"] for obj in env.bundle.objects if layer_of(obj) == LAYERS[0]}
        used = {obj["metadata"].get("namespace") for obj in env.bundle.objects} - {None}
        assert used - created == {"istio-system"}, env.name
    if api == "gateway-api":
        edge = next(o for o in repo.environments[0].bundle.objects if o["metadata"]["name"] == "edge")
        assert edge["kind"] == "Namespace" and edge["metadata"]["labels"] == OWNERSHIP
