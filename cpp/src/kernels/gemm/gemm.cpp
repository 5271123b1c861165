// GEMM driver: ISA-neutral blocking, packing and threading around the per-ISA
// micro-kernels (BLIS loop order: jc -> pc -> pack B -> ic -> pack A -> jr -> ir).
#include "fastgrad/kernels/gemm.h"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <new>

#include "fastgrad/kernels/dispatch.h"
#include "fastgrad/parallel.h"
#include "gemm_internal.h"

namespace fastgrad::kernels {
namespace {

using gemm_detail::KernelSet;

template <typename T>
const KernelSet<T>& kernel_set(Isa isa);

template <>
const KernelSet<float>& kernel_set<float>(Isa isa) {
  switch (isa) {
    case Isa::Avx512:
      return gemm_detail::kernels_avx512_f32();
    case Isa::Avx2:
      return gemm_detail::kernels_avx2_f32();
    default:
      return gemm_detail::kernels_scalar_f32();
  }
}

template <>
const KernelSet<double>& kernel_set<double>(Isa isa) {
  switch (isa) {
    case Isa::Avx512:
      return gemm_detail::kernels_avx512_f64();
    case Isa::Avx2:
      return gemm_detail::kernels_avx2_f64();
    default:
      return gemm_detail::kernels_scalar_f64();
  }
}

// The unpacked path (small kernels) re-reads rows of B for every few rows of A, so it
// only pays off while B stays in L2 (then it is as fast as the packed kernels and skips
// packing, which dominates for small and skinny problems).
#ifndef FG_GEMM_SMALL_WORK
#define FG_GEMM_SMALL_WORK (int64_t(1) << 24)
#endif
constexpr int64_t kSmallWork = FG_GEMM_SMALL_WORK;
constexpr int64_t kSmallBBytes = int64_t(256) << 10;
// Below this many multiply-adds per thread, waking another thread costs more than it
// saves.
constexpr int64_t kMinWorkPerThread = int64_t(1) << 19;
// Tiles of the packed threaded path per thread (see gemm_impl). More than one costs
// every tile its own packing of the shared operand: on a quiet Sapphire-Rapids-class
// Xeon (2 threads, AVX-512) 4 per thread gave 142 / 73 GF/s for the 128x784x512
// products of a 784-512-512-10 MLP's backward pass (B plain / transposed) against 241 /
// 168 with one, and 236 vs 276 at 128x512x512; 1024^3 and 2048^3 were within noise.
#ifndef FG_GEMM_TILES_PER_THREAD
#define FG_GEMM_TILES_PER_THREAD 1
#endif
constexpr int64_t kTilesPerThread = FG_GEMM_TILES_PER_THREAD;

// Per-thread packing buffer: 64-byte aligned, grown on demand and then reused, so the
// steady state does no allocation.
struct PackBuffer {
  void* ptr = nullptr;
  size_t cap = 0;
  PackBuffer() = default;
  PackBuffer(const PackBuffer&) = delete;
  PackBuffer& operator=(const PackBuffer&) = delete;
  ~PackBuffer() { std::free(ptr); }
  void* get(size_t bytes) {
    if (bytes > cap) {
      std::free(ptr);
      cap = (bytes + 4095) & ~size_t(4095);
      ptr = std::aligned_alloc(64, cap);
      if (!ptr) {
        cap = 0;
        throw std::bad_alloc();
      }
    }
    return ptr;
  }
};

thread_local PackBuffer tls_pack_a, tls_pack_b;

// Packs an mc x kc block of A into MR-row micro-panels (rows past mc are zero so the
// micro-kernel can always run a full MR tile). Row-major A is copied row by row into
// row-major panels (contiguous reads and writes; the micro-kernel broadcasts from MR
// row streams); any other layout goes to k-major panels. Returns a_rs (a_cs follows).
template <typename T>
int64_t pack_a(int64_t mc, int64_t kc, const T* A, int64_t rsA, int64_t csA, int64_t MR, T* Ap) {
#ifndef FG_GEMM_ROWMAJ_A
#define FG_GEMM_ROWMAJ_A 1
#endif
  const bool row_major = FG_GEMM_ROWMAJ_A && csA == 1 && rsA != 1;
  for (int64_t i = 0; i < mc; i += MR) {
    const int64_t mr = std::min(MR, mc - i);
    const T* a = A + i * rsA;
    if (row_major) {
      for (int64_t r = 0; r < mr; ++r) std::memcpy(Ap + r * kc, a + r * rsA, sizeof(T) * size_t(kc));
      if (mr < MR) std::memset(Ap + mr * kc, 0, sizeof(T) * size_t((MR - mr) * kc));
    } else if (rsA == 1) {  // column-major A: each k is a contiguous run of mr values
      for (int64_t k = 0; k < kc; ++k) {
        const T* src = a + k * csA;
        T* dst = Ap + k * MR;
        for (int64_t r = 0; r < mr; ++r) dst[r] = src[r];
        for (int64_t r = mr; r < MR; ++r) dst[r] = T(0);
      }
    } else {
      for (int64_t k = 0; k < kc; ++k) {
        T* dst = Ap + k * MR;
        for (int64_t r = 0; r < mr; ++r) dst[r] = a[r * rsA + k * csA];
        for (int64_t r = mr; r < MR; ++r) dst[r] = T(0);
      }
    }
    Ap += MR * kc;
  }
  return row_major ? kc : 1;
}

// Packs a kc x nc block of B into NR-column micro-panels, Bp[p][k*NR + c] = B[k, p*NR + c]
// (columns past nc are zero).
template <typename T>
void pack_b(int64_t kc, int64_t nc, const T* B, int64_t rsB, int64_t csB, int64_t NR, T* Bp) {
  const int64_t panels = (nc + NR - 1) / NR;
  if (csB == 1) {
    // A few rows of B at a time across all panels: reads stay sequential along the
    // rows instead of jumping a row stride per NR values.
    constexpr int64_t KB = 4;
    for (int64_t k0 = 0; k0 < kc; k0 += KB) {
      const int64_t k1 = std::min(kc, k0 + KB);
      for (int64_t p = 0; p < panels; ++p) {
        const int64_t j = p * NR, nr = std::min(NR, nc - j);
        T* panel = Bp + p * NR * kc;
        for (int64_t k = k0; k < k1; ++k) {
          const T* src = B + k * rsB + j;
          T* dst = panel + k * NR;
          if (nr == NR) {
            std::memcpy(dst, src, sizeof(T) * size_t(NR));
          } else {
            for (int64_t c = 0; c < nr; ++c) dst[c] = src[c];
            for (int64_t c = nr; c < NR; ++c) dst[c] = T(0);
          }
        }
      }
    }
    return;
  }
  for (int64_t p = 0; p < panels; ++p) {
    const int64_t j = p * NR, nr = std::min(NR, nc - j);
    const T* b = B + j * csB;
    T* panel = Bp + p * NR * kc;
    if (rsB == 1) {  // B stored transposed (x @ W.T): each column is contiguous in k
      // 16 k at a time across the panel's columns: one cache line of each column is
      // read and 16 rows of the panel are written while they stay in L1 (a whole column
      // at a time wrote kc rows of the panel per column, 64 KiB for kc = 256, NR = 64).
      constexpr int64_t KB = 16;
      for (int64_t k0 = 0; k0 < kc; k0 += KB) {
        const int64_t k1 = std::min(kc, k0 + KB);
        for (int64_t c = 0; c < nr; ++c) {
          const T* src = b + c * csB;
          T* dst = panel + c;
          for (int64_t k = k0; k < k1; ++k) dst[k * NR] = src[k];
        }
      }
      for (int64_t c = nr; c < NR; ++c)
        for (int64_t k = 0; k < kc; ++k) panel[k * NR + c] = T(0);
    } else {
      for (int64_t k = 0; k < kc; ++k) {
        T* dst = panel + k * NR;
        for (int64_t c = 0; c < nr; ++c) dst[c] = b[k * rsB + c * csB];
        for (int64_t c = nr; c < NR; ++c) dst[c] = T(0);
      }
    }
  }
}

inline int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

// Splits n into ceil(n / block) nearly equal blocks (multiples of `unit`), so the last
// block is not a sliver.
inline int64_t balanced_block(int64_t n, int64_t block, int64_t unit) {
  const int64_t nb = (n + block - 1) / block;
  return std::min(block, round_up((n + nb - 1) / nb, unit));
}

template <typename T>
void packed_serial(const KernelSet<T>& ks, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t rsA,
                   int64_t csA, const T* B, int64_t rsB, int64_t csB, T beta, T* C, int64_t rsC, int64_t csC,
                   const InterruptPoll& ip) {
  const int64_t MR = ks.MR, NR = ks.NR;
  const int64_t KC = balanced_block(K, ks.KC, 8);
  const int64_t MC = balanced_block(M, ks.MC, MR);
  const int64_t NC = balanced_block(N, ks.NC, NR);
  T* Ap = static_cast<T*>(tls_pack_a.get(sizeof(T) * size_t(round_up(std::min(MC, M), MR) * KC)));
  T* Bp = static_cast<T*>(tls_pack_b.get(sizeof(T) * size_t(round_up(std::min(NC, N), NR) * KC)));
  for (int64_t jc = 0; jc < N; jc += NC) {
    const int64_t nc = std::min(NC, N - jc);
    for (int64_t pc = 0; pc < K; pc += KC) {
      const int64_t kc = std::min(KC, K - pc);
      const T beta_eff = pc == 0 ? beta : T(1);
      pack_b(kc, nc, B + pc * rsB + jc * csB, rsB, csB, NR, Bp);
      for (int64_t ic = 0; ic < M; ic += MC) {
        // Between blocks of a few ms: an interrupted GEMM stops here (C is then partial;
        // the caller throws and discards it).
        if (ip.requested()) return;
        const int64_t mc = std::min(MC, M - ic);
        const int64_t a_rs = pack_a(mc, kc, A + ic * rsA + pc * csA, rsA, csA, MR, Ap);
        const int64_t a_cs = a_rs == 1 ? MR : 1;
        for (int64_t jr = 0; jr < nc; jr += NR) {
          const int64_t nr = std::min(NR, nc - jr);
          for (int64_t ir = 0; ir < mc; ir += MR) {
            const int64_t mr = std::min(MR, mc - ir);
            ks.micro(kc, Ap + ir * kc, a_rs, a_cs, Bp + jr * kc, C + (ic + ir) * rsC + (jc + jr) * csC, rsC,
                     csC, alpha, beta_eff, mr, nr);
          }
        }
      }
    }
  }
}

template <typename T>
void scale_c(int64_t M, int64_t N, T beta, T* C, int64_t rsC, int64_t csC) {
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      T& c = C[i * rsC + j * csC];
      c = beta == T(0) ? T(0) : beta * c;
    }
}

// Handles empty and trivial cases, and makes C row-major-like (unit column stride if
// possible) by computing C^T = B^T A^T when C is column-major. Returns false when
// nothing is left to compute.
template <typename T>
bool normalize(int64_t& M, int64_t& N, int64_t K, T alpha, const T*& A, int64_t& rsA, int64_t& csA,
               const T*& B, int64_t& rsB, int64_t& csB, T beta, T* C, int64_t& rsC, int64_t& csC) {
  if (M <= 0 || N <= 0) return false;
  if (K <= 0 || alpha == T(0)) {
    if (beta != T(1)) scale_c(M, N, beta, C, rsC, csC);
    return false;
  }
  // A degenerate dimension's stride is never used to step, so pick the convenient one.
  if (N == 1) csC = 1, csB = 1;
  if (M == 1) rsC = 1, rsA = 1;
  if (csC != 1 && rsC == 1) {
    std::swap(M, N);
    std::swap(rsC, csC);
    const T* oldA = A;
    const int64_t oldRsA = rsA, oldCsA = csA;
    A = B;
    rsA = csB;
    csA = rsB;
    B = oldA;
    rsB = oldCsA;
    csB = oldRsA;
  }
  return true;
}

// Splits C into a tm x tn grid of thread tiles (tile edges on micro-tile boundaries)
// minimising the largest tile, then the packing traffic per thread.
void thread_grid(int64_t M, int64_t N, int64_t K, int64_t MR, int64_t NR, int nt, int& tm, int& tn) {
  double best = -1;
  tm = 1;
  tn = nt;
  for (int a = 1; a <= nt; ++a) {
    if (nt % a) continue;
    const int b = nt / a;
    const int64_t mt = round_up((M + a - 1) / a, MR), ntile = round_up((N + b - 1) / b, NR);
    if (a > 1 && (a - 1) * mt >= M) continue;  // a thread would get nothing
    if (b > 1 && (b - 1) * ntile >= N) continue;
    // Packing A transposes (about twice the cost per element of copying B).
    const double cost = double(std::min(mt, M)) * double(std::min(ntile, N)) * double(K) +
                        4.0 * (2.0 * double(mt) * K + double(ntile) * K);
    if (best < 0 || cost < best) {
      best = cost;
      tm = a;
      tn = b;
    }
  }
}

template <typename T>
void gemm_impl(int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t rsA, int64_t csA, const T* B,
               int64_t rsB, int64_t csB, T beta, T* C, int64_t rsC, int64_t csC, bool allow_threads) {
  if (!normalize(M, N, K, alpha, A, rsA, csA, B, rsB, csB, beta, C, rsC, csC)) return;
  const KernelSet<T>& ks = kernel_set<T>(active_isa());
  const InterruptPoll ip;
  const int64_t work = M * N * K;
  int nt = 1;
  if (allow_threads && work >= 2 * kMinWorkPerThread && !omp_in_parallel()) {
    nt = static_cast<int>(std::min<int64_t>(omp_get_max_threads(), work / kMinWorkPerThread));
  }
  // A strided or transposed B (x @ W.T) joins the small path through one contiguous
  // copy, which costs 1/M of the arithmetic.
  const bool small = ks.small && csC == 1 && work <= kSmallWork &&
                     K * N * int64_t(sizeof(T)) <= kSmallBBytes && (csB == 1 || M >= 8);
  if (small) {
    if (csB != 1) {
      T* Bc = static_cast<T*>(tls_pack_b.get(sizeof(T) * size_t(K * N)));
      if (rsB == 1) {  // 16 k at a time (see pack_b): rows of Bc stay in L1
        for (int64_t k0 = 0; k0 < K; k0 += 16) {
          const int64_t k1 = std::min(K, k0 + 16);
          for (int64_t j = 0; j < N; ++j)
            for (int64_t k = k0; k < k1; ++k) Bc[k * N + j] = B[j * csB + k];
        }
      } else {
        for (int64_t k = 0; k < K; ++k)
          for (int64_t j = 0; j < N; ++j) Bc[k * N + j] = B[k * rsB + j * csB];
      }
      B = Bc;
      rsB = N;
      csB = 1;
    }
    // Row ranges on multiples of 6 (the small kernels' row block) so every thread
    // computes whole blocks, the same way as a single thread would.
    const int64_t rows = round_up((M + nt - 1) / nt, 6);
    nt = static_cast<int>(std::min<int64_t>(nt, (M + rows - 1) / rows));
    if (nt <= 1) {
      ks.small(M, N, K, alpha, A, rsA, csA, B, rsB, beta, C, rsC);
      return;
    }
#pragma omp parallel num_threads(nt)
    {
      const int64_t i0 = omp_get_thread_num() * rows;
      if (i0 < M)
        ks.small(std::min(rows, M - i0), N, K, alpha, A + i0 * rsA, rsA, csA, B, rsB, beta, C + i0 * rsC,
                 rsC);
    }
    return;
  }
  if (nt <= 1) {
    packed_serial(ks, M, N, K, alpha, A, rsA, csA, B, rsB, csB, beta, C, rsC, csC, ip);
    ip.check();
    return;
  }
  // Tiles handed out in turn from a shared counter: a thread that starts late (woken
  // from sleep, or its core taken by a neighbour's spinning BLAS pool or another
  // process) leaves the tiles nobody has started to the others instead of making them
  // wait at the end. Every element of C is computed the same way whichever tile and
  // thread it falls in (the K blocking depends on K only), so results do not depend on
  // the split. Tiles per thread are capped so each still does kMinWorkPerThread / 2.
  const int tiles_wanted = static_cast<int>(std::max<int64_t>(
      nt, std::min<int64_t>(int64_t(nt) * kTilesPerThread, work / (kMinWorkPerThread / 2))));
  int tm, tn;
  thread_grid(M, N, K, ks.MR, ks.NR, tiles_wanted, tm, tn);
  const int64_t mt = round_up((M + tm - 1) / tm, ks.MR);
  const int64_t ntile = round_up((N + tn - 1) / tn, ks.NR);
  const int tiles = tm * tn;
  std::atomic<int> next{0};
#pragma omp parallel num_threads(std::min(nt, tiles))
  {
    for (int t = next.fetch_add(1, std::memory_order_relaxed); t < tiles;
         t = next.fetch_add(1, std::memory_order_relaxed)) {
      // Consecutive tiles share a column block of B (still warm in the shared cache).
      const int64_t i0 = (t % tm) * mt, j0 = (t / tm) * ntile;
      if (i0 >= M || j0 >= N) continue;
      const int64_t m = std::min(mt, M - i0), n = std::min(ntile, N - j0);
      packed_serial(ks, m, n, K, alpha, A + i0 * rsA, rsA, csA, B + j0 * csB, rsB, csB, beta,
                    C + i0 * rsC + j0 * csC, rsC, csC, ip);
    }
  }
  ip.check();
}

}  // namespace

