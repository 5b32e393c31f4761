"""Colour for people at a terminal, and plain text for everything else.

Severity words are coloured only when the stream is a terminal, ``NO_COLOR`` is unset or empty
(https://no-color.org) and ``TERM`` is not ``dumb``. Pipes, files and CI logs get plain text, the
same bytes as ``str(finding)``.
"""

from __future__ import annotations

import os
from typing import Any, TextIO

_CODES = {"error": "1;31", "warning": "33"}


def use_colour(stream: TextIO) -> bool:
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def severity(word: str, stream: TextIO) -> str:
    code = _CODES.get(word)
    return f"\033[{code}m{word}\033[0m" if code and use_colour(stream) else word


def finding_line(finding: Any, stream: TextIO) -> str:
    """``str(finding)`` with its severity coloured when ``stream`` is a terminal."""
    text = str(finding)
    marker = f"{finding.severity} {finding.rule}: "
    if not use_colour(stream) or marker not in text:
        return text
    return text.replace(marker, f"{severity(finding.severity, stream)} {finding.rule}: ", 1)
