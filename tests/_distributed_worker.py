"""Run by tests/test_distributed.py under ``mpirun -n N``: ``python _distributed_worker.py CASE OUT``.

Each case checks what it can on every rank (an AssertionError makes mpirun fail) and
rank 0 writes its results to OUT (a .npz) for the test to compare with a one-process run.
With N = 1 (plain python) the same code is the single-process reference.
"""

from __future__ import annotations

import os
import sys
import threading
import time

import numpy as np

import fastgrad as fg
import fastgrad.distributed as dist
from fastgrad.nn.parallel import DistributedDataParallel


def _data(n: int = 48, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 6))
    y = rng.integers(0, 3, n)
    return x, y


def _model() -> fg.nn.Module:
    fg.manual_seed(0)
    return fg.nn.Sequential(
        fg.nn.Linear(6, 16), fg.nn.Tanh(), fg.nn.Linear(16, 16), fg.nn.ReLU(), fg.nn.Linear(16, 3)
    ).double()


def case_collectives(out: str) -> None:
    dist.init()
    r, n = dist.rank(), dist.world_size()
    res = {}
    for dt, npdt in ((fg.float64, np.float64), (fg.float32, np.float32), (fg.int64, np.int64)):
        base = np.arange(6, dtype=npdt).reshape(2, 3) + 1
        for op, ref in (
            ("sum", sum(base * (k + 1) for k in range(n))),
            ("max", base * n),
            ("min", base * 1),
            ("prod", np.prod([base * (k + 1) for k in range(n)], axis=0)),
        ):
            t = fg.tensor(base * (r + 1), dtype=dt)
            view = np.asarray(t)
            got = dist.all_reduce(t, op)
            assert got is t
            assert np.shares_memory(view, np.asarray(t)), "all_reduce must work in place"
            np.testing.assert_array_equal(np.asarray(t), ref.astype(npdt))
        if dt is not fg.int64:
            t = fg.tensor(base * (r + 1), dtype=dt)
            dist.all_reduce(t, "mean")
            np.testing.assert_allclose(np.asarray(t), sum(base * (k + 1) for k in range(n)) / n, rtol=1e-6)
    b = fg.tensor([r % 2 == 0, False, True])
    dist.all_reduce(b, "max")
    assert np.asarray(b).tolist() == [True, False, True]
    b = fg.tensor([r % 2 == 0, True])
    dist.all_reduce(b, "min")
    assert np.asarray(b).tolist() == [n == 1, True]
    # async
    t = fg.full((5,), float(r), dtype=fg.float64)
    w = dist.all_reduce(t, "sum", async_op=True)
    assert w.wait() is t and np.all(np.asarray(t) == sum(range(n)))
    # broadcast from the last rank
    t = fg.full((2, 2), float(r) + 0.5, dtype=fg.float64)
    dist.broadcast(t, n - 1)
    assert np.all(np.asarray(t) == n - 0.5)
    # all_gather (both forms), reduce_scatter (both forms)
    t = fg.tensor([[r, 10 * r]], dtype=fg.int64)
    g = dist.all_gather(None, t)
    assert tuple(g.shape) == (n, 1, 2)
    np.testing.assert_array_equal(np.asarray(g)[:, 0, :], [[k, 10 * k] for k in range(n)])
    lst = [fg.zeros((1, 2), dtype=fg.int64) for _ in range(n)]
    dist.all_gather(lst, t)
    assert [np.asarray(x).tolist() for x in lst] == [[[k, 10 * k]] for k in range(n)]
    o = fg.empty((n, 2), dtype=fg.float64)
    dist.all_gather_into_tensor(o, fg.tensor([float(r), 1.0], dtype=fg.float64))
    np.testing.assert_array_equal(np.asarray(o), [[k, 1.0] for k in range(n)])
    inp = fg.tensor(np.arange(3 * n, dtype=np.float64) * (r + 1), dtype=fg.float64)
    o = fg.empty((3,), dtype=fg.float64)
    dist.reduce_scatter_tensor(o, inp, "sum")
    tot = np.arange(3 * n, dtype=np.float64) * sum(k + 1 for k in range(n))
    np.testing.assert_array_equal(np.asarray(o), tot[3 * r : 3 * r + 3])
    o2 = fg.empty((3,), dtype=fg.float64)
    dist.reduce_scatter(o2, [inp[3 * k : 3 * k + 3] for k in range(n)], "mean")
    np.testing.assert_allclose(np.asarray(o2), tot[3 * r : 3 * r + 3] / n)
    # non-contiguous input: a clear error, nothing sent
    nc = fg.zeros((4, 4), dtype=fg.float64).t()[:, ::2]
    try:
        dist.all_reduce(nc)
    except ValueError as e:
        assert "contiguous" in str(e)
    else:
        raise AssertionError("non-contiguous all_reduce did not raise")
    try:
        dist.all_reduce(fg.zeros(2), "avg")
    except ValueError as e:
        assert "op must be" in str(e)
    else:
        raise AssertionError("bad op did not raise")
    # The GIL is released while MPI waits: rank 0 waits in a barrier while rank 1 sleeps;
    # a Python thread on rank 0 keeps running meanwhile.
    ticks = [0]
    stop = threading.Event()

    def spin() -> None:
        while not stop.is_set():
            ticks[0] += 1

    dist.barrier()
    if r == 0:
        th = threading.Thread(target=spin)
        th.start()
        time.sleep(0.05)
        before = ticks[0]
        t0 = time.perf_counter()
        dist.barrier()
        waited = time.perf_counter() - t0
        stop.set()
        th.join()
        res["gil_ticks"] = np.array(ticks[0] - before)
        res["gil_waited"] = np.array(waited)
    else:
        time.sleep(1.0)
        dist.barrier()
    if r == 0:
        np.savez(out, **res)


