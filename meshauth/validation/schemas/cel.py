"""CRD validation rules written in CEL (``x-kubernetes-validations``), evaluated where possible.

CEL needs an implementation from the registry: the optional ``common-expression-language``
package (``pip install 'meshauth[cel]'``; imported as ``cel``). Without it no rule is evaluated
and :meth:`meshauth.validation.schemas.usercrds.CrdSet.cel_notice` says so once. It is optional because meshauth's own
schemas already express the upstream CEL rules of the kinds it emits in JSON Schema, so only
``--crds`` needs it.

Evaluated, as the API server does on create: every rule at the node that declares it, with
``self`` bound to the value there (after defaults), when the value is present. The functions of
CEL itself are there, plus the Kubernetes library functions listed in :data:`FUNCTIONS` (strings,
lists, URLs). Not evaluated, and counted as skipped: transition rules (they use ``oldSelf``, which
only exists on update), ``messageExpression`` (the static ``message`` is used), and rules that call
a Kubernetes library function not listed here (quantity, IP/CIDR, semver, format, regex find).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import cache, lru_cache
from typing import Any
from urllib.parse import urlsplit

from meshauth.validation.schemas.messages import json_path


@lru_cache(maxsize=1)
def available() -> bool:
    spec = importlib.util.find_spec("cel")
    return spec is not None and _engine() is not None


def problems(schema: Mapping[str, Any], instance: Any, path: Sequence[Any] = ()) -> Iterator[tuple[str, str]]:
    """(path, message) for every CEL rule the instance breaks; nothing when CEL is not installed."""
    if not available() or instance is None or not isinstance(schema, Mapping):
        return
    for rule in schema.get("x-kubernetes-validations") or ():
        if isinstance(rule, Mapping):
            yield from _check(rule, instance, path)
    yield from _children(schema, instance, path)


def _children(schema: Mapping[str, Any], instance: Any, path: Sequence[Any]) -> Iterator[tuple[str, str]]:
    if isinstance(instance, Mapping):
        properties = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        for key, value in instance.items():
            sub = properties.get(key, extra if isinstance(extra, Mapping) else None)
            if sub is not None:
                yield from problems(sub, value, [*path, key])
    elif isinstance(instance, list) and isinstance(schema.get("items"), Mapping):
        for index, value in enumerate(instance):
            yield from problems(schema["items"], value, [*path, index])


def _check(rule: Mapping[str, Any], instance: Any, path: Sequence[Any]) -> Iterator[tuple[str, str]]:
    text = str(rule.get("rule", ""))
    if "oldSelf" in text:
        return  # a transition rule: only evaluated on update
    outcome = evaluate(text, instance)
    if outcome is True or outcome is None:
        return
    where = json_path([*path, *_field_path(rule.get("fieldPath"))])
    message = str(rule.get("message") or f"failed rule: {text}")
    detail = "" if outcome is False else f" (the rule could not be evaluated: {outcome})"
    yield where, f"{message}{detail}"


def evaluate(rule: str, value: Any) -> Any:
    """True/False; None when the rule uses something not evaluated here; else an error text."""
    program = _compile(rule)
    if program is None:
        return None
    engine = _engine()
    assert engine is not None  # _compile gave a program, so the engine is installed
    try:
        result = program.execute(engine.Context(variables={"self": value}, functions=FUNCTIONS))
    except KeyError as error:  # a field the rule reads without has(): the API server rejects it too
        return f"no such key: {error.args[0] if error.args else ''}"
    except Exception as error:  # the engine raises plain RuntimeError/TypeError
        text = str(error)
        return None if "Undefined variable or function" in text else _short(text)
    return (
        result
        if isinstance(result, bool)
        else _short(f"the rule gave {type(result).__name__}, not a boolean")
    )


@cache
def _compile(rule: str) -> Any | None:
    engine = _engine()
    try:
        return engine.compile(rule) if engine else None
    except Exception:  # a syntax this engine does not parse: not evaluated
        return None


@lru_cache(maxsize=1)
def _engine() -> Any | None:
    try:
        import cel  # the optional common-expression-language package
    except ImportError:
        return None
    return cel if hasattr(cel, "compile") and hasattr(cel, "Context") else None


def _field_path(value: Any) -> list[str]:
    return [part for part in str(value or "").split(".") if part]


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


# --- Kubernetes CEL library functions (a subset) ---------------------------------------------------


def _url(value: str) -> dict[str, str]:
    return {"__url__": value}


def _url_part(part: Callable[[Any], Any]) -> Callable[[Mapping[str, str]], str]:
    def get(url: Mapping[str, str]) -> str:
        result = part(urlsplit(url["__url__"]))
        return "" if result is None else str(result)

    return get


def _substring(s: str, start: int, end: int | None = None) -> str:
    """Kubernetes' ``substring``: code points [start, end), an error outside the string."""
    stop = len(s) if end is None else int(end)
    if not 0 <= int(start) <= stop <= len(s):
        raise ValueError(f"substring: index out of range: {start}, {stop} (length {len(s)})")
    return s[int(start) : stop]


def _is_url(value: str) -> bool:
    parts = urlsplit(value)
    return bool(parts.scheme) and (bool(parts.netloc) or value.startswith("/"))


FUNCTIONS: dict[str, Callable[..., Any]] = {
    # strings library
    "lowerAscii": lambda s: s.lower(),
    "upperAscii": lambda s: s.upper(),
    "trim": lambda s: s.strip(),
    "replace": lambda s, old, new: s.replace(old, new),
    "split": lambda s, sep: s.split(sep),
    "join": lambda items, sep="": sep.join(items),
    "indexOf": lambda s, sub: s.find(sub),
    "lastIndexOf": lambda s, sub: s.rfind(sub),
    "substring": _substring,
    # lists library
    "isSorted": lambda items: list(items) == sorted(items),
    "sum": lambda items: sum(items),
    # URL library
    "url": _url,
    "isURL": _is_url,
    "getScheme": _url_part(lambda u: u.scheme),
    "getHost": _url_part(lambda u: u.netloc.rsplit("@", 1)[-1]),
    "getHostname": _url_part(lambda u: u.hostname),
    "getPort": _url_part(lambda u: u.port),
    "getEscapedPath": _url_part(lambda u: u.path),
}
