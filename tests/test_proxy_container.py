"""Which containers run oauth2-proxy and what they start it with, as the rules see it: findings
point at the flag to change, in a Pod or a workload, in command, args or a literal variable, and a
later setting wins over an earlier one."""

from __future__ import annotations

import pytest

import meshauth

GOOD = ["--http-address=0.0.0.0:4180", "--upstream=static://200"]


def deployment(containers, kind="Deployment"):
    pod_spec = {"containers": containers}
    if kind == "Pod":
        return {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": "oauth2-proxy",
                "namespace": "oauth2-proxy",
                "labels": {"app": "oauth2-proxy"},
            },
            "spec": pod_spec,
        }
    return {
        "apiVersion": "apps/v1",
        "kind": kind,
        "metadata": {"name": "oauth2-proxy", "namespace": "oauth2-proxy"},
        "spec": {
            "selector": {"matchLabels": {"app": "oauth2-proxy"}},
            "template": {"metadata": {"labels": {"app": "oauth2-proxy"}}, "spec": pod_spec},
        },
    }


def container(args=(), image="quay.io/oauth2-proxy/oauth2-proxy:v7.6.0", **more):
    return {"name": "oauth2-proxy", "image": image, "args": list(args), **more}


def found(docs, rule):
    return [(f.object, f.path) for f in meshauth.validate(docs) if f.rule == rule]


def test_a_flag_in_a_pod_is_pointed_at_in_the_pod_spec():
    pod = deployment([container([*GOOD, "--no-such-flag"])], kind="Pod")
    assert found([pod], "MA015") == [("Pod oauth2-proxy/oauth2-proxy", "spec.containers[0].args[2]")]
    workload = deployment([container([*GOOD, "--no-such-flag"])], kind="StatefulSet")
    assert found([workload], "MA015") == [
        ("StatefulSet oauth2-proxy/oauth2-proxy", "spec.template.spec.containers[0].args[2]")
    ]


def test_only_the_oauth2_proxy_container_of_a_pod_is_judged():
    sidecar = {"name": "nginx", "image": "nginx:1.25", "args": ["--no-such-flag"]}
    docs = [deployment(["junk", sidecar, container([*GOOD, "--no-such-flag"])])]
    assert found(docs, "MA015") == [
        ("Deployment oauth2-proxy/oauth2-proxy", "spec.template.spec.containers[2].args[2]")
    ]


@pytest.mark.parametrize(
    "image, is_proxy",
    [
        ("quay.io/oauth2-proxy/oauth2-proxy:v7.6.0", True),
        ("oauth2-proxy", True),
        ("bitnami/oauth2_proxy:7.6.0", True),
        ("registry.example.com:5000/team/oauth2-proxy-fips:v7.6.0", True),
        ("quay.io/oauth2-proxy/oauth2-proxy@sha256:0123", True),
        ("quay.io/oauth2-proxy/nginx:v7.6.0", False),
        ("example.com/my-oauth2-proxy:v7.6.0", False),
    ],
)
def test_a_container_runs_oauth2_proxy_by_its_image_name(image, is_proxy):
    docs = [deployment([container(["--no-such-flag", *GOOD], image=image)])]
    assert len(found(docs, "MA015")) == is_proxy


@pytest.mark.parametrize(
    "tag, release",
    [
        ("quay.io/oauth2-proxy/oauth2-proxy:v7.3.0", "oauth2-proxy v7.3.0"),
        ("bitnami/oauth2-proxy:7.3.0-debian-12-r5", "oauth2-proxy v7.3.0"),
        ("registry.example.com:5000/oauth2-proxy:v7.3.0@sha256:0123", "oauth2-proxy v7.3.0"),
        ("registry.example.com:7/oauth2-proxy", "any oauth2-proxy v7 release"),
        ("quay.io/oauth2-proxy/oauth2-proxy:latest", "any oauth2-proxy v7 release"),
    ],
)
def test_the_release_is_read_from_the_image_tag(tag, release):
    docs = [deployment([container([*GOOD, "--no-such-flag"], image=tag)])]
    [finding] = [f for f in meshauth.validate(docs) if f.rule == "MA015"]
    assert f"is not a flag of {release}" in finding.message


