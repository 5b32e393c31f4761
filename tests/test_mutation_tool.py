"""tools/mutation.py: each mutant is one change, annotations and docstrings are left alone, and the
equivalent mutants listed in tools/mutation.toml still exist (a listed one that no longer matches a
mutant would hide a real survivor after the code moved)."""

from __future__ import annotations

import ast
import importlib.util
import sys

from conftest import ROOT

_spec = importlib.util.spec_from_file_location("mutation_tool", ROOT / "tools" / "mutation.py")
mutation = importlib.util.module_from_spec(_spec)
sys.modules["mutation_tool"] = mutation
_spec.loader.exec_module(mutation)

SOURCE = '''"""A docstring that stays."""
from __future__ import annotations


def admitted(host: str, groups: list[str]) -> bool:
    """Also stays."""
    if not groups:
        return False
    return host.endswith(".example.com") and "admins" in groups[1:]
'''


def test_each_mutant_changes_exactly_one_thing():
    found = mutation.mutants(SOURCE)
    original = ast.dump(ast.parse(SOURCE))
    texts = set()
    for mutant in found:
        text = mutation.mutated(SOURCE, mutant.number)
        assert ast.dump(ast.parse(text)) != original, mutant.describe()
        texts.add(text)
    assert len(texts) == len(found)  # no two mutants are the same program


def test_the_mutants_include_the_near_misses_that_matter():
    described = {m.describe() for m in mutation.mutants(SOURCE)}
    assert "key string: `'.example.com'` -> `'mutant.example.commutant'`" in described
    assert "number: `1` -> `0`" in described  # groups[1:] -> groups[0:]
    assert "comparison: `'admins' in groups[1:]` -> `'admins' not in groups[1:]`" in described
    assert "remove not: `not groups` -> `groups`" in described
    assert "boolean: `False` -> `True`" in described


def test_annotations_and_docstrings_are_not_mutated():
    for mutant in mutation.mutants(SOURCE):
        assert "str" not in mutant.before and "docstring" not in mutant.before.lower()
        assert mutant.line not in (1, 5, 6)


def test_every_listed_equivalent_mutant_still_exists_and_says_why():
    for equivalent in mutation.load_config()[1]:
        source = (ROOT / equivalent.module).read_text(encoding="utf-8")
        lines = source.splitlines()
        assert equivalent.reason.strip(), f"{equivalent.module}: `{equivalent.line}` needs its reason"
        assert any(
            lines[m.line - 1].strip() == equivalent.line and m.describe() == equivalent.mutation
            for m in mutation.mutants(source)
        ), f"{equivalent.module}: no mutant {equivalent.mutation} on `{equivalent.line}` any more"


def test_every_target_and_its_tests_exist():
    targets, _ = mutation.load_config()
    assert targets
    for target in targets:
        assert (ROOT / target.module).is_file(), target.module
        for test in target.tests:
            assert (ROOT / test).is_file(), test


def test_the_coverage_run_leaves_only_the_targets_own_functions_uncached(monkeypatch):
    """A cached function's lines run only under the first test that fills the cache: the tests
    chosen for a mutant there would be that one test, not every test that relies on the answer."""
    import functools

    monkeypatch.setattr(functools, "lru_cache", functools.lru_cache)  # restored after the test
    monkeypatch.setenv("MUTATION_MODULE", "meshauth.authz.matcher")
    exec(mutation._NO_CACHE_PLUGIN, {})  # what `pytest -p _mutation_nocache` runs first
    calls = []

    def split(patterns):
        calls.append(patterns)
        return patterns

    split.__module__ = "meshauth.authz.matcher"
    for decorate in (functools.lru_cache(maxsize=64), functools.lru_cache, functools.cache):
        calls.clear()
        decorated = decorate(split)
        decorated("a"), decorated("a")
        assert calls == ["a", "a"], decorate
    split.__module__ = "meshauth.files.tree"
    calls.clear()
    cached = functools.lru_cache(maxsize=64)(split)
    cached("a"), cached("a")
    assert calls == ["a"]
    assert mutation._module_name("meshauth/authz/matcher.py") == "meshauth.authz.matcher"
