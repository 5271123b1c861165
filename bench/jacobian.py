"""Jacobian of a small MLP 32 -> 64 -> 16 (tanh) w.r.t. its input (no batch), float32.

fastgrad ``jacrev`` (one VJP per output row: 16 backward passes over one forward) and
``jacfwd`` (one JVP per input direction: 32 forward passes), beside ``torch.func``
(jacrev/jacfwd, vmapped) and JAX (``jax.jit(jax.jacrev/jacfwd)``); interleaved rounds,
median per call.

    python bench/jacobian.py [--rounds 30] [--threads N]
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fastgrad as fg  # noqa: E402
from common import print_table, time_interleaved  # noqa: E402
from fastgrad.transforms import jacfwd, jacrev  # noqa: E402
from peers import jax, jnp, set_threads, torch  # noqa: E402  (optional peers, thread-matched)


def main() -> None:
    """Time jacrev and jacfwd of the MLP (Jacobian: (16, 32)) per framework and print the ratios."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--inner", type=int, default=5)
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()
    set_threads(args.threads)

    rng = np.random.default_rng(0)
    d_in, d_h, d_out = 32, 64, 16
    P = {
        "W1": (rng.standard_normal((d_h, d_in)) / np.sqrt(d_in)).astype(np.float32),
        "b1": (0.1 * rng.standard_normal(d_h)).astype(np.float32),
        "W2": (rng.standard_normal((d_out, d_h)) / np.sqrt(d_h)).astype(np.float32),
        "b2": (0.1 * rng.standard_normal(d_out)).astype(np.float32),
    }
    xn = rng.standard_normal(d_in).astype(np.float32)

    pf = {k: fg.tensor(v) for k, v in P.items()}
    xf = fg.tensor(xn)

    def mlp_fg(x):
        return pf["W2"] @ fg.tanh(pf["W1"] @ x + pf["b1"]) + pf["b2"]

    jr_fg, jf_fg = jacrev(mlp_fg), jacfwd(mlp_fg)
    cases = {"jacrev": {"fastgrad": lambda: jr_fg(xf)}, "jacfwd": {"fastgrad": lambda: jf_fg(xf)}}
    ref = jr_fg(xf).numpy()
    checks = {"fastgrad jacfwd": jf_fg(xf).numpy()}

    if torch is not None:
        pt = {k: torch.from_numpy(v) for k, v in P.items()}
        xt = torch.from_numpy(xn)

        def mlp_t(x):
            return pt["W2"] @ torch.tanh(pt["W1"] @ x + pt["b1"]) + pt["b2"]

        jr_t, jf_t = torch.func.jacrev(mlp_t), torch.func.jacfwd(mlp_t)
        cases["jacrev"]["torch.func"] = lambda: jr_t(xt)
        cases["jacfwd"]["torch.func"] = lambda: jf_t(xt)
        checks["torch jacrev"] = jr_t(xt).numpy()
        checks["torch jacfwd"] = jf_t(xt).numpy()

    if jax is not None:
        pj = {k: jnp.asarray(v) for k, v in P.items()}
        xj = jnp.asarray(xn)

        def mlp_j(x):
            return pj["W2"] @ jnp.tanh(pj["W1"] @ x + pj["b1"]) + pj["b2"]

        jr_j, jf_j = jax.jit(jax.jacrev(mlp_j)), jax.jit(jax.jacfwd(mlp_j))
        cases["jacrev"]["jax.jit"] = lambda: jr_j(xj).block_until_ready()
        cases["jacfwd"]["jax.jit"] = lambda: jf_j(xj).block_until_ready()
        checks["jax jacrev"] = np.asarray(jr_j(xj))
        checks["jax jacfwd"] = np.asarray(jf_j(xj))

    for k, v in checks.items():
        print(f"{k:16s} max abs. difference to fastgrad jacrev: {float(np.max(np.abs(v - ref))):.2e}")

    rows = []
    for name, fns in cases.items():
        rows.append((name, time_interleaved(fns, rounds=args.rounds, inner=args.inner, warmup=3)))
    print(f"\nJacobian (16x32) of MLP 32->64->16 w.r.t. x, float32, threads={fg.get_num_threads()}")
    base = "jax.jit" if jax is not None else None
    print_table(rows, unit="us", scale=1e6, baseline=base)


if __name__ == "__main__":
    main()
