"""The rules reference in docs/ is generated from the rule registry, and has an entry for every rule
ID that meshauth can report or that its docs cite."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from conftest import ROOT

from meshauth.validation import rulesdoc
from meshauth.validation.rules.registry import RULES, Rule
from meshauth.validation.rules.renderwarnings import RENDER_WARNINGS

SHIPPED = ROOT / "docs" / "rules.md"
RULE_ID = re.compile(r"\bMA0\d\d\b")


def documented() -> list[str]:
    return re.findall(r"^## (MA\d{3}) ", rulesdoc.rules_text(), flags=re.M)


def test_shipped_rules_reference_is_not_stale():
    assert SHIPPED.read_text(encoding="utf-8") == rulesdoc.rules_text(), (
        "docs/rules.md is stale: run `python -m meshauth.validation.rulesdoc > docs/rules.md`"
    )


def test_module_prints_the_reference():
    result = subprocess.run(
        [sys.executable, "-m", "meshauth.validation.rulesdoc"], capture_output=True, text=True, check=True
    )
    assert result.stdout == SHIPPED.read_text(encoding="utf-8")


def test_every_rule_id_in_meshauth_has_an_entry():
    """A new ID (a registry rule, or a warning raised while rendering) cannot go undocumented."""
    used = {
        (path.relative_to(ROOT).as_posix(), rule)
        for path in (ROOT / "meshauth").rglob("*")
        if path.is_file() and path.suffix in (".py", ".j2", ".yaml", ".json")
        for rule in RULE_ID.findall(path.read_text(encoding="utf-8"))
    }
    assert {rule for _, rule in used} >= {"MA001", "MA018", "MA061", "MA065", "MA073"}
    missing = sorted((rule, where) for where, rule in used if rule not in documented())
    assert missing == [], (
        "add these IDs to meshauth/validation/rules/ (registry.py, or renderwarnings.py for a warning "
        f"raised while rendering), then regenerate docs/rules.md: {missing}"
    )


def test_every_rule_id_the_docs_cite_has_an_entry():
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    cited = {(p.name, rule) for p in pages for rule in RULE_ID.findall(p.read_text(encoding="utf-8"))}
    assert sorted((rule, page) for page, rule in cited if rule not in documented()) == []


def test_entries_follow_the_ids_once_each():
    ids = [r.id for r in RULES] + [w.id for w in RENDER_WARNINGS]
    assert documented() == sorted(ids)
    assert len(set(ids)) == len(ids)


def test_every_entry_says_its_severity_what_breaks_and_the_fix():
    text = rulesdoc.rules_text()
    for entry in rulesdoc.entries():
        section = text.split(f"## {entry.id} ", 1)[1].split("\n## ", 1)[0]
        assert f"\nSeverity: {entry.severity}. " in section, entry.id
        assert "\nFix: " in section, entry.id
        assert len(entry.breaks) > 80, entry.id  # says what breaks, not only the title again


def test_render_warnings_are_documented_with_the_severity_they_are_raised_with():
    raised = {
        rule: severity
        for path in [
            *(ROOT / "meshauth" / "rendering").rglob("*.py"),
            ROOT / "meshauth/config/placeholders.py",
        ]
        for rule, severity in re.findall(
            r'Finding\(\s*"(MA0\d\d)",\s*"(\w+)"', path.read_text(encoding="utf-8")
        )
    }
    assert raised == {w.id: w.severity for w in RENDER_WARNINGS}


def test_a_check_without_a_fix_paragraph_is_refused():
    def undocumented(facts):
        """Something breaks."""
        return []

    with pytest.raises(ValueError, match=r"MA999: the docstring of .*undocumented must say"):
        rulesdoc.rule_entry(Rule("MA999", "error", "test", "a rule", undocumented))
