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
from typing import Callable


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
