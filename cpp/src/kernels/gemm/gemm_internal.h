// Internal interface between the ISA-neutral GEMM driver (gemm.cpp) and the per-ISA
// micro-kernels (gemm_scalar.cpp, gemm_avx2.cpp, gemm_avx512.cpp). Declarations only:
// this header is included by files compiled with different ISA flags, so it must not
// define inline functions or instantiate templates (the linker could otherwise keep an
// AVX-512 copy for baseline callers).
#pragma once
#include <cstdint>

namespace fastgrad::kernels::gemm_detail {

// Micro-kernel: C[0:mr, 0:nr] = alpha * Ap @ Bp + beta * C, with Ap a packed MR x kc
// micro-panel, element (r, k) at Ap[r*a_rs + k*a_cs] (either k-major: a_rs = 1,
// a_cs = MR, or row-major: a_rs = kc, a_cs = 1, whichever the packing could produce
// with contiguous reads), and Bp a packed kc x NR micro-panel (Bp[k*NR + c]).
// mr <= MR, nr <= NR; padding rows/columns of the panels are zero.
// beta == 0: C is not read.
template <typename T>
using MicroKernel = void (*)(int64_t kc, const T* Ap, int64_t a_rs, int64_t a_cs, const T* Bp, T* C,
                             int64_t rsC, int64_t csC, T alpha, T beta, int64_t mr, int64_t nr);

// Unpacked path for small problems with unit column stride in B and C:
// C = alpha * A @ B + beta * C. K >= 1.
template <typename T>
using SmallKernel = void (*)(int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t rsA, int64_t csA,
                             const T* B, int64_t rsB, T beta, T* C, int64_t rsC);

template <typename T>
struct KernelSet {
  int64_t MR, NR;      // micro-tile
  int64_t KC, MC, NC;  // cache blocking (MC multiple of MR, NC multiple of NR)
  MicroKernel<T> micro;
  SmallKernel<T> small;  // may be null: small problems then go through packing
};

const KernelSet<float>& kernels_scalar_f32();
const KernelSet<double>& kernels_scalar_f64();
const KernelSet<float>& kernels_avx2_f32();
const KernelSet<double>& kernels_avx2_f64();
const KernelSet<float>& kernels_avx512_f32();
const KernelSet<double>& kernels_avx512_f64();

}  // namespace fastgrad::kernels::gemm_detail
