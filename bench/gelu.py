"""GELU forward + backward on 4M float32 (exact erf form), fastgrad beside PyTorch and
JAX jit in one run (interleaved, median). Target: >= 1.0x the faster peer.

    python bench/gelu.py [--n 4194304] [--rounds 15] [--approximate none|tanh]
"""

from __future__ import annotations

import argparse

import numpy as np

import fastgrad as fg
from common import time_interleaved
from peers import block, jax, jnp, torch


def main() -> None:
    """Time GELU forward + backward on x: (n,) float32 and print the peer/fastgrad ratios."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=4 * 1024 * 1024)
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--approximate", default="none", choices=["none", "tanh"])
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    x = rng.standard_normal(args.n, dtype=np.float32)
    g = rng.standard_normal(args.n, dtype=np.float32)
    fx, fgr = fg.tensor(x, requires_grad=True), fg.tensor(g)

    def fastgrad_step():
        fx.grad = None
        fg.gelu(fx, approximate=args.approximate).backward(fgr)

    fns = {"fastgrad": fastgrad_step}
    if torch is not None:
        tx, tg = torch.from_numpy(x).requires_grad_(), torch.from_numpy(g)

        def torch_step():
            tx.grad = None
            torch.nn.functional.gelu(tx, approximate=args.approximate).backward(tg)

        fns["torch"] = torch_step
    if jax is not None:
        jx, jg = jnp.asarray(x), jnp.asarray(g)
        approx = args.approximate == "tanh"
        step = jax.jit(lambda x, g: jax.vjp(lambda v: jax.nn.gelu(v, approximate=approx), x)[1](g))
        fns["jax"] = lambda: block(step(jx, jg))
    t = time_interleaved(fns, rounds=args.rounds)
    best = min(v for k, v in t.items() if k != "fastgrad") if len(t) > 1 else float("nan")
    print(f"GELU({args.approximate}) forward+backward, n={args.n}, threads={fg.get_num_threads()}")
    for k, v in t.items():
        print(f"  {k:>9}: {v * 1e3:8.3f} ms")
    print(f"  fastgrad vs faster peer: {best / t['fastgrad']:.2f}x")


if __name__ == "__main__":
    main()
