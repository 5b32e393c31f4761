"""The config reference (``docs/reference.md``), generated from the typed models.

One section per mapping of the config file, in the order a reader meets them, with a table of its
keys: type, default and description, all read from :mod:`meshauth.config.model` (field descriptions,
defaults, constraints and the constrained string types of :mod:`meshauth.config.fieldtypes`). A test fails
when the checked-in file is stale; regenerate it with::

    python -m meshauth.config.reference > docs/reference.md
"""

from __future__ import annotations

import json
import re
import sys
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal, Union

from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo

from meshauth.config import fieldtypes

HEADER = """\
# Config reference

<!-- Generated from meshauth/config/model.py by `python -m meshauth.config.reference > docs/reference.md`.
     Do not edit by hand: a test fails when this file is stale. -->

Every key of `meshauth.yaml`, with its type and default. [config.md](config.md) explains how the
pieces fit together; `meshauth init` writes a commented starter file; `meshauth schema` prints the
same contract as JSON Schema for editors. Unknown keys are errors everywhere.
"""

# Names for the constrained string types, found by the validator function each one carries.
_TYPE_NAMES = {
    "DnsLabel": "DNS label",
    "DnsSubdomain": "DNS name",
    "Host": "host name",
    "LabelKey": "label key",
    "LabelValue": "label value",
    "Duration": "duration (`30m`, `1h30m`)",
    "MajorMinor": 'version `"MAJOR.MINOR"`',
    "HttpUrl": "URL",
    "HttpsUrl": "https URL",
    "RedisUrl": "redis URL",
    "Email": "email address",
    "IstioPath": "path (`/x` or `/x/*`)",
    "ClaimName": "claim name",
    "CookieName": "cookie name",
    "RequestPrincipal": "`<iss>/<sub>`",
}


@dataclass(frozen=True)
class Row:
    key: str
    type: str
    default: str
    description: str


@dataclass
class Section:
    path: str
    tag: str  # "source: inline" for a member of a discriminated union, else ""
    model: type[BaseModel]
    also: list[str] = field(default_factory=list)  # other paths where the same mapping appears

    @property
    def title(self) -> str:
        return f"{self.path}, {self.tag}" if self.tag else (self.path or "The file")

    @property
    def anchor(self) -> str:
        return github_anchor(self.title)


def reference_text() -> str:
    """The whole reference page as Markdown."""
    from meshauth.config.model import MeshAuthConfig

    found = sections(MeshAuthConfig)
    anchors = {id(s.model): s.anchor for s in found}
    return "\n".join([HEADER, *(_section_text(s, anchors) for s in found)])


def sections(root: type[BaseModel]) -> list[Section]:
    """Every mapping reachable from ``root``, depth first; a shared mapping once, at its first path."""
    found: dict[type[BaseModel], Section] = {}

    def visit(model: type[BaseModel], path: str, tag: str) -> None:
        if model in found:
            found[model].also.append(path)
            return
        found[model] = Section(path, tag, model)
        for name, info in model.model_fields.items():
            child = f"{path}.{info.alias or name}" if path else info.alias or name
            child += "[]" if _is_list_of_models(info.annotation) else ""
            members = _models_in(info.annotation)
            for member in members:
                visit(member, child, _tag_of(member) if len(members) > 1 else "")

    visit(root, "", "")
    return list(found.values())


def github_anchor(title: str) -> str:
    """The fragment GitHub gives a Markdown heading."""
    return re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")


# --- one section -----------------------------------------------------------------------------------


def _section_text(section: Section, anchors: dict[int, str]) -> str:
    lines = [f"## {section.title}", ""]
    if section.tag:
        lines += [f"The keys of `{section.path}` when it has `{section.tag}`.", ""]
    if section.also:
        lines += ["The same keys at " + ", ".join(f"`{p}`" for p in section.also) + ".", ""]
    lines += ["| key | type | default | description |", "| --- | --- | --- | --- |"]
    lines += [
        f"| `{r.key}` | {r.type} | {_cell(r.default)} | {_cell(r.description)} |"
        for r in _rows(section.model, anchors)
    ]
    return "\n".join(lines) + "\n"


def _rows(model: type[BaseModel], anchors: dict[int, str]) -> Iterator[Row]:
    for name, info in model.model_fields.items():
        default, description = _default_text(info, info.description or "")
        yield Row(info.alias or name, _type_text(info, anchors), default, description)


