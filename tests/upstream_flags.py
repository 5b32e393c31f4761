"""Test support: oauth2-proxy's own flag list (``../shared/ref/oauth2-proxy/flags.json``, extracted
from the Go source at every tag), to check what meshauth puts on oauth2-proxy's command line.

:func:`proxy_problems` returns, for a rendered bundle, every ``--flag`` that the chosen release does
not define according to upstream (``since`` after the release, or removed by then) and every
``OAUTH2_PROXY_*`` variable that no flag binds. Skips (through ``require_ref``) without the data.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

from upstream import require_ref

_TAG = re.compile(r"v(\d+)\.(\d+)(?:\.(\d+))?")


def _version(tag: str) -> tuple[int, int, int]:
    match = _TAG.fullmatch(tag)
    assert match, tag
    return int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)


@functools.lru_cache(maxsize=1)
def _flags(path: Path) -> tuple[dict[str, Any], ...]:
    return tuple(json.loads(path.read_text(encoding="utf-8")))


def upstream_flags(version: str) -> set[str]:
    """Names of the flags oauth2-proxy ``version`` defines, per upstream's flags.json."""
    wanted = _version(version)
    return {
        f["name"]
        for f in _flags(require_ref() / "oauth2-proxy" / "flags.json")
        if _version(f["since"]) <= wanted and (f["removed"] is None or wanted < _version(f["removed"]))
    }


def upstream_env_vars() -> set[str]:
    return {v for f in _flags(require_ref() / "oauth2-proxy" / "flags.json") for v in f["env_vars"] or ()}


def proxy_container(bundle: Any) -> dict[str, Any]:
    deployment = next(
        o for o in bundle.objects if o["kind"] == "Deployment" and o["metadata"]["name"] == "oauth2-proxy"
    )
    return deployment["spec"]["template"]["spec"]["containers"][0]


def proxy_problems(bundle: Any, version: str) -> list[str]:
    container = proxy_container(bundle)
    defined = upstream_flags(version)
    problems = [
        f"{arg} is not a flag of oauth2-proxy {version}"
        for arg in container["args"]
        if arg.split("=", 1)[0].removeprefix("--") not in defined
    ]
    known = upstream_env_vars()
    problems += [
        f"{e['name']} is bound by no oauth2-proxy flag"
        for e in container.get("env", [])
        if e["name"] not in known
    ]
    return problems
