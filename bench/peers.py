"""Optional benchmark peers (NumPy is always there; PyTorch and JAX when installed),
each limited to the same thread count as fastgrad so ratios compare like with like."""

from __future__ import annotations

import os

import fastgrad as fg

THREADS = fg.get_num_threads()
os.environ.setdefault(
    "XLA_FLAGS", f"--xla_cpu_multi_thread_eigen=true intra_op_parallelism_threads={THREADS}"
)

try:
    import torch

    torch.set_num_threads(THREADS)
except ImportError:  # optional peer
    torch = None

try:
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_platforms", "cpu")
except ImportError:  # optional peer
    jax = jnp = None


def set_threads(n: int | None) -> None:
    """--threads N for a benchmark: fastgrad and PyTorch alike (JAX reads XLA_FLAGS at start)."""
    if n:
        fg.set_num_threads(n)
        if torch is not None:
            torch.set_num_threads(n)


def block(x):
    """Waits for JAX's asynchronous dispatch; other results pass through."""
    if jax is not None and hasattr(x, "block_until_ready"):
        x.block_until_ready()
    elif isinstance(x, (tuple, list)):
        for v in x:
            block(v)
    return x


def cpu_peak_gflops_fp32() -> float | None:
    """AVX-512 FP32 peak: 32 FLOP/cycle/core on Zen 4 (two 256-bit FMA pipes; 512-bit ops
    are double-pumped) x threads x clock. The clock is FASTGRAD_CPU_GHZ when set (the
    sustained boost clock, e.g. 3.64 measured on the development VM with a tight FMA
    loop), else the nominal clock /proc/cpuinfo reports, which understates a boosting CPU."""
    ghz = os.environ.get("FASTGRAD_CPU_GHZ")
    if ghz:
        return float(ghz) * 32 * THREADS
    try:
        with open("/proc/cpuinfo") as f:
            mhz = [float(line.split(":")[1]) for line in f if line.startswith("cpu MHz")]
    except OSError:
        return None
    return max(mhz) * 1e-3 * 32 * THREADS if mhz else None
