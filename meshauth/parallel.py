"""Spreading work over processes, only where it pays.

Measured with benchmarks/scale.py on 2 cores: writing YAML text for 45,000 objects takes 5.1 s
on one core and 2.7 s on two, because only text travels back. Rendering does not pay: its results
are objects, and pickling them back to the parent costs as much as building them (4.5 s on one
core, 4.1 s on two), so render() and validate() stay on one core.

Workers are forked, so they inherit the items and nothing is pickled on the way in. Forking is
used only where it is safe: a platform that has it, and a process with no other thread running
(forking a threaded process can deadlock, and Python 3.12+ warns about it). Anywhere else, and for
small inputs, the work runs in this process. The result is the same list either way, in order.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from typing import Any, Optional, TypeVar

T = TypeVar("T")
R = TypeVar("R")

# Below this many items the work takes well under a second and starting workers does not pay.
MIN_ITEMS = 2000
_CHUNKS_PER_WORKER = 4

_task: Optional[tuple[Callable[[Any], Any], Sequence[Any]]] = None  # inherited by forked workers


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def ordered_map(fn: Callable[[T], R], items: Sequence[T], jobs: int = 1) -> list[R]:
    """``[fn(item) for item in items]``, in up to ``jobs`` forked processes when that is safe and
    the input is large enough; ``fn``'s results are pickled back, so they should be small."""
    jobs = min(jobs, available_cores())
    if jobs < 2 or len(items) < MIN_ITEMS or not _can_fork():
        return [fn(item) for item in items]
    import multiprocessing

    global _task
    parts = jobs * _CHUNKS_PER_WORKER
    bounds = [(len(items) * i // parts, len(items) * (i + 1) // parts) for i in range(parts)]
    _task = (fn, items)
    try:
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            return [result for chunk in pool.map(_run, bounds) for result in chunk]
    finally:
        _task = None


def _run(bounds: tuple[int, int]) -> list[Any]:
    assert _task is not None, "meshauth bug: a worker without a task"
    fn, items = _task
    return [fn(item) for item in items[bounds[0]:bounds[1]]]


def _can_fork() -> bool:
    import multiprocessing

    return "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1
