"""The entry point that runs every check on a bundle: each object's schema, then the rules.

The top of :mod:`meshauth.validation`: core Kubernetes kinds are checked against the strict schemas
of the target Kubernetes version (:mod:`meshauth.validation.schemas.kubernetes`), custom resources
against the user's CRDs or the bundled ones, and the cross-resource rules
(:mod:`meshauth.validation.rules.registry`) run on the whole set.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from meshauth._util import gcpause
from meshauth.compat.versions import DEFAULT_KUBERNETES, api_removal, is_kubernetes_group
from meshauth.errors import ValidationFailed
from meshauth.findings import Finding, errors, object_ref
from meshauth.validation.rules.facts import Facts
from meshauth.validation.rules.registry import run as run_rules
from meshauth.validation.schemas.kubernetes import core_validator
from meshauth.validation.schemas.messages import json_path, schema_message

if TYPE_CHECKING:
    import os

    from meshauth.files.manifests import Manifests
    from meshauth.rendering.bundle import Bundle
    from meshauth.validation.schemas.usercrds import CrdSet


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
    findings = list(subject.warnings)
    notice = crd_set.cel_notice(subject.objects) if crd_set is not None else None
    findings += [notice] if notice else []
    for obj, file in zip(subject.objects, subject.files):
        if is_patch(obj):
            continue
        for finding in object_findings(obj, subject.kubernetes_version, crd_set):
            findings.append(replace(finding, file=file))
    facts = Facts(
        [obj for obj in subject.objects if not is_patch(obj)],
        subject.mesh,
        _major_minor(subject.istio_version),
        _major_minor(subject.kubernetes_version),
    )
    findings += run_rules(facts, {id(o): f for o, f in zip(subject.objects, subject.files)})
    return findings


def object_findings(
    obj: Mapping[str, Any], kubernetes_version: str, crd_set: CrdSet | None = None
) -> list[Finding]:
    """Schema findings of one object: Kubernetes' schemas for core kinds, CRD schemas otherwise.

    An apiVersion the target does not serve is left to rule MA014, which says what replaced it;
    one that no release serves (``networking.istio.io/v1`` EnvoyFilter) is an error here.
    """
    api_version, kind = str(obj.get("apiVersion")), str(obj.get("kind"))
    if crd_set is not None and not is_core_group(api_version) and crd_set.defines(api_version):
        return crd_set.findings(obj)
    validator = _validator(obj, kubernetes_version)
    if validator is not None:
        return _schema_errors(obj, validator)
    if is_core_group(api_version):
        return []
    from meshauth.validation.schemas.bundled import served

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


def wrong_kinds(obj: Mapping[str, Any], kubernetes_version: str) -> list[Finding]:
    """The schema findings of one object for its fields of the wrong kind only: a string where a
    mapping or a list belongs, a mapping where a name does. Code that reads the object cannot get
    past those; a missing or an unknown field it can (``meshauth import`` refuses only these)."""
    validator = _validator(obj, kubernetes_version)
    return _schema_errors(obj, validator, _of_wrong_kind) if validator is not None else []


def _validator(obj: Mapping[str, Any], kubernetes_version: str) -> Any:
    """The JSON schema validator for the object: Kubernetes' for its own kinds, else the bundled
    CRDs'; None for a kind neither knows."""
    api_version, kind = str(obj.get("apiVersion")), str(obj.get("kind"))
    if is_core_group(api_version):
        return core_validator(kubernetes_version, api_version, kind)
    from meshauth.validation.schemas.bundled import bundled_validator

    return bundled_validator(api_version, kind)


def _of_wrong_kind(error: Any) -> bool:
    if error.validator == "type":
        return True
    # int-or-string and the like: every alternative refuses the value's kind
    return (
        error.validator in ("oneOf", "anyOf")
        and bool(error.context)
        and all(e.validator == "type" and not e.relative_path for e in error.context)
    )


def schema_findings(objects: Iterable[Mapping[str, Any]], kubernetes_version: str) -> list[Finding]:
    return [f for obj in objects for f in object_findings(obj, kubernetes_version)]


def _schema_errors(
    obj: Mapping[str, Any], validator: Any, which: Callable[[Any], bool] = lambda error: True
) -> list[Finding]:
    return [
        Finding(
            "schema",
            "error",
            schema_message(error),
            object=object_ref(obj),
            path=json_path(error.absolute_path),
        )
        for error in sorted(validator.iter_errors(obj), key=lambda e: list(map(str, e.absolute_path)))
        if which(error)
    ]


def is_patch(obj: Mapping[str, Any]) -> bool:
    """A kustomize patch (``$patch: delete``, ``replace``, ...): it changes another object and is
    not applied itself, so neither its schema nor the rules judge it."""
    return "$patch" in obj


def is_core_group(api_version: str) -> bool:
    """True for Kubernetes' own API groups (``v1``, ``apps/v1``, ``networking.k8s.io/v1``, ...)."""
    return is_kubernetes_group(api_version)


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
