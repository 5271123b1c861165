// GEMM timing driver: GFLOP/s of fastgrad::kernels::gemm for the benchmark shapes,
// float and double, on every ISA the machine supports (median of several rounds).
// Build (from the repo root), e.g.:
//   g++ -std=c++17 -O3 -fopenmp -Icpp/include bench/cpp/gemm_bench.cpp <gemm objects> -o gemm_bench
// Prints GFLOP/s of wall time and GFLOP per CPU second (the rate while the threads ran:
// on a shared machine the robust figure to set against bench/cpp/fma_peak.cpp).
// Usage: gemm_bench [isa=all|scalar|avx2|avx512] [type=all|f32|f64] [M N K ...]
#include <omp.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "fastgrad/kernels/dispatch.h"
#include "fastgrad/kernels/gemm.h"

namespace fk = fastgrad::kernels;

// FASTGRAD_BENCH_TRANS_B=1 times A @ B^T with B stored N x K (the x @ W.T of a linear
// layer), which exercises the transposing pack.
const bool g_trans_b = [] {
  const char* e = std::getenv("FASTGRAD_BENCH_TRANS_B");
  return e && *e == '1';
}();

// CPU seconds of this process (all threads): on a shared machine, flops per CPU second
// is the rate while the threads actually ran, unaffected by time slices lost to others.
double cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

struct Rate {
  double wall, per_cpu;  // GFLOP/s of wall time (best round); GFLOP per CPU second (best round)
};

template <typename T>
Rate bench(int64_t M, int64_t N, int64_t K, int rounds) {
  std::vector<T> A(size_t(M * K)), B(size_t(K * N)), C(size_t(M * N));
  std::mt19937 rng(0);
  std::uniform_real_distribution<float> d(-1, 1);
  for (T& x : A) x = d(rng);
  for (T& x : B) x = d(rng);
  auto run = [&] {
    if (g_trans_b)
      fk::gemm<T>(M, N, K, T(1), A.data(), K, 1, B.data(), 1, K, T(0), C.data(), N, 1);
    else
      fk::gemm<T>(M, N, K, T(1), A.data(), K, 1, B.data(), N, 1, T(0), C.data(), N, 1);
  };
  run();
  const double flop = 2.0 * double(M) * double(N) * double(K);
  const int reps = std::max(1, int(2e9 / flop));  // ~10-20 ms per round at full speed
  std::vector<double> t, c;
  for (int r = 0; r < rounds; ++r) {
    const double c0 = cpu_seconds();
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < reps; ++i) run();
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / reps);
    c.push_back((cpu_seconds() - c0) / reps);
  }
  std::sort(t.begin(), t.end());
  std::sort(c.begin(), c.end());
  // Best round: the machine is shared, and other processes only ever slow a round down.
  return {flop / t[0] / 1e9, flop / c[0] / 1e9};
}

int main(int argc, char** argv) {
  std::string isa_arg = argc > 1 ? argv[1] : "all", type_arg = argc > 2 ? argv[2] : "all";
  std::vector<int64_t> shapes;
  for (int i = 3; i + 2 < argc; i += 3)
    for (int j = 0; j < 3; ++j) shapes.push_back(std::atoll(argv[i + j]));
  if (shapes.empty())
    shapes = {512, 512, 512, 1024, 1024, 1024, 2048, 2048, 2048, 128, 512,
              784, 32,  64,  3,    64,   64,   64,   256,  256,  256};
  std::printf("threads=%d%s\n%-8s %-6s %6s %6s %6s %10s %12s\n", omp_get_max_threads(),
              g_trans_b ? " B transposed" : "", "isa", "type", "M", "N", "K", "GFLOP/s", "GFLOP/cpu-s");
  for (fk::Isa isa : {fk::Isa::Avx512, fk::Isa::Avx2, fk::Isa::Scalar}) {
    if (!fk::isa_supported(isa) || (isa_arg != "all" && isa_arg != fk::isa_name(isa))) continue;
    fk::set_isa(isa);
    for (int ti = 0; ti < 2; ++ti) {
      if (type_arg != "all" && type_arg != (ti == 0 ? "f32" : "f64")) continue;
      for (size_t s = 0; s < shapes.size(); s += 3) {
        const int64_t M = shapes[s], N = shapes[s + 1], K = shapes[s + 2];
        const Rate g = ti == 0 ? bench<float>(M, N, K, 7) : bench<double>(M, N, K, 7);
        std::printf("%-8s %-6s %6lld %6lld %6lld %10.1f %12.1f\n", fk::isa_name(isa), ti == 0 ? "f32" : "f64",
                    (long long)M, (long long)N, (long long)K, g.wall, g.per_cpu);
        std::fflush(stdout);
      }
    }
  }
}
