"""Is a written tree still what the config renders? A unified diff of every difference.

Compared: every file meshauth would write (and its ownership record ``.meshauth-files``), and every
file that the record on disk lists but meshauth no longer renders (stale). Files that are neither are
someone else's and are not looked at. Only regular files inside the folder are read: a symbolic link
is reported, never followed (a committed link to ``/proc/self/environ`` must not end up in a CI log). The diff's file names are relative to the repository root
(``a/<path>``, ``b/<path>``), so ``git apply`` or ``patch -p1`` run there turns the repository into
what the config renders.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from meshauth.errors import OutputError, Problem
from meshauth.files.tree import RECORD, kind, read_record, read_regular, record_text, refuse_links

State = Literal["changed", "missing", "stale", "foreign", "link"]

_EXPLAIN = {
    "changed": "differs from what the config renders (edited by hand, or rendered from another config)",
    "missing": "is rendered but not in the repository",
    "stale": "was written by meshauth but is no longer rendered",
    "foreign": "differs, and is not in .meshauth-files (meshauth will not overwrite it)",
    "link": "is a symbolic link or another special file where meshauth writes a regular file "
    "(not followed, not read)",
}


@dataclass(frozen=True)
class FileDrift:
    path: str  # relative to the repository root
    state: State
    diff: str

    def __str__(self) -> str:
        return f"{self.path}: {_EXPLAIN[self.state]}"


@dataclass(frozen=True)
class Drift:
    root: Path  # the checked folder
    files: tuple[FileDrift, ...]
    checked: int  # files compared

    @property
    def clean(self) -> bool:
        return not self.files

    def diff(self) -> str:
        """One unified diff: from the repository (a/) to what the config renders (b/)."""
        return "".join(f.diff for f in self.files)


def check_tree(root: Path, files: Mapping[str, str], prefix: str = "") -> Drift:
    """Compare the tree meshauth would write to ``root`` with what is there.

    ``prefix`` is the folder of ``root`` inside the repository, used in the diff's file names.
    """
    if root.exists() and not root.is_dir():
        raise OutputError(Problem("exists and is not a directory", file=str(root)))
    expected = {**files, RECORD: record_text(files)}
    recorded = read_record(root)
    refuse_links(root, expected)
    found = []
    for path in sorted(expected):
        state = _compare(root / path, expected[path], owned=path in recorded or path == RECORD)
        if state == "link":
            found.append(FileDrift(path=_shown(prefix, path), state="link", diff=""))
        elif state:
            found.append(_drift(prefix, path, state, _read(root / path), expected[path]))
    for path in sorted(recorded - set(expected)):
        if kind(root / path) in ("link", "other"):
            found.append(FileDrift(path=_shown(prefix, path), state="link", diff=""))
            continue
        current = _read(root / path)
        if current is not None:
            found.append(_drift(prefix, path, "stale", current, None))
    return Drift(root=root, files=tuple(found), checked=len(expected))


def _compare(path: Path, text: str, owned: bool) -> State | None:
    if kind(path) in ("link", "other"):
        return "link"
    current = _read(path)
    if current is None:
        return "missing"
    if current == text:
        return None
    return "changed" if owned else "foreign"


def _read(path: Path) -> str | None:
    data = read_regular(path)
    return None if data is None else data.decode("utf-8", errors="replace")


def _shown(prefix: str, path: str) -> str:
    return f"{prefix}/{path}" if prefix else path


def _drift(prefix: str, path: str, state: State, old: str | None, new: str | None) -> FileDrift:
    shown = _shown(prefix, path)
    lines = difflib.unified_diff(
        _lines(old),
        _lines(new),
        fromfile=f"a/{shown}" if old is not None else "/dev/null",
        tofile=f"b/{shown}" if new is not None else "/dev/null",
    )
    return FileDrift(path=shown, state=state, diff="".join(lines))


def _lines(text: str | None) -> list[str]:
    if not text:
        return []
    lines = text.splitlines(keepends=True)
    if not lines[-1].endswith("\n"):
        lines[-1] += "\n\\ No newline at end of file\n"
    return lines
