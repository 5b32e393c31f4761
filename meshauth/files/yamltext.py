"""The one emitter: canonical YAML text for objects, and the ``-o DIR`` layout.

Canonical means: block style; ``apiVersion, kind, metadata, spec`` first and ``name`` first in every
mapping, other keys sorted; strings that YAML 1.1 would read as something else (``"on"``, ``"1.10"``)
quoted; no anchors; ``---`` between documents; a trailing newline. The same objects always give the
same bytes, whatever order their keys were built in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import yaml

from meshauth._util import gcpause
from meshauth._util.parallel import ordered_map

_DUMPER_BASE = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

_FIRST_KEYS = ("apiVersion", "kind", "metadata", "name", "namespace")
_TOP_LEVEL_ORDER = {"apiVersion": 0, "kind": 1, "metadata": 2, "spec": 3, "type": 4, "data": 5}

# Apply order. Namespaces and cluster plumbing first; workloads before the policies that route to
# them; policies before the Gateway and VirtualServices that expose the apps, so that nothing is ever
# reachable before the login guarding it exists (a CUSTOM policy with no proxy yet fails closed).
KIND_ORDER = (
    "Namespace",
    "IngressClass",
    "ClusterIssuer",
    "Issuer",
    "ServiceAccount",
    "Role",
    "RoleBinding",
    "Secret",
    "ExternalSecret",
    "SealedSecret",
    "ConfigMap",
    "NetworkPolicy",
    "Service",
    "Deployment",
    "PodDisruptionBudget",
    "PeerAuthentication",
    "RequestAuthentication",
    "AuthorizationPolicy",
    "EnvoyFilter",
    "Certificate",
    "ServiceEntry",
    "DestinationRule",
    "Gateway",
    "VirtualService",
    "HTTPRoute",
)
_KIND_RANK = {kind: rank for rank, kind in enumerate(KIND_ORDER)}


# _DUMPER_BASE is picked at run time (the C dumper when libyaml is built in); mypy cannot check a
# base class held in a variable, hence the ignore.
class _Dumper(_DUMPER_BASE):  # type: ignore[misc,valid-type]
    def ignore_aliases(self, data: Any) -> bool:
        return True


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    # Multi-line text reads best as a literal block; the emitter falls back to quotes when it must.
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


def canonical(value: Any, top: bool = False) -> Any:
    """A copy of ``value`` with every mapping's keys in canonical order."""
    if isinstance(value, Mapping):
        return {key: canonical(value[key]) for key in sorted(value, key=_key_order(top))}
    if isinstance(value, (list, tuple)):
        return [canonical(item) for item in value]
    return value


def _key_order(top: bool) -> Callable[[Any], tuple[int, str]]:
    def rank(key: Any) -> tuple[int, str]:
        text = str(key)
        if top and text in _TOP_LEVEL_ORDER:
            return (_TOP_LEVEL_ORDER[text], "")
        if text in _FIRST_KEYS:
            return (_FIRST_KEYS.index(text), "")
        return (len(_TOP_LEVEL_ORDER) + len(_FIRST_KEYS), text)

    return rank


def dump_document(obj: Any) -> str:
    return yaml.dump(
        canonical(obj, top=True),
        Dumper=_Dumper,
        default_flow_style=False,
        sort_keys=False,
        allow_unicode=True,
        width=2**31 - 1,
        indent=2,
    )


def dump_documents(objects: Iterable[Any], jobs: int = 1) -> str:
    return "---\n".join(dump_each(objects, jobs))


def dump_each(objects: Iterable[Any], jobs: int = 1) -> list[str]:
    """One YAML document per object, in order; large inputs in up to ``jobs`` processes."""
    with gcpause.paused():  # forked workers inherit the pause
        return ordered_map(dump_document, list(objects), jobs)


def apply_order(obj: Mapping[str, Any]) -> tuple[int, str, str, str]:
    metadata = obj.get("metadata") or {}
    return (
        _KIND_RANK.get(obj.get("kind", ""), len(KIND_ORDER)),
        str(obj.get("kind", "")),
        str(metadata.get("namespace") or ""),
        str(metadata.get("name") or ""),
    )


def file_name(obj: Mapping[str, Any]) -> str:
    """``kind.namespace.name.yaml`` (``kind.name.yaml`` for cluster-scoped objects), lowercase kind."""
    metadata = obj["metadata"]
    parts = [obj["kind"].lower(), metadata.get("namespace"), metadata["name"]]
    return ".".join(p for p in parts if p) + ".yaml"
