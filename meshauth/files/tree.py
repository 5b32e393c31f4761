"""Writing a file tree safely: all or nothing, only changed files, never another tool's files.

A small ownership record (``.meshauth-files``) lists what meshauth wrote. A later write rewrites only
files whose bytes change, removes only files in the record that are no longer rendered, and refuses
to overwrite a file that is not in the record. Everything is first written to a staging folder on the
same file system and then moved into place with ``os.replace``, so an error leaves the previous
contents as they were.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from meshauth.errors import OutputError, Problem
from meshauth.files.atomicwrite import move_into_place, staging_folder

RECORD = ".meshauth-files"
_RECORD_HEADER = "# Files written by meshauth. It rewrites or removes only the files listed here.\n"


@dataclass(frozen=True)
class WriteReport:
    directory: Path
    written: tuple[str, ...]
    unchanged: tuple[str, ...]
    removed: tuple[str, ...]


def write_tree(directory: str | os.PathLike[str], files: Mapping[str, str]) -> WriteReport:
    root = Path(directory)
    _check_names(files)
    if root.exists() and not root.is_dir():
        raise OutputError(Problem("exists and is not a directory", file=str(root)))
    previous = read_record(root)
    contents = {path: text.encode("utf-8") for path, text in files.items()}
    _refuse_foreign(root, contents, previous)
    contents[RECORD] = record_text(files).encode("utf-8")
    changed = {p: data for p, data in contents.items() if not _same(root / p, data)}
    stale = sorted(p for p in previous - set(files) if (root / p).is_file())
    try:
        if root.exists():
            _replace_into(root, changed)
        else:
            _create(root, contents)
        for path in stale:
            (root / path).unlink()
            _remove_empty_parents(root, path)
    except OSError as error:
        raise OutputError(Problem(f"cannot be written ({error.strerror})", file=str(root))) from None
    return WriteReport(
        directory=root,
        written=tuple(sorted(p for p in changed if p != RECORD)),
        unchanged=tuple(sorted(p for p in files if p not in changed)),
        removed=tuple(stale),
    )


def record_text(paths: Iterable[str]) -> str:
    """The ownership record for a tree of ``paths`` (what ``write_tree`` writes as RECORD)."""
    return _RECORD_HEADER + "".join(f"{p}\n" for p in sorted(paths))


def read_record(root: Path) -> set[str]:
    try:
        text = (root / RECORD).read_text(encoding="utf-8")
    except (FileNotFoundError, NotADirectoryError):
        return set()
    except OSError as error:
        raise OutputError(Problem(f"cannot be read ({error.strerror})", file=str(root / RECORD))) from error
    return {line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")}


def _check_names(files: Mapping[str, str]) -> None:
    for name in files:
        path = PurePosixPath(name)
        if path.is_absolute() or ".." in path.parts or name == RECORD:
            raise AssertionError(f"meshauth bug: unsafe output path {name!r}")


def _refuse_foreign(root: Path, contents: Mapping[str, bytes], previous: set[str]) -> None:
    foreign = [
        p
        for p, data in contents.items()
        if p not in previous and (root / p).exists() and not _same(root / p, data)
    ]
    if foreign:
        raise OutputError(
            Problem(
                "was not written by meshauth (not in .meshauth-files); refusing to overwrite it. "
                "Move it away or choose another output directory",
                file=str(root / p),
            )
            for p in sorted(foreign)
        )


def _same(path: Path, data: bytes) -> bool:
    try:
        return path.is_file() and path.stat().st_size == len(data) and path.read_bytes() == data
    except OSError:
        return False


def _create(root: Path, contents: Mapping[str, bytes]) -> None:
    """A new directory appears whole: staged beside it, then renamed into place."""
    root.parent.mkdir(parents=True, exist_ok=True)
    with staging_folder(root.parent, prefix=f".{root.name}.") as stage:
        _write_all(stage, contents)
        os.rename(stage, root)


def _replace_into(root: Path, changed: Mapping[str, bytes]) -> None:
    """Stage every changed file inside ``root`` (same file system), then move each into place."""
    if not changed:
        return
    with staging_folder(root, prefix=".meshauth-staging.") as stage:
        _write_all(stage, changed)
        # The record goes last: until then an interrupted run still knows the old files.
        move_into_place(stage, root, sorted(changed, key=lambda p: p == RECORD))


def _write_all(base: Path, contents: Mapping[str, bytes]) -> None:
    for path, data in contents.items():
        target = base / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def _remove_empty_parents(root: Path, path: str) -> None:
    parent = (root / path).parent
    while parent != root and parent.is_dir() and not any(parent.iterdir()):
        parent.rmdir()
        parent = parent.parent
