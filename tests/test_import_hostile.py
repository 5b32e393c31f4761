"""``meshauth import`` on manifests with one field of the wrong kind, for every field of four sets in
the shapes the importer reads (a complete setup with istiod values, an IstioOperator, an EnvoyFilter
that removes identity headers): it never raises; what it cannot read it refuses by file and field.

The importer reads objects by their fields' kinds, so kinds are checked first: by the schemas for
Kubernetes objects and custom resources, by the importer for the mesh config (no schema covers it).
"""

from __future__ import annotations

import pytest
import yaml
from conftest import ROOT
from wrongkinds import each_field_of_the_wrong_kind, wrong_kind

from meshauth.importer.run import import_manifests
from meshauth.validation.schemas.messages import json_path

CASES = ROOT / "tests" / "manifests"
SETS = [
    CASES / "good" / "modern-complete.yaml",
    CASES / "bad" / "MA002-uppercase-provider.yaml",
    CASES / "bad" / "MA011-wrong-provider-service.yaml",
    CASES / "good" / "claim-header-removed-first.yaml",
]
REFUSALS = ("the schema refuses it", "the mesh config cannot be read")


@pytest.mark.parametrize("case", SETS, ids=lambda p: p.stem)
def test_a_field_of_the_wrong_kind_is_refused_by_file_and_field_never_a_crash(case, tmp_path):
    docs = [d for d in yaml.safe_load_all(case.read_text(encoding="utf-8")) if isinstance(d, dict)]
    target = tmp_path / case.name
    refused = 0
    for _, path, changed in each_field_of_the_wrong_kind(docs):
        target.write_text(yaml.safe_dump_all(changed), encoding="utf-8")
        imported = import_manifests([str(target)])  # raises here if the importer breaks
        refusals = [f for f in imported.findings if f.message.startswith(REFUSALS)]
        if refusals:
            refused += 1
            assert not imported.valid  # nothing is written
            assert all(f.file.startswith(str(target)) for f in refusals), path
            field = json_path(path)
            assert any(field == f.path or field.endswith(f".{f.path}") for f in refusals), (
                path,
                refusals,
            )
    assert refused > 0


@pytest.mark.parametrize(
    ("case", "change", "field"),
    [
        (SETS[1], ("spec", "meshConfig", "extensionProviders"), "spec.meshConfig.extensionProviders"),
        (SETS[1], ("spec", "meshConfig"), "spec.meshConfig"),
        (SETS[2], ("meshConfig", "extensionProviders", 0, "name"), "meshConfig.extensionProviders[0].name"),
        (SETS[2], ("meshConfig", "extensionProviders", 0), "meshConfig.extensionProviders[0]"),
        (
            SETS[2],
            ("meshConfig", "extensionProviders", 0, "envoyExtAuthzHttp"),
            "meshConfig.extensionProviders[0].envoyExtAuthzHttp",
        ),
    ],
)
def test_a_mesh_config_no_schema_covers_is_refused_by_field(case, change, field, tmp_path):
    docs = [d for d in yaml.safe_load_all(case.read_text(encoding="utf-8")) if isinstance(d, dict)]
    holder = next(d for d in docs if change[0] in d and (d.get("kind") == "IstioOperator" or "kind" not in d))
    parent = holder
    for key in change[:-1]:
        parent = parent[key]
    parent[change[-1]] = wrong_kind(parent[change[-1]])
    (tmp_path / "mesh.yaml").write_text(yaml.safe_dump_all(docs), encoding="utf-8")
    imported = import_manifests([str(tmp_path / "mesh.yaml")])
    kind = "string" if field.endswith("name") else "list" if field.endswith("Providers") else "mapping"
    refused = [f for f in imported.findings if f.message.startswith(REFUSALS[1:])]
    assert [(f.path, f.message.split(": ")[1], f.file.split(":")[0]) for f in refused] == [
        (field, f"must be a {kind}", str(tmp_path / "mesh.yaml"))
    ]
    assert not imported.valid
