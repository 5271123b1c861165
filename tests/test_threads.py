"""Python threads and OpenMP threads (issue 7, item 4).

* kernels release the GIL: a pure-Python counter keeps running while another thread
  is inside a long ``fg.matmul``, and two threads' matmuls overlap in time;
* several Python threads running their own forward/backward passes at once get
  bitwise the results they get one after another (fixed thread count); grad mode is
  per thread;
* ``fg.set_num_threads`` changes the OpenMP team at run time, results stay correct
  and ``fg.get_num_threads`` reflects it.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

import fastgrad as fg


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
    a, b = _big()
    fg.matmul(a, b)  # warm-up (packing buffers, thread pool)
    t0 = time.perf_counter()
    for _ in range(3):
        fg.matmul(a, b)
    per = (time.perf_counter() - t0) / 3
    reps = max(3, int(0.6 / max(per, 1e-4)))

    # the counter's solo rate
    def count_for(seconds):
        n, end = 0, time.perf_counter() + seconds
        while time.perf_counter() < end:
            n += 1
        return n

    solo = count_for(0.3) / 0.3

    done = threading.Event()
    busy = []

    def worker():
        t = time.perf_counter()
        for _ in range(reps):
            fg.matmul(a, b)
        busy.append(time.perf_counter() - t)
        done.set()

    th = threading.Thread(target=worker)
    n = 0
    th.start()
    t = time.perf_counter()
    while not done.is_set():
        n += 1
    elapsed = time.perf_counter() - t
    th.join()
    rate = n / elapsed
    print(
        f"matmul {per * 1e3:.1f} ms x {reps}; counter {rate:.3g}/s while busy vs {solo:.3g}/s alone "
        f"({100 * rate / solo:.0f}%)"
    )
    # With the GIL held for the whole matmul the counter would be starved (it only
    # runs between the worker's Python bytecodes: a few percent at most).
    assert rate > 0.25 * solo


def test_two_threads_matmuls_overlap():
    a, b = _big(768)
    c, d = _big(768, seed=1)
    fg.matmul(a, b)
    spans = {0: [], 1: []}
    barrier = threading.Barrier(2)

    def worker(k, x, y):
        barrier.wait()
        for _ in range(6):
            t = time.perf_counter()
            fg.matmul(x, y)
            spans[k].append((t, time.perf_counter()))

    ths = [threading.Thread(target=worker, args=(0, a, b)), threading.Thread(target=worker, args=(1, c, d))]
    for th in ths:
        th.start()
    for th in ths:
        th.join()
    overlap = sum(max(0.0, min(e0, e1) - max(s0, s1)) for s0, e0 in spans[0] for s1, e1 in spans[1])
    total = sum(e - s for s, e in spans[0])
    print(f"two threads: {100 * overlap / total:.0f}% of thread 0's matmul time overlapped thread 1's")
    assert overlap > 0.2 * total, "matmuls in two threads never ran at the same time (GIL held?)"


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
    results, errors = {}, []

    def worker(s):
        try:
            fg.set_num_threads(nthreads)  # OpenMP's team size is per calling thread
            results[s] = _model_run(s)
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    ths = [threading.Thread(target=worker, args=(s,)) for s in seeds]
    for th in ths:
        th.start()
    for th in ths:
        th.join()
    assert not errors, errors
    for s in seeds:
        for got, want in zip(results[s], serial[s]):
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
