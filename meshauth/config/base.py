"""What every config model shares: the strict base model, cross-field errors and small helpers.

The section modules (:mod:`meshauth.config.platform`, :mod:`meshauth.config.identity`, ...) build
on these; :mod:`meshauth.config.model` puts the sections together into the whole file.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Discriminator
from pydantic.alias_generators import to_camel

from meshauth.config.fieldtypes import LabelKey, LabelValue

Labels = dict[LabelKey, LabelValue]


class At(ValueError):
    """A cross-field problem that belongs to a field below the validated model (``path``)."""

    def __init__(self, path: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.path = path


class Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        alias_generator=to_camel,
        validate_default=True,
        strict=True,  # YAML already types values: "80" is not a port, yes is not true
        hide_input_in_errors=True,  # a ValidationError must never carry a (secret) input value
    )


def discriminator(field: str, default: str) -> Discriminator:
    """A discriminator that reads ``field`` and falls back to the documented default source/type."""

    def pick(value: Any) -> Any:
        if isinstance(value, dict):
            return value.get(field, default)
        return getattr(value, field, default)

    pick.__name__ = field  # pydantic names the discriminator in errors after the function
    return Discriminator(pick)


def unique(located: Sequence[tuple[tuple[str | int, ...], str]], message: str) -> None:
    """Raise :class:`At` at the second place a value occurs; ``message`` formats the value."""
    seen: set[str] = set()
    for path, value in located:
        if value in seen:
            raise At(path, message.format(value))
        seen.add(value)


def image_without_tag(value: str) -> str:
    """Check an image name that must carry no tag or digest (the version field is the tag)."""
    if "@" in value or ":" in value.rsplit("/", 1)[-1] or not value or " " in value:
        raise ValueError("must be an image name without tag or digest; the tag is `version`")
    return value
