// Convolution forward / grad-input / grad-weight through the GEMM.
//
// Each image is processed in tiles of output pixels; a tile's im2col matrix is sized
// to stay in L2 while the GEMM packs it. Pointwise convolutions (1x1, stride 1, no
// padding) skip im2col: the input already is the GEMM operand. Work units are
// (image, group, pixel tile); when there are enough of them for every thread, the
// units are spread over threads and each GEMM runs serially (it detects the parallel
// region), otherwise the units run in order and the GEMM parallelises internally.
//
// With units spread (or one thread) on the AVX2 / AVX-512 paths, forward and grad-input
// use this family's own panel kernels (conv_avx2.cpp, conv_avx512.cpp) instead of the
// GEMM: the channels-first im2col writes the kernel's packed operand directly, and the
// weight is packed once per call rather than once per tile. Measured (Sapphire Rapids,
// one thread, shapes of bench/conv2d.py): forward 1.15-1.5x, grad-input 1.2-1.4x faster
// than im2col + GEMM. For grad-weight the same kernels measured no gain over the GEMM.
#include <omp.h>

#include <algorithm>
#include <cstring>

#include "conv_common.h"
#include "conv_internal.h"
#include "fastgrad/kernels/conv.h"
#include "fastgrad/kernels/dispatch.h"
#include "fastgrad/kernels/gemm.h"
#include "fastgrad/parallel.h"