def case_ddp(out: str) -> None:
    """SGD on the MLP, global batch 12, 4 steps: DDP over N ranks (rank r takes its
    share of each global batch, loss scaled by its share) vs one process."""
    dist.init()
    r, n = dist.rank(), dist.world_size()
    x, y = _data()
    model = _model()
    if r != 0:  # DDP must broadcast rank 0's weights at wrap time
        with fg.no_grad():
            for p in model.parameters():
                p.add_(1.0)
    bucket = float(os.environ.get("FG_TEST_BUCKET_MB", "0.001"))
    ddp = DistributedDataParallel(model, bucket_cap_mb=bucket) if n > 1 else model
    if n > 1:
        assert len(ddp._buckets) > 1, "the test wants several buckets"
    opt = fg.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    losses = []
    B = 12
    for step in range(4):
        xb, yb = x[step * B : (step + 1) * B], y[step * B : (step + 1) * B]
        q, rem = divmod(B, n)
        lo = r * q + min(r, rem)
        hi = lo + q + (1 if r < rem else 0)
        xs, ys = fg.tensor(xb[lo:hi]), fg.tensor(yb[lo:hi])
        opt.zero_grad()
        loss = fg.nn.functional.cross_entropy(ddp(xs), ys)
        (loss * ((hi - lo) / B * n)).backward()
        # after backward the gradients are the averaged ones (no wait in the optimizer)
        lt = fg.tensor([float(loss.item()) * (hi - lo)], dtype=fg.float64)
        if n > 1:
            dist.all_reduce(lt)
        losses.append(float(np.asarray(lt)[0]) / B)
        opt.step()
    w = np.concatenate([np.asarray(p.detach()).ravel() for p in model.parameters()])
    if n > 1:  # every rank holds the same weights, bitwise
        allw = dist.all_gather(None, fg.tensor(w, dtype=fg.float64))
        for k in range(n):
            assert np.array_equal(np.asarray(allw[k]), w), f"rank {k} weights differ"
    if r == 0:
        np.savez(out, losses=np.array(losses), weights=w)


