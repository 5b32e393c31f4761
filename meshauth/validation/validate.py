"""Schema validation of manifests, and the entry point that runs every check on a bundle.

Core Kubernetes kinds are checked against the strict schemas that kubernetes-validate ships for the
target Kubernetes minor version. Each validator is built once per (version, apiVersion, kind) and
reused: the shared definitions file is large, and building is far slower than validating. Every
validator has a compiled yes/no check in front (:mod:`meshauth.validation.schemas.compiled`); jsonschema itself
runs only for the objects that check does not accept, to say what is wrong.
Cross-resource rules live in :mod:`meshauth.validation.rules.core`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from meshauth._util import gcpause
from meshauth.compat.versions import DEFAULT_KUBERNETES, api_removal, is_kubernetes_group, kubernetes_versions
from meshauth.errors import ValidationFailed
from meshauth.findings import Finding, errors, object_ref
from meshauth.validation.schemas.compiled import FastValidator
from meshauth.validation.schemas.inline import inline_refs

if TYPE_CHECKING:
    import os

    from meshauth.files.manifests import Manifests
    from meshauth.rendering.bundle import Bundle
    from meshauth.validation.schemas.usercrds import CrdSet

CRD_GROUPS = frozenset({"gateway.networking.k8s.io"})


def validate(
    bundle_or_objects: Bundle | Manifests | Sequence[Mapping[str, Any]],
    *,
    crds: None | CrdSet | Iterable[str | os.PathLike[str]] = None,
    kubernetes_version: str | None = None,
    istio_version: str | None = None,
    raise_on_error: bool = False,
) -> list[Finding]:
    """Every finding for a bundle, loaded manifests or plain objects: schemas, then rules.

    ``crds``: CustomResourceDefinition files or folders (or a loaded :class:`meshauth.validation.schemas.usercrds.CrdSet`)
    to validate custom resources against, instead of the schemas meshauth ships. The mesh
    configuration is the bundle's, or the one found among the manifests (IstioOperator, istiod
    values, ``istio`` ConfigMap). ``istio_version`` enables the checks that depend on it (MA014).
    """
    subject = _subject(bundle_or_objects, kubernetes_version, istio_version)
    crd_set = _crd_set(crds)
    with gcpause.paused():  # temporaries are acyclic but for jsonschema's errors, freed when it resumes
        findings = _findings(subject, crd_set)
    if raise_on_error and errors(findings):
        raise ValidationFailed(errors(findings))
    return findings


def _findings(subject: _Subject, crd_set: CrdSet | None) -> list[Finding]:
    from meshauth.validation.rules import core as rules  # imported here: rules import this module's helpers
    from meshauth.validation.rules.facts import Facts

    findings = list(subject.warnings)
    notice = crd_set.cel_notice(subject.objects) if crd_set is not None else None
    findings += [notice] if notice else []
    for obj, file in zip(subject.objects, subject.files):
        for finding in object_findings(obj, subject.kubernetes_version, crd_set):
            findings.append(replace(finding, file=file))
    facts = Facts(
        subject.objects,
        subject.mesh,
        _major_minor(subject.istio_version),
        _major_minor(subject.kubernetes_version),
    )
    findings += rules.run(facts, {id(o): f for o, f in zip(subject.objects, subject.files)})
    return findings


def object_findings(
    obj: Mapping[str, Any], kubernetes_version: str, crd_set: CrdSet | None = None
) -> list[Finding]:
    """Schema findings of one object: Kubernetes' schemas for core kinds, CRD schemas otherwise.

    An apiVersion the target does not serve is left to rule MA014, which says what replaced it;
    one that no release serves (``networking.istio.io/v1`` EnvoyFilter) is an error here.
    """
    api_version, kind = str(obj.get("apiVersion")), str(obj.get("kind"))
    if is_core_group(api_version):
        validator = core_validator(kubernetes_version, api_version, kind)
        return _schema_errors(obj, validator) if validator is not None else []
    if crd_set is not None and crd_set.defines(api_version):
        return crd_set.findings(obj)
    from meshauth.validation.schemas.bundled import bundled_validator, served

    validator = bundled_validator(api_version, kind)
    if validator is not None:
        return _schema_errors(obj, validator)
    known = served(api_version, kind)
    if known and api_removal(api_version, kind) is None:  # a removed one is MA014's to explain
        return [
            Finding(
                "schema",
                "error",
                f"no release meshauth knows serves {kind} as {api_version}, so the apply fails (no "
                f"matches for kind); it is served as {' or '.join(known)}. For a newer release, give "
                "its CRDs with --crds",
                object=object_ref(obj),
                path="apiVersion",
            )
        ]
    return []


def schema_findings(objects: Iterable[Mapping[str, Any]], kubernetes_version: str) -> list[Finding]:
    return [f for obj in objects for f in object_findings(obj, kubernetes_version)]


def _schema_errors(obj: Mapping[str, Any], validator: Any) -> list[Finding]:
    return [
        Finding(
            "schema",
            "error",
            _schema_message(error),
            object=object_ref(obj),
            path=json_path(error.absolute_path),
        )
        for error in sorted(validator.iter_errors(obj), key=lambda e: list(map(str, e.absolute_path)))
    ]


def is_core_group(api_version: str) -> bool:
    """True for Kubernetes' own API groups (``v1``, ``apps/v1``, ``networking.k8s.io/v1``, ...)."""
    return is_kubernetes_group(api_version)


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
    if validator == "const":
        return f"must be {error.validator_value!r}"
    if validator == "pattern":
        return f"must match the pattern {error.validator_value}"
    if validator in (
        "minItems",
        "maxItems",
        "minLength",
        "maxLength",
        "minimum",
        "maximum",
        "maxProperties",
        "minProperties",
    ):
        return f"breaks {validator} {error.validator_value}"
    if validator == "not" and isinstance(error.validator_value, dict):
        comment = error.schema.get("$comment") if isinstance(error.schema, dict) else None
        return f"breaks the rule: {comment}" if comment else "sets fields that exclude each other"
    if validator in ("oneOf", "anyOf"):
        return _alternatives_message(error)
    return f"does not satisfy the schema ({validator})"


