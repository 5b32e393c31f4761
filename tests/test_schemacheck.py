"""The compiled schema check answers as jsonschema does, and never says "valid" when it is not.

meshauth.validation.schemas.compiled stands in front of jsonschema: when it accepts an object, jsonschema is not
asked. So every answer it gives must match jsonschema's ``is_valid`` (and a "no" where it cannot be
sure is allowed only for the keywords and Python values it leaves to jsonschema).
"""

from __future__ import annotations

import copy
import math
from collections import OrderedDict
from types import MappingProxyType

import pytest
from conftest import EXAMPLES, OVERLAYS, ROOT, VALID_CASES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

import meshauth
from meshauth.validation.schemas.bundled import bundled_validator
from meshauth.validation.schemas.compiled import FastValidator, compile_check
from meshauth.validation.schemas.kubernetes import core_validator
from meshauth.validation.validate import is_core_group

# (schema, instances): every instance is checked against jsonschema's own answer.
KEYWORD_CASES = [
    ({"type": "object"}, [{}, [], "x", None]),
    ({"type": "array"}, [[], {}, "x"]),
    ({"type": "string"}, ["", 1, None, b"x"]),
    ({"type": "boolean"}, [True, False, 0, 1, "true"]),
    ({"type": "null"}, [None, 0, "", False]),
    ({"type": "integer"}, [1, 1.0, 1.5, True, "1", -3, 2**70]),
    ({"type": "number"}, [1, 1.5, True, "1", None]),
    ({"type": ["string", "integer"]}, ["x", 1, 1.5, None, False]),
    ({"enum": ["a", "b"]}, ["a", "c", 1, None, ["a"]]),
    ({"enum": [1, True, None]}, [1, 1.0, True, False, 0, None, "1"]),
    ({"enum": [False]}, [False, 0, 0.0, None]),
    ({"const": 0}, [0, 0.0, False, "0"]),
    ({"const": "v1"}, ["v1", "v2", 1]),
    ({"pattern": "^[a-z]+$"}, ["abc", "aBc", "", 1]),
    ({"pattern": "b"}, ["abc", "xyz"]),  # search, not match
    # Python's regular expressions, as jsonschema's, not ECMA-262's: \S, \d and $ differ.
    ({"pattern": "^\\S+$"}, ["ab", "a\x1cb", "a b"]),
    ({"pattern": "^\\d+$"}, ["12", "\u0661", "x"]),
    ({"pattern": "^a$"}, ["a", "a\n"]),
    ({"propertyNames": {"pattern": "^\\S+$"}}, [{"a\x1cb": 1}, {"ab": 1}]),
    ({"not": {"pattern": "^a$"}}, ["a\n", "b"]),
    ({"type": "string", "minLength": 2, "maxLength": 3}, ["a", "ab", "abcd", 12]),
    ({"minimum": 1, "maximum": 3}, [0, 1, 3, 3.5, "9", True]),
    ({"exclusiveMinimum": 1, "exclusiveMaximum": 3}, [1, 2, 3, 2.5]),
    ({"properties": {"a": {"type": "string"}}}, [{}, {"a": "x"}, {"a": 1}, {"b": 1}, "not an object"]),
    (
        {"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": False},
        [{}, {"a": "x"}, {"b": 1}, [], None],
    ),
    ({"additionalProperties": {"type": "integer"}}, [{"a": 1}, {"a": "1"}, "x"]),
    ({"type": "object", "required": ["a", "b"]}, [{"a": 1, "b": 2}, {"a": 1}, {}, []]),
    ({"required": ["a"]}, ["string", {"a": None}, {}]),
    ({"propertyNames": {"pattern": "^x"}}, [{"xa": 1}, {"ya": 1}, {}]),
    ({"minProperties": 1, "maxProperties": 2}, [{}, {"a": 1}, {"a": 1, "b": 2, "c": 3}, []]),
    (
        {"properties": {"a": {"type": "string"}}, "unevaluatedProperties": False},
        [{"a": "x"}, {"b": 1}, {"a": 1}, "x"],
    ),
    (
        {"uniqueItems": True},
        [[1, 2], [1, 1], [1, True], [1, 1.0], [{"a": 1}, {"a": 1.0}], [[1], [True]], "x"],
    ),
    ({"not": {"uniqueItems": True}}, [[1, 1], [1, 2]]),
    (
        {"type": "array", "items": {"type": "integer"}, "minItems": 1, "maxItems": 2},
        [[1], [], [1, 2, 3], ["a"], {}],
    ),
    ({"items": {"type": "string"}}, [["a"], [1], "not an array"]),
    ({"allOf": [{"type": "integer"}, {"minimum": 2}]}, [1, 2, "x"]),
    ({"anyOf": [{"type": "integer"}, {"type": "string"}]}, [1, "x", None]),
    ({"oneOf": [{"type": "integer"}, {"minimum": 2}]}, [1, 3, "x", 1.5]),
    ({"oneOf": [True, True]}, [1]),
    ({"oneOf": [True, {"type": "string"}]}, [1, "x"]),
    ({"not": {"required": ["a", "b"]}}, [{"a": 1}, {"a": 1, "b": 2}, "x"]),
    ({"not": True}, [1]),
    ({"not": False}, [1]),
    (
        {"if": {"required": ["a"]}, "then": {"required": ["b"]}, "else": {"required": ["c"]}},
        [{"a": 1, "b": 1}, {"a": 1}, {"c": 1}, {}, "x"],
    ),
    ({"then": {"required": ["b"]}}, [{}]),  # then without if does nothing
    ({"$ref": "#/$defs/name", "$defs": {"name": {"type": "string", "maxLength": 3}}}, ["abc", "abcd", 1]),
    (True, [1, None]),
    (False, [1, None]),
    (
        {"description": "only annotations", "format": "int-or-string", "x-kubernetes-list-type": "map"},
        [1, "x"],
    ),
    ({"not": {"format": "date-time"}}, ["not a date", 1]),
    ({"not": {"contentEncoding": "base64", "contentMediaType": "application/json"}}, ["!!!", "e30="]),
]

