"""Reading config files and overlays into a checked :class:`MeshAuthConfig`.

Overlays are deep-merged in order onto the base: maps merge, lists are replaced, ``null`` removes a
key. Every problem is reported as ``file: spec.path: message``, naming the file (base or overlay)
that set the offending value, and never echoing a value (it might be a secret).
"""

from __future__ import annotations

import copy
import difflib
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Union

from pydantic import BaseModel, ValidationError

from meshauth.config.base import At
from meshauth.config.model import MeshAuthConfig
from meshauth.config.secrets import REVEAL_SECRETS
from meshauth.errors import ConfigError, Problem
from meshauth.files.yamlread import read_yaml_documents

Source = Union[str, "os.PathLike[str]", Mapping[str, Any], MeshAuthConfig]


def load_config(
    source: Source,
    overlays: Iterable[str | os.PathLike[str] | Mapping[str, Any]] = (),
    *,
    allow_plaintext_secrets: bool = False,
) -> MeshAuthConfig:
    """Load, merge and check a config; raise :class:`ConfigError` listing every problem found."""
    overlays = list(overlays)
    if isinstance(source, MeshAuthConfig) and not overlays and not allow_plaintext_secrets:
        return source
    layers = [_layer(source, "<config>")]
    layers += [_layer(o, f"<overlay {i}>") for i, o in enumerate(overlays, 1)]
    data: Any = layers[0][1]
    for _, overlay in layers[1:]:
        data = merge(data, overlay)
    if allow_plaintext_secrets:
        _allow_plaintext(data)
    try:
        return MeshAuthConfig.model_validate(data)
    except ValidationError as error:
        problems = _problems(error, layers)
    # raised outside the handler, so that the ConfigError does not keep the ValidationError (whose
    # errors() hold the input values, secrets included) as its __context__
    raise ConfigError(problems)


def merge(base: Any, overlay: Any) -> Any:
    """Deep merge: maps merge key by key, anything else (lists included) is replaced; None removes."""
    if not isinstance(base, dict) or not isinstance(overlay, dict):
        return copy.deepcopy(overlay)
    merged = dict(base)
    for key, value in overlay.items():
        if value is None:
            merged.pop(key, None)
        elif key in merged:
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


# --- internals -------------------------------------------------------------------------------------


def _layer(source: Any, label: str) -> tuple[str, Any]:
    if isinstance(source, BaseModel):
        dumped = source.model_dump(
            mode="json", by_alias=True, exclude_none=True, context={REVEAL_SECRETS: True}
        )
        return label, dumped
    if isinstance(source, Mapping):
        return label, copy.deepcopy(dict(source))
    docs = read_yaml_documents(source)
    if len(docs) != 1 or not isinstance(docs[0], dict):
        raise ConfigError(Problem("must hold exactly one YAML mapping (a MeshAuthConfig)", file=str(source)))
    return str(source), docs[0]


def _allow_plaintext(data: Any) -> None:
    secret = data.get("spec", {}).get("secret") if isinstance(data, dict) else None
    if isinstance(secret, dict) and secret.get("source") == "inline":
        secret.setdefault("allowPlaintext", True)


_MESSAGES = {
    "missing": "required",
    "extra_forbidden": "unknown key",
    "string_type": "must be a string",
    "int_type": "must be an integer",
    "int_parsing": "must be an integer",
    "int_from_float": "must be a whole number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "list_type": "must be a list",
    "dict_type": "must be a mapping",
    "model_type": "must be a mapping",
    "model_attributes_type": "must be a mapping",
    "too_short": "must not be empty",
    "string_too_short": "must not be empty",
}
_UNION_TAGS = {"existing", "inline", "external-secrets", "sealed-secrets", "cookie", "redis"}
_UNION_FIELDS = {"secret", "sessionStore"}
_TYPE_MEMBERS = {"bool", "int", "str", "list[str]", "function-after[_no_control_characters(), str]"}


