"""MA074 near misses: a policy's selector is judged against the pod labels of every kind of workload
in its namespace, values compared as text, and a workload meshauth rendered beside the user's does
not hide a selector that matches nothing."""

from __future__ import annotations

import pytest
from handwritten import deployment

import meshauth


def policy(match, **spec):
    return {
        "apiVersion": "security.istio.io/v1",
        "kind": "AuthorizationPolicy",
        "metadata": {"name": "p", "namespace": "apps"},
        "spec": {"selector": {"matchLabels": match}, **spec},
    }


def app(labels, name="web", managed_by=None):
    return deployment(name, "apps", labels, managed_by)


def ma074(docs):
    return [(f.object, f.path) for f in meshauth.validate(docs) if f.rule == "MA074"]


FOUND = [("AuthorizationPolicy apps/p", "spec.selector.matchLabels")]


def test_a_selector_value_is_compared_as_text():
    assert ma074([app({"app": "web", "version": "2"}), policy({"app": "web", "version": 2})]) == []
    assert ma074([app({"app": "web", "version": "2"}), policy({"app": "web", "version": "3"})]) == FOUND


def test_a_selector_needs_every_label():
    assert ma074([app({"app": "web"}), policy({"app": "web", "tier": "front"})]) == FOUND
    assert ma074([app({"app": "web"}), policy({"tier": None})]) == FOUND  # a label the pods lack


def test_a_pod_and_a_cron_job_carry_pod_labels_too():
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web", "namespace": "apps", "labels": {"app": "web"}},
        "spec": {},
    }
    assert ma074([pod, policy({"app": "web"})]) == []
    cron = {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": "job", "namespace": "apps"},
        "spec": {"jobTemplate": {"spec": {"template": {"metadata": {"labels": {"app": "job"}}, "spec": {}}}}},
    }
    assert ma074([cron, policy({"app": "job"})]) == []


def test_meshauths_own_workload_beside_the_users_does_not_hide_the_miss():
    ours = app({"app": "oauth2-proxy"}, name="proxy", managed_by="meshauth")
    assert ma074([ours, app({"app": "web"}), policy({"app": "api"})]) == FOUND
    assert ma074([ours, app({"app": "web"}), policy({"app": "oauth2-proxy"})]) == []


@pytest.mark.parametrize(
    "attach",
    [{"targetRef": {"kind": "Service", "name": "web"}}, {"targetRefs": [{"kind": "Service", "name": "web"}]}],
)
def test_a_policy_attached_by_target_refs_is_not_judged_by_its_selector(attach):
    assert ma074([app({"app": "web"}), policy({"app": "api"}, **attach)]) == []
