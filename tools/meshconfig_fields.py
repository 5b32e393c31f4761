"""Generate meshauth/compat/meshfields.py: the fields of Istio's MeshConfig, per Istio release.

Istio reads the mesh configuration (IstioOperator ``spec.meshConfig``, istiod Helm values
``meshConfig``, the ``istio`` ConfigMap's ``mesh`` text) as the protobuf message
``istio.mesh.v1alpha1.MeshConfig`` and refuses a field it does not know. The fields come from
istio.io/api's ``mesh/v1alpha1/config.proto`` at each release's newest patch tag:

* from a git clone of github.com/istio/api (its release tags ``1.6.x`` ... ``v1.30.x``), and
* for releases the clone does not tag, from the Go module proxy's zip of ``istio.io/api@vX.Y.Z``.

Run it from the repository root::

    python tools/meshconfig_fields.py --git /path/to/istio/api/.git [--proxy] > meshauth/compat/meshfields.py

Only messages declared in config.proto are described; a field whose type comes from another file
(ProxyConfig, ClientTLSSettings, google.protobuf.Struct, ...) is a leaf the check does not enter.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import re
import subprocess
import sys
import urllib.request
import zipfile
from collections.abc import Iterator

PROTO = "mesh/v1alpha1/config.proto"
FIRST = (1, 6)
_TOKEN = re.compile(r'"[^"]*"|[A-Za-z_][A-Za-z0-9_.]*|<|>|\d+|[{}();=\[\],]|\S')


def _tokens(text: str) -> list[str]:
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    return _TOKEN.findall(text)


def parse(text: str) -> dict[str, dict[str, str]]:
    """{message full name: {field proto name: type as written (``map`` for maps)}}; with
    ``__scope__`` resolution done by :func:`resolve`."""
    tokens = _tokens(text)
    messages: dict[str, dict[str, str]] = {}
    stack: list[str] = []  # message names; "" for other blocks (enum, oneof, service, option)
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok == "message":
            parent = next((s for s in reversed(stack) if s and s != "oneof"), None)
            name = f"{parent}.{tokens[i + 1]}" if parent else tokens[i + 1]
            messages[name] = {}
            stack.append(name)
            i += 3
            continue
        if tok in ("enum", "oneof", "service", "extend"):
            # a oneof's fields belong to the enclosing message; enums and services have none
            stack.append("" if tok != "oneof" else "oneof")
            depth_skip = tok in ("enum", "service", "extend")
            i += 3
            if depth_skip:
                depth = 1
                while depth:
                    depth += {"{": 1, "}": -1}.get(tokens[i], 0)
                    i += 1
                stack.pop()
            continue
        if tok == "}":
            stack.pop()
            i += 1
            continue
        current = next((s for s in reversed(stack) if s and s != "oneof"), None)
        if current is None or tok in ("option", "reserved", "syntax", "package", "import", ";"):
            i = _skip_statement(tokens, i)
            continue
        # a field: [repeated|optional] TYPE NAME = N [options];  or  map<K, V> NAME = N;
        if tok in ("repeated", "optional"):
            i += 1
            tok = tokens[i]
        if tok == "map":
            end = tokens.index(">", i)
            messages[current][tokens[end + 1]] = "map"
            i = _skip_statement(tokens, end + 1)
            continue
        messages[current][tokens[i + 1]] = tok
        i = _skip_statement(tokens, i)
    return messages


def _skip_statement(tokens: list[str], i: int) -> int:
    while tokens[i] != ";":
        if tokens[i] == "{":  # option with a message literal
            depth = 1
            i += 1
            while depth:
                depth += {"{": 1, "}": -1}.get(tokens[i], 0)
                i += 1
            continue
        i += 1
    return i + 1


def resolve(messages: dict[str, dict[str, str]]) -> dict[str, dict[str, str | None]]:
    """Field types resolved to a message of the file (full name), or None for a leaf."""
    resolved: dict[str, dict[str, str | None]] = {}
    for message, fields in messages.items():
        resolved[message] = {}
        for field, type_ in fields.items():
            target = None
            scope = message.split(".")
            while scope is not None:
                candidate = ".".join([*scope, type_]) if scope else type_
                if candidate in messages:
                    target = candidate
                    break
                scope = scope[:-1] if scope else None
            resolved[message][field] = target
    return resolved


def _git_sources(git_dir: str) -> Iterator[tuple[tuple[int, int], str, str]]:
    tags = subprocess.run(["git", "--git-dir", git_dir, "tag"], check=True, capture_output=True, text=True)
    newest: dict[tuple[int, int], tuple[int, str]] = {}
    for tag in tags.stdout.split():
        match = re.fullmatch(r"v?1\.(\d+)\.(\d+)", tag)
        if match:
            minor, patch = int(match.group(1)), int(match.group(2))
            if (1, minor) >= FIRST and patch >= newest.get((1, minor), (-1, ""))[0]:
                newest[(1, minor)] = (patch, tag)
    for version, (_, tag) in sorted(newest.items()):
        commit = subprocess.run(
            ["git", "--git-dir", git_dir, "rev-list", "-n1", tag], check=True, capture_output=True, text=True
        ).stdout.strip()
        text = subprocess.run(
            ["git", "--git-dir", git_dir, "show", f"{commit}:{PROTO}"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        yield version, f"github.com/istio/api tag {tag} (commit {commit})", text


def _proxy_sources(known: set[tuple[int, int]]) -> Iterator[tuple[tuple[int, int], str, str]]:
    base = "https://proxy.golang.org/istio.io/api/@v/"
    with urllib.request.urlopen(base + "list") as response:  # noqa: S310 - fixed https URL
        listed = response.read().decode().split()
    newest: dict[tuple[int, int], tuple[int, str]] = {}
    for tag in listed:
        match = re.fullmatch(r"v1\.(\d+)\.(\d+)", tag)
        if match and (1, int(match.group(1))) not in known:
            minor, patch = int(match.group(1)), int(match.group(2))
            if patch >= newest.get((1, minor), (-1, ""))[0]:
                newest[(1, minor)] = (patch, tag)
    for version, (_, tag) in sorted(newest.items()):
        with urllib.request.urlopen(f"{base}{tag}.zip") as response:  # noqa: S310
            data = response.read()
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            text = archive.read(f"istio.io/api@{tag}/{PROTO}").decode()
        digest = hashlib.sha256(data).hexdigest()
        yield version, f"proxy.golang.org istio.io/api@{tag}.zip (sha256 {digest})", text


def table(sources: list[tuple[tuple[int, int], str, str]]) -> str:
    per_version = {version: resolve(parse(text)) for version, _, text in sources}
    versions = sorted(per_version)
    merged: dict[str, dict[str, tuple[str | None, tuple[int, int], tuple[int, int]]]] = {}
    for version in versions:
        for message, fields in per_version[version].items():
            entry = merged.setdefault(message, {})
            for field, target in fields.items():
                first = entry[field][1] if field in entry else version
                entry[field] = (target, first, version)
    lines = [
        '"""The fields of Istio\'s MeshConfig (mesh/v1alpha1/config.proto), per Istio release.',
        "",
        "Generated by tools/meshconfig_fields.py; do not edit. Regenerate with that script (its docstring",
        "says how) when a new Istio release comes out.",
        "",
        "MESSAGES: message -> proto field name -> (message type of the field, or None for a leaf; first",
        "release with the field; last release with it). A field is in every release between the two.",
        '"""',
        "",
        "# fmt: off",
        "SOURCES: dict[tuple[int, int], str] = {",
        *(f"    {version}: {label!r}," for version, label, _ in sources),
        "}",
        "",
        "MESSAGES: dict[str, dict[str, tuple[str | None, tuple[int, int], tuple[int, int]]]] = {",
    ]
    for message in sorted(merged):
        lines.append(f"    {message!r}: {{")
        for field in sorted(merged[message]):
            target, first, last = merged[message][field]
            lines.append(f"        {field!r}: ({target!r}, {first}, {last}),")
        lines.append("    },")
    lines += ["}", "# fmt: on", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--git", required=True, help="git dir of a clone of github.com/istio/api")
    parser.add_argument(
        "--proxy", action="store_true", help="add releases the clone lacks from proxy.golang.org"
    )
    args = parser.parse_args()
    sources = list(_git_sources(args.git))
    if args.proxy:
        sources += list(_proxy_sources({version for version, _, _ in sources}))
    sys.stdout.write(table(sorted(sources)))


if __name__ == "__main__":
    main()
