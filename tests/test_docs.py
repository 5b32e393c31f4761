"""The documentation works: every example config renders, every link lands, the site lists every page.

Pages: README.md and everything under docs/. YAML blocks are parsed; a block that is a
MeshAuthConfig is loaded, rendered and validated (no error finding); a block whose kind the upstream
CRDs know (Argo CD Application, Flux Kustomization, ...) is checked against them when the reference
data is present.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import ROOT
from upstream import UpstreamSchemas, ref_dir

import meshauth
from meshauth.config.reference import github_anchor

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
_FENCE = re.compile(r"^```(\w*)\n(.*?)^```\s*$", re.M | re.S)
_LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")


def blocks(page: Path, language: str) -> list[str]:
    return [body for lang, body in _FENCE.findall(page.read_text(encoding="utf-8")) if lang == language]


def yaml_blocks() -> list[tuple[str, str]]:
    return [(f"{p.relative_to(ROOT)}#{i}", b) for p in PAGES for i, b in enumerate(blocks(p, "yaml"))]


def config_blocks() -> list[tuple[str, str]]:
    """Whole configs; an excerpt that shows only the envelope (``spec: ...``) is left out."""
    return [
        (where, b)
        for where, b in yaml_blocks()
        if "kind: MeshAuthConfig" in b and isinstance(yaml.safe_load(b).get("spec"), dict)
    ]


@pytest.mark.parametrize("where, block", yaml_blocks(), ids=[w for w, _ in yaml_blocks()])
def test_yaml_blocks_parse(where, block):
    assert [d for d in yaml.safe_load_all(block) if d is not None], where


@pytest.mark.parametrize("where, block", config_blocks(), ids=[w for w, _ in config_blocks()])
def test_config_examples_render_and_validate(where, block):
    config = meshauth.load_config(yaml.safe_load(block))
    findings = meshauth.validate(meshauth.render(config))
    assert [str(f) for f in findings if f.severity == "error"] == []


def test_there_is_a_config_example_per_provider_and_for_single_sign_on():
    pages = [
        *sorted((ROOT / "docs" / "presets").glob("*.md")),
        ROOT / "docs" / "identity.md",
    ]
    for page in pages:
        assert any("kind: MeshAuthConfig" in b for b in blocks(page, "yaml")), page.name


def test_gitops_objects_match_the_upstream_crds():
    ref = ref_dir()
    if ref is None:
        pytest.skip("upstream reference data ../shared/ref is absent")
    schemas = UpstreamSchemas.newest(ref)
    checked = []
    for where, block in yaml_blocks():
        for obj in yaml.safe_load_all(block):
            if isinstance(obj, dict) and schemas.knows(str(obj.get("apiVersion")), str(obj.get("kind"))):
                assert schemas.errors(obj) == [], where
                checked.append(obj["kind"])
    assert {"Application", "Kustomization"} <= set(checked)


def test_mermaid_diagrams_are_a_known_kind_without_html_placeholders():
    diagrams = [b for p in PAGES for b in blocks(p, "mermaid")]
    assert diagrams
    for diagram in diagrams:
        assert diagram.split("\n", 1)[0] in ("sequenceDiagram", "flowchart LR", "flowchart TD")
        assert not re.search(r"<(?!br/>)[a-z]", diagram)  # <name> would vanish as an HTML tag


# --- links -----------------------------------------------------------------------------------------


def anchors(page: Path) -> set[str]:
    text = _FENCE.sub("", page.read_text(encoding="utf-8"))
    found: set[str] = set()
    for heading in re.findall(r"^#{1,6} (.+?)\s*$", text, flags=re.M):
        anchor, n = github_anchor(heading.replace("`", "")), 1
        while anchor in found:
            anchor, n = f"{github_anchor(heading.replace('`', ''))}-{n}", n + 1
        found.add(anchor)
    return found


def links() -> list[tuple[Path, str]]:
    return [
        (p, target)
        for p in PAGES
        for target in _LINK.findall(_FENCE.sub("", p.read_text(encoding="utf-8")))
        if not target.startswith(("http://", "https://", "mailto:"))
    ]


@pytest.mark.parametrize("page, target", links(), ids=[f"{p.name}->{t}" for p, t in links()])
def test_relative_links_land(page, target):
    path, _, anchor = target.partition("#")
    destination = (page.parent / path).resolve() if path else page
    assert destination.exists(), f"{page.relative_to(ROOT)}: {target} does not exist"
    if anchor and destination.suffix == ".md":
        assert anchor in anchors(destination), (
            f"{page.relative_to(ROOT)}: no heading #{anchor} in {path or page.name}"
        )


def nav_pages() -> list[str]:
    """The pages of mkdocs.yml's nav, in order."""

    def pages(nav):
        for entry in nav:
            for value in entry.values():
                yield from (pages(value) if isinstance(value, list) else [value])

    return list(pages(yaml.safe_load((ROOT / "mkdocs.yml").read_text())["nav"]))


