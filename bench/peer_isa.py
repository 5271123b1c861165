"""Imported before `peers` by the convolution benchmarks: with FASTGRAD_ISA=avx2 on an AVX-512
machine, the peers are held to AVX2 as well (oneDNN via ONEDNN_MAX_CPU_ISA, ATen's own
kernels via ATEN_CPU_CAPABILITY, XLA via
--xla_cpu_max_isa), so the AVX2 table compares AVX2 code with AVX2 code. FG_BENCH_PEER_ISA=native
keeps the peers on their best ISA."""

from __future__ import annotations

import os

import fastgrad as fg

PEER_ISA = None
if os.environ.get("FASTGRAD_ISA", "").lower() == "avx2" and os.environ.get("FG_BENCH_PEER_ISA") != "native":
    PEER_ISA = "AVX2"
    os.environ.setdefault("ONEDNN_MAX_CPU_ISA", "AVX2")
    os.environ.setdefault("ATEN_CPU_CAPABILITY", "avx2")
    threads = fg.get_num_threads()
    os.environ.setdefault(
        "XLA_FLAGS",
        f"--xla_cpu_multi_thread_eigen=true intra_op_parallelism_threads={threads} --xla_cpu_max_isa=AVX2",
    )
