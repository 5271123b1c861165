// The fixed-window pooling loops built with the AVX-512 flags (run only when dispatch reports AVX-512).
#include "pool_impl.h"

FG_POOL_DEFINE_FNS(avx512)
