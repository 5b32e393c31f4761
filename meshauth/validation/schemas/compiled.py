"""A compiled yes/no answer to "does this object satisfy its schema?", in front of jsonschema.

jsonschema evaluates every keyword of every object as if it were about to report an error: each
step creates a validator, a resolver scope and a generator, even for the objects that are fine.
In a bundle almost every object is fine, and that bookkeeping was most of meshauth's validation
time (benchmarks/scale.py). So each schema is compiled once into nested closures that only answer
yes or no, and jsonschema runs (to say what is wrong, in its own words and order) only for the
objects they reject. Findings are therefore exactly jsonschema's.

The compiled check is sound for "yes": it accepts an instance only when jsonschema would. Where it
cannot be sure it answers no and lets jsonschema decide: a keyword it does not implement
(``unevaluatedProperties``, ``patternProperties``, ...) or an ``enum`` of structured values makes its
node answer no, and such an inexact node under ``not``, ``if`` or ``oneOf`` (where a wrong no would
turn into a wrong yes) makes the node around it answer no as well. tests/test_schemacheck.py
compares the two answers on every object meshauth renders for its examples and on mutations of them.

Assumes Draft 2020-12 without a format checker (``format`` only annotates), which is how
meshauth's validators are built.
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Callable, Mapping
from typing import Any

Check = Callable[[Any], bool]
Compiled = tuple[Check | None, bool]  # (check, exact); a check of None accepts everything


def _never(instance: Any) -> bool:
    return False


_UNKNOWN: Compiled = (_never, False)
_REJECT: Compiled = (_never, True)


def _is_integer(instance: Any) -> bool:
    if isinstance(instance, bool):
        return False
    return isinstance(instance, int) or (isinstance(instance, float) and instance.is_integer())


def _is_number(instance: Any) -> bool:
    return isinstance(instance, numbers.Number) and not isinstance(instance, bool)


_TYPES: dict[str, Check] = {
    "object": lambda i: isinstance(i, dict),
    "array": lambda i: isinstance(i, list),
    "string": lambda i: isinstance(i, str),
    "boolean": lambda i: isinstance(i, bool),
    "null": lambda i: i is None,
    "integer": _is_integer,
    "number": _is_number,
}

# Keywords this module implements; any other keyword jsonschema knows makes its node inexact.
_OBJECT = frozenset(
    {"properties", "additionalProperties", "required", "propertyNames", "minProperties", "maxProperties"}
)
_STRING = frozenset({"pattern", "minLength", "maxLength"})
_NUMBER = frozenset({"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"})
_ARRAY = frozenset({"items", "minItems", "maxItems"})
_APPLICATORS = frozenset({"allOf", "anyOf", "oneOf", "not", "if", "then", "else", "$ref"})
_IMPLEMENTED = _OBJECT | _STRING | _NUMBER | _ARRAY | _APPLICATORS | {"type", "enum", "const", "format"}


def compile_check(schema: Any, registry: Any) -> Check:
    """A function telling whether an instance is valid against ``schema`` (Draft 2020-12); a
    ``False`` may be a "don't know", never a wrong "valid". ``registry`` resolves ``$ref``s."""
    from jsonschema import Draft202012Validator
    from referencing.jsonschema import DRAFT202012

    resource = DRAFT202012.create_resource(schema)
    compiler = _Compiler(frozenset(Draft202012Validator.VALIDATORS), DRAFT202012)
    check, _ = compiler.compile(schema, registry.resolver_with_root(resource))
    return check or (lambda instance: True)


class _Compiler:
    def __init__(self, keywords: frozenset[str], specification: Any) -> None:
        self.keywords = keywords  # every keyword jsonschema evaluates; the rest only annotate
        self.specification = specification
        # Schema nodes compiled so far, by identity (kept alive beside their check). A node is only
        # ever reached under one base URI: meshauth's schemas share subschemas within a document.
        self.done: dict[int, tuple[Any, Compiled]] = {}

    def compile(self, node: Any, resolver: Any) -> Compiled:
        if node is True:
            return None, True
        if node is False:
            return _REJECT
        if not isinstance(node, Mapping):
            return _UNKNOWN  # jsonschema would raise; let it
        known = self.done.get(id(node))
        if known is not None and known[0] is node:
            return known[1]
        self.done[id(node)] = (node, _UNKNOWN)  # a cycle (through $ref) meets an inexact "no"
        compiled = self._node(node, resolver)
        self.done[id(node)] = (node, compiled)
        return compiled

    def _node(self, node: Mapping[str, Any], resolver: Any) -> Compiled:
        evaluated = {key for key in node if key in self.keywords}
        if not evaluated <= _IMPLEMENTED or ("items" in node and isinstance(node["items"], list)):
            return _UNKNOWN
        if "$id" in node:
            resolver = resolver.in_subresource(self.specification.create_resource(node))
        parts: list[Compiled] = []
        kinds = node.get("type")
        kinds = [kinds] if isinstance(kinds, str) else kinds
        if kinds is not None and (not isinstance(kinds, list) or not all(k in _TYPES for k in kinds)):
            return _UNKNOWN
        only = kinds[0] if kinds is not None and len(kinds) == 1 else None
        if evaluated & _OBJECT:
            parts.append(self._object(node, resolver, must=only == "object"))
        if evaluated & _STRING:
            parts.append(_string(node, must=only == "string"))
        if evaluated & _NUMBER:
            parts.append(_number(node))
        if evaluated & _ARRAY:
            parts.append(self._array(node, resolver, must=only == "array"))
        folded = (
            (only == "object" and evaluated & _OBJECT)
            or (only == "string" and evaluated & _STRING)
            or (only == "array" and evaluated & _ARRAY)
        )
        if kinds is not None and not folded:
            parts.append(_types(kinds))
        if "enum" in node:
            parts.append(_enum(node["enum"]))
        if "const" in node:
            parts.append(_enum([node["const"]]))
        if "$ref" in node:
            parts.append(self._ref(node["$ref"], resolver))
        parts += self._applicators(node, resolver)
        return _all(parts)

    def _ref(self, ref: Any, resolver: Any) -> Compiled:
        if not isinstance(ref, str):
            return _UNKNOWN
        from referencing.exceptions import Unresolvable

        try:
            resolved = resolver.lookup(ref)
        except Unresolvable:  # jsonschema reports it
            return _UNKNOWN
        return self.compile(resolved.contents, resolved.resolver)

    def _applicators(self, node: Mapping[str, Any], resolver: Any) -> list[Compiled]:
        parts: list[Compiled] = []
        for keyword, combine in (("allOf", _all), ("anyOf", _any), ("oneOf", _one)):
            if keyword in node:
                children = node[keyword]
                if not isinstance(children, list) or not children:
                    return [_UNKNOWN]
                parts.append(combine([self.compile(child, resolver) for child in children]))
        if "not" in node:
            check, exact = self.compile(node["not"], resolver)
            if not exact:
                parts.append(_UNKNOWN)
            else:
                parts.append(((lambda i: not check(i)) if check else _never, True))
        if "if" in node:
            parts.append(self._conditional(node, resolver))
        return parts

    def _conditional(self, node: Mapping[str, Any], resolver: Any) -> Compiled:
        condition, exact = self.compile(node["if"], resolver)
        then, then_exact = self.compile(node.get("then", True), resolver)
        otherwise, else_exact = self.compile(node.get("else", True), resolver)
        if not exact:
            return _UNKNOWN

        def check(instance: Any) -> bool:
            if condition is None or condition(instance):
                return then is None or then(instance)
            return otherwise is None or otherwise(instance)

        return check, then_exact and else_exact

    def _object(self, node: Mapping[str, Any], resolver: Any, must: bool) -> Compiled:
        exact = True
        properties: dict[str, Check | None] = {}
        raw = node.get("properties", {})
        if not isinstance(raw, Mapping):
            return _UNKNOWN
        for name, sub in raw.items():
            properties[name], sub_exact = self.compile(sub, resolver)
            exact = exact and sub_exact
        additional: Check | None = None
        if "additionalProperties" in node:
            additional, sub_exact = self.compile(node["additionalProperties"], resolver)
            exact = exact and sub_exact
        names: Check | None = None
        if "propertyNames" in node:
            names, sub_exact = self.compile(node["propertyNames"], resolver)
            exact = exact and sub_exact
        required = tuple(node.get("required", ()))
        low, high = node.get("minProperties", 0), node.get("maxProperties")

        def check(instance: Any) -> bool:
            if not isinstance(instance, dict):
                return not must
            for key in required:
                if key not in instance:
                    return False
            if len(instance) < low or (high is not None and len(instance) > high):
                return False
            for key, value in instance.items():
                if key in properties:
                    sub = properties[key]
                    if sub is not None and not sub(value):
                        return False
                elif additional is not None and not additional(value):
                    return False
                if names is not None and not names(key):
                    return False
            return True

        return check, exact

    def _array(self, node: Mapping[str, Any], resolver: Any, must: bool) -> Compiled:
        items, exact = self.compile(node.get("items", True), resolver)
        low, high = node.get("minItems", 0), node.get("maxItems")

        def check(instance: Any) -> bool:
            if not isinstance(instance, list):
                return not must
            if len(instance) < low or (high is not None and len(instance) > high):
                return False
            if items is not None:
                for item in instance:
                    if not items(item):
                        return False
            return True

        return check, exact


def _string(node: Mapping[str, Any], must: bool) -> Compiled:
    pattern = re.compile(node["pattern"]) if "pattern" in node else None
    low, high = node.get("minLength", 0), node.get("maxLength")

    def check(instance: Any) -> bool:
        if not isinstance(instance, str):
            return not must
        if len(instance) < low or (high is not None and len(instance) > high):
            return False
        return pattern is None or pattern.search(instance) is not None

    return check, True


def _number(node: Mapping[str, Any]) -> Compiled:
    bounds = [
        (node[k], op)
        for k, op in (
            ("minimum", lambda v, b: v >= b),
            ("maximum", lambda v, b: v <= b),
            ("exclusiveMinimum", lambda v, b: v > b),
            ("exclusiveMaximum", lambda v, b: v < b),
        )
        if k in node
    ]

    def check(instance: Any) -> bool:
        if not _is_number(instance):
            return True
        return all(op(instance, bound) for bound, op in bounds)

    return check, True


def _types(kinds: list[str]) -> Compiled:
    checks = [_TYPES[k] for k in kinds]
    if len(checks) == 1:
        return checks[0], True
    return (lambda i: any(c(i) for c in checks)), True


def _enum(values: Any) -> Compiled:
    """``enum`` / ``const`` with jsonschema's equality: strings equal only strings, and True is
    not 1 (``_unbool``); lists and mappings among the values are left to jsonschema."""
    if not isinstance(values, list):
        return _UNKNOWN
    strings = frozenset(v for v in values if isinstance(v, str))
    scalars = [_unbool(v) for v in values if v is None or isinstance(v, (bool, int, float))]
    exact = all(v is None or isinstance(v, (str, bool, int, float)) for v in values)

    def check(instance: Any) -> bool:
        if isinstance(instance, str):
            return instance in strings
        value = _unbool(instance)
        return any(value == each for each in scalars)

    return check, exact


_TRUE, _FALSE = object(), object()


def _unbool(value: Any) -> Any:
    return _TRUE if value is True else _FALSE if value is False else value


def _all(parts: list[Compiled]) -> Compiled:
    exact = all(e for _, e in parts)
    checks = [c for c, _ in parts if c is not None]
    if any(c is _never for c in checks):
        return _never, exact
    if not checks:
        return None, exact
    if len(checks) == 1:
        return checks[0], exact

    def check(instance: Any) -> bool:
        for part in checks:
            if not part(instance):
                return False
        return True

    return check, exact


def _any(parts: list[Compiled]) -> Compiled:
    exact = all(e for _, e in parts)
    if any(c is None for c, _ in parts):
        return None, exact
    checks = [c for c, _ in parts]
    return (lambda i: any(c(i) for c in checks)), exact


def _one(parts: list[Compiled]) -> Compiled:
    if not all(e for _, e in parts):
        return _UNKNOWN  # a wrong "no" in one branch could make another the only match
    always = sum(1 for c, _ in parts if c is None)
    checks = [c for c, _ in parts if c is not None]
    if always > 1:
        return _REJECT

    def check(instance: Any) -> bool:
        matched = always
        for part in checks:
            if part(instance):
                matched += 1
                if matched > 1:
                    return False
        return matched == 1

    return check, True


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
