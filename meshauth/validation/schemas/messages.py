"""How a schema finding reads: the path of the offending field, and a message that never echoes it.

jsonschema's own messages quote the offending instance; for a Secret that could be a secret value,
so every schema check (Kubernetes' schemas, the bundled and user CRDs, CEL rules) words its
findings here instead.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def json_path(parts: Iterable[Any]) -> str:
    """A field path as findings show it: ``spec.rules[0].to``."""
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def schema_message(error: Any) -> str:
    """What a jsonschema error says is wrong, without the offending value."""
    validator = error.validator
    if validator == "additionalProperties":
        return "unknown field(s): " + ", ".join(sorted(_extra_keys(error)))
    if validator == "required":
        return str(error.message).split(" is a required")[0] + " is required"
    if validator == "type":
        return f"must be of type {error.validator_value}"
    if validator == "enum":
        return f"must be one of {error.validator_value}"
    if validator == "const":
        return f"must be {error.validator_value!r}"
    if validator == "pattern":
        return f"must match the pattern {error.validator_value}"
    if validator in (
        "minItems",
        "maxItems",
        "minLength",
        "maxLength",
        "minimum",
        "maximum",
        "maxProperties",
        "minProperties",
    ):
        return f"breaks {validator} {error.validator_value}"
    if validator == "not" and isinstance(error.validator_value, dict):
        comment = error.schema.get("$comment") if isinstance(error.schema, dict) else None
        return f"breaks the rule: {comment}" if comment else "sets fields that exclude each other"
    if validator in ("oneOf", "anyOf"):
        return _alternatives_message(error)
    return f"does not satisfy the schema ({validator})"


def _alternatives_message(error: Any) -> str:
    causes = sorted(
        {f"{json_path(e.relative_path) or 'value'} {schema_message(e)}" for e in error.context or ()}
    )
    shown = "; ".join(causes[:4])
    return f"matches none of the allowed forms ({shown})" if shown else "matches none of the allowed forms"


def _extra_keys(error: Any) -> list[str]:
    allowed = set(error.schema.get("properties", {}))
    instance = error.instance if isinstance(error.instance, dict) else {}
    return [repr(key) for key in instance if key not in allowed]
