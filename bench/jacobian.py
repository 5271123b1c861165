"""Jacobian of a small MLP 32 -> 64 -> 16 (tanh) w.r.t. its input (no batch), float32.

fastgrad ``jacrev`` (one backward pass with the 16 one-hot cotangents batched by vmap) and
``jacfwd`` (one forward pass with the 32 one-hot tangents batched), beside ``torch.func``
(jacrev/jacfwd, vmapped) and JAX (``jax.jit(jax.jacrev/jacfwd)``); interleaved rounds in one
process, median per call, and with ``--per-process`` each system alone in its own process.

    python bench/jacobian.py [--rounds 30] [--threads N] [--per-process [--runs 5]]

Target (issue 14): fastgrad >= 1x JAX jit on both.
"""

from __future__ import annotations

import os
import sys
from typing import Any, Callable

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

SYSTEMS = ("fastgrad", "torch.func", "jax.jit")
CASES = ("jacrev", "jacfwd")


def data() -> tuple[dict[str, np.ndarray], np.ndarray]:
    rng = np.random.default_rng(0)
    d_in, d_h, d_out = 32, 64, 16
    P = {
        "W1": (rng.standard_normal((d_h, d_in)) / np.sqrt(d_in)).astype(np.float32),
        "b1": (0.1 * rng.standard_normal(d_h)).astype(np.float32),
        "W2": (rng.standard_normal((d_out, d_h)) / np.sqrt(d_h)).astype(np.float32),
        "b2": (0.1 * rng.standard_normal(d_out)).astype(np.float32),
    }
    return P, rng.standard_normal(d_in).astype(np.float32)


def build(system: str) -> dict[str, tuple[Callable[[], Any], np.ndarray]]:
    """{case: (call, Jacobian (16, 32))} of `system`, only its library imported."""
    P, xn = data()
    if system == "fastgrad":
        import fastgrad as fg

        pf = {k: fg.tensor(v) for k, v in P.items()}
        xf = fg.tensor(xn)

        def mlp_fg(x):
            return pf["W2"] @ fg.tanh(pf["W1"] @ x + pf["b1"]) + pf["b2"]

        jr, jf = fg.jacrev(mlp_fg), fg.jacfwd(mlp_fg)
        return {"jacrev": (lambda: jr(xf), jr(xf).numpy()), "jacfwd": (lambda: jf(xf), jf(xf).numpy())}
    if system == "torch.func":
        import torch

        pt = {k: torch.from_numpy(v) for k, v in P.items()}
        xt = torch.from_numpy(xn)

        def mlp_t(x):
            return pt["W2"] @ torch.tanh(pt["W1"] @ x + pt["b1"]) + pt["b2"]

        jr_t, jf_t = torch.func.jacrev(mlp_t), torch.func.jacfwd(mlp_t)
        return {
            "jacrev": (lambda: jr_t(xt), jr_t(xt).numpy()),
            "jacfwd": (lambda: jf_t(xt), jf_t(xt).numpy()),
        }
    import jax
    import jax.numpy as jnp

    pj = {k: jnp.asarray(v) for k, v in P.items()}
    xj = jnp.asarray(xn)

    def mlp_j(x):
        return pj["W2"] @ jnp.tanh(pj["W1"] @ x + pj["b1"]) + pj["b2"]

    jr_j, jf_j = jax.jit(jax.jacrev(mlp_j)), jax.jit(jax.jacfwd(mlp_j))
    return {
        "jacrev": (lambda: jr_j(xj).block_until_ready(), np.asarray(jr_j(xj))),
        "jacfwd": (lambda: jf_j(xj).block_until_ready(), np.asarray(jf_j(xj))),
    }


def main() -> None:
    """Time jacrev and jacfwd of the MLP (Jacobian: (16, 32)) per framework and print the ratios."""
    from common import build_systems, report

    args, built = build_systems(SYSTEMS, build)
    if built is None:
        return
    present = list(built)
    ref = built["fastgrad"]["jacrev"][1]
    for s in present:
        for c in CASES:
            err = float(np.max(np.abs(built[s][c][1] - ref)))
            print(f"{s:10s} {c}: max abs. difference to fastgrad jacrev: {err:.2e}")
            if err > 1e-4:
                raise SystemExit(f"{s} {c} disagrees with fastgrad's jacrev")

    report(__file__, "Jacobian (16x32) of MLP 32->64->16 w.r.t. x, float32", built, args)


if __name__ == "__main__":
    main()
