"""Object-by-object comparison of two sets of manifests (hand-written ones and meshauth's rendering).

Objects are paired by kind (apiVersion group ignored, so ``v1beta1`` pairs with ``v1``) and then by
namespace and name; objects of the same kind that meshauth names differently are paired by what
they have in common (a Certificate for the same hosts). Within a pair, mappings are compared key by
key, lists of named items by name, ``--flag=value`` argument lists by flag, lists of plain values as
sets. Secret values never appear in a difference: they are shown as ``<redacted>``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

Obj = dict[str, Any]
REDACTED = "<redacted>"
_SECRET_WORDS = ("secret", "password", "token", "key")
_DESCEND = {"metadata", "metadata.labels", "metadata.annotations"}


@dataclass(frozen=True, order=True)
class Difference:
    change: str  # added | removed | changed | renamed
    kind: str
    object: str  # "Kind namespace/name", as meshauth names it (the original for removed objects)
    path: str  # "" for the whole object
    before: str  # compact JSON, "" when absent
    after: str

    def __str__(self) -> str:
        where = f"{self.object}: {self.path}" if self.path else self.object
        if self.change == "changed":
            return f"changed  {where}: {_short(self.before)} -> {_short(self.after)}"
        if self.change == "renamed":
            return f"renamed  {self.before} -> {self.after}"
        shown = self.after if self.change == "added" else self.before
        return f"{self.change:<8} {where}{': ' + _short(shown) if self.path else ''}"


def compare(before: Sequence[Obj], after: Sequence[Obj]) -> list[Difference]:
    """Every difference between ``before`` (hand-written) and ``after`` (rendered)."""
    paired, removed, added = pair(before, after)
    found: list[Difference] = []
    for old, new in paired:
        kind = str(new.get("kind"))
        if _ref(old) != _ref(new) and not _unnamed(old):
            found.append(Difference("renamed", kind, _ref(new), "", _ref(old), _ref(new)))
        for change, path, was, now in _diff(_body(old), _body(new), ""):
            found.append(
                Difference(change, kind, _ref(new), path, _shown(kind, path, was), _shown(kind, path, now))
            )
    found += [Difference("removed", str(o.get("kind")), _ref(o), "", "", "") for o in removed]
    found += [Difference("added", str(o.get("kind")), _ref(o), "", "", "") for o in added]
    return found


def pair(before: Sequence[Obj], after: Sequence[Obj]) -> tuple[list[tuple[Obj, Obj]], list[Obj], list[Obj]]:
    """(pairs, only in before, only in after): same identity first, then best overlap."""
    by_key: dict[tuple[Any, ...], list[int]] = {}
    for index, new in enumerate(after):
        by_key.setdefault(_key(new), []).append(index)
    taken: set[int] = set()
    pairs: list[tuple[Obj, Obj]] = []
    unpaired: list[Obj] = []
    for old in before:
        match = next((i for i in by_key.get(_key(old), ()) if i not in taken), None)
        if match is None:
            unpaired.append(old)
        else:
            taken.add(match)
            pairs.append((old, after[match]))
    removed = []
    for old in unpaired:
        candidates = [
            i
            for i, new in enumerate(after)
            if i not in taken and _kind(new) == _kind(old) and _same_place(old, new)
        ]
        best = max(candidates, key=lambda i: _overlap(old, after[i]), default=None)
        if best is not None and _overlap(old, after[best]) > 0:  # nothing in common: not the same object
            taken.add(best)
            pairs.append((old, after[best]))
        else:
            removed.append(old)
    return pairs, removed, [new for i, new in enumerate(after) if i not in taken]


# --- pairing ---------------------------------------------------------------------------------------


def _kind(obj: Obj) -> tuple[str, str]:
    group = str(obj.get("apiVersion", "")).rpartition("/")[0]
    return group, str(obj.get("kind", ""))


def _key(obj: Obj) -> tuple[Any, ...]:
    metadata = obj.get("metadata") or {}
    return (*_kind(obj), metadata.get("namespace"), metadata.get("name"))


def _same_place(old: Obj, new: Obj) -> bool:
    """Same namespace; an object written without one (applied with -n or istioctl) matches any."""
    namespace = (old.get("metadata") or {}).get("namespace")
    return (
        namespace is None
        or namespace == (new.get("metadata") or {}).get("namespace")
        or old.get("kind") in ("VirtualService",)
    )


def _overlap(old: Obj, new: Obj) -> int:
    """Leaves two objects of one kind share, apiVersion and kind aside (every pair shares those)."""

    def content(obj: Obj) -> Obj:
        return {k: v for k, v in _body(obj).items() if k not in ("apiVersion", "kind")}

    return len(_leaves(content(old)) & _leaves(content(new)))


def _leaves(value: Any, path: str = "") -> set[tuple[str, str]]:
    if isinstance(value, dict):
        return {leaf for k, v in value.items() for leaf in _leaves(v, f"{path}.{k}")}
    if isinstance(value, list):
        return {leaf for v in value for leaf in _leaves(v, f"{path}[]")}
    return {(path, json.dumps(value))}


def _body(obj: Obj) -> Obj:
    """The object without the identity fields that pairing already accounts for."""
    metadata = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in ("name", "namespace")}
    body = {k: v for k, v in obj.items() if k != "metadata"}
    return {**body, **({"metadata": metadata} if metadata else {})}


def _ref(obj: Obj) -> str:
    metadata = obj.get("metadata") or {}
    namespace = metadata.get("namespace")
    return f"{obj.get('kind')} {namespace + '/' if namespace else ''}{metadata.get('name', '(unnamed)')}"


def _unnamed(obj: Obj) -> bool:
    return not (obj.get("metadata") or {}).get("name")


# --- differences within a pair ---------------------------------------------------------------------


def _diff(old: Any, new: Any, path: str) -> Iterator[tuple[str, str, Any, Any]]:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in [*old, *(k for k in new if k not in old)]:
            child = _join(path, key)
            if child in _DESCEND and isinstance(old.get(key, new.get(key)), dict):
                yield from _diff(old.get(key, {}), new.get(key, {}), child)  # one row per label
            elif key not in new:
                yield "removed", child, old[key], None
            elif key not in old:
                yield "added", child, None, new[key]
            else:
                yield from _diff(old[key], new[key], child)
    elif isinstance(old, list) and isinstance(new, list):
        yield from _diff_lists(old, new, path)
    elif old != new:
        yield "changed", path, old, new


def _diff_lists(old: list[Any], new: list[Any], path: str) -> Iterator[tuple[str, str, Any, Any]]:
    key = _item_key(old, new)
    if key:
        yield from _diff(*_by_key(old, new, key), path)
    elif _flags(old) or _flags(new):
        yield from _diff(_by_flag(old), _by_flag(new), path)
    elif all(not isinstance(v, (dict, list)) for v in old + new):
        if sorted(map(json.dumps, old)) != sorted(map(json.dumps, new)):
            yield "changed", path, old, new
    else:
        for index in range(max(len(old), len(new))):
            child = f"{path}[{index}]"
            if index >= len(new):
                yield "removed", child, old[index], None
            elif index >= len(old):
                yield "added", child, None, new[index]
            else:
                yield from _diff(old[index], new[index], child)


def _item_key(old: list[Any], new: list[Any]) -> str | None:
    """The field that identifies the items of both lists (``name``, ``key``, ``issuer``, ``port``)."""
    items = old + new
    if not old or not new or not all(isinstance(i, dict) for i in items):
        return None
    return next((k for k in ("name", "key", "issuer", "port") if all(k in i for i in items)), None)


def _by_key(old: list[Any], new: list[Any], key: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Both lists as mappings by their key; a lone unmatched item on each side is paired anyway
    (a container that meshauth names differently), its key shown as a changed field."""

    def label(item: dict[str, Any]) -> str:
        value = item[key]
        value = value.get("number", value) if isinstance(value, dict) else value
        return f"[{key}={value}]"

    def rest(item: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in item.items() if k != key}

    left = {label(i): rest(i) for i in old}
    right = {label(i): rest(i) for i in new}
    only_left, only_right = set(left) - set(right), set(right) - set(left)
    if len(only_left) == 1 and len(only_right) == 1 and key == "name":
        (was,), (now,) = only_left, only_right
        left[now] = {key: was[len(key) + 2 : -1], **left.pop(was)}
        right[now] = {key: now[len(key) + 2 : -1], **right[now]}
    return left, right