template <typename T>
void gemm(int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t rsA, int64_t csA, const T* B,
          int64_t rsB, int64_t csB, T beta, T* C, int64_t rsC, int64_t csC) {
  gemm_impl(M, N, K, alpha, A, rsA, csA, B, rsB, csB, beta, C, rsC, csC, true);
}

template <typename T>
void gemm_serial(int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t rsA, int64_t csA, const T* B,
                 int64_t rsB, int64_t csB, T beta, T* C, int64_t rsC, int64_t csC) {
  gemm_impl(M, N, K, alpha, A, rsA, csA, B, rsB, csB, beta, C, rsC, csC, false);
}

template <typename T>
void gemm_batched(int64_t batch, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t bsA,
                  int64_t rsA, int64_t csA, const T* B, int64_t bsB, int64_t rsB, int64_t csB, T beta, T* C,
                  int64_t bsC, int64_t rsC, int64_t csC) {
  if (batch <= 0 || M <= 0 || N <= 0) return;
  const int64_t work = M * N * std::max<int64_t>(K, 1);
  const int maxt = omp_in_parallel() ? 1 : omp_get_max_threads();
  // One matrix big enough to keep every thread busy: thread inside each GEMM.
  if (maxt <= 1 || batch == 1 || work >= int64_t(maxt) * 4 * kMinWorkPerThread) {
    for (int64_t b = 0; b < batch; ++b)
      gemm_impl(M, N, K, alpha, A + b * bsA, rsA, csA, B + b * bsB, rsB, csB, beta, C + b * bsC, rsC, csC,
                true);
    return;
  }
  const int64_t nt =
      std::min<int64_t>({int64_t(maxt), batch, std::max<int64_t>(1, work * batch / kMinWorkPerThread)});
  if (nt <= 1) {
    for (int64_t b = 0; b < batch; ++b)
      gemm_impl(M, N, K, alpha, A + b * bsA, rsA, csA, B + b * bsB, rsB, csB, beta, C + b * bsC, rsC, csC,
                false);
    return;
  }
  // Static schedule: each batch entry always lands on the same thread for a given
  // thread count (deterministic, and every entry is computed the same way anyway).
  const InterruptPoll ip;
#pragma omp parallel for num_threads(static_cast<int>(nt)) schedule(static)
  for (int64_t b = 0; b < batch; ++b)
    if (!ip.requested())
      gemm_impl(M, N, K, alpha, A + b * bsA, rsA, csA, B + b * bsB, rsB, csB, beta, C + b * bsC, rsC, csC,
                false);
  ip.check();
}

#define FG_GEMM_INSTANTIATE(T)                                                                              \
  template void gemm<T>(int64_t, int64_t, int64_t, T, const T*, int64_t, int64_t, const T*, int64_t,        \
                        int64_t, T, T*, int64_t, int64_t);                                                  \
  template void gemm_serial<T>(int64_t, int64_t, int64_t, T, const T*, int64_t, int64_t, const T*, int64_t, \
                               int64_t, T, T*, int64_t, int64_t);                                           \
  template void gemm_batched<T>(int64_t, int64_t, int64_t, int64_t, T, const T*, int64_t, int64_t, int64_t, \
                                const T*, int64_t, int64_t, int64_t, T, T*, int64_t, int64_t, int64_t);
FG_GEMM_INSTANTIATE(float)
FG_GEMM_INSTANTIATE(double)
#undef FG_GEMM_INSTANTIATE

}  // namespace fastgrad::kernels
