"""Property fuzz: concurrent backward on shared leaves and shared graphs (issue 10, item 4).

For a random small graph (a random chain of ops between a shared float64 leaf W and a
scalar loss), random thread counts and random modes, threads running at once (backward
releases the GIL) must give exactly what the same passes give one after another:

* ``leaf``: each thread builds its own loss from W and calls ``.backward()``; W.grad is the
  sum of the serial gradients (to 1e-12: only the order of the additions differs);
* ``retain``: one graph built once, every thread calls ``fg.autograd.grad(loss, [W],
  retain_graph=True)``; every thread gets the serial gradient bitwise;
* ``free``: one graph, every thread calls ``loss.backward()`` without retain_graph; exactly
  one succeeds (W.grad equals the serial gradient bitwise), every other thread gets the
  "backward through the graph a second time" RuntimeError.

Every example repeats its scenario several times (a lost update shows only in some runs),
so the ci profile runs over 100 concurrent rounds per mode.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fastgrad as fg
from _threads_util import run_threads
from fuzz_profiles import BASE, COUNTER

OPS = {
    "tanh": fg.tanh,
    "exp_half": lambda h: fg.exp(h * 0.5),
    "sigmoid": fg.sigmoid,
    "square": lambda h: h * h,
    "softmax": lambda h: fg.softmax(h, -1),
    "matmul_self": lambda h: h @ h.T * 0.1,
    "sum_keep": lambda h: h - fg.sum(h, axis=-1, keepdims=True) * 0.25,
}
ROUNDS = 4


def _loss(ops, X, W, k):
    h = fg.tensor(X) @ W
    for name in ops:
        h = OPS[name](h)
    return fg.sum(h) * (k + 1.0)


@pytest.mark.parametrize("mode", ["leaf", "retain", "free"])
@settings(parent=BASE)
@given(
    ops=st.lists(st.sampled_from(sorted(OPS)), min_size=1, max_size=5),
    nthreads=st.integers(2, 6),
    n=st.integers(2, 24),
    seed=st.integers(0, 2**31 - 1),
)
def test_concurrent_backward_is_exact(mode, ops, nthreads, n, seed):
    rng = np.random.default_rng(seed)
    Wn = rng.standard_normal((n, n)) / np.sqrt(n)
    Xs = [rng.standard_normal((n, n)) for _ in range(nthreads)]
    for _ in range(ROUNDS):
        if mode == "leaf":
            serial = []
            for k in range(nthreads):
                W = fg.tensor(Wn, requires_grad=True)
                _loss(ops, Xs[k], W, k).backward()
                serial.append(np.array(W.grad))
            W = fg.tensor(Wn, requires_grad=True)
            _, err = run_threads(lambda i: _loss(ops, Xs[i], W, i).backward(), nthreads)
            assert err == [None] * nthreads, err
            np.testing.assert_allclose(np.array(W.grad), np.sum(serial, axis=0), rtol=1e-12, atol=1e-12)
        elif mode == "retain":
            W = fg.tensor(Wn, requires_grad=True)
            loss = _loss(ops, Xs[0], W, 0)
            (want,) = fg.autograd.grad(loss, [W], retain_graph=True)
            got, err = run_threads(lambda i: fg.autograd.grad(loss, [W], retain_graph=True)[0], nthreads)
            assert err == [None] * nthreads, err
            for g in got:
                np.testing.assert_array_equal(np.array(g), np.array(want))
        else:
            W0 = fg.tensor(Wn, requires_grad=True)
            _loss(ops, Xs[0], W0, 0).backward()
            W = fg.tensor(Wn, requires_grad=True)
            loss = _loss(ops, Xs[0], W, 0)
            _, err = run_threads(lambda i: loss.backward(), nthreads)
            ok = [e is None for e in err]
            assert sum(ok) == 1, err
            for e in err:
                if e is not None:
                    assert isinstance(e, RuntimeError) and "second time" in str(e), repr(e)
            np.testing.assert_array_equal(np.array(W.grad), np.array(W0.grad))
        COUNTER.hit(f"concurrent-{mode}", "+".join(ops))