def _flags(items: list[Any]) -> bool:
    return bool(items) and all(isinstance(i, str) and i.startswith("--") for i in items)


def _by_flag(items: list[Any]) -> dict[str, Any]:
    flags: dict[str, Any] = {}
    for item in items:
        name, equals, value = str(item).partition("=")
        flags.setdefault(f"[{name}]", []).append(value if equals else "true")
    return {k: v[0] if len(v) == 1 else v for k, v in flags.items()}


def _join(path: str, key: str) -> str:
    if key.startswith("[") and key.endswith("]"):
        return path + key
    plain = key.replace("-", "").replace("_", "").isalnum()
    return (f"{path}.{key}" if path else key) if plain else f'{path}["{key}"]'


# --- showing values --------------------------------------------------------------------------------


def _shown(kind: str, path: str, value: Any) -> str:
    if value is None:
        return ""
    if _secret(kind, path):
        return json.dumps(REDACTED)
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _secret(kind: str, path: str) -> bool:
    lowered = path.lower()
    if kind == "Secret" and (lowered.startswith(("data", "stringdata"))):
        return True
    return any(word in lowered for word in _SECRET_WORDS) and (
        "env" in lowered or "args" in lowered or lowered.startswith(("data", "stringdata"))
    )


def _short(text: str, width: int = 90) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


