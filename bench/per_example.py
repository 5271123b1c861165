"""Per-example gradients of the 8 -> 128 -> 64 -> 16 GELU MLP, B = 64, float32: the
gradient of each example's squared error with respect to every parameter (cheat sheet §5:
the weighted loss Σ ω ℓ / Σ ω needs them per example), as one batched pass.

fastgrad ``vmap(grad(loss), in_axes=(None, 0, 0))`` beside JAX ``jit(vmap(grad))`` and
``torch.func.vmap(grad)``; interleaved rounds in one process, median per call, and with
``--per-process`` each system alone in its own process too (a peer's spinning thread pool
then cannot slow the others), alternated, median of the processes.

    python bench/per_example.py [--rounds 30] [--threads N] [--per-process [--runs 5]]

Targets (issue 14): fastgrad >= 1x JAX jit and >= 5x torch.func.
"""

from __future__ import annotations

import os
import sys
from typing import Any, Callable

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

SIZES = (8, 128, 64, 16)
B = 64
SYSTEMS = ("fastgrad", "torch.func", "jax.jit")


def params(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """PyTorch-layout weights (out, in) and biases of the MLP."""
    P = {}
    for i, (a, b) in enumerate(zip(SIZES[:-1], SIZES[1:])):
        P[f"W{i}"] = (rng.standard_normal((b, a)) / np.sqrt(a)).astype(np.float32)
        P[f"b{i}"] = (0.1 * rng.standard_normal(b)).astype(np.float32)
    return P


def data() -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    P = params(rng)
    X = rng.standard_normal((B, SIZES[0])).astype(np.float32)
    Y = rng.standard_normal((B, SIZES[-1])).astype(np.float32)
    return P, X, Y


def build(system: str) -> tuple[Callable[[], Any], dict[str, np.ndarray]]:
    """The per-example gradient call of `system` (only its library imported) and its result."""
    P, X, Y = data()
    n = len(SIZES) - 1
    if system == "fastgrad":
        import fastgrad as fg

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
        return (lambda: pe_fg(pf, xf, yf)), {k: v.numpy() for k, v in pe_fg(pf, xf, yf).items()}
    if system == "torch.func":
        import torch
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
        return (lambda: pe_t(pt, xt, yt)), {k: v.numpy() for k, v in pe_t(pt, xt, yt).items()}
    import jax
    import jax.numpy as jnp

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
    return (lambda: jax.block_until_ready(pe_j(pj, xj, yj))), {
        k: np.asarray(v) for k, v in pe_j(pj, xj, yj).items()
    }


def main() -> None:
    """Time the per-example gradients per framework, check they agree, print the ratios."""
    from common import build_systems, report

    args, built = build_systems(SYSTEMS, lambda s: {"vmap(grad)": build(s)})
    if built is None:
        return
    ref = built["fastgrad"]["vmap(grad)"][1]
    for who in list(built)[1:]:
        g = built[who]["vmap(grad)"][1]
        err = max(float(np.max(np.abs(g[k] - ref[k]))) for k in ref)
        print(f"{who:12s} max abs. difference to fastgrad: {err:.2e}")

    title = f"Per-example gradients, MLP {'-'.join(map(str, SIZES))} GELU, B={B}, float32"
    report(__file__, title, built, args)


if __name__ == "__main__":
    main()
