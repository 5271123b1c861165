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

import argparse
import json
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


def child(system: str, threads: int, rounds: int, inner: int) -> None:
    """One system alone: prints {case: seconds per call} as JSON (common.per_process)."""
    if system == "fastgrad":
        import fastgrad as fg

        fg.set_num_threads(threads)
    elif system == "torch.func":
        import torch

        torch.set_num_threads(threads)
    from common import time_interleaved

    cases = build(system)
    out = {c: time_interleaved({c: cases[c][0]}, rounds=rounds, inner=inner, warmup=3)[c] for c in CASES}
    print(json.dumps(out))


def main() -> None:
    """Time the Hessian (64, 64) and 16 batched HVPs (16, 64) per framework; print the ratios."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--inner", type=int, default=5)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--per-process", action="store_true")
    ap.add_argument("--runs", type=int, default=5, help="processes per system with --per-process")
    ap.add_argument("--child", choices=SYSTEMS, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child(args.child, args.threads or 2, args.rounds, args.inner)

    import fastgrad as fg
    from common import per_process, print_table, time_interleaved
    from peers import jax, set_threads, torch  # optional peers, thread-matched

    set_threads(args.threads)
    present = [s for s, mod in zip(SYSTEMS, (fg, torch, jax)) if mod is not None]
    built = {s: build(s) for s in present}
    H = built["fastgrad"]["hessian"][1]
    want = {"hessian": H, "vmap hvp": data()[3] @ H.T}
    for s in present:
        for c in CASES:
            got = built[s][c][1]
            err = float(np.max(np.abs(got - want[c])) / max(1.0, float(np.max(np.abs(want[c])))))
            print(f"{s:10s} {c:8s} max rel. difference to fastgrad's Hessian: {err:.2e}")
            if err > 1e-3:
                raise SystemExit(f"{s} {c} disagrees with fastgrad's Hessian")

    rows = []
    for c in CASES:
        fns = {s: built[s][c][0] for s in present}
        rows.append((c, time_interleaved(fns, rounds=args.rounds, inner=args.inner, warmup=3)))
    threads = fg.get_num_threads()
    base = "jax.jit" if jax is not None else None
    print(f"\nHessian (64x64) and 16 HVPs of f: R^64 -> R, float32, threads={threads}")
    print("interleaved in one process:")
    print_table(rows, unit="us", scale=1e6, baseline=base)
    if args.per_process:
        extra = ["--rounds", str(args.rounds), "--inner", str(args.inner)]
        pp = per_process(__file__, SYSTEMS, threads, args.runs, extra)
        print(f"each system alone in its own process, median of {args.runs} processes:")
        print_table([(f"{k} per process", v) for k, v in pp.items()], unit="us", scale=1e6, baseline=base)


if __name__ == "__main__":
    main()
