"""The cyclic garbage collector paused while a large snapshot is built or analysed (pure).

A study of 10,000 subjects read into memory is millions of small containers (dicts of form
data, tuples, frozen dataclasses), none of them in a reference cycle: reference counting frees
them. The collector would still scan them over and over while they are made (a third of the
time of reading a data cut, a fifth of an analysis), for nothing. ``paused_collection`` stops it
for the duration of a block and starts it again after, as it was.

Safe between threads: the collector is stopped by the first block that enters and started again
only when the last one leaves (and only if it ran before). Use it around pure work that builds
plain values, not around code that makes cycles (templates, plots, PDF), whose garbage would
wait for the end of the block.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0
_was_enabled = False


@contextmanager
def paused_collection() -> Iterator[None]:
    global _depth, _was_enabled
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _was_enabled:
                gc.enable()
