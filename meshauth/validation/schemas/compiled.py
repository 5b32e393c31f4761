"""A compiled yes/no answer to "does this object satisfy its schema?", in front of jsonschema.

jsonschema evaluates every keyword of every object as if it were about to report an error, and
that bookkeeping was most of meshauth's validation time (benchmarks/scale.py), although almost
every object in a bundle is fine. So each schema is also compiled once by jsonschema-rs, which
only answers yes or no, and jsonschema runs (to say what is wrong, in its own words and order)
only for the objects it rejects. Findings are therefore exactly jsonschema's.

The check is sound for "yes": it accepts an instance only when jsonschema would. Where the two
libraries read JSON Schema differently, the check answers no and lets jsonschema decide:

* instances: jsonschema-rs reads a tuple as an array, jsonschema does not, and infinities compare
  differently; only plain JSON values (dict, list, str, int, finite float, bool, None) are given
  to jsonschema-rs, and a value it cannot read (a set, a non-string key) is a no;
* ``pattern``: jsonschema-rs uses ECMA-262 regular expressions (``\\S``, ``\\d``, ``$`` differ from
  Python's); ``pattern`` is evaluated with Python's ``re``, as jsonschema does;
* schemas using ``patternProperties`` (key patterns, Rust's regexes again), ``multipleOf``
  (decimal against float arithmetic) or any keyword outside :data:`SHARED_KEYWORDS`, or a dialect
  other than Draft 2020-12, are not compiled: their check always answers no, as does the check of
  a schema jsonschema-rs cannot compile.

Every other keyword jsonschema knows (``dependencies``, ``contains``, ...) is treated the same way:
only the keywords whose answers the tests compare (:data:`SHARED_KEYWORDS`) are trusted to
jsonschema-rs. Assumes Draft 2020-12 without a format checker (``format`` only annotates), which
is how meshauth's validators are built. tests/test_schemacheck.py compares the two answers keyword by
keyword, on every object meshauth renders for its examples and on mutations of them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from functools import cache
from typing import Any

Check = Callable[[Any], bool]

DIALECT = "https://json-schema.org/draft/2020-12/schema"
# The keywords whose answers tests/test_schemacheck.py compares with jsonschema's. A schema using
# any other keyword that jsonschema knows in some draft is not compiled: jsonschema-rs may read it
# otherwise (``multipleOf`` in decimal, ``patternProperties`` with Rust's regexes) or read one that
# Draft 2020-12 does not have (``dependencies``), and under ``not`` an extra "no" is a wrong "yes".
SHARED_KEYWORDS = frozenset(
    {
        *("type", "enum", "const", "format", "contentEncoding", "contentMediaType", "$ref"),
        *(
            "properties",
            "additionalProperties",
            "required",
            "propertyNames",
            "minProperties",
            "maxProperties",
        ),
        *("unevaluatedProperties", "pattern", "minLength", "maxLength"),
        *("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"),
        *("items", "minItems", "maxItems", "uniqueItems"),
        *("allOf", "anyOf", "oneOf", "not", "if", "then", "else"),
    }
)
# Keywords whose value maps names (not keywords) to subschemas.
_SCHEMA_MAPS = frozenset({"properties", "$defs", "definitions", "dependentSchemas", "patternProperties"})


def compile_check(schema: Any, registry: Any) -> Check:
    """A function telling whether an instance is valid against ``schema`` (Draft 2020-12); a
    ``False`` may be a "don't know", never a wrong "valid". ``registry`` (a ``referencing``
    registry) resolves ``$ref``s."""
    import jsonschema_rs

    resources, shared = _compiled_registry(registry)
    if not shared or not is_shared(schema):
        return _never
    try:
        validator = jsonschema_rs.Draft202012Validator(
            schema, validate_formats=False, registry=resources, keywords={"pattern": PythonPattern}
        )
    except Exception:  # noqa: BLE001 - anything it cannot compile is left to jsonschema
        return _never
    is_valid = validator.is_valid

    def check(instance: Any) -> bool:
        if not is_plain_json(instance):
            return False
        try:
            return is_valid(instance)
        except Exception:  # noqa: BLE001 - a value jsonschema-rs cannot read: let jsonschema decide
            return False

    return check


def _never(instance: Any) -> bool:
    return False


class PythonPattern:
    """``pattern`` as jsonschema evaluates it (``re.search``), in place of jsonschema-rs's own."""

    def __init__(self, parent_schema: Any, value: Any, schema_path: Any) -> None:
        self.search = re.compile(value).search

    def validate(self, instance: Any) -> None:
        if isinstance(instance, str) and self.search(instance) is None:
            raise ValueError("does not match the pattern")


