"""Validation against user-supplied CustomResourceDefinitions (``--crds PATH``), strictly.

Like kubeconform's schema locations: point meshauth at the CRDs of the cluster you deploy to (files
or folders of CRD YAML, or what ``kubectl get crd -o yaml`` prints: a ``kind: List``) and custom
resources are checked against exactly those, instead of the schemas meshauth ships. Groups the
given CRDs do not define fall back to the bundled schemas.

What is checked, mirroring the Kubernetes API server with ``fieldValidation=Strict``:

* the CRD is found by group and kind, the version must be defined and ``served``;
* the object, after the schema's ``default`` values are applied, against the version's
  ``openAPIV3Schema`` (draft 4, as CRDs use) with ``additionalProperties: false`` added to every
  object schema of the structural part that has neither ``additionalProperties`` nor
  ``x-kubernetes-preserve-unknown-fields`` (unknown fields are errors, not silently pruned);
  ``apiVersion``, ``kind`` and ``metadata`` are allowed at the root and in embedded resources;
* ``nullable``, ``x-kubernetes-int-or-string``, ``x-kubernetes-list-type: set|map``, and the
  string formats the API server checks (``date-time``, ``byte``, ``ipv4``, ``ipv6``);
* ``metadata``: a DNS-1123 name, a DNS-1123 label namespace (none on cluster-scoped kinds), label
  and annotation keys and values;
* ``x-kubernetes-validations`` (CEL), through :mod:`meshauth.cel` when the optional CEL package is
  installed (``pip install 'meshauth[cel]'``); otherwise one warning says they were skipped.

Validators are built once per (group, version, kind) and cached on the :class:`CrdSet`.
"""

from __future__ import annotations

import base64
import binascii
import copy
import ipaddress
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Union

from meshauth.errors import ConfigError, Problem
from meshauth.findings import Finding, object_ref
from meshauth.validation.schemas import cel
from meshauth.validation.schemas.messages import json_path, schema_message

PathLike = Union[str, "os.PathLike[str]"]
_ENVELOPE = {"apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": {"type": "object"}}


