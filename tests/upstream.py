"""Test support: strict validation of custom resources against the real upstream CRDs.

The reference data (CRDs, oauth2-proxy's flags per release) is not in the repository: ``python
tools/upstream_data.py`` fetches it from the Go module proxy, at pinned versions checked against
their go.sum hashes, into ``.cache/upstream/ref`` (git-ignored; CI runs it first). The shared
``../shared/ref`` folder of the project's machines, with the same layout, is the fallback and the
cross-check. Without either, tests call :func:`require_ref`, which skips them with
:data:`SKIP_REASON` (saying how to fetch the data).

Typical use in a test::

    from upstream import UpstreamSchemas, require_ref

    def test_bundle_matches_upstream():
        schemas = UpstreamSchemas.released(require_ref())
        problems = [p for obj in render(...) if schemas.knows(obj["apiVersion"], obj["kind"])
                    for p in schemas.errors(obj)]
        assert problems == []

What :meth:`UpstreamSchemas.errors` checks, and how it mirrors the Kubernetes API server:

* The CRD is found by API group + kind and the version entry by the apiVersion's version. An
  unknown group or kind, a version the CRD does not define, and a version with ``served: false``
  are errors (the message lists the served versions).
* The object is validated with jsonschema (draft 4, the dialect of OpenAPI v3.0 that CRDs use)
  against that version's ``schema.openAPIV3Schema``, after applying the schema's ``default``
  values to a copy of the object, as the API server does before it validates (some upstream
  schemas, e.g. Gateway API addresses, are only satisfiable once defaults are in).
* Unknown fields are errors (what ``kubectl apply --validate=strict`` / ``fieldValidation=Strict``
  reports, instead of the silent pruning of the default mode): a transformed copy of the schema
  gets ``additionalProperties: false`` on every object schema in the structural part of the
  schema (root, ``properties``, ``items``, ``additionalProperties``) that declares
  ``properties`` or ``type: object`` and has neither ``additionalProperties`` nor
  ``x-kubernetes-preserve-unknown-fields: true``. ``apiVersion``/``kind``/``metadata`` are always
  allowed at the root (and in ``x-kubernetes-embedded-resource`` objects). The branches of
  ``allOf``/``anyOf``/``oneOf``/``not`` are value validations and are left untouched (injecting
  there would change their meaning, e.g. turn a ``not`` inside out).
* Kubernetes extensions: ``nullable: true`` accepts ``null`` (``null`` anywhere else is an
  error: the API server would silently drop it, so a manifest carrying it says something the
  cluster ignores); ``x-kubernetes-int-or-string: true`` accepts exactly an integer or a string;
  ``x-kubernetes-preserve-unknown-fields: true`` keeps unknown fields (declared properties are
  still checked); ``x-kubernetes-list-type: set|map`` rejects duplicate items / duplicate map
  keys (``x-kubernetes-list-map-keys``), as the API server does.
* Formats the API server checks on strings: ``date-time``, ``byte`` (base64), ``ipv4``, ``ipv6``.
  Numeric formats (``int32``, ``int64``, ``double``) are not range-checked, by the server either.
* ``metadata`` (ObjectMeta, which CRD schemas leave open): ``name`` present and a DNS-1123
  subdomain, ``namespace`` (if present) a DNS-1123 label, ``labels``/``annotations``
  string->string maps with valid keys (and valid label values), no fields that ObjectMeta does
  not have. Scope: a cluster-scoped kind must not carry ``metadata.namespace``; a namespaced one
  may leave it out (kustomize or ``kubectl -n`` can set it).

Not evaluated: ``x-kubernetes-validations`` (CEL rules). Those constraints (e.g. "only one of
jwks or jwksUri can be set") are NOT checked here; an object that breaks only a CEL rule passes.

Messages have the form ``"Kind/name: path.to.field: message"`` and are returned sorted, so the
output is deterministic.
"""

from __future__ import annotations

import base64
import binascii
import copy
import functools
import ipaddress
import json
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import jsonschema
import jsonschema.validators
import yaml
from jsonschema import Draft4Validator, FormatChecker
from jsonschema.exceptions import ValidationError

