"""conv1d and conv3d forward + backward (NCHW-style layouts), fastgrad beside PyTorch and
JAX jit in one run (interleaved, median).

    python bench/conv_nd.py [--rounds 7]
"""

from __future__ import annotations

import argparse

import numpy as np

import fastgrad as fg
import peer_isa
from common import record, time_interleaved
from peers import block, jax, jnp, torch

# (name, x shape (N, C, *S), weight shape (K, C, *k), padding)
CASES = [
    ("conv1d (32,64,1024) k5 ->128", (32, 64, 1024), (128, 64, 5), 2),
    ("conv3d (8,16,16^3) k3 ->32", (8, 16, 16, 16, 16), (32, 16, 3, 3, 3), 1),
]


def main() -> None:
    """Time conv1d (x: (N, C, L)) and conv3d (x: (N, C, D, H, W)) forward + backward and print the
    peer/fastgrad ratios."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    print(
        f"threads={fg.get_num_threads()} fastgrad ISA={fg._C.isa()}"
        f" peer ISA cap={peer_isa.PEER_ISA or 'native'}; ms per forward+backward"
    )
    for name, xs, ws, pad in CASES:
        nd = len(xs) - 2
        x = rng.standard_normal(xs, dtype=np.float32)
        w = rng.standard_normal(ws, dtype=np.float32) * 0.1
        fx, fw = fg.tensor(x, requires_grad=True), fg.tensor(w, requires_grad=True)
        y0 = fg._C.conv(fx, fw, None, [1] * nd, [pad] * nd, [pad] * nd, [1] * nd, 1, False)
        g = rng.standard_normal(y0.shape, dtype=np.float32)
        fgr = fg.tensor(g)

        def fastgrad_step():
            fx.grad = fw.grad = None
            fg._C.conv(fx, fw, None, [1] * nd, [pad] * nd, [pad] * nd, [1] * nd, 1, False).backward(fgr)

        fns = {"fastgrad": fastgrad_step}
        if torch is not None:
            tx, tw, tg = (
                torch.from_numpy(x).requires_grad_(),
                torch.from_numpy(w).requires_grad_(),
                torch.from_numpy(g),
            )
            tconv = torch.nn.functional.conv1d if nd == 1 else torch.nn.functional.conv3d

            def torch_step():
                tx.grad = tw.grad = None
                tconv(tx, tw, padding=pad).backward(tg)

            fns["torch"] = torch_step
        if jax is not None:
            dn = ("NCH", "OIH", "NCH") if nd == 1 else ("NCDHW", "OIDHW", "NCDHW")
            f = lambda a, b: jax.lax.conv_general_dilated(
                a, b, (1,) * nd, ((pad, pad),) * nd, dimension_numbers=dn
            )  # noqa: E731
            step = jax.jit(lambda a, b, gg: jax.vjp(f, a, b)[1](gg))
            ja, jb, jg = jnp.asarray(x), jnp.asarray(w), jnp.asarray(g)
            fns["jax"] = lambda: block(step(ja, jb, jg))
        t = time_interleaved(fns, rounds=args.rounds)
        record(f"{name} fwd+bwd", t)
        best = min(v for k, v in t.items() if k != "fastgrad") if len(t) > 1 else float("nan")
        cells = "  ".join(f"{k} {v * 1e3:.2f}" for k, v in t.items())
        print(f"  {name}: {cells}   fastgrad vs faster peer {best / t['fastgrad']:.2f}x")


if __name__ == "__main__":
    main()
