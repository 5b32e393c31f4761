"""The files given to ``meshauth import``: YAML (and JSON) files, folders of them, shell scripts, stdin.

Every object in them is read with the place it came from (``file:line``); a shell script (``.sh``,
``.bash`` or ``#!``) is read by :mod:`meshauth.importer.shellscripts`, anything else as YAML with the
caller's variables expanded (envsubst-style templates).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from meshauth.errors import ConfigError, Problem
from meshauth.importer.shellscripts import read_shell
from meshauth.importer.sources import Inputs, expand, read_yaml

SHELL_SUFFIXES = (".sh", ".bash")
YAML_SUFFIXES = (".yaml", ".yml", ".json")


def read_manifests(paths: Iterable[str], variables: Mapping[str, str] | None = None) -> Inputs:
    """Every object in ``paths`` (files, folders, or ``-`` for stdin), with what could not be read."""
    result = Inputs(variables=dict(variables or {}))
    for path in paths:
        for file, text in _texts(path):
            if _is_shell(file, text):
                read_shell(file, text, result, given=dict(variables or {}))
            else:  # envsubst-style templates: only the caller's variables are known
                read_yaml(file, expand(text, variables or {}), 1, result)
    return result


def _texts(path: str) -> Iterator[tuple[str, str]]:
    if path == "-":
        yield "<stdin>", sys.stdin.read()
        return
    root = Path(path)
    if root.is_dir():
        files = sorted(
            p for p in root.rglob("*") if p.is_file() and p.suffix in YAML_SUFFIXES + SHELL_SUFFIXES
        )
        if not files:
            raise ConfigError(Problem("holds no .yaml, .yml, .json or .sh files", file=path))
    elif root.is_file():
        files = [root]
    else:
        raise ConfigError(Problem("no such file or directory", file=path))
    for file in files:
        try:
            yield str(file), file.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise ConfigError(Problem("is not UTF-8 text", file=str(file))) from None
        except OSError as error:
            raise ConfigError(Problem(f"cannot be read ({error.strerror})", file=str(file))) from None


def _is_shell(file: str, text: str) -> bool:
    return file.endswith(SHELL_SUFFIXES) or text.startswith("#!")