__all__ = ["ENV_VAR", "SKIP_REASON", "UpstreamSchemas", "ref_dir", "require_ref"]

ENV_VAR = "MESHAUTH_SHARED_REF"

REPO = Path(__file__).resolve().parents[1]
FETCHED = REPO / ".cache" / "upstream" / "ref"  # written by tools/upstream_data.py

SKIP_REASON = (
    "upstream reference data is absent: neither .cache/upstream/ref (run `python "
    "tools/upstream_data.py`, which needs the Go module proxy) nor ../shared/ref is there "
    f"(or set {ENV_VAR} to a `ref` folder); upstream conformance tests skipped"
)


def fetched_dir() -> Path | None:
    """``.cache/upstream/ref`` when tools/upstream_data.py completed a fetch (its pins.json is
    written last), else ``None``."""
    return FETCHED if (FETCHED / "pins.json").is_file() else None


def shared_dir() -> Path | None:
    path = REPO.parent / "shared" / "ref"
    return path if path.is_dir() else None


def ref_dir() -> Path | None:
    """The reference data: ``$MESHAUTH_SHARED_REF`` if set, else the fetched cache, else
    ``<repo>/../shared/ref``. ``None`` when there is none.
    """
    env = os.environ.get(ENV_VAR)
    if env:
        path = Path(env).expanduser().resolve()
        return path if path.is_dir() else None
    return fetched_dir() or shared_dir()


def require_ref() -> Path:
    """:func:`ref_dir`, or skip the calling test with :data:`SKIP_REASON` when it is absent."""
    ref = ref_dir()
    if ref is None:
        import pytest

        pytest.skip(SKIP_REASON)
    return ref


# --------------------------------------------------------------------------------------------
# Loading (cached per file: the big bundles take a while even with the C loader)

_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@functools.cache
def _load_crds(path: Path) -> tuple[dict[str, Any], ...]:
    """The CustomResourceDefinitions in one YAML file (treat the result as read-only)."""
    with path.open("rb") as fh:
        docs = list(yaml.load_all(fh, Loader=_YAML_LOADER))
    crds = []
    for doc in docs:
        if not isinstance(doc, dict) or doc.get("kind") != "CustomResourceDefinition":
            continue
        if doc.get("apiVersion") != "apiextensions.k8s.io/v1":
            raise ValueError(
                f"{path}: only apiextensions.k8s.io/v1 CRDs are supported, got {doc.get('apiVersion')!r}"
            )
        crds.append(doc)
    return tuple(crds)


@functools.cache
def _bundle(cls: type, which: str, ref: Path) -> UpstreamSchemas:
    crd_dir = ref / "crds"
    top = sorted(crd_dir.glob("*.yaml"))
    if not top:
        raise FileNotFoundError(f"no CRD files (*.yaml) in {crd_dir}")
    # Kinds that no registry meshauth reaches carries (Flux's HelmRelease CRD): from the shared
    # folder when the fetched data lacks them and the shared folder is there (else unknown).
    shared = shared_dir()
    extra = sorted((shared / "crds").glob("*.yaml")) if shared and ref != shared.resolve() else []
    if which == "newest":
        return cls(top, fallback_files=extra)
    return cls(sorted((crd_dir / "released").glob("*.yaml")), fallback_files=[*top, *extra])


# --------------------------------------------------------------------------------------------
# Schema transformation and the Kubernetes-flavoured validator

_OBJECT_ENVELOPE = {
    "apiVersion": {"type": "string"},
    "kind": {"type": "string"},
    "metadata": {"type": "object"},
}


