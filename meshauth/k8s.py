"""Kubernetes object helpers, written once: an object's name, namespace, spec and pod template,
and the CUSTOM AuthorizationPolicies (the gateway login) among a set of objects.

Every reader of manifests (validate's rules, import, simulate) asks these, so that they agree on
malformed input (a field of the wrong type reads as empty: reporting it is the schema's job) and on
cluster-scoped kinds (which have no namespace).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

# meshauth's annotation on the oauth2-proxy Deployment: identity.idTokenLifetime, for rule MA018.
ID_TOKEN_LIFETIME = "meshauth.dev/id-token-lifetime"

# Kinds meshauth meets that are cluster-scoped: their namespace is "" whatever metadata says.
CLUSTER_SCOPED = frozenset(
    {
        "ClusterIssuer",
        "ClusterRole",
        "ClusterRoleBinding",
        "ClusterSecretStore",
        "CustomResourceDefinition",
        "GatewayClass",
        "IngressClass",
        "MutatingWebhookConfiguration",
        "Namespace",
        "ValidatingWebhookConfiguration",
    }
)


def mapping(value: Any) -> Mapping[str, Any]:
    """``value`` when it is a mapping, else an empty one (malformed input is the schema's to report)."""
    return value if isinstance(value, Mapping) else {}


def sequence(value: Any) -> list[Any]:
    """``value`` as a list when it is a list (or tuple), else an empty one (malformed: the schema's)."""
    return list(value) if isinstance(value, (list, tuple)) else []


def name_of(obj: Mapping[str, Any]) -> str:
    return str(mapping(obj.get("metadata")).get("name", ""))


def namespace_of(obj: Mapping[str, Any], default: str = "default") -> str:
    """The object's namespace: ``default`` when metadata names none, "" for cluster-scoped kinds."""
    if obj.get("kind") in CLUSTER_SCOPED:
        return ""
    return str(mapping(obj.get("metadata")).get("namespace") or default)


def spec_of(obj: Mapping[str, Any]) -> dict[str, Any]:
    spec = obj.get("spec")
    return spec if isinstance(spec, dict) else {}


def pod_template(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    """The pod (template) of a workload: a Pod itself, a CronJob's job template's, else spec.template."""
    if obj.get("kind") == "Pod":
        return obj
    spec = mapping(obj.get("spec"))
    if obj.get("kind") == "CronJob":
        spec = mapping(mapping(spec.get("jobTemplate")).get("spec"))
    return mapping(spec.get("template"))


def is_custom_policy(obj: Mapping[str, Any]) -> bool:
    """An AuthorizationPolicy whose action is CUSTOM (it hands the request to an extension provider)."""
    return obj.get("kind") == "AuthorizationPolicy" and spec_of(obj).get("action") == "CUSTOM"


def custom_policies(objects: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The AuthorizationPolicies among ``objects`` whose action is CUSTOM, in their order."""
    return [obj for obj in objects if is_custom_policy(obj)]


def provider_name(policy: Mapping[str, Any]) -> str:
    """The extension provider a CUSTOM policy names ("" when it names none)."""
    return str(mapping(spec_of(policy).get("provider")).get("name", ""))