def test_flags_in_the_command_after_the_binary_count():
    docs = [deployment([container(command=["/bin/oauth2-proxy", "--no-such-flag", *GOOD])])]
    assert found(docs, "MA015") == [
        ("Deployment oauth2-proxy/oauth2-proxy", "spec.template.spec.containers[0].command[1]")
    ]
    docs = [deployment([container(command=["--no-such-flag"], args=GOOD)])]  # the binary itself
    assert found(docs, "MA015") == []


def test_a_value_may_follow_its_flag_as_the_next_argument():
    docs = [deployment([container(["--http-address", "0.0.0.0:4180", "--upstream", "static://200"])])]
    assert found(docs, "MA013") == []
    docs = [deployment([container(["--http-address", "0.0.0.0:4180", "--upstream", "http://app"])])]
    assert found(docs, "MA013") == [
        ("Deployment oauth2-proxy/oauth2-proxy", "spec.template.spec.containers[0].args[2]")
    ]


def test_a_switch_does_not_take_the_next_argument_as_its_value():
    # --skip-provider-button is a switch: "static://200" after it is a stray word, not its value
    docs = [
        deployment(
            [
                container(
                    ["--http-address=0.0.0.0:4180", "--upstream", "--skip-provider-button", "static://200"]
                )
            ]
        )
    ]
    assert found(docs, "MA013") == [
        ("Deployment oauth2-proxy/oauth2-proxy", "spec.template.spec.containers[0].args[1]")
    ]
    docs = [
        deployment(
            [
                container(
                    ["--http-address=0.0.0.0:4180", "--skip-provider-button", "x", "--upstream=static://200"]
                )
            ]
        )
    ]
    assert found(docs, "MA013") == []


def test_single_dashes_and_stray_words():
    docs = [
        deployment([container(["-http-address=0.0.0.0:4180", "-", "--", "words", "-upstream=static://200"])])
    ]
    assert [f for f in meshauth.validate(docs) if f.rule in ("MA013", "MA015")] == []


def test_a_literal_variable_is_a_setting_and_the_args_override_it():
    env = [
        {"name": "OAUTH2_PROXY_COOKIE_REFRESH", "value": "5h"},
        {"name": "OAUTH2_PROXY_COOKIE_EXPIRE", "valueFrom": {"secretKeyRef": {"name": "x", "key": "y"}}},
    ]
    docs = [deployment([container([*GOOD, "--cookie-expire=4h"], env=env)])]
    assert found(docs, "MA005") == [
        ("Deployment oauth2-proxy/oauth2-proxy", "spec.template.spec.containers[0].env[0].value")
    ]
    docs = [deployment([container([*GOOD, "--cookie-expire=4h", "--cookie-refresh=1h"], env=env)])]
    assert found(docs, "MA005") == []


def test_a_list_flag_counts_each_value_and_skips_empty_ones():
    docs = [deployment([container(["--http-address=0.0.0.0:4180", "--upstream=,static://200"])])]
    assert found(docs, "MA013") == []
    docs = [
        deployment(
            [container(["--http-address=0.0.0.0:4180", "--upstream=", "--upstream=http://a,static://"])]
        )
    ]
    assert found(docs, "MA013") == []


def test_the_last_of_a_repeated_flag_wins():
    docs = [
        deployment(
            [
                container(
                    [
                        "--http-address=127.0.0.1:4180",
                        "--upstream=static://200",
                        "--http-address=0.0.0.0:4180",
                    ]
                )
            ]
        )
    ]
    assert found(docs, "MA013") == []
    docs = [
        deployment(
            [
                container(
                    [
                        "--http-address=0.0.0.0:4180",
                        "--upstream=static://200",
                        "--http-address=localhost:4180",
                    ]
                )
            ]
        )
    ]
    assert found(docs, "MA013") == [
        ("Deployment oauth2-proxy/oauth2-proxy", "spec.template.spec.containers[0].args[2]")
    ]


def test_a_flag_followed_by_another_flag_has_no_value_and_does_not_swallow_it():
    docs = [deployment([container(["--upstream", "--http-address=0.0.0.0:4180"])])]
    assert found(docs, "MA013") == [
        ("Deployment oauth2-proxy/oauth2-proxy", "spec.template.spec.containers[0].args[0]")
    ]


def test_other_variables_of_the_container_are_not_settings():
    env = [{"name": "TZ", "value": "UTC"}, {"name": "OAUTH2_PROXY_NO_SUCH_THING", "value": "1"}]
    assert [
        f for f in meshauth.validate([deployment([container(GOOD, env=env)])]) if f.rule.startswith("MA01")
    ] == []
