"""MA016 on hand-written setups: STRICT mTLS, where it is in force, and a namespace the login setup
relies on that has no sidecars: one finding per such namespace, on its Namespace object, and none
once the namespace is injected or mTLS there is not STRICT."""

from __future__ import annotations

import meshauth


def namespace(name, **labels):
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}


def peer_authentication(ns, mode=None, name="default", selector=None):
    spec = {} if mode is None else {"mtls": {"mode": mode}}
    if selector:
        spec["selector"] = {"matchLabels": selector}
    return {
        "apiVersion": "security.istio.io/v1",
        "kind": "PeerAuthentication",
        "metadata": {"name": name, "namespace": ns},
        "spec": spec,
    }


def deployment(ns, name, image="registry.example.com/app:1", **labels):
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns, "labels": labels},
        "spec": {
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": name, "image": image}]},
            },
        },
    }


def proxy(ns="oauth2-proxy"):
    return deployment(ns, "oauth2-proxy", image="quay.io/oauth2-proxy/oauth2-proxy:v7.6.0")


MESH_STRICT = peer_authentication("istio-system", "STRICT")


def ma016(docs):
    return [(f.rule, f.object, f.path) for f in meshauth.validate(docs) if f.rule == "MA016"]


def finding(ns):
    return ("MA016", f"Namespace {ns}", "metadata.labels")


def test_mesh_wide_strict_and_the_proxy_namespace_without_sidecars_is_one_finding():
    assert ma016([MESH_STRICT, namespace("oauth2-proxy"), proxy()]) == [finding("oauth2-proxy")]


def test_an_injected_namespace_is_fine():
    assert ma016([MESH_STRICT, namespace("oauth2-proxy", **{"istio-injection": "enabled"}), proxy()]) == []
    assert ma016([MESH_STRICT, namespace("oauth2-proxy", **{"istio.io/rev": "canary"}), proxy()]) == []


def test_without_strict_mtls_nothing_is_refused():
    assert ma016([namespace("oauth2-proxy"), proxy()]) == []
    assert (
        ma016([peer_authentication("istio-system", "PERMISSIVE"), namespace("oauth2-proxy"), proxy()]) == []
    )


def test_strict_in_the_namespace_itself_counts():
    docs = [peer_authentication("oauth2-proxy", "STRICT"), namespace("oauth2-proxy"), proxy()]
    assert ma016(docs) == [finding("oauth2-proxy")]


def test_strict_in_another_namespace_does_not_count():
    docs = [peer_authentication("apps", "STRICT"), namespace("oauth2-proxy"), proxy()]
    assert ma016(docs) == []


def test_the_namespace_policy_overrides_the_mesh_wide_one():
    permissive = peer_authentication("oauth2-proxy", "PERMISSIVE")
    assert ma016([MESH_STRICT, permissive, namespace("oauth2-proxy"), proxy()]) == []
    strict = peer_authentication("oauth2-proxy", "STRICT")
    docs = [peer_authentication("istio-system", "PERMISSIVE"), strict, namespace("oauth2-proxy"), proxy()]
    assert ma016(docs) == [finding("oauth2-proxy")]


def test_a_namespace_policy_that_leaves_the_mode_unset_inherits_strict():
    for unset in (peer_authentication("oauth2-proxy", "UNSET"), peer_authentication("oauth2-proxy")):
        assert ma016([MESH_STRICT, unset, namespace("oauth2-proxy"), proxy()]) == [finding("oauth2-proxy")]


def test_a_workload_policy_sets_no_namespace_mode():
    # A PeerAuthentication with a selector is for those pods only, not the namespace.
    workload = peer_authentication("oauth2-proxy", "STRICT", name="only-some", selector={"app": "x"})
    assert ma016([workload, namespace("oauth2-proxy"), proxy()]) == []
    permissive = peer_authentication("oauth2-proxy", "PERMISSIVE", name="only-some", selector={"app": "x"})
    assert ma016([MESH_STRICT, permissive, namespace("oauth2-proxy"), proxy()]) == [finding("oauth2-proxy")]


def test_a_namespace_the_manifests_do_not_define_is_not_judged():
    assert ma016([MESH_STRICT, proxy()]) == []


def test_a_namespace_with_nothing_of_the_login_setup_is_not_judged():
    assert ma016([MESH_STRICT, namespace("batch"), deployment("batch", "cron")]) == []


