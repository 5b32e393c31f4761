"""Every example (alone and with each overlay) renders exactly as its reviewed snapshot.

Snapshots live in tests/__snapshots__/test_snapshots/ as plain YAML. When rendering changes on
purpose, run `pytest --snapshot-update`, then read the changed YAML files in the diff before committing.
"""

from __future__ import annotations

import pytest
from conftest import EXAMPLES, OVERLAYS

import meshauth

CASES = [(example, None) for example in EXAMPLES] + [
    (example, overlay) for example in EXAMPLES for overlay in OVERLAYS
]


def _id(case):
    example, overlay = case
    return example.stem + (f"+{overlay.stem}" if overlay else "")


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_stream_matches_snapshot(case, yaml_snapshot):
    example, overlay = case
    bundle = meshauth.render(meshauth.load_config(example, overlays=[overlay] if overlay else []))
    assert bundle.to_yaml() == yaml_snapshot


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_mesh_config_matches_snapshot(case, yaml_snapshot):
    example, overlay = case
    bundle = meshauth.render(meshauth.load_config(example, overlays=[overlay] if overlay else []))
    assert bundle.mesh_config_yaml() == yaml_snapshot


def test_every_example_is_snapshotted():
    assert {e.stem for e in EXAMPLES} >= {"seed", "quickstart"}
    assert {o.stem for o in OVERLAYS} >= {"dev", "prod"}
