"""Hessian of a 64-parameter function and a batch of Hessian-vector products, float32.

f(x) = sum(tanh(A x + b)^2) + 0.1 sum(x^4), x in R^64, A (32, 64). Cases:

* ``hessian``: the (64, 64) Hessian (fastgrad ``hessian`` = jacfwd of jacrev; torch.func
  ``hessian``; ``jax.jit(jax.hessian)``);
* ``vmap hvp``: 16 Hessian-vector products H v_i at once, vmap over the tangents of
  forward-over-reverse (``vmap(lambda v: jvp(grad f, x, v))``), each framework's own.

Interleaved rounds, median per call; checks the three agree.

    python bench/hessian.py [--rounds 30] [--threads N]

Target (issue 14): fastgrad >= 1x JAX jit on both.
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


def main() -> None:
    """Time the Hessian (64, 64) and 16 batched HVPs (16, 64) per framework; print the ratios."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--inner", type=int, default=5)
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()
    set_threads(args.threads)

    rng = np.random.default_rng(0)
    n, m, k = 64, 32, 16
    An = (rng.standard_normal((m, n)) / np.sqrt(n)).astype(np.float32)
    bn = (0.1 * rng.standard_normal(m)).astype(np.float32)
    xn = rng.standard_normal(n).astype(np.float32)
    Vn = rng.standard_normal((k, n)).astype(np.float32)

    A, b, x, V = fg.tensor(An), fg.tensor(bn), fg.tensor(xn), fg.tensor(Vn)

    def f_fg(x):
        return (fg.tanh(A @ x + b) ** 2).sum() + 0.1 * (x**4).sum()

    hess_fg = fg.hessian(f_fg)
    hvps_fg = fg.vmap(lambda v: fg.hvp(f_fg, (x,), (v,)))
    cases = {"hessian": {"fastgrad": lambda: hess_fg(x)}, "vmap hvp": {"fastgrad": lambda: hvps_fg(V)}}
    ref = hess_fg(x).numpy()
    checks = {"fastgrad vmap hvp": (hvps_fg(V).numpy(), Vn @ ref.T)}

    if torch is not None:
        At, bt, xt, Vt = (torch.from_numpy(a) for a in (An, bn, xn, Vn))

        def f_t(x):
            return (torch.tanh(At @ x + bt) ** 2).sum() + 0.1 * (x**4).sum()

        hess_t = torch.func.hessian(f_t)
        g_t = torch.func.grad(f_t)
        hvps_t = torch.func.vmap(lambda v: torch.func.jvp(g_t, (xt,), (v,))[1])
        cases["hessian"]["torch.func"] = lambda: hess_t(xt)
        cases["vmap hvp"]["torch.func"] = lambda: hvps_t(Vt)
        checks["torch hessian"] = (hess_t(xt).numpy(), ref)
        checks["torch vmap hvp"] = (hvps_t(Vt).numpy(), Vn @ ref.T)

    if jax is not None:
        Aj, bj, xj, Vj = (jnp.asarray(a) for a in (An, bn, xn, Vn))

        def f_j(x):
            return (jnp.tanh(Aj @ x + bj) ** 2).sum() + 0.1 * (x**4).sum()

        hess_j = jax.jit(jax.hessian(f_j))
        g_j = jax.grad(f_j)
        hvps_j = jax.jit(jax.vmap(lambda v: jax.jvp(g_j, (xj,), (v,))[1]))
        cases["hessian"]["jax.jit"] = lambda: hess_j(xj).block_until_ready()
        cases["vmap hvp"]["jax.jit"] = lambda: hvps_j(Vj).block_until_ready()
        checks["jax hessian"] = (np.asarray(hess_j(xj)), ref)
        checks["jax vmap hvp"] = (np.asarray(hvps_j(Vj)), Vn @ ref.T)

    for name, (got, want) in checks.items():
        err = float(np.max(np.abs(got - want)) / max(1.0, float(np.max(np.abs(want)))))
        print(f"{name:18s} max rel. difference to fastgrad's Hessian: {err:.2e}")
        if err > 1e-3:
            raise SystemExit(f"{name} disagrees with fastgrad's Hessian")

    rows = [
        (name, time_interleaved(fns, rounds=args.rounds, inner=args.inner, warmup=3))
        for name, fns in cases.items()
    ]
    print(f"\nHessian (64x64) and 16 HVPs of f: R^64 -> R, float32, threads={fg.get_num_threads()}")
    print_table(rows, unit="us", scale=1e6, baseline="jax.jit" if jax is not None else None)


if __name__ == "__main__":
    main()
