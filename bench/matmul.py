"""SGEMM: fastgrad's packed GEMM beside NumPy (OpenBLAS), PyTorch and JAX jit, in one run.

    python bench/matmul.py [--rounds 9]

Prints ms per product, GFLOP/s, the ratio to NumPy (>1 means fastgrad is faster) and
the fraction of the AVX-512 FP32 peak. Targets: >= 1.1x NumPy at N >= 512, >= 80% peak.
"""

from __future__ import annotations

import argparse

import numpy as np

import fastgrad as fg
from common import time_interleaved
from peers import block, cpu_peak_gflops_fp32, jax, jnp, torch

CASES = [(128, 128, 128), (512, 512, 512), (1024, 1024, 1024), (2048, 2048, 2048), (128, 784, 512)]


def main() -> None:
    """Time C = A @ B for square float32 A, B: (N, N) per framework and print ms, GFLOP/s and the ratios."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=9)
    args = ap.parse_args()
    peak = cpu_peak_gflops_fp32()
    print(f"threads={fg.get_num_threads()}  fp32 peak ~ {peak:.0f} GFLOP/s" if peak else "peak unknown")
    print(
        f"{'M x K x N':>18} "
        + " ".join(f"{c:>14}" for c in ["fastgrad", "numpy", "torch", "jax"])
        + "   fg/numpy  fg/best  fg %peak"
    )
    rng = np.random.default_rng(0)
    for m, k, n in CASES:
        a = rng.standard_normal((m, k), dtype=np.float32)
        b = rng.standard_normal((k, n), dtype=np.float32)
        fa, fb = fg.from_numpy(a), fg.from_numpy(b)
        fns = {"fastgrad": lambda: fg.matmul(fa, fb), "numpy": lambda: a @ b}
        if torch is not None:
            ta, tb = torch.from_numpy(a), torch.from_numpy(b)
            fns["torch"] = lambda: ta @ tb
        if jax is not None:
            ja, jb = jnp.asarray(a), jnp.asarray(b)
            jmm = jax.jit(lambda x, y: x @ y)
            fns["jax"] = lambda: block(jmm(ja, jb))
        inner = max(1, int(2e8 / (2 * m * k * n)))
        t = time_interleaved(fns, rounds=args.rounds, inner=inner)
        gf = {name: 2 * m * k * n / s * 1e-9 for name, s in t.items()}
        cells = " ".join(
            f"{gf[c]:>8.0f} GF/s" if c in gf else f"{'-':>14}" for c in ["fastgrad", "numpy", "torch", "jax"]
        )
        best = min(v for key, v in t.items() if key != "fastgrad")
        pk = f"{100 * gf['fastgrad'] / peak:7.0f}%" if peak else "      -"
        print(
            f"{f'{m}x{k}x{n}':>18} {cells}   {t['numpy'] / t['fastgrad']:7.2f}x {best / t['fastgrad']:7.2f}x {pk}"
        )


if __name__ == "__main__":
    main()
