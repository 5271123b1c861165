"""fg.data.DataLoader(num_workers=k) (issue 10, item 16): worker processes with fork and
spawn give the batches of num_workers=0, in order; seeding, worker_init_fn, errors and
shutdown behave (no hang, no orphaned worker)."""

from __future__ import annotations

import gc
import multiprocessing as mp
import os
import signal
import threading
import time

import numpy as np
import pytest

import fastgrad as fg
from fastgrad.data import DataLoader, TensorDataset, get_worker_info

CTXS = ["fork", "spawn"]


def A(t):
    return np.asarray(t)


def as_np(batch):
    if isinstance(batch, (tuple, list)):
        return tuple(as_np(b) for b in batch)
    if isinstance(batch, dict):
        return {k: as_np(v) for k, v in batch.items()}
    return A(batch) if isinstance(batch, fg.Tensor) else batch


def assert_same(xs, ys):
    assert len(xs) == len(ys)
    for x, y in zip(xs, ys):
        if isinstance(x, tuple):
            assert_same(x, y)
        elif isinstance(x, dict):
            assert x.keys() == y.keys()
            assert_same(tuple(x.values()), tuple(y.values()))
        else:
            assert x.dtype == y.dtype and x.shape == y.shape
            np.testing.assert_array_equal(x, y)


# Module-level so spawned workers can unpickle them.
class Squares:
    def __len__(self):
        return 23

    def __getitem__(self, i):
        return {"x": np.array([i, -i], dtype=np.float64), "y": np.array(i * i), "m": np.array(i % 3 == 0)}


class Failing(Squares):
    def __getitem__(self, i):
        if i == 13:
            raise ValueError(f"bad sample {i}")
        return super().__getitem__(i)


class Info:
    def __len__(self):
        return 8

    def __getitem__(self, i):
        w = get_worker_info()
        return np.array([w.id, w.num_workers, os.getpid(), fg.get_num_threads()], dtype=np.int64), A(
            fg.rand([3], dtype=fg.float64)
        )


class Slow:
    def __len__(self):
        return 1000

    def __getitem__(self, i):
        time.sleep(0.01)
        return np.array([i], dtype=np.float32)


def init_fail(worker_id):
    raise KeyError(f"init of {worker_id}")


def _data(n=103):
    rng = np.random.default_rng(0)
    return TensorDataset(rng.standard_normal((n, 4)).astype(np.float32), np.arange(n), rng.random(n) > 0.5)


@pytest.mark.parametrize("ctx", CTXS)
@pytest.mark.parametrize("shuffle,drop_last", [(False, False), (True, False), (True, True)])
def test_tensor_dataset_same_batches_as_in_process(ctx, shuffle, drop_last):
    ds = _data()
    ref = [as_np(b) for b in DataLoader(ds, 16, shuffle=shuffle, drop_last=drop_last, seed=7)]
    got = [
        as_np(b)
        for b in DataLoader(
            ds, 16, shuffle=shuffle, drop_last=drop_last, seed=7, num_workers=2, multiprocessing_context=ctx
        )
    ]
    assert_same(ref, got)


@pytest.mark.parametrize("ctx", CTXS)
def test_generic_dataset_dicts_and_unseeded_shuffle(ctx):
    fg.manual_seed(11)
    ref = [as_np(b) for b in DataLoader(Squares(), 5, shuffle=True)]
    after_ref = float(fg.rand([1]))
    fg.manual_seed(11)
    got = [
        as_np(b) for b in DataLoader(Squares(), 5, shuffle=True, num_workers=3, multiprocessing_context=ctx)
    ]
    assert_same(ref, got)
    assert ref[0]["m"].dtype == np.bool_ and ref[0]["y"].dtype == np.int64
    assert isinstance(after_ref, float)


@pytest.mark.parametrize("ctx", CTXS)
def test_worker_exception_reraised_with_traceback(ctx):
    dl = DataLoader(Failing(), 4, num_workers=2, multiprocessing_context=ctx)
    got = []
    with pytest.raises(ValueError) as e:
        for b in dl:
            got.append(b)
    assert len(got) == 3  # batches before the failing one (13 is in batch 3) arrived in order
    msg = str(e.value)
    assert (
        "DataLoader worker" in msg and "bad sample 13" in msg and "Traceback" in msg and "__getitem__" in msg
    )
    _no_workers_left()