def _problems(error: ValidationError, layers: Sequence[tuple[str, Any]]) -> list[Problem]:
    problems: dict[str, Problem] = {}
    for item in error.errors(include_url=False, include_input=False):
        loc, in_union = _clean_loc(item["loc"])
        cause = (item.get("ctx") or {}).get("error")
        if isinstance(cause, At):
            loc = loc + tuple(cause.path)
        if item["type"] in ("union_tag_invalid", "union_tag_not_found"):
            loc = loc + ((item.get("ctx") or {}).get("discriminator", "").strip("'()"),)
        message = _UNION_MESSAGE if in_union else _message(item, loc)
        path = _format_path(loc)
        problems.setdefault(f"{path}\0{message}", Problem(message, origin(loc, layers), path))
    return list(problems.values())


_UNION_MESSAGE = "must be a string, an integer, true or false, or a list of strings"


def _clean_loc(loc: Sequence[Any]) -> tuple[tuple[Any, ...], bool]:
    """Drop pydantic's union bookkeeping from an error location; say whether a member failed."""
    cleaned: list[Any] = []
    in_union = False
    for part in loc:
        tagged = len(cleaned) > 0 and cleaned[-1] in _UNION_FIELDS
        if tagged and part in _UNION_TAGS:
            cleaned.append(_TAG)
            continue
        if part == "[key]":  # pydantic marks an error in a mapping's key this way
            continue
        if isinstance(part, str) and (
            part in _TYPE_MEMBERS or part.startswith(("function-", "list[", "dict["))
        ):
            in_union = True
            continue
        cleaned.append(part)
    return tuple(p for p in cleaned if p is not _TAG), in_union


_TAG = object()  # marks the union tag pydantic puts after secret/sessionStore, dropped afterwards


def _message(item: Mapping[str, Any], loc: tuple[Any, ...]) -> str:
    kind = item["type"]
    if kind == "extra_forbidden" and loc and isinstance(loc[-1], str):
        allowed = sorted(_keys_at(loc[:-1]) - {loc[-1]})
        suggestion = difflib.get_close_matches(loc[-1], allowed, n=1, cutoff=0.6)
        hint = f" (did you mean {suggestion[0]}?)" if suggestion else ""
        return f"unknown key{hint}; unknown keys are refused so that a typo is never ignored"
    if kind in ("value_error", "assertion_error"):
        return str(item["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if kind == "union_tag_invalid":
        expected = (item.get("ctx") or {}).get("expected_tags", "")
        return f"unknown choice; expected one of {expected}"
    return _MESSAGES.get(kind, str(item["msg"]))


def _format_path(loc: Sequence[Any]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif isinstance(part, str) and part.replace("-", "").replace("_", "").isalnum():
            text += f".{part}" if text else part
        else:
            text += f"[{str(part)!r}]"
    return text


def origin(loc: Sequence[Any], layers: Sequence[tuple[str, Any]]) -> str:
    """The last file (overlays win) that sets the value at ``loc``; the base file otherwise."""
    for label, data in layers[::-1]:
        node = data
        for part in loc:
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and isinstance(part, int) and part < len(node):
                node = node[part]
            else:
                break
        else:
            return label
    return layers[0][0]


def _keys_at(loc: Sequence[Any]) -> set[str]:
    """The keys allowed in the mapping at ``loc`` (all members' keys where a union is possible)."""
    models: list[type[BaseModel]] = [MeshAuthConfig]
    for part in loc:
        if isinstance(part, int):
            continue
        fields = [f for m in models for f in m.model_fields.values() if (f.alias or "") == part]
        if not fields:
            return set()
        models = [m for f in fields for m in _models_in(f.annotation)]
    return {f.alias or n for m in models for n, f in m.model_fields.items()}


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    for arg in getattr(annotation, "__args__", ()) + tuple(getattr(annotation, "__metadata__", ())):
        found.extend(_models_in(arg))
    origin = getattr(annotation, "__origin__", None)
    if origin is not None and origin is not annotation:
        found.extend(_models_in(origin))
    return found
