"""Strict validators for core Kubernetes kinds, from the schemas kubernetes-validate ships.

The schemas are those of the target Kubernetes minor version (the newest shipped one not above
it). Each validator is built once per (version, apiVersion, kind) and reused: the shared
definitions file is large, and building is far slower than validating. Every validator has a
compiled yes/no check in front (:mod:`meshauth.validation.schemas.compiled`); jsonschema itself
runs only for the objects that check does not accept, to say what is wrong.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any, cast

from meshauth.compat.versions import kubernetes_versions
from meshauth.validation.schemas.compiled import FastValidator
from meshauth.validation.schemas.inline import inline_refs

_DEFINITIONS_ID = "https://kubernetes.io/api/_definitions.json"


def schema_dir(kubernetes_version: str) -> Path | None:
    """kubernetes-validate's folder of strict schemas for a Kubernetes version, if it ships one."""
    import importlib.util

    spec = importlib.util.find_spec("kubernetes_validate")
    if spec is None or not spec.submodule_search_locations:
        return None
    major, minor = (int(x) for x in kubernetes_version.split(".")[:2])
    usable = [v for v in kubernetes_versions() if v <= (major, minor)]
    if not usable:
        return None
    name = "v{}.{}.0-local-strict".format(*usable[-1])
    return Path(next(iter(spec.submodule_search_locations))) / "kubernetes-json-schema" / name


@cache
def definitions_registry(root: Path) -> Any:
    """A referencing registry holding the shared definitions file of a schema folder."""
    from referencing import Registry, Resource

    definitions = json.loads((root / "_definitions.json").read_text(encoding="utf-8"))
    return Resource.from_contents(definitions) @ Registry()


@cache
def core_validator(kubernetes_version: str, api_version: str, kind: str) -> Any:
    """A strict validator for a core kind, or None when that Kubernetes version does not serve it."""
    root = schema_dir(kubernetes_version)
    group, _, version = api_version.rpartition("/")
    suffix = f"{group.split('.')[0]}-{version}" if group else version
    path = root / f"{kind.lower()}-{suffix}.json" if root else None
    if path is None or not path.is_file():
        return None
    from jsonschema import Draft202012Validator

    schema = json.loads(path.read_text(encoding="utf-8"))
    definitions = _definitions(root)

    def name(ref: str) -> str | None:
        document, _, pointer = ref.partition("#/$defs/")
        return pointer if pointer and (not document or document.endswith("_definitions.json")) else None

    def resolve(ref: str) -> Any:
        return definitions.get(name(ref) or "")

    def absolute(ref: str) -> str:
        return f"{_DEFINITIONS_ID}#/$defs/{name(ref)}" if name(ref) else ref

    inlined = inline_refs(schema, resolve, absolute)
    registry = definitions_registry(root)
    return FastValidator(Draft202012Validator(inlined, registry=registry), registry)


@cache
def _definitions(root: Path) -> dict[str, Any]:
    document = json.loads((root / "_definitions.json").read_text(encoding="utf-8"))
    # The bundled file is a JSON Schema document: its $defs map definition names to schemas.
    return cast("dict[str, Any]", document.get("$defs", {}))
