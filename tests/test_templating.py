"""Values enter templates only through `q`, and no value can change the document's structure."""

from __future__ import annotations

import jinja2
import pytest
import yaml
from hypothesis import example, given, settings
from hypothesis import strategies as st

from meshauth.rendering.templating import environment, quote

HOSTILE = [
    "x\n---\nkind: Secret",
    '": injected\nextra: true',
    "a: b",
    "{{ 7 * 7 }}",
    "# not a comment",
    "&anchor *alias",
    "!!python/object:os.system",
    "\x85\u2028\u2029 line separators",
    "\x00\x1f\x7f\x9f control",
    "\ufeff bom",
    "emoji \U0001f600",
    "\ud800 lone surrogate",
    "'single' \"double\" \\ backslash",
    "...",
    "- item",
    "   padded   ",
]


def _roundtrip(value):
    template = environment().from_string("first: {{ value | q }}\nsecond: {{ 'fixed' | q }}\n")
    return yaml.load(template.render(value=value), Loader=yaml.SafeLoader)


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_strings_stay_one_value(value):
    assert _roundtrip(value) == {"first": value, "second": "fixed"}


@settings(max_examples=300, deadline=None)
@given(st.text())
@example("\n...\n---\n")
def test_any_text_stays_one_value(value):
    assert _roundtrip(value) == {"first": value, "second": "fixed"}


@settings(max_examples=100, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
        max_leaves=8,
    )
)
def test_any_structure_round_trips(value):
    assert _roundtrip(value)["first"] == value


def test_a_value_without_q_is_refused():
    with pytest.raises(TypeError, match="must go through the q filter"):
        environment().from_string("name: {{ value }}\n").render(value="x")


def test_undefined_values_are_errors():
    with pytest.raises(jinja2.UndefinedError):
        environment().from_string("name: {{ missing | q }}\n").render()


def test_quote_is_json():
    assert quote("a\nb") == '"a\\nb"'
    assert quote(["a", 1, True, None]) == '["a", 1, true, null]'


def test_every_template_parses_to_one_object_and_uses_q():
    templates = [t for t in environment().list_templates() if not t.startswith("_")]
    assert len(templates) >= 20
    source = {t: environment().loader.get_source(environment(), t)[0] for t in templates}
    for name, text in source.items():
        for expression in text.split("{{")[1:]:
            assert "| q }}" in expression.split("}}")[0] + "}}", (name, expression[:40])


def test_render_object_with_two_documents(tmp_path, monkeypatch):
    import meshauth.rendering.templating as templating

    monkeypatch.setattr(templating, "render_text", lambda template, values: "a: 1\n---\nb: 2\n")
    with pytest.raises(ValueError, match="exactly one mapping"):
        templating.render_object("x", {})
