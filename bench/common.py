"""Small shared helpers for fastgrad's Python benchmarks: interleaved timing rounds
with medians, a plain-text table with ratios against a baseline column, and `record`,
through which bench/run_all.py collects every script's rows into one table."""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from collections.abc import Sequence
from typing import Any, Callable


def time_interleaved(
    fns: dict[str, Callable[[], object]],
    rounds: int = 15,
    inner: int = 1,
    warmup: int = 2,
    stat: Callable[[list[float]], float] = statistics.median,
) -> dict[str, float]:
    """Seconds per call of each function (median of the rounds by default; `stat=min`
    gives the least-disturbed round on a busy machine). Rounds alternate between the
    functions (A B C A B C ...) so slow drifts of the machine hit all of them alike."""
    for _ in range(warmup):
        for f in fns.values():
            f()
    samples: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(rounds):
        for name, f in fns.items():
            t0 = time.perf_counter()
            for _ in range(inner):
                f()
            samples[name].append((time.perf_counter() - t0) / inner)
    return {k: stat(v) for k, v in samples.items()}


def cpu_model() -> str:
    """The CPU's model name (/proc/cpuinfo), for the header of every table."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.processor() or "unknown CPU"


def record(workload: str, times: dict[str, float]) -> None:
    """Appends one workload's seconds per system to the JSON-lines file named by
    FASTGRAD_BENCH_RECORD (set by bench/run_all.py); a no-op when the variable is unset."""
    path = os.environ.get("FASTGRAD_BENCH_RECORD")
    if not path:
        return
    script = os.path.splitext(os.path.basename(sys.argv[0]))[0]
    with open(path, "a") as f:
        f.write(json.dumps({"script": script, "workload": workload, "seconds": times}) + "\n")


def print_table(
    rows: Sequence[tuple[str, dict[str, float]]],
    unit: str = "us",
    scale: float = 1e6,
    baseline: str | None = None,
) -> None:
    """rows: (label, {column: seconds}). With `baseline`, adds `col/baseline` ratios.
    Every row is also `record`ed for bench/run_all.py."""
    for label, vals in rows:
        record(label, vals)
    cols = list(rows[0][1]) if rows else []
    head = ["case"] + [f"{c} [{unit}]" for c in cols]
    if baseline:
        head += [f"{c}/{baseline}" for c in cols if c != baseline]
    lines = [head]
    for label, vals in rows:
        line = [label] + [f"{vals[c] * scale:.3f}" for c in cols]
        if baseline:
            line += [f"{vals[c] / vals[baseline]:.2f}x" for c in cols if c != baseline]
        lines.append(line)
    widths = [max(len(r[i]) for r in lines) for i in range(len(head))]
    for r in lines:
        print("  ".join(s.ljust(w) if i == 0 else s.rjust(w) for i, (s, w) in enumerate(zip(r, widths))))


def per_process(
    script: str, systems: Sequence[str], threads: int, runs: int, extra: Sequence[str] = ()
) -> dict[str, dict[str, float]]:
    """Each system alone in a fresh process (``script --child SYSTEM --threads N ...``, which
    prints one JSON line {case: seconds}), alternated A B C A B C ... `runs` times: a peer's
    spinning thread pool then cannot slow the others. Median per system and case; a system
    whose child fails (an optional peer not installed) is left out."""
    import subprocess

    env = dict(os.environ)
    env.update(
        OMP_NUM_THREADS=str(threads),
        XLA_FLAGS=f"--xla_cpu_multi_thread_eigen=true intra_op_parallelism_threads={threads}",
    )
    samples: dict[str, dict[str, list[float]]] = {s: {} for s in systems}
    for _ in range(runs):
        for s in systems:
            cmd = [sys.executable, os.path.abspath(script), "--child", s, "--threads", str(threads), *extra]
            out = subprocess.run(cmd, env=env, capture_output=True, text=True)
            if out.returncode != 0:
                continue
            for case, sec in json.loads(out.stdout.strip().splitlines()[-1]).items():
                samples[s].setdefault(case, []).append(sec)
    res: dict[str, dict[str, float]] = {}
    for s, d in samples.items():
        for case, v in d.items():
            res.setdefault(case, {})[s] = statistics.median(v)
    return res


def transform_bench_args(systems: Sequence[str]) -> Any:
    """The command line of the function-transform benchmarks (jacobian, hessian,
    per_example): --rounds/--inner/--threads, --per-process [--runs N], and the hidden
    --child SYSTEM that per_process starts."""
    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--inner", type=int, default=5)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--per-process", action="store_true")
    ap.add_argument("--runs", type=int, default=5, help="processes per system with --per-process")
    ap.add_argument("--child", choices=list(systems), help=argparse.SUPPRESS)
    return ap.parse_args()


def build_systems(systems: Sequence[str], build: Callable[[str], Any]) -> tuple[Any, dict[str, Any] | None]:
    """The command line, and `build(system)` for every installed system (thread-matched
    peers); as per_process's child it times its one system instead and returns no builds."""
    args = transform_bench_args(systems)
    if args.child:
        run_child(args.child, args, build)
        return args, None
    import fastgrad
    from peers import jax, set_threads, torch  # optional peers, thread-matched

    set_threads(args.threads)
    present = [s for s, mod in zip(systems, (fastgrad, torch, jax)) if mod is not None]
    return args, {s: build(s) for s in present}


def run_child(
    system: str, args: Any, build: Callable[[str], dict[str, tuple[Callable[[], object], Any]]]
) -> None:
    """One system alone (per_process's child): its thread count set before anything is
    built, each case timed, {case: seconds per call} printed as one JSON line."""
    threads = args.threads or 2
    if system == "fastgrad":
        import fastgrad

        fastgrad.set_num_threads(threads)
    elif system.startswith("torch"):
        import torch

        torch.set_num_threads(threads)
    cases = build(system)
    out = {
        c: time_interleaved({c: fn}, rounds=args.rounds, inner=args.inner, warmup=3)[c]
        for c, (fn, _) in cases.items()
    }
    print(json.dumps(out))


def report(
    script: str, title: str, built: dict[str, dict[str, tuple[Callable[[], object], Any]]], args: Any
) -> None:
    """Times every case of every built system ({system: {case: (call, result)}}) interleaved
    in this process, prints that table and, with --per-process, the table of each system
    alone; ratios against jax.jit when it is there."""
    import fastgrad

    systems = list(built)
    cases = list(next(iter(built.values())))
    rows = []
    for c in cases:
        fns = {s: built[s][c][0] for s in systems}
        rows.append((c, time_interleaved(fns, rounds=args.rounds, inner=args.inner, warmup=3)))
    baseline = "jax.jit" if "jax.jit" in built else None
    threads = fastgrad.get_num_threads()
    print(f"\n{title}, threads={threads}")
    print("interleaved in one process:")
    print_table(rows, unit="us", scale=1e6, baseline=baseline)
    if args.per_process:
        extra = ["--rounds", str(args.rounds), "--inner", str(args.inner)]
        pp = per_process(script, systems, threads, args.runs, extra)
        print(f"each system alone in its own process, median of {args.runs} processes:")
        print_table([(f"{k} per process", v) for k, v in pp.items()], unit="us", scale=1e6, baseline=baseline)
