"""Concurrent backward passes on shared parameters and shared graphs (issue 10, item 4).

Backward runs with the GIL released, so Python threads really do run it at once. As in
PyTorch:

* threads calling ``.backward()`` on losses that share a leaf all land in ``W.grad``:
  it equals the sum of the per-thread gradients computed one after another (to 1e-12
  in float64: only the order of the additions differs);
* threads calling ``fg.autograd.grad(..., retain_graph=True)`` (or ``.backward`` with
  ``retain_graph=True``) on one shared graph each get exactly the serial result;
* threads calling ``.backward()`` without ``retain_graph`` on one shared graph: one of
  them succeeds, every other gets the "backward through the graph a second time"
  RuntimeError (never a crash, never a partial or doubled gradient).

Each scenario is repeated (RUNS times) because a lost update shows only in some runs.
"""

from __future__ import annotations

import re
import threading

import numpy as np
import pytest

import fastgrad as fg
from _threads_util import run_threads

RUNS = 20
NTHREADS = 6
N = 48


def _data(seed=0):
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((N, N)) / np.sqrt(N)
    Xs = [rng.standard_normal((N, N)) for _ in range(NTHREADS)]
    return W, Xs


def _loss(X, W, k=0):
    # a few nodes between the loss and W, so the passes overlap for a while
    h = fg.tanh(fg.tensor(X) @ W)
    return fg.sum(fg.exp(h * 0.5) * (k + 1.0) + h * h)


def _threads(fn, n=NTHREADS):
    """run_threads with this file's thread count."""
    return run_threads(fn, n)


def _one_graph(seed):
    """The serial gradient of one loss over W, and a function making a fresh (W, loss)."""
    Wn, Xs = _data(seed)
    Wser = fg.tensor(Wn, requires_grad=True)
    want = np.array(fg.autograd.grad(_loss(Xs[0], Wser), [Wser])[0])

    def fresh():
        W = fg.tensor(Wn, requires_grad=True)
        return W, _loss(Xs[0], W)

    return want, fresh


def _serial_grads(Wn, Xs):
    out = []
    for k, X in enumerate(Xs):
        W = fg.tensor(Wn, requires_grad=True)
        _loss(X, W, k).backward()
        out.append(np.array(W.grad))
    return out


def test_threads_backward_into_a_shared_leaf():
    Wn, Xs = _data()
    want = np.sum(_serial_grads(Wn, Xs), axis=0)
    for run in range(RUNS):
        W = fg.tensor(Wn, requires_grad=True)
        _, err = _threads(lambda i: _loss(Xs[i], W, i).backward())
        assert err == [None] * NTHREADS, err
        np.testing.assert_allclose(
            np.array(W.grad),
            want,
            rtol=1e-12,
            atol=1e-12,
            err_msg=f"run {run}: concurrent accumulation into W.grad lost an update",
        )


def test_threads_backward_into_a_shared_leaf_many_small():
    """Many tiny backwards per thread: the accumulation itself is the contended part."""
    W = fg.tensor(np.zeros(3), requires_grad=True)
    per = 200

    def work(i):
        for _ in range(per):
            fg.sum(W * float(i + 1)).backward()

    for run in range(RUNS):
        W.grad = None
        _, err = _threads(work)
        assert err == [None] * NTHREADS, err
        want = per * sum(range(1, NTHREADS + 1))
        np.testing.assert_array_equal(np.array(W.grad), [want] * 3, err_msg=f"run {run}")


def test_grad_getter_and_setter_race_backward():
    """Reading and resetting .grad while other threads accumulate: no crash, and the
    values read are always whole sums of per-call gradients."""
    W = fg.tensor(np.zeros(4), requires_grad=True)
    stop = threading.Event()
    seen = []

    def reader():
        while not stop.is_set():
            g = W.grad
            if g is not None:
                seen.append(float(np.array(g)[0]))
            W.grad = None

    r = threading.Thread(target=reader)
    r.start()
    try:
        _, err = _threads(lambda i: [fg.sum(W * 1.0).backward() for _ in range(300)], n=4)
    finally:
        stop.set()
        r.join()
    assert err == [None] * 4, err
    assert all(v == int(v) and v >= 1 for v in seen)


@pytest.mark.parametrize("how", ["grad", "backward"])
def test_threads_share_one_graph_with_retain_graph(how):
    want, fresh = _one_graph(1)
    for run in range(RUNS):
        W, L = fresh()
        if how == "grad":
            res, err = _threads(lambda i: np.array(fg.autograd.grad(L, [W], retain_graph=True)[0]))
            assert err == [None] * NTHREADS, err
            for i, g in enumerate(res):
                np.testing.assert_array_equal(g, want, err_msg=f"run {run}, thread {i}")
        else:
            _, err = _threads(lambda i: L.backward(retain_graph=True))
            assert err == [None] * NTHREADS, err
            np.testing.assert_allclose(
                np.array(W.grad), NTHREADS * want, rtol=1e-12, atol=1e-12, err_msg=f"run {run}"
            )


