"""What libgomp's wait policy costs fastgrad: a fixed GEMM workload (128x784x512,
512^3, 256^3 float32 products, 2 threads) in fresh processes under several
OMP_WAIT_POLICY / GOMP_SPINCOUNT settings, alternated run by run, medians of the wall
and CPU seconds of each process (CPU from getrusage of the children).

    python bench/wait_policy.py [--runs 5] [--reps 300] [--mix]

--mix interleaves a NumPy (OpenBLAS) product after every fastgrad one in the same
process (a program that uses both: OpenBLAS's workers spin after each call).
fastgrad's default is OMP_WAIT_POLICY=PASSIVE (set in fastgrad/__init__.py unless the
variable is already set); GOMP_SPINCOUNT, when given, overrides the policy's spin count.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time

SETTINGS = [
    {"OMP_WAIT_POLICY": "PASSIVE"},
    {"OMP_WAIT_POLICY": "PASSIVE", "GOMP_SPINCOUNT": "10000"},
    {"OMP_WAIT_POLICY": "PASSIVE", "GOMP_SPINCOUNT": "100000"},
    {"OMP_WAIT_POLICY": "ACTIVE"},
]

WORK = """
import sys
import numpy as np
import fastgrad as fg
fg.set_num_threads(2)
rng = np.random.default_rng(0)
ops = []
for m, k, n in [(128, 784, 512), (512, 512, 512), (256, 256, 256)]:
    a = rng.standard_normal((m, k), dtype=np.float32)
    b = rng.standard_normal((k, n), dtype=np.float32)
    fa, fb = fg.from_numpy(a), fg.from_numpy(b)
    ops.append(lambda fa=fa, fb=fb: fg.matmul(fa, fb))
    if MIX:
        ops.append(lambda a=a, b=b: a @ b)
for _ in range(REPS):
    for op in ops:
        op()
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--reps", type=int, default=300)
    ap.add_argument("--mix", action="store_true")
    args = ap.parse_args()
    code = WORK.replace("MIX", str(args.mix)).replace("REPS", str(args.reps))
    wall: dict[int, list[float]] = {i: [] for i in range(len(SETTINGS))}
    cpu: dict[int, list[float]] = {i: [] for i in range(len(SETTINGS))}
    base = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    base.update(OMP_NUM_THREADS="2", OPENBLAS_NUM_THREADS="2")
    for _ in range(args.runs):
        for i, s in enumerate(SETTINGS):
            r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], env={**base, **s}, check=True)
            wall[i].append(time.perf_counter() - t0)
            r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu[i].append(r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime)
    la = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"{'mixed with NumPy' if args.mix else 'fastgrad alone'}, {args.runs} processes each, load average {la}"
    )
    w0 = statistics.median(wall[0])
    for i, s in enumerate(SETTINGS):
        w, c = statistics.median(wall[i]), statistics.median(cpu[i])
        name = " ".join(f"{k}={v}" for k, v in s.items())
        print(f"  {name:<48} wall {w:6.2f} s  cpu {c:6.2f} s  wall / PASSIVE {w / w0:5.2f}x")


if __name__ == "__main__":
    main()
