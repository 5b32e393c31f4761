"""The workloads meshauth renders are locked down, and only as far as their pods allow."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import meshauth

BASE: dict[str, Any] = {
    "apiVersion": "meshauth.dev/v1alpha1",
    "kind": "MeshAuthConfig",
    "metadata": {"name": "hard"},
    "spec": {
        "platform": {"istioVersion": "1.30"},
        "tls": {},
        "identity": {
            "issuerUrl": "https://idp.example.com",
            "jwksUri": "https://idp.example.com/k",
            "clientId": "meshauth",
        },
        "oauth2Proxy": {"cookie": {"refresh": "30m"}},
        "apps": [
            {
                "name": "web",
                "host": "web.example.com",
                "deploy": {"image": "nginxinc/nginx-unprivileged:1.27", "containerPort": 8080},
            },
            {"name": "docs", "namespace": "shared", "host": "docs.example.com"},
        ],
    },
}


def render(change: Callable[[dict], None] = lambda d: None) -> meshauth.Bundle:
    config = copy.deepcopy(BASE)
    change(config)
    return meshauth.render(config)


def get(bundle, kind: str, name: str, namespace: str | None = None) -> dict:
    found = [
        o
        for o in bundle.objects
        if o["kind"] == kind
        and o["metadata"]["name"] == name
        and (namespace is None or o["metadata"].get("namespace") == namespace)
    ]
    assert len(found) == 1, f"{kind} {namespace}/{name}: {len(found)} found"
    return found[0]


def kinds(bundle, kind: str) -> list[dict]:
    return [o for o in bundle.objects if o["kind"] == kind]


def with_redis(d: dict) -> None:
    d["spec"]["oauth2Proxy"]["sessionStore"] = {"type": "redis", "deploy": True}


# --- the restricted Pod Security Standard, read from the Kubernetes docs -----------------------------


def restricted_violations(pod: dict) -> Iterator[str]:
    """What the restricted profile (Kubernetes 1.25+) refuses in a pod spec."""
    context = pod.get("securityContext") or {}
    allowed_volumes = {
        "configMap",
        "csi",
        "downwardAPI",
        "emptyDir",
        "ephemeral",
        "persistentVolumeClaim",
        "projected",
        "secret",
    }
    for volume in pod.get("volumes") or []:
        kinds_ = set(volume) - {"name"}
        if not kinds_ <= allowed_volumes:
            yield f"volume {volume['name']}: {kinds_}"
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.get(key):
            yield key
    if (context.get("seccompProfile") or {}).get("type") not in ("RuntimeDefault", "Localhost"):
        containers_ok = all(
            ((c.get("securityContext") or {}).get("seccompProfile") or {}).get("type")
            in ("RuntimeDefault", "Localhost")
            for c in pod["containers"]
        )
        if not containers_ok:
            yield "seccompProfile"
    for container in pod["containers"] + pod.get("initContainers", []):
        sc = container.get("securityContext") or {}
        if sc.get("privileged"):
            yield f"{container['name']}: privileged"
        if sc.get("allowPrivilegeEscalation") is not False:
            yield f"{container['name']}: allowPrivilegeEscalation"
        caps = sc.get("capabilities") or {}
        if "ALL" not in (caps.get("drop") or []):
            yield f"{container['name']}: capabilities not dropped"
        if set(caps.get("add") or []) - {"NET_BIND_SERVICE"}:
            yield f"{container['name']}: capabilities added"
        if not (sc.get("runAsNonRoot") or context.get("runAsNonRoot")):
            yield f"{container['name']}: runAsNonRoot"
        if sc.get("runAsUser") == 0 or context.get("runAsUser") == 0:
            yield f"{container['name']}: runAsUser 0"
        if container.get("ports") and any(p.get("hostPort") for p in container["ports"]):
            yield f"{container['name']}: hostPort"


def test_every_rendered_pod_meets_the_restricted_profile():
    bundle = render(with_redis)
    deployments = kinds(bundle, "Deployment")
    assert {d["metadata"]["name"] for d in deployments} == {"oauth2-proxy", "oauth2-proxy-redis", "web"}
    for deployment in deployments:
        pod = deployment["spec"]["template"]["spec"]
        assert list(restricted_violations(pod)) == [], deployment["metadata"]["name"]


def test_the_restricted_check_itself_sees_a_root_pod():
    pod = {"containers": [{"name": "c", "securityContext": {"capabilities": {"add": ["NET_ADMIN"]}}}]}
    assert {"seccompProfile", "c: capabilities added", "c: runAsNonRoot"} <= set(restricted_violations(pod))


@pytest.mark.parametrize("cni", [False, True])
def test_restricted_is_enforced_only_with_cni_and_only_where_meshauth_renders_every_pod(cni):
    bundle = render(lambda d: d["spec"].setdefault("mesh", {}).update(cni=cni))
    labels = {n["metadata"]["name"]: n["metadata"]["labels"] for n in kinds(bundle, "Namespace")}
    enforced = {name for name, label in labels.items() if label.get("pod-security.kubernetes.io/enforce")}
    # without CNI, istio-init (NET_ADMIN, NET_RAW) would be refused even by baseline
    assert enforced == ({"oauth2-proxy", "web"} if cni else set())
    if cni:  # "shared" holds an app meshauth does not deploy: its pods are unknown
        assert labels["web"]["pod-security.kubernetes.io/enforce"] == "restricted"
        assert labels["web"]["pod-security.kubernetes.io/enforce-version"] == "v1.30"
        assert "pod-security.kubernetes.io/enforce" not in labels["shared"]


def test_every_workload_has_its_own_service_account_without_a_token():
    bundle = render(with_redis)
    accounts = {
        (a["metadata"]["namespace"], a["metadata"]["name"]): a for a in kinds(bundle, "ServiceAccount")
    }
    for deployment in kinds(bundle, "Deployment"):
        pod = deployment["spec"]["template"]["spec"]
        account = (deployment["metadata"]["namespace"], pod["serviceAccountName"])
        assert account in accounts and accounts[account]["automountServiceAccountToken"] is False
        assert pod["automountServiceAccountToken"] is False
    names = [pod["spec"]["template"]["spec"]["serviceAccountName"] for pod in kinds(bundle, "Deployment")]
    assert len(set(names)) == len(names)


def test_every_container_has_probes_limits_and_a_read_only_root():
    for deployment in kinds(render(with_redis), "Deployment"):
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            assert container["livenessProbe"] and container["readinessProbe"]
            assert set(container["resources"]) == {"requests", "limits"}
            assert container["securityContext"]["readOnlyRootFilesystem"] is True
            assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}


@pytest.mark.parametrize("replicas", [1, 2, 5])
def test_disruption_budget_and_spreading_only_with_several_replicas(replicas):
    def change(d):
        d["spec"]["oauth2Proxy"]["replicas"] = replicas
        d["spec"]["apps"][0]["deploy"]["replicas"] = replicas

    bundle = render(change)
    budgets = {b["metadata"]["name"]: b for b in kinds(bundle, "PodDisruptionBudget")}
    if replicas == 1:
        assert budgets == {}
    else:
        assert set(budgets) == {"oauth2-proxy", "web"}
        assert budgets["oauth2-proxy"]["spec"] == {
            "maxUnavailable": 1,
            "selector": {"matchLabels": {"app.kubernetes.io/name": "oauth2-proxy"}},
        }
    for name in ("oauth2-proxy", "web"):
        pod = get(bundle, "Deployment", name)["spec"]["template"]["spec"]
        spread = pod.get("topologySpreadConstraints", [])
        assert len(spread) == (0 if replicas == 1 else 2)
        assert all(c["whenUnsatisfiable"] == "ScheduleAnyway" for c in spread)


def test_redis_is_never_spread_or_budgeted_its_sessions_live_in_one_pod():
    bundle = render(lambda d: (with_redis(d), d["spec"]["oauth2Proxy"].update(replicas=3)))
    assert get(bundle, "Deployment", "oauth2-proxy-redis")["spec"]["replicas"] == 1
    assert [b["metadata"]["name"] for b in kinds(bundle, "PodDisruptionBudget")] == ["oauth2-proxy"]


def test_only_the_ingress_gateway_identity_may_call_oauth2_proxy():
    def change(d):
        d["spec"]["ingress"] = {"namespace": "istio-ingress", "serviceAccount": "gateway"}

    policy = get(render(change), "AuthorizationPolicy", "oauth2-proxy", "oauth2-proxy")
    assert policy["spec"] == {
        "action": "ALLOW",
        "selector": {"matchLabels": {"app.kubernetes.io/name": "oauth2-proxy"}},
        "rules": [{"from": [{"source": {"principals": ["cluster.local/ns/istio-ingress/sa/gateway"]}}]}],
    }


def test_the_default_gateway_identity_is_istioctls():
    policy = get(render(), "AuthorizationPolicy", "oauth2-proxy", "oauth2-proxy")
    principals = policy["spec"]["rules"][0]["from"][0]["source"]["principals"]
    assert principals == ["cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account"]


def test_only_oauth2_proxy_may_call_redis():
    bundle = render(with_redis)
    policy = get(bundle, "AuthorizationPolicy", "oauth2-proxy-redis")
    assert policy["spec"]["rules"] == [
        {"from": [{"source": {"principals": ["cluster.local/ns/oauth2-proxy/sa/oauth2-proxy"]}}]}
    ]
    network = get(bundle, "NetworkPolicy", "oauth2-proxy-redis")
    assert network["spec"]["ingress"] == [
        {
            "from": [
                {
                    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "oauth2-proxy"}},
                    "podSelector": {"matchLabels": {"app.kubernetes.io/name": "oauth2-proxy"}},
                }
            ],
            "ports": [{"protocol": "TCP", "port": 6379}],
        }
    ]


def test_network_policies_admit_the_gateway_pods_on_the_serving_port_only():
    bundle = render()
    for name, port in (("oauth2-proxy", 4180), ("web", 8080)):
        spec = get(bundle, "NetworkPolicy", name)["spec"]
        assert spec["policyTypes"] == ["Ingress"]
        (rule,) = spec["ingress"]
        assert rule["ports"] == [{"protocol": "TCP", "port": port}]
        assert rule["from"][0]["podSelector"] == {"matchLabels": {"app": "istio-ingressgateway"}}
    # every pod meshauth renders is selected by a NetworkPolicy
    selectors = [n["spec"]["podSelector"]["matchLabels"] for n in kinds(bundle, "NetworkPolicy")]
    for deployment in kinds(bundle, "Deployment"):
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert any(all(labels.get(k) == v for k, v in s.items()) for s in selectors)


def test_demo_runs_as_the_configured_user_or_the_images_own():
    pod = get(render(), "Deployment", "web")["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True and "runAsUser" not in pod["securityContext"]
    assert pod["volumes"] == [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}]
    chosen = render(lambda d: d["spec"]["apps"][0]["deploy"].update(runAsUser=10101))
    context = get(chosen, "Deployment", "web")["spec"]["template"]["spec"]["securityContext"]
    assert (context["runAsUser"], context["runAsGroup"]) == (10101, 10101)


def test_root_is_refused_as_the_demo_user():
    with pytest.raises(meshauth.ConfigError) as caught:
        render(lambda d: d["spec"]["apps"][0]["deploy"].update(runAsUser=0))
    assert caught.value.problems[0].path == "spec.apps[0].deploy.runAsUser"


@pytest.mark.parametrize(
    "version, files", [("v7.2.0", False), ("v7.10.0", False), ("v7.11.0", True), ("v7.15.3", True)]
)
def test_oauth2_proxy_reads_its_secrets_from_files_where_the_release_can(version, files):
    bundle = render(lambda d: d["spec"]["oauth2Proxy"].update(version=version))
    container = get(bundle, "Deployment", "oauth2-proxy")["spec"]["template"]["spec"]["containers"][0]
    flags = {a.split("=")[0] for a in container["args"]}
    assert ("--cookie-secret-file" in flags) is files and ("--client-secret-file" in flags) is files
    assert ("env" in container) is not files


def test_pull_policy_always_for_tags_and_default_for_digests():
    digest = "sha256:" + "ab" * 32
    bundle = render(lambda d: d["spec"]["oauth2Proxy"].update(digest=digest))
    container = get(bundle, "Deployment", "oauth2-proxy")["spec"]["template"]["spec"]["containers"][0]
    assert container["image"].endswith(f":v7.15.3@{digest}") and "imagePullPolicy" not in container
    web = get(bundle, "Deployment", "web")["spec"]["template"]["spec"]["containers"][0]
    assert web["imagePullPolicy"] == "Always"


def test_checkov_exceptions_are_annotated_only_where_they_apply():
    def annotations(bundle, name):
        return set(get(bundle, "Deployment", name)["metadata"].get("annotations", {}).values())

    old = render(lambda d: d["spec"]["oauth2Proxy"].update(version="v7.2.0"))
    checks = {a.split("=")[0] for a in annotations(old, "oauth2-proxy")}
    assert checks == {"CKV_K8S_43", "CKV_K8S_40", "CKV_K8S_35"}
    pinned = render(
        lambda d: (
            d["spec"]["oauth2Proxy"].update(digest="sha256:" + "0" * 64),
            d["spec"]["apps"][0]["deploy"].update(
                image="nginxinc/nginx-unprivileged:1.27@sha256:" + "1" * 64, runAsUser=10101
            ),
        )
    )
    assert annotations(pinned, "oauth2-proxy") == set() and annotations(pinned, "web") == set()
    assert all("=" in a and a.count("=") == 1 for a in annotations(old, "oauth2-proxy"))


@pytest.mark.parametrize(
    "image",
    ["nginx:1.27", "ghcr.io/org/app:v1", "localhost:5000/a/b_c:1.0-rc1", "nginx@sha256:" + "a" * 64],
)
def test_image_references_are_accepted(image):
    render(lambda d: d["spec"]["apps"][0]["deploy"].update(image=image))


@pytest.mark.parametrize("image", ["nginx", "nginx:latest", "localhost:5000/a/b", "ghcr.io/org/app:latest"])
def test_unpinned_demo_images_are_refused(image):
    """No tag, or latest: what runs would change with each push (checkov CKV_K8S_14)."""
    with pytest.raises(meshauth.ConfigError) as caught:
        render(lambda d: d["spec"]["apps"][0]["deploy"].update(image=image))
    assert caught.value.problems[0].path == "spec.apps[0].deploy.image"
    assert "is not pinned" in str(caught.value)


@pytest.mark.parametrize("image", ["Nginx", "nginx:", "nginx@sha256:abc", "a b", "nginx:1.0\n", "-nginx"])
def test_malformed_image_references_are_refused(image):
    with pytest.raises(meshauth.ConfigError) as caught:
        render(lambda d: d["spec"]["apps"][0]["deploy"].update(image=image))
    assert caught.value.problems[0].path == "spec.apps[0].deploy.image"


def test_a_low_demo_uid_and_the_default_namespace_are_warned_about():
    def change(d):
        d["spec"]["apps"][0].update(namespace="default")
        d["spec"]["apps"][0]["deploy"]["runAsUser"] = 101
        d["spec"]["mesh"] = {"cni": True}

    bundle = render(change)
    paths = {w.path for w in bundle.warnings}
    assert {"spec.apps[0].deploy.runAsUser", "spec.apps[0].namespace"} <= paths
    default = get(bundle, "Namespace", "default")
    assert "pod-security.kubernetes.io/enforce" not in default["metadata"]["labels"]
    skips = get(bundle, "Deployment", "web")["metadata"]["annotations"].values()
    assert any(s.startswith("CKV_K8S_40=deploy.runAsUser 101") for s in skips)
