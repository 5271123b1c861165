"""Thread scaffolding shared by the concurrency tests.

* ``run_threads(fn, n)``: ``fn(i)`` in ``n`` threads released together by a barrier,
  results and exceptions collected per thread;
* ``max_inside_at_once(works)``: whether Python code runs while other threads are inside
  fastgrad kernels, observed without a clock. Python's forced GIL switches are turned
  off for the measurement (switch interval 1000 s), so a thread that holds the GIL
  keeps it until it releases it itself: the observing thread can see a worker inside
  its work only if that work released the GIL, and two workers inside at once only if
  both did. A kernel that held the GIL gives 0 on any machine, however fast or loaded.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Sequence
from typing import Any, Callable


def run_threads(fn: Callable[[int], Any], n: int) -> tuple[list[Any], list[BaseException | None]]:
    """Runs ``fn(i)`` for i in range(n), each in its own thread, all started together.

    Returns ``(results, errors)`` indexed by ``i`` (an exception is reported, not raised).
    """
    barrier = threading.Barrier(n)
    res: list[Any] = [None] * n
    err: list[BaseException | None] = [None] * n

    def body(i: int) -> None:
        barrier.wait()
        try:
            res[i] = fn(i)
        except BaseException as e:  # noqa: BLE001 - reported per thread
            err[i] = e

    ts = [threading.Thread(target=body, args=(i,)) for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return res, err


def max_inside_at_once(works: Sequence[Callable[[], Any]]) -> int:
    """Runs each work in its own thread; returns the largest number of them this thread
    saw inside their work at the same moment (see the module docstring). Exceptions in a
    work are re-raised here."""
    inside = [False] * len(works)
    errors: list[BaseException] = []

    def body(k: int) -> None:
        inside[k] = True
        try:
            works[k]()
        except BaseException as e:  # noqa: BLE001 - re-raised by the caller
            errors.append(e)
        inside[k] = False

    seen = 0
    old = sys.getswitchinterval()
    sys.setswitchinterval(1000.0)
    try:
        ts = [threading.Thread(target=body, args=(k,)) for k in range(len(works))]
        for t in ts:
            t.start()  # returns once the new thread releases the GIL (or ends)
            seen = max(seen, sum(inside))
        while any(t.is_alive() for t in ts):
            seen = max(seen, sum(inside))
            time.sleep(0.0005)  # blocks, releasing the GIL, so a worker can leave its kernel
        for t in ts:
            t.join()
    finally:
        sys.setswitchinterval(old)
    if errors:
        raise errors[0]
    return seen
