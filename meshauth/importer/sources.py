"""What ``meshauth import`` reads: each object with the place it came from (``file:line``).

A :class:`Source` is one object read; :class:`Inputs` is everything read from the files given (see
:mod:`meshauth.importer.inputfiles`), with the shell variables resolved and what could not be read.
YAML text becomes sources here, through the manifests reader of :mod:`meshauth.files.manifests`:

* ``kind: List`` is unpacked;
* a document with a top-level ``meshConfig`` and no ``kind`` is read as istiod Helm values;
* a patch of Istio's mesh ConfigMap (``data.mesh`` alone) is read as that ConfigMap.

Secret values read here stay inside the returned objects; nothing in this module prints them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from meshauth.files.manifests import is_object
from meshauth.files.yamlread import yaml_documents
from meshauth.findings import Finding

ISTIOD_VALUES = "IstiodValues"  # pseudo kind for istiod chart values (no apiVersion/kind of their own)
_VAR = re.compile(r"\$(?:\{(\w+)(?::?-([^}]*))?\}|(\w+))")


@dataclass(frozen=True, eq=False)
class Source:
    """One object read, and where it came from (two sources are equal only if they are the same)."""

    obj: dict[str, Any]
    origin: str  # "file:line"


@dataclass
class Inputs:
    """Everything read from the files given to ``meshauth import``."""

    sources: list[Source] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)  # resolved shell variables
    findings: list[Finding] = field(default_factory=list)


def expand(text: str, variables: Mapping[str, str]) -> str:
    """``$VAR``, ``${VAR}`` and ``${VAR:-default}`` replaced; unknown variables are left as they are."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(3)
        if name in variables:
            return variables[name]
        return match.group(2) if match.group(2) is not None else match.group(0)

    return _VAR.sub(replace, text)


def unresolved(text: str) -> list[str]:
    """Names of shell variables still in ``text`` (``$VAR``, ``${VAR}``), and ``$(...)`` as ``$(``."""
    names = [m.group(1) or m.group(3) for m in _VAR.finditer(text)]
    return names + (["$("] if "$(" in text or "`" in text else [])


def read_yaml(file: str, text: str, first_line: int, result: Inputs) -> None:
    """The objects in YAML ``text`` (from ``file``, starting at ``first_line``) added to ``result``."""
    try:
        documents = list(yaml_documents(text))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = first_line + (mark.line if mark else 0)
        result.findings.append(
            warning_at(
                f"{file}:{line}",
                f"not valid YAML ({getattr(error, 'problem', error)}); nothing read from it",
            )
        )
        return
    for line, data in documents:
        _add_document(data, f"{file}:{first_line + line}", result)


def _add_document(data: Any, origin: str, result: Inputs) -> None:
    if isinstance(data, dict) and data.get("kind") == "List" and isinstance(data.get("items"), list):
        for item in data["items"]:
            _add_document(item, origin, result)
    elif isinstance(data, dict) and is_object(data):
        result.sources.append(Source(data, origin))
    elif isinstance(data, dict) and "meshConfig" in data:
        result.sources.append(Source(istiod_values(data), origin))
    elif isinstance(data, dict) and isinstance(data.get("data"), dict) and "mesh" in data["data"]:
        # a patch of Istio's mesh ConfigMap (kubectl patch configmap istio --patch ...)
        metadata = {"name": "istio", "namespace": "istio-system"}
        result.sources.append(
            Source(
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": metadata,
                    "data": data["data"],
                },
                origin,
            )
        )
    elif data is not None:
        result.findings.append(
            warning_at(origin, "not a Kubernetes object (no apiVersion and kind); not read")
        )


def istiod_values(values: dict[str, Any]) -> dict[str, Any]:
    """istiod chart values, wrapped as a pseudo object so that they can be listed and compared."""
    return {
        "apiVersion": "helm.sh/values",
        "kind": ISTIOD_VALUES,
        "metadata": {"name": "istiod"},
        "values": values,
    }


def warning_at(origin: str, message: str) -> Finding:
    """A finding about something read at ``origin`` (``file:line``) and not carried over."""
    return Finding("import", "warning", message, file=origin)
