"""Writing files so that a reader never sees half of them: the one way meshauth puts files in place.

Files are first written to a private staging folder on the same file system as their destination,
then moved into place with ``os.replace`` (atomic for each file); the staging folder is removed
whatever happens. :mod:`meshauth.files.tree` writes a whole output tree this way and
:mod:`meshauth.files.userfiles` a single file the user owns.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path


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
