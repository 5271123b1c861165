"""Data-parallel training over MPI: step time, communication fraction, allreduce figures.

    python bench/distributed.py                       # 1 rank
    mpirun -n 2 --oversubscribe python bench/distributed.py
    python bench/distributed.py --model-only LAT_US BW_GBS   # the paper model alone

Per model (784-512-512-10 ReLU MLP, the digits CNN), per setting (DDP overlap on, off):
median seconds per SGD step (forward + backward + step) at a fixed global batch split over
the ranks, and the fraction of it spent waiting for allreduces (DDP.comm_seconds: the
exposed communication). Then allreduce latency and bandwidth (median of reps) for sizes
8 B .. 16 MB, and the ring-allreduce model of scaling efficiency (bench/README.md).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np

import fastgrad as fg
import fastgrad.distributed as dist
from fastgrad.nn.parallel import DistributedDataParallel


def mlp() -> fg.nn.Module:
    return fg.nn.Sequential(
        fg.nn.Linear(784, 512), fg.nn.ReLU(), fg.nn.Linear(512, 512), fg.nn.ReLU(), fg.nn.Linear(512, 10)
    )


def cnn() -> fg.nn.Module:
    from fastgrad.examples.classification import DigitsCNN

    return DigitsCNN()


MODELS = {
    # name: (factory, input shape, global batch, bucket_cap_mb with overlap)
    "mlp 784-512-512-10": (mlp, (784,), 128, 1.0),
    "digits cnn": (cnn, (1, 8, 8), 64, 0.02),
}


def step_times(name: str, overlap: object, steps: int) -> tuple[float, float, float]:
    """(median step s, median exposed comm s, backward share of the step) on this rank;
    overlap=None: no DDP (each rank trains alone: the compute baseline under the same load)."""
    fac, shape, B, cap = MODELS[name]
    r, n = dist.rank(), dist.world_size()
    fg.manual_seed(0)
    model = fac()
    use = n > 1 and overlap is not None
    ddp = DistributedDataParallel(model, bucket_cap_mb=cap, overlap=bool(overlap)) if use else model
    opt = fg.optim.SGD(model.parameters(), lr=0.01)
    b = B // n
    rng = np.random.default_rng(r)
    x = fg.tensor(rng.standard_normal((b, *shape)).astype(np.float32))
    y = fg.tensor(rng.integers(0, 10, b))
    ts, cs, bw = [], [], []
    for i in range(steps + 3):
        if n > 1:
            dist.barrier()
        c0 = ddp.comm_seconds if use else 0.0
        t0 = time.perf_counter()
        loss = fg.nn.functional.cross_entropy(ddp(x), y)
        t1 = time.perf_counter()
        loss.backward()
        t2 = time.perf_counter()
        opt.step()
        opt.zero_grad()
        t3 = time.perf_counter()
        if i >= 3:
            ts.append(t3 - t0)
            cs.append((ddp.comm_seconds if use else 0.0) - c0)
            bw.append((t2 - t1) / (t3 - t0))
    return statistics.median(ts), statistics.median(cs), statistics.median(bw)


def ping(sizes: list[int], reps: int) -> list[tuple[int, float, float]]:
    """(bytes, median s, min s) of one in-place allreduce (float32 sum) per size."""
    out = []
    for nbytes in sizes:
        t = fg.zeros(max(1, nbytes // 4))
        k = reps if nbytes < 1 << 20 else max(5, reps // 10)
        ts = []
        for _ in range(k + 2):
            dist.barrier()
            t0 = time.perf_counter()
            dist.all_reduce(t)
            ts.append(time.perf_counter() - t0)
        out.append((nbytes, statistics.median(ts[2:]), min(ts[2:])))
    return out


def ring_seconds(nbytes: float, p: int, lat: float, bw: float) -> float:
    """Ring allreduce of nbytes over p ranks: 2(p-1) steps of latency, 2(p-1)/p·bytes moved."""
    if p == 1:
        return 0.0
    return 2 * (p - 1) * lat + 2 * (p - 1) / p * nbytes / bw


def efficiency(
    params: int, bucket_bytes: float, t_step: float, bwd_share: float, p: int, lat: float, bw: float
) -> float:
    """Weak scaling (per-rank batch fixed): t_step / (t_step + exposed comm); buckets run
    during backward, so the exposed part is max(last bucket, total - backward time)."""
    total_bytes = params * 4
    nb = max(1, int(np.ceil(total_bytes / bucket_bytes)))
    per = total_bytes / nb
    t_all = nb * ring_seconds(per, p, lat, bw)
    t_last = ring_seconds(per, p, lat, bw)
    exposed = max(t_last, t_all - bwd_share * t_step)
    return t_step / (t_step + exposed)


def model_table(
    rows: list[tuple[str, int, float, float, float]], nets: list[tuple[str, float, float]]
) -> None:
    """rows: (model, params, bucket bytes, 1-rank step s, backward share); nets: (name, lat s, B/s)."""
    print("\nscaling efficiency, ring allreduce model (weak scaling, fp32 grads, overlap):")
    print(f"{'model':<22}{'network':<34}" + "".join(f"{p:>8}" for p in (2, 8, 64, 512)))
    for m, params, bucket, t, share in rows:
        for net, lat, bw in nets:
            effs = [efficiency(params, bucket, t, share, p, lat, bw) for p in (2, 8, 64, 512)]
            print(f"{m:<22}{net:<34}" + "".join(f"{e * 100:7.1f}%" for e in effs))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--reps", type=int, default=50)
    ap.add_argument("--no-ping", action="store_true")
    args = ap.parse_args()
    dist.init()
    r, n = dist.rank(), dist.world_size()
    if r == 0:
        print(f"fastgrad data-parallel bench: {n} rank(s), {fg.get_num_threads()} thread(s) per rank")
    results = {}
    for name in MODELS:
        for overlap in (None, True, False) if n > 1 else (None,):
            t, c, share = step_times(name, overlap, args.steps)
            results[(name, overlap)] = (t, c, share)
            if r == 0:
                tag = {None: "no DDP     ", True: "overlap on ", False: "overlap off"}[overlap]  # type: ignore[index]
                print(
                    f"{name:<20} {tag}: {t * 1e3:8.2f} ms/step, exposed comm {c * 1e3:7.2f} ms "
                    f"({c / t * 100:5.1f}%), backward {share * 100:4.1f}% of the step"
                )
    if n > 1 and not args.no_ping:
        sizes = [8, 64, 512, 4096, 32768, 1 << 18, 1 << 20, 1 << 22, 1 << 24]
        res = ping(sizes, args.reps)
        if r == 0:
            print("\nallreduce (float32 sum, in place): median and best of the reps")
            for nbytes, s, m in res:
                print(
                    f"  {nbytes:>9} B: median {s * 1e6:9.1f} us ({nbytes / s / 1e9:6.3f} GB/s), "
                    f"best {m * 1e6:9.1f} us ({nbytes / m / 1e9:6.3f} GB/s)"
                )
            # The best rounds are the ones the shared machine's scheduler did not disturb.
            # latency: the best small allreduce; bandwidth: the best large one, less latency
            # (one allreduce of p=2 moves 2(p-1)/p = 1 x bytes per rank).
            lat = min(m for nbytes, _, m in res if nbytes <= 4096)
            bw = max(nbytes / max(m - lat, 1e-9) for nbytes, _, m in res if nbytes >= 1 << 18)
            print(
                f"  fitted (best rounds): latency {lat * 1e6:.1f} us per allreduce, bandwidth {bw / 1e9:.2f} GB/s"
            )
            rows = []
            for name, (fac, _, _, cap) in MODELS.items():
                params = sum(int(p.numel()) for p in fac().parameters())
                # compute per step at this per-rank batch: the no-DDP run under the same load
                t, _, share = results[(name, None)]
                rows.append((name, params, cap * 2**20, t, share))
            model_table(
                rows,
                [
                    ("this box (shm, measured)", lat / 2, bw),
                    ("100 Gb/s InfiniBand (2us, 12 GB/s)", 2e-6, 12e9),
                    ("25 GbE (20us, 3 GB/s)", 20e-6, 3e9),
                ],
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
