#include "along.h"

#include <vector>

#include "../parallel_for.h"
#include "../wrap.h"

namespace fastgrad::kernels {
namespace {
// Row-major walk over `shape` keeping the coordinates; f(e, coords) for e < numel.
template <typename F>
void walk(const int64_t* shape, int64_t nd, F&& f) {
  int64_t n = 1;
  for (int64_t d = 0; d < nd; ++d) n *= shape[d];
  if (n == 0) return;
  std::vector<int64_t> c(static_cast<size_t>(nd), 0);
  serial_loop(n, [&](int64_t e) {
    f(e, c.data());
    for (int64_t d = nd - 1; d >= 0; --d) {
      if (++c[d] < shape[d]) break;
      c[d] = 0;
    }
  });
}
}  // namespace

template <typename T>
void gather_along(const T* src, const int64_t* ss, int64_t dim_size, const int64_t* idx, const int64_t* shape,
                  int64_t nd, int64_t dim, T* out) {
  walk(shape, nd, [&](int64_t e, const int64_t* c) {
    int64_t off = 0;
    for (int64_t d = 0; d < nd; ++d) off += (d == dim ? 0 : c[d]) * ss[d];
    const int64_t k = idx[e] < 0 ? idx[e] + dim_size : idx[e];
    out[e] = src[off + k * ss[dim]];
  });
}

template <typename T>
void scatter_along(T* dst, const int64_t* dshape, const int64_t* idx, const int64_t* shape, int64_t nd,
                   int64_t dim, const T* src, const int64_t* ss, ScatterMode mode) {
  std::vector<int64_t> ds(static_cast<size_t>(nd), 1);
  for (int64_t d = nd - 2; d >= 0; --d) ds[d] = ds[d + 1] * dshape[d + 1];
  walk(shape, nd, [&](int64_t, const int64_t* c) {
    int64_t so = 0, doff = 0;
    for (int64_t d = 0; d < nd; ++d) {
      so += c[d] * ss[d];
      if (d != dim) doff += c[d] * ds[d];
    }
    int64_t e = 0;  // idx is contiguous in `shape`
    for (int64_t d = 0; d < nd; ++d) e = e * shape[d] + c[d];
    const int64_t k = idx[e] < 0 ? idx[e] + dshape[dim] : idx[e];
    T& to = dst[doff + k * ds[dim]];
    const T v = src[so];
    switch (mode) {
      case ScatterMode::Assign:
        to = v;
        break;
      case ScatterMode::Add:
        to = wrap_add(to, v);
        break;
      case ScatterMode::Mul:
        to = wrap_mul(to, v);
        break;
      case ScatterMode::Max:
        if (v != v || v > to) to = v;
        break;
      case ScatterMode::Min:
        if (v != v || v < to) to = v;
        break;
    }
  });
}

void scatter_count(int64_t* counts, const int64_t* dshape, const int64_t* idx, const int64_t* shape,
                   int64_t nd, int64_t dim) {
  std::vector<int64_t> ds(static_cast<size_t>(nd), 1);
  for (int64_t d = nd - 2; d >= 0; --d) ds[d] = ds[d + 1] * dshape[d + 1];
  walk(shape, nd, [&](int64_t e, const int64_t* c) {
    int64_t doff = 0;
    for (int64_t d = 0; d < nd; ++d)
      if (d != dim) doff += c[d] * ds[d];
    const int64_t k = idx[e] < 0 ? idx[e] + dshape[dim] : idx[e];
    counts[doff + k * ds[dim]] += 1;
  });
}

int64_t repeat_positions(const int64_t* reps, int64_t n, int64_t* out, int64_t cap) {
  int64_t j = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (reps[i] < 0) return i;
    for (int64_t r = 0; r < reps[i] && j < cap; ++r) out[j++] = i;
  }
  return -1;
}

void unravel(const int64_t* flat, int64_t n, const int64_t* shape, int64_t nd, int64_t* out) {
  serial_loop(n, [&](int64_t i) {
    int64_t v = flat[i];
    for (int64_t d = nd - 1; d >= 0; --d) {
      out[i * nd + d] = shape[d] ? v % shape[d] : 0;
      v = shape[d] ? v / shape[d] : 0;
    }
  });
}

int64_t triangle_indices(int64_t rows, int64_t cols, int64_t offset, bool lower, int64_t* out, int64_t cap) {
  int64_t count = 0;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      if (lower ? c - r <= offset : c - r >= offset) ++count;
  if (!out) return count;
  int64_t j = 0;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      if ((lower ? c - r <= offset : c - r >= offset) && j < cap) {
        out[j] = r;
        out[cap + j] = c;
        ++j;
      }
  return count;
}

#define FG_INSTANTIATE_ALONG(T)                                                                             \
  template void gather_along<T>(const T*, const int64_t*, int64_t, const int64_t*, const int64_t*, int64_t, \
                                int64_t, T*);                                                               \
  template void scatter_along<T>(T*, const int64_t*, const int64_t*, const int64_t*, int64_t, int64_t,      \
                                 const T*, const int64_t*, ScatterMode);
FG_INSTANTIATE_ALONG(float)
FG_INSTANTIATE_ALONG(double)
FG_INSTANTIATE_ALONG(int64_t)
#undef FG_INSTANTIATE_ALONG
template void gather_along<bool>(const bool*, const int64_t*, int64_t, const int64_t*, const int64_t*,
                                 int64_t, int64_t, bool*);

}  // namespace fastgrad::kernels
