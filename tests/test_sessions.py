"""Session stores: Redis topologies and passwords, the rendered Redis, startup ordering, and the
warning when a cookie session grows past 4 KB."""

from __future__ import annotations

import copy

import pytest
import yaml
from conftest import ROOT
from upstream_flags import proxy_container, proxy_problems

import meshauth
from meshauth.files.yamltext import KIND_ORDER

QUICKSTART = yaml.safe_load((ROOT / "examples" / "quickstart.yaml").read_text())


def render(store=None, version=None, identity=None, apps=None):
    data = copy.deepcopy(QUICKSTART)
    proxy = data["spec"]["oauth2Proxy"]
    if store is not None:
        proxy["sessionStore"] = store
    if version:
        proxy["version"] = version
    if identity:
        data["spec"]["identity"] = identity
    if apps:
        data["spec"]["apps"] = apps
    return meshauth.render(data)


def get(bundle, kind, name):
    return next(o for o in bundle.objects if o["kind"] == kind and o["metadata"]["name"] == name)


def flags(bundle) -> list[str]:
    return proxy_container(bundle)["args"]


def env(bundle) -> dict[str, tuple[str, str]]:
    return {
        e["name"]: (e["valueFrom"]["secretKeyRef"]["name"], e["valueFrom"]["secretKeyRef"]["key"])
        for e in proxy_container(bundle)["env"]
    }


def test_redis_password_comes_from_a_secret_not_a_flag():
    bundle = render(
        {"type": "redis", "url": "redis://cache:6379", "passwordSecret": {"name": "r", "key": "pw"}}
    )
    assert env(bundle)["OAUTH2_PROXY_REDIS_PASSWORD"] == ("r", "pw")
    assert not [a for a in flags(bundle) if "password" in a]


def test_sentinel_flags_and_both_passwords():
    bundle = render(
        {
            "type": "redis",
            "passwordSecret": {"name": "r", "key": "pw"},
            "sentinel": {
                "masterName": "sessions",
                "urls": ["redis://s0:26379", "redis://s1:26379"],
                "passwordSecret": {"name": "r", "key": "sentinel"},
            },
        }
    )
    args = flags(bundle)
    start = args.index("--session-store-type=redis")
    assert args[start : start + 5] == [
        "--session-store-type=redis",
        "--redis-use-sentinel=true",
        "--redis-sentinel-master-name=sessions",
        "--redis-sentinel-connection-urls=redis://s0:26379",
        "--redis-sentinel-connection-urls=redis://s1:26379",
    ]
    assert env(bundle)["OAUTH2_PROXY_REDIS_SENTINEL_PASSWORD"] == ("r", "sentinel")
    assert not [a for a in args if a.startswith("--redis-connection-url")]


def test_cluster_flags():
    args = flags(render({"type": "redis", "cluster": {"urls": ["rediss://c0:6380", "rediss://c1:6380"]}}))
    start = args.index("--redis-use-cluster=true")
    assert args[start : start + 3] == [
        "--redis-use-cluster=true",
        "--redis-cluster-connection-urls=rediss://c0:6380",
        "--redis-cluster-connection-urls=rediss://c1:6380",
    ]


def test_username_needs_v7_6_0():
    store = {"type": "redis", "url": "redis://cache:6379", "username": "sessions"}
    assert "--redis-username=sessions" in flags(render(store, version="v7.6.0"))
    with pytest.raises(meshauth.ConfigError, match="needs oauth2-proxy v7.6.0 or newer"):
        render(store, version="v7.5.1")


@pytest.mark.parametrize(
    "store, version",
    [
        ({"type": "redis", "deploy": True, "passwordSecret": {"name": "r", "key": "pw"}}, "v7.0.0"),
        ({"type": "redis", "username": "u", "url": "redis://c:6379"}, "v7.6.0"),
        (
            {
                "type": "redis",
                "sentinel": {
                    "masterName": "m",
                    "urls": ["redis://s:26379"],
                    "passwordSecret": {"name": "r", "key": "s"},
                },
            },
            "v7.2.0",
        ),
        ({"type": "redis", "cluster": {"urls": ["redis://c:6379"]}}, "v7.15.3"),
    ],
)
def test_every_session_flag_and_variable_exists_upstream(store, version):
    assert proxy_problems(render(store, version=version), version) == []