def _alternatives_message(error: Any) -> str:
    causes = sorted(
        {f"{json_path(e.relative_path) or 'value'} {_schema_message(e)}" for e in error.context or ()}
    )
    shown = "; ".join(causes[:4])
    return f"matches none of the allowed forms ({shown})" if shown else "matches none of the allowed forms"


def _extra_keys(error: Any) -> list[str]:
    allowed = set(error.schema.get("properties", {}))
    instance = error.instance if isinstance(error.instance, dict) else {}
    return [repr(key) for key in instance if key not in allowed]


# --- core kinds ------------------------------------------------------------------------------------


def _schema_root(kubernetes_version: str) -> Path | None:
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
def _registry(root: Path) -> Any:
    from referencing import Registry, Resource

    definitions = json.loads((root / "_definitions.json").read_text(encoding="utf-8"))
    return Resource.from_contents(definitions) @ Registry()


@cache
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
    definitions = _definitions(root)

    def name(ref: str) -> str | None:
        document, _, pointer = ref.partition("#/$defs/")
        return pointer if pointer and (not document or document.endswith("_definitions.json")) else None

    def resolve(ref: str) -> Any:
        return definitions.get(name(ref) or "")

    def absolute(ref: str) -> str:
        return f"{_DEFINITIONS_ID}#/$defs/{name(ref)}" if name(ref) else ref

    inlined = inline_refs(schema, resolve, absolute)
    registry = _registry(root)
    return FastValidator(Draft202012Validator(inlined, registry=registry), registry)


_DEFINITIONS_ID = "https://kubernetes.io/api/_definitions.json"


@cache
def _definitions(root: Path) -> dict[str, Any]:
    return json.loads((root / "_definitions.json").read_text(encoding="utf-8")).get("$defs", {})


@dataclass(frozen=True)
class _Subject:
    objects: tuple[Mapping[str, Any], ...]
    files: tuple[str, ...]
    mesh: tuple[Any, ...]  # meshauth.files.manifests.MeshSource
    warnings: tuple[Finding, ...]
    kubernetes_version: str
    istio_version: str | None


def _subject(target: Any, kubernetes_version: str | None, istio_version: str | None) -> _Subject:
    from meshauth.files.manifests import Manifests, from_objects, mesh_source
    from meshauth.rendering.bundle import Bundle

    if isinstance(target, Bundle):
        source = mesh_source(target.mesh_config, target.mesh_file)
        return _Subject(
            target.objects,
            tuple("" for _ in target.objects),
            (source,) if source else (),
            target.warnings,
            kubernetes_version or target.kubernetes_version,
            istio_version or target.istio_version,
        )
    manifests = target if isinstance(target, Manifests) else from_objects(list(target))
    return _Subject(
        manifests.objects,
        manifests.files,
        manifests.mesh,
        (),
        kubernetes_version or DEFAULT_KUBERNETES,
        istio_version or manifests.istio_version,
    )


def _crd_set(crds: Any) -> CrdSet | None:
    if crds is None:
        return None
    from meshauth.validation.schemas.usercrds import CrdSet, load_crds

    return crds if isinstance(crds, CrdSet) else load_crds(crds)


def _major_minor(version: str | None) -> tuple[int, int] | None:
    if not version:
        return None
    major, _, minor = version.partition(".")
    try:
        return int(major), int(minor.split(".")[0])
    except ValueError:
        return None
