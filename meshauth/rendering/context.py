"""One object to render: a template and the values it lays out (shared by the plan and its modes)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Planned:
    template: str
    values: dict[str, Any]
