"""Reductions: sum and the 2-norm of 4M float32 values, in full and along either axis of
a 2048x2048 matrix and of two thin shapes, fastgrad vs PyTorch and NumPy, interleaved.

    python bench/reduce.py [--rounds 9]
"""

from __future__ import annotations

import argparse

import numpy as np

import fastgrad as fg
from common import print_table, time_interleaved
from peers import THREADS, torch

CASES = [((4 * 1024 * 1024,), None), ((2048, 2048), 0), ((2048, 2048), 1), ((64, 65536), 1), ((65536, 64), 1)]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=9)
    args = ap.parse_args()
    rows = []
    for shape, dim in CASES:
        a = np.random.default_rng(0).standard_normal(shape, dtype=np.float32)
        x = fg.tensor(a)
        axis = {} if dim is None else {"dim": dim}
        sums = {"fastgrad": lambda: fg.sum(x, **axis), "numpy": lambda: a.sum(axis=dim)}
        norms = {
            "fastgrad": lambda: fg.linalg.vector_norm(x, **axis),
            "numpy": lambda: np.linalg.norm(a, axis=dim),
        }
        if torch is not None:
            t = torch.from_numpy(a)
            sums["torch"] = lambda: t.sum(**axis)
            norms["torch"] = lambda: torch.linalg.vector_norm(t, **axis)
        rows.append((f"sum {shape} dim={dim}", time_interleaved(sums, rounds=args.rounds)))
        rows.append((f"norm {shape} dim={dim}", time_interleaved(norms, rounds=args.rounds)))
    print(f"float32 reductions, threads={THREADS}")
    print_table(rows, baseline="fastgrad")


if __name__ == "__main__":
    main()
