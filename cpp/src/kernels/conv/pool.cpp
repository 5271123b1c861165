// Max / average / adaptive-average pooling, 1-3 spatial dims, both layouts.
//
// Every variant reduces to per-dim window tables (first input index, one past the
// last, and the divisor factor). Max and fixed-window average pooling run the per-ISA
// loops of pool_impl.h; adaptive pooling (windows of varying size) the loop nest below. Channels-first
// works plane by plane; channels-last keeps the channel loop innermost so it runs
// over contiguous memory. Backward passes scatter; units are chosen so that no two
// threads ever write the same gx element (planes, or (image, channel block)).
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "conv_common.h"
#include "fastgrad/kernels/conv.h"
#include "fastgrad/kernels/dispatch.h"
#include "fastgrad/parallel.h"
#include "pool_impl.h"

// The baseline build of the fixed-window loops (pool_avx2.cpp / pool_avx512.cpp hold the others).
FG_POOL_DEFINE_FNS(scalar)

namespace fastgrad::kernels {
namespace {

using detail::Geom3;

enum class Kind { kMax, kAvgInclPad, kAvgExclPad, kAdaptive };

// lo: the first input index a window visits, hi: one past the last; the loops step by
// the dilation (1 except for dilated max pooling).
struct Windows {
  std::vector<int64_t> lo[3], hi[3], cnt[3];
  int64_t divisor = 0;  // != 0: PyTorch's divisor_override (any sign)
  int64_t count(int64_t od, int64_t oh, int64_t ow) const {
    return divisor != 0 ? divisor : cnt[0][od] * cnt[1][oh] * cnt[2][ow];
  }
};

Windows make_windows(const Geom3& g, Kind kind) {
  Windows w;
  for (int d = 0; d < 3; ++d) {
    const int64_t n = g.out[d], in = g.in[d];
    w.lo[d].resize(n);
    w.hi[d].resize(n);
    w.cnt[d].resize(n);
    for (int64_t o = 0; o < n; ++o) {
      int64_t lo, hi, cnt;
      if (kind == Kind::kAdaptive) {
        lo = (o * in) / n;
        hi = ((o + 1) * in + n - 1) / n;
        cnt = hi - lo;
      } else if (kind == Kind::kMax) {
        // Positions start + j*dil, j in [0, k): the first and one past the last inside the input.
        const int64_t start = o * g.s[d] - g.pl[d], dl = g.d[d];
        lo = start >= 0 ? start : start + (-start + dl - 1) / dl * dl;
        const int64_t last = start + (g.k[d] - 1) * dl;
        hi = (last < in ? last : start + (in - 1 - start) / dl * dl) + 1;
        if (hi < lo) hi = lo;
        cnt = 0;
      } else {
        const int64_t start = o * g.s[d] - g.pl[d];
        // PyTorch clips the window to the padded input before counting.
        const int64_t end = std::min(start + g.k[d], in + g.ph[d]);
        lo = std::max<int64_t>(start, 0);
        hi = std::min(end, in);
        if (hi < lo) hi = lo;
        cnt = kind == Kind::kAvgInclPad ? std::max<int64_t>(end - start, 0) : hi - lo;
      }
      w.lo[d][o] = lo;
      w.hi[d][o] = hi;
      w.cnt[d][o] = cnt;
    }
  }
  return w;
}

// Below this many window reads, threading costs more than it saves.
constexpr int64_t kParallelWork = 1 << 15;

// Adaptive average pooling: windows of varying size (make_windows(kAdaptive)), so the
// fixed-window kernels of pool_impl.h do not apply; a plain walk over each window.
template <typename T>
void adaptive_forward(const Geom3& g, const Windows& w, const T* x, T* y) {
  const int64_t C = g.C_in, H = g.in[1], W = g.in[2];
  const int64_t OH = g.out[1], OW = g.out[2];
  const bool par = g.N * C * g.Pout * g.K > kParallelWork;
  // Ctrl-C: polled per output element (one relaxed load next to a whole window's reads),
  // so even a huge window stops within ~a window; thrown after the region.
  const InterruptPoll ip;
  if (!g.cl) {
#pragma omp parallel for schedule(static) if (par)
    for (int64_t pl = 0; pl < g.N * C; ++pl) {
      const T* xp = x + pl * g.Pin;
      T* yp = y + pl * g.Pout;
      for (int64_t od = 0; od < g.out[0]; ++od)
        for (int64_t oh = 0; oh < OH; ++oh) {
          if (ip.requested()) break;
          for (int64_t ow = 0; ow < OW && !ip.requested(); ++ow) {
            const int64_t o = (od * OH + oh) * OW + ow;
            T s = 0;
            for (int64_t id = w.lo[0][od]; id < w.hi[0][od]; ++id)
              for (int64_t ih = w.lo[1][oh]; ih < w.hi[1][oh]; ++ih) {
                const T* xr = xp + (id * H + ih) * W;
                for (int64_t iw = w.lo[2][ow]; iw < w.hi[2][ow]; ++iw) s += xr[iw];
              }
            const int64_t cnt = w.count(od, oh, ow);
            yp[o] = cnt != 0 ? s / static_cast<T>(cnt) : T(0);
          }
        }
    }
    ip.check();
    return;
  }
#pragma omp parallel for schedule(static) if (par)
  for (int64_t u = 0; u < g.N * g.Pout; ++u) {
    if (ip.requested()) continue;
    const int64_t n = u / g.Pout, o = u % g.Pout;
    const int64_t od = o / (OH * OW), oh = (o / OW) % OH, ow = o % OW;
    const T* xn = x + n * g.Pin * C;
    T* yo = y + u * C;
    std::fill(yo, yo + C, T(0));
    for (int64_t id = w.lo[0][od]; id < w.hi[0][od]; ++id)
      for (int64_t ih = w.lo[1][oh]; ih < w.hi[1][oh]; ++ih)
        for (int64_t iw = w.lo[2][ow]; iw < w.hi[2][ow]; ++iw) {
          const T* xc = xn + ((id * H + ih) * W + iw) * C;
          for (int64_t c = 0; c < C; ++c) yo[c] += xc[c];
        }
    const int64_t cnt = w.count(od, oh, ow);
    const T inv = cnt != 0 ? T(1) / static_cast<T>(cnt) : T(0);
    for (int64_t c = 0; c < C; ++c) yo[c] *= inv;
  }
  ip.check();
}

template <typename T>
void adaptive_backward(const Geom3& g, const Windows& w, const T* gy, T* gx) {
  const int64_t C = g.C_in, H = g.in[1], W = g.in[2];
  const int64_t OH = g.out[1], OW = g.out[2];
  const bool par = g.N * C * (g.Pout * g.K + g.Pin) > kParallelWork;
  if (!g.cl) {
#pragma omp parallel for schedule(static) if (par)
    for (int64_t pl = 0; pl < g.N * C; ++pl) {
      T* gp = gx + pl * g.Pin;
      const T* gyp = gy + pl * g.Pout;
      std::fill(gp, gp + g.Pin, T(0));
      for (int64_t od = 0; od < g.out[0]; ++od)
        for (int64_t oh = 0; oh < OH; ++oh)
          for (int64_t ow = 0; ow < OW; ++ow) {
            const int64_t o = (od * OH + oh) * OW + ow;
            const int64_t cnt = w.count(od, oh, ow);
            if (cnt == 0) continue;
            const T v = gyp[o] / static_cast<T>(cnt);
            for (int64_t id = w.lo[0][od]; id < w.hi[0][od]; ++id)
              for (int64_t ih = w.lo[1][oh]; ih < w.hi[1][oh]; ++ih) {
                T* gr = gp + (id * H + ih) * W;
                for (int64_t iw = w.lo[2][ow]; iw < w.hi[2][ow]; ++iw) gr[iw] += v;
              }
          }
    }
    return;
  }
  // Channels-last: a unit owns one image and one block of channels of gx.
  if (g.N == 0 || C == 0) return;  // gx is empty (and the block split below divides by N and C)
  const int nt = omp_in_parallel() ? 1 : omp_get_max_threads();
  int64_t nblk = 1;
  if (g.N < nt) nblk = std::max<int64_t>(1, std::min<int64_t>(C / 16, (4 * nt + g.N - 1) / g.N));
  const int64_t cb = (C + nblk - 1) / nblk;
  nblk = (C + cb - 1) / cb;
#pragma omp parallel for schedule(static) if (par)
  for (int64_t u = 0; u < g.N * nblk; ++u) {
    const int64_t n = u / nblk, c0 = (u % nblk) * cb, c1 = std::min(C, c0 + cb);
    T* gn = gx + n * g.Pin * C;
    for (int64_t i = 0; i < g.Pin; ++i) std::fill(gn + i * C + c0, gn + i * C + c1, T(0));
    for (int64_t o = 0; o < g.Pout; ++o) {
      const T* go = gy + (n * g.Pout + o) * C;
      const int64_t od = o / (OH * OW), oh = (o / OW) % OH, ow = o % OW;
      const int64_t cnt = w.count(od, oh, ow);
      if (cnt == 0) continue;
      const T inv = T(1) / static_cast<T>(cnt);
      for (int64_t id = w.lo[0][od]; id < w.hi[0][od]; ++id)
        for (int64_t ih = w.lo[1][oh]; ih < w.hi[1][oh]; ++ih)
          for (int64_t iw = w.lo[2][ow]; iw < w.hi[2][ow]; ++iw) {
            T* gc = gn + ((id * H + ih) * W + iw) * C;
            for (int64_t c = c0; c < c1; ++c) gc[c] += go[c] * inv;
          }
    }
  }
}

Kind avg_kind(bool count_include_pad) { return count_include_pad ? Kind::kAvgInclPad : Kind::kAvgExclPad; }

// Pooling ignores groups (the channel count is C_in); only max pooling dilates, and its
// backward must see the forward's windows (the channels-last backward walks them).
Geom3 pool_geom(const ConvGeom& cg, bool dilated = false) {
  ConvGeom c = cg;
  c.groups = 1;
  c.C_out = c.C_in;
  if (!dilated)
    for (int i = 0; i < 3; ++i) c.dil[i] = 1;
  return detail::lift(c);
}
Windows avg_windows(const Geom3& g, Kind kind, const ConvGeom& cg) {
  Windows w = make_windows(g, kind);
  w.divisor = cg.divisor_override;
  return w;
}

template <typename T>
const pool_detail::PoolFns<T>& pool_fns() {
  switch (active_isa()) {
    case Isa::Avx512:
      return pool_detail::pool_fns_avx512(T());
    case Isa::Avx2:
      return pool_detail::pool_fns_avx2(T());
    default:
      return pool_detail::pool_fns_scalar(T());
  }
}

pool_detail::WinView view(const Windows& w) {
  pool_detail::WinView v;
  for (int d = 0; d < 3; ++d) {
    v.lo[d] = w.lo[d].data();
    v.hi[d] = w.hi[d].data();
    v.cnt[d] = w.cnt[d].data();
  }
  v.divisor = w.divisor;
  return v;
}

template <typename T>
void maxpool_fwd(const ConvGeom& cg, const T* x, T* y, int64_t* argmax, bool flat) {
  const Geom3 g = pool_geom(cg, true);
  const Windows w = make_windows(g, Kind::kMax);
  const InterruptPoll ip;
  pool_fns<T>().max_fwd(g, view(w), x, y, argmax, flat, ip);
  ip.check();
}

}  // namespace

template <typename T>
void maxpool_forward(const ConvGeom& cg, const T* x, T* y, int64_t* argmax) {
  maxpool_fwd(cg, x, y, argmax, false);
}
template <typename T>
void maxpool_backward(const ConvGeom& cg, const T* gy, const int64_t* argmax, T* gx) {
  pool_fns<T>().max_bwd(pool_geom(cg, true), gy, argmax, gx, false);
}
template <typename T>
void maxpool_forward_flat(const ConvGeom& cg, const T* x, T* y, int64_t* idx) {
  maxpool_fwd(cg, x, y, idx, true);
}
template <typename T>
void maxpool_backward_flat(const ConvGeom& cg, const T* gy, const int64_t* idx, T* gx) {
  pool_fns<T>().max_bwd(pool_geom(cg, true), gy, idx, gx, true);
}
template <typename T>
void avgpool_forward(const ConvGeom& cg, const T* x, T* y, bool count_include_pad) {
  const Geom3 g = pool_geom(cg);
  const Windows w = avg_windows(g, avg_kind(count_include_pad), cg);
  const InterruptPoll ip;
  pool_fns<T>().avg_fwd(g, view(w), x, y, ip);
  ip.check();
}
template <typename T>
void avgpool_backward(const ConvGeom& cg, const T* gy, T* gx, bool count_include_pad) {
  const Geom3 g = pool_geom(cg);
  const Windows w = avg_windows(g, avg_kind(count_include_pad), cg);
  pool_fns<T>().avg_bwd(g, view(w), gy, gx);
}
template <typename T>
void adaptive_avgpool_forward(const ConvGeom& cg, const T* x, T* y) {
  const Geom3 g = pool_geom(cg);
  adaptive_forward<T>(g, make_windows(g, Kind::kAdaptive), x, y);
}
template <typename T>
void adaptive_avgpool_backward(const ConvGeom& cg, const T* gy, T* gx) {
  const Geom3 g = pool_geom(cg);
  adaptive_backward<T>(g, make_windows(g, Kind::kAdaptive), gy, gx);
}

#define FASTGRAD_POOL_INSTANTIATE(T)                                                     \
  template void maxpool_forward<T>(const ConvGeom&, const T*, T*, int64_t*);             \
  template void maxpool_backward<T>(const ConvGeom&, const T*, const int64_t*, T*);      \
  template void maxpool_forward_flat<T>(const ConvGeom&, const T*, T*, int64_t*);        \
  template void maxpool_backward_flat<T>(const ConvGeom&, const T*, const int64_t*, T*); \
  template void avgpool_forward<T>(const ConvGeom&, const T*, T*, bool);                 \
  template void avgpool_backward<T>(const ConvGeom&, const T*, T*, bool);                \
  template void adaptive_avgpool_forward<T>(const ConvGeom&, const T*, T*);              \
  template void adaptive_avgpool_backward<T>(const ConvGeom&, const T*, T*);
FASTGRAD_POOL_INSTANTIATE(float)
FASTGRAD_POOL_INSTANTIATE(double)
#undef FASTGRAD_POOL_INSTANTIATE

}  // namespace fastgrad::kernels
