#include "index.h"

#include <algorithm>
#include <cstring>

#include "../map/strided.h"
#include "../parallel_for.h"
#include "../wrap.h"

namespace fastgrad::kernels {

int64_t first_out_of_bounds(const int64_t* idx, int64_t n, int64_t dim) {
  for (int64_t j = 0; j < n; ++j)
    if (idx[j] < -dim || idx[j] >= dim) return j;
  return -1;
}

int64_t count_nonzero(const uint8_t* mask, int64_t n) {
  int64_t c = 0;
  serial_loop(n, [&](int64_t i) { c += mask[i] != 0; });
  return c;
}

void nonzero_positions(const uint8_t* mask, int64_t n, int64_t* out, int64_t cap) {
  int64_t j = 0;
  serial_loop(n, [&](int64_t i) {
    if (mask[i] != 0 && j < cap) out[j++] = i;
  });
}

template <typename T>
void index_select(const T* src, const int64_t ss[3], int64_t outer, int64_t dim, int64_t inner,
                  const int64_t* idx, int64_t n, T* out) {
  if (outer == 0 || n == 0 || inner == 0) return;
  // One item per (a, j): a row of `inner` elements, copied with memcpy when contiguous.
  auto row = [&](int64_t item) {
    const int64_t a = item / n, j = item % n;
    const int64_t k = idx[j] < 0 ? idx[j] + dim : idx[j];
    const T* from = src + a * ss[0] + k * ss[1];
    T* to = out + item * inner;
    if (ss[2] == 1)
      std::memcpy(to, from, sizeof(T) * static_cast<size_t>(inner));
    else
      for (int64_t i = 0; i < inner; ++i) to[i] = from[i * ss[2]];
  };
  parallel_for(outer * n, outer * n * inner >= kCheapParallelGrain, row);
}

template <typename T>
void index_add(const T* src, const int64_t ss[3], int64_t outer, int64_t n, int64_t inner, const int64_t* idx,
               int64_t dim, T* out) {
  // Items are (a, inner block): an item owns its output columns, and walks j in order,
  // so repeated indices never race and the sums have one order.
  if (outer == 0 || n == 0 || inner == 0) return;
  const int64_t blocks = (inner + kInnerBlock - 1) / kInnerBlock;
  auto item = [&](int64_t it) {
    const int64_t a = it / blocks, i0 = (it % blocks) * kInnerBlock, i1 = std::min(inner, i0 + kInnerBlock);
    for (int64_t j = 0; j < n; ++j) {
      const int64_t k = idx[j] < 0 ? idx[j] + dim : idx[j];
      const T* from = src + a * ss[0] + j * ss[1];
      T* to = out + (a * dim + k) * inner;
      if (ss[2] == 1)
        for (int64_t i = i0; i < i1; ++i) to[i] = wrap_add(to[i], from[i]);
      else
        for (int64_t i = i0; i < i1; ++i) to[i] = wrap_add(to[i], from[i * ss[2]]);
    }
  };
  parallel_for(outer * blocks, outer * n * inner >= kCheapParallelGrain, item);
}

#define FG_INSTANTIATE_SELECT(T)                                                                       \
  template void index_select<T>(const T*, const int64_t[3], int64_t, int64_t, int64_t, const int64_t*, \
                                int64_t, T*);
FG_INSTANTIATE_SELECT(float)
FG_INSTANTIATE_SELECT(double)
FG_INSTANTIATE_SELECT(int64_t)
FG_INSTANTIATE_SELECT(bool)
#undef FG_INSTANTIATE_SELECT
#define FG_INSTANTIATE_ADD(T)                                                                                \
  template void index_add<T>(const T*, const int64_t[3], int64_t, int64_t, int64_t, const int64_t*, int64_t, \
                             T*);
FG_INSTANTIATE_ADD(float)
FG_INSTANTIATE_ADD(double)
FG_INSTANTIATE_ADD(int64_t)
#undef FG_INSTANTIATE_ADD

}  // namespace fastgrad::kernels
