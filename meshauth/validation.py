"""Schema validation of manifests, and the entry point that runs every check on a bundle.

Core Kubernetes kinds are checked against the strict schemas that kubernetes-validate ships for the
target Kubernetes minor version. Each validator is built once per (version, apiVersion, kind) and
reused: the shared definitions file is large, and building is far slower than validating.
Cross-resource rules live in :mod:`meshauth.rules`.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Sequence, Union

from meshauth.errors import ValidationFailed
from meshauth.findings import Finding, errors, object_ref
from meshauth.versions import DEFAULT_KUBERNETES, kubernetes_versions

CRD_GROUPS = frozenset({"gateway.networking.k8s.io"})


def validate(
    bundle_or_objects: Union["Bundle", Sequence[Mapping[str, Any]]],  # noqa: F821
    *,
    kubernetes_version: Optional[str] = None,
    raise_on_error: bool = False,
) -> list[Finding]:
    """Every finding for a bundle (or plain objects): schemas, then cross-resource rules."""
    from meshauth import rules  # imported here: rules import this module's helpers

    objects, mesh, warnings, version = _unpack(bundle_or_objects, kubernetes_version)
    findings = list(warnings)
    findings += schema_findings(objects, version)
    findings += rules.check(objects, mesh)
    if raise_on_error and errors(findings):
        raise ValidationFailed(errors(findings))
    return findings


def schema_findings(objects: Iterable[Mapping[str, Any]], kubernetes_version: str) -> list[Finding]:
    findings = []
    for obj in objects:
        api_version, kind = str(obj.get("apiVersion")), str(obj.get("kind"))
        if not is_core_group(api_version):
            continue
        validator = core_validator(kubernetes_version, api_version, kind)
        if validator is None:
            findings.append(
                Finding(
                    "schema",
                    "error",
                    f"Kubernetes {kubernetes_version} does not serve {kind} in {api_version}",
                    object=object_ref(obj),
                    path="apiVersion",
                )
            )
            continue
        for error in sorted(validator.iter_errors(obj), key=lambda e: list(map(str, e.path))):
            findings.append(
                Finding(
                    "schema",
                    "error",
                    _schema_message(error),
                    object=object_ref(obj),
                    path=json_path(error.absolute_path),
                )
            )
    return findings


def is_core_group(api_version: str) -> bool:
    """True for Kubernetes' own API groups (``v1``, ``apps/v1``, ``*.k8s.io/*``).

    Gateway API (``gateway.networking.k8s.io``) is a k8s.io group served by CRDs, not by the API
    server: it is validated against its upstream CRDs like any other custom resource.
    """
    group = api_version.rpartition("/")[0]
    if group in CRD_GROUPS:
        return False
    return "." not in group or group.endswith(".k8s.io")


def json_path(parts: Iterable[Any]) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _schema_message(error: Any) -> str:
    # jsonschema's messages quote the offending instance; for a Secret that could be a secret value.
    validator = error.validator
    if validator == "additionalProperties":
        return "unknown field(s): " + ", ".join(sorted(_extra_keys(error)))
    if validator == "required":
        return str(error.message).split(" is a required")[0] + " is required"
    if validator == "type":
        return f"must be of type {error.validator_value}"
    if validator == "enum":
        return f"must be one of {error.validator_value}"
    return f"does not satisfy the schema ({validator})"


def _extra_keys(error: Any) -> list[str]:
    allowed = set(error.schema.get("properties", {}))
    instance = error.instance if isinstance(error.instance, dict) else {}
    return [repr(key) for key in instance if key not in allowed]


# --- core kinds ------------------------------------------------------------------------------------


def _schema_root(kubernetes_version: str) -> Optional[Path]:
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


@lru_cache(maxsize=None)
def _registry(root: Path) -> Any:
    from referencing import Registry, Resource

    definitions = json.loads((root / "_definitions.json").read_text(encoding="utf-8"))
    return Resource.from_contents(definitions) @ Registry()


@lru_cache(maxsize=None)
def core_validator(kubernetes_version: str, api_version: str, kind: str) -> Any:
    """A strict validator for a core kind, or None when that Kubernetes version does not serve it."""
    root = _schema_root(kubernetes_version)
    group, _, version = api_version.rpartition("/")
    suffix = f"{group.split('.')[0]}-{version}" if group else version
    path = root / f"{kind.lower()}-{suffix}.json" if root else None
    if path is None or not path.is_file():
        return None
    from jsonschema import Draft202012Validator

    schema = json.loads(path.read_text(encoding="utf-8"))
    return Draft202012Validator(schema, registry=_registry(root))


def _unpack(
    bundle_or_objects: Any, kubernetes_version: Optional[str]
) -> tuple[list[Mapping[str, Any]], Optional[Mapping[str, Any]], list[Finding], str]:
    from meshauth.bundle import Bundle

    if isinstance(bundle_or_objects, Bundle):
        bundle = bundle_or_objects
        version = kubernetes_version or bundle.kubernetes_version
        return list(bundle.objects), bundle.mesh_config, list(bundle.warnings), version
    return list(bundle_or_objects), None, [], kubernetes_version or DEFAULT_KUBERNETES
