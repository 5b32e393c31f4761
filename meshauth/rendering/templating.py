"""Jinja templates -> YAML text -> plain objects.

Templates hold structure only. Every value enters through the one filter ``q``, which writes it as a
JSON document: a JSON scalar, list or object is also a YAML flow node, and its quoting guarantees that
no value can close a string, open a key or start a document. ``finalize`` refuses any ``{{ }}``
expression that did not go through ``q``, so a template cannot forget it. The text is parsed straight
back; nothing else ever sees it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from functools import cache
from typing import Any

import jinja2
import yaml

from meshauth._util.resources import data_dir
from meshauth.files.yamlread import SafeLoader

_LOADER = SafeLoader
# Characters YAML does not allow raw in a stream, and the ones YAML 1.1 reads as line breaks even
# inside quotes (NEL, U+2028, U+2029) or as a byte-order mark: escape them as \\u / \\U.
_NOT_YAML_PRINTABLE = re.compile(
    "[^\x09\x0a\x0d\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]"
)


class Quoted(str):
    """Text produced by :func:`quote`; the only thing ``finalize`` lets into a template."""


def quote(value: Any) -> Quoted:
    """A value as a YAML flow node that parses back to exactly ``value``."""
    if isinstance(value, jinja2.Undefined):
        value._fail_with_undefined_error()
    text = json.dumps(value, ensure_ascii=False, sort_keys=False, allow_nan=False)
    return Quoted(_NOT_YAML_PRINTABLE.sub(_escape, text))


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def _finalize(value: Any) -> Any:
    if type(value) is not Quoted:
        raise TypeError("template bug: every {{ value }} must go through the q filter ({{ value | q }})")
    return value


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(data_dir("templates"))),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
        finalize=_finalize,
        auto_reload=False,  # shipped files: no stat() per render to see whether one changed
    )
    env.filters["q"] = quote
    return env


def render_text(template: str, values: Mapping[str, Any]) -> str:
    return environment().get_template(template).render(values)


def render_object(template: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """Render one template and parse it back into the single object it must hold."""
    documents = parse_documents(render_text(template, values))
    if len(documents) != 1 or not isinstance(documents[0], dict):
        raise ValueError(f"template bug: {template} must render exactly one mapping")
    return documents[0]


def parse_documents(text: str) -> list[Any]:
    """The non-empty documents of ``text``, as PyYAML's safe loader would build them.

    PyYAML's C parser composes the nodes; building plain objects from them here is about twice as
    fast as its generic constructor for what templates produce (mappings, lists, strings, decimal
    integers, booleans). Any other scalar goes through PyYAML's own constructor, so the result is
    the same.
    """
    loader = _TemplateLoader(text)
    try:
        documents = []
        while loader.check_node():
            document = _build(loader.get_node(), loader)
            if document is not None:
                documents.append(document)
        return documents
    finally:
        loader.dispose()


_STR, _INT = "tag:yaml.org,2002:str", "tag:yaml.org,2002:int"


class _TemplateLoader(_LOADER):  # type: ignore[misc,valid-type]
    """The safe loader, with a shortcut for the scalars no implicit resolver could claim."""

    _CLAIMED = frozenset(k for k in _LOADER.yaml_implicit_resolvers if k)

    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        # Quoted scalars are strings; so are plain ones whose first character starts no int, float,
        # bool, null, timestamp or merge key. Everything else takes PyYAML's own resolution.
        if kind is yaml.ScalarNode and (not implicit[0] or (value and value[0] not in self._CLAIMED)):
            return _STR
        tag: str = super().resolve(kind, value, implicit)
        return tag


_BOOL, _NULL = "tag:yaml.org,2002:bool", "tag:yaml.org,2002:null"
_BOOLEANS = yaml.constructor.SafeConstructor.bool_values


def _build(node: yaml.Node, loader: Any) -> Any:
    if isinstance(node, yaml.MappingNode):
        if any(key.tag == "tag:yaml.org,2002:merge" for key, _ in node.value):
            return loader.construct_document(node)
        return {_build(key, loader): _build(value, loader) for key, value in node.value}
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, loader) for item in node.value]
    tag, value = node.tag, node.value
    if tag == _STR:
        return value
    if tag == _INT and value.isdigit() and (value[0] != "0" or value == "0"):
        return int(value)
    if tag == _BOOL:
        return _BOOLEANS[value.lower()]
    if tag == _NULL:
        return None
    return loader.construct_document(node)
