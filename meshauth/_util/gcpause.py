"""Pausing Python's cyclic garbage collector around bulk work on plain object trees.

Rendering, validating and emitting build and drop hundreds of thousands of dicts, lists and strings. None of
them form reference cycles, so reference counting frees them all; the cyclic collector only adds
passes that rescan every live object, which grows faster than linearly with the bundle
(benchmarks/scale.py: at 5,000 apps it was 40% of render time). The collector is paused for the
duration of such work and restored to the state the caller had.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
