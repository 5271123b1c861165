"""Max-pool 2x2 stride 2 forward + backward on (32, 64, 32, 32) float32, NCHW and
NHWC, fastgrad beside PyTorch and JAX jit in one run (interleaved, median).

    python bench/maxpool.py [--rounds 15]
"""

from __future__ import annotations

import argparse

import numpy as np

import fastgrad as fg
from common import time_interleaved
from peers import block, jax, jnp, torch


def main() -> None:
    """Time 2x2 max-pool forward + backward on (32, 64, 32, 32) NCHW and NHWC and print the ratios."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=15)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    print(f"max-pool 2x2/2 forward+backward, threads={fg.get_num_threads()}; ms")
    for nhwc in (False, True):
        shape = (32, 32, 32, 64) if nhwc else (32, 64, 32, 32)
        x = rng.standard_normal(shape, dtype=np.float32)
        gshape = (32, 16, 16, 64) if nhwc else (32, 64, 16, 16)
        g = rng.standard_normal(gshape, dtype=np.float32)
        fx, fgr = fg.tensor(x, requires_grad=True), fg.tensor(g)

        def fastgrad_step():
            fx.grad = None
            fg._C.max_pool(fx, [2, 2], [2, 2], [0, 0], nhwc).backward(fgr)

        fns = {"fastgrad": fastgrad_step}
        if torch is not None:
            if nhwc:
                tx = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2))).to(
                    memory_format=torch.channels_last
                )
                tg = torch.from_numpy(np.ascontiguousarray(g.transpose(0, 3, 1, 2))).to(
                    memory_format=torch.channels_last
                )
            else:
                tx, tg = torch.from_numpy(x), torch.from_numpy(g)
            tx.requires_grad_()

            def torch_step():
                tx.grad = None
                torch.nn.functional.max_pool2d(tx, 2, 2).backward(tg)

            fns["torch"] = torch_step
        if jax is not None:
            win = (1, 2, 2, 1) if nhwc else (1, 1, 2, 2)
            pool = lambda v: jax.lax.reduce_window(v, -jnp.inf, jax.lax.max, win, win, "VALID")  # noqa: E731
            step = jax.jit(lambda v, gg: jax.vjp(pool, v)[1](gg))
            jx, jg = jnp.asarray(x), jnp.asarray(g)
            fns["jax"] = lambda: block(step(jx, jg))
        t = time_interleaved(fns, rounds=args.rounds)
        best = min(v for k, v in t.items() if k != "fastgrad") if len(t) > 1 else float("nan")
        cells = "  ".join(f"{k} {v * 1e3:.3f}" for k, v in t.items())
        print(
            f"  {'NHWC' if nhwc else 'NCHW'}: {cells}   fastgrad vs faster peer {best / t['fastgrad']:.2f}x"
        )


if __name__ == "__main__":
    main()
