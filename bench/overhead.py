"""Per-op overhead: a chain of tiny ops on a (4,)-shaped tensor, forward + backward,
fastgrad beside PyTorch (when installed) in the same run, interleaved rounds, median.

    python bench/overhead.py [--ops 1000] [--rounds 15]

Prints microseconds per op (forward+backward, divided by the number of ops in the
chain) and the ratio. Target: <= 1 us/op for fastgrad.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fastgrad as fg  # noqa: E402
from common import print_table, time_interleaved  # noqa: E402

try:
    import torch
except ImportError:  # the comparison is optional
    torch = None


def chain(lib_tanh, x, y, n_ops: int):
    """n_ops tiny ops cycling through mul-by-scalar, add, tanh, mul, sub-scalar."""
    h = x
    k = 0
    while k < n_ops:
        h = h * 0.9
        h = h + y
        h = lib_tanh(h)
        h = h * y
        h = h - 0.1
        k += 5
    return h


def make_fastgrad(n_ops: int):
    x = fg.randn(4, requires_grad=True)
    y = fg.randn(4, requires_grad=True)

    def step():
        out = chain(fg.tanh, x, y, n_ops).sum()
        out.backward()
        x.grad = None
        y.grad = None

    return step


def make_forward_only(lib, n_ops: int):
    if lib is fg:
        x, y = fg.randn(4), fg.randn(4)
        return lambda: chain(fg.tanh, x, y, n_ops)
    x, y = torch.randn(4), torch.randn(4)
    return lambda: chain(torch.tanh, x, y, n_ops)


def make_torch(n_ops: int):
    x = torch.randn(4, requires_grad=True)
    y = torch.randn(4, requires_grad=True)

    def step():
        out = chain(torch.tanh, x, y, n_ops).sum()
        out.backward()
        x.grad = None
        y.grad = None

    return step


def main() -> None:
    """Time the chain of tiny ops on x: (4,) forward + backward and print microseconds per op and
    the ratio."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--ops", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    fg.set_num_threads(args.threads)
    n = args.ops - args.ops % 5
    fns = {"fastgrad": make_fastgrad(n)}
    fwd = {"fastgrad": make_forward_only(fg, n)}
    if torch is not None:
        torch.set_num_threads(args.threads)
        fns["torch"] = make_torch(n)
        fwd["torch"] = make_forward_only(torch, n)
    raw = lambda v: v  # noqa: E731  (keep every round: median and best are both reported)
    both = time_interleaved(fns, rounds=args.rounds, stat=raw)
    with fg.no_grad():
        if torch is not None:
            with torch.no_grad():
                f_only = time_interleaved(fwd, rounds=args.rounds, stat=raw)
        else:
            f_only = time_interleaved(fwd, rounds=args.rounds, stat=raw)
    med = {k: statistics.median(v) / n for k, v in both.items()}
    best = {k: min(v) / n for k, v in both.items()}
    fmed = {k: statistics.median(v) / n for k, v in f_only.items()}
    print(f"chain of {n} ops on shape (4,), {args.rounds} interleaved rounds; threads={args.threads}")
    print_table(
        [
            ("fwd+bwd per op (median)", med),
            ("fwd+bwd per op (best round)", best),
            ("fwd only, no_grad (median)", fmed),
        ],
        baseline="fastgrad" if "torch" in med else None,
    )
    us = med["fastgrad"] * 1e6
    print(f"fastgrad: {us:.3f} us/op median (target <= 1 us/op){'' if us <= 1.0 else '  -- ABOVE TARGET'}")


if __name__ == "__main__":
    main()
