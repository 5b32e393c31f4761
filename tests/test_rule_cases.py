"""Data-driven rule cases: hand-written manifests under tests/manifests/{good,bad}.

Each file says what ``validate --manifests`` must find in its header comments:

    # expect: MA003          (one line per rule ID; "none" for a correct setup)
    # istio: 1.11            (optional target Istio version)
    # kubernetes: 1.21       (optional target Kubernetes version)

The findings must be exactly the expected rule IDs: a bad case proves its rule fires, and that no
other rule (or schema) complains about the rest of the manifests.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import ROOT
from wrongkinds import field_paths

import meshauth
from meshauth.validation.rules.registry import RULES

CASES = ROOT / "tests" / "manifests"
GOOD = sorted((CASES / "good").glob("*.yaml"))
BAD = sorted((CASES / "bad").glob("*.yaml"))


def header(path: Path, key: str) -> list[str]:
    return re.findall(rf"^# {key}: *(\S+)", path.read_text(encoding="utf-8"), flags=re.M)


def findings_for(path: Path):
    istio, kubernetes = header(path, "istio"), header(path, "kubernetes")
    return meshauth.validate(
        meshauth.load_manifests([path]),
        istio_version=istio[0] if istio else None,
        kubernetes_version=kubernetes[0] if kubernetes else None,
    )


@pytest.mark.parametrize("path", GOOD, ids=[p.stem for p in GOOD])
def test_correct_manifests_have_no_findings(path):
    assert header(path, "expect") == ["none"]
    assert [str(f) for f in findings_for(path)] == []


@pytest.mark.parametrize("path", BAD, ids=[p.stem for p in BAD])
def test_broken_manifests_yield_exactly_the_expected_rules(path):
    expected = sorted(header(path, "expect"))
    assert expected and path.stem.startswith(expected[0])
    findings = findings_for(path)
    assert sorted({f.rule for f in findings}) == expected, [str(f) for f in findings]
    assert all(f.file == str(path) and f.object and f.message for f in findings)


def test_every_rule_has_a_broken_case():
    covered = {rule for path in BAD for rule in header(path, "expect")}
    assert covered == {r.id for r in RULES}


def test_malformed_fields_never_crash_validation():
    """Any field of a correct setup replaced by a list or by null: findings, and no rule breaks (the
    other wrong kinds, on every case: test_rules_real_shapes.py)."""
    import copy

    manifests = meshauth.load_manifests([GOOD[0]])
    documents = [*manifests.objects, *(s.document for s in manifests.mesh)]
    checked = 0
    for index, document in enumerate(documents):
        for path in list(field_paths(document)):
            for junk in ([1], None):
                broken = copy.deepcopy(documents)
                node = broken[index]
                for part in path[:-1]:
                    node = node[part]
                node[path[-1]] = junk
                findings = meshauth.validate(broken, istio_version="1.30")
                assert [f.message for f in findings if f.message.startswith("internal error")] == [], path
                checked += 1
    assert checked > 500


@pytest.mark.parametrize("rule", [r.id for r in RULES])
def test_each_rule_passes_correct_setups(rule):
    """The passing side of every rule: silent on the correct hand-written setups, on the blog's
    manifests once fixed as meshauth renders them (examples/seed.yaml), and on every example."""
    checked = [meshauth.load_manifests([path]) for path in GOOD]
    checked += [meshauth.render(example) for example in sorted((ROOT / "examples").glob("*.yaml"))]
    for target in checked:
        assert [str(f) for f in meshauth.validate(target) if f.rule == rule] == []
