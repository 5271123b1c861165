"""What libgomp's wait policy costs fastgrad: fixed workloads in fresh processes under
several OMP_WAIT_POLICY / GOMP_SPINCOUNT settings, alternated run by run, medians of
the wall seconds of the timed loop (imports and set-up excluded) and the CPU seconds of
each process (getrusage of the children).

    python bench/wait_policy.py [--runs 5] [--workloads gemm,gap,train,mix]

Workloads (2 threads, float32):
  gemm   128x784x512, 512^3 and 256^3 products back to back
  gap    a 256^3 product after ~1 ms of Python work, repeated (a user's loop that does
         something between ops: the workers have gone idle when the next op comes)
  train  Adam steps of the 784-512-512-10 MLP on batches of 128, a fresh batch sliced
         from a NumPy array each step
  mix    the gemm products, each followed by the same product in NumPy (OpenBLAS's
         workers spin after each call: fastgrad's and OpenBLAS's threads share 2 cores)

fastgrad's default (fastgrad/__init__.py, applied to fastgrad's libgomp only) is the
first setting; a variable the user sets wins over it.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys

SETTINGS = [
    {"OMP_WAIT_POLICY": "PASSIVE", "GOMP_SPINCOUNT": "10000"},
    {"OMP_WAIT_POLICY": "PASSIVE"},
    {"OMP_WAIT_POLICY": "PASSIVE", "GOMP_SPINCOUNT": "3000"},
    {"OMP_WAIT_POLICY": "PASSIVE", "GOMP_SPINCOUNT": "30000"},
    {"OMP_WAIT_POLICY": "ACTIVE"},
]

PRELUDE = """
import time
import numpy as np
import fastgrad as fg
fg.set_num_threads(2)
rng = np.random.default_rng(0)
T0 = None
def operands(m, k, n):
    a = rng.standard_normal((m, k), dtype=np.float32)
    b = rng.standard_normal((k, n), dtype=np.float32)
    return a, b, fg.from_numpy(a), fg.from_numpy(b)
"""

# The products back to back; "mix" adds NumPy's product as the last line of the loop.
GEMM_LOOP = """
ops = [operands(*s) for s in [(128, 784, 512), (512, 512, 512), (256, 256, 256)]]
T0 = time.perf_counter()
for _ in range(300):
    for a, b, fa, fb in ops:
        fg.matmul(fa, fb)
"""

WORK = {
    "gemm": GEMM_LOOP,
    "mix": GEMM_LOOP + "        a @ b\n",
    "gap": """
a, b, fa, fb = operands(256, 256, 256)
T0 = time.perf_counter()
for _ in range(1000):
    t = time.perf_counter()
    while time.perf_counter() - t < 1e-3:
        pass
    fg.matmul(fa, fb)
""",
    "train": """
X = rng.standard_normal((4096, 784), dtype=np.float32)
y = rng.integers(0, 10, 4096)
model = fg.nn.Sequential(fg.nn.Linear(784, 512), fg.nn.ReLU(), fg.nn.Linear(512, 512), fg.nn.ReLU(),
                         fg.nn.Linear(512, 10))
opt = fg.optim.Adam(model.parameters(), lr=1e-3)
T0 = time.perf_counter()
for step in range(300):
    i = (step * 128) % 4096
    xb, yb = fg.tensor(X[i:i + 128]), fg.tensor(y[i:i + 128])
    opt.zero_grad()
    loss = fg.nn.functional.cross_entropy(model(xb), yb)
    loss.backward()
    opt.step()
""",
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--workloads", default="gemm,gap,train,mix")
    args = ap.parse_args()
    base = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    base.update(OMP_NUM_THREADS="2", OPENBLAS_NUM_THREADS="2")
    for name in args.workloads.split(","):
        code = PRELUDE + WORK[name] + "print(time.perf_counter() - T0)\n"
        wall: dict[int, list[float]] = {i: [] for i in range(len(SETTINGS))}
        cpu: dict[int, list[float]] = {i: [] for i in range(len(SETTINGS))}
        for _ in range(args.runs):
            for i, s in enumerate(SETTINGS):
                r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
                out = subprocess.run(
                    [sys.executable, "-c", code],
                    env={**base, **s},
                    check=True,
                    capture_output=True,
                    text=True,
                )
                wall[i].append(float(out.stdout.split()[-1]))
                r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu[i].append(r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime)
        la = " ".join(f"{x:.2f}" for x in os.getloadavg())
        print(f"{name}: {args.runs} processes per setting, load average {la}")
        w0 = statistics.median(wall[0])
        for i, s in enumerate(SETTINGS):
            w, c = statistics.median(wall[i]), statistics.median(cpu[i])
            label = " ".join(f"{k}={v}" for k, v in s.items())
            print(f"  {label:<48} wall {w:6.2f} s  cpu {c:6.2f} s  wall / first {w / w0:5.2f}x")


if __name__ == "__main__":
    main()