@dataclass
class CrdSet:
    """CRDs by (group, kind), with validators built on first use."""

    crds: dict[tuple[str, str], Mapping[str, Any]]
    sources: dict[tuple[str, str], str]
    _validators: dict[tuple[str, str, str], tuple[Any, dict[str, Any]]] = field(
        default_factory=dict, repr=False
    )

    @property
    def groups(self) -> frozenset[str]:
        return frozenset(group for group, _ in self.crds)

    def defines(self, api_version: str) -> bool:
        return api_version.rpartition("/")[0] in self.groups

    def findings(self, obj: Mapping[str, Any]) -> list[Finding]:
        """Schema findings (rule ``schema``) of one object whose group these CRDs define."""
        ref = object_ref(obj)
        problems = list(self._problems(obj))
        return [Finding("schema", "error", message, object=ref, path=path) for path, message in problems]

    def cel_notice(self, objects: Iterable[Mapping[str, Any]]) -> Finding | None:
        """One warning when CEL rules apply to these objects but no CEL package is installed."""
        if cel.available():
            return None
        kinds = sorted({f"{obj.get('kind')}" for obj in objects if self._has_cel(obj)})
        if not kinds:
            return None
        return Finding(
            "schema",
            "warning",
            f"the x-kubernetes-validations (CEL) rules of {', '.join(kinds)} were not evaluated: "
            "install the CEL extra (pip install 'meshauth[cel]') to check them too",
        )

    # --- internals ---------------------------------------------------------------------------

    def _problems(self, obj: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
        group, _, version = str(obj.get("apiVersion", "")).rpartition("/")
        kind = str(obj.get("kind", ""))
        crd = self.crds.get((group, kind))
        if crd is None:
            known = ", ".join(k for g, k in sorted(self.crds) if g == group)
            yield "kind", f"the given CRDs define no kind {kind} in group {group} (they define: {known})"
            return
        entry = next((v for v in crd["spec"]["versions"] if v.get("name") == version), None)
        served = ", ".join(v["name"] for v in crd["spec"]["versions"] if v.get("served")) or "none"
        if entry is None or not entry.get("served"):
            yield "apiVersion", f"CRD {crd['metadata']['name']} does not serve {version} (served: {served})"
            return
        yield from _metadata_problems(obj.get("metadata"), kind, crd["spec"].get("scope"))
        validator, schema = self._validator(group, version, kind)
        instance = copy.deepcopy(dict(obj))
        apply_defaults(instance, schema)
        for error in validator.iter_errors(instance):
            yield from describe(error)
        yield from cel.problems(schema, instance)

    def _validator(self, group: str, version: str, kind: str) -> tuple[Any, dict[str, Any]]:
        key = (group, version, kind)
        if key not in self._validators:
            crd = self.crds[(group, kind)]
            entry = next(v for v in crd["spec"]["versions"] if v["name"] == version)
            schema = strict((entry.get("schema") or {}).get("openAPIV3Schema") or {}, envelope=True)
            self._validators[key] = (_k8s_validator()(schema, format_checker=_formats()), schema)
        return self._validators[key]

    def _has_cel(self, obj: Mapping[str, Any]) -> bool:
        group, _, version = str(obj.get("apiVersion", "")).rpartition("/")
        crd = self.crds.get((group, str(obj.get("kind"))))
        entry = next(
            (v for v in (crd or {}).get("spec", {}).get("versions", []) if v.get("name") == version), None
        )
        return entry is not None and "x-kubernetes-validations" in str(entry.get("schema"))


def load_crds(paths: Iterable[PathLike]) -> CrdSet:
    """CRDs from YAML files and folders (``kind: List`` included); ConfigError when none."""
    from meshauth.files.manifests import load_manifests

    manifests = load_manifests(paths)
    crds: dict[tuple[str, str], Mapping[str, Any]] = {}
    sources: dict[tuple[str, str], str] = {}
    for obj, file in zip(manifests.objects, manifests.files):
        if obj.get("kind") != "CustomResourceDefinition":
            continue
        if obj.get("apiVersion") != "apiextensions.k8s.io/v1":
            raise ConfigError(
                Problem(
                    f"only apiextensions.k8s.io/v1 CRDs are supported, not {obj.get('apiVersion')}", file=file
                )
            )
        try:
            key = (str(obj["spec"]["group"]), str(obj["spec"]["names"]["kind"]))
        except (KeyError, TypeError):
            raise ConfigError(
                Problem("a CustomResourceDefinition without spec.group or spec.names.kind", file=file)
            ) from None
        if key in crds and crds[key] != obj:
            raise ConfigError(
                Problem(f"{key[1]}.{key[0]} is defined twice (also in {sources[key]})", file=file)
            )
        crds[key], sources[key] = obj, file
    if not crds:
        where = ", ".join(map(str, paths)) if not isinstance(paths, (str, os.PathLike)) else str(paths)
        raise ConfigError(Problem("no CustomResourceDefinition found", file=where))
    return CrdSet(crds, sources)


# --- the strict, Kubernetes-flavoured schema ------------------------------------------------------


def strict(schema: Mapping[str, Any], *, envelope: bool = False) -> dict[str, Any]:
    """A copy with ``additionalProperties: false`` on every structural object schema (module doc)."""
    s = dict(schema)
    envelope = envelope or s.get("x-kubernetes-embedded-resource") is True
    if isinstance(s.get("properties"), Mapping):
        s["properties"] = {
            name: dict(sub) if envelope and name == "metadata" else strict(sub)
            for name, sub in s["properties"].items()
        }
    for key in ("items", "additionalProperties"):
        if isinstance(s.get(key), Mapping):
            s[key] = strict(s[key])
    is_object = s.get("type") == "object" or "properties" in s
    if (
        is_object
        and "additionalProperties" not in s
        and s.get("x-kubernetes-preserve-unknown-fields") is not True
    ):
        if envelope:
            s["properties"] = {**_ENVELOPE, **(s.get("properties") or {})}
        s["additionalProperties"] = False
    return s


def apply_defaults(value: Any, schema: Mapping[str, Any]) -> None:
    """Structural defaulting, in place, as the API server does before it validates."""
    if isinstance(value, dict):
        properties = schema.get("properties") or {}
        for name, sub in properties.items():
            missing = name not in value or (value[name] is None and sub.get("nullable") is not True)
            if "default" in sub and missing:
                value[name] = copy.deepcopy(sub["default"])
        extra = schema.get("additionalProperties")
        for name, item in value.items():
            sub = properties.get(name, extra if isinstance(extra, Mapping) else None)
            if sub is not None:
                apply_defaults(item, sub)
    elif isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        for item in value:
            apply_defaults(item, schema["items"])


@lru_cache(maxsize=1)
def _k8s_validator() -> Any:
    """Draft 4 (what CRD schemas are written in) with the Kubernetes extensions."""
    import jsonschema.validators
    from jsonschema import Draft4Validator

    keywords = {kw: _nullable_aware(kw, fn) for kw, fn in Draft4Validator.VALIDATORS.items()}
    keywords["x-kubernetes-int-or-string"] = _int_or_string
    keywords["x-kubernetes-list-type"] = _list_type
    # jsonschema's extend() carries no annotations.
    return jsonschema.validators.extend(Draft4Validator, validators=keywords)  # type: ignore[no-untyped-call]


def _nullable_aware(keyword: str, check: Any) -> Any:
    def run(validator: Any, value: Any, instance: Any, schema: Mapping[str, Any]) -> Iterator[Any]:
        if instance is None and schema.get("nullable") is True:
            return
        if keyword == "anyOf" and schema.get("x-kubernetes-int-or-string") is True:
            return  # the int-or-string alternatives: checked by x-kubernetes-int-or-string
        yield from check(validator, value, instance, schema) or ()

    return run


def _int_or_string(validator: Any, value: Any, instance: Any, schema: Mapping[str, Any]) -> Iterator[Any]:
    from jsonschema.exceptions import ValidationError

    if value is not True or (instance is None and schema.get("nullable") is True):
        return
    if not isinstance(instance, str) and (isinstance(instance, bool) or not isinstance(instance, int)):
        yield ValidationError("must be an integer or a string")


def _list_type(validator: Any, value: Any, instance: Any, schema: Mapping[str, Any]) -> Iterator[Any]:
    from jsonschema.exceptions import ValidationError

    if not isinstance(instance, list) or value not in ("set", "map"):
        return
    keys = list(schema.get("x-kubernetes-list-map-keys") or ()) if value == "map" else []
    seen: dict[str, int] = {}
    for index, item in enumerate(instance):
        identity = repr([item.get(k) for k in keys]) if keys and isinstance(item, Mapping) else repr(item)
        if identity in seen:
            yield ValidationError(
                f"duplicate entry (x-kubernetes-list-type: {value}), same as [{seen[identity]}]", path=[index]
            )
        seen.setdefault(identity, index)


@lru_cache(maxsize=1)
def _formats() -> Any:
    from jsonschema import FormatChecker

    checker = FormatChecker(formats=())
    checker.checks("date-time")(lambda v: not isinstance(v, str) or bool(_DATE_TIME.fullmatch(v)))
    checker.checks("byte")(_is_base64)
    checker.checks("ipv4")(lambda v: _is_ip(v, ipaddress.IPv4Address))
    checker.checks("ipv6")(lambda v: _is_ip(v, ipaddress.IPv6Address))
    return checker


_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})?")


