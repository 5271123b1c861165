"""Runs every benchmark script, each in its own process, and prints one table: workload,
fastgrad's time, the best peer's, and the ratio (best peer time / fastgrad time, > 1 means
fastgrad is faster). The header names the CPU model, the ISA path fastgrad dispatched to,
the thread count and the load average before and after, so a table is never read without
the conditions it was measured in.

    python bench/run_all.py                    # the default ISA path (the best this CPU has)
    FASTGRAD_ISA=avx2 python bench/run_all.py  # the AVX2 path on an AVX-512 machine
    python bench/run_all.py --only conv --markdown

Each script reports its rows through `common.record`; a script that fails is listed with
its exit code and the others still run."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import cpu_model

HERE = Path(__file__).resolve().parent

# (script, arguments): the scripts' own defaults, except where a shorter run gives the same
# medians (the interleaved rounds are what make ratios stable, not the count).
SCRIPTS: list[tuple[str, list[str]]] = [
    ("overhead.py", []),
    ("matmul.py", ["--per-process", "--runs", "3"]),
    ("conv2d.py", ["--passes"]),
    ("conv_nd.py", []),
    ("activations.py", []),
    ("maxpool.py", []),
    ("train_step.py", ["--per-process", "--runs", "3"]),
    ("reduce.py", []),
    ("hvp.py", []),
    ("jacobian.py", ["--per-process", "--runs", "3"]),
    ("hessian.py", ["--per-process", "--runs", "3"]),
    ("per_example.py", ["--per-process", "--runs", "3"]),
]

FASTGRAD = "fastgrad"


def fastgrad_config() -> tuple[str, str, int]:
    """The ISA path fastgrad picks in a fresh process with this environment, the paths the
    CPU supports, and the thread count."""
    code = "import fastgrad as fg; print(fg._C.isa(), ','.join(fg._C.supported_isas()), fg.get_num_threads())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    isa, supported, threads = out.split()
    return isa, supported, int(threads)


def run_script(script: str, args: list[str], record: str) -> tuple[int, float]:
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, str(HERE / script), *args],
        env={**os.environ, "FASTGRAD_BENCH_RECORD": record},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-1:] or [""]
        print(f"  {script}: exit {proc.returncode}: {tail[0]}", file=sys.stderr)
    return proc.returncode, time.perf_counter() - t0


def fmt_time(s: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if s >= scale:
            return f"{s / scale:.3g} {unit}"
    return f"{s * 1e9:.3g} ns"


def table(rows: list[dict], markdown: bool) -> list[str]:
    head = ["script", "workload", "fastgrad", "best peer", "ratio", "all peers (peer/fastgrad)"]
    lines = [head]
    for r in rows:
        t = r["seconds"]
        if FASTGRAD not in t:
            continue
        fg_t = t[FASTGRAD]
        peers = {k: v for k, v in t.items() if k != FASTGRAD and not k.startswith(FASTGRAD)}
        best = min(peers, key=peers.get) if peers else None
        lines.append(
            [
                r["script"],
                r["workload"],
                fmt_time(fg_t),
                f"{best} {fmt_time(peers[best])}" if best else "-",
                f"{peers[best] / fg_t:.2f}x" if best else "-",
                "  ".join(f"{k} {v / fg_t:.2f}x" for k, v in peers.items()),
            ]
        )
    if markdown:
        out = ["| " + " | ".join(lines[0]) + " |", "|" + "---|" * len(head)]
        out += ["| " + " | ".join(r) + " |" for r in lines[1:]]
        return out
    widths = [max(len(r[i]) for r in lines) for i in range(len(head))]
    return ["  ".join(s.ljust(w) for s, w in zip(r, widths)).rstrip() for r in lines]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", default=None, help="run the scripts whose name contains this")
    ap.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    args = ap.parse_args()

    isa, supported, threads = fastgrad_config()
    load0 = os.getloadavg()
    print(f"CPU: {cpu_model()} (supports {supported}); fastgrad ISA path: {isa}; threads: {threads}")
    print(f"load average at start: {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f}")
    failed = []
    with tempfile.TemporaryDirectory() as tmp:
        record = os.path.join(tmp, "rows.jsonl")
        open(record, "w").close()
        for script, sargs in SCRIPTS:
            if args.only and args.only not in script:
                continue
            if not (HERE / script).exists():
                print(f"  {script}: not present, skipped", file=sys.stderr)
                continue
            code, secs = run_script(script, sargs, record)
            print(f"  ran {script} in {secs:.0f} s", file=sys.stderr)
            if code:
                failed.append(script)
        with open(record) as f:
            rows = [json.loads(line) for line in f if line.strip()]
    load1 = os.getloadavg()
    print(f"load average at end: {load1[0]:.2f} {load1[1]:.2f} {load1[2]:.2f}")
    print("ratio = best peer time / fastgrad time (> 1: fastgrad is faster)\n")
    print("\n".join(table(rows, args.markdown)))
    if failed:
        print(f"\nfailed scripts: {', '.join(failed)}")
        sys.exit(1)


if __name__ == "__main__":
    main()