def is_plain_json(value: Any) -> bool:
    """True when ``value`` holds only dicts, lists, strings, ints, finite floats, bools and None."""
    pending = [value]
    while pending:
        node = pending.pop()
        kind = type(node)
        if kind is dict:
            pending.extend(node.values())
        elif kind is list:
            pending.extend(node)
        elif kind is float:
            if not math.isfinite(node):
                return False
        elif kind is not str and kind is not int and kind is not bool and node is not None:
            if isinstance(node, dict):
                pending.extend(node.values())
            elif isinstance(node, list):
                pending.extend(node)
            else:
                return False
    return True


def is_shared(schema: Any) -> bool:
    """Whether a schema (with its subschemas) uses only :data:`SHARED_KEYWORDS` in Draft 2020-12,
    which both libraries read alike. Every mapping in it is read as a schema, data (``enum``,
    ``default``) included: a false alarm there only makes the check answer no more often."""
    unshared = _unshared_keywords()
    pending = [schema]
    while pending:
        node = pending.pop()
        if isinstance(node, list):
            pending.extend(node)
        elif isinstance(node, dict):
            if not unshared.isdisjoint(node) or node.get("$schema", DIALECT) != DIALECT:
                return False
            if isinstance(node.get("items"), list):  # tuple validation of older drafts
                return False
            for key, value in node.items():
                if key in _SCHEMA_MAPS and isinstance(value, dict):
                    pending.extend(value.values())
                else:
                    pending.append(value)
    return True


@cache
def _unshared_keywords() -> frozenset[str]:
    """Every keyword jsonschema evaluates in some draft, but those both libraries read alike."""
    import jsonschema

    drafts = (
        jsonschema.Draft3Validator,
        jsonschema.Draft4Validator,
        jsonschema.Draft6Validator,
        jsonschema.Draft7Validator,
        jsonschema.Draft201909Validator,
        jsonschema.Draft202012Validator,
    )
    known = {keyword for draft in drafts for keyword in draft.VALIDATORS} | {"contentSchema"}
    return frozenset(known - SHARED_KEYWORDS)


# jsonschema-rs registries by the ``referencing`` registry they copy (kept alive beside them, so an
# id is not reused): converting Kubernetes' large definitions costs more than compiling a kind.
_REGISTRIES: dict[int, tuple[Any, Any, bool]] = {}


def _compiled_registry(registry: Any) -> tuple[Any, bool]:
    known = _REGISTRIES.get(id(registry))
    if known is None or known[0] is not registry:
        import jsonschema_rs

        resources = [(uri, registry[uri].contents) for uri in registry]
        shared = is_shared([contents for _, contents in resources])
        try:
            compiled = jsonschema_rs.Registry(resources, draft=jsonschema_rs.Draft202012)
        except Exception:  # noqa: BLE001 - then no check is compiled against it
            compiled, shared = None, False
        known = _REGISTRIES[id(registry)] = (registry, compiled, shared)
    return known[1], known[2]


class FastValidator:
    """A jsonschema validator with the compiled check in front of ``iter_errors``: errors are
    jsonschema's, computed only for the instances the check does not accept."""

    def __init__(self, validator: Any, registry: Any) -> None:
        self.validator = validator
        self.is_fast_valid = compile_check(validator.schema, registry)

    def iter_errors(self, instance: Any) -> Any:
        if self.is_fast_valid(instance):
            return iter(())
        return self.validator.iter_errors(instance)
