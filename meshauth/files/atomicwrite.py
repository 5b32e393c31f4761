"""Writing files so that a reader never sees half of them: the one way meshauth puts files in place.

Files are first written to a private staging folder on the same file system as their destination
(beside it, never inside an output folder), then put in place: a whole folder by swapping it with
the staged one (:func:`swap_folders`), a single file with ``os.replace``. The staging folder is
removed whatever happens; one left by a killed run is recognised by its name and removed by the next
(:func:`leftovers`). :mod:`meshauth.files.tree` writes a whole output tree this way and
:mod:`meshauth.files.userfiles` a single file the user owns.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import sys
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None  # type: ignore[assignment]

NEW = ".meshauth-new."  # a staged folder: .<name>.meshauth-new.<random>, beside <name>
OLD = ".meshauth-old."  # the previous folder between two renames (where renames cannot swap)
_RENAME_EXCHANGE = 2  # <linux/fs.h>
_AT_FDCWD = -100


@contextmanager
def staging_folder(directory: Path, prefix: str) -> Iterator[Path]:
    """A new private folder in ``directory`` to write into; removed on leaving, whatever happens."""
    stage = Path(tempfile.mkdtemp(prefix=prefix, dir=directory))
    try:
        yield stage
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def move_into_place(stage: Path, root: Path, paths: Iterable[str]) -> None:
    """Each staged file moved to the same path under ``root``, one by one, in the order given."""
    for path in paths:
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        os.replace(stage / path, root / path)


@contextmanager
def locked(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``folder`` itself (``flock``; no lock file is created), so that two
    meshauth runs writing into it one after the other, never at once. The kernel releases it when
    the process ends, however it ends."""
    if fcntl is None:  # pragma: no cover - not POSIX
        yield
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def swap_folders(stage: Path, root: Path) -> None:
    """Put the complete folder ``stage`` at ``root``; the previous ``root`` ends up at ``stage``.

    On Linux one ``renameat2(RENAME_EXCHANGE)``: a reader sees the old folder or the new one, never
    neither. Elsewhere two renames through ``.<name>.meshauth-old.*``: a run killed between them
    leaves the old folder there, complete, and the next run puts it back (:func:`leftovers`)."""
    if _exchange(stage, root):
        return
    aside = stage.with_name(f".{root.name}{OLD}{stage.name.rsplit('.', 1)[-1]}")
    os.rename(root, aside)
    os.rename(stage, root)
    os.rename(aside, stage)


def leftovers(root: Path) -> None:
    """Clean what a killed run may have left: staged folders beside ``root`` are removed, and a
    previous folder moved aside is put back if ``root`` is missing (else removed). Call it holding
    :func:`locked` on ``root.parent``."""
    if not root.parent.is_dir():
        return
    for entry in sorted(root.parent.iterdir()):
        if entry.name.startswith(f".{root.name}{OLD}") and not entry.is_symlink():
            if not os.path.lexists(root):
                os.rename(entry, root)
            else:
                shutil.rmtree(entry, ignore_errors=True)
    for entry in root.parent.iterdir():
        if entry.name.startswith(f".{root.name}{NEW}") and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)


def _exchange(a: Path, b: Path) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):  # a libc older than glibc 2.28
        return False
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    error = ctypes.get_errno()
    if error in (22, 38, 95):  # EINVAL, ENOSYS, EOPNOTSUPP: the file system cannot swap
        return False
    raise OSError(error, os.strerror(error), str(b))
