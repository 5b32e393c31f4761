"""Where the shipped data (templates, schemas) is, in a wheel and in a source checkout.

The repository keeps ``templates/`` and ``schemas/`` at its top level; the wheel ships them inside the
package as ``meshauth/_data/<name>`` (see pyproject.toml). An editable install or a plain checkout
reads them from the repository.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent.parent  # meshauth/


@cache
def data_dir(name: str) -> Path:
    for candidate in (_PACKAGE / "_data" / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"meshauth is installed without its {name}/ folder")