def _default_text(info: FieldInfo, description: str) -> tuple[str, str]:
    """The default column, and the description without a leading ``Default: ...`` sentence."""
    if info.is_required():
        return "required", description
    match = re.match(r"^Default: (.+?)\.(?:\s+(.*))?$", description)
    if match:
        return match.group(1), match.group(2) or ""
    value = info.get_default(call_default_factory=True)
    if value is None:
        return "none", description
    if isinstance(value, BaseModel):
        return "its defaults", description
    return f"`{_yaml_flow(value)}`", description


def _yaml_flow(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        plain = re.match(r"^[A-Za-z0-9_./][A-Za-z0-9_./:-]*$", value) and ": " not in value
        return value if plain else json.dumps(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_yaml_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_yaml_flow(v) for v in value) + "]"
    return str(value)


def _cell(text: str) -> str:
    """Table-safe Markdown: pipes escaped, and ``<...>`` outside code spans shown, not parsed as HTML."""
    parts = text.replace("|", "\\|").replace("\n", " ").split("`")
    for i in range(0, len(parts), 2):
        parts[i] = parts[i].replace("<", "&lt;").replace(">", "&gt;")
    return "`".join(parts)


# --- types -----------------------------------------------------------------------------------------


def _type_text(info: FieldInfo, anchors: dict[int, str]) -> str:
    text = _named(info.metadata) or _annotation_text(info.annotation, anchors)
    low = next((m.ge for m in info.metadata if getattr(m, "ge", None) is not None), None)
    high = next((m.le for m in info.metadata if getattr(m, "le", None) is not None), None)
    if low is not None and high is not None:
        text += f" {low}–{high}"
    if any(getattr(m, "min_length", None) for m in info.metadata) and text.startswith("list"):
        text = "non-empty " + text
    return text


def _annotation_text(annotation: Any, anchors: dict[int, str]) -> str:
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return _named(args[1:]) or _annotation_text(args[0], anchors)
    if origin is Literal:
        values = [f"`{json.dumps(a) if a == '' else a}`" for a in args]
        return values[0] if len(values) == 1 else "one of " + ", ".join(values)
    if origin in (Union, types.UnionType):
        members = [a for a in args if a is not type(None)]
        models = _models_in(annotation)
        if len(members) > 1 and models:
            return "one of " + ", ".join(f"[{_tag_of(m)}](#{anchors[id(m)]})" for m in models)
        return _join_or([_annotation_text(a, anchors) for a in members])
    if origin is list:
        return f"list of {_plural(_annotation_text(args[0], anchors))}"
    if origin is dict:
        key, value = (_annotation_text(a, anchors) for a in args)
        return "mapping, passed through" if value == "any" else f"map of {key} to {value}"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return f"[mapping](#{anchors[id(annotation)]})"
    names = {bool: "boolean", int: "integer", str: "string", SecretStr: "string (secret)"}
    return names.get(annotation, "any")


def _named(metadata: Any) -> str:
    """The name of a constrained string type from :mod:`meshauth.config.fieldtypes`, found by its check."""
    for meta in metadata:
        name = _validator_names().get(id(getattr(meta, "func", None)))
        if name:
            return name
    return ""


@lru_cache(maxsize=1)
def _validator_names() -> dict[int, str]:
    names = {}
    for attribute, text in _TYPE_NAMES.items():
        for meta in typing.get_args(getattr(fieldtypes, attribute, None))[1:]:
            if type(meta).__name__ == "AfterValidator":
                names[id(meta.func)] = text
    return names


def _plural(text: str) -> str:
    if text.startswith("[mapping]"):
        return text.replace("[mapping]", "[mappings]", 1)
    if text.startswith(("list", "map", "one of", "`", "version", "duration", "path")):
        return text
    return text + ("es" if text.endswith("s") else "s")


def _join_or(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " or " + parts[-1]


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found: list[type[BaseModel]] = []
    for arg in typing.get_args(annotation):
        found += [m for m in _models_in(arg) if m not in found]
    return found


def _is_list_of_models(annotation: Any) -> bool:
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (Union, types.UnionType):
        return any(_is_list_of_models(a) for a in args)
    return origin is list and bool(_models_in(args[0]))


def _tag_of(model: type[BaseModel]) -> str:
    """``source: inline`` for a member of a discriminated union (its Literal-typed tag field)."""
    for name in ("source", "type"):
        info = model.model_fields.get(name)
        if info is not None and typing.get_origin(info.annotation) is Literal:
            return f"{name}: {typing.get_args(info.annotation)[0]}"
    return model.__name__


def main() -> int:
    sys.stdout.write(reference_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
