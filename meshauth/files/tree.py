"""Writing a file tree safely: all or nothing, only changed files, never another tool's files.

A small ownership record (``.meshauth-files``) lists what meshauth wrote. A later write rewrites only
files whose bytes change, removes only files in the record that are no longer rendered, and refuses
to overwrite a file that is not in the record. The new tree is staged beside the folder and swapped
with it (:mod:`meshauth.files.atomicwrite`), so a reader, an error or a kill sees the old tree or the
new one; a folder that cannot be swapped (a Git checkout's top, the working folder, a mount point)
is updated file by file, the record last. Runs into one folder take turns (``locked``).

The record is committed with the output, so it is input like any other: every entry must be a
normalised relative path inside the folder, not through a symbolic link, or nothing is read or
removed (:func:`read_record`). A symbolic link is never followed out of the folder: meshauth reads
only regular files (:func:`read_regular`) and removes only the link itself.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal

from meshauth.errors import OutputError, Problem
from meshauth.files.atomicwrite import NEW, leftovers, locked, move_into_place, staging_folder, swap_folders

RECORD = ".meshauth-files"
_OLD_STAGING = ".meshauth-staging."  # inside the output: only where it is a mount point
_SHOWN = 10  # record lines named in an error; the rest are counted
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
    if os.path.lexists(root) and not root.is_dir():
        raise OutputError(Problem("exists and is not a directory", file=str(root)))
    try:
        absolute = Path(os.path.abspath(root))  # "." has no name, and its parent is itself
        absolute.parent.mkdir(parents=True, exist_ok=True)
        with locked(absolute.parent):
            return dataclasses.replace(_write_locked(absolute, files), directory=root)
    except OSError as error:
        raise OutputError(Problem(f"cannot be written ({error.strerror})", file=str(root))) from None


def _write_locked(root: Path, files: Mapping[str, str]) -> WriteReport:
    leftovers(root)
    _remove_old_staging(root)
    previous = read_record(root)
    refuse_links(root, files)
    contents = {path: text.encode("utf-8") for path, text in files.items()}
    _refuse_foreign(root, contents, previous)
    contents[RECORD] = record_text(files).encode("utf-8")
    changed = {p: data for p, data in contents.items() if not _same(root / p, data)}
    stale = sorted(p for p in previous - set(files) if kind(root / p) in ("file", "link"))
    if not root.exists():
        _create(root, contents)
    elif changed and not (_swappable(root) and _swap(root, changed, stale)):
        _replace_into(root, changed, stale)
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
    """The paths the record in ``root`` lists; OutputError naming each line that is not a normalised
    relative path inside ``root`` (absolute, ``..``, through a symbolic link, ...)."""
    record = root / RECORD
    data = read_regular(record)
    if data is None:
        return set()
    entries, problems = set(), []
    for number, line in enumerate(data.decode("utf-8", errors="replace").splitlines(), start=1):
        entry = line.strip()
        if not entry or line.startswith("#"):
            continue
        reason = _outside(root, entry)
        if reason:
            problems.append(Problem(f"{entry!r} {reason}", file=str(record), path=f"line {number}"))
        entries.add(entry)
    if problems:
        more = f" (and {len(problems) - _SHOWN} more lines)" if len(problems) > _SHOWN else ""
        summary = (
            f"meshauth acts only on files inside the output folder, so nothing was read, written "
            f"or removed; fix or remove these lines{more}"
        )
        raise OutputError([*problems[:_SHOWN], Problem(summary, file=str(record))])
    return entries


def refuse_links(root: Path, paths: Iterable[str]) -> None:
    """OutputError if a folder on the way to one of ``paths`` is a symbolic link (or not a folder)."""
    problems = []
    for path in sorted(paths):
        link = _link_on_the_way(root, path)
        if link:
            problems.append(
                Problem(
                    f"is a symbolic link on the way to {path}; meshauth neither reads nor writes "
                    "through links. Replace it with a folder (or remove it)",
                    file=str(root / link),
                )
            )
    if problems:
        raise OutputError(problems)


Kind = Literal["missing", "file", "link", "other"]


def kind(path: Path) -> Kind:
    """What is at ``path`` itself (a symbolic link is not followed)."""
    try:
        mode = os.lstat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return "missing"
    except OSError as error:
        raise OutputError(Problem(f"cannot be read ({error.strerror})", file=str(path))) from None
    if stat.S_ISLNK(mode):
        return "link"
    return "file" if stat.S_ISREG(mode) else "other"


def read_regular(path: Path) -> bytes | None:
    """The bytes of the regular file at ``path``; None if there is none. A symbolic link is not
    followed, and a FIFO or device is not opened for reading (OutputError)."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as error:
        reason = "is a symbolic link, which meshauth does not follow" if kind(path) == "link" else None
        raise OutputError(Problem(reason or f"cannot be read ({error.strerror})", file=str(path))) from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):  # a folder, a FIFO, a device
        os.close(fd)
        raise OutputError(Problem("is not a regular file; meshauth does not read it", file=str(path)))
    with os.fdopen(fd, "rb") as file:
        return file.read()