def _strict(schema: Mapping[str, Any], *, envelope: bool = False) -> dict[str, Any]:
    """Copy of a structural schema with ``additionalProperties: false`` injected (see module doc).

    ``envelope``: the node is the root or an embedded resource; its ``metadata`` is ObjectMeta
    (checked by :func:`_metadata_problems`, left as the CRD declares it) and
    ``apiVersion``/``kind``/``metadata`` are implicitly allowed.
    """
    s = dict(schema)
    envelope = envelope or s.get("x-kubernetes-embedded-resource") is True
    if isinstance(s.get("properties"), Mapping):
        s["properties"] = {
            name: (dict(sub) if envelope and name == "metadata" else _strict(sub))
            for name, sub in s["properties"].items()
        }
    if isinstance(s.get("items"), Mapping):
        s["items"] = _strict(s["items"])
    if isinstance(s.get("additionalProperties"), Mapping):
        s["additionalProperties"] = _strict(s["additionalProperties"])
    is_object = s.get("type") == "object" or "properties" in s
    if (
        is_object
        and "additionalProperties" not in s
        and s.get("x-kubernetes-preserve-unknown-fields") is not True
    ):
        if envelope:
            props = dict(s.get("properties") or {})
            for name, sub in _OBJECT_ENVELOPE.items():
                props.setdefault(name, sub)
            s["properties"] = props
        s["additionalProperties"] = False
    return s


def _apply_defaults(value: Any, schema: Mapping[str, Any]) -> None:
    """Structural defaulting, in place, as the API server does before validation."""
    if isinstance(value, dict):
        props = schema.get("properties") or {}
        for name, sub in props.items():
            if "default" in sub and (
                name not in value or (value[name] is None and sub.get("nullable") is not True)
            ):
                value[name] = copy.deepcopy(sub["default"])
        extra = schema.get("additionalProperties")
        for name, item in value.items():
            if name in props:
                _apply_defaults(item, props[name])
            elif isinstance(extra, Mapping):
                _apply_defaults(item, extra)
    elif isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        for item in value:
            _apply_defaults(item, schema["items"])


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, list):
        return "array"
    return type(value).__name__


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=repr)


def _nullable_aware(keyword: str, check):
    def run(validator, value, instance, schema):
        if instance is None and schema.get("nullable") is True:
            return
        if (
            keyword == "anyOf"
            and schema.get("x-kubernetes-int-or-string") is True
            and all(isinstance(b, Mapping) and set(b) <= {"type"} for b in value)
        ):
            return  # the int-or-string type alternatives; reported by x-kubernetes-int-or-string
        yield from check(validator, value, instance, schema) or ()

    return run


def _int_or_string(validator, value, instance, schema):
    if value is not True or (instance is None and schema.get("nullable") is True):
        return
    if isinstance(instance, str) or (isinstance(instance, int) and not isinstance(instance, bool)):
        return
    yield ValidationError(
        f"expected an integer or a string (x-kubernetes-int-or-string), got {_json_type(instance)}"
    )


def _list_type(validator, value, instance, schema):
    if not isinstance(instance, list) or value not in ("set", "map"):
        return
    keys = list(schema.get("x-kubernetes-list-map-keys") or ()) if value == "map" else []

    def identity(item):
        if keys and isinstance(item, Mapping):
            return tuple(_canonical(item.get(k)) for k in keys)
        return _canonical(item)

    what = f"map keyed by {', '.join(keys)}" if keys else value
    seen: dict[Any, int] = {}
    for index, item in enumerate(instance):
        ident = identity(item)
        if ident in seen:
            yield ValidationError(
                f"duplicate entry (x-kubernetes-list-type: {what}); same as item [{seen[ident]}]",
                path=[index],
            )
        else:
            seen[ident] = index


_FORMATS = FormatChecker(formats=())
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})?")


@_FORMATS.checks("date-time")
def _is_date_time(value: Any) -> bool:
    return not isinstance(value, str) or _DATE_TIME.fullmatch(value) is not None


@_FORMATS.checks("byte")
def _is_base64(value: Any) -> bool:
    if not isinstance(value, str):
        return True
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


@_FORMATS.checks("ipv4")
def _is_ipv4(value: Any) -> bool:
    if not isinstance(value, str):
        return True
    try:
        ipaddress.IPv4Address(value)
    except ValueError:
        return False
    return True


@_FORMATS.checks("ipv6")
def _is_ipv6(value: Any) -> bool:
    if not isinstance(value, str):
        return True
    try:
        ipaddress.IPv6Address(value)
    except ValueError:
        return False
    return True


_K8sValidator = jsonschema.validators.extend(
    Draft4Validator,
    validators={
        **{kw: _nullable_aware(kw, fn) for kw, fn in Draft4Validator.VALIDATORS.items()},
        "x-kubernetes-int-or-string": _int_or_string,
        "x-kubernetes-list-type": _list_type,
    },
)