def test_the_site_lists_every_page_and_nothing_else():
    listed = set(nav_pages())
    present = {str(p.relative_to(ROOT / "docs")) for p in (ROOT / "docs").rglob("*.md")}
    assert present <= listed, f"add these pages to the nav in mkdocs.yml: {sorted(present - listed)}"
    assert listed <= present, f"mkdocs.yml lists missing pages: {sorted(listed - present)}"


# --- each thing said once ---------------------------------------------------------------------------

_HEADING = re.compile(r"^#{1,6} ")
_ITEM = re.compile(r"^\s*(?:[-*+]|\d+\.) ")
_TABLE_SEPARATOR = re.compile(r"^\|[\s:|-]+\|$")


def sections(page: Path) -> list[tuple[str, list[str]]]:
    """(heading, lines) for the text under each heading, code blocks left out."""
    found: list[tuple[str, list[str]]] = [("(top)", [])]
    for line in _FENCE.sub("", page.read_text(encoding="utf-8")).splitlines():
        if _HEADING.match(line):
            found.append((line.strip(), []))
        else:
            found[-1][1].append(line.rstrip())
    return found


def statements(lines: list[str]) -> list[str]:
    """The units a reader sees: paragraphs, list items (with their continuation lines) and table
    rows (not a table's header or separator), each with its whitespace collapsed."""
    units: list[str] = []
    current: list[str] = []

    def close() -> None:
        if current:
            units.append(" ".join(" ".join(current).split()))
            current.clear()

    for i, line in enumerate(lines):
        following = lines[i + 1].strip() if i + 1 < len(lines) else ""
        if not line.strip():
            close()
        elif line.lstrip().startswith("|"):
            close()
            if not _TABLE_SEPARATOR.match(line.strip()) and not _TABLE_SEPARATOR.match(following):
                units.append(" ".join(line.split()))
        elif _ITEM.match(line):
            close()
            current.append(line.strip())
        else:
            current.append(line.strip())
    close()
    return units


# Tables whose first column names a thing (a key, an object, a preset): a name said twice in one
# section is said twice, even when the rest of its row differs.
_KEY_COLUMNS = {"key", "object", "preset", "config", "`source`", "flag", "field", "rule"}


def table_keys(lines: list[str]) -> list[str]:
    """The first cells of the rows of key tables (not the header or separator)."""
    keys: list[str] = []
    keyed = False
    for i, line in enumerate(lines):
        following = lines[i + 1].strip() if i + 1 < len(lines) else ""
        row = line.strip()
        if not row.startswith("|") or _TABLE_SEPARATOR.match(row):
            continue
        cell = row.strip("|").split("|", 1)[0].strip()
        if _TABLE_SEPARATOR.match(following):
            keyed = cell in _KEY_COLUMNS
        elif keyed and cell:
            keys.append(cell)
    return keys


def repeats(units: list[str]) -> list[str]:
    seen: set[str] = set()
    return [u for u in units if u in seen or seen.add(u)]  # type: ignore[func-returns-value]


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_no_section_says_a_thing_twice(page):
    problems = [
        f"{heading}: {unit}"
        for heading, lines in sections(page)
        for unit in repeats(statements(lines)) + repeats(table_keys(lines))
    ]
    assert problems == [], f"{page.relative_to(ROOT)} repeats itself"


