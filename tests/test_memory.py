"""Memory behaviour over long runs (issue 7, item 3).

* a 100,000-step training loop (tiny MLP: matmul, tanh, MSE, backward, SGD under
  ``fg.no_grad``) keeps its resident set flat after warm-up;
* the tape is freed by ``backward`` (live autograd nodes return to the baseline) and
  the number of live tensors stays bounded;
* the allocator cache honours ``set_cache_limit`` and ``empty_cache`` empties it.

The long loop runs in CI (about 20-40 s on two cores); it is an ordinary test.
"""

from __future__ import annotations

import gc
import os

import numpy as np
import pytest

import fastgrad as fg

C = fg._C
PAGE = os.sysconf("SC_PAGE_SIZE")
STEPS = int(os.environ.get("FASTGRAD_MEMORY_STEPS", "100000"))
WARMUP = 5000


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


def make_mlp(seed=0):
    rng = np.random.default_rng(seed)
    params = [
        fg.tensor(rng.standard_normal((4, 16)) * 0.5, dtype=fg.float32),
        fg.zeros(16),
        fg.tensor(rng.standard_normal((16, 1)) * 0.25, dtype=fg.float32),
        fg.zeros(1),
    ]
    for p in params:
        p.requires_grad = True
    x = fg.tensor(rng.standard_normal((8, 4)), dtype=fg.float32)
    y = fg.tensor(rng.standard_normal((8, 1)), dtype=fg.float32)
    return params, x, y


def step(params, x, y, lr=1e-2):
    w1, b1, w2, b2 = params
    h = fg.tanh(x @ w1 + b1)
    out = h @ w2 + b2
    loss = fg.mean((out - y) ** 2)
    loss.backward()
    with fg.no_grad():
        for p in params:
            p.sub_(p.grad * lr)
            p.grad = None
    return loss


def test_training_loop_rss_flat_and_tape_freed():
    params, x, y = make_mlp()
    gc.collect()
    nodes0 = C.live_nodes()
    first = step(params, x, y).item()
    for _ in range(WARMUP):
        step(params, x, y)
    gc.collect()
    tensors_warm = C.live_tensors()
    rss0 = rss_bytes()
    samples = []
    for i in range(STEPS):
        loss = step(params, x, y)
        if i % 5000 == 0:
            samples.append(rss_bytes())
            assert C.live_nodes() <= nodes0 + 1, "tape nodes survive backward"
    last = loss.item()
    del loss
    gc.collect()
    samples.append(rss_bytes())
    drift = (max(samples) - rss0) / 2**20
    print(
        f"RSS after warm-up {rss0 / 2**20:.1f} MB, max drift over {STEPS} steps {drift:.2f} MB, "
        f"live tensors {C.live_tensors()} (warm {tensors_warm}), loss {first:.3g} -> {last:.3g}"
    )
    assert drift < 4.0, f"RSS grew by {drift:.2f} MB over {STEPS} steps: {[s // 2**20 for s in samples]}"
    assert C.live_nodes() == nodes0
    assert C.live_tensors() <= tensors_warm + 2
    assert last < first  # it did train


def test_tape_freed_after_backward_and_on_drop():
    gc.collect()
    nodes0, tensors0 = C.live_nodes(), C.live_tensors()
    x = fg.randn(5, 5, requires_grad=True)
    y = fg.sum(fg.exp(fg.tanh(x @ x) * 2.0))
    assert C.live_nodes() > nodes0
    y.backward()
    # backward frees the graph: only the output's own grad_fn lives on while y does
    assert C.live_nodes() <= nodes0 + 1
    del y
    assert C.live_nodes() == nodes0
    # a graph that is never differentiated is freed when its output goes away
    z = fg.sum(fg.sin(x) * fg.cos(x))
    assert C.live_nodes() > nodes0
    del z
    gc.collect()
    assert C.live_nodes() == nodes0
    # retain_graph keeps it until the output is dropped
    w = fg.sum(x * x)
    w.backward(retain_graph=True)
    w.backward()
    del w
    x.grad = None
    del x
    gc.collect()
    assert C.live_nodes() == nodes0
    assert C.live_tensors() == tensors0


def test_create_graph_cycle_is_collected():
    """x.grad made with create_graph refers back to the graph; dropping x frees it."""
    gc.collect()
    nodes0, tensors0 = C.live_nodes(), C.live_tensors()
    for _ in range(50):
        x = fg.randn(8, requires_grad=True)
        y = fg.sum(fg.tanh(x) ** 3)
        y.backward(create_graph=True)
        g = fg.sum(x.grad)
        g.backward()
        del x, y, g
    gc.collect()
    assert C.live_nodes() == nodes0
    assert C.live_tensors() <= tensors0 + 1


def test_cache_limit_and_empty_cache():
    stats0 = C.pool_stats()
    try:
        C.set_cache_limit(1 << 20)
        for n in (1000, 20000, 100000, 300000):
            t = fg.ones(n)
            del t
            assert C.pool_stats()["cached_bytes"] <= 1 << 20
        C.set_cache_limit(64 << 20)
        ts = [fg.ones(100000) for _ in range(20)]  # 8 MB live
        live = C.pool_stats()["live_bytes"]
        assert live >= 20 * 400000
        del ts
        st = C.pool_stats()
        assert st["cached_bytes"] > 0
        assert st["cached_bytes"] <= 64 << 20
        fg.empty_cache()
        assert C.pool_stats()["cached_bytes"] == 0
        # the pool keeps working after being emptied
        assert fg.ones(1000).sum().item() == 1000.0
    finally:
        C.set_cache_limit(stats0["cache_limit"])


def test_cache_does_not_grow_without_bound():
    """Many distinct sizes: the cache stays under its limit."""
    limit = 4 << 20
    old = C.pool_stats()["cache_limit"]
    try:
        C.set_cache_limit(limit)
        rng = np.random.default_rng(0)
        for n in rng.integers(1, 200000, 2000):
            t = fg.zeros(int(n))
            del t
            assert C.pool_stats()["cached_bytes"] <= limit
    finally:
        C.set_cache_limit(old)
        fg.empty_cache()


@pytest.mark.parametrize("bad", [-1, 2**70])
def test_cache_limit_rejects_nonsense(bad):
    with pytest.raises((ValueError, TypeError, OverflowError)):
        C.set_cache_limit(bad)
