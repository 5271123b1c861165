"""SGEMM: fastgrad's packed GEMM beside NumPy (OpenBLAS), PyTorch and JAX jit.

    python bench/matmul.py [--rounds 9] [--threads 2]          # in-process, interleaved
    python bench/matmul.py --per-process [--runs 5] [--threads 2]

The default mode times every system in one process, rounds interleaved (A B C A B C ...):
what a user's program that mixes NumPy and fastgrad sees, including the cost of one
library's idle workers (OpenBLAS spins after each call) to the other.

--per-process runs each system alone in a fresh process (only that library imported,
its thread count set to --threads through OMP_NUM_THREADS / OPENBLAS_NUM_THREADS /
torch.set_num_threads), systems alternated run by run (fastgrad, numpy, torch,
fastgrad, ...), and reports the median over --runs processes of each process's median
round, beside the in-process interleaved figure from this same invocation.

With FASTGRAD_ISA=avx2 the peers are held to AVX2 as well (bench/peer_isa.py; --peer-isa
native lets them use AVX-512): on an AVX-512 machine that measures what an AVX2-only
machine would show.

Prints GFLOP/s and the ratio to NumPy (>1 means fastgrad is faster).
Targets: >= 1.1x NumPy at N = 256..2048 and 128x784x512 per process, no collapse below
0.9x in-process.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

CASES = [(256, 256, 256), (512, 512, 512), (1024, 1024, 1024), (2048, 2048, 2048), (128, 784, 512)]
SYSTEMS = ["fastgrad", "numpy", "torch"]


def _flop(m: int, k: int, n: int) -> float:
    return 2.0 * m * k * n


def _time_one(fn, m: int, k: int, n: int, rounds: int) -> float:
    """Median seconds per call over `rounds` rounds of ~50 ms each, after a warm-up."""
    inner = max(1, int(5e9 / 100 / _flop(m, k, n)))  # ~50 ms per round at 100 GF/s
    for _ in range(3):
        fn()
    ts = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        ts.append((time.perf_counter() - t0) / inner)
    return statistics.median(ts)


def child(system: str, threads: int, rounds: int) -> None:
    """One system alone in this process: prints {"MxKxN": GF/s} as JSON."""
    import numpy as np

    rng = np.random.default_rng(0)
    if system == "fastgrad":
        import fastgrad as fg

        fg.set_num_threads(threads)
    elif system == "torch":
        import torch

        torch.set_num_threads(threads)
    out = {}
    for m, k, n in CASES:
        a = rng.standard_normal((m, k), dtype=np.float32)
        b = rng.standard_normal((k, n), dtype=np.float32)
        if system == "fastgrad":
            fa, fb = fg.from_numpy(a), fg.from_numpy(b)
            fn = lambda: fg.matmul(fa, fb)  # noqa: E731
        elif system == "torch":
            ta, tb = torch.from_numpy(a), torch.from_numpy(b)
            fn = lambda: ta @ tb  # noqa: E731
        else:
            fn = lambda: a @ b  # noqa: E731
        out[f"{m}x{k}x{n}"] = _flop(m, k, n) / _time_one(fn, m, k, n, rounds) * 1e-9
    print(json.dumps(out))


def per_process(threads: int, runs: int, rounds: int) -> dict[str, dict[str, float]]:
    env = dict(os.environ)
    env.update(OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    samples: dict[str, dict[str, list[float]]] = {s: {} for s in SYSTEMS}
    for _ in range(runs):
        for s in SYSTEMS:
            cmd = [sys.executable, os.path.abspath(__file__), "--child", s, "--threads", str(threads)]
            cmd += ["--rounds", str(rounds)]
            res = json.loads(subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout)
            for key, gf in res.items():
                samples[s].setdefault(key, []).append(gf)
    return {s: {key: statistics.median(v) for key, v in d.items()} for s, d in samples.items()}


def interleaved(threads: int, rounds: int) -> dict[str, dict[str, float]]:
    import numpy as np

    import fastgrad as fg
    from common import time_interleaved
    from peers import set_threads, torch

    set_threads(threads)
    rng = np.random.default_rng(0)
    out: dict[str, dict[str, float]] = {s: {} for s in SYSTEMS}
    for m, k, n in CASES:
        a = rng.standard_normal((m, k), dtype=np.float32)
        b = rng.standard_normal((k, n), dtype=np.float32)
        fa, fb = fg.from_numpy(a), fg.from_numpy(b)
        fns = {"fastgrad": lambda: fg.matmul(fa, fb), "numpy": lambda: a @ b}
        if torch is not None:
            ta, tb = torch.from_numpy(a), torch.from_numpy(b)
            fns["torch"] = lambda: ta @ tb
        inner = max(1, int(2e8 / _flop(m, k, n)))
        t = time_interleaved(fns, rounds=rounds, inner=inner)
        for s, sec in t.items():
            out[s][f"{m}x{k}x{n}"] = _flop(m, k, n) / sec * 1e-9
    return out


def header(threads: int) -> str:
    from common import cpu_model

    model = cpu_model()
    isa = os.environ.get("FASTGRAD_ISA", "default (best supported)")
    la = " ".join(f"{x:.2f}" for x in os.getloadavg())
    peer = os.environ.get("OPENBLAS_CORETYPE", "native")
    return f"CPU: {model}  FASTGRAD_ISA={isa}  peers' ISA: {peer}  threads={threads}  load average: {la}"


def print_table(title: str, gf: dict[str, dict[str, float]], tag: str) -> None:
    from common import record

    print(title)
    cols = [s for s in SYSTEMS if gf.get(s)]
    print(f"{'M x K x N':>14} " + " ".join(f"{c + ' GF/s':>14}" for c in cols) + "   fg/numpy  fg/torch")
    for m, k, n in CASES:
        key = f"{m}x{k}x{n}"
        cells = " ".join(f"{gf[c][key]:>14.1f}" for c in cols)
        r_np = gf["fastgrad"][key] / gf["numpy"][key]
        r_t = f"{gf['fastgrad'][key] / gf['torch'][key]:8.2f}x" if "torch" in cols else "       -"
        print(f"{key:>14} {cells}   {r_np:7.2f}x {r_t}")
        record(f"SGEMM {key} {tag}", {c: _flop(m, k, n) / (gf[c][key] * 1e9) for c in cols})


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=5, help="processes per system with --per-process")
    ap.add_argument("--per-process", action="store_true")
    ap.add_argument("--peer-isa", choices=["match", "native"], default="match")
    ap.add_argument("--child", choices=SYSTEMS, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.peer_isa == "native":
        os.environ["FG_BENCH_PEER_ISA"] = "native"
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import peer_isa  # noqa: F401  (before NumPy / torch load their BLAS; children inherit the env)

    if args.child:
        child(args.child, args.threads, args.rounds)
        return
    print(header(args.threads))
    if args.per_process:
        pp = per_process(args.threads, args.runs, args.rounds)
        print_table(
            f"each system alone in its own process, median of {args.runs} processes:", pp, "per process"
        )
    print_table(
        "in one process, rounds interleaved (medians):", interleaved(args.threads, args.rounds), "in-process"
    )
    print(header(args.threads))


if __name__ == "__main__":
    main()
