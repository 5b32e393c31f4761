"""Inlining ``$ref``s of a JSON Schema once, so that validating needs no reference lookups.

kubernetes-validate's schemas point into a shared definitions file for almost every field; the
jsonschema library resolves each such ``$ref`` again for every object it validates, which was a
third of validation time for large bundles (benchmarks/scale.py). Inlining is done once per
validator. A reference that is already being inlined further up (a recursive type) stays a
``$ref``, which the validator's registry still resolves, so the schema means the same.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# Keywords that only annotate: a $ref's siblings made of these need not be kept beside it.
_ANNOTATIONS = frozenset({"description", "title", "default", "examples", "$comment", "format"})


def inline_refs(schema: Any, resolve: Callable[[str], Any | None], absolute: Callable[[str], str]) -> Any:
    """``schema`` with every resolvable ``$ref`` replaced by its target (targets are shared); a
    recursive reference stays, rewritten by ``absolute`` so it resolves from any document."""
    done: dict[str, Any] = {}

    def walk(node: Any, stack: tuple[str, ...]) -> Any:
        if isinstance(node, list):
            return [walk(item, stack) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str) and ref in stack:
            return {**node, "$ref": absolute(ref)}
        if isinstance(ref, str):
            target = done.get(ref)
            if target is None:
                resolved = resolve(ref)
                if resolved is not None:
                    target = done[ref] = walk(resolved, stack + (ref,))
            if target is not None:
                siblings = {k: walk(v, stack) for k, v in node.items() if k != "$ref"}
                if set(siblings) <= _ANNOTATIONS:
                    return target
                return {**siblings, "allOf": [*siblings.get("allOf", []), target]}
        return {key: walk(value, stack) for key, value in node.items()}

    return walk(schema, ())
