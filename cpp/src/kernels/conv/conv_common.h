// Internal helpers shared by the convolution and pooling kernels.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>

#include "fastgrad/kernels/conv.h"

namespace fastgrad::kernels::detail {

// The geometry lifted to 3 spatial dims: missing leading dims get size 1, so every
// kernel is one 3-D loop nest and the innermost dim is always the contiguous one.
struct Geom3 {
  int64_t N, C_in, C_out, G, Cig, Cog;
  int64_t in[3], out[3], k[3], s[3], pl[3], ph[3], d[3];
  int64_t Pin, Pout, K;  // spatial sizes of input / output, kernel volume
  bool cl;
};

inline Geom3 lift(const ConvGeom& g) {
  Geom3 r;
  r.N = g.N;
  r.C_in = g.C_in;
  r.C_out = g.C_out;
  r.G = g.groups < 1 ? 1 : g.groups;
  r.Cig = r.C_in / r.G;
  r.Cog = r.C_out / r.G;
  const int off = 3 - g.nd;
  for (int i = 0; i < 3; ++i) {
    if (i < off) {
      r.in[i] = r.out[i] = r.k[i] = r.s[i] = r.d[i] = 1;
      r.pl[i] = r.ph[i] = 0;
    } else {
      const int j = i - off;
      r.in[i] = g.in[j];
      r.out[i] = g.out[j];
      r.k[i] = g.k[j];
      r.s[i] = g.stride[j];
      r.pl[i] = g.pad_lo[j];
      r.ph[i] = g.pad_hi[j];
      r.d[i] = g.dil[j];
    }
  }
  r.Pin = r.in[0] * r.in[1] * r.in[2];
  r.Pout = r.out[0] * r.out[1] * r.out[2];
  r.K = r.k[0] * r.k[1] * r.k[2];
  r.cl = g.channels_last;
  return r;
}

// Range [lo, hi) of j in [0, n) with 0 <= base + j*s < lim (s > 0).
inline void valid_range(int64_t base, int64_t s, int64_t lim, int64_t n, int64_t& lo, int64_t& hi) {
  lo = base >= 0 ? 0 : (-base + s - 1) / s;
  hi = base >= lim ? 0 : (lim - 1 - base) / s + 1;
  if (hi > n) hi = n;
  if (lo > hi) lo = hi;
}

// Growable 64-byte aligned scratch that keeps its memory between calls, so the
// steady state of a training loop does not allocate.
class Scratch {
 public:
  Scratch() = default;
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  ~Scratch() { std::free(p_); }
  void* get(size_t bytes) {
    if (bytes > cap_) {
      std::free(p_);
      cap_ = (bytes + 63) / 64 * 64;
      p_ = std::aligned_alloc(64, cap_);
      if (!p_) {
        cap_ = 0;
        throw std::bad_alloc();
      }
    }
    return p_;
  }

 private:
  void* p_ = nullptr;
  size_t cap_ = 0;
};

// Per-thread scratch slot (OpenMP worker threads are pooled, so these persist).
inline void* thread_scratch(int slot, size_t bytes) {
  static thread_local Scratch s[4];
  return s[slot].get(bytes);
}

}  // namespace fastgrad::kernels::detail
