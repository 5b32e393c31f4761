"""What the engines delete between two generations of the tree, and in which order.

Each engine is modelled from its documentation (cited at each model), and the tests step through the
model between two generations (a config with an app, and the same config without it):

* GitOps never deletes what meshauth did not create: the Namespaces are not meshauth's alone (the
  user's workloads live in an app's namespace), so neither engine ever prunes or deletes one, and the
  engine's own namespace is never in the tree.
"""

from __future__ import annotations

import copy

import pytest
import yaml
from gitops_support import CONFIG, REPO_URL, environments, write_inputs

import meshauth
from meshauth.gitopstree.layers import LAYERS

ENGINES = ("argocd", "flux")
MANAGED = ("app.kubernetes.io/managed-by", "meshauth")


def generation(tmp_path, config, engine):
    """{layer: [objects of envs/prod/<layer>]} as the engine reads them from the tree."""
    folder = tmp_path / f"gen{len(list(tmp_path.glob('gen*')))}"
    folder.mkdir()
    path = write_inputs(folder, config)
    files = meshauth.gitops(path, environments(folder), engine=engine, repo_url=REPO_URL).files()
    layers = {}
    for layer in LAYERS:
        directory = f"envs/prod/{layer.directory}"
        names = yaml.safe_load(files[f"{directory}/kustomization.yaml"])["resources"]
        layers[layer] = [yaml.safe_load(files[f"{directory}/{name}"]) for name in names]
    return layers


def key(obj):
    return (obj["kind"], obj["metadata"].get("namespace", ""), obj["metadata"]["name"])


def annotations(obj):
    return obj["metadata"].get("annotations") or {}


def without_app(name, config=CONFIG):
    smaller = copy.deepcopy(config)
    smaller["spec"]["apps"] = [app for app in config["spec"]["apps"] if app["name"] != name]
    return smaller


# --- Argo CD -----------------------------------------------------------------------------------------
# One Application syncs every layer. An object of the live Application that is no longer in Git is
# pruned, unless it carries argocd.argoproj.io/sync-options with Prune=false; deleting the
# Application deletes its objects unless they carry Delete=false
# (https://argo-cd.readthedocs.io/en/stable/user-guide/sync-options/, "No Prune Resources",
# "No Resource Deletion"; several options are separated by ",").


def argocd_options(obj):
    value = annotations(obj).get("argocd.argoproj.io/sync-options", "")
    return {option.strip() for option in value.split(",") if option.strip()}


def argocd_pruned(before, after):
    live = {key(o): o for objs in before.values() for o in objs}
    wanted = {key(o) for objs in after.values() for o in objs}
    return [o for k, o in live.items() if k not in wanted and "Prune=false" not in argocd_options(o)]


def argocd_deleted_with_the_application(live):
    return [o for objs in live.values() for o in objs if "Delete=false" not in argocd_options(o)]


# --- Flux --------------------------------------------------------------------------------------------
# One Kustomization per layer, with prune: true. After applying, a Kustomization garbage-collects the
# objects of its inventory that left its path, and deleting it deletes its whole inventory, except
# objects annotated (or labelled) kustomize.toolkit.fluxcd.io/prune: disabled
# (https://fluxcd.io/flux/components/kustomize/kustomizations/#prune).


def flux_keeps(obj):
    return annotations(obj).get("kustomize.toolkit.fluxcd.io/prune") == "disabled"


def flux_pruned(before, after):
    pruned = []
    for layer in LAYERS:
        wanted = {key(o) for o in after[layer]}
        pruned += [o for o in before[layer] if key(o) not in wanted and not flux_keeps(o)]
    return pruned


def flux_deleted_with_the_kustomizations(live):
    return [o for objs in live.values() for o in objs if not flux_keeps(o)]


PRUNED = {"argocd": argocd_pruned, "flux": flux_pruned}
DELETED = {"argocd": argocd_deleted_with_the_application, "flux": flux_deleted_with_the_kustomizations}


# --- GitOps never deletes what meshauth did not create -----------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("app", ["shop", "wiki"])
def test_removing_an_app_prunes_only_meshauth_s_objects_never_its_namespace(tmp_path, engine, app):
    before = generation(tmp_path, CONFIG, engine)
    after = generation(tmp_path, without_app(app), engine)
    pruned = PRUNED[engine](before, after)
    assert {key(o) for o in pruned} >= {("VirtualService", app, f"acme-{app}")}  # the app did go
    for obj in pruned:
        assert obj["kind"] != "Namespace", key(obj)
        assert obj["metadata"]["labels"][MANAGED[0]] == MANAGED[1], key(obj)
    # the namespace stays, though nothing of meshauth's is rendered into it any more
    assert ("Namespace", "", app) in {key(o) for objs in before.values() for o in objs}


@pytest.mark.parametrize("engine", ENGINES)
def test_removing_the_engine_objects_deletes_no_namespace(tmp_path, engine):
    live = generation(tmp_path, CONFIG, engine)
    deleted = DELETED[engine](live)
    assert deleted and not [key(o) for o in deleted if o["kind"] == "Namespace"]


@pytest.mark.parametrize("engine", ENGINES)
def test_the_engine_s_own_namespace_is_never_an_object_of_the_tree(tmp_path, engine):
    own = {"argocd": "argocd", "flux": "flux-system"}[engine]
    config = copy.deepcopy(CONFIG)
    config["spec"]["apps"].append({"name": "console", "host": "cd.acme.example", "namespace": own})
    live = generation(tmp_path, config, engine)
    objects = [o for objs in live.values() for o in objs]
    assert ("Namespace", "", own) not in {key(o) for o in objects}
    assert ("VirtualService", own, "acme-console") in {key(o) for o in objects}  # the app is there
    # and removing that app later prunes nothing but meshauth's objects in it
    pruned = PRUNED[engine](live, generation(tmp_path, without_app("console", config), engine))
    assert pruned and all(o["kind"] != "Namespace" for o in pruned)
