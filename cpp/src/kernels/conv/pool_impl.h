// The loops of the fixed-window max / average pooling kernels (see pool_internal.h).
// Included once by each ISA's translation unit; everything here has internal linkage
// (anonymous namespace) so the copies built with different flags never mix, and only
// inline code of the language itself is used (no library templates) for the same reason.
//
// Channels-first: per output row, the columns whose window lies wholly inside the input
// row ("interior") are done tap by tap as loops over the output column (stride s loads:
// vectorised with deinterleaving permutes for s = 1, 2), the few edge columns one by one.
// The taps are visited in the window's row-major order, so ties (first maximum wins),
// NaN propagation (a NaN always wins, as in PyTorch) and the summation order are those
// of the one-output-at-a-time loop. Channels-last: the channel loop is innermost
// (contiguous, vectorised). Backward passes zero their own unit of gx (a plane, or an
// image's channel block: in cache) and scatter into it; no two threads share a gx element.
#pragma once
#include <omp.h>

#include <cmath>
#include <cstdint>
#include <limits>

#include "pool_internal.h"

namespace fastgrad::kernels::pool_detail {
namespace {

using detail::Geom3;

// Below this many window reads, threading costs more than it saves.
constexpr int64_t kParallelWork = 1 << 15;
// Interior columns of a backward row are scaled into a stack buffer this many at a time.
constexpr int64_t kChunk = 256;

inline int64_t lmin(int64_t a, int64_t b) { return a < b ? a : b; }

// [a, b): the output columns ow whose k taps ow*s - pl + j*dil (j < k) all lie in [0, W).
inline void interior(int64_t W, int64_t OW, int64_t k, int64_t s, int64_t pl, int64_t dil, int64_t& a,
                     int64_t& b) {
  const int64_t top = W - 1 - (k - 1) * dil + pl;
  b = top < 0 ? 0 : lmin(top / s + 1, OW);
  a = lmin((pl + s - 1) / s, b);
}

template <typename T>
inline bool beats(T v, T m) {
  return v > m || std::isnan(v);
}

// ---------------------------------------------------------------- max, channels-first

// One output from the window tables: the maximum and its plane index (-1: empty window).
template <typename T>
inline void max_one(const Geom3& g, const WinView& w, const T* xp, int64_t od, int64_t oh, int64_t ow, T& m,
                    int64_t& best) {
  const int64_t H = g.in[1], W = g.in[2];
  m = -std::numeric_limits<T>::infinity();
  best = -1;
  for (int64_t id = w.lo[0][od]; id < w.hi[0][od]; id += g.d[0])
    for (int64_t ih = w.lo[1][oh]; ih < w.hi[1][oh]; ih += g.d[1])
      for (int64_t iw = w.lo[2][ow]; iw < w.hi[2][ow]; iw += g.d[2]) {
        const int64_t i = (id * H + ih) * W + iw;
        const T v = xp[i];
        if (best < 0 || beats(v, m)) {
          m = v;
          best = i;
        }
      }
}

// One tap of the interior columns [a, a + n) of an output row: input column ow*s + off
// of the input row starting at plane offset r. The winners' plane offsets are kept as
// int32 (the float lanes' width: one blend per vector, no widening) in tb[0, n).
template <typename T, int SW>
inline void max_tap(const T* __restrict xp, int32_t r, int64_t a, int32_t n, int64_t s_rt, int64_t off,
                    bool first, T* __restrict yr, int32_t* __restrict tb) {
  const int32_t s = SW ? SW : static_cast<int32_t>(s_rt);
  const T* __restrict x0 = xp + r + a * s + off;
  const int32_t i0 = r + static_cast<int32_t>(a * s + off);
  T* __restrict y0 = yr + a;
  if (first) {
    for (int32_t j = 0; j < n; ++j) {
      y0[j] = x0[j * s];
      tb[j] = i0 + j * s;
    }
    return;
  }
  for (int32_t j = 0; j < n; ++j) {
    const T v = x0[j * s];
    const bool u = beats(v, y0[j]);
    y0[j] = u ? v : y0[j];
    tb[j] = u ? i0 + j * s : tb[j];
  }
}

template <typename T, bool Flat, int SW>
void max_fwd_nchw(const Geom3& g, const WinView& w, const T* x, T* y, int64_t* argmax,
                  const InterruptPoll& ip) {
  const int64_t H = g.in[1], W = g.in[2], OH = g.out[1], OW = g.out[2];
  int64_t a, b;
  interior(W, OW, g.k[2], g.s[2], g.pl[2], g.d[2], a, b);
  const bool par = g.N * g.C_in * g.Pout * g.K > kParallelWork;
#pragma omp parallel for schedule(static) if (par)
  for (int64_t pl = 0; pl < g.N * g.C_in; ++pl) {
    if (ip.requested()) continue;
    const T* xp = x + pl * g.Pin;
    const int64_t base = Flat ? pl * g.Pin : 0;
    for (int64_t od = 0; od < g.out[0]; ++od)
      for (int64_t oh = 0; oh < OH; ++oh) {
        const int64_t orow = pl * g.Pout + (od * OH + oh) * OW;
        T* yr = y + orow;
        int64_t* ar = argmax + orow;
        const int64_t d0 = w.lo[0][od], d1 = w.hi[0][od], h0 = w.lo[1][oh], h1 = w.hi[1][oh];
        // Interior offsets are int32: planes of 2^31 elements or more take the one-by-one loop.
        const bool empty = d0 >= d1 || h0 >= h1 || g.Pin > INT32_MAX;
        const int64_t ia = empty ? OW : a, ib = empty ? OW : b;
        for (int64_t ow = 0; ow < OW; ++ow) {
          if (ow == ia) ow = ib;  // [ia, ib) below
          if (ow >= OW) break;
          T m;
          int64_t bi;
          max_one(g, w, xp, od, oh, ow, m, bi);
          yr[ow] = m;
          ar[ow] = bi < 0 ? (Flat ? base : -1) : base + bi;
        }
        if (ia >= ib) continue;
        for (int64_t c0 = ia; c0 < ib; c0 += kChunk) {
          const int32_t n = static_cast<int32_t>(lmin(ib, c0 + kChunk) - c0);
          int32_t tb[kChunk];
          bool first = true;
          for (int64_t id = d0; id < d1; id += g.d[0])
            for (int64_t ih = h0; ih < h1; ih += g.d[1]) {
              const int32_t r = static_cast<int32_t>((id * H + ih) * W);
              for (int64_t kw = 0; kw < g.k[2]; ++kw) {
                max_tap<T, SW>(xp, r, c0, n, g.s[2], kw * g.d[2] - g.pl[2], first, yr, tb);
                first = false;
              }
            }
          int64_t* __restrict a0 = ar + c0;
          for (int32_t j = 0; j < n; ++j) a0[j] = base + tb[j];
        }
      }
  }
}

// ---------------------------------------------------------------- max, channels-last

template <typename T, bool Flat>
void max_fwd_nhwc(const Geom3& g, const WinView& w, const T* x, T* y, int64_t* argmax,
                  const InterruptPoll& ip) {
  const int64_t C = g.C_in, H = g.in[1], W = g.in[2], OH = g.out[1], OW = g.out[2];
  const bool par = g.N * C * g.Pout * g.K > kParallelWork;
#pragma omp parallel for schedule(static) if (par)
  for (int64_t u = 0; u < g.N * g.Pout; ++u) {
    if (ip.requested()) continue;
    const int64_t n = u / g.Pout, o = u % g.Pout;
    const int64_t od = o / (OH * OW), oh = (o / OW) % OH, ow = o % OW;
    const T* xn = x + n * g.Pin * C;
    T* __restrict yo = y + u * C;
    int64_t* __restrict ao = argmax + u * C;
    bool first = true;
    for (int64_t id = w.lo[0][od]; id < w.hi[0][od]; id += g.d[0])
      for (int64_t ih = w.lo[1][oh]; ih < w.hi[1][oh]; ih += g.d[1])
        for (int64_t iw = w.lo[2][ow]; iw < w.hi[2][ow]; iw += g.d[2]) {
          const int64_t i = (id * H + ih) * W + iw;
          const T* __restrict xc = xn + i * C;
          const int64_t ib = Flat ? (n * g.Pin + i) * C : i;
          if (first) {
            for (int64_t c = 0; c < C; ++c) {
              yo[c] = xc[c];
              ao[c] = Flat ? ib + c : ib;
            }
          } else {
            for (int64_t c = 0; c < C; ++c) {
              const T v = xc[c];
              const bool up = beats(v, yo[c]);
              yo[c] = up ? v : yo[c];
              ao[c] = up ? (Flat ? ib + c : ib) : ao[c];
            }
          }
          first = false;
        }
    if (first)
      for (int64_t c = 0; c < C; ++c) {
        yo[c] = -std::numeric_limits<T>::infinity();
        ao[c] = Flat ? n * g.Pin * C + c : -1;
      }
  }
}

// ---------------------------------------------------------------- max backward

// No dilation and stride >= kernel in every dim: each input cell lies in at most one
// window, so a backward can write gx cells directly instead of accumulating.
inline bool disjoint(const Geom3& g) {
  for (int d = 0; d < 3; ++d)
    if (g.d[d] != 1 || g.k[d] > g.s[d]) return false;
  return true;
}
// ... and the windows cover the input exactly: no cell is left for a zero fill.
inline bool tiles(const Geom3& g) {
  for (int d = 0; d < 3; ++d)
    if (g.k[d] != g.s[d] || g.pl[d] != 0 || g.out[d] * g.s[d] != g.in[d]) return false;
  return true;
}
// The input range [lo, hi) of output o along dim d (no dilation).
inline void window(const Geom3& g, int d, int64_t o, int64_t& lo, int64_t& hi) {
  const int64_t start = o * g.s[d] - g.pl[d];
  lo = start < 0 ? 0 : start;
  hi = lmin(start + g.k[d], g.in[d]);
}

// Channels-last units: (image, block of channels); with few images the channels are
// split so that every thread has work.
inline int64_t channel_block(const Geom3& g, int64_t& nblk) {
  const int64_t C = g.C_in;
  const int nt = omp_in_parallel() ? 1 : omp_get_max_threads();
  nblk = 1;
  if (g.N < nt) {
    const int64_t want = (4 * nt + g.N - 1) / g.N;
    nblk = C / 16 < want ? C / 16 : want;
    if (nblk < 1) nblk = 1;
  }
  const int64_t cb = (C + nblk - 1) / nblk;
  nblk = (C + cb - 1) / cb;
  return cb;
}

template <typename T, bool Flat>
void max_bwd(const Geom3& g, const T* gy, const int64_t* argmax, T* gx) {
  const int64_t C = g.C_in;
  const bool par = g.N * C * (g.Pout + g.Pin) > kParallelWork;
  if (!g.cl) {
#pragma omp parallel for schedule(static) if (par)
    for (int64_t pl = 0; pl < g.N * C; ++pl) {
      T* gp = gx + pl * g.Pin;
      for (int64_t i = 0; i < g.Pin; ++i) gp[i] = T(0);
      const T* gyp = gy + pl * g.Pout;
      const int64_t* ap = argmax + pl * g.Pout;
      T* tgt = Flat ? gx : gp;
      for (int64_t o = 0; o < g.Pout; ++o)
        if (Flat || ap[o] >= 0) tgt[ap[o]] += gyp[o];
    }
    return;
  }
  if (g.N == 0 || C == 0) return;  // gx is empty (and the block split divides by N and C)
  const int64_t H = g.in[1], W = g.in[2], OH = g.out[1], OW = g.out[2];
  const bool direct = disjoint(g), zero = !(direct && tiles(g));
  int64_t nblk;
  const int64_t cb = channel_block(g, nblk);
#pragma omp parallel for schedule(static) if (par)
  for (int64_t u = 0; u < g.N * nblk; ++u) {
    const int64_t n = u / nblk, c0 = (u % nblk) * cb, c1 = lmin(C, c0 + cb);
    T* gn = gx + n * g.Pin * C;
    if (zero)
      for (int64_t i = 0; i < g.Pin; ++i)
        for (int64_t c = c0; c < c1; ++c) gn[i * C + c] = T(0);
    if (direct) {
      // Each cell of o's window gets go where it is the winner, else 0 (vectorised compare).
      for (int64_t o = 0; o < g.Pout; ++o) {
        const T* __restrict go = gy + (n * g.Pout + o) * C;
        const int64_t* __restrict ao = argmax + (n * g.Pout + o) * C;
        const int64_t od = o / (OH * OW), oh = (o / OW) % OH, ow = o % OW;
        int64_t d0, d1, h0, h1, w0, w1;
        window(g, 0, od, d0, d1);
        window(g, 1, oh, h0, h1);
        window(g, 2, ow, w0, w1);
        for (int64_t id = d0; id < d1; ++id)
          for (int64_t ih = h0; ih < h1; ++ih)
            for (int64_t iw = w0; iw < w1; ++iw) {
              const int64_t i = (id * H + ih) * W + iw;
              T* __restrict gc = gn + i * C;
              const int64_t ib = Flat ? (n * g.Pin + i) * C : i;
              for (int64_t c = c0; c < c1; ++c) gc[c] = ao[c] == (Flat ? ib + c : ib) ? go[c] : T(0);
            }
      }
      continue;
    }
    for (int64_t o = 0; o < g.Pout; ++o) {
      const T* go = gy + (n * g.Pout + o) * C;
      const int64_t* ao = argmax + (n * g.Pout + o) * C;
      for (int64_t c = c0; c < c1; ++c) {
        if (Flat)
          gx[ao[c]] += go[c];
        else if (ao[c] >= 0)
          gn[ao[c] * C + c] += go[c];
      }
    }
  }
}

// ---------------------------------------------------------------- average

inline int64_t avg_count(const WinView& w, int64_t od, int64_t oh, int64_t ow) {
  return w.divisor != 0 ? w.divisor : w.cnt[0][od] * w.cnt[1][oh] * w.cnt[2][ow];
}

template <typename T>
inline T avg_one(const Geom3& g, const WinView& w, const T* xp, int64_t od, int64_t oh, int64_t ow) {
  const int64_t H = g.in[1], W = g.in[2];
  T s = 0;
  for (int64_t id = w.lo[0][od]; id < w.hi[0][od]; ++id)
    for (int64_t ih = w.lo[1][oh]; ih < w.hi[1][oh]; ++ih) {
      const T* xr = xp + (id * H + ih) * W;
      for (int64_t iw = w.lo[2][ow]; iw < w.hi[2][ow]; ++iw) s += xr[iw];
    }
  const int64_t cnt = avg_count(w, od, oh, ow);
  return cnt != 0 ? s / static_cast<T>(cnt) : T(0);
}

template <typename T, int SW>
inline void sum_tap(const T* __restrict xr, int64_t a, int64_t b, int64_t s_rt, int64_t off,
                    T* __restrict yr) {
  const int64_t s = SW ? SW : s_rt;
  for (int64_t ow = a; ow < b; ++ow) yr[ow] += xr[ow * s + off];
}

template <typename T, int SW>
inline void spread_tap(T* __restrict gr, const T* __restrict v, int64_t a, int64_t b, int64_t s_rt,
                       int64_t off) {
  const int64_t s = SW ? SW : s_rt;
  for (int64_t ow = a; ow < b; ++ow) gr[ow * s + off] += v[ow - a];
}

template <typename T, int SW>
void avg_fwd_nchw(const Geom3& g, const WinView& w, const T* x, T* y, const InterruptPoll& ip) {
  const int64_t H = g.in[1], W = g.in[2], OH = g.out[1], OW = g.out[2];
  int64_t a, b;
  interior(W, OW, g.k[2], g.s[2], g.pl[2], 1, a, b);
  const bool par = g.N * g.C_in * g.Pout * g.K > kParallelWork;
#pragma omp parallel for schedule(static) if (par)
  for (int64_t pl = 0; pl < g.N * g.C_in; ++pl) {
    if (ip.requested()) continue;
    const T* xp = x + pl * g.Pin;
    for (int64_t od = 0; od < g.out[0]; ++od)
      for (int64_t oh = 0; oh < OH; ++oh) {
        T* __restrict yr = y + pl * g.Pout + (od * OH + oh) * OW;
        for (int64_t ow = 0; ow < a; ++ow) yr[ow] = avg_one(g, w, xp, od, oh, ow);
        for (int64_t ow = b; ow < OW; ++ow) yr[ow] = avg_one(g, w, xp, od, oh, ow);
        if (a >= b) continue;
        for (int64_t ow = a; ow < b; ++ow) yr[ow] = T(0);
        for (int64_t id = w.lo[0][od]; id < w.hi[0][od]; ++id)
          for (int64_t ih = w.lo[1][oh]; ih < w.hi[1][oh]; ++ih) {
            const T* xr = xp + (id * H + ih) * W;
            for (int64_t kw = 0; kw < g.k[2]; ++kw) sum_tap<T, SW>(xr, a, b, g.s[2], kw - g.pl[2], yr);
          }
        for (int64_t ow = a; ow < b; ++ow) {
          const int64_t cnt = avg_count(w, od, oh, ow);
          yr[ow] = cnt != 0 ? yr[ow] / static_cast<T>(cnt) : T(0);
        }
      }
  }
}

template <typename T, int SW>
void avg_bwd_nchw(const Geom3& g, const WinView& w, const T* gy, T* gx) {
  const int64_t H = g.in[1], W = g.in[2], OH = g.out[1], OW = g.out[2];
  int64_t a, b;
  interior(W, OW, g.k[2], g.s[2], g.pl[2], 1, a, b);
  const bool par = g.N * g.C_in * (g.Pout * g.K + g.Pin) > kParallelWork;
#pragma omp parallel for schedule(static) if (par)
  for (int64_t pl = 0; pl < g.N * g.C_in; ++pl) {
    T* gp = gx + pl * g.Pin;
    for (int64_t i = 0; i < g.Pin; ++i) gp[i] = T(0);
    T v[kChunk];
    for (int64_t od = 0; od < g.out[0]; ++od)
      for (int64_t oh = 0; oh < OH; ++oh) {
        const T* gyr = gy + pl * g.Pout + (od * OH + oh) * OW;
        const int64_t d0 = w.lo[0][od], d1 = w.hi[0][od], h0 = w.lo[1][oh], h1 = w.hi[1][oh];
        for (int64_t ow = 0; ow < OW; ++ow) {
          if (ow == a) ow = b;  // [a, b) below
          if (ow >= OW) break;
          const int64_t cnt = avg_count(w, od, oh, ow);
          if (cnt == 0) continue;
          const T q = gyr[ow] / static_cast<T>(cnt);
          for (int64_t id = d0; id < d1; ++id)
            for (int64_t ih = h0; ih < h1; ++ih) {
              T* gr = gp + (id * H + ih) * W;
              for (int64_t iw = w.lo[2][ow]; iw < w.hi[2][ow]; ++iw) gr[iw] += q;
            }
        }
        for (int64_t c0 = a; c0 < b; c0 += kChunk) {
          const int64_t c1 = lmin(b, c0 + kChunk);
          for (int64_t ow = c0; ow < c1; ++ow) {
            const int64_t cnt = avg_count(w, od, oh, ow);
            v[ow - c0] = cnt != 0 ? gyr[ow] / static_cast<T>(cnt) : T(0);
          }
          for (int64_t id = d0; id < d1; ++id)
            for (int64_t ih = h0; ih < h1; ++ih) {
              T* gr = gp + (id * H + ih) * W;
              for (int64_t kw = 0; kw < g.k[2]; ++kw) spread_tap<T, SW>(gr, v, c0, c1, g.s[2], kw - g.pl[2]);
            }
        }
      }
  }
}

template <typename T>
void avg_fwd_nhwc(const Geom3& g, const WinView& w, const T* x, T* y, const InterruptPoll& ip) {
  const int64_t C = g.C_in, H = g.in[1], W = g.in[2], OH = g.out[1], OW = g.out[2];
  const bool par = g.N * C * g.Pout * g.K > kParallelWork;
#pragma omp parallel for schedule(static) if (par)
  for (int64_t u = 0; u < g.N * g.Pout; ++u) {
    if (ip.requested()) continue;
    const int64_t n = u / g.Pout, o = u % g.Pout;
    const int64_t od = o / (OH * OW), oh = (o / OW) % OH, ow = o % OW;
    const T* xn = x + n * g.Pin * C;
    T* __restrict yo = y + u * C;
    for (int64_t c = 0; c < C; ++c) yo[c] = T(0);
    for (int64_t id = w.lo[0][od]; id < w.hi[0][od]; ++id)
      for (int64_t ih = w.lo[1][oh]; ih < w.hi[1][oh]; ++ih)
        for (int64_t iw = w.lo[2][ow]; iw < w.hi[2][ow]; ++iw) {
          const T* __restrict xc = xn + ((id * H + ih) * W + iw) * C;
          for (int64_t c = 0; c < C; ++c) yo[c] += xc[c];
        }
    const int64_t cnt = avg_count(w, od, oh, ow);
    const T inv = cnt != 0 ? T(1) / static_cast<T>(cnt) : T(0);
    for (int64_t c = 0; c < C; ++c) yo[c] *= inv;
  }
}

template <typename T>
void avg_bwd_nhwc(const Geom3& g, const WinView& w, const T* gy, T* gx) {
  const int64_t C = g.C_in, H = g.in[1], W = g.in[2], OH = g.out[1], OW = g.out[2];
  const bool par = g.N * C * (g.Pout * g.K + g.Pin) > kParallelWork;
  if (g.N == 0 || C == 0) return;
  const bool direct = disjoint(g), zero = !(direct && tiles(g));
  int64_t nblk;
  const int64_t cb = channel_block(g, nblk);
#pragma omp parallel for schedule(static) if (par)
  for (int64_t u = 0; u < g.N * nblk; ++u) {
    const int64_t n = u / nblk, c0 = (u % nblk) * cb, c1 = lmin(C, c0 + cb);
    T* gn = gx + n * g.Pin * C;
    if (zero)
      for (int64_t i = 0; i < g.Pin; ++i)
        for (int64_t c = c0; c < c1; ++c) gn[i * C + c] = T(0);
    for (int64_t o = 0; o < g.Pout; ++o) {
      const T* __restrict go = gy + (n * g.Pout + o) * C;
      const int64_t od = o / (OH * OW), oh = (o / OW) % OH, ow = o % OW;
      const int64_t cnt = avg_count(w, od, oh, ow);
      if (cnt == 0 && !direct) continue;
      const T inv = cnt != 0 ? T(1) / static_cast<T>(cnt) : T(0);
      for (int64_t id = w.lo[0][od]; id < w.hi[0][od]; ++id)
        for (int64_t ih = w.lo[1][oh]; ih < w.hi[1][oh]; ++ih)
          for (int64_t iw = w.lo[2][ow]; iw < w.hi[2][ow]; ++iw) {
            T* __restrict gc = gn + ((id * H + ih) * W + iw) * C;
            if (direct)  // the only window holding this cell
              for (int64_t c = c0; c < c1; ++c) gc[c] = cnt != 0 ? go[c] * inv : T(0);
            else
              for (int64_t c = c0; c < c1; ++c) gc[c] += go[c] * inv;
          }
    }
  }
}

// ---------------------------------------------------------------- entry points

template <typename T>
void max_fwd(const Geom3& g, const WinView& w, const T* x, T* y, int64_t* am, bool flat,
             const InterruptPoll& ip) {
  if (g.cl) {
    if (flat)
      max_fwd_nhwc<T, true>(g, w, x, y, am, ip);
    else
      max_fwd_nhwc<T, false>(g, w, x, y, am, ip);
  } else if (flat) {
    if (g.s[2] == 1)
      max_fwd_nchw<T, true, 1>(g, w, x, y, am, ip);
    else if (g.s[2] == 2)
      max_fwd_nchw<T, true, 2>(g, w, x, y, am, ip);
    else
      max_fwd_nchw<T, true, 0>(g, w, x, y, am, ip);
  } else {
    if (g.s[2] == 1)
      max_fwd_nchw<T, false, 1>(g, w, x, y, am, ip);
    else if (g.s[2] == 2)
      max_fwd_nchw<T, false, 2>(g, w, x, y, am, ip);
    else
      max_fwd_nchw<T, false, 0>(g, w, x, y, am, ip);
  }
}

template <typename T>
void max_bwd_any(const Geom3& g, const T* gy, const int64_t* am, T* gx, bool flat) {
  if (flat)
    max_bwd<T, true>(g, gy, am, gx);
  else
    max_bwd<T, false>(g, gy, am, gx);
}

template <typename T>
void avg_fwd(const Geom3& g, const WinView& w, const T* x, T* y, const InterruptPoll& ip) {
  if (g.cl)
    avg_fwd_nhwc<T>(g, w, x, y, ip);
  else if (g.s[2] == 1)
    avg_fwd_nchw<T, 1>(g, w, x, y, ip);
  else if (g.s[2] == 2)
    avg_fwd_nchw<T, 2>(g, w, x, y, ip);
  else
    avg_fwd_nchw<T, 0>(g, w, x, y, ip);
}

template <typename T>
void avg_bwd(const Geom3& g, const WinView& w, const T* gy, T* gx) {
  if (g.cl)
    avg_bwd_nhwc<T>(g, w, gy, gx);
  else if (g.s[2] == 1)
    avg_bwd_nchw<T, 1>(g, w, gy, gx);
  else if (g.s[2] == 2)
    avg_bwd_nchw<T, 2>(g, w, gy, gx);
  else
    avg_bwd_nchw<T, 0>(g, w, gy, gx);
}

}  // namespace
}  // namespace fastgrad::kernels::pool_detail

// Defines pool_fns_<suffix>(float) and (double): the kernel set of this translation unit.
#define FG_POOL_DEFINE_FNS(suffix)                                                                         \
  namespace fastgrad::kernels::pool_detail {                                                               \
  const PoolFns<float>& pool_fns_##suffix(float) {                                                         \
    static const PoolFns<float> f{&max_fwd<float>, &max_bwd_any<float>, &avg_fwd<float>, &avg_bwd<float>}; \
    return f;                                                                                              \
  }                                                                                                        \
  const PoolFns<double>& pool_fns_##suffix(double) {                                                       \
    static const PoolFns<double> f{&max_fwd<double>, &max_bwd_any<double>, &avg_fwd<double>,               \
                                   &avg_bwd<double>};                                                      \
    return f;                                                                                              \
  }                                                                                                        \
  }