def test_a_namespace_a_workload_policy_guards_is_relied_on():
    policy = {
        "apiVersion": "security.istio.io/v1",
        "kind": "AuthorizationPolicy",
        "metadata": {"name": "web", "namespace": "apps"},
        "spec": {"selector": {"matchLabels": {"app": "web"}}, "rules": [{}]},
    }
    docs = [MESH_STRICT, namespace("apps"), deployment("apps", "web"), policy]
    assert ma016(docs) == [finding("apps")]
    namespace_wide = {**policy, "spec": {"rules": [{}]}}  # no selector: no particular workload
    assert ma016([MESH_STRICT, namespace("apps"), deployment("apps", "web"), namespace_wide]) == []


def test_a_workload_meshauth_rendered_is_relied_on():
    labelled = deployment("apps", "web", **{"app.kubernetes.io/managed-by": "meshauth"})
    assert ma016([MESH_STRICT, namespace("apps"), labelled]) == [finding("apps")]
    helm = deployment("apps", "web", **{"app.kubernetes.io/managed-by": "Helm"})
    assert ma016([MESH_STRICT, namespace("apps"), helm]) == []


def test_each_namespace_without_sidecars_is_its_own_finding_in_name_order():
    labelled = deployment("apps", "web", **{"app.kubernetes.io/managed-by": "meshauth"})
    docs = [MESH_STRICT, namespace("oauth2-proxy"), proxy(), namespace("apps"), labelled]
    assert ma016(docs) == [finding("apps"), finding("oauth2-proxy")]
    docs[1] = namespace("oauth2-proxy", **{"istio-injection": "enabled"})  # the first one fixed
    assert ma016(docs) == [finding("apps")]
    docs[1], docs[3] = namespace("oauth2-proxy"), namespace("apps", **{"istio-injection": "enabled"})
    assert ma016(docs) == [finding("oauth2-proxy")]


def test_the_gateway_and_root_namespaces_are_not_judged():
    # Gateway pods and the control plane's namespace are Istio's: policies there select the gateway.
    gateway_policy = {
        "apiVersion": "security.istio.io/v1",
        "kind": "AuthorizationPolicy",
        "metadata": {"name": "login", "namespace": "istio-system"},
        "spec": {"selector": {"matchLabels": {"istio": "ingressgateway"}}, "rules": [{}]},
    }
    docs = [MESH_STRICT, namespace("istio-system"), gateway_policy]
    assert ma016(docs) == []
    ingress = {**gateway_policy, "metadata": {"name": "login", "namespace": "ingress"}}
    gateway = {
        "apiVersion": "networking.istio.io/v1",
        "kind": "Gateway",
        "metadata": {"name": "web", "namespace": "ingress"},
        "spec": {"selector": {"istio": "ingressgateway"}, "servers": []},
    }
    assert ma016([MESH_STRICT, namespace("ingress"), ingress, gateway]) == []


def test_a_namespace_that_is_not_strict_does_not_hide_the_next_one():
    labelled = deployment("apps", "web", **{"app.kubernetes.io/managed-by": "meshauth"})
    permissive = peer_authentication("apps", "PERMISSIVE")
    docs = [MESH_STRICT, permissive, namespace("apps"), labelled, namespace("oauth2-proxy"), proxy()]
    assert ma016(docs) == [finding("oauth2-proxy")]
    # and one injected, or not in the manifests, does not either
    docs = [
        MESH_STRICT,
        namespace("apps", **{"istio-injection": "enabled"}),
        labelled,
        namespace("oauth2-proxy"),
        proxy(),
    ]
    assert ma016(docs) == [finding("oauth2-proxy")]
    docs = [MESH_STRICT, labelled, namespace("oauth2-proxy"), proxy()]
    assert ma016(docs) == [finding("oauth2-proxy")]


def test_the_mesh_configs_root_namespace_decides_what_is_mesh_wide():
    root = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "istio", "namespace": "istio-system"},
        "data": {"mesh": "rootNamespace: mesh-root\n"},
    }
    strict_in_root = peer_authentication("mesh-root", "STRICT")
    assert ma016([root, strict_in_root, namespace("oauth2-proxy"), proxy()]) == [finding("oauth2-proxy")]
    assert ma016([strict_in_root, namespace("oauth2-proxy"), proxy()]) == []  # default root: istio-system
    assert ma016([root, MESH_STRICT, namespace("oauth2-proxy"), proxy()]) == []