def test_threads_share_a_graph_segment_with_retain_graph():
    """Different roots over one shared subgraph h(W): each thread's grad is exact."""
    Wn, Xs = _data(2)
    W = fg.tensor(Wn, requires_grad=True)
    h = fg.tanh(fg.tensor(Xs[0]) @ W)
    cs = [fg.tensor(X) for X in Xs]
    want = [np.array(fg.autograd.grad(fg.sum(fg.exp(h * c)), [W], retain_graph=True)[0]) for c in cs]
    for run in range(RUNS):
        res, err = _threads(
            lambda i: np.array(fg.autograd.grad(fg.sum(fg.exp(h * cs[i])), [W], retain_graph=True)[0])
        )
        assert err == [None] * NTHREADS, err
        for i in range(NTHREADS):
            np.testing.assert_array_equal(res[i], want[i], err_msg=f"run {run}, thread {i}")


@pytest.mark.parametrize("how", ["backward", "grad"])
def test_threads_share_one_graph_without_retain_graph(how):
    """Exactly one thread gets the gradient; all others the second-time RuntimeError."""
    want, fresh = _one_graph(3)
    for run in range(RUNS):
        W, L = fresh()
        if how == "backward":
            res, err = _threads(lambda i: L.backward())
        else:
            res, err = _threads(lambda i: np.array(fg.autograd.grad(L, [W])[0]))
        ok = [i for i in range(NTHREADS) if err[i] is None]
        assert len(ok) == 1, (run, err)
        for i in range(NTHREADS):
            if i not in ok:
                # backward: "a second time"; grad: "reached only through a freed graph"
                assert isinstance(err[i], RuntimeError) and re.search(
                    "second time|freed graph", str(err[i])
                ), err[i]
        if how == "backward":
            np.testing.assert_array_equal(np.array(W.grad), want, err_msg=f"run {run}")
        else:
            np.testing.assert_array_equal(res[ok[0]], want, err_msg=f"run {run}")
            assert W.grad is None


def test_threads_share_a_graph_segment_without_retain_graph():
    """Distinct roots over one shared subgraph, no retain_graph: one thread's backward
    runs, the others fail before touching W.grad (no partial accumulation)."""
    Wn, Xs = _data(4)
    cs = [fg.tensor(X) for X in Xs]
    for run in range(RUNS):
        W = fg.tensor(Wn, requires_grad=True)
        h = fg.tanh(fg.tensor(Xs[0]) @ W)
        Ls = [fg.sum(fg.exp(h * c)) for c in cs]
        _, err = _threads(lambda i: Ls[i].backward())
        ok = [i for i in range(NTHREADS) if err[i] is None]
        assert len(ok) == 1, (run, err)
        assert all(isinstance(e, RuntimeError) and "second time" in str(e) for e in err if e is not None), err
        W2 = fg.tensor(Wn, requires_grad=True)
        fg.sum(fg.exp(fg.tanh(fg.tensor(Xs[0]) @ W2) * cs[ok[0]])).backward()
        np.testing.assert_array_equal(np.array(W.grad), np.array(W2.grad), err_msg=f"run {run}")


def test_retained_and_freeing_passes_race_on_one_graph():
    """Some threads retain the graph, others free it: a retaining pass either completes
    with the exact gradient or meets the freed graph and raises; never a crash."""
    Wn, Xs = _data(5)
    Wser = fg.tensor(Wn, requires_grad=True)
    want = np.array(fg.autograd.grad(_loss(Xs[0], Wser), [Wser])[0])
    for run in range(RUNS):
        W = fg.tensor(Wn, requires_grad=True)
        L = _loss(Xs[0], W)
        res, err = _threads(lambda i: np.array(fg.autograd.grad(L, [W], retain_graph=(i % 2 == 0))[0]))
        for i in range(NTHREADS):
            if err[i] is None:
                np.testing.assert_array_equal(res[i], want, err_msg=f"run {run}, thread {i}")
            else:
                assert isinstance(err[i], RuntimeError) and re.search(
                    "second time|freed graph", str(err[i])
                ), err[i]
        # at most one freeing pass can have succeeded
        assert sum(1 for i in range(1, NTHREADS, 2) if err[i] is None) <= 1, (run, err)
