"""Test support: oauth2-proxy's own flag list, to check what meshauth puts on oauth2-proxy's command
line.

The data is ``oauth2-proxy/flags-by-version.json`` of the fetched reference (tools/upstream_data.py:
every flag each served v7 release defines in its Go source, with the env vars bound to it), or the
shared folder's ``flags.json`` (extracted from the Go source at every tag) when only that is there.

:func:`proxy_problems` returns, for a rendered bundle, every ``--flag`` that the chosen release does
not define according to upstream and every ``OAUTH2_PROXY_*`` variable that no flag binds. Skips
(through ``require_ref``) without the data.
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


@functools.lru_cache(maxsize=4)
def _read(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def flags_by_version() -> dict[str, dict[str, list[str]]] | None:
    """``{release: {flag: [env vars]}}`` for every release the Go module proxy serves, or ``None``
    when the reference has only the shared flags.json."""
    path = require_ref() / "oauth2-proxy" / "flags-by-version.json"
    return _read(path) if path.is_file() else None


def upstream_flags(version: str) -> set[str]:
    """Names of the flags oauth2-proxy ``version`` defines, per upstream's source.

    From the per-release data: that release's flags; for a release the proxy does not serve, those
    of the next served one (no v7 flag was ever removed, so it defines a superset: a flag no release
    has is still caught)."""
    wanted = _version(version)
    by_version = flags_by_version()
    if by_version is not None:
        served = sorted(by_version, key=_version)
        later = [v for v in served if _version(v) >= wanted]
        return set(by_version[later[0] if later else served[-1]])
    return {
        f["name"]
        for f in _read(require_ref() / "oauth2-proxy" / "flags.json")
        if _version(f["since"]) <= wanted and (f["removed"] is None or wanted < _version(f["removed"]))
    }


def upstream_env_vars() -> set[str]:
    by_version = flags_by_version()
    if by_version is not None:
        return {e for flags in by_version.values() for envs in flags.values() for e in envs}
    return {v for f in _read(require_ref() / "oauth2-proxy" / "flags.json") for v in f["env_vars"] or ()}


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
