"""Inlined schemas accept and reject exactly what the referencing ones do."""

from __future__ import annotations

import copy

import pytest
from conftest import ROOT

import meshauth
from meshauth.validation.schemas.kubernetes import core_validator
from meshauth.validation.validate import is_core_group

BUNDLE = meshauth.render(ROOT / "examples" / "quickstart.yaml")
CORE = [o for o in BUNDLE.objects if is_core_group(o["apiVersion"])]


def _reference_validator(obj):
    import json

    from jsonschema import Draft202012Validator

    from meshauth.validation.schemas.kubernetes import definitions_registry, schema_dir

    root = schema_dir(BUNDLE.kubernetes_version)
    group, _, version = obj["apiVersion"].rpartition("/")
    suffix = f"{group.split('.')[0]}-{version}" if group else version
    schema = json.loads((root / f"{obj['kind'].lower()}-{suffix}.json").read_text())
    return Draft202012Validator(schema, registry=definitions_registry(root))


def _broken(obj):
    broken = copy.deepcopy(obj)
    broken["metadata"]["bogus"] = 1
    broken.setdefault("spec", {})["bogus"] = [1]
    return broken


@pytest.mark.parametrize("obj", CORE, ids=lambda o: f"{o['kind']}-{o['metadata']['name']}")
def test_inlined_and_referencing_validators_agree(obj):
    inlined = core_validator(BUNDLE.kubernetes_version, obj["apiVersion"], obj["kind"])
    reference = _reference_validator(obj)
    for candidate in (obj, _broken(obj)):
        ours = sorted((list(e.absolute_path), e.message) for e in inlined.iter_errors(candidate))
        theirs = sorted((list(e.absolute_path), e.message) for e in reference.iter_errors(candidate))
        assert ours == theirs
    assert list(inlined.iter_errors(_broken(obj)))
