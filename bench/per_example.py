"""Per-example gradients of the 8 -> 128 -> 64 -> 16 GELU MLP, B = 64, float32: the
gradient of each example's squared error with respect to every parameter (cheat sheet §5:
the weighted loss Σ ω ℓ / Σ ω needs them per example), as one batched pass.

fastgrad ``vmap(grad(loss), in_axes=(None, 0, 0))`` beside JAX ``jit(vmap(grad))`` and
``torch.func.vmap(grad)``; interleaved rounds, median per call.

    python bench/per_example.py [--rounds 30] [--threads N]
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fastgrad as fg  # noqa: E402
from common import print_table, time_interleaved  # noqa: E402
from peers import jax, jnp, set_threads, torch  # noqa: E402  (optional peers, thread-matched)

SIZES = (8, 128, 64, 16)
B = 64


def params(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """PyTorch-layout weights (out, in) and biases of the MLP."""
    P = {}
    for i, (a, b) in enumerate(zip(SIZES[:-1], SIZES[1:])):
        P[f"W{i}"] = (rng.standard_normal((b, a)) / np.sqrt(a)).astype(np.float32)
        P[f"b{i}"] = (0.1 * rng.standard_normal(b)).astype(np.float32)
    return P


def main() -> None:
    """Time the per-example gradients per framework, check they agree, print the ratios."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--inner", type=int, default=5)
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()
    set_threads(args.threads)

    rng = np.random.default_rng(0)
    P = params(rng)
    X = rng.standard_normal((B, SIZES[0])).astype(np.float32)
    Y = rng.standard_normal((B, SIZES[-1])).astype(np.float32)
    n = len(SIZES) - 1

    def loss_fg(p, x, y):
        h = x
        for i in range(n):
            h = fg.nn.functional.linear(h, p[f"W{i}"], p[f"b{i}"])
            if i < n - 1:
                h = fg.nn.functional.gelu(h)
        return fg.sum((h - y) ** 2)

    pf = {k: fg.tensor(v) for k, v in P.items()}
    xf, yf = fg.tensor(X), fg.tensor(Y)
    pe_fg = fg.vmap(fg.grad(loss_fg), in_axes=(None, 0, 0))
    cases = {"fastgrad": lambda: pe_fg(pf, xf, yf)}
    ref = {k: v.numpy() for k, v in pe_fg(pf, xf, yf).items()}
    checks = {}

    if torch is not None:
        import torch.nn.functional as F

        def loss_t(p, x, y):
            h = x
            for i in range(n):
                h = F.linear(h, p[f"W{i}"], p[f"b{i}"])
                if i < n - 1:
                    h = F.gelu(h)
            return ((h - y) ** 2).sum()

        pt = {k: torch.from_numpy(v) for k, v in P.items()}
        xt, yt = torch.from_numpy(X), torch.from_numpy(Y)
        pe_t = torch.func.vmap(torch.func.grad(loss_t), in_dims=(None, 0, 0))
        cases["torch.func"] = lambda: pe_t(pt, xt, yt)
        checks["torch.func"] = {k: v.numpy() for k, v in pe_t(pt, xt, yt).items()}

    if jax is not None:

        def loss_j(p, x, y):
            h = x
            for i in range(n):
                h = h @ p[f"W{i}"].T + p[f"b{i}"]
                if i < n - 1:
                    h = jax.nn.gelu(h, approximate=False)
            return jnp.sum((h - y) ** 2)

        pj = {k: jnp.asarray(v) for k, v in P.items()}
        xj, yj = jnp.asarray(X), jnp.asarray(Y)
        pe_j = jax.jit(jax.vmap(jax.grad(loss_j), in_axes=(None, 0, 0)))
        cases["jax.jit"] = lambda: jax.block_until_ready(pe_j(pj, xj, yj))
        checks["jax.jit"] = {k: np.asarray(v) for k, v in pe_j(pj, xj, yj).items()}

    for who, g in checks.items():
        err = max(float(np.max(np.abs(g[k] - ref[k]))) for k in ref)
        print(f"{who:12s} max abs. difference to fastgrad: {err:.2e}")

    times = time_interleaved(cases, rounds=args.rounds, inner=args.inner, warmup=3)
    print(
        f"\nPer-example gradients, MLP {'-'.join(map(str, SIZES))} GELU, B={B}, float32, threads={fg.get_num_threads()}"
    )
    print_table(
        [("vmap(grad)", times)], unit="us", scale=1e6, baseline="jax.jit" if jax is not None else None
    )


if __name__ == "__main__":
    main()
