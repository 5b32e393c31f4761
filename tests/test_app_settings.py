"""What an app (and an external service) may say, and what it gets when it says nothing.

Each refusal is one a user would otherwise meet in the cluster: a port no Service has, a demo pod
as root or on a moving tag, a claim Istio cannot match, a public path that opens another app's part,
two apps fighting over one host. Behaviours mutation testing showed unchecked (tools/mutation.py on
meshauth/config/apps.py); tests/test_config_cases.py holds the corpus of broken configs.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from configs import document

import meshauth
from meshauth.config.apps import App


def config(*apps: dict[str, Any], **spec: Any) -> dict[str, Any]:
    return document("apps", **{"apps": list(apps) or [{"name": "web", "host": "web.example.com"}], **spec})


def app(**fields: Any) -> dict[str, Any]:
    return {"name": "web", "host": "web.example.com", **fields}


def loaded(*apps: dict[str, Any], **spec: Any) -> Any:
    return meshauth.load_config(config(*apps, **spec))


def refused(*apps: dict[str, Any], **spec: Any) -> list[tuple[str, str]]:
    with pytest.raises(meshauth.ConfigError) as raised:
        meshauth.load_config(config(*apps, **spec))
    return [(p.path, p.message) for p in raised.value.problems]


def refused_at(path: str, *apps: dict[str, Any], **spec: Any) -> str:
    problems = refused(*apps, **spec)
    assert [p for p, _ in problems] == [path], problems
    return problems[0][1]


# --- ports, replicas and users: the ranges Kubernetes accepts ----------------------------------------


def test_the_service_port_defaults_to_80_and_must_be_a_port():
    assert loaded(app()).spec.apps[0].service.port == 80
    for port in (1, 65535):
        assert loaded(app(service={"port": port})).spec.apps[0].service.port == port
    for port in (0, 65536):
        refused_at("spec.apps[0].service.port", app(service={"port": port}))


DEPLOY = {"image": "nginxinc/nginx-unprivileged:1.27"}


def test_a_demo_workload_runs_one_pod_unless_told_and_at_most_100():
    assert loaded(app(deploy=DEPLOY)).spec.apps[0].deploy.replicas == 1
    for replicas in (1, 100):
        assert loaded(app(deploy={**DEPLOY, "replicas": replicas})).spec.apps[0].deploy.replicas == replicas
    for replicas in (0, 101):
        refused_at("spec.apps[0].deploy.replicas", app(deploy={**DEPLOY, "replicas": replicas}))


def test_a_demo_container_port_must_be_a_port():
    for port in (1, 65535):
        assert (
            loaded(app(deploy={**DEPLOY, "containerPort": port})).spec.apps[0].deploy.container_port == port
        )
    for port in (0, 65536):
        refused_at("spec.apps[0].deploy.containerPort", app(deploy={**DEPLOY, "containerPort": port}))


def test_a_demo_pod_never_runs_as_root_nor_as_a_user_id_linux_cannot_have():
    for user in (1, 2147483647):
        assert loaded(app(deploy={**DEPLOY, "runAsUser": user})).spec.apps[0].deploy.run_as_user == user
    for user in (0, 2147483648):
        refused_at("spec.apps[0].deploy.runAsUser", app(deploy={**DEPLOY, "runAsUser": user}))


def test_an_external_service_defaults_to_tls_on_443_and_must_name_a_port():
    service = {"name": "docs", "host": "docs.example.com", "upstream": {"host": "docs.internal.example"}}
    upstream = loaded(externalServices=[service]).spec.external_services[0].upstream
    assert (upstream.port, upstream.tls) == (443, True)
    for port in (0, 65536):
        bad = copy.deepcopy(service)
        bad["upstream"]["port"] = port
        refused_at("spec.externalServices[0].upstream.port", externalServices=[bad])


def test_an_external_service_must_not_route_its_host_to_itself():
    service = {"name": "docs", "host": "docs.example.com", "upstream": {"host": "docs.example.com"}}
    message = refused_at("spec.externalServices[0].upstream.host", externalServices=[service])
    assert "route the public name to itself" in message


# --- the demo image is pinned -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "image",
    [
        "nginxinc/nginx-unprivileged:1.27",
        "registry.example.com:5000/team/nginx:1.27",
        "nginx@sha256:" + "a" * 64,
        "registry.example.com:5000/nginx@sha256:" + "b" * 64,
    ],
)
def test_a_tag_other_than_latest_or_a_digest_pins_the_image(image):
    assert loaded(app(deploy={"image": image})).spec.apps[0].deploy.image == image


@pytest.mark.parametrize(
    "image, why",
    [
        ("nginx", "without a tag"),
        ("nginx:latest", "the tag latest"),
        ("registry.example.com:5000/nginx", "without a tag"),
        ("registry.example.com:5000/team/nginx:latest", "the tag latest"),
    ],
)
def test_an_image_without_a_tag_or_on_latest_is_refused(image, why):
    message = refused_at("spec.apps[0].deploy.image", app(deploy={"image": image}))
    assert "is not pinned" in message and why in message


# --- claims Istio can match ---------------------------------------------------------------------------


def test_claims_take_lists_of_strings():
    claims = {"hd": ["example.com"], "groups": ["admins", "ops"]}
    assert loaded(app(authorization={"claims": claims})).spec.apps[0].authorization.claims == claims


@pytest.mark.parametrize(
    "values",
    [[True], ["yes", 1], []],
    ids=["boolean", "a-number-among-strings", "empty"],
)
def test_a_claim_that_is_not_a_non_empty_list_of_strings_is_refused(values):
    message = refused_at(
        "spec.apps[0].authorization.claims", app(authorization={"claims": {"email_verified": values}})
    )
    assert "values must be a non-empty list of strings" in message


def test_a_single_claim_value_must_still_be_written_as_a_list():
    message = refused_at(
        "spec.apps[0].authorization.claims", app(authorization={"claims": {"hd": "example.com"}})
    )
    assert message.endswith("values must be a list of strings")


def test_an_email_claim_is_checked_like_emails():
    ok = {"email": ["*@example.com", "alice@example.com"]}
    assert loaded(app(authorization={"claims": ok})).spec.apps[0].authorization.claims == ok
    message = refused_at(
        "spec.apps[0].authorization.claims", app(authorization={"claims": {"email": ["alice@example*"]}})
    )
    assert "also admits" in message
    # another claim is not an email: its values are matched as they are
    other = {"preferred_username": ["alice@example*"]}
    assert loaded(app(authorization={"claims": other})).spec.apps[0].authorization.claims == other


# --- hosts --------------------------------------------------------------------------------------------


def test_an_app_names_exactly_one_of_host_and_hosts():
    assert loaded(app()).spec.apps[0].all_hosts == ["web.example.com"]
    both = loaded({"name": "web", "hosts": ["a.example.com", "b.example.com"]}).spec.apps[0]
    assert both.all_hosts == ["a.example.com", "b.example.com"]
    refused_at("spec.apps[0].host", {"name": "web"})
    refused_at("spec.apps[0].host", app(hosts=["b.example.com"]))


def test_hosts_must_not_be_empty_nor_repeat():
    refused_at("spec.apps[0].hosts", {"name": "web", "hosts": []})
    assert refused_at("spec.apps[0].hosts", {"name": "web", "hosts": ["a.example.com", "a.example.com"]}) == (
        "must not repeat"
    )


# --- what an app gets when it says nothing ------------------------------------------------------------


def test_an_app_s_namespace_service_and_selector_default_to_its_name_and_anyone_logged_in_is_admitted():
    web = loaded(app()).spec.apps[0]
    assert (web.namespace, web.service.name, web.selector) == ("web", "web", {"app": "web"})
    assert web.authorization is not None and web.authorization.emails == [] and web.authorization.claims == {}


def test_what_an_app_says_is_kept():
    web = loaded(
        app(
            namespace="shop",
            service={"name": "frontend"},
            selector={"tier": "web"},
            authorization={"emails": ["alice@example.com"]},
        )
    ).spec.apps[0]
    assert (web.namespace, web.service.name, web.selector) == ("shop", "frontend", {"tier": "web"})
    assert web.authorization.emails == ["alice@example.com"]


# --- an app's path prefix and its public paths --------------------------------------------------------


def test_the_policy_paths_of_a_prefix():
    assert App(name="a", host="a.example.com").prefix_paths == ["/*"]
    assert App(name="a", host="a.example.com", pathPrefix="/pipeline/").prefix_paths == [
        "/pipeline",
        "/pipeline/*",
    ]
    assert App(name="a", host="a.example.com", pathPrefix="/api").prefix_paths == ["/api*"]


def test_a_prefix_ending_in_a_slash_owns_the_path_without_it():
    pipeline = App(name="a", host="a.example.com", pathPrefix="/pipeline/")
    assert pipeline.owns("/pipeline") and pipeline.owns("/pipeline/runs")
    assert not pipeline.owns("/pipelines") and not pipeline.owns("/pipelin")
    api = App(name="a", host="a.example.com", pathPrefix="/api")
    assert api.owns("/api") and api.owns("/api-v2")
    assert not api.owns("/ap")


@pytest.mark.parametrize("path", ["/pipeline", "/pipeline/healthz", "/pipeline/static/*", "/pipeline/*"])
def test_public_paths_under_the_prefix_are_accepted(path):
    web = loaded(app(pathPrefix="/pipeline/", publicPaths=[path])).spec.apps[0]
    assert web.public_paths == [path]


@pytest.mark.parametrize("path", ["/healthz", "/pipelines", "/pipeline*", "/pipelin"])
def test_a_public_path_outside_the_prefix_is_refused(path):
    message = refused_at("spec.apps[0].publicPaths[0]", app(pathPrefix="/pipeline/", publicPaths=[path]))
    assert "lies outside the app's pathPrefix /pipeline/" in message


def test_a_prefix_without_a_slash_owns_longer_names_and_a_wildcard_there():
    web = loaded(app(pathPrefix="/api", publicPaths=["/api-docs", "/api*"])).spec.apps[0]
    assert web.public_paths == ["/api-docs", "/api*"]
    refused_at("spec.apps[0].publicPaths[0]", app(pathPrefix="/api", publicPaths=["/ap*"]))


# --- apps that share a host ---------------------------------------------------------------------------


def test_apps_may_split_a_host_by_prefix():
    apps = loaded(
        app(name="web"),
        app(name="api", pathPrefix="/api/", publicPaths=["/api/healthz"]),
        app(name="docs", pathPrefix="/docs/"),
    ).spec.apps
    assert [a.path_prefix for a in apps] == ["/", "/api/", "/docs/"]


def test_two_apps_with_the_same_host_and_prefix_are_refused_at_the_second():
    message = refused_at(
        "spec.apps[2].host", app(name="other", host="other.example.com"), app(name="web"), app(name="api")
    )
    assert message.startswith("host web.example.com with pathPrefix / belongs to apps web and api")
    refused_at(
        "spec.apps[1].hosts",
        {"name": "web", "hosts": ["web.example.com"]},
        {"name": "api", "hosts": ["web.example.com"]},
    )


def test_apps_splitting_a_host_must_list_the_same_hosts():
    message = refused_at(
        "spec.apps[1].hosts",
        app(name="web"),
        {"name": "api", "hosts": ["web.example.com", "api.example.com"], "pathPrefix": "/api/"},
    )
    assert "share host web.example.com but not all their hosts" in message
    refused_at(
        "spec.apps[1].host",
        {"name": "web", "hosts": ["web.example.com", "api.example.com"]},
        app(name="api", pathPrefix="/api/"),
    )


@pytest.mark.parametrize("order", ["short-first", "long-first"])
def test_a_prefix_without_a_slash_that_would_catch_another_app_s_prefix_is_refused(order):
    short, long = app(name="api", pathPrefix="/api"), app(name="apiv2", pathPrefix="/api-v2/")
    apps = (short, long) if order == "short-first" else (long, short)
    index = 0 if order == "short-first" else 1
    message = refused_at(f"spec.apps[{index}].pathPrefix", *apps)
    assert message.startswith("pathPrefix /api of app api would also catch /api-v2/ of app apiv2")


def test_a_prefix_without_a_slash_may_hold_a_deeper_prefix_below_a_slash():
    apps = loaded(
        app(name="web"), app(name="api", pathPrefix="/api"), app(name="admin", pathPrefix="/api/admin/")
    ).spec.apps
    assert [a.name for a in apps] == ["web", "api", "admin"]


@pytest.mark.parametrize("order", ["opener-first", "opener-second"])
@pytest.mark.parametrize("path", ["/api/healthz", "/a*", "/api/*"])
def test_a_public_path_that_reaches_into_another_app_s_prefix_is_refused(order, path):
    opener, other = app(name="web", publicPaths=[path]), app(name="api", pathPrefix="/api/")
    apps = (opener, other) if order == "opener-first" else (other, opener)
    index = 0 if order == "opener-first" else 1
    message = refused_at(f"spec.apps[{index}].publicPaths[0]", *apps)
    assert f"{path} of app web reaches into pathPrefix /api/ of app api" in message


def test_a_public_path_beside_another_app_s_prefix_is_accepted():
    apps = loaded(
        app(name="web", publicPaths=["/ap", "/healthz", "/b*"]), app(name="api", pathPrefix="/api/")
    ).spec.apps
    assert apps[0].public_paths == ["/ap", "/healthz", "/b*"]


def test_the_deeper_app_s_public_paths_are_its_own():
    apps = loaded(app(name="web"), app(name="api", pathPrefix="/api/", publicPaths=["/api/*"])).spec.apps
    assert apps[1].public_paths == ["/api/*"]


def test_every_pair_on_a_host_is_checked_not_only_neighbours():
    message = refused_at(
        "spec.apps[2].publicPaths[0]",
        app(name="api", pathPrefix="/api/"),
        app(name="docs", pathPrefix="/docs/"),
        app(name="web", publicPaths=["/api/healthz"]),
    )
    assert "reaches into pathPrefix /api/ of app api" in message
