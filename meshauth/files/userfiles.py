"""Writing a file the user will own and edit (``init``, ``import``): never over an existing file
unless asked, and never half-written (staged beside it, then moved into place; see
:mod:`meshauth.files.atomicwrite`)."""

from __future__ import annotations

import os
from pathlib import Path

from meshauth.errors import OutputError, Problem
from meshauth.files.atomicwrite import move_into_place, staging_folder


def write_new_file(path: str | os.PathLike[str], text: str, *, force: bool = False) -> Path:
    """Write ``text`` to ``path``; OutputError if it exists (unless ``force``) or cannot be written."""
    target = Path(path)
    if target.is_dir():
        raise OutputError(Problem("is a directory; give a file name such as meshauth.yaml", str(target)))
    if target.exists() and not force:
        raise OutputError(
            Problem("exists; pass --force to overwrite it, or choose another file with -o", str(target))
        )
    if not target.parent.is_dir():
        raise OutputError(Problem("its directory does not exist; create it first", str(target)))
    mode = target.stat().st_mode & 0o777 if target.exists() else 0o666 & ~_umask()
    try:
        with staging_folder(target.parent, prefix=f".{target.name}.") as stage:
            (stage / target.name).write_bytes(text.encode("utf-8"))
            os.chmod(stage / target.name, mode)
            move_into_place(stage, target.parent, [target.name])
    except OSError as error:
        raise OutputError(Problem(f"cannot be written ({error.strerror})", str(target))) from None
    return target


def _umask() -> int:
    current = os.umask(0o022)
    os.umask(current)
    return current
