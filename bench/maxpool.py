"""Max and average pooling forward + backward on (32, 64, 32, 32) float32, NCHW and
NHWC (channels-last), 2x2 stride 2 and 3x3 stride 2 pad 1, fastgrad beside PyTorch
(NCHW tensors / torch.channels_last as the NHWC peer) and JAX jit reduce_window, in
one run (interleaved rounds, medians).

    python bench/maxpool.py [--rounds 15] [--threads N] [--cpu-time]

--cpu-time (implies --threads 1) times with the calling thread's CPU clock instead of the
wall clock: on a machine shared with other jobs it leaves out the time spent descheduled.
fastgrad and PyTorch run single-threaded on the calling thread; JAX runs on XLA's own
threads, so it is left out in this mode.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

import fastgrad as fg
from common import record, time_interleaved
from peers import block, jax, jnp, set_threads, torch

N, C, H, W = 32, 64, 32, 32
# (label, kernel, stride, pad)
SHAPES = [("2x2/2", 2, 2, 0), ("3x3/2 p1", 3, 2, 1)]


def out_size(n: int, k: int, s: int, p: int) -> int:
    return (n + 2 * p - k) // s + 1


def time_cpu(fns, rounds: int) -> dict[str, float]:
    """Median CPU seconds of the calling thread per call, rounds interleaved as time_interleaved."""
    for f in fns.values():
        f()
        f()
    samples: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(rounds):
        for name, f in fns.items():
            t0 = time.thread_time()
            f()
            f()
            samples[name].append((time.thread_time() - t0) / 2)
    return {k: statistics.median(v) for k, v in samples.items()}


def case(kind: str, k: int, s: int, p: int, nhwc: bool, rounds: int, rng, cpu: bool) -> dict[str, float]:
    """Seconds per forward + backward for each system, interleaved."""
    oh, ow = out_size(H, k, s, p), out_size(W, k, s, p)
    shape = (N, H, W, C) if nhwc else (N, C, H, W)
    gshape = (N, oh, ow, C) if nhwc else (N, C, oh, ow)
    x = rng.standard_normal(shape, dtype=np.float32)
    g = rng.standard_normal(gshape, dtype=np.float32)
    fx, fgr = fg.tensor(x, requires_grad=True), fg.tensor(g)
    ks, ss, ps = [k, k], [s, s], [p, p]

    if kind == "max":

        def fg_pool(v):
            return fg._C.max_pool(v, ks, ss, ps, nhwc)
    else:

        def fg_pool(v):
            return fg._C.avg_pool(v, ks, ss, ps, True, nhwc)

    def fastgrad_step():
        fx.grad = None
        fg_pool(fx).backward(fgr)

    fns = {"fastgrad": fastgrad_step}
    if torch is not None:
        if nhwc:
            cl = torch.channels_last
            tx = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2))).to(memory_format=cl)
            tg = torch.from_numpy(np.ascontiguousarray(g.transpose(0, 3, 1, 2))).to(memory_format=cl)
        else:
            tx, tg = torch.from_numpy(x), torch.from_numpy(g)
        tx.requires_grad_()
        F = torch.nn.functional
        tpool = (
            (lambda v: F.max_pool2d(v, k, s, p)) if kind == "max" else (lambda v: F.avg_pool2d(v, k, s, p))
        )

        def torch_step():
            tx.grad = None
            tpool(tx).backward(tg)

        fns["torch"] = torch_step
    if jax is not None and not cpu:
        win = (1, k, k, 1) if nhwc else (1, 1, k, k)
        st = (1, s, s, 1) if nhwc else (1, 1, s, s)
        pad = ((0, 0), (p, p), (p, p), (0, 0)) if nhwc else ((0, 0), (0, 0), (p, p), (p, p))
        if kind == "max":
            pool = lambda v: jax.lax.reduce_window(v, -jnp.inf, jax.lax.max, win, st, pad)  # noqa: E731
        else:  # count_include_pad=True: a fixed divisor k*k
            pool = lambda v: jax.lax.reduce_window(v, 0.0, jax.lax.add, win, st, pad) / (k * k)  # noqa: E731
        step = jax.jit(lambda v, gg: jax.vjp(pool, v)[1](gg))
        jx, jg = jnp.asarray(x), jnp.asarray(g)
        fns["jax"] = lambda: block(step(jx, jg))
    return time_cpu(fns, rounds) if cpu else time_interleaved(fns, rounds=rounds)


def main() -> None:
    """Time every (kind, window, layout) case and print ms and the ratio peer / fastgrad."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--cpu-time", action="store_true", help="process CPU time instead of wall time")
    args = ap.parse_args()
    set_threads(1 if args.cpu_time else args.threads)
    rng = np.random.default_rng(0)
    isa = fg._C.isa()
    print(
        f"pooling forward+backward on ({N}, {C}, {H}, {W}) float32, threads={fg.get_num_threads()}, "
        f"ISA={isa}, loadavg={os.getloadavg()[0]:.2f}; {'CPU' if args.cpu_time else 'wall'} ms (median of {args.rounds})"
    )
    for kind in ("max", "avg"):
        for label, k, s, p in SHAPES:
            for nhwc in (False, True):
                t = case(kind, k, s, p, nhwc, args.rounds, rng, args.cpu_time)
                record(f"{kind}-pool {label} {'NHWC' if nhwc else 'NCHW'}", t)
                cells = "  ".join(f"{name} {v * 1e3:7.3f}" for name, v in t.items())
                ratios = "  ".join(
                    f"vs {name} {v / t['fastgrad']:.2f}x" for name, v in t.items() if name != "fastgrad"
                )
                print(f"  {kind}-pool {label:8s} {'NHWC' if nhwc else 'NCHW'}: {cells}   {ratios}")


if __name__ == "__main__":
    main()
