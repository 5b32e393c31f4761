"""Writing a file the user will own and edit (``init``, ``import``): never over an existing file
unless asked, and never half-written (a temporary file beside it, then ``os.replace``)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from meshauth.errors import OutputError, Problem


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
    temporary = None
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(text)
        os.chmod(temporary, mode)
        os.replace(temporary, target)
    except OSError as error:
        if temporary and os.path.exists(temporary):
            os.unlink(temporary)
        raise OutputError(Problem(f"cannot be written ({error.strerror})", str(target))) from None
    return target


def _umask() -> int:
    current = os.umask(0o022)
    os.umask(current)
    return current