def case_no_sync(out: str) -> None:
    """Two micro-batches under no_sync + one synchronised = the gradient of the big batch."""
    dist.init()
    r, n = dist.rank(), dist.world_size()
    x, y = _data(36)
    model = _model()
    ddp = DistributedDataParallel(model, bucket_cap_mb=0.001) if n > 1 else model
    per = 36 // 3  # 3 micro-batches of 12 rows each, split over ranks
    for m in range(3):
        xb, yb = x[m * per : (m + 1) * per], y[m * per : (m + 1) * per]
        q, rem = divmod(per, n)
        lo = r * q + min(r, rem)
        hi = lo + q + (1 if r < rem else 0)
        loss = fg.nn.functional.cross_entropy(ddp(fg.tensor(xb[lo:hi])), fg.tensor(yb[lo:hi]))
        scaled = loss * ((hi - lo) / 36 * n)
        if m < 2 and n > 1:
            with ddp.no_sync():
                scaled.backward()
        else:
            scaled.backward()
    g = np.concatenate([np.asarray(p.grad).ravel() for p in model.parameters()])
    if r == 0:
        np.savez(out, grads=g)


def case_fit(out: str) -> None:
    """fg.train.fit auto-detecting mpirun: same history and weights as one process."""
    from fastgrad.data import DataLoader, TensorDataset

    x, y = _data(50)
    model = _model()
    fg.manual_seed(3)
    tr = DataLoader(TensorDataset(fg.tensor(x[:40]), fg.tensor(y[:40])), 8, shuffle=True, seed=5)
    va = DataLoader(TensorDataset(fg.tensor(x[40:]), fg.tensor(y[40:])), 4)
    opt = fg.optim.Adam(model.parameters(), lr=0.01)
    hist = fg.train.fit(
        model,
        fg.nn.functional.cross_entropy,
        opt,
        tr,
        va,
        epochs=3,
        accumulate=2,
        metrics={"acc": "accuracy"},
        progress=False,
    )
    w = np.concatenate([np.asarray(p.detach()).ravel() for p in model.parameters()])
    if dist.rank() == 0:
        np.savez(
            out,
            train_loss=np.array(hist["train_loss"]),
            val_loss=np.array(hist["val_loss"]),
            val_acc=np.array(hist["val_acc"]),
            weights=w,
        )


def case_fit_sampler(out: str) -> None:
    """fit with a DistributedSampler loader (batches already per rank): the reference is
    one process whose batches are the union of the ranks' batches (FG_REPLICAS ranks)."""
    from fastgrad.data import DataLoader, DistributedSampler, TensorDataset

    x, y = _data(45)
    ds = TensorDataset(fg.tensor(x), fg.tensor(y))
    model = _model()
    opt = fg.optim.SGD(model.parameters(), lr=0.1)
    n = dist.world_size()
    if n > 1:
        loader = DataLoader(ds, 4, sampler=DistributedSampler(ds, shuffle=True, seed=2))
    else:
        reps = int(os.environ["FG_REPLICAS"])
        shares = [list(DistributedSampler(ds, reps, r, shuffle=True, seed=2)) for r in range(reps)]
        batches = [sum((s[k : k + 4] for s in shares), []) for k in range(0, len(shares[0]), 4)]
        loader = DataLoader(ds, batch_sampler=batches)
    hist = fg.train.fit(model, fg.nn.functional.cross_entropy, opt, loader, epochs=1, progress=False)
    w = np.concatenate([np.asarray(p.detach()).ravel() for p in model.parameters()])
    if dist.rank() == 0:
        np.savez(out, train_loss=np.array(hist["train_loss"]), weights=w)


def case_die(out: str) -> None:
    """Rank 1 dies in the middle of a step; the others must not hang."""
    dist.init()
    model = _model()
    ddp = DistributedDataParallel(model, bucket_cap_mb=0.001)
    x, y = _data()
    for step in range(3):
        loss = fg.nn.functional.cross_entropy(ddp(fg.tensor(x[:8])), fg.tensor(y[:8]))
        if step == 1 and dist.rank() == 1:
            os._exit(3)
        loss.backward()
    dist.barrier()


def case_raise(out: str) -> None:
    """Rank 1 raises a Python exception: init()'s excepthook aborts the job."""
    dist.init()
    dist.barrier()
    if dist.rank() == 1:
        raise RuntimeError("boom on rank 1")
    dist.barrier()


if __name__ == "__main__":
    globals()["case_" + sys.argv[1]](sys.argv[2])
