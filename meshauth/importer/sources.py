"""Reading hand-written manifests: YAML files, folders of them, and shell scripts full of heredocs.

A blog post's setup is usually a shell script: ``export DOMAIN=...`` lines, then
``kubectl apply -f - <<EOF ... EOF`` blocks, plus a few imperative commands. This module reads the
objects out of all of that, with the place each came from (``file:line``):

* YAML documents (``kind: List`` is unpacked); a document with a top-level ``meshConfig`` and no
  ``kind`` is read as istiod Helm values;
* heredocs whose body is YAML, with ``$VAR`` / ``${VAR}`` expanded from the script's own simple
  assignments (and ``variables`` given by the caller) unless the delimiter is quoted;
* ``kubectl create namespace``, ``kubectl label namespace`` and ``kubectl create secret generic``,
  turned into the objects they create;
* every other ``kubectl``/``istioctl``/``helm`` command that changes the cluster is reported, never
  silently skipped.

Secret values read here stay inside the returned objects; nothing in this module prints them.
"""

from __future__ import annotations

import re
import shlex
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from meshauth.errors import ConfigError, Problem
from meshauth.findings import Finding

ISTIOD_VALUES = "IstiodValues"  # pseudo kind for istiod chart values (no apiVersion/kind of their own)
SHELL_SUFFIXES = (".sh", ".bash")
YAML_SUFFIXES = (".yaml", ".yml", ".json")
_VAR = re.compile(r"\$(?:\{(\w+)(?::?-([^}]*))?\}|(\w+))")
_ASSIGN_WORD = re.compile(r"^[A-Za-z_]\w*=")
_HEREDOC = re.compile(r"<<(-?)\s*(['\"]?)([A-Za-z_]\w*)\2")
_READ_ONLY = {
    "get",
    "describe",
    "logs",
    "wait",
    "rollout",
    "port-forward",
    "config",
    "version",
    "explain",
    "top",
    "exec",
    "cluster-info",
    "api-resources",
    "auth",
    "diff",
    "proxy",
}


@dataclass(frozen=True, eq=False)
class Source:
    """One object read, and where it came from (two sources are equal only if they are the same)."""

    obj: dict[str, Any]
    origin: str  # "file:line"


@dataclass
class Manifests:
    sources: list[Source] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)  # resolved shell variables
    findings: list[Finding] = field(default_factory=list)


def read_manifests(paths: Iterable[str], variables: Mapping[str, str] | None = None) -> Manifests:
    """Every object in ``paths`` (files, folders, or ``-`` for stdin), with what could not be read."""
    result = Manifests(variables=dict(variables or {}))
    for path in paths:
        for file, text in _texts(path):
            if _is_shell(file, text):
                _read_shell(file, text, result, given=dict(variables or {}))
            else:  # envsubst-style templates: only the caller's variables are known
                _read_yaml(file, expand(text, variables or {}), 1, result)
    return result


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


# --- files -----------------------------------------------------------------------------------------


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


def _read_yaml(file: str, text: str, first_line: int, result: Manifests) -> None:
    try:
        documents = list(_documents(text))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = first_line + (mark.line if mark else 0)
        result.findings.append(
            _finding(
                f"{file}:{line}",
                f"not valid YAML ({getattr(error, 'problem', error)}); nothing read from it",
            )
        )
        return
    for line, data in documents:
        _add_document(data, f"{file}:{first_line + line}", result)