def _is_base64(value: Any) -> bool:
    if not isinstance(value, str):
        return True
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def _is_ip(value: Any, kind: Any) -> bool:
    try:
        return not isinstance(value, str) or bool(kind(value))
    except ValueError:
        return False


# --- messages --------------------------------------------------------------------------------------


def describe(error: Any) -> Iterator[tuple[str, str]]:
    """(path, message) for a validation error, without echoing values (they may be secrets)."""
    path = list(error.absolute_path)
    instance = error.instance
    if (
        error.validator == "additionalProperties"
        and error.validator_value is False
        and isinstance(instance, Mapping)
    ):
        known = sorted((error.schema.get("properties") or {}) if isinstance(error.schema, Mapping) else ())
        for key in sorted(set(instance) - set(known), key=str):
            yield json_path([*path, key]), f"unknown field (known here: {', '.join(known) or 'none'})"
        return
    if error.validator == "required" and isinstance(instance, Mapping):
        for key in error.validator_value:
            if key not in instance:
                yield json_path([*path, key]), "required field is missing"
        return
    if instance is None and error.validator in ("type", "enum"):
        yield json_path(path), "null is not allowed here (the field is not nullable)"
        return
    yield json_path(path), schema_message(error)


# --- metadata --------------------------------------------------------------------------------------

_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_NAME_PART = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_OBJECT_META = frozenset(
    {
        "name",
        "generateName",
        "namespace",
        "selfLink",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "labels",
        "annotations",
        "ownerReferences",
        "finalizers",
        "managedFields",
    }
)


def _metadata_problems(metadata: Any, kind: str, scope: str | None) -> Iterator[tuple[str, str]]:
    if not isinstance(metadata, Mapping):
        yield "metadata", "required, and must be an object"
        return
    for key in sorted(set(metadata) - _OBJECT_META, key=str):
        yield f"metadata.{key}", "unknown field (not in ObjectMeta)"
    name = metadata.get("name")
    if not (isinstance(name, str) and len(name) <= 253 and _SUBDOMAIN.match(name)):
        yield "metadata.name", "required; a DNS-1123 subdomain (lowercase letters, digits, '-', '.')"
    namespace = metadata.get("namespace")
    if namespace is not None and scope == "Cluster":
        yield "metadata.namespace", f"{kind} is cluster-scoped: metadata.namespace must not be set"
    elif namespace is not None and not (
        isinstance(namespace, str) and len(namespace) <= 63 and _LABEL.match(namespace)
    ):
        yield "metadata.namespace", "must be a DNS-1123 label"
    for key, value in (
        (metadata.get("labels") or {}).items() if isinstance(metadata.get("labels"), Mapping) else ()
    ):
        if not _qualified_name(key) or not (
            isinstance(value, str) and (value == "" or (len(value) <= 63 and _NAME_PART.match(value)))
        ):
            yield (
                f"metadata.labels.{key}",
                "not a valid label (key: [prefix/]name; value: at most 63 alphanumerics, '-', '_', '.')",
            )
    for key, value in (
        (metadata.get("annotations") or {}).items()
        if isinstance(metadata.get("annotations"), Mapping)
        else ()
    ):
        if not _qualified_name(key) or not isinstance(value, str):
            yield f"metadata.annotations.{key}", "not a valid annotation (a qualified key and a string value)"


def _qualified_name(key: Any) -> bool:
    if not isinstance(key, str):
        return False
    prefix, slash, name = key.rpartition("/")
    if slash and not (len(prefix) <= 253 and _SUBDOMAIN.match(prefix)):
        return False
    return len(name) <= 63 and bool(_NAME_PART.match(name))