# Keywords jsonschema-rs reads otherwise than jsonschema (patternProperties, multipleOf, another dialect)
# or that are beyond the plain cases above: the check may say no when jsonschema says yes, never the reverse.
DEFERRED_CASES = [
    ({"patternProperties": {"^x": {"type": "integer"}}}, [{"xa": 1}, {"xa": "1"}]),
    ({"uniqueItems": True}, [[1, 2], [1, 1]]),
    ({"properties": {"a": {"type": "string"}}, "unevaluatedProperties": False}, [{"a": "x"}, {"b": 1}]),
    ({"not": {"uniqueItems": True}}, [[1, 1], [1, 2]]),
    ({"oneOf": [{"uniqueItems": True}, {"type": "string"}]}, [[1, 1], [1, 2], "x"]),
    ({"if": {"uniqueItems": True}, "then": {"minItems": 2}}, [[1], [1, 1]]),
    ({"enum": [[1], {"a": 1}]}, [[1], {"a": 1}, [2]]),
    # A recursive type (none among the kinds meshauth emits): an instance that recurses is left to jsonschema.
    (
        {
            "$defs": {
                "node": {
                    "type": "object",
                    "properties": {"next": {"$ref": "#/$defs/node"}},
                    "additionalProperties": False,
                }
            },
            "$ref": "#/$defs/node",
        },
        [{}, {"next": {}}, {"next": {"next": {"x": 1}}}, {"x": 1}],
    ),
    ({"multipleOf": 0.1}, [0.3, 0.5, 1]),
    ({"not": {"dependencies": {"a": ["b"]}}}, [{"a": 1}, {"a": 1, "b": 1}]),  # not a 2020-12 keyword
    ({"not": {"contains": {"type": "string"}}}, [[1], ["x"]]),
    (
        {"patternProperties": {"^\\S+$": {"type": "string"}}, "additionalProperties": False},
        [{"a\x1cb": "x"}, {"ab": "x"}, {"ab": 1}],
    ),
    (
        {
            "$defs": {"d": {"$schema": "http://json-schema.org/draft-07/schema#", "type": "integer"}},
            "$ref": "#/$defs/d",
        },
        [1, 1.0, "x"],
    ),
]

# Python values that are not plain JSON, which jsonschema-rs reads otherwise than jsonschema (a
# tuple as an array, infinities) or cannot read (sets, bytes, non-string keys): left to jsonschema.
PYTHON_VALUE_CASES = [
    ({"type": "array"}, [(1, 2), [1, 2]]),
    ({"type": "object", "properties": {"a": {"type": "array"}}}, [{"a": (1,)}, {"a": {1}}, {"a": []}]),
    ({"not": {"type": "array"}}, [(1,), {1}, "x"]),
    ({"maximum": 3}, [math.inf, -math.inf, math.nan, 2.5]),
    ({"minimum": 3}, [-math.inf, math.inf, math.nan]),
    ({"type": "number"}, [math.inf, math.nan]),
    ({"type": "object", "additionalProperties": False, "properties": {"1": {}}}, [{1: "x"}, {"1": "x"}]),
    ({"type": "string"}, [b"x", bytearray(b"x")]),
    ({"type": "object"}, [MappingProxyType({}), OrderedDict(a=1)]),
]


