"""Hessian of a 64-parameter function and a batch of Hessian-vector products, float32.

f(x) = sum(tanh(A x + b)^2) + 0.1 sum(x^4), x in R^64, A (32, 64). Cases:

* ``hessian``: the (64, 64) Hessian (fastgrad ``hessian`` = jacfwd of jacrev; torch.func
  ``hessian``; ``jax.jit(jax.hessian)``);
* ``vmap hvp``: 16 Hessian-vector products H v_i at once, vmap over the tangents of
  forward-over-reverse (``vmap(lambda v: jvp(grad f, x, v))``), each framework's own.

Interleaved rounds in one process, median per call, and with ``--per-process`` each system
alone in its own process too; checks the three agree.

    python bench/hessian.py [--rounds 30] [--threads N] [--per-process [--runs 5]]

Target (issue 14): fastgrad >= 1x JAX jit on both.
"""

from __future__ import annotations

import os
import sys
from typing import Any, Callable

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

SYSTEMS = ("fastgrad", "torch.func", "jax.jit")
CASES = ("hessian", "vmap hvp")


def data() -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(0)
    n, m, k = 64, 32, 16
    A = (rng.standard_normal((m, n)) / np.sqrt(n)).astype(np.float32)
    b = (0.1 * rng.standard_normal(m)).astype(np.float32)
    x = rng.standard_normal(n).astype(np.float32)
    V = rng.standard_normal((k, n)).astype(np.float32)
    return A, b, x, V


def build(system: str) -> dict[str, tuple[Callable[[], Any], np.ndarray]]:
    """{case: (call, result)} of `system`, only its library imported."""
    An, bn, xn, Vn = data()
    if system == "fastgrad":
        import fastgrad as fg

        A, b, x, V = fg.tensor(An), fg.tensor(bn), fg.tensor(xn), fg.tensor(Vn)

        def f_fg(x):
            return (fg.tanh(A @ x + b) ** 2).sum() + 0.1 * (x**4).sum()

        hess = fg.hessian(f_fg)
        hvps = fg.vmap(lambda v: fg.hvp(f_fg, (x,), (v,)))
        return {"hessian": (lambda: hess(x), hess(x).numpy()), "vmap hvp": (lambda: hvps(V), hvps(V).numpy())}
    if system == "torch.func":
        import torch

        At, bt, xt, Vt = (torch.from_numpy(a) for a in (An, bn, xn, Vn))

        def f_t(x):
            return (torch.tanh(At @ x + bt) ** 2).sum() + 0.1 * (x**4).sum()

        hess_t = torch.func.hessian(f_t)
        g_t = torch.func.grad(f_t)
        hvps_t = torch.func.vmap(lambda v: torch.func.jvp(g_t, (xt,), (v,))[1])
        return {
            "hessian": (lambda: hess_t(xt), hess_t(xt).numpy()),
            "vmap hvp": (lambda: hvps_t(Vt), hvps_t(Vt).numpy()),
        }
    import jax
    import jax.numpy as jnp

    Aj, bj, xj, Vj = (jnp.asarray(a) for a in (An, bn, xn, Vn))

    def f_j(x):
        return (jnp.tanh(Aj @ x + bj) ** 2).sum() + 0.1 * (x**4).sum()

    hess_j = jax.jit(jax.hessian(f_j))
    g_j = jax.grad(f_j)
    hvps_j = jax.jit(jax.vmap(lambda v: jax.jvp(g_j, (xj,), (v,))[1]))
    return {
        "hessian": (lambda: hess_j(xj).block_until_ready(), np.asarray(hess_j(xj))),
        "vmap hvp": (lambda: hvps_j(Vj).block_until_ready(), np.asarray(hvps_j(Vj))),
    }


def main() -> None:
    """Time the Hessian (64, 64) and 16 batched HVPs (16, 64) per framework; print the ratios."""
    from common import build_systems, report

    args, built = build_systems(SYSTEMS, build)
    if built is None:
        return
    present = list(built)
    H = built["fastgrad"]["hessian"][1]
    want = {"hessian": H, "vmap hvp": data()[3] @ H.T}
    for s in present:
        for c in CASES:
            got = built[s][c][1]
            err = float(np.max(np.abs(got - want[c])) / max(1.0, float(np.max(np.abs(want[c])))))
            print(f"{s:10s} {c:8s} max rel. difference to fastgrad's Hessian: {err:.2e}")
            if err > 1e-3:
                raise SystemExit(f"{s} {c} disagrees with fastgrad's Hessian")

    report(__file__, "Hessian (64x64) and 16 HVPs of f: R^64 -> R, float32", built, args)


if __name__ == "__main__":
    main()