namespace fastgrad::kernels {
namespace {

using detail::Geom3;
using detail::valid_range;

// Bytes of im2col buffer per tile. Measured on Zen 4 (1 MiB L2): 1 MiB tiles beat
// 128-512 KiB ones on (32,64,16,128) (fewer, larger GEMMs; the GEMM re-blocks the
// operand itself); 4 MiB gained nothing. Chaining several channels-last images into
// one GEMM was tried and was slower on C_in = 3 and no better elsewhere.
#ifndef FG_CONV_COL_BYTES
#define FG_CONV_COL_BYTES (1024 * 1024)
#endif
constexpr int64_t kColBytes = FG_CONV_COL_BYTES;

bool is_pointwise(const Geom3& g) {
  for (int i = 0; i < 3; ++i)
    if (g.k[i] != 1 || g.s[i] != 1 || g.pl[i] != 0 || g.out[i] != g.in[i]) return false;
  return true;
}

template <typename T>
int64_t tile_pixels(const Geom3& g, bool pointwise) {
  if (pointwise) return g.Pout;
  const int64_t rows = g.Cig * g.K;
  int64_t pt = kColBytes / (rows * static_cast<int64_t>(sizeof(T)));
  pt = std::max<int64_t>(32, pt / 16 * 16);
  return std::min(pt, std::max<int64_t>(g.Pout, 1));
}

// Below ~2^18 multiply-adds a convolution takes tens of microseconds on one core, less
// than waking a thread team costs on a busy machine, so small calls stay serial.
constexpr int64_t kSerialMacs = int64_t(1) << 18;
int threads_available(const Geom3& g) {
  if (omp_in_parallel() || g.N * g.Cog * g.G * g.Pout * g.Cig * g.K < kSerialMacs) return 1;
  return omp_get_max_threads();
}

// Whether units go to threads (true) or run in order with a parallel GEMM (false).
bool spread_units(int nt, int64_t units, int64_t N) {
  return nt > 1 && (N >= nt || units >= 4 * static_cast<int64_t>(nt));
}

// Units are polled for an interrupt; in the serial case each unit's GEMM polls too.
// Units are handed out dynamically: each is computed the same way on any thread, and on
// a machine shared with other work a descheduled thread then delays only its current
// unit, not a fixed half of them (measured on a 2-core machine at load 10: two threads
// with a static split were slower than one).
template <typename F>
void run_units(int64_t units, bool spread, int nt, F&& f) {
  const InterruptPoll ip;
  if (spread) {
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt)
    for (int64_t u = 0; u < units; ++u)
      if (!ip.requested()) f(u);
  } else {
    for (int64_t u = 0; u < units && !ip.requested(); ++u) f(u);
  }
  ip.check();
}

// Decomposition of a flat output pixel index, advanced along the innermost dim.
struct PixelCursor {
  int64_t od, oh, ow;
  PixelCursor(const Geom3& g, int64_t p)
      : od(p / (g.out[1] * g.out[2])), oh((p / g.out[2]) % g.out[1]), ow(p % g.out[2]) {}
  void advance(const Geom3& g, int64_t n) {
    ow += n;
    if (ow == g.out[2]) {
      ow = 0;
      if (++oh == g.out[1]) {
        oh = 0;
        ++od;
      }
    }
  }
};

// Channels-first im2col of pixels [p0, p0+np): col is (Cig*K) x np, row stride np.
// x points at channel 0 of the group in image n.
template <typename T, bool kAdd>
void im2col_cf(const Geom3& g, const T* x_in, T* x_out, int64_t p0, int64_t np, T* col) {
  const int64_t D = g.in[0], H = g.in[1], W = g.in[2];
  int64_t r = 0;
  for (int64_t ci = 0; ci < g.Cig; ++ci) {
    const int64_t coff = ci * g.Pin;
    for (int64_t kd = 0; kd < g.k[0]; ++kd)
      for (int64_t kh = 0; kh < g.k[1]; ++kh)
        for (int64_t kw = 0; kw < g.k[2]; ++kw, ++r) {
          T* c = col + r * np;
          PixelCursor pc(g, p0);
          int64_t left = np;
          while (left > 0) {
            const int64_t seg = std::min(left, g.out[2] - pc.ow);
            const int64_t id = pc.od * g.s[0] - g.pl[0] + kd * g.d[0];
            const int64_t ih = pc.oh * g.s[1] - g.pl[1] + kh * g.d[1];
            if (id < 0 || id >= D || ih < 0 || ih >= H) {
              if (!kAdd) std::fill(c, c + seg, T(0));
            } else {
              const int64_t roff = coff + (id * H + ih) * W;
              const int64_t base = pc.ow * g.s[2] - g.pl[2] + kw * g.d[2];
              const int64_t s = g.s[2];
              int64_t lo, hi;
              valid_range(base, s, W, seg, lo, hi);
              if (!kAdd) {
                const T* xr = x_in + roff + base;
                std::fill(c, c + lo, T(0));
                if (s == 1)
                  std::memcpy(c + lo, xr + lo, sizeof(T) * (hi - lo));
                else
                  for (int64_t j = lo; j < hi; ++j) c[j] = xr[j * s];
                std::fill(c + hi, c + seg, T(0));
              } else {
                T* xr = x_out + roff + base;
                if (s == 1)
                  for (int64_t j = lo; j < hi; ++j) xr[j] += c[j];
                else
                  for (int64_t j = lo; j < hi; ++j) xr[j * s] += c[j];
              }
            }
            c += seg;
            left -= seg;
            pc.advance(g, seg);
          }
        }
  }
}

// Channels-last im2col of pixels [p0, p0+np): col is np x (K*Cig), row stride K*Cig.
// x points at channel 0 of the group in image n (pixel stride C_in). Without groups and
// dilation along w, a pixel's (kw, channel) entries for one (kd, kh) are one contiguous
// run of the input row, copied (or added back) in one piece: with few channels (C_in = 3)
// this is the difference between 27 element loops per pixel and 3.
template <typename T, bool kAdd>
void im2col_cl(const Geom3& g, const T* x_in, T* x_out, int64_t p0, int64_t np, T* col) {
  const int64_t D = g.in[0], H = g.in[1], W = g.in[2], C = g.C_in, Cg = g.Cig;
  const int64_t rows = g.K * Cg, kw_n = g.k[2], run = kw_n * Cg;
  const bool dense = Cg == C && g.d[2] == 1;
  PixelCursor pc(g, p0);
  for (int64_t i = 0; i < np; ++i, pc.advance(g, 1)) {
    T* c = col + i * rows;
    const int64_t base = pc.ow * g.s[2] - g.pl[2];
    // kw range whose input column is inside [0, W) (the same for every (kd, kh));
    // without dilation no division is needed.
    int64_t lo = 0, hi = 0;
    if (g.d[2] == 1) {
      lo = std::min(kw_n, std::max<int64_t>(0, -base));
      hi = std::max(lo, std::min(kw_n, W - base));
    } else {
      valid_range(base, g.d[2], W, kw_n, lo, hi);
    }
    for (int64_t kd = 0; kd < g.k[0]; ++kd) {
      const int64_t id = pc.od * g.s[0] - g.pl[0] + kd * g.d[0];
      const bool vd = id >= 0 && id < D;
      for (int64_t kh = 0; kh < g.k[1]; ++kh, c += run) {
        const int64_t ih = pc.oh * g.s[1] - g.pl[1] + kh * g.d[1];
        if (!vd || ih < 0 || ih >= H) {
          if (!kAdd) std::fill(c, c + run, T(0));
          continue;
        }
        const int64_t roff = (id * H + ih) * W * C;
        if (dense) {
          const int64_t off = roff + (base + lo) * C, n = (hi - lo) * C;
          if (!kAdd) {
            std::fill(c, c + lo * C, T(0));
            const T* xp = x_in + off;
            T* cp = c + lo * C;
            for (int64_t q = 0; q < n; ++q) cp[q] = xp[q];
            std::fill(c + hi * C, c + run, T(0));
          } else {
            T* xp = x_out + off;
            const T* cp = c + lo * C;
            for (int64_t q = 0; q < n; ++q) xp[q] += cp[q];
          }
          continue;
        }
        if (!kAdd) {
          std::fill(c, c + lo * Cg, T(0));
          std::fill(c + hi * Cg, c + run, T(0));
        }
        for (int64_t kw = lo; kw < hi; ++kw) {
          const int64_t iw = base + kw * g.d[2];
          T* cc = c + kw * Cg;
          if (!kAdd) {
            const T* xp = x_in + roff + iw * C;
            for (int64_t q = 0; q < Cg; ++q) cc[q] = xp[q];
          } else {
            T* xp = x_out + roff + iw * C;
            for (int64_t q = 0; q < Cg; ++q) xp[q] += cc[q];
          }
        }
      }
    }
  }
}

// dst (cols x rows, row stride ldd) = src^T, src rows x cols with row stride lds, in
// 16 x 16 blocks so both sides stay in a few cache lines.
template <typename T>
void transpose(int64_t rows, int64_t cols, const T* src, int64_t lds, T* dst, int64_t ldd) {
  constexpr int64_t B = 16;
  for (int64_t i0 = 0; i0 < rows; i0 += B)
    for (int64_t j0 = 0; j0 < cols; j0 += B) {
      const int64_t i1 = std::min(rows, i0 + B), j1 = std::min(cols, j0 + B);
      for (int64_t j = j0; j < j1; ++j)
        for (int64_t i = i0; i < i1; ++i) dst[j * ldd + i] = src[i * lds + j];
    }
}

// Writes one im2col row into NR-column panels (column j of row r at
// Bp[(j / NR) * rows * NR + r * NR + j % NR]), moving along the row in order.
template <typename T>
struct PanelRow {
  T* p;                 // current column's slot
  int64_t c, NR, step;  // column within the panel; panel width; elements between panels
  PanelRow(T* Bp, int64_t r, int64_t rows, int64_t nr) : p(Bp + r * nr), c(0), NR(nr), step(rows * nr) {}
  template <typename F>
  void put(int64_t n, F&& f) {  // f(dst, count, offset): fill dst[0:count) with values offset...
    int64_t off = 0;
    while (n > 0) {
      const int64_t len = std::min(n, NR - c);
      f(p + c, len, off);
      off += len;
      n -= len;
      c += len;
      if (c == NR) {
        c = 0;
        p += step;
      }
    }
  }
  void zero(int64_t n) {
    put(n, [](T* d, int64_t len, int64_t) { std::fill(d, d + len, T(0)); });
  }
};

// Channels-first im2col of pixels [p0, p0+np) straight into the panel layout of the
// panel kernels (the GEMM operand itself, not a matrix the GEMM would copy again); the
// last panel's columns past np are zero. The tile's runs along output rows are listed
// once and reused by every (channel, kernel offset) row; with stride 1 along w the
// in-bounds part of a run needs no division.
template <typename T>
void im2col_cf_panels(const Geom3& g, const T* x, int64_t p0, int64_t np, int64_t NR, T* Bp) {
  const int64_t D = g.in[0], H = g.in[1], W = g.in[2], rows = g.Cig * g.K;
  const int64_t pad = (np + NR - 1) / NR * NR - np;
  struct Run {
    int64_t len, od, oh, ow;
  };
  Run runs_local[64];
  Run* runs = runs_local;
  int64_t nruns = 0;
  {
    // An output row holds out[2] pixels, so a tile has at most np / out[2] + 2 runs.
    const int64_t cap = np / g.out[2] + 2;
    if (cap > 64) runs = static_cast<Run*>(detail::thread_scratch(3, sizeof(Run) * static_cast<size_t>(cap)));
    PixelCursor pc(g, p0);
    for (int64_t left = np; left > 0;) {
      const int64_t seg = std::min(left, g.out[2] - pc.ow);
      runs[nruns++] = Run{seg, pc.od, pc.oh, pc.ow};
      left -= seg;
      pc.advance(g, seg);
    }
  }
  const int64_t s = g.s[2];
  int64_t r = 0;
  for (int64_t ci = 0; ci < g.Cig; ++ci) {
    const T* xc = x + ci * g.Pin;
    for (int64_t kd = 0; kd < g.k[0]; ++kd)
      for (int64_t kh = 0; kh < g.k[1]; ++kh)
        for (int64_t kw = 0; kw < g.k[2]; ++kw, ++r) {
          PanelRow<T> row(Bp, r, rows, NR);
          for (int64_t q = 0; q < nruns; ++q) {
            const Run& ru = runs[q];
            const int64_t seg = ru.len;
            const int64_t id = ru.od * g.s[0] - g.pl[0] + kd * g.d[0];
            const int64_t ih = ru.oh * g.s[1] - g.pl[1] + kh * g.d[1];
            if (id < 0 || id >= D || ih < 0 || ih >= H) {
              row.zero(seg);
              continue;
            }
            const int64_t base = ru.ow * s - g.pl[2] + kw * g.d[2];
            int64_t lo, hi;
            if (s == 1) {
              lo = std::min(seg, std::max<int64_t>(0, -base));
              hi = std::max(lo, std::min(seg, W - base));
            } else {
              valid_range(base, s, W, seg, lo, hi);
            }
            const T* xr = xc + (id * H + ih) * W + base + lo * s;
            row.zero(lo);
            if (s == 1)
              row.put(hi - lo,
                      [xr](T* d, int64_t len, int64_t off) { std::memcpy(d, xr + off, sizeof(T) * len); });
            else
              row.put(hi - lo, [xr, s](T* d, int64_t len, int64_t off) {
                for (int64_t e = 0; e < len; ++e) d[e] = xr[(off + e) * s];
              });
            row.zero(seg - hi);
          }
          row.zero(pad);
        }
  }
}

// dst = the K x N matrix src[k*rs + j*cs] in NR-column panels (see conv_internal.h),
// columns past N zero.
template <typename T>
void pack_panels(int64_t K, int64_t N, const T* src, int64_t rs, int64_t cs, int64_t NR, T* dst) {
  for (int64_t j0 = 0; j0 < N; j0 += NR) {
    T* panel = dst + j0 * K;
    const int64_t nr = std::min(NR, N - j0);
    for (int64_t k = 0; k < K; ++k) {
      T* d = panel + k * NR;
      const T* sk = src + k * rs + j0 * cs;
      if (cs == 1)
        for (int64_t c = 0; c < nr; ++c) d[c] = sk[c];
      else
        for (int64_t c = 0; c < nr; ++c) d[c] = sk[c * cs];
      for (int64_t c = nr; c < NR; ++c) d[c] = T(0);
    }
  }
}

// The panel kernel of the active ISA (nullptr on the scalar path: the GEMM is used).
template <typename T>
const conv_detail::PanelKernel<T>* panel_kernel();
template <>
const conv_detail::PanelKernel<float>* panel_kernel<float>() {
  static const conv_detail::PanelKernel<float>* k = [] {
    const Isa isa = active_isa();
    return isa == Isa::Avx512 ? &conv_detail::panel_avx512_f32()
           : isa == Isa::Avx2 ? &conv_detail::panel_avx2_f32()
                              : nullptr;
  }();
  return k;
}
template <>
const conv_detail::PanelKernel<double>* panel_kernel<double>() {
  static const conv_detail::PanelKernel<double>* k = [] {
    const Isa isa = active_isa();
    return isa == Isa::Avx512 ? &conv_detail::panel_avx512_f64()
           : isa == Isa::Avx2 ? &conv_detail::panel_avx2_f64()
                              : nullptr;
  }();
  return k;
}

template <typename T>
T* col_buffer(int64_t elems) {
  return static_cast<T*>(detail::thread_scratch(0, sizeof(T) * static_cast<size_t>(elems)));
}

}  // namespace

