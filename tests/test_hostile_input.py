"""Hostile YAML: aliases are bounded in count and expanded size, with an error naming file and line."""

from __future__ import annotations

import pytest
import yaml
from conftest import ROOT

import meshauth
from meshauth.errors import ConfigError
from meshauth.files.yamlread import (
    MAX_ALIASES,
    load_yaml,
    read_yaml_documents,
    yaml_documents,
)

QUICKSTART = ROOT / "examples" / "quickstart.yaml"


def billion_laughs(levels: int = 10) -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, levels):
        refs = ", ".join([f"*a{level - 1}"] * 9)
        lines.append(f"a{level}: &a{level} [{refs}]")
    return "\n".join(lines) + "\n"


def test_billion_laughs_config_is_refused_naming_file_and_line(tmp_path):
    config = tmp_path / "lol.yaml"
    config.write_text(billion_laughs())
    with pytest.raises(ConfigError) as error:
        meshauth.load_config(config)
    message = str(error.value)
    assert str(config) in message
    assert "expands to more than 10,000,000 characters through aliases" in message
    assert "line 7," in message  # a6 is the first level past 10 MB (9**7 lol's)


def test_thousands_of_aliases_of_a_long_string_are_refused_before_they_are_copied(tmp_path):
    # 30,000 aliases of one 100 KB string: 3 GB once expanded (a MemoryError after 14 s before).
    config = tmp_path / "big.yaml"
    lines = ["spec:", f"  a: &a {'x' * 100_000}", "  l:"] + ["  - *a"] * 30_000
    config.write_text("\n".join(lines) + "\n")
    with pytest.raises(ConfigError, match=r"big\.yaml: line 4, column 3: expands to more than"):
        meshauth.load_config(config)


def test_too_many_aliases_are_refused_even_when_short(tmp_path):
    manifest = tmp_path / "m.yaml"
    manifest.write_text("a: &a x\nl:\n" + "- *a\n" * (MAX_ALIASES + 1))
    with pytest.raises(
        ConfigError, match=r"m\.yaml: line 3, column 1: too many aliases \(more than 10,000\)"
    ):
        read_yaml_documents(manifest)


def test_the_bounds_hold_across_the_documents_of_one_file(tmp_path):
    # each document alone stays under the limit; together they pass it
    document = f"a: &a {'x' * 1000}\nl: [" + ", ".join(["*a"] * 2000) + "]\n"
    manifest = tmp_path / "m.yaml"
    manifest.write_text("---\n".join([document] * 10))
    with pytest.raises(ConfigError, match="expands to more than"):
        read_yaml_documents(manifest)


def test_a_recursive_alias_is_refused(tmp_path):
    manifest = tmp_path / "m.yaml"
    manifest.write_text("a: &a\n  b: *a\n")
    with pytest.raises(ConfigError, match="line 1, column 4: an alias refers to a node that contains it"):
        read_yaml_documents(manifest)


def test_embedded_and_imported_yaml_are_bounded_too():
    # load_yaml reads a ConfigMap's embedded mesh config; yaml_documents reads import's inputs
    with pytest.raises(yaml.YAMLError, match="expands to more than"):
        load_yaml(billion_laughs())
    with pytest.raises(yaml.YAMLError, match="expands to more than"):
        list(yaml_documents(billion_laughs()))


def test_ordinary_anchors_still_load(tmp_path):
    text = "base: &base {replicas: 2, image: nginx}\none: {spec: *base, name: one}\nlist: [*base, *base]\n"
    manifest = tmp_path / "m.yaml"
    manifest.write_text(text)
    [document] = read_yaml_documents(manifest)
    assert document["one"] == {"spec": {"replicas": 2, "image": "nginx"}, "name": "one"}
    assert document["list"] == [document["base"], document["base"]]
    assert load_yaml(text) == document
    assert [line for line, _ in yaml_documents(text)] == [0]
