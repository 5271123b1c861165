// AVX-512 run kernels of the float reductions (8 doubles per vector).
#include <immintrin.h>

#include "../simd/traits_avx512.h"
#include "reduce_runs_simd.h"

namespace fastgrad::kernels::reduce_detail {

const RunKernels& run_kernels_avx512() { return table<simd::Zd>(); }

}  // namespace fastgrad::kernels::reduce_detail