def _pairs(cases):
    return [(schema, instance) for schema, instances in cases for instance in instances]


@pytest.mark.parametrize("schema,instance", _pairs(KEYWORD_CASES), ids=repr)
def test_the_check_answers_as_jsonschema_does(schema, instance):
    check = compile_check(schema, Registry())
    assert check(instance) is Draft202012Validator(schema).is_valid(instance)


@pytest.mark.parametrize("schema,instance", _pairs(DEFERRED_CASES + PYTHON_VALUE_CASES), ids=repr)
def test_keywords_left_to_jsonschema_never_pass_what_it_refuses(schema, instance):
    check = compile_check(schema, Registry())
    validator = Draft202012Validator(schema)
    if check(instance):
        assert validator.is_valid(instance)
    if not validator.is_valid(instance):
        assert check(instance) is False


def test_an_unresolvable_reference_is_left_to_jsonschema_to_report():
    assert compile_check({"$ref": "#/$defs/missing"}, Registry())(1) is False


def test_references_resolve_from_the_document_that_holds_them():
    shared = {
        "$id": "https://example.com/defs.json",
        "$defs": {"n": {"$ref": "#/$defs/s"}, "s": {"type": "string"}},
    }
    schema = {"$id": "https://example.com/root.json", "properties": {"a": {"$ref": "defs.json#/$defs/n"}}}
    registry = Registry().with_resource(shared["$id"], DRAFT202012.create_resource(shared))
    check = compile_check(schema, registry)
    assert check({"a": "x"}) is True
    assert check({"a": 1}) is False


def _corpus():
    bundles = [meshauth.render(path) for path in EXAMPLES + VALID_CASES]
    bundles += [
        meshauth.render(meshauth.load_config(ROOT / "examples" / "seed.yaml", overlays=[path]))
        for path in OVERLAYS
    ]
    seen = {}
    for bundle in bundles:
        for obj in bundle.objects:
            validator = _validator(obj, bundle.kubernetes_version)
            if validator is not None:
                seen.setdefault(repr(obj), (obj, validator))
    return list(seen.values())


def _validator(obj, kubernetes_version):
    if is_core_group(obj["apiVersion"]):
        return core_validator(kubernetes_version, obj["apiVersion"], obj["kind"])
    return bundled_validator(obj["apiVersion"], obj["kind"])


CORPUS = _corpus()


def test_the_corpus_covers_every_kind_meshauth_emits():
    kinds = {obj["kind"] for obj, _ in CORPUS}
    assert {
        "Deployment",
        "AuthorizationPolicy",
        "RequestAuthentication",
        "Certificate",
        "VirtualService",
        "Gateway",
        "NetworkPolicy",
        "PeerAuthentication",
    } <= kinds
    assert len(kinds) >= 15


def test_every_rendered_object_takes_the_fast_path():
    """Speed depends on it: an object the check cannot accept pays jsonschema's full price."""
    slow = [f"{obj['kind']}/{obj['metadata']['name']}" for obj, v in CORPUS if not v.is_fast_valid(obj)]
    assert slow == []


def test_validators_are_fast_validators_with_jsonschema_behind():
    obj, validator = CORPUS[0]
    assert isinstance(validator, FastValidator)
    broken = {**obj, "bogus": 1}
    assert [e.validator for e in validator.iter_errors(broken)] == [
        e.validator for e in validator.validator.iter_errors(broken)
    ]
    assert list(validator.iter_errors(broken))


# Mutations an author (or a bad overlay) makes: a wrong type, a missing field, an unknown field.
VALUES = st.sampled_from(
    [None, 0, -1, 1.5, True, False, "", "x", "Not-A-Name!", [], [1], {}, {"a": 1}, 2**40]
)


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, prefix + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _paths(value, prefix + (index,))


def _mutate(obj, path, action, value):
    mutated = copy.deepcopy(obj)
    if not path:
        return mutated
    parent = mutated
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    if action == "delete":
        del parent[last]
    elif action == "set":
        parent[last] = value
    elif isinstance(parent[last], dict):
        parent[last]["unknownField"] = value
    elif isinstance(parent[last], list):
        parent[last].append(value)
    return mutated


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_objects_get_jsonschemas_answer(data):
    obj, validator = data.draw(st.sampled_from(CORPUS))
    path = data.draw(st.sampled_from(list(_paths(obj))))
    mutated = _mutate(obj, path, data.draw(st.sampled_from(["delete", "set", "add"])), data.draw(VALUES))
    assert validator.is_fast_valid(mutated) is validator.validator.is_valid(mutated)
