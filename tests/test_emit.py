"""The canonical emitter: key order, quoting of YAML 1.1 look-alikes, no anchors, separators."""

from __future__ import annotations

import yaml

from meshauth.files.yamltext import apply_order, dump_document, dump_documents, file_name

AMBIGUOUS = [
    "on",
    "off",
    "yes",
    "no",
    "y",
    "n",
    "true",
    "True",
    "null",
    "~",
    "",
    "1.10",
    "010",
    "0x1f",
    "1e3",
    "12:30",
    ".inf",
    "-",
    "1_000",
    "2026-11-28",
    "=",
    "<<",
]


def test_strings_that_yaml_would_read_otherwise_are_quoted():
    text = dump_document({"values": AMBIGUOUS})
    assert yaml.safe_load(text) == {"values": AMBIGUOUS}  # PyYAML resolves YAML 1.1 scalars
    for value in ("on", "yes", "1.10", "null"):
        assert f"- {value}\n" not in text


def test_top_level_keys_in_kubernetes_order_then_name_first_then_sorted():
    obj = {
        "spec": {"z": 1, "a": 2, "name": "n"},
        "metadata": {"labels": {}, "name": "x", "namespace": "ns"},
        "kind": "K",
        "apiVersion": "v1",
        "data": {},
    }
    text = dump_document(obj)
    assert [line.split(":")[0] for line in text.splitlines() if not line.startswith(" ")] == [
        "apiVersion",
        "kind",
        "metadata",
        "spec",
        "data",
    ]
    assert text.index("name: x") < text.index("namespace: ns") < text.index("labels")
    assert text.index("name: n") < text.index("a: 2") < text.index("z: 1")


def test_key_order_of_the_input_does_not_change_the_bytes():
    a = {
        "apiVersion": "v1",
        "kind": "K",
        "metadata": {"name": "x"},
        "spec": {"b": 1, "a": [2, {"d": 1, "c": 2}]},
    }
    b = {
        "spec": {"a": [2, {"c": 2, "d": 1}], "b": 1},
        "metadata": {"name": "x"},
        "kind": "K",
        "apiVersion": "v1",
    }
    assert dump_document(a) == dump_document(b)


def test_shared_objects_are_written_out_not_aliased():
    shared = {"app": "x"}
    text = dump_document({"a": shared, "b": shared})
    assert "&" not in text and "*" not in text


def test_documents_are_separated_and_end_with_a_newline():
    text = dump_documents([{"a": 1}, {"b": 2}])
    assert text == "a: 1\n---\nb: 2\n"
    assert list(yaml.safe_load_all(text)) == [{"a": 1}, {"b": 2}]


def test_long_and_multiline_strings_round_trip():
    value = {"long": "x " * 400, "multi": "line one\nline two\n", "trailing": "a \nb"}
    assert yaml.safe_load(dump_document(value)) == value
    assert "multi: |" in dump_document(value)


def test_apply_order_puts_policies_before_routes():
    kinds = ["VirtualService", "Gateway", "AuthorizationPolicy", "Deployment", "Namespace"]
    objs = [{"kind": k, "metadata": {"name": "a"}} for k in kinds]
    assert [o["kind"] for o in sorted(objs, key=apply_order)] == list(reversed(kinds))


def test_file_names():
    assert file_name({"kind": "Gateway", "metadata": {"name": "g", "namespace": "ns"}}) == "gateway.ns.g.yaml"
    assert file_name({"kind": "ClusterIssuer", "metadata": {"name": "le"}}) == "clusterissuer.le.yaml"


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(), st.text() | st.lists(st.text(), max_size=3), max_size=4))
def test_any_strings_round_trip_through_the_emitter(value):
    assert yaml.safe_load(dump_document(value)) == (value or {})
