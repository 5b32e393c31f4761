"""Shared fixtures: the repository's examples and overlays, and YAML snapshots."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
OVERLAYS = sorted((ROOT / "overlays").glob("*.yaml"))
VALID_CASES = sorted((ROOT / "tests" / "cases" / "valid").glob("*.yaml"))

sys.path.insert(0, str(Path(__file__).resolve().parent))  # tests/upstream.py


class YamlSnapshot(SingleFileSnapshotExtension):
    """One snapshot per file, stored as the YAML text itself, so a reviewer reads it as YAML."""

    _file_extension = "yaml"  # syrupy < 5
    file_extension = "yaml"
    _write_mode = WriteMode.TEXT

    def serialize(self, data, **kwargs):  # type: ignore[override]
        return str(data)


@pytest.fixture
def yaml_snapshot(snapshot):
    return snapshot.use_extension(YamlSnapshot)
