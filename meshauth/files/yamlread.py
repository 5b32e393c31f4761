"""Reading YAML, written once: the config, hand-written manifests and import's inputs all come here.

The C loader where PyYAML has it (the pure-Python one otherwise), safe loading only. The strict
loader refuses duplicate keys, which YAML would otherwise resolve silently by keeping the last one.
Problems become :class:`~meshauth.errors.ConfigError` naming the file and, for YAML errors, the
line and column.

Aliases are bounded: a document may hold at most :data:`MAX_ALIASES` of them and may expand (every
alias counted at full size) to at most :func:`expansion_limit` characters, checked on the node graph
before any object is built. Without the bound, a few hundred bytes of nested aliases ("billion
laughs") or a few thousand aliases of one long string grow into gigabytes wherever the values are
copied.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from meshauth.errors import ConfigError, Problem

SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

MAX_ALIASES = 10_000
"""Alias uses (``*name``) allowed in one file's documents together."""
MIN_EXPANSION_LIMIT = 10_000_000
"""Characters a file may expand to through aliases whatever its size (see :func:`expansion_limit`)."""
EXPANSION_FACTOR = 50


def expansion_limit(text: str) -> int:
    """How many characters the documents of ``text`` may hold with every alias expanded:
    ``max(10 MB, 50 times the text)``."""
    return max(MIN_EXPANSION_LIMIT, EXPANSION_FACTOR * len(text))


class AliasLimitError(yaml.MarkedYAMLError):
    """A document whose aliases expand beyond the bounds (its mark says where)."""


class _Budget:
    """What the documents of one text may still spend on aliases and expanded size."""

    def __init__(self, text: str) -> None:
        self.limit = expansion_limit(text)
        self.size = 0
        self.aliases = 0

    def check(self, root: yaml.Node) -> None:
        """Walk the node graph (iteratively, each node once) adding the expanded size; an
        :class:`AliasLimitError` at the node where a bound is passed."""
        sizes: dict[int, int] = {}  # node id -> expanded size, for nodes already walked
        active = {id(root)}  # nodes on the current path: an alias to one of them is a cycle
        stack: list[tuple[yaml.Node, Iterator[yaml.Node], list[int]]] = [(root, _children(root), [1])]
        while stack:
            parent, children, total = stack[-1]
            child = next(children, None)
            if child is None:
                stack.pop()
                active.discard(id(parent))
                sizes[id(parent)] = total[0]
                if stack:
                    stack[-1][2][0] += total[0]
                continue
            key = id(child)
            if key in active:
                self._fail("an alias refers to a node that contains it (a recursive structure)", parent)
            if key in sizes:  # seen before: this use is an alias
                self.aliases += 1
                if self.aliases > MAX_ALIASES:
                    self._fail(f"too many aliases (more than {MAX_ALIASES:,})", parent)
                self._spend(sizes[key], parent)
                total[0] += sizes[key]
                continue
            if isinstance(child, yaml.ScalarNode):
                sizes[key] = len(child.value) + 1
                self._spend(sizes[key], parent)
                total[0] += sizes[key]
                continue
            active.add(key)
            self._spend(1, child)
            stack.append((child, _children(child), [1]))

    def _spend(self, size: int, node: yaml.Node) -> None:
        self.size += size
        if self.size > self.limit:
            self._fail(
                f"expands to more than {self.limit:,} characters through aliases (the limit is "
                f"{EXPANSION_FACTOR} times the file's size, at least {MIN_EXPANSION_LIMIT:,})",
                node,
            )

    @staticmethod
    def _fail(problem: str, node: yaml.Node) -> None:
        raise AliasLimitError(problem=problem, problem_mark=node.start_mark)


def _children(node: yaml.Node) -> Iterator[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            yield key
            yield value
    elif isinstance(node, yaml.SequenceNode):
        yield from node.value


def _documents(loader_class: type[yaml.SafeLoader], text: str) -> Iterator[tuple[int, Any]]:
    """Each document of ``text`` with its start line, aliases bounded before it is constructed."""
    budget = _Budget(text)
    loader = loader_class(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is not None:  # check_node() said there is one
                budget.check(node)
                yield node.start_mark.line, loader.construct_document(node)
    finally:
        loader.dispose()


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
    if isinstance(error, AliasLimitError):
        return f"{where}{problem}"
    return f"{where}invalid YAML: {problem}"


def read_yaml_documents(path: str | os.PathLike[str]) -> list[Any]:
    """All non-empty documents of a YAML file, duplicate keys refused; ConfigError naming the file
    and line on any problem."""
    text = read_text(path)
    try:
        return [doc for _, doc in _documents(StrictLoader, text) if doc is not None]
    except yaml.YAMLError as error:
        raise ConfigError(Problem(yaml_problem(error), file=str(path))) from None


def yaml_documents(text: str) -> Iterator[tuple[int, Any]]:
    """Every document of ``text`` with the line it starts on (0-based), as ``yaml.safe_load_all``
    reads them but with duplicate keys refused, as validate refuses them; ``yaml.YAMLError`` (its
    ``problem_mark`` says where) when the text is not YAML."""
    yield from _documents(StrictLoader, text)


def load_yaml(text: str) -> Any:
    """One YAML document from text (a ConfigMap's embedded mesh config, a command-line value), safely;
    ``yaml.YAMLError`` when it is not YAML."""
    budget = _Budget(text)
    loader = SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        budget.check(node)
        return loader.construct_document(node)
    finally:
        loader.dispose()