# --------------------------------------------------------------------------------------------
# metadata (ObjectMeta)

_DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_QUALIFIED_NAME_PART = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_OBJECT_META_FIELDS = frozenset(
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
_ANNOTATIONS_MAX_BYTES = 256 * 1024


def _is_dns1123_label(value: Any) -> bool:
    return isinstance(value, str) and len(value) <= 63 and _DNS1123_LABEL.fullmatch(value) is not None


def _is_dns1123_subdomain(value: Any) -> bool:
    return isinstance(value, str) and len(value) <= 253 and _DNS1123_SUBDOMAIN.fullmatch(value) is not None


def _is_qualified_name(key: Any) -> bool:
    if not isinstance(key, str):
        return False
    prefix, slash, name = key.rpartition("/")
    if slash and not _is_dns1123_subdomain(prefix):
        return False
    return len(name) <= 63 and _QUALIFIED_NAME_PART.fullmatch(name) is not None


def _is_label_value(value: Any) -> bool:
    if not isinstance(value, str) or len(value) > 63:
        return False
    return value == "" or _QUALIFIED_NAME_PART.fullmatch(value) is not None


def _metadata_problems(metadata: Any, kind: str, scope: str | None) -> list[tuple[str, str]]:
    if metadata is None:
        return [("metadata", "required field is missing")]
    if not isinstance(metadata, Mapping):
        return [("metadata", f"expected an object, got {_json_type(metadata)}")]
    out: list[tuple[str, str]] = []
    for field in sorted(set(metadata) - _OBJECT_META_FIELDS, key=str):
        out.append((_format_path(["metadata", field]), "unknown field (not in ObjectMeta)"))
    if "name" not in metadata:
        out.append(("metadata.name", "required field is missing"))
    elif not _is_dns1123_subdomain(metadata["name"]):
        out.append(
            (
                "metadata.name",
                f"{metadata['name']!r} is not a valid DNS-1123 subdomain (lowercase alphanumerics, '-' and '.', "
                "starting and ending with an alphanumeric, at most 253 characters)",
            )
        )
    if "namespace" in metadata:
        if scope == "Cluster":
            out.append(
                ("metadata.namespace", f"{kind} is cluster-scoped: metadata.namespace must not be set")
            )
        if not _is_dns1123_label(metadata["namespace"]):
            out.append(
                (
                    "metadata.namespace",
                    f"{metadata['namespace']!r} is not a valid DNS-1123 label (lowercase alphanumerics and '-', "
                    "starting and ending with an alphanumeric, at most 63 characters)",
                )
            )
    for field in ("labels", "annotations"):
        if field not in metadata:
            continue
        mapping = metadata[field]
        if not isinstance(mapping, Mapping):
            out.append(
                (f"metadata.{field}", f"expected a map of string to string, got {_json_type(mapping)}")
            )
            continue
        for key, value in mapping.items():
            where = _format_path(["metadata", field, key])
            if not _is_qualified_name(key):
                out.append(
                    (
                        where,
                        f"key {key!r} is not a valid qualified name ([prefix/]name; name at most 63 characters)",
                    )
                )
            if not isinstance(value, str):
                out.append((where, f"value must be a string, got {_json_type(value)}"))
            elif field == "labels" and not _is_label_value(value):
                out.append(
                    (
                        where,
                        f"{value!r} is not a valid label value (at most 63 characters, alphanumerics, '-', '_', '.')",
                    )
                )
        if field == "annotations":
            size = sum(len(str(k).encode()) + len(str(v).encode()) for k, v in mapping.items())
            if size > _ANNOTATIONS_MAX_BYTES:
                out.append(
                    ("metadata.annotations", f"total size {size} bytes exceeds {_ANNOTATIONS_MAX_BYTES}")
                )
    return out


# --------------------------------------------------------------------------------------------
# Messages

_SIMPLE_KEY = re.compile(r"[A-Za-z_$][A-Za-z0-9_$-]*")


def _format_path(path: Iterable[Any]) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif isinstance(part, str) and _SIMPLE_KEY.fullmatch(part):
            out += f".{part}" if out else part
        else:
            out += f"[{json.dumps(part, default=repr)}]"
    return out or "<root>"


def _short(text: str, limit: int = 400) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _describe(error: ValidationError) -> list[tuple[str, str]]:
    path = list(error.absolute_path)
    instance = error.instance
    if (
        error.validator == "additionalProperties"
        and error.validator_value is False
        and isinstance(instance, Mapping)
    ):
        known = sorted((error.schema.get("properties") or {}) if isinstance(error.schema, Mapping) else ())
        hint = (
            f"known fields here: {_short(', '.join(known), 300)}" if known else "no fields are allowed here"
        )
        return [
            (_format_path([*path, key]), f"unknown field (not in the upstream schema; {hint})")
            for key in sorted(set(instance) - set(known), key=str)
        ]
    if error.validator == "required" and isinstance(instance, Mapping):
        return [
            (_format_path([*path, key]), "required field is missing")
            for key in error.validator_value
            if key not in instance
        ]
    if error.validator in ("type", "enum") and instance is None:
        return [(_format_path(path), "null is not allowed (the field is not nullable)")]
    message = error.message
    shown = repr(instance)
    if len(shown) > 80 and message.startswith(shown):
        message = "value" + message[len(shown) :]
    if error.validator in ("anyOf", "oneOf") and error.context:
        causes = sorted(
            {f"{_format_path(sub.absolute_path)}: {_short(sub.message, 120)}" for sub in error.context}
        )
        message = f"{_short(message, 200)} [alternatives failed with: {'; '.join(causes[:6])}]"
    return [(_format_path(path), _short(message))]


# --------------------------------------------------------------------------------------------


class UpstreamSchemas:
    """A set of upstream CRDs, indexed by (API group, kind), that validates objects strictly.

    ``crd_files`` must not define the same (group, kind) twice. CRDs in ``fallback_files`` are
    used only for (group, kind) pairs that ``crd_files`` does not define.
    Validators are built on first use and cached per (group, version, kind).
    """

    def __init__(self, crd_files: Iterable[Path], *, fallback_files: Iterable[Path] = ()) -> None:
        self._crds: dict[tuple[str, str], dict[str, Any]] = {}
        self._sources: dict[tuple[str, str], Path] = {}
        self._validators: dict[tuple[str, str, str], tuple[Any, dict[str, Any]]] = {}
        for path in crd_files:
            path = Path(path).resolve()
            for crd in _load_crds(path):
                key = (crd["spec"]["group"], crd["spec"]["names"]["kind"])
                if key in self._crds:
                    raise ValueError(
                        f"{key[1]}.{key[0]} is defined twice: in {self._sources[key]} and in {path}"
                    )
                self._crds[key] = crd
                self._sources[key] = path
        primary = set(self._crds)
        for path in fallback_files:
            path = Path(path).resolve()
            for crd in _load_crds(path):
                key = (crd["spec"]["group"], crd["spec"]["names"]["kind"])
                if key not in primary and key not in self._crds:
                    self._crds[key] = crd
                    self._sources[key] = path
        self._groups = frozenset(group for group, _ in self._crds)

    @classmethod
    def newest(cls, ref: Path) -> UpstreamSchemas:
        """The top-level ``crds/*.yaml`` files (upstream default branches). Cached per ``ref``."""
        return _bundle(cls, "newest", Path(ref).resolve())

    @classmethod
    def released(cls, ref: Path) -> UpstreamSchemas:
        """``crds/released/*.yaml`` plus top-level files for kinds with no released copy. Cached."""
        return _bundle(cls, "released", Path(ref).resolve())

    # -- queries ---------------------------------------------------------------------------

    def knows(self, api_version: str, kind: str) -> bool:
        """True when the API group of ``api_version`` is defined by these CRDs.

        Deliberately group-wide: an object in a covered group with a misspelled kind or an
        unserved version is "known", so that :meth:`errors` reports it instead of a caller
        silently skipping it. Core/built-in groups (``v1``, ``apps/v1``, ...) are not known.
        """
        group, _, _ = _split_api_version(api_version)
        return group is not None and group in self._groups

    def kinds(self) -> list[tuple[str, str]]:
        """Sorted (group, kind) pairs defined by these CRDs."""
        return sorted(self._crds)

    def source(self, api_version: str, kind: str) -> Path | None:
        """The CRD file that defines ``kind`` in the group of ``api_version`` (None if none)."""
        group, _, _ = _split_api_version(api_version)
        return self._sources.get((group, kind)) if group is not None else None

    def errors(self, obj: Mapping[str, Any]) -> list[str]:
        """Problems of ``obj`` against its upstream CRD: ``[]`` when valid (see the module doc)."""
        if not isinstance(obj, Mapping):
            return [f"<not an object>: <root>: expected an object, got {_json_type(obj)}"]
        kind = obj.get("kind")
        metadata = obj.get("metadata")
        name = metadata.get("name") if isinstance(metadata, Mapping) else None
        kind_text = kind if isinstance(kind, str) and kind else "<no kind>"
        label = f"{kind_text}/{name if isinstance(name, str) and name else '<no name>'}"
        problems: list[tuple[str, str]] = []

        crd, version = self._resolve(obj.get("apiVersion"), kind, problems)
        problems += _metadata_problems(metadata, str(kind), crd["spec"]["scope"] if crd else None)
        if crd is not None and version is not None:
            validator, schema = self._validator_for(
                crd["spec"]["group"], version, crd["spec"]["names"]["kind"]
            )
            instance = copy.deepcopy(dict(obj))
            _apply_defaults(instance, schema)
            for error in validator.iter_errors(instance):
                problems += _describe(error)
        return sorted({f"{label}: {where}: {message}" for where, message in problems})

    # -- internals -------------------------------------------------------------------------

    def _resolve(self, api_version: Any, kind: Any, problems: list[tuple[str, str]]):
        if not isinstance(api_version, str) or not api_version:
            problems.append(("apiVersion", "required field is missing or not a string"))
            return None, None
        if not isinstance(kind, str) or not kind:
            problems.append(("kind", "required field is missing or not a string"))
            return None, None
        group, version, ok = _split_api_version(api_version)
        if not ok:
            problems.append(("apiVersion", f"{api_version!r} is not a valid apiVersion (group/version)"))
            return None, None
        if group is None:
            problems.append(
                ("apiVersion", f"{api_version!r} is the core API group: no upstream CRD defines it")
            )
            return None, None
        crd = self._crds.get((group, kind))
        if crd is None:
            if group in self._groups:
                known = ", ".join(k for g, k in sorted(self._crds) if g == group)
                problems.append(
                    ("kind", f"no upstream CRD for kind {kind!r} in group {group} (known kinds: {known})")
                )
            else:
                problems.append(("apiVersion", f"no upstream CRD defines API group {group!r}"))
            return None, None
        served = [v["name"] for v in crd["spec"]["versions"] if v.get("served") is True]
        served_text = ", ".join(served) or "none"
        entry = next((v for v in crd["spec"]["versions"] if v.get("name") == version), None)
        crd_name = crd["metadata"]["name"]
        if entry is None:
            problems.append(
                (
                    "apiVersion",
                    f"{api_version} is not a version of CRD {crd_name}; served versions: {served_text}",
                )
            )
            return crd, None
        if entry.get("served") is not True:
            problems.append(
                (
                    "apiVersion",
                    f"{api_version} is not served by CRD {crd_name} (served: false); served versions: {served_text}",
                )
            )
            return crd, None
        return crd, version

    def _validator_for(self, group: str, version: str, kind: str):
        key = (group, version, kind)
        cached = self._validators.get(key)
        if cached is None:
            crd = self._crds[(group, kind)]
            entry = next(v for v in crd["spec"]["versions"] if v["name"] == version)
            schema = _strict(entry["schema"]["openAPIV3Schema"], envelope=True)
            cached = self._validators[key] = (_K8sValidator(schema, format_checker=_FORMATS), schema)
        return cached


def _split_api_version(api_version: Any) -> tuple[str | None, str, bool]:
    """(group, version, well-formed). Core ``v1`` has group ``None``."""
    if not isinstance(api_version, str):
        return None, "", False
    group, slash, version = api_version.partition("/")
    if not slash:
        return None, api_version, bool(api_version)
    return group, version, bool(group) and bool(version) and "/" not in version