@dataclass(frozen=True)
class Row:
    """Differences that are the same change on several objects, as one line of a summary."""

    change: str
    objects: str
    path: str
    before: str
    after: str


def summary(differences: Sequence[Difference]) -> list[Row]:
    """The differences grouped by (change, path, before, after), in first-seen order."""
    groups: dict[tuple[str, ...], list[str]] = {}
    for d in differences:
        whole = "" if d.path else d.object  # whole objects added or removed: one row each
        groups.setdefault((d.change, d.path, d.before, d.after, whole), []).append(d.object)
    rows = []
    for (change, path, before, after, _), objects in groups.items():
        shown = ", ".join(objects) if len(objects) <= 2 else f"{len(objects)} objects"
        if change == "renamed":
            shown = ""
        rows.append(Row(change, shown, path, _short(before, 60), _short(after, 60)))
    return rows


# Never advised for deletion: deleting a Namespace deletes all in it; Secrets and ConfigMaps hold
# the user's data, which meshauth's output references rather than replaces.
_NEVER_DELETE = ("Namespace", "Secret", "ConfigMap")
# Policies the import maps into the config with no object of the same kind in meshauth's output
# (a DENY that only refuses requests without a token: meshauth's ALLOW policies do that).
_REPLACED_WHOLE = ("AuthorizationPolicy", "RequestAuthentication", "PeerAuthentication")


def old_objects_to_delete(differences: Sequence[Difference], replaced: Iterable[str] = ()) -> list[str]:
    """Objects that meshauth replaces under its own name: after the first apply, the old ones stay.

    ``replaced``: the ``Kind ns/name`` of the objects the import carried into the config; only
    those are named (an object it left alone is the user's to keep, whatever it pairs with)."""
    carried = set(replaced)
    found = [
        d.before
        for d in differences
        if d.change == "renamed" and d.before in carried and not d.kind.startswith("Istio")
    ]
    found += [
        d.object
        for d in differences
        if d.change == "removed" and d.kind in _REPLACED_WHOLE and d.object in carried
    ]
    return [ref for ref in dict.fromkeys(found) if ref.partition(" ")[0] not in _NEVER_DELETE]


def reference(obj: Obj) -> str:
    """``Kind namespace/name``, as the differences name objects."""
    return _ref(obj)


def kubectl_delete(refs: Sequence[str]) -> list[str]:
    """``kubectl delete`` commands for ``Kind ns/name`` references."""
    commands = []
    for ref in refs:
        kind, _, rest = ref.partition(" ")
        namespace, _, name = rest.rpartition("/")
        commands.append(f"kubectl delete {kind.lower()} {name}" + (f" -n {namespace}" if namespace else ""))
    return commands
