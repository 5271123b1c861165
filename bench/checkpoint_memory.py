"""Peak memory of one training step of a 32-layer MLP with and without fg.checkpoint.

Each variant runs in its own process (peak RSS is per process): build the model, take
the RSS, run one forward+backward+SGD step, and report the peak RSS growth over it (then
time a second step). Checkpointing
every block keeps one block's intermediates plus the 32 block inputs instead of every
block's intermediates; sqrt segmentation (checkpoint_sequential with segments=sqrt(32))
is the classic trade. The same run times the step, so the compute cost is in the table.

    python bench/checkpoint_memory.py [--width 1024] [--batch 512] [--layers 32]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time


def peak_rss_bytes() -> int:
    """This process's own peak RSS (VmHWM; ru_maxrss would carry the parent's over exec)."""
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:")) * 1024


def current_rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def child(mode: str, width: int, batch: int, layers: int) -> None:
    import numpy as np

    import fastgrad as fg

    fg.manual_seed(0)
    blocks = [
        fg.nn.Sequential(fg.nn.Linear(width, width), fg.nn.GELU(), fg.nn.LayerNorm(width))
        for _ in range(layers)
    ]
    model = fg.nn.Sequential(*blocks)
    opt = fg.optim.SGD(model.parameters(), lr=1e-3)
    x = fg.tensor(np.random.default_rng(0).standard_normal((batch, width), dtype=np.float32))

    def step() -> float:
        if mode == "plain":
            h = model(x)
        elif mode == "every block":
            h = x
            for b in blocks:
                h = fg.checkpoint(b)(h)
        else:  # sqrt segments
            h = fg.utils.checkpoint.checkpoint_sequential(model, int(round(layers**0.5)), x)
        loss = (h * h).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        return float(loss.item())

    # The first step's peak counts (ru_maxrss never goes down); its gradient buffers and
    # optimizer state are the same in every mode, so the modes differ by what the tape holds.
    base = current_rss_bytes()
    step()
    peak = peak_rss_bytes()
    t0 = time.perf_counter()
    step()
    secs = time.perf_counter() - t0
    print(json.dumps({"mode": mode, "peak_growth": peak - base, "base": base, "seconds": secs}))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--width", type=int, default=1024)
    ap.add_argument("--batch", type=int, default=512)
    ap.add_argument("--layers", type=int, default=32)
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        child(a.child, a.width, a.batch, a.layers)
        return
    acts = a.batch * a.width * 4
    print(
        f"{a.layers}-layer MLP (Linear {a.width}x{a.width} + GELU + LayerNorm per block), batch {a.batch}, "
        f"float32: one activation is {acts / 2**20:.1f} MiB, the parameters {a.layers * a.width**2 * 4 / 2**20:.0f} MiB"
    )
    print(f"{'mode':<14} {'peak RSS growth':>16} {'step time':>10}")
    res = {}
    for mode in ("plain", "every block", "sqrt segments"):
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--child",
                mode,
                f"--width={a.width}",
                f"--batch={a.batch}",
                f"--layers={a.layers}",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        r = json.loads(out.strip().splitlines()[-1])
        res[mode] = r
        print(f"{mode:<14} {r['peak_growth'] / 2**20:>12.0f} MiB {r['seconds'] * 1e3:>8.0f} ms")
    for mode in ("every block", "sqrt segments"):
        ratio = res["plain"]["peak_growth"] / max(res[mode]["peak_growth"], 1)
        cost = res[mode]["seconds"] / res["plain"]["seconds"]
        print(f"{mode}: {ratio:.1f}x less peak memory for {cost:.2f}x the step time")


if __name__ == "__main__":
    main()
