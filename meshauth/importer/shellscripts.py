"""Reading a shell script the way a blog post's setup is written: heredocs and ``kubectl`` commands.

Such a script has ``export DOMAIN=...`` lines, then ``kubectl apply -f - <<EOF ... EOF`` blocks, plus a
few imperative commands. Read from it:

* heredocs whose body is YAML, with ``$VAR`` / ``${VAR}`` expanded from the script's own simple
  assignments (and the variables given by the caller) unless the delimiter is quoted;
* ``kubectl create namespace``, ``kubectl label namespace`` and ``kubectl create secret generic``,
  turned into the objects they create; ``istioctl install --set`` and ``helm install istiod --set``
  turned into the settings they make;
* every other ``kubectl``/``istioctl``/``helm`` command that changes the cluster is reported, never
  silently skipped.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator, Mapping
from typing import Any

from meshauth.importer.sources import Inputs, Source, expand, istiod_values, read_yaml, unresolved, warning_at

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


def read_shell(file: str, text: str, result: Inputs, given: Mapping[str, str]) -> None:
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
    command: str, body: str | None, origin: str, result: Inputs, given: Mapping[str, str]
) -> None:
    stripped = command.strip()
    if not stripped or stripped.startswith("#"):
        return
    if body is not None:
        before = len(result.sources)
        file, line = origin.rsplit(":", 1)
        read_yaml(file, body, int(line) + 1, result)
        if len(result.sources) == before and body.strip():
            result.findings.append(warning_at(origin, "heredoc holds no Kubernetes object; not read"))
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


def _assign(name: str, value: str, result: Inputs, given: Mapping[str, str]) -> None:
    if name in given:  # the caller's --set wins over the script
        return
    expanded = expand(value, result.variables)
    if unresolved(expanded):
        result.variables.pop(name, None)  # computed at run time ($(...)): unknown here
    else:
        result.variables[name] = expanded


def _imperative(command: str, origin: str, result: Inputs, given: Mapping[str, str]) -> None:
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
        result.findings.append(warning_at(origin, f"{shown} is not read: {why}"))


def _kubectl(words: list[str], origin: str, result: Inputs) -> bool:
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
        data: dict[str, str | None] = {}
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


def _install_settings(tool: str, words: list[str], origin: str, result: Inputs) -> bool:
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


def _namespace(name: str, labels: dict[str, str], origin: str, result: Inputs) -> None:
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
