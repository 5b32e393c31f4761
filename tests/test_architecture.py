"""The house stays standing: what docs/design.md promises about meshauth's modules.

lint-imports (run by .ci/run) checks the layers and the absence of cycles; these check the rest.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "meshauth"
MODULES = sorted(p for p in PACKAGE.rglob("*.py") if "_data" not in p.parts)
BASE_MODULES = {"__init__.py", "__main__.py", "errors.py", "findings.py", "k8s.py"}
MAX_LINES = 600


def dotted(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def test_meshauth_holds_subpackages_and_only_the_base_modules():
    top = {p.name for p in PACKAGE.glob("*.py")}
    assert top <= BASE_MODULES, f"modules outside a subpackage: {sorted(top - BASE_MODULES)}"
    for folder in (p for p in PACKAGE.rglob("*") if p.is_dir() and p.name != "__pycache__"):
        if "_data" not in folder.parts and any(folder.glob("*.py")):
            assert (folder / "__init__.py").is_file(), f"{folder} is not a package"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: dotted(p))
def test_no_module_imports_another_modules_private_name(path: Path):
    """Typing-only imports included: a private name is one module's to change."""
    own = dotted(path)
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("meshauth") and not node.level:
            for alias in node.names:
                private = alias.name.startswith("_") and not alias.name.startswith("__")
                assert not (private and node.module != own), (
                    f"{own} line {node.lineno} imports {node.module}.{alias.name}"
                )


@pytest.mark.parametrize("path", MODULES, ids=lambda p: dotted(p))
def test_no_module_is_over_600_lines(path: Path):
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{dotted(path)} has {lines} lines; split it by what its parts do"


def test_most_modules_are_under_400_lines():
    long = [dotted(p) for p in MODULES if len(p.read_text(encoding="utf-8").splitlines()) > 400]
    assert len(long) * 5 <= len(MODULES), f"more than a fifth of the modules are over 400 lines: {long}"