def test_worker_init_fn_error_and_info():
    with pytest.raises(KeyError, match="worker_init_fn"):
        list(DataLoader(Squares(), 4, num_workers=2, worker_init_fn=init_fail))
    seen = []
    rows = [A(b[0]) for b in DataLoader(Info(), 2, num_workers=2, worker_init_fn=seen.append)]
    rows = np.concatenate(rows)
    # batch i goes to worker i % 2; every worker runs fastgrad on one thread
    np.testing.assert_array_equal(rows[:, 0], [0, 0, 1, 1, 0, 0, 1, 1])
    assert set(rows[:, 1]) == {2} and set(rows[:, 3]) == {1}
    assert len(set(rows[:, 2])) == 2 and os.getpid() not in set(rows[:, 2])


@pytest.mark.parametrize("ctx", ["fork"])  # spawn seeds through the same code (see the tests above)
def test_per_worker_seeding_reproducible(ctx):
    def draws(seed):
        return np.concatenate(
            [A(b[1]) for b in DataLoader(Info(), 2, seed=seed, num_workers=2, multiprocessing_context=ctx)]
        )

    a, b, c = draws(1), draws(1), draws(2)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    # the two workers draw different streams
    assert not np.array_equal(a[0], a[2])


def _no_workers_left(timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        gc.collect()
        if not mp.active_children():
            return
        time.sleep(0.05)
    pytest.fail(f"worker processes left behind: {mp.active_children()}")


@pytest.mark.parametrize("ctx", CTXS)
def test_dropping_the_iterator_stops_workers(ctx):
    it = iter(DataLoader(Slow(), 10, num_workers=2, multiprocessing_context=ctx))
    first = A(next(it))
    np.testing.assert_array_equal(first.ravel(), np.arange(10))
    del it
    _no_workers_left()


def test_dead_worker_raises_instead_of_hanging():
    it = iter(DataLoader(Slow(), 10, num_workers=2))
    next(it)
    for p in mp.active_children():
        os.kill(p.pid, signal.SIGKILL)
    # A hang guard, not a speed bound: the loop runs in a thread, and one still waiting
    # after a minute means the loader never noticed its dead workers.
    caught: list[BaseException] = []

    def drain():
        try:
            for _ in it:
                pass
        except BaseException as e:  # noqa: BLE001 - handed to the main thread
            caught.append(e)

    th = threading.Thread(target=drain, daemon=True)
    th.start()
    th.join(60)
    assert not th.is_alive(), "DataLoader hung after its workers were killed"
    assert caught and isinstance(caught[0], RuntimeError) and "exited unexpectedly" in str(caught[0]), caught
    _no_workers_left()


class IdxPid:
    def __len__(self):
        return 20

    def __getitem__(self, i):
        return np.array([i, os.getpid()], dtype=np.int64)


def test_persistent_workers_serve_every_epoch():
    dl = DataLoader(IdxPid(), 3, num_workers=2, persistent_workers=True, shuffle=True, seed=3)
    ref = DataLoader(IdxPid(), 3, shuffle=True, seed=3)
    e0 = [A(b) for b in dl]
    r0 = [A(b) for b in ref]
    it = iter(dl)
    next(it)
    del it  # epoch 1 abandoned half-way: its late batches must not leak into epoch 2
    e2 = [A(b) for b in dl]
    ref.epoch = 2
    r2 = [A(b) for b in ref]
    for got, want in [(e0, r0), (e2, r2)]:
        assert len(got) == len(want) == 7
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g[:, 0], w[:, 0])
    pids = set(np.concatenate(e0 + e2)[:, 1])
    assert len(pids) == 2 and os.getpid() not in pids  # the same two processes throughout
    dl.close()
    _no_workers_left()


def test_bad_arguments():
    ds = _data(10)
    with pytest.raises(ValueError, match="num_workers"):
        DataLoader(ds, 2, num_workers=-1)
    with pytest.raises(ValueError, match="persistent_workers"):
        DataLoader(ds, 2, persistent_workers=True)
    with pytest.raises(ValueError, match="prefetch_factor"):
        DataLoader(ds, 2, num_workers=1, prefetch_factor=0)