def test_deployed_redis_takes_the_password_and_admits_only_oauth2_proxy():
    bundle = render({"type": "redis", "deploy": True, "passwordSecret": {"name": "redis-auth", "key": "pw"}})
    container = get(bundle, "Deployment", "oauth2-proxy-redis")["spec"]["template"]["spec"]["containers"][0]
    assert container["args"][-2:] == ["--requirepass", "$(REDIS_PASSWORD)"]
    assert container["env"] == [
        {"name": "REDIS_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "redis-auth", "key": "pw"}}}
    ]
    policy = get(bundle, "NetworkPolicy", "oauth2-proxy-redis")["spec"]
    assert policy["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "oauth2-proxy-redis"}
    # security's generic guard: oauth2-proxy's pods, in oauth2-proxy's namespace only
    assert policy["ingress"] == [
        {
            "from": [
                {
                    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "oauth2-proxy"}},
                    "podSelector": {"matchLabels": {"app.kubernetes.io/name": "oauth2-proxy"}},
                }
            ],
            "ports": [{"port": 6379, "protocol": "TCP"}],
        }
    ]
    assert env(bundle)["OAUTH2_PROXY_REDIS_PASSWORD"] == ("redis-auth", "pw")


def test_deployed_redis_without_password_has_no_requirepass():
    bundle = render({"type": "redis", "deploy": True})
    container = get(bundle, "Deployment", "oauth2-proxy-redis")["spec"]["template"]["spec"]["containers"][0]
    assert "--requirepass" not in container["args"] and "env" not in container


def test_redis_is_addressable_before_oauth2_proxy_starts_and_the_proxy_waits_for_its_sidecar():
    """Deployments start together (Kubernetes has no order between them): oauth2-proxy exits while
    Redis does not answer and is restarted; its Service name resolves from the start."""
    bundle = render({"type": "redis", "deploy": True})
    names = [(o["kind"], o["metadata"]["name"]) for o in bundle.objects]
    assert names.index(("Service", "oauth2-proxy-redis")) < names.index(("Deployment", "oauth2-proxy"))
    assert names.index(("NetworkPolicy", "oauth2-proxy-redis")) < names.index(
        ("Deployment", "oauth2-proxy-redis")
    )
    assert KIND_ORDER.index("NetworkPolicy") < KIND_ORDER.index("Deployment")
    pod = get(bundle, "Deployment", "oauth2-proxy")["spec"]["template"]
    assert pod["metadata"]["annotations"] == {
        "proxy.istio.io/config": '{"holdApplicationUntilProxyStarts":true}'
    }
    assert pod["spec"]["containers"][0]["readinessProbe"]["httpGet"]["path"] == "/ready"


# --- cookie size -----------------------------------------------------------------------------------

AZURE = {"preset": "azure", "tenant": "72f988bf-86f1-41af-91ab-2d7cd011db47", "clientId": "c"}
GOOGLE = {"preset": "google", "clientId": "c.apps.googleusercontent.com"}
DEX = {
    "preset": "dex",
    "issuerUrl": "https://dex.example.com",
    "clientId": "c",
    "scopes": ["openid", "email", "groups"],
}


def size_warnings(bundle):
    return [w for w in bundle.warnings if w.rule == "MA062"]


def test_entra_id_cookie_sessions_pass_4kb_and_redis_is_suggested():
    (warning,) = size_warnings(render(identity=AZURE, apps=[{"name": "a", "host": "a.example.com"}]))
    assert warning.path == "spec.oauth2Proxy.sessionStore"
    assert (
        "about 7.3 KB" in warning.message and "sessionStore: {type: redis, deploy: true}" in warning.message
    )
    assert size_warnings(render({"type": "redis", "deploy": True}, identity=AZURE)) == []


def test_a_small_google_session_is_not_flagged():
    apps = [{"name": "a", "host": "a.example.com"}]
    assert size_warnings(render(identity=GOOGLE, apps=apps)) == []


def test_groups_heavy_sessions_are_flagged():
    few = [{"name": "a", "host": "a.example.com"}]
    many = [{"name": "a", "host": "a.example.com", "authorization": {"groups": ["platform"]}}]
    assert size_warnings(render(identity=DEX, apps=few)) == []
    (warning,) = size_warnings(render(identity=DEX, apps=many))
    assert "groups claim" in warning.message


def test_an_unknown_provider_is_not_guessed():
    assert size_warnings(render()) == []  # generic preset: no basis for an estimate
