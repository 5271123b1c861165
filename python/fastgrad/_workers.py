"""DataLoader worker processes (``num_workers > 0``).

The parent computes the epoch's batch indices exactly as ``num_workers=0`` does (same
RNG draws), deals batch i to worker i mod k and yields results in order, keeping at most
``prefetch_factor * k`` batches in flight. Workers build a batch with the loader's own
code and send it back with Tensors as arrays. Every wait in the parent has a timeout and
checks that the workers are alive, so a dead worker raises instead of hanging.
"""

from __future__ import annotations

import multiprocessing as mp
import pickle
import queue
import random
import signal
import time
import traceback
from collections.abc import Iterator
from typing import Any, Optional

import numpy as np

from . import ops

# Set in a worker process (fg.data.get_worker_info()).
WORKER_INFO: Optional[WorkerInfo] = None
_POLL = 0.1  # seconds between liveness checks while waiting


class WorkerInfo:
    def __init__(self, id: int, num_workers: int, seed: int, dataset: Any) -> None:
        self.id, self.num_workers, self.seed, self.dataset = id, num_workers, seed, dataset

    def __repr__(self) -> str:
        return f"WorkerInfo(id={self.id}, num_workers={self.num_workers}, seed={self.seed})"


class _Arr:
    """A Tensor of a batch, carried between processes as a NumPy array."""

    __slots__ = ("a",)

    def __init__(self, a: np.ndarray) -> None:
        self.a = a


def _pack(x: Any) -> Any:
    if isinstance(x, ops.Tensor):
        return _Arr(np.array(x))  # an owned C-contiguous copy (views of the dataset too)
    if isinstance(x, tuple):
        return tuple(_pack(v) for v in x)
    if isinstance(x, list):
        return [_pack(v) for v in x]
    if isinstance(x, dict):
        return {k: _pack(v) for k, v in x.items()}
    return x


def _unpack(x: Any) -> Any:
    if isinstance(x, _Arr):
        return ops.from_numpy(np.ascontiguousarray(x.a))
    if isinstance(x, tuple):
        return tuple(_unpack(v) for v in x)
    if isinstance(x, list):
        return [_unpack(v) for v in x]
    if isinstance(x, dict):
        return {k: _unpack(v) for k, v in x.items()}
    return x


class _WorkerError:
    """An exception raised in a worker, re-raised in the parent with its traceback."""

    def __init__(self, worker_id: int, where: str) -> None:
        exc = traceback.format_exc()
        et = _sys_exc_type()
        try:  # a class defined in a function cannot travel; fall back to RuntimeError
            pickle.dumps(et)
            self.exc_type = et
        except Exception:
            self.exc_type = RuntimeError
        self.msg = f"Caught {et.__name__} in DataLoader worker {worker_id} ({where}).\nOriginal {exc}"

    def reraise(self) -> None:
        try:
            err = self.exc_type(self.msg)
        except Exception:
            err = RuntimeError(self.msg)
        raise err


def _sys_exc_type() -> type:
    import sys

    return sys.exc_info()[0] or RuntimeError


def _worker_loop(
    loader: Any, worker_id: int, num_workers: int, seed: int, index_q: Any, result_q: Any
) -> None:
    global WORKER_INFO
    # Ctrl-C goes to the whole process group; the parent handles it and stops us.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    init_error = None
    try:
        ops.set_num_threads(1)
        ops.manual_seed(seed)
        random.seed(seed)
        WORKER_INFO = WorkerInfo(worker_id, num_workers, seed, loader.dataset)
        if loader.worker_init_fn is not None:
            loader.worker_init_fn(worker_id)
    except Exception:
        init_error = _WorkerError(worker_id, "worker_init_fn")
    while True:
        try:
            task = index_q.get()
        except (EOFError, OSError):  # the parent is gone
            return
        if task is None:
            return
        tag, i, spec = task
        if init_error is not None:
            result_q.put((tag, i, None, init_error))
            continue
        out: tuple[Any, Any, Any, Any]
        try:
            out = (tag, i, _pack(loader._make_batch(spec)), None)
        except Exception:
            out = (tag, i, None, _WorkerError(worker_id, f"batch {i}"))
        result_q.put(out)


