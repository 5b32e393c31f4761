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


# --- No moment where a route serves a host without its login ----------------------------------------
# A host is served when a route (VirtualService, HTTPRoute) names it and the Gateway has a server
# (listener) for it. Its login is the gateway's CUSTOM policy covering it, the gateway's ALLOW rule
# that asks a token for it, and the app's own access policy. Both engines are stepped operation by
# operation between two generations; operations the engine runs concurrently (one wave, one
# Kustomization's apply or garbage collection) are checked one at a time as well as all together.

SERVING = {"VirtualService": ("spec", "hosts"), "HTTPRoute": ("spec", "hostnames")}


def hosts_served(state):
    routed, listened = set(), set()
    for obj in state.values():
        if obj["kind"] in SERVING:
            routed |= set(obj["spec"].get(SERVING[obj["kind"]][1]) or [])
        elif obj["kind"] == "Gateway":
            listened |= {h for s in obj["spec"].get("servers") or [] for h in s.get("hosts") or []}
            listened |= {li.get("hostname") for li in obj["spec"].get("listeners") or []}
    return routed & listened


def policy_hosts(state, action, token=False):
    covered = set()
    for obj in state.values():
        if obj["kind"] != "AuthorizationPolicy" or obj["spec"].get("action", "ALLOW") != action:
            continue
        for rule in obj["spec"].get("rules") or []:
            if token and not any(c["key"] == "request.auth.audiences" for c in rule.get("when") or []):
                continue
            covered |= {h for to in rule.get("to") or [] for h in to["operation"].get("hosts") or []}
    return covered


def guards(*generations):
    """host -> the app's own access policy, for every host some generation puts behind the login."""
    wanted = {}
    for objects in generations:
        for (kind, namespace, name), obj in objects.items():
            if kind in SERVING:
                policy = ("AuthorizationPolicy", namespace, f"{name}-access")
                for host in obj["spec"][SERVING[kind][1]]:
                    wanted[host] = policy if policy in objects else None
    return wanted


def unguarded(state, wanted):
    login, token = policy_hosts(state, "CUSTOM"), policy_hosts(state, "ALLOW", token=True)
    return sorted(
        host
        for host in hosts_served(state) & set(wanted)
        if host not in login or host not in token or (wanted[host] and wanted[host] not in state)
    )


def step_through(before, steps, wanted):
    """Apply each group of concurrent operations; a violation names the first unsafe moment."""
    state = dict(before)
    for label, group in steps:
        for op in group:
            alone = apply_ops(state, [op])
            assert not unguarded(alone, wanted), (
                f"{label}: {op[0]} {op[1]} alone serves {unguarded(alone, wanted)}"
            )
        state = apply_ops(state, group)
        assert not unguarded(state, wanted), f"after {label}: {unguarded(state, wanted)} served without login"
    return state


def apply_ops(state, ops):
    state = dict(state)
    for verb, k, obj in ops:
        if verb == "delete":
            state.pop(k, None)
        else:
            state[k] = obj
    return state


def flat(layers):
    return {key(o): o for objs in layers.values() for o in objs}


def wave(obj):
    return int(annotations(obj).get("argocd.argoproj.io/sync-wave", "0"))


def argocd_steps(before, after, reverse=True):
    """Argo CD (its sync-waves page: "lower values first for creation & updation and higher values
    first for deletion", documented from release 2.13, ``reverse``; before it, a pruned object went in
    its own wave). gitops-engine's getSyncTasks swaps the waves of the prune tasks symmetrically and
    moves PruneLast ones after the last wave; runTasks prunes a wave's objects before applying its
    others. Objects with Prune=false get a prune task (it is skipped) that still counts as a wave."""
    live, target = flat(before), flat(after)
    prunes = {k: wave(o) for k, o in live.items() if k not in target}
    waves = sorted(set(prunes.values()))
    swapped = dict(zip(waves, reversed(waves) if reverse else waves))
    last = max([wave(o) for o in target.values()] + [0]) + 1
    prunes = {
        k: last if "PruneLast=true" in argocd_options(live[k]) else swapped[w] for k, w in prunes.items()
    }
    steps = []
    for number in sorted(set(prunes.values()) | {wave(o) for o in target.values()}):
        pruned = [
            ("delete", k, live[k])
            for k, w in prunes.items()
            if w == number and "Prune=false" not in argocd_options(live[k])
        ]
        applied = [("apply", k, o) for k, o in target.items() if wave(o) == number and live.get(k) != o]
        steps += [(f"wave {number} prune", pruned), (f"wave {number} apply", applied)]
    return steps


def flux_steps(before, after):
    """Flux: a Kustomization reconciles once the one it dependsOn is ready at the same revision
    (https://fluxcd.io/flux/components/kustomize/kustomizations/#dependencies); it applies its
    objects, then garbage-collects the stale ones of its inventory (#prune)."""
    steps = []
    for layer in LAYERS:
        live, target = {key(o): o for o in before[layer]}, {key(o): o for o in after[layer]}
        applied = [("apply", k, o) for k, o in target.items() if live.get(k) != o]
        pruned = [("delete", k, o) for k, o in live.items() if k not in target and not flux_keeps(o)]
        steps += [(f"{layer.name} apply", applied), (f"{layer.name} prune", pruned)]
    return steps


STEPS = {
    "argocd": argocd_steps,
    "argocd-before-2.13": lambda before, after: argocd_steps(before, after, reverse=False),
    "flux": flux_steps,
}


GATEWAY_API = copy.deepcopy(CONFIG)
GATEWAY_API["spec"]["ingress"] = {"api": "gateway-api"}


@pytest.mark.parametrize("engine", list(STEPS))
@pytest.mark.parametrize("app", ["shop", "wiki"])
@pytest.mark.parametrize("direction", ["add", "remove"])
@pytest.mark.parametrize("config", [CONFIG, GATEWAY_API], ids=["istio-gateway", "gateway-api"])
def test_no_moment_serves_an_app_host_without_its_login(tmp_path, engine, app, direction, config):
    tree = engine.split("-")[0]
    with_app = generation(tmp_path, config, tree)
    without = generation(tmp_path, without_app(app, config), tree)
    before, after = (without, with_app) if direction == "add" else (with_app, without)
    wanted = guards(flat(with_app))
    assert wanted[f"{app}.acme.example"]  # the app has a route and an access policy of its own
    end = step_through(flat(before), STEPS[engine](before, after), wanted)
    kept = {k for k, o in flat(before).items() if o["kind"] == "Namespace"}
    assert set(end) == set(flat(after)) | kept  # the steps do reach the second generation
