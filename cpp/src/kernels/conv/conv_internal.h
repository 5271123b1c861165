// Internal interface between the ISA-neutral convolution driver (conv.cpp) and the
// per-ISA panel kernels (conv_avx2.cpp, conv_avx512.cpp). Declarations only: this header
// is included by files compiled with different ISA flags, so it must not define inline
// functions or instantiate templates.
#pragma once
#include <cstdint>

namespace fastgrad::kernels::conv_detail {

// C[0:M, 0:N] = A @ B (+ bias[i] on row i when bias != nullptr), C overwritten, where
// A is M x K row-major (A[i*lda + k]) and B is K x N packed in NR-column panels:
// column j is at Bp[(j / NR) * K * NR + k * NR + j % NR] (the last panel's columns past
// N are never stored from, so they may hold anything finite). Serial.
template <typename T>
using PanelGemm = void (*)(int64_t M, int64_t N, int64_t K, const T* A, int64_t lda, const T* Bp, T* C,
                           int64_t ldc, const T* bias);

// Two tile shapes: run (NR wide, rows in 8s / 4s: for M = output channels) and narrow
// (NR_narrow = 2 vectors wide, more rows: for N = output channels, which 2 vectors
// divide, so no panel is partly empty).
template <typename T>
struct PanelKernel {
  int64_t NR;  // panel width (elements)
  PanelGemm<T> run;
  int64_t NR_narrow;
  PanelGemm<T> run_narrow;
};

const PanelKernel<float>& panel_avx2_f32();
const PanelKernel<double>& panel_avx2_f64();
const PanelKernel<float>& panel_avx512_f32();
const PanelKernel<double>& panel_avx512_f64();

}  // namespace fastgrad::kernels::conv_detail