def _context(c: Any) -> Any:
    if c is None or isinstance(c, str):
        return mp.get_context(c)
    return c


class _Pool:
    def __init__(self, loader: Any, seed: int) -> None:
        ctx = _context(loader.multiprocessing_context)
        self.n = loader.num_workers
        self.timeout = loader.timeout
        self.result_q = ctx.Queue()
        self.index_qs = [ctx.Queue() for _ in range(self.n)]
        self.procs = []
        self._tag = 0
        for w in range(self.n):
            p = ctx.Process(
                target=_worker_loop,
                args=(loader, w, self.n, (seed + w) % 2**63, self.index_qs[w], self.result_q),
                daemon=True,
            )
            p.start()
            self.procs.append(p)
        self.prefetch = loader.prefetch_factor * self.n
        self.closed = False

    def _get(self) -> tuple:
        start = time.monotonic()
        while True:
            try:
                return self.result_q.get(timeout=_POLL)
            except queue.Empty:
                pass
            for w, p in enumerate(self.procs):
                if p.exitcode is not None:
                    raise RuntimeError(
                        f"DataLoader worker {w} (pid {p.pid}) exited unexpectedly with exit code {p.exitcode}"
                    )
            if self.timeout and time.monotonic() - start > self.timeout:
                raise RuntimeError(f"DataLoader timed out after {self.timeout} s waiting for a batch")

    def run(self, specs: list) -> Iterator[Any]:
        self._tag += 1
        tag = self._tag
        sent = done = 0
        buf: dict = {}

        def send() -> None:
            nonlocal sent
            self.index_qs[sent % self.n].put((tag, sent, specs[sent]))
            sent += 1

        while sent < len(specs) and sent < self.prefetch:
            send()
        while done < len(specs):
            while done not in buf:
                t, i, batch, err = self._get()
                if t == tag:  # else a result of an epoch abandoned half-way (persistent workers)
                    buf[i] = (batch, err)
            batch, err = buf.pop(done)
            done += 1
            if sent < len(specs):
                send()
            if err is not None:
                err.reraise()
            yield _unpack(batch)

    def shutdown(self) -> None:
        if self.closed:
            return
        self.closed = True
        for q in self.index_qs:
            try:
                q.put(None)
            except Exception:
                pass
        # Drain results so no worker stays blocked writing a batch nobody reads.
        deadline = time.monotonic() + 5.0
        while any(p.is_alive() for p in self.procs) and time.monotonic() < deadline:
            try:
                self.result_q.get(timeout=0.02)
            except (queue.Empty, EOFError, OSError):
                pass
        for p in self.procs:
            if p.is_alive():
                p.terminate()
            p.join(timeout=1.0)
        for q in self.index_qs + [self.result_q]:
            q.cancel_join_thread()
            q.close()

    def alive(self) -> bool:
        return not self.closed and all(p.exitcode is None for p in self.procs)


def _base_seed(loader: Any) -> int:
    if loader.seed is not None:  # reproducible, and different for every epoch
        return int(
            np.random.SeedSequence([int(loader.seed) % 2**63, loader.epoch]).generate_state(2, np.uint64)[0]
            % 2**62
        )
    return int(ops.next_seed()) % 2**62


def iterate(loader: Any) -> Iterator[Any]:
    specs = list(loader._batch_indices())  # first, so the RNG is used as with num_workers=0
    pool = loader._pool if loader.persistent_workers else None
    if pool is not None and not pool.alive():
        pool.shutdown()
        pool = None
    if pool is None:
        pool = _Pool(loader, _base_seed(loader))
        if loader.persistent_workers:
            loader._pool = pool
    try:
        yield from pool.run(specs)
    except GeneratorExit:  # the iterator was dropped: persistent workers stay
        raise
    except BaseException:
        if loader.persistent_workers:  # a failed epoch leaves the workers in doubt
            loader._pool = None
            pool.shutdown()
        raise
    finally:
        if not loader.persistent_workers:
            pool.shutdown()
