// AVX2 + FMA run kernels of the float reductions (4 doubles per vector).
#include <immintrin.h>

#include "../simd/traits_avx2.h"
#include "reduce_runs_simd.h"

namespace fastgrad::kernels::reduce_detail {

const RunKernels& run_kernels_avx2() { return table<simd::Yd>(); }

}  // namespace fastgrad::kernels::reduce_detail