template <typename T>
void conv_forward(const ConvGeom& cg, const T* x, const T* w, const T* bias, T* y) {
  const Geom3 g = detail::lift(cg);
  const bool pw = is_pointwise(g);
  const int64_t rows = g.Cig * g.K;
  const int64_t pt = tile_pixels<T>(g, pw);
  const int64_t ntile = (g.Pout + pt - 1) / pt;
  const int64_t units = g.N * g.G * ntile;
  const int nt = threads_available(g);
  const bool spread = spread_units(nt, units, g.N);

  // Channels-first, with each unit on one thread: im2col packs straight into the panel
  // kernel's operand (one copy of the input instead of im2col + the GEMM's packing) and
  // the bias starts the sums.
  // Channels-last, likewise: the weight is packed once per call into the narrow panels
  // (K*Cig x Cog), and the im2col rows are the kernel's A operand as they are.
  const conv_detail::PanelKernel<T>* pk = panel_kernel<T>();
  const bool panels = pk && !g.cl && !pw && (spread || nt == 1);
  const bool panels_cl = pk && g.cl && !pw && (spread || nt == 1);
  T* Wp = nullptr;
  int64_t wp_group = 0;
  if (panels_cl) {
    const int64_t NR = pk->NR_narrow, cols = (g.Cog + NR - 1) / NR * NR;
    wp_group = rows * cols;
    Wp = static_cast<T*>(detail::thread_scratch(2, sizeof(T) * static_cast<size_t>(g.G * wp_group)));
    for (int64_t gi = 0; gi < g.G; ++gi)
      for (int64_t o0 = 0; o0 < cols; o0 += NR) {
        T* panel = Wp + gi * wp_group + o0 * rows;
        for (int64_t r = 0; r < rows; ++r)
          for (int64_t c = 0; c < NR; ++c)
            panel[r * NR + c] = o0 + c < g.Cog ? w[(gi * g.Cog + o0 + c) * rows + r] : T(0);
      }
  }

  run_units(units, spread, nt, [&](int64_t u) {
    const int64_t t = u % ntile, gi = (u / ntile) % g.G, n = u / (ntile * g.G);
    const int64_t p0 = t * pt, np = std::min(pt, g.Pout - p0);
    const T* wg = w + gi * g.Cog * rows;
    const T* bg = bias ? bias + gi * g.Cog : nullptr;
    if (panels) {
      const T* xn = x + (n * g.C_in + gi * g.Cig) * g.Pin;
      T* yt = y + (n * g.C_out + gi * g.Cog) * g.Pout + p0;
      T* Bp = col_buffer<T>(rows * ((np + pk->NR - 1) / pk->NR * pk->NR));
      im2col_cf_panels(g, xn, p0, np, pk->NR, Bp);
      pk->run(g.Cog, np, rows, wg, rows, Bp, yt, g.Pout, bg);
    } else if (panels_cl) {
      const T* xn = x + n * g.Pin * g.C_in + gi * g.Cig;
      T* yt = y + (n * g.Pout + p0) * g.C_out + gi * g.Cog;
      T* col = col_buffer<T>(rows * np);
      im2col_cl<T, false>(g, xn, nullptr, p0, np, col);
      pk->run_narrow(np, g.Cog, rows, col, rows, Wp + gi * wp_group, yt, g.C_out, nullptr);
      if (bg)
        for (int64_t j = 0; j < np; ++j) {
          T* yr = yt + j * g.C_out;
          for (int64_t o = 0; o < g.Cog; ++o) yr[o] += bg[o];
        }
    } else if (!g.cl) {
      const T* xn = x + (n * g.C_in + gi * g.Cig) * g.Pin;
      T* yt = y + (n * g.C_out + gi * g.Cog) * g.Pout + p0;
      const T* B = xn + p0;
      int64_t rsB = g.Pin;
      if (!pw) {
        T* col = col_buffer<T>(rows * np);
        im2col_cf<T, false>(g, xn, nullptr, p0, np, col);
        B = col;
        rsB = np;
      }
      gemm<T>(g.Cog, np, rows, T(1), wg, rows, 1, B, rsB, 1, T(0), yt, g.Pout, 1);
      if (bg)
        for (int64_t o = 0; o < g.Cog; ++o) {
          T* yr = yt + o * g.Pout;
          const T b = bg[o];
          for (int64_t j = 0; j < np; ++j) yr[j] += b;
        }
    } else {
      const T* xn = x + n * g.Pin * g.C_in + gi * g.Cig;
      T* yt = y + (n * g.Pout + p0) * g.C_out + gi * g.Cog;
      const T* A = xn + p0 * g.C_in;
      int64_t rsA = g.C_in;
      if (!pw) {
        T* col = col_buffer<T>(rows * np);
        im2col_cl<T, false>(g, xn, nullptr, p0, np, col);
        A = col;
        rsA = rows;
      }
      gemm<T>(np, g.Cog, rows, T(1), A, rsA, 1, wg, 1, rows, T(0), yt, g.C_out, 1);
      if (bg)
        for (int64_t j = 0; j < np; ++j) {
          T* yr = yt + j * g.C_out;
          for (int64_t o = 0; o < g.Cog; ++o) yr[o] += bg[o];
        }
    }
  });
}

