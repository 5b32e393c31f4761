"""The project's own JSON Schemas for the custom resources meshauth emits (``schemas/crds/``).

One file per kind, written by hand from the upstream API references (Istio's protos, cert-manager's,
External Secrets' and Sealed Secrets' Go types); the kind's served apiVersions are the ``enum`` of
its ``apiVersion`` property. Shared definitions (ObjectMeta, selectors, Istio's string matches)
live in ``_defs.json``. Every object schema is closed (``additionalProperties: false``), so an
unknown field, a typo included, is an error, as with ``kubectl apply --validate=strict``. The
constraints upstream writes as CEL rules are written as JSON Schema here (``not``/``if``/``then``).

Validators are built once per (apiVersion, kind) and cached: building is much slower than
validating, and a large bundle has many objects of few kinds. Each has the compiled check of
:mod:`meshauth.validation.schemas.compiled` in front.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from meshauth._util.resources import data_dir

CRD_DIR = "crds"


@lru_cache(maxsize=1)
def _files() -> tuple[Path, ...]:
    folder = data_dir("schemas") / CRD_DIR
    return tuple(sorted(folder.glob("*.json"))) if folder.is_dir() else ()


@lru_cache(maxsize=1)
def _schemas() -> dict[str, Mapping[str, Any]]:
    return {path.name: json.loads(path.read_text(encoding="utf-8")) for path in _files()}


@lru_cache(maxsize=1)
def index() -> dict[tuple[str, str], str]:
    """(apiVersion, kind) -> schema file name, for every kind and version the schemas cover."""
    found: dict[tuple[str, str], str] = {}
    for name, schema in _schemas().items():
        properties = schema.get("properties") or {}
        kind = (properties.get("kind") or {}).get("const")
        for api_version in (properties.get("apiVersion") or {}).get("enum") or ():
            if kind:
                found[(api_version, kind)] = name
    return found


def served(api_version: str, kind: str) -> tuple[str, ...]:
    """The apiVersions of ``api_version``'s group that the schemas know ``kind`` by."""
    group = api_version.rpartition("/")[0]
    return tuple(sorted(a for a, k in index() if k == kind and a.rpartition("/")[0] == group))


@lru_cache(maxsize=1)
def _registry() -> Any:
    from referencing import Registry, Resource

    resources = [Resource.from_contents(schema) for schema in _schemas().values()]
    identified = [(r.id(), r) for r in resources]
    return Registry().with_resources((uri, r) for uri, r in identified if uri)


@cache
def bundled_validator(api_version: str, kind: str) -> Any | None:
    """A strict validator for one (apiVersion, kind), or None when the schemas do not cover it."""
    name = index().get((api_version, kind))
    if name is None:
        return None
    from jsonschema import Draft202012Validator

    from meshauth.validation.schemas.compiled import FastValidator

    return FastValidator(Draft202012Validator(_schemas()[name], registry=_registry()), _registry())
