// Per-ISA kernels for the hot inner loops of the float reductions (reduce_<isa>.cpp), used
// by the walk in reduce_impl.h: a contiguous run summed (or its squares summed) into a
// double, and a contiguous row added (or its squares added) into a row of double
// accumulators. Declarations only: this header is included by files built with different
// ISA flags, so it must not define inline functions.
#pragma once
#include <cstdint>

namespace fastgrad::kernels::reduce_detail {

struct RunKernels {
  double (*sum_f32)(const float* x, int64_t n);
  double (*sum_f64)(const double* x, int64_t n);
  double (*sumsq_f32)(const float* x, int64_t n);
  double (*sumsq_f64)(const double* x, int64_t n);
  void (*add_row_f32)(double* acc, const float* x, int64_t n);  // acc[j] += x[j]
  void (*add_row_f64)(double* acc, const double* x, int64_t n);
  void (*addsq_row_f32)(double* acc, const float* x, int64_t n);  // acc[j] += x[j]^2
  void (*addsq_row_f64)(double* acc, const double* x, int64_t n);
  // Four rows s apart at once: acc[j] += (x[j] + x[j+s]) + (x[j+2s] + x[j+3s]) (or squares).
  void (*add4_row_f32)(double* acc, const float* x, int64_t s, int64_t n);
  void (*add4_row_f64)(double* acc, const double* x, int64_t s, int64_t n);
  void (*addsq4_row_f32)(double* acc, const float* x, int64_t s, int64_t n);
  void (*addsq4_row_f64)(double* acc, const double* x, int64_t s, int64_t n);
};

const RunKernels& run_kernels_scalar();
const RunKernels& run_kernels_avx2();
const RunKernels& run_kernels_avx512();
// The table of the active ISA (one atomic load, so set_isa() in tests takes effect at once).
const RunKernels& run_kernels();

}  // namespace fastgrad::kernels::reduce_detail