template <typename T>
void conv_grad_input(const ConvGeom& cg, const T* gy, const T* w, T* gx) {
  const Geom3 g = detail::lift(cg);
  const bool pw = is_pointwise(g);
  const int64_t rows = g.Cig * g.K;
  const int64_t pt = tile_pixels<T>(g, pw);
  // col2im of neighbouring tiles overlaps in gx, so a unit is a whole (image, group).
  const int64_t units = g.N * g.G;
  const int nt = threads_available(g);
  const bool spread = spread_units(nt, units, g.N);

  // With each unit on one thread, the panel kernels: channels-first computes
  // col = W^T @ gy with W^T transposed once per call and each gy tile packed (Cog x np,
  // 1/rows of the arithmetic); channels-last computes col = gy @ W with W packed once
  // per call, in whichever panel width pads the rows less.
  const conv_detail::PanelKernel<T>* pk = pw ? nullptr : panel_kernel<T>();
  const bool panels = pk && (spread || nt == 1);
  T* Wt = nullptr;
  int64_t NRc = 0, wp_group = 0;
  conv_detail::PanelGemm<T> run_cl = nullptr;
  if (panels && !g.cl) {
    Wt = static_cast<T*>(detail::thread_scratch(2, sizeof(T) * static_cast<size_t>(g.C_out * rows)));
    for (int64_t gi = 0; gi < g.G; ++gi)
      transpose(g.Cog, rows, w + gi * g.Cog * rows, rows, Wt + gi * g.Cog * rows, g.Cog);
  } else if (panels) {
    const int64_t ww = (rows + pk->NR - 1) / pk->NR * pk->NR,
                  wn = (rows + pk->NR_narrow - 1) / pk->NR_narrow * pk->NR_narrow;
    NRc = ww <= wn ? pk->NR : pk->NR_narrow;
    run_cl = ww <= wn ? pk->run : pk->run_narrow;
    wp_group = g.Cog * std::min(ww, wn);
    Wt = static_cast<T*>(detail::thread_scratch(2, sizeof(T) * static_cast<size_t>(g.G * wp_group)));
    for (int64_t gi = 0; gi < g.G; ++gi)
      pack_panels(g.Cog, rows, w + gi * g.Cog * rows, rows, 1, NRc, Wt + gi * wp_group);
  }

  run_units(units, spread, nt, [&](int64_t u) {
    const int64_t gi = u % g.G, n = u / g.G;
    const T* wg = w + gi * g.Cog * rows;
    if (panels && !g.cl) {
      T* gxn = gx + (n * g.C_in + gi * g.Cig) * g.Pin;
      const T* gyn = gy + (n * g.C_out + gi * g.Cog) * g.Pout;
      std::fill(gxn, gxn + g.Cig * g.Pin, T(0));
      const int64_t NR = pk->NR;
      for (int64_t p0 = 0; p0 < g.Pout; p0 += pt) {
        const int64_t np = std::min(pt, g.Pout - p0);
        T* col = col_buffer<T>(rows * np);
        T* Bp = static_cast<T*>(
            detail::thread_scratch(1, sizeof(T) * static_cast<size_t>(g.Cog * ((np + NR - 1) / NR * NR))));
        pack_panels(g.Cog, np, gyn + p0, g.Pout, 1, NR, Bp);
        pk->run(rows, np, g.Cog, Wt + gi * g.Cog * rows, g.Cog, Bp, col, np, nullptr);
        im2col_cf<T, true>(g, nullptr, gxn, p0, np, col);
      }
    } else if (panels) {
      T* gxn = gx + n * g.Pin * g.C_in + gi * g.Cig;
      const T* gyn = gy + n * g.Pout * g.C_out + gi * g.Cog;
      for (int64_t p = 0; p < g.Pin; ++p) std::fill(gxn + p * g.C_in, gxn + p * g.C_in + g.Cig, T(0));
      for (int64_t p0 = 0; p0 < g.Pout; p0 += pt) {
        const int64_t np = std::min(pt, g.Pout - p0);
        T* col = col_buffer<T>(rows * np);
        run_cl(np, rows, g.Cog, gyn + p0 * g.C_out, g.C_out, Wt + gi * wp_group, col, rows, nullptr);
        im2col_cl<T, true>(g, nullptr, gxn, p0, np, col);
      }
    } else if (!g.cl) {
      T* gxn = gx + (n * g.C_in + gi * g.Cig) * g.Pin;
      const T* gyn = gy + (n * g.C_out + gi * g.Cog) * g.Pout;
      if (pw) {
        gemm<T>(g.Cig, g.Pout, g.Cog, T(1), wg, 1, rows, gyn, g.Pout, 1, T(0), gxn, g.Pin, 1);
        return;
      }
      std::fill(gxn, gxn + g.Cig * g.Pin, T(0));
      for (int64_t p0 = 0; p0 < g.Pout; p0 += pt) {
        const int64_t np = std::min(pt, g.Pout - p0);
        T* col = col_buffer<T>(rows * np);
        gemm<T>(rows, np, g.Cog, T(1), wg, 1, rows, gyn + p0, g.Pout, 1, T(0), col, np, 1);
        im2col_cf<T, true>(g, nullptr, gxn, p0, np, col);
      }
    } else {
      T* gxn = gx + n * g.Pin * g.C_in + gi * g.Cig;
      const T* gyn = gy + n * g.Pout * g.C_out + gi * g.Cog;
      if (pw) {
        gemm<T>(g.Pout, g.Cig, g.Cog, T(1), gyn, g.C_out, 1, wg, rows, 1, T(0), gxn, g.C_in, 1);
        return;
      }
      for (int64_t p = 0; p < g.Pin; ++p) std::fill(gxn + p * g.C_in, gxn + p * g.C_in + g.Cig, T(0));
      for (int64_t p0 = 0; p0 < g.Pout; p0 += pt) {
        const int64_t np = std::min(pt, g.Pout - p0);
        T* col = col_buffer<T>(rows * np);
        gemm<T>(np, rows, g.Cog, T(1), gyn + p0 * g.C_out, g.C_out, 1, wg, rows, 1, T(0), col, rows, 1);
        im2col_cl<T, true>(g, nullptr, gxn, p0, np, col);
      }
    }
  });
}

