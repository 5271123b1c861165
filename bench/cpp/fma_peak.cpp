// Per-core FMA peak: a tight loop of independent vector FMAs (16 chains cover latency x
// cover latency x throughput), timed on one thread. Prints GFLOP/s per core for
// 512-bit (AVX-512F) and 256-bit (AVX2+FMA) float FMAs and the implied FMA issue rate
// (FMAs per cycle need the clock, which this does not assume: compare GFLOP/s directly
// with a GEMM's single-thread GFLOP/s).
// Build: g++ -std=c++17 -O2 -mavx512f -mavx512vl -mfma bench/cpp/fma_peak.cpp -o fma_peak
#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include <time.h>

static double cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

template <class V, V (*Fma)(V, V, V), V (*Set)(float)>
__attribute__((noinline)) double run(long iters, float* sink, double* per_cpu) {
  // 16 chains: latency 4 x 2 pipes = 8 needed; 16 leaves headroom.
  V a0 = Set(1.0f), a1 = Set(1.1f), a2 = Set(1.2f), a3 = Set(1.3f), a4 = Set(1.4f), a5 = Set(1.5f),
    a6 = Set(1.6f), a7 = Set(1.7f), a8 = Set(1.8f), a9 = Set(1.9f), a10 = Set(2.0f), a11 = Set(2.1f),
    a12 = Set(2.2f), a13 = Set(2.3f), a14 = Set(2.4f), a15 = Set(2.5f);
  const V m = Set(0.999999f), c = Set(1e-7f);
  const double c0 = cpu_seconds();
  auto t0 = std::chrono::steady_clock::now();
  for (long i = 0; i < iters; ++i) {
    a0 = Fma(a0, m, c);
    a1 = Fma(a1, m, c);
    a2 = Fma(a2, m, c);
    a3 = Fma(a3, m, c);
    a4 = Fma(a4, m, c);
    a5 = Fma(a5, m, c);
    a6 = Fma(a6, m, c);
    a7 = Fma(a7, m, c);
    a8 = Fma(a8, m, c);
    a9 = Fma(a9, m, c);
    a10 = Fma(a10, m, c);
    a11 = Fma(a11, m, c);
    a12 = Fma(a12, m, c);
    a13 = Fma(a13, m, c);
    a14 = Fma(a14, m, c);
    a15 = Fma(a15, m, c);
    __asm__ volatile("" : "+v"(a0), "+v"(a1), "+v"(a2), "+v"(a3), "+v"(a4), "+v"(a5), "+v"(a6), "+v"(a7));
    __asm__ volatile(""
                     : "+v"(a8), "+v"(a9), "+v"(a10), "+v"(a11), "+v"(a12), "+v"(a13), "+v"(a14), "+v"(a15));
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double cs = cpu_seconds() - c0;
  V sum = a0;
  for (V v : {a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13, a14, a15}) sum = Fma(sum, m, v);
  float tmp[16];
  std::copy_n(reinterpret_cast<float*>(&sum), sizeof(V) / 4, tmp);
  *sink += tmp[0];
  const double flop = 16.0 * double(iters) * double(sizeof(V) / 4) * 2;
  *per_cpu = flop / cs / 1e9;
  return flop / s / 1e9;
}

static __m512 f512(__m512 a, __m512 b, __m512 c) { return _mm512_fmadd_ps(a, b, c); }
static __m512 s512(float x) { return _mm512_set1_ps(x); }
static __m256 f256(__m256 a, __m256 b, __m256 c) { return _mm256_fmadd_ps(a, b, c); }
static __m256 s256(float x) { return _mm256_set1_ps(x); }

int main() {
  float sink = 0;
  const long iters = 50'000'000;
  for (int w : {512, 256}) {
    std::vector<double> g, c;
    for (int r = 0; r < 7; ++r) {
      double pc;
      g.push_back(w == 512 ? run<__m512, f512, s512>(iters, &sink, &pc)
                           : run<__m256, f256, s256>(iters, &sink, &pc));
      c.push_back(pc);
    }
    std::sort(g.begin(), g.end());
    std::sort(c.begin(), c.end());
    std::printf(
        "%d-bit fp32 FMA peak, 1 thread: best %.1f GFLOP/s wall, %.1f GFLOP per CPU second (median %.1f)\n",
        w, g.back(), c.back(), c[3]);
  }
  return sink == 12345.f;
}
