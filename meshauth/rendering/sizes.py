"""How large one rendered object may be, and how the shapes split what grows with the config.

The API server keeps each object in one etcd request, and etcd refuses requests over its
``--max-request-bytes``, 1.5 MiB by default (1,572,864 bytes: etcd's ``embed.DefaultMaxRequestBytes``;
Kubernetes' "Operating etcd clusters" page names the same 1.5 MiB limit). Objects are stored as
compact JSON, so that is what :func:`stored_bytes` measures.

What grows with the number of apps, hosts or admitted users (the gateway's policies, the Istio
Gateway's servers, the EnvoyFilter's patches, an app's groups and emails) is split into several
objects with numbered names (``<name>``, ``<name>-2``, ...), in the config's order, each planned to
stay below :data:`SPLIT_BUDGET`: far below the API server's limit, and below what a client-side
``kubectl apply`` (or Argo CD, which applies the same way) can store, as it copies the whole object
into the ``kubectl.kubernetes.io/last-applied-configuration`` annotation, and all annotations of an
object together may hold at most 256 KiB (262,144 bytes, apimachinery's ``TotalAnnotationSizeLimitB``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

API_OBJECT_LIMIT = 1_572_864  # etcd's default --max-request-bytes (1.5 MiB)
ANNOTATIONS_LIMIT = 262_144  # apimachinery TotalAnnotationSizeLimitB: client-side apply's ceiling
SPLIT_BUDGET = 192 * 1024  # what a split object is planned to hold, with room for metadata
HOSTS_PER_RULE = 1000  # host patterns in one policy rule (about 25 KiB)
VALUES_PER_RULE = 1000  # values of one claim condition (groups, emails) in one rule

T = TypeVar("T")


def stored_bytes(obj: Any) -> int:
    """The object's size as the API server stores it (compact JSON, UTF-8)."""
    return len(json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode())


def chunks(items: list[T], size: int) -> list[list[T]]:
    """``items`` in consecutive pieces of at most ``size`` (one empty piece for no items)."""
    return [items[i : i + size] for i in range(0, len(items), size)] or [[]]


def pack(
    items: Iterable[T],
    *,
    max_items: int,
    first: tuple[int, int] = (0, 0),
    budget: int | None = None,
    size: Callable[[T], int] = stored_bytes,
) -> list[list[T]]:
    """``items`` in order, in groups of at most ``max_items`` whose sizes add up to at most
    ``budget``; the first group already holds ``first`` (count, bytes) of fixed content. An item
    larger than the budget gets a group of its own. Always at least one group. The budget is
    :data:`SPLIT_BUDGET` unless given."""
    budget = SPLIT_BUDGET if budget is None else budget
    groups: list[list[T]] = [[]]
    count, used = first
    for item in items:
        cost = size(item)
        if count and (count >= max_items or used + cost > budget):
            groups.append([])
            count, used = 0, 0
        groups[-1].append(item)
        count, used = count + 1, used + cost
    return groups


def numbered(name: str, number: int) -> str:
    """The name of the ``number``-th (from 0) object of a split: ``name``, ``name-2``, ..."""
    return name if number == 0 else f"{name}-{number + 1}"