template <typename T>
void conv_grad_weight(const ConvGeom& cg, const T* x, const T* gy, T* gw) {
  const Geom3 g = detail::lift(cg);
  const bool pw = is_pointwise(g);
  const int64_t rows = g.Cig * g.K;
  const int64_t wsize = g.C_out * rows;
  const int64_t pt = tile_pixels<T>(g, pw);
  const int64_t ntile = (g.Pout + pt - 1) / pt;
  const int64_t units = g.N * g.G * ntile;
  const int nt = threads_available(g);
  const bool spread = spread_units(nt, units, g.N);
  // Channels-first: both GEMM operands (gy and the im2col matrix) run along the pixels,
  // the reduction dim, so one must be transposed for the GEMM's B panels. Transposing
  // the gy tile (Cog x np) costs 1/rows of the arithmetic, the im2col matrix 1/Cog, so
  // the sum is taken transposed, gw^T = col @ gy^T, into (group, rows, Cog) buffers
  // that are transposed into gw at the end.
  const bool tr = !g.cl;

  // With spread units, the units are cut into nbuf fixed contiguous groups, each summed
  // into its own buffer and handed out dynamically (see run_units); the buffers are
  // added once at the end in group order, so the result depends on nt only (through
  // nbuf), not on which thread ran which group.
  const int64_t nbuf = spread ? std::min<int64_t>(units, 2 * static_cast<int64_t>(nt)) : 1;
  T* partial = gw;
  if (spread || tr)
    partial = static_cast<T*>(detail::thread_scratch(1, sizeof(T) * static_cast<size_t>(wsize * nbuf)));
  std::fill(partial, partial + wsize * nbuf, T(0));

  auto unit = [&](int64_t u, T* acc) {
    const int64_t t = u % ntile, gi = (u / ntile) % g.G, n = u / (ntile * g.G);
    const int64_t p0 = t * pt, np = std::min(pt, g.Pout - p0);
    T* gwg = acc + gi * g.Cog * rows;
    if (!g.cl) {
      const T* xn = x + (n * g.C_in + gi * g.Cig) * g.Pin;
      const T* gyt = gy + (n * g.C_out + gi * g.Cog) * g.Pout + p0;
      const T* A = xn + p0;
      int64_t rsA = g.Pin;
      if (!pw) {
        T* col = col_buffer<T>(rows * np);
        im2col_cf<T, false>(g, xn, nullptr, p0, np, col);
        A = col;
        rsA = np;
      }
      T* gyT = static_cast<T*>(detail::thread_scratch(2, sizeof(T) * static_cast<size_t>(np * g.Cog)));
      transpose(g.Cog, np, gyt, g.Pout, gyT, g.Cog);
      gemm<T>(rows, g.Cog, np, T(1), A, rsA, 1, gyT, g.Cog, 1, T(1), gwg, g.Cog, 1);
    } else {
      const T* xn = x + n * g.Pin * g.C_in + gi * g.Cig;
      const T* gyt = gy + (n * g.Pout + p0) * g.C_out + gi * g.Cog;
      const T* B = xn + p0 * g.C_in;
      int64_t rsB = g.C_in;
      if (!pw) {
        T* col = col_buffer<T>(rows * np);
        im2col_cl<T, false>(g, xn, nullptr, p0, np, col);
        B = col;
        rsB = rows;
      }
      gemm<T>(g.Cog, rows, np, T(1), gyt, 1, g.C_out, B, rsB, 1, T(1), gwg, rows, 1);
    }
  };
  // gw[gi][o][r] = sum of the buffers at [gi][o][r] (or at [gi][r][o] when transposed).
  auto finish = [&](int64_t i) {
    int64_t j = i;
    if (tr) {
      const int64_t gi = i / (g.Cog * rows), o = (i / rows) % g.Cog, r = i % rows;
      j = (gi * rows + r) * g.Cog + o;
    }
    T s = partial[j];
    for (int64_t b = 1; b < nbuf; ++b) s += partial[b * wsize + j];
    gw[i] = s;
  };

  const InterruptPoll ip;
  if (!spread) {
    for (int64_t u = 0; u < units && !ip.requested(); ++u) unit(u, partial);
    ip.check();
    if (tr)
      for (int64_t i = 0; i < wsize; ++i) finish(i);
    return;
  }
#pragma omp parallel num_threads(nt)
  {
#pragma omp for schedule(dynamic, 1)
    for (int64_t b = 0; b < nbuf; ++b) {
      T* acc = partial + wsize * b;
      for (int64_t u = b * units / nbuf; u < (b + 1) * units / nbuf; ++u)
        if (!ip.requested()) unit(u, acc);
    }
#pragma omp for schedule(static)
    for (int64_t i = 0; i < wsize; ++i) finish(i);
  }
  ip.check();
}

#define FASTGRAD_CONV_INSTANTIATE(T)                                                \
  template void conv_forward<T>(const ConvGeom&, const T*, const T*, const T*, T*); \
  template void conv_grad_input<T>(const ConvGeom&, const T*, const T*, T*);        \
  template void conv_grad_weight<T>(const ConvGeom&, const T*, const T*, T*);
FASTGRAD_CONV_INSTANTIATE(float)
FASTGRAD_CONV_INSTANTIATE(double)
#undef FASTGRAD_CONV_INSTANTIATE

}  // namespace fastgrad::kernels
