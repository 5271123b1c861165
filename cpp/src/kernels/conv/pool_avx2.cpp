// The fixed-window pooling loops built with -mavx2 -mfma (run only when dispatch reports AVX2).
#include "pool_impl.h"

FG_POOL_DEFINE_FNS(avx2)
