#include "key.h"

#include <cstring>
#include <vector>

namespace fastgrad::kernels {

int64_t accumulate_linear_index(const int64_t* v, int64_t m, int64_t n, int64_t* lin) {
  for (int64_t e = 0; e < m; ++e) {
    if (v[e] < -n || v[e] >= n) return e;
    lin[e] = lin[e] * n + (v[e] < 0 ? v[e] + n : v[e]);
  }
  return -1;
}

void arithmetic_positions(int64_t start, int64_t step, int64_t len, int64_t* out) {
  for (int64_t j = 0; j < len; ++j) out[j] = start + j * step;
}

int64_t last_writes(const int64_t* pos, int64_t m, int64_t n, int64_t* last, int64_t* uniq, int64_t* keep,
                    uint8_t* mask) {
  for (int64_t p = 0; p < n; ++p) last[p] = -1;
  for (int64_t i = 0; i < m; ++i) last[pos[i]] = i;
  int64_t u = 0;
  for (int64_t p = 0; p < n; ++p) {
    mask[p] = last[p] >= 0;
    if (last[p] >= 0) {
      uniq[u] = p;
      keep[u] = last[p];
      ++u;
    }
  }
  return u;
}

void strided_offsets(const int64_t* shape, const int64_t* strides, int64_t nd, int64_t offset, int64_t* out) {
  int64_t total = 1;
  for (int64_t i = 0; i < nd; ++i) total *= shape[i];
  std::vector<int64_t> idx(static_cast<size_t>(nd), 0);
  int64_t o = offset;  // kept in step with idx (an odometer over the strided index)
  for (int64_t e = 0; e < total; ++e) {
    out[e] = o;
    for (int64_t i = nd - 1; i >= 0; --i) {
      o += strides[i];
      if (++idx[i] < shape[i]) break;
      o -= strides[i] * shape[i];
      idx[i] = 0;
    }
  }
}

void scatter_elements(char* base, const int64_t* at, int64_t m, const char* src, size_t isz) {
  for (int64_t i = 0; i < m; ++i) std::memcpy(base + at[i] * static_cast<int64_t>(isz), src + i * isz, isz);
}

}  // namespace fastgrad::kernels