def _documents(text: str) -> Iterator[tuple[int, Any]]:
    """Every document with the line it starts on (0-based), as ``yaml.safe_load_all`` reads it."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            yield node.start_mark.line, loader.construct_document(node)
    finally:
        loader.dispose()


def _add_document(data: Any, origin: str, result: Manifests) -> None:
    if isinstance(data, dict) and data.get("kind") == "List" and isinstance(data.get("items"), list):
        for item in data["items"]:
            _add_document(item, origin, result)
    elif isinstance(data, dict) and "kind" in data and "apiVersion" in data:
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
        result.findings.append(_finding(origin, "not a Kubernetes object (no apiVersion and kind); not read"))


def istiod_values(values: dict[str, Any]) -> dict[str, Any]:
    """istiod chart values, wrapped as a pseudo object so that they can be listed and compared."""
    return {
        "apiVersion": "helm.sh/values",
        "kind": ISTIOD_VALUES,
        "metadata": {"name": "istiod"},
        "values": values,
    }


# --- shell scripts ---------------------------------------------------------------------------------


def _read_shell(file: str, text: str, result: Manifests, given: Mapping[str, str]) -> None:
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        start = index
        command, index = _logical_line(lines, index)
        heredoc = _HEREDOC.search(command)
        body: str | None = None
        if heredoc:
            body_lines, index = _heredoc_body(lines, index, heredoc.group(3), heredoc.group(1) == "-")
            body = "\n".join(body_lines)
            if not heredoc.group(2):  # unquoted delimiter: the shell expands variables
                body = expand(body, result.variables)
        _shell_command(command, body, f"{file}:{start + 1}", result, given)


def _logical_line(lines: list[str], index: int) -> tuple[str, int]:
    """One command: a line and its backslash continuations, without a trailing comment."""
    parts = []
    while index < len(lines):
        line = lines[index]
        index += 1
        if line.rstrip().endswith("\\"):
            parts.append(line.rstrip()[:-1])
            continue
        parts.append(line)
        break
    return " ".join(p.strip() for p in parts), index


def _heredoc_body(lines: list[str], index: int, delimiter: str, strip_tabs: bool) -> tuple[list[str], int]:
    body = []
    while index < len(lines):
        line = lines[index].lstrip("\t") if strip_tabs else lines[index]
        index += 1
        if line.strip() == delimiter:
            break
        body.append(line)
    return body, index


def _shell_command(
    command: str, body: str | None, origin: str, result: Manifests, given: Mapping[str, str]
) -> None:
    stripped = command.strip()
    if not stripped or stripped.startswith("#"):
        return
    if body is not None:
        before = len(result.sources)
        file, line = origin.rsplit(":", 1)
        _read_yaml(file, body, int(line) + 1, result)
        if len(result.sources) == before and body.strip():
            result.findings.append(_finding(origin, "heredoc holds no Kubernetes object; not read"))
        return
    words = _words(stripped)
    if words[:1] and words[0] in ("export", "declare", "readonly", "local"):
        words = [w for w in words[1:] if not w.startswith("-")]
    if words and all(_ASSIGN_WORD.match(w) for w in words):
        for word in words:
            name, _, value = word.partition("=")
            _assign(name, value, result, given)
        return
    _imperative(stripped, origin, result, given)


def _words(text: str) -> list[str]:
    try:
        return shlex.split(text, comments=True)
    except ValueError:
        return text.split()


def _assign(name: str, value: str, result: Manifests, given: Mapping[str, str]) -> None:
    if name in given:  # the caller's --set wins over the script
        return
    expanded = expand(value, result.variables)
    if unresolved(expanded):
        result.variables.pop(name, None)  # computed at run time ($(...)): unknown here
    else:
        result.variables[name] = expanded


def _imperative(command: str, origin: str, result: Manifests, given: Mapping[str, str]) -> None:
    """Objects that ``kubectl create namespace|secret`` and ``kubectl label namespace`` make."""
    for segment in re.split(r"\s*(?:&&|\|\||;|\|)\s*", command):
        words = [w for w in _words(expand(segment, result.variables)) if w != "sudo"]
        while words and _ASSIGN_WORD.match(words[0]):  # VAR=value command: its environment
            name, _, value = words.pop(0).partition("=")
            if name not in result.variables:
                _assign(name, value, result, given)
        if not words or words[0] not in ("kubectl", "oc", "istioctl", "helm"):
            continue
        tool, rest = words[0], words[1:]
        if tool in ("kubectl", "oc") and _kubectl(rest, origin, result):
            continue
        if tool in ("istioctl", "helm") and _install_settings(tool, rest, origin, result):
            continue
        verb = next(_without_options(rest), "")
        if tool in ("kubectl", "oc") and verb in _READ_ONLY:
            continue
        if tool == "istioctl" and verb in ("install", "manifest") and "-f" in rest and "--set" not in rest:
            continue  # istioctl install -f FILE: FILE was written by a heredoc (read above) or given
        if tool == "istioctl" and verb not in ("install", "manifest", "upgrade"):
            continue  # analyze, proxy-config, x ...: read-only
        shown = f"`{' '.join(words[:6])}{' ...' if len(words) > 6 else ''}`"
        if any(w.startswith(("http://", "https://")) for w in rest):
            why = "meshauth does not fetch remote manifests (installing them stays a prerequisite step)"
        else:
            why = "pass the manifests or values it applies to meshauth import as files"
        result.findings.append(_finding(origin, f"{shown} is not read: {why}"))


def _kubectl(words: list[str], origin: str, result: Manifests) -> bool:
    namespace = _option(words, ("-n", "--namespace")) or "default"
    args = [w for w in _without_options(words)]
    if args[:2] in (["create", "namespace"], ["create", "ns"]) and len(args) >= 3:
        _namespace(args[2], {}, origin, result)
        return True
    if args[:2] in (["label", "namespace"], ["label", "ns"]) and len(args) >= 3:
        labels = dict(w.split("=", 1) for w in args[3:] if "=" in w)
        _namespace(args[2], labels, origin, result)
        return True
    if args[:3] == ["create", "secret", "generic"] and len(args) >= 4:
        data = {}
        for word in words:
            if word.startswith("--from-literal="):
                key, _, value = word.split("=", 1)[1].partition("=")
                data[key] = value
            elif word.startswith("--from-file="):
                key = word.split("=", 1)[1].split("=", 1)[0].rsplit("/", 1)[-1]
                data[key] = None  # the value is in a file meshauth does not read
        secret = {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "Opaque",
            "metadata": {"name": args[3], "namespace": namespace},
            "stringData": data,
        }
        result.sources.append(Source(secret, origin))
        return True
    return False


def _install_settings(tool: str, words: list[str], origin: str, result: Manifests) -> bool:
    """``istioctl install --set ...`` as an IstioOperator, ``helm ... istiod --set ...`` as values."""
    args = list(_without_options(words))
    settings = _set_values(words, split_commas=tool == "helm")
    if not settings:
        return False
    if tool == "istioctl" and args[:1] in (["install"], ["upgrade"], ["manifest"]):
        operator = {
            "apiVersion": "install.istio.io/v1alpha1",
            "kind": "IstioOperator",
            "metadata": {"name": "istioctl-set"},
            "spec": settings,
        }
        result.sources.append(Source(operator, origin))
        return True
    chart = args[2] if len(args) >= 3 and args[0] in ("install", "upgrade") else ""
    if tool == "helm" and chart.rsplit("/", 1)[-1] == "istiod":
        result.sources.append(Source(istiod_values(settings), origin))
        return True
    return False


def _set_values(words: list[str], split_commas: bool) -> dict[str, Any]:
    """The tree that ``--set a.b[0].c=value`` options build (as istioctl and helm read them)."""
    tree: dict[str, Any] = {}
    for index, word in enumerate(words):
        if word == "--set" and index + 1 < len(words):
            text = words[index + 1]
        elif word.startswith("--set="):
            text = word[len("--set=") :]
        else:
            continue
        parts = re.split(r",(?![^{]*})", text) if split_commas else [text]
        for part in parts:
            path, equals, value = part.partition("=")
            if equals:
                _set_path(tree, path, _typed_value(value))
    return tree


def _set_path(tree: dict[str, Any], path: str, value: Any) -> None:
    node: Any = tree
    steps = [(m.group(1), m.group(2)) for m in re.finditer(r"([^.\[\]]+)(?:\[(\d+)\])?", path)]
    for position, (key, item) in enumerate(steps):
        last = position == len(steps) - 1
        if item is None:
            if last:
                node[key] = value
            else:
                node = node.setdefault(key, {})
            continue
        items = node.setdefault(key, [])
        while len(items) <= int(item):
            items.append({})
        if last:
            items[int(item)] = value
        else:
            node = items[int(item)]


def _typed_value(text: str) -> Any:
    if text in ("true", "false"):
        return text == "true"
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    if text.startswith("{") and text.endswith("}"):
        return [v.strip() for v in text[1:-1].split(",") if v.strip()]
    return text


def _namespace(name: str, labels: dict[str, str], origin: str, result: Manifests) -> None:
    for source in result.sources:
        obj = source.obj
        if obj.get("kind") == "Namespace" and obj.get("metadata", {}).get("name") == name:
            obj["metadata"].setdefault("labels", {}).update(labels)
            return
    metadata: dict[str, Any] = {"name": name, **({"labels": labels} if labels else {})}
    result.sources.append(Source({"apiVersion": "v1", "kind": "Namespace", "metadata": metadata}, origin))


def _option(words: list[str], names: tuple[str, ...]) -> str | None:
    for i, word in enumerate(words):
        if word in names and i + 1 < len(words):
            return words[i + 1]
        for name in names:
            if word.startswith(name + "=") and name.startswith("--"):
                return word.split("=", 1)[1]
    return None


def _without_options(words: list[str]) -> Iterator[str]:
    skip = False
    for word in words:
        if skip:
            skip = False
        elif word in ("-n", "--namespace", "--context", "--kubeconfig", "-l"):
            skip = True
        elif not word.startswith("-"):
            yield word


def _finding(origin: str, message: str) -> Finding:
    return Finding("import", "warning", message, file=origin)
