"""Python threads and OpenMP threads (issue 7, item 4).

* kernels release the GIL: Python code in another thread runs while a thread is inside
  a long ``fg.matmul``, and two threads are inside their matmuls at once;
* several Python threads running their own forward/backward passes at once get
  bitwise the results they get one after another (fixed thread count); grad mode is
  per thread;
* ``fg.set_num_threads`` changes the OpenMP team at run time, results stay correct
  and ``fg.get_num_threads`` reflects it.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

import fastgrad as fg
from _threads_util import max_inside_at_once, run_threads


@pytest.fixture(autouse=True)
def _restore_threads():
    n = fg.get_num_threads()
    yield
    fg.set_num_threads(n)


def _big(n=1024, seed=0):
    rng = np.random.default_rng(seed)
    return fg.tensor(rng.standard_normal((n, n)), dtype=fg.float32), fg.tensor(
        rng.standard_normal((n, n)), dtype=fg.float32
    )


def test_matmul_releases_the_gil():
    """Python code in another thread runs while a long fg.matmul is inside its kernel
    (with the GIL held it could not: see _threads_util.max_inside_at_once)."""
    a, b = _big()
    fg.matmul(a, b)  # warm-up (packing buffers, thread pool)
    assert max_inside_at_once([lambda: fg.matmul(a, b)]) == 1, "fg.matmul held the GIL"


def test_two_threads_matmuls_overlap():
    a, b = _big(768)
    c, d = _big(768, seed=1)
    fg.matmul(a, b)
    seen = max_inside_at_once([lambda: fg.matmul(a, b), lambda: fg.matmul(c, d)])
    assert seen == 2, "matmuls in two threads never ran at the same time (GIL held?)"


def _model_run(seed, steps=20):
    """A small net's forward/backward/SGD, returning the loss trace and final params."""
    rng = np.random.default_rng(seed)
    w1 = fg.tensor(rng.standard_normal((64, 128)) * 0.1, dtype=fg.float32, requires_grad=True)
    w2 = fg.tensor(rng.standard_normal((128, 10)) * 0.1, dtype=fg.float32, requires_grad=True)
    x = fg.tensor(rng.standard_normal((256, 64)), dtype=fg.float32)
    y = fg.tensor(rng.standard_normal((256, 10)), dtype=fg.float32)
    losses = []
    for _ in range(steps):
        h = fg.gelu(x @ w1)
        out = fg.log_softmax(h @ w2, axis=-1)
        loss = fg.mean((out - y) ** 2) + fg.sum(fg.softplus(w1)) * 1e-4
        loss.backward()
        losses.append(loss.item())
        with fg.no_grad():
            for p in (w1, w2):
                p.sub_(p.grad * 0.1)
                p.grad = None
    return np.array(losses), w1.numpy().copy(), w2.numpy().copy()


@pytest.mark.parametrize("nthreads", [1, 2])
def test_concurrent_training_matches_serial_bitwise(nthreads):
    fg.set_num_threads(nthreads)
    seeds = [0, 1, 2, 3]
    serial = {s: _model_run(s) for s in seeds}

    def worker(i):
        fg.set_num_threads(nthreads)  # OpenMP's team size is per calling thread
        return _model_run(seeds[i])

    results, errors = run_threads(worker, len(seeds))
    assert errors == [None] * len(seeds), errors
    for i, s in enumerate(seeds):
        for got, want in zip(results[i], serial[s]):
            np.testing.assert_array_equal(got, want)


def test_grad_mode_is_per_thread():
    """A thread inside no_grad does not switch off recording in another thread."""
    inside = threading.Event()
    release = threading.Event()

    def holder():
        with fg.no_grad():
            inside.set()
            release.wait(10)

    th = threading.Thread(target=holder)
    th.start()
    inside.wait(10)
    try:
        x = fg.ones(3, requires_grad=True)
        y = fg.sum(x * 2.0)
        assert y.requires_grad and y.grad_fn is not None
        y.backward()
        np.testing.assert_array_equal(x.grad.numpy(), [2, 2, 2])
    finally:
        release.set()
        th.join()


def test_set_num_threads_at_runtime():
    a, b = _big(256)
    want = np.asarray(a).astype(np.float64) @ np.asarray(b).astype(np.float64)
    outs = {}
    for n in (1, 2, 1, 3, 2):
        fg.set_num_threads(n)
        assert fg.get_num_threads() == n
        got = fg.matmul(a, b).numpy()
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-3)
        # identical run to run for a fixed thread count
        if n in outs:
            np.testing.assert_array_equal(got, outs[n])
        outs[n] = got
        x = fg.randn(300, 300)
        np.testing.assert_allclose(
            fg.sum(fg.tanh(x), axis=0).numpy(), np.tanh(x.numpy()).sum(0), rtol=1e-4, atol=1e-4
        )
    with pytest.raises(ValueError, match="set_num_threads"):
        fg.set_num_threads(0)


def test_set_num_threads_applies_to_other_python_threads():
    fg.set_num_threads(1)
    seen = []
    th = threading.Thread(target=lambda: seen.append(fg.get_num_threads()))
    th.start()
    th.join()
    assert seen == [1]


def _env_after_import(env: dict[str, str]) -> list[str]:
    import os
    import subprocess
    import sys

    base = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    code = "import os, fastgrad; print(os.environ.get('OMP_WAIT_POLICY'), os.environ.get('GOMP_SPINCOUNT'))"
    out = subprocess.run(
        [sys.executable, "-c", code], env={**base, **env}, capture_output=True, text=True, check=True
    )
    return out.stdout.split()


def test_wait_policy_default_is_a_short_spin_and_the_users_choice_wins():
    # bench/wait_policy.py measured these: a bounded spin keeps the workers of the next
    # op of a step awake without holding cores that other libraries need.
    assert _env_after_import({}) == ["PASSIVE", "3000"]
    assert _env_after_import({"OMP_WAIT_POLICY": "ACTIVE"}) == ["ACTIVE", "None"]
    assert _env_after_import({"GOMP_SPINCOUNT": "50"}) == ["None", "50"]
