"""One training step (forward, MSE loss, backward, Adam update) of three MLPs, fastgrad
vs PyTorch eager vs JAX jit (Adam written by hand in JAX), interleaved rounds, medians.

  python bench/train_step.py [--rounds 15] [--threads N] [--per-process [--runs 5]]

--per-process also runs each system alone in a fresh process (common.per_process), so
a peer's spinning thread pool (XLA's, OpenMP's) cannot slow the others.

Models: 3-64-1 ReLU B=32, 8-128-64-16 GELU B=64, 784-512-512-10 ReLU B=128.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fastgrad as fg  # noqa: E402
import fastgrad.nn as fnn  # noqa: E402
import fastgrad.optim as foptim  # noqa: E402
from common import per_process, print_table, time_interleaved  # noqa: E402

CASES = [
    ("3-64-1 relu B=32", [3, 64, 1], "relu", 32, 400),
    ("8-128-64-16 gelu B=64", [8, 128, 64, 16], "gelu", 64, 200),
    ("784-512-512-10 relu B=128", [784, 512, 512, 10], "relu", 128, 5),
]


def fg_step(sizes, act, B, rng):
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(fnn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(fnn.ReLU() if act == "relu" else fnn.GELU())
    model = fnn.fuse(fnn.Sequential(*layers))
    opt = foptim.Adam(model.parameters(), lr=1e-3)
    x = fg.tensor(rng.standard_normal((B, sizes[0])).astype(np.float32))
    y = fg.tensor(rng.standard_normal((B, sizes[-1])).astype(np.float32))
    mse = fnn.functional.mse_loss

    def step():
        opt.zero_grad()
        loss = mse(model(x), y)
        loss.backward()
        opt.step()
        return loss

    return step


def torch_step(sizes, act, B, rng):
    import torch

    layers = []
    for i in range(len(sizes) - 1):
        layers.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(torch.nn.ReLU() if act == "relu" else torch.nn.GELU())
    model = torch.nn.Sequential(*layers)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.tensor(rng.standard_normal((B, sizes[0])).astype(np.float32))
    y = torch.tensor(rng.standard_normal((B, sizes[-1])).astype(np.float32))

    def step():
        opt.zero_grad(set_to_none=True)
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        return loss

    return step


def jax_step(sizes, act, B, rng):
    import jax
    import jax.numpy as jnp

    params = []
    for i in range(len(sizes) - 1):
        b = 1 / np.sqrt(sizes[i])
        params.append(
            (
                jnp.asarray(rng.uniform(-b, b, (sizes[i], sizes[i + 1])).astype(np.float32)),
                jnp.asarray(rng.uniform(-b, b, sizes[i + 1]).astype(np.float32)),
            )
        )
    x = jnp.asarray(rng.standard_normal((B, sizes[0])).astype(np.float32))
    y = jnp.asarray(rng.standard_normal((B, sizes[-1])).astype(np.float32))
    f = jax.nn.relu if act == "relu" else (lambda v: jax.nn.gelu(v, approximate=False))

    def loss_fn(ps):
        h = x
        for i, (w, b) in enumerate(ps):
            h = h @ w + b
            if i < len(ps) - 1:
                h = f(h)
        return jnp.mean((h - y) ** 2)

    b1, b2, eps, lr = 0.9, 0.999, 1e-8, 1e-3

    @jax.jit
    def step(ps, m, v, t):
        loss, g = jax.value_and_grad(loss_fn)(ps)
        t = t + 1
        m = jax.tree_util.tree_map(lambda a, b: b1 * a + (1 - b1) * b, m, g)
        v = jax.tree_util.tree_map(lambda a, b: b2 * a + (1 - b2) * b * b, v, g)
        c1, c2 = 1 - b1**t, 1 - b2**t
        ps = jax.tree_util.tree_map(lambda p, a, b: p - lr * (a / c1) / (jnp.sqrt(b / c2) + eps), ps, m, v)
        return ps, m, v, t, loss

    zeros = jax.tree_util.tree_map(jnp.zeros_like, params)
    state = [params, zeros, zeros, jnp.asarray(0, jnp.float32)]

    def run():
        ps, m, v, t, loss = step(*state)
        state[:] = [ps, m, v, t]
        loss.block_until_ready()
        return loss

    return run


def run_child(a: argparse.Namespace) -> None:
    """One system alone (common.per_process's child): prints {case: seconds per step}."""
    import json

    make = {"fastgrad": fg_step, "torch": torch_step, "jax_jit": jax_step}[a.child]
    if a.child == "torch":
        import torch

        torch.set_num_threads(a.threads or 2)
    out = {}
    for label, sizes, act, B, inner in CASES:
        if a.only and a.only not in label:
            continue
        fn = make(sizes, act, B, np.random.default_rng(0))
        out[label] = time_interleaved({label: fn}, rounds=a.rounds, inner=inner, warmup=3)[label]
    print(json.dumps(out))


def main() -> None:
    """Time one training step of each MLP (x: (B, D_in), y: (B, D_out)) per framework and print the ratios."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--threads", type=int, default=None, help="threads for all three frameworks")
    ap.add_argument("--only", default=None, help="substring of a case label")
    ap.add_argument("--per-process", action="store_true")
    ap.add_argument("--runs", type=int, default=5, help="processes per system with --per-process")
    ap.add_argument("--child", choices=["fastgrad", "torch", "jax_jit"], help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.threads:
        fg.set_num_threads(a.threads)
    if a.child:
        run_child(a)
        return
    peers = {}
    try:
        import torch

        if a.threads:
            torch.set_num_threads(a.threads)
        peers["torch"] = torch_step
    except ImportError:
        print("torch not importable: skipped")
    try:
        import jax  # noqa: F401

        peers["jax_jit"] = jax_step
    except ImportError:
        print("jax not importable: skipped")
    print(f"fastgrad threads={fg.get_num_threads()}, load average {os.getloadavg()[0]:.1f}")
    rows = []
    for label, sizes, act, B, inner in CASES:
        if a.only and a.only not in label:
            continue
        fns = {"fastgrad": fg_step(sizes, act, B, np.random.default_rng(0))}
        for name, mk in peers.items():
            fns[name] = mk(sizes, act, B, np.random.default_rng(0))
        t = time_interleaved(fns, rounds=a.rounds, inner=inner, warmup=3)
        rows.append((label, t))
    cols = list(rows[0][1])
    print_table(rows, baseline="fastgrad")
    if a.per_process:
        extra = ["--rounds", str(a.rounds)] + (["--only", a.only] if a.only else [])
        pp = per_process(__file__, ["fastgrad", *peers], a.threads or fg.get_num_threads(), a.runs, extra)
        print(f"each system alone in its own process, median of {a.runs} processes:")
        print_table([(f"{k} per process", v) for k, v in pp.items()], baseline="fastgrad")
    print("\nspeed-up of fastgrad (peer time / fastgrad time):")
    for label, t in rows:
        print(
            f"  {label:<28} "
            + "  ".join(f"{c}: {t[c] / t['fastgrad']:.2f}x" for c in cols if c != "fastgrad")
        )


if __name__ == "__main__":
    main()
