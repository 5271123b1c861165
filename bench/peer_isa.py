"""Imported before `peers` (and before NumPy or torch load their BLAS) by every benchmark
that compares kernels: with FASTGRAD_ISA=avx2 on an AVX-512 machine, the peers are held
to AVX2 as well, so the AVX2 table compares AVX2 code with AVX2 code:
OpenBLAS (OPENBLAS_CORETYPE=Haswell), MKL, oneDNN (ONEDNN/DNNL_MAX_CPU_ISA), ATen's own
kernels (ATEN_CPU_CAPABILITY) and XLA (--xla_cpu_max_isa). Values already set are kept;
FG_BENCH_PEER_ISA=native keeps the peers on their best ISA."""

from __future__ import annotations

import os

AVX2_ENV = {
    "OPENBLAS_CORETYPE": "Haswell",
    "MKL_ENABLE_INSTRUCTIONS": "AVX2",
    "ONEDNN_MAX_CPU_ISA": "AVX2",
    "DNNL_MAX_CPU_ISA": "AVX2",
    "ATEN_CPU_CAPABILITY": "avx2",
}

PEER_ISA = None
if os.environ.get("FASTGRAD_ISA", "").lower() == "avx2" and os.environ.get("FG_BENCH_PEER_ISA") != "native":
    PEER_ISA = "AVX2"
    for key, val in AVX2_ENV.items():
        os.environ.setdefault(key, val)
    # Only now: importing fastgrad imports NumPy, which loads OpenBLAS and reads its core type.
    import fastgrad as fg

    flags = os.environ.get("XLA_FLAGS") or (
        f"--xla_cpu_multi_thread_eigen=true intra_op_parallelism_threads={fg.get_num_threads()}"
    )
    if "--xla_cpu_max_isa" not in flags:
        flags += " --xla_cpu_max_isa=AVX2"
    os.environ["XLA_FLAGS"] = flags
