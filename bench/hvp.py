"""Hessian-vector product of f(W) = mean(tanh(X W)^2), X 64x256, W 256x256 (float32).

fastgrad's ``hvp`` (forward-over-reverse: jvp of grad) beside ``torch.func`` (jvp of
grad) and JAX (``jax.jit(jvp of grad)``), interleaved rounds, median per call.

    python bench/hvp.py [--rounds 30] [--threads N]

Also checks that the three agree. Target: fastgrad >= 1x JAX jit.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fastgrad as fg  # noqa: E402
from common import print_table, time_interleaved  # noqa: E402
from fastgrad.transforms import hvp  # noqa: E402
from peers import jax, jnp, set_threads, torch  # noqa: E402  (optional peers, thread-matched)


def main() -> None:
    """Time the Hessian-vector product (v, result: (256, 256) like W), check the frameworks agree,
    print the ratios."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--inner", type=int, default=5)
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()
    set_threads(args.threads)

    rng = np.random.default_rng(0)
    Xn = rng.standard_normal((64, 256)).astype(np.float32)
    Wn = (rng.standard_normal((256, 256)) / 16).astype(np.float32)
    Vn = rng.standard_normal((256, 256)).astype(np.float32)

    X, W, V = fg.tensor(Xn), fg.tensor(Wn), fg.tensor(Vn)

    def f_fg(W):
        return fg.mean(fg.tanh(X @ W) ** 2)

    fns = {"fastgrad": lambda: hvp(f_fg, (W,), (V,))}
    results = {"fastgrad": np.asarray(hvp(f_fg, (W,), (V,)).numpy())}

    if torch is not None:
        Xt, Wt, Vt = torch.from_numpy(Xn), torch.from_numpy(Wn), torch.from_numpy(Vn)

        def f_t(W):
            return torch.mean(torch.tanh(Xt @ W) ** 2)

        def hvp_t():
            return torch.func.jvp(torch.func.grad(f_t), (Wt,), (Vt,))[1]

        fns["torch.func"] = hvp_t
        results["torch.func"] = hvp_t().numpy()

    if jax is not None:
        Xj, Wj, Vj = jnp.asarray(Xn), jnp.asarray(Wn), jnp.asarray(Vn)

        def f_j(W):
            return jnp.mean(jnp.tanh(Xj @ W) ** 2)

        hvp_j = jax.jit(lambda W, V: jax.jvp(jax.grad(f_j), (W,), (V,))[1])

        def run_j():
            return hvp_j(Wj, Vj).block_until_ready()

        fns["jax.jit"] = run_j
        results["jax.jit"] = np.asarray(run_j())

    ref = results["fastgrad"]
    for k, v in results.items():
        err = float(np.max(np.abs(v - ref)) / (np.max(np.abs(ref)) + 1e-30))
        print(f"{k:10s} max rel. difference to fastgrad: {err:.2e}")

    times = time_interleaved(fns, rounds=args.rounds, inner=args.inner, warmup=3)
    base = "jax.jit" if "jax.jit" in times else None
    print(f"\nHVP f(W)=mean(tanh(XW)^2), X 64x256, W 256x256 float32, threads={fg.get_num_threads()}")
    print_table([("hvp", times)], unit="ms", scale=1e3, baseline=base)
    if base:
        print(f"\nfastgrad speed vs JAX jit: {times[base] / times['fastgrad']:.2f}x (>= 1 is the target)")


if __name__ == "__main__":
    main()
