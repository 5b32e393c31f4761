"""Where a finding points, so that every line the command line prints reads
``file: path: severity RULE: message``.

Findings about a config (and about what it renders) come without a file: rendering and validation
do not know which file a value came from. Here they get the config file, or the overlay that sets
the field (the last one wins, as in the merge). A finding a rule makes about a rendered object that
stems from one config field points at that field instead (:data:`CONFIG_FIELDS`): the user edits the
config, not the Deployment.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Sequence
from typing import Any

from meshauth.findings import Finding

# rule -> the config field a rendered-object finding of that rule always stems from. Only rules
# whose finding cannot come from anything else belong here (each flag they read is one meshauth
# manages: extraArgs cannot set it).
CONFIG_FIELDS = {
    "MA018": "spec.oauth2Proxy.cookie.refresh",  # --cookie-refresh of the oauth2-proxy Deployment
}


def config_findings(findings: Iterable[Finding], config: str, overlays: Sequence[str] = ()) -> list[Finding]:
    """``findings`` of ``config`` with ``overlays`` merged onto it, each naming its file (and field)."""
    located = [_config_field(f) for f in findings]
    if all(f.file for f in located):
        return located
    origin = _Origin([config, *overlays])
    return [f if f.file else dataclasses.replace(f, file=origin.file(f)) for f in located]


def manifest_findings(findings: Iterable[Finding], subject: str) -> list[Finding]:
    """Findings of ``validate --manifests``: those about no one object name the paths given."""
    return [f if f.file else dataclasses.replace(f, file=subject) for f in findings]


def unique(findings: Iterable[Finding]) -> list[Finding]:
    """Each finding once, in order (every environment of a GitOps tree repeats the base config's)."""
    return list(dict.fromkeys(findings))


def _config_field(finding: Finding) -> Finding:
    field = CONFIG_FIELDS.get(finding.rule)
    if field is None or finding.file or not finding.object:
        return finding
    return dataclasses.replace(finding, object="", path=field)


class _Origin:
    """The file that sets a field: the last of config and overlays that has it, else the config."""

    def __init__(self, files: Sequence[str]) -> None:
        self.files = list(files)
        self._data: dict[str, Any] = {}

    def file(self, finding: Finding) -> str:
        if finding.object or len(self.files) == 1:  # a rendered object's field: the config made it
            return self.files[0]
        keys = _keys(finding.path)
        if not keys:
            return self.files[0]
        from meshauth.config.load import origin

        return origin(keys, [(file, self._read(file)) for file in self.files])

    def _read(self, file: str) -> Any:
        if file not in self._data:
            from meshauth.errors import MeshAuthError
            from meshauth.files.yamlread import read_yaml_documents

            try:  # read once already, by load_config: this cannot fail but for a file changed since
                documents = read_yaml_documents(file)
            except MeshAuthError:
                documents = []
            self._data[file] = documents[0] if len(documents) == 1 else None
        return self._data[file]


_PART = re.compile(r"\.?([^.\[\]]+)|\[(\d+)\]|\['((?:[^'\\]|\\.)*)'\]")


def _keys(path: str) -> list[str | int] | None:
    """``spec.apps[0].host`` -> ``["spec", "apps", 0, "host"]``; None for what is not a field path."""
    keys: list[str | int] = []
    position = 0
    while position < len(path):
        match = _PART.match(path, position)
        if match is None or match.end() == position:
            return None
        name, index, quoted = match.groups()
        keys.append(int(index) if index is not None else (name if name is not None else quoted))
        position = match.end()
    return keys