def _outside(root: Path, entry: str) -> str | None:
    """Why ``entry`` (a line of the record) does not name a file inside ``root``; None if it does."""
    parts = entry.split("/")
    if PurePosixPath(entry).is_absolute():
        return "is an absolute path"
    if ".." in parts:
        return "leads out of the folder ('..')"
    if "" in parts or "." in parts or "\\" in entry or "\0" in entry:
        return "is not a normalised relative path"
    if entry == RECORD:
        return "is the record itself"
    link = _link_on_the_way(root, entry)
    if link:
        return f"passes through the symbolic link {link}"
    return None


def _link_on_the_way(root: Path, path: str) -> str | None:
    """The first folder of ``path`` (relative to ``root``) that is a symbolic link on disk."""
    parts = path.split("/")[:-1]
    for depth in range(1, len(parts) + 1):
        what = kind(root.joinpath(*parts[:depth]))
        if what == "link":
            return "/".join(parts[:depth])
        if what != "other":  # missing (nothing below exists) or a file (nothing below can)
            return None
    return None


def _check_names(files: Mapping[str, str]) -> None:
    for name in files:
        path = PurePosixPath(name)
        if path.is_absolute() or ".." in path.parts or name == RECORD:
            raise AssertionError(f"meshauth bug: unsafe output path {name!r}")


def _refuse_foreign(root: Path, contents: Mapping[str, bytes], previous: set[str]) -> None:
    foreign = [
        p
        for p, data in contents.items()
        if p not in previous and kind(root / p) != "missing" and not _same(root / p, data)
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
        return kind(path) == "file" and path.stat().st_size == len(data) and read_regular(path) == data
    except (OSError, OutputError):
        return False


def _create(root: Path, contents: Mapping[str, bytes]) -> None:
    """A new directory appears whole: staged beside it, then renamed into place."""
    with staging_folder(root.parent, prefix=f".{root.name}{NEW}") as stage:
        os.chmod(stage, 0o777 & ~_umask())
        _write_all(stage, contents)
        os.rename(stage, root)


def _swappable(root: Path) -> bool:
    """Can ``root`` be replaced by a new folder? Not a link or a mount point, not the working folder
    (``-o .``) and not the top of a Git checkout: a shell or an editor in it would be left in the
    old folder, and a repository is not copied."""
    cwd = Path(os.getcwd())
    return (
        not root.is_symlink()
        and root != cwd
        and root not in cwd.parents
        and not os.path.lexists(root / ".git")
        and os.stat(root).st_dev == os.stat(root.parent).st_dev  # a mount point has its own st_dev
    )


def _swap(root: Path, changed: Mapping[str, bytes], stale: list[str]) -> bool:
    """The whole new folder staged beside ``root``, then swapped with it: everything that stays
    (unchanged files, and files that are not meshauth's) is carried over as a hard link (same
    file, same modification time), changed files are written, stale files left out. False, and
    nothing changed, where the file system has no hard links."""
    dropped = set(changed) | set(stale)
    with staging_folder(root.parent, prefix=f".{root.name}{NEW}") as stage:
        os.chmod(stage, stat.S_IMODE(os.stat(root).st_mode))
        try:
            _carry_over(root, stage, dropped)
        except PermissionError:  # EPERM: no hard links here
            return False
        _write_all(stage, changed)
        for path in stale:
            _remove_empty_parents(stage, path)
        swap_folders(stage, root)
    return True


def _carry_over(root: Path, stage: Path, dropped: set[str]) -> None:
    for folder, subfolders, names in os.walk(root):
        here = Path(folder).relative_to(root)
        for name in subfolders:
            source, target = Path(folder) / name, stage / here / name
            if source.is_symlink():
                os.symlink(os.readlink(source), target)
            else:
                target.mkdir(mode=stat.S_IMODE(os.stat(source).st_mode))
        for name in names:
            if (here / name).as_posix() not in dropped:
                os.link(Path(folder) / name, stage / here / name, follow_symlinks=False)


def _replace_into(root: Path, changed: Mapping[str, bytes], stale: list[str]) -> None:
    """Where the folder cannot be swapped: every changed file staged beside ``root`` (inside it
    only when ``root`` is a mount point), then moved into place one by one, the record last."""
    beside = os.stat(root).st_dev == os.stat(root.parent).st_dev
    base, prefix = (root.parent, f".{root.name}{NEW}") if beside else (root, _OLD_STAGING)
    with staging_folder(base, prefix=prefix) as stage:
        _write_all(stage, changed)
        # The record goes last: until then an interrupted run still knows the old files.
        move_into_place(stage, root, sorted(changed, key=lambda p: p == RECORD))
    for path in stale:
        (root / path).unlink()
        _remove_empty_parents(root, path)


def _remove_old_staging(root: Path) -> None:
    """Staging folders that a killed run left inside the output (meshauth 0.1.0 staged there)."""
    if kind(root) == "other" and root.is_dir():
        for entry in root.iterdir():
            if entry.name.startswith(_OLD_STAGING) and kind(entry) == "other":
                shutil.rmtree(entry, ignore_errors=True)


def _umask() -> int:
    current = os.umask(0o022)
    os.umask(current)
    return current


def _write_all(base: Path, contents: Mapping[str, bytes]) -> None:
    for path, data in contents.items():
        target = base / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def _remove_empty_parents(root: Path, path: str) -> None:
    parent = (root / path).parent
    while parent != root and kind(parent) == "other" and parent.is_dir() and not any(parent.iterdir()):
        parent.rmdir()
        parent = parent.parent
