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
from functools import lru_cache
from typing import Any, Mapping

import jinja2
import yaml

from meshauth._resources import data_dir

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# Characters YAML does not allow raw in a stream, and the ones YAML 1.1 reads as line breaks even
# inside quotes (NEL, U+2028, U+2029) or as a byte-order mark: escape them as \\u / \\U.
_NOT_YAML_PRINTABLE = re.compile(
    "[^\x09\x0a\x0d\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd"
    "\U00010000-\U0010ffff]"
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
        raise TypeError(
            "template bug: every {{ value }} must go through the q filter ({{ value | q }})"
        )
    return value


@lru_cache(maxsize=None)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(data_dir("templates"))),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
        finalize=_finalize,
    )
    env.filters["q"] = quote
    return env


def render_text(template: str, values: Mapping[str, Any]) -> str:
    return environment().get_template(template).render(values)


def render_object(template: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """Render one template and parse it back into the single object it must hold."""
    text = render_text(template, values)
    documents = [doc for doc in yaml.load_all(text, Loader=_LOADER) if doc is not None]
    if len(documents) != 1 or not isinstance(documents[0], dict):
        raise ValueError(f"template bug: {template} must render exactly one mapping")
    return documents[0]
