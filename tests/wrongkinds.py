"""Every field of a set of documents changed, one at a time, to a value of the wrong kind: what the
"never raises" tests feed the rules and the importer."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

Path = tuple[Any, ...]  # keys and list indexes, from the document down


def field_paths(node: Any, prefix: Path = ()) -> Iterator[Path]:
    """The path of every field below ``node``, parents before their children."""
    if isinstance(node, dict):
        items: Any = node.items()
    elif isinstance(node, list):
        items = enumerate(node)
    else:
        return
    for key, value in items:
        yield (*prefix, key)
        yield from field_paths(value, (*prefix, key))


def wrong_kind(value: Any) -> Any:
    """A value of another kind: text for a mapping or a list, a mapping for a scalar."""
    return "x" if isinstance(value, (dict, list)) else {"x": "y"}


def each_field_of_the_wrong_kind(
    docs: list[dict[str, Any]],
) -> Iterator[tuple[int, Path, list[dict[str, Any]]]]:
    """(document index, field path, a copy of ``docs`` with that one field of the wrong kind), for
    every field but ``apiVersion`` and ``kind``."""
    for i, doc in enumerate(docs):
        for path in field_paths(doc):
            if path[0] in ("apiVersion", "kind"):
                continue
            changed = copy.deepcopy(docs)
            parent = changed[i]
            for key in path[:-1]:
                parent = parent[key]
            parent[path[-1]] = wrong_kind(parent[path[-1]])
            yield i, path, changed