def test_the_repeat_check_sees_rows_items_and_lines():
    lines = [
        "| key | default |",
        "| --- | --- |",
        "| `a` | 1 |",
        "| `a` | 2 |",
        "",
        "- an item that",
        "  goes on",
        "- an item that",
        "  goes on",
        "",
        "A paragraph.",
        "",
        "A paragraph.",
    ]
    assert repeats(statements(lines)) == ["- an item that goes on", "A paragraph."]
    assert repeats(table_keys(lines)) == ["`a`"]


# --- the README ------------------------------------------------------------------------------------


def test_readme_is_a_front_door():
    assert len((ROOT / "README.md").read_text().splitlines()) <= 200


def index_pages() -> list[str]:
    """The pages docs/README.md links, in the order it first links them."""
    targets = _LINK.findall((ROOT / "docs" / "README.md").read_text(encoding="utf-8"))
    return list(dict.fromkeys(target.partition("#")[0] for target in targets))


def test_the_index_links_every_page():
    pages = {str(p.relative_to(ROOT / "docs")) for p in (ROOT / "docs").rglob("*.md")} - {"README.md"}
    assert sorted(pages - set(index_pages())) == []


def test_the_site_nav_follows_the_index():
    assert nav_pages() == ["README.md", *index_pages()]


def test_readme_opens_with_the_two_commands():
    first = blocks(ROOT / "README.md", "sh")[0]
    assert ".venv/bin/pip install . && .venv/bin/meshauth render examples/seed.yaml" in first
    assert ".venv/bin/pip install -e '.[test]' && .venv/bin/python tools/upstream_data.py" in first
    assert "&& .venv/bin/python -m pytest -q -n auto" in first


def test_ci_runs_the_readme_test_command():
    first = blocks(ROOT / "README.md", "sh")[0]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert (
        ".venv/bin/python tools/upstream_data.py" in first and ".venv/bin/python tools/upstream_data.py" in ci
    )
    assert ci.rstrip().endswith(".venv/bin/python -m pytest -q -n auto")


def test_readme_links_into_every_section_of_the_docs():
    text = (ROOT / "README.md").read_text()
    for page in (
        "docs/concepts.md",
        "docs/reference.md",
        "docs/troubleshooting.md",
        "docs/migration.md",
        "docs/presets/google.md",
        "docs/gitops.md",
        "docs/usage.md",
        "docs/development.md",
    ):
        assert f"]({page}" in text, page


def meshauth_commands(block: str) -> list[str]:
    """The ``meshauth ...`` commands of a shell block, continuations joined, the rest left out."""
    commands = []
    for line in block.replace("\\\n", " ").splitlines():
        for part in line.split("#", 1)[0].split("&&"):
            if part.strip().startswith("meshauth "):
                commands.append(part.strip())
    return commands


def run_shell(command: str, cwd: Path) -> subprocess.CompletedProcess:
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    return subprocess.run(
        ["bash", "-c", command],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": path},
    )


def test_readme_sixty_seconds_runs_as_written(tmp_path):
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## In 60 seconds") :]
    commands = meshauth_commands(section.split("```sh\n", 1)[1].split("```", 1)[0])
    assert [c.split()[1] for c in commands] == ["init", "validate", "render", "render"]
    for command in commands:
        result = run_shell(command, tmp_path)
        assert result.returncode == 0, (command, result.stderr)
    assert (tmp_path / "out" / "kustomization.yaml").is_file()
    assert yaml.safe_load((tmp_path / "mesh.yaml").read_text())["kind"] == "IstioOperator"


def test_migration_guide_import_runs_as_written(tmp_path):
    shutil.copy(ROOT / "tests" / "fixtures" / "blog" / "setup.sh", tmp_path / "setup.sh")
    (command,) = [c for c in meshauth_commands(guide_import_section()) if c.startswith("meshauth import")]
    result = run_shell(command, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "diff: renamed" in result.stderr
    assert run_shell("meshauth validate meshauth.yaml", tmp_path).returncode == 0


def guide_import_section() -> str:
    text = (ROOT / "docs" / "migration.md").read_text()
    return text[text.index("## 1. Import") : text.index("## 2.")]
