"""Spreading work over processes, only where it pays.

Measured with benchmarks/scale.py on 2 cores: writing YAML text for 45,000 objects takes 5.1 s
on one core and 2.7 s on two, because only text travels back. Rendering does not pay: its results
are objects, and pickling them back to the parent costs as much as building them (4.5 s on one
core, 4.1 s on two), so render() and validate() stay on one core.

Workers are forked, so they inherit the items and nothing is pickled on the way in; each sends
its results part by part, which the calling process reads while the workers go on. Forking is
used only where it is safe: a platform that has it, and a process with no other thread running
(forking a threaded process can deadlock, and Python 3.12+ warns about it). Anywhere else, and for
small inputs, the work runs in this process. The result is the same list either way, in order.

A worker ends with the process that started it, even when that one is killed (SIGKILL leaves it no
chance to clean up): on Linux the kernel sends the worker SIGKILL when its parent dies
(``PR_SET_PDEATHSIG``); elsewhere a thread in the worker checks every half second that its parent is
still there. Each worker also closes the pipes it inherited from its elder siblings, so that none is
left blocked writing into a pipe that only a sibling still holds open.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

# Below this many items the work takes well under a second and starting workers does not pay.
MIN_ITEMS = 2000
_PARTS_PER_JOB = 4


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def ordered_map(fn: Callable[[T], R], items: Sequence[T], jobs: int = 1) -> list[R]:
    """``[fn(item) for item in items]``, split over up to ``jobs`` worker processes when that is
    safe and the input large enough; ``fn``'s results travel back pickled, so they should be small.
    An exception raised in a worker is raised here."""
    jobs = min(jobs, available_cores())
    if jobs < 2 or len(items) < MIN_ITEMS or not _can_fork():
        return [fn(item) for item in items]
    import multiprocessing

    context = multiprocessing.get_context("fork")
    parts = jobs * _PARTS_PER_JOB
    bounds = [(len(items) * i // parts, len(items) * (i + 1) // parts) for i in range(parts)]
    workers: list[tuple[Any, Any]] = []
    parent = os.getpid()
    for job in range(jobs):  # worker j takes parts j, j + jobs, ...: each has early and late items
        receive, send = context.Pipe(duplex=False)
        inherited = [pipe for _, pipe in workers] + [receive]  # the worker only writes
        worker = context.Process(
            target=_work, args=(fn, items, bounds[job::jobs], send, parent, inherited), daemon=True
        )
        worker.start()
        send.close()
        workers.append((worker, receive))
    results: list[R] = []
    try:
        for part in range(parts):  # in order: part p is the next message of worker p % jobs
            worker, receive = workers[part % jobs]
            try:
                ok, value = receive.recv()
            except EOFError:
                raise RuntimeError(
                    f"a meshauth worker process ended early (exit code {worker.exitcode})"
                ) from None
            if not ok:
                raise value
            results.extend(value)
    finally:
        for worker, receive in workers:
            receive.close()
            if worker.is_alive() and len(results) < len(items):
                worker.terminate()  # after a failure: the rest is not wanted
            worker.join()
    return results


def _work(
    fn: Callable[[Any], Any],
    items: Sequence[Any],
    parts: list[tuple[int, int]],
    send: Any,
    parent: int,
    inherited: list[Any],
) -> None:
    """In a worker: each part's results, sent as soon as the part is done (the parent reads one
    part while the workers compute the next)."""
    _end_with(parent)
    for pipe in inherited:  # its own pipe's reading end, and its elder siblings': the parent's
        pipe.close()
    for low, high in parts:
        try:
            result: tuple[bool, Any] = (True, [fn(item) for item in items[low:high]])
        except Exception as error:  # handed to the parent, which raises it
            result = (False, error)
        send.send(result)
        if not result[0]:
            break
    send.close()


_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
_POLL_SECONDS = 0.5


def _end_with(parent: int) -> None:
    """Make this worker end when ``parent`` does, however that ends."""
    watched = False
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            watched = libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
        except (OSError, AttributeError):
            watched = False
    if os.getppid() != parent:  # it died before the kernel was told
        os._exit(1)
    if not watched:
        threading.Thread(target=_watch, args=(parent,), daemon=True).start()


def _watch(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(_POLL_SECONDS)
    os._exit(1)


def _can_fork() -> bool:
    import multiprocessing

    return "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1
