"""Reading YAML, written once: the config, hand-written manifests and import's inputs all come here.

The C loader where PyYAML has it (the pure-Python one otherwise), safe loading only. The strict
loader refuses duplicate keys, which YAML would otherwise resolve silently by keeping the last one.
Problems become :class:`~meshauth.errors.ConfigError` naming the file and, for YAML errors, the
line and column.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from meshauth.errors import ConfigError, Problem

SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


# SafeLoader is picked at run time (the C loader when libyaml is built in); mypy cannot check a base
# class held in a variable, hence the ignore.
class StrictLoader(SafeLoader):  # type: ignore[misc,valid-type]
    """Safe YAML loading that refuses duplicate keys (YAML would silently keep the last one)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if not isinstance(key, (str, int, float, bool)):
                continue  # unhashable keys are refused by the config model anyway
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        mapping: dict[Any, Any] = super().construct_mapping(node, deep=deep)
        return mapping


def read_text(path: str | os.PathLike[str]) -> str:
    """A file's UTF-8 text; ConfigError naming the file when it cannot be read."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(Problem("no such file", file=str(path))) from None
    except IsADirectoryError:
        raise ConfigError(Problem("is a directory, not a file", file=str(path))) from None
    except UnicodeDecodeError:
        raise ConfigError(Problem("is not UTF-8 text", file=str(path))) from None
    except OSError as error:
        raise ConfigError(Problem(f"cannot be read ({error.strerror})", file=str(path))) from None


def yaml_problem(error: yaml.YAMLError) -> str:
    """``line L, column C: invalid YAML: <problem>`` for a PyYAML error."""
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or "is not valid YAML"
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
    return f"{where}invalid YAML: {problem}"


def read_yaml_documents(path: str | os.PathLike[str]) -> list[Any]:
    """All non-empty documents of a YAML file, duplicate keys refused; ConfigError naming the file
    and line on any problem."""
    text = read_text(path)
    try:
        return [doc for doc in yaml.load_all(text, Loader=StrictLoader) if doc is not None]
    except yaml.YAMLError as error:
        raise ConfigError(Problem(yaml_problem(error), file=str(path))) from None


def yaml_documents(text: str) -> Iterator[tuple[int, Any]]:
    """Every document of ``text`` with the line it starts on (0-based), as ``yaml.safe_load_all``
    reads them; ``yaml.YAMLError`` (its ``problem_mark`` says where) when the text is not YAML."""
    loader = SafeLoader(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is not None:  # check_node() said there is one
                yield node.start_mark.line, loader.construct_document(node)
    finally:
        loader.dispose()


def load_yaml(text: str) -> Any:
    """One YAML document from text (a ConfigMap's embedded mesh config, a command-line value), safely;
    ``yaml.YAMLError`` when it is not YAML."""
    return yaml.load(text, Loader=SafeLoader)
