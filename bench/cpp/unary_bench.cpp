// Unary kernel throughput: 4M float32 elements per op and per ISA, plus the GELU
// training pair (forward Gelu pass + fused gelu_backward pass), in ms (best of N) and
// GB/s of compulsory traffic. Build from the repo root with the library (fastgrad_core)
// or directly: compile unary_avx2.cpp with -mavx2 -mfma, unary_avx512.cpp with
// -mavx512f -mavx512bw -mavx512dq -mavx512vl -mavx2 -mfma, and link them with unary.cpp,
// unary_scalar.cpp, dispatch.cpp and this file (-fopenmp). Threads: OMP_NUM_THREADS.
// Usage: unary_bench [n=4194304] [reps=30]
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <vector>

#include "fastgrad/kernels/dispatch.h"
#include "fastgrad/kernels/unary.h"

namespace fk = fastgrad::kernels;
using fk::UnaryOp;

namespace {

template <class F>
double best_ms(F f, int reps) {
  f();  // warm-up: page faults, thread pool start
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    const auto t1 = std::chrono::steady_clock::now();
    best = std::min(best, std::chrono::duration<double, std::milli>(t1 - t0).count());
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  const int64_t n = argc > 1 ? std::atoll(argv[1]) : (int64_t{1} << 22);
  const int reps = argc > 2 ? std::atoi(argv[2]) : 30;
  std::vector<float> x(n), y(n), g(n), gx(n);
  for (int64_t i = 0; i < n; ++i) {
    x[i] = -6.0f + 12.0f * static_cast<float>((i * 7919) % n) / static_cast<float>(n);
    g[i] = 1.0f + 1e-3f * static_cast<float>(i % 100);
  }
  const struct { UnaryOp op; const char* name; } ops[] = {
      {UnaryOp::Exp, "exp"},           {UnaryOp::Log, "log"},
      {UnaryOp::Tanh, "tanh"},         {UnaryOp::Sigmoid, "sigmoid"},
      {UnaryOp::Erf, "erf"},           {UnaryOp::Gelu, "gelu"},
      {UnaryOp::GeluTanh, "gelu_tanh"}, {UnaryOp::GeluDeriv, "gelu_deriv"},
      {UnaryOp::GeluTanhDeriv, "gelu_tanh_deriv"}, {UnaryOp::Silu, "silu"},
      {UnaryOp::Softplus, "softplus"}};
  std::printf("n = %lld float32, threads = %d, best of %d\n", static_cast<long long>(n), omp_get_max_threads(), reps);
  std::printf("%-22s", "op");
  std::vector<fk::Isa> isas;
  for (fk::Isa i : {fk::Isa::Scalar, fk::Isa::Avx2, fk::Isa::Avx512})
    if (fk::isa_supported(i)) {
      isas.push_back(i);
      std::printf("%18s", fk::isa_name(i));
    }
  std::printf("   (ms, GB/s)\n");
  const double mb1 = 8.0 * n / 1e6;  // read x + write y
  for (const auto& o : ops) {
    std::printf("%-22s", o.name);
    for (fk::Isa isa : isas) {
      fk::set_isa(isa);
      const double ms = best_ms([&] { fk::unary(o.op, x.data(), y.data(), n); }, reps);
      std::printf("%10.3f %6.1f ", ms, mb1 / ms);
    }
    std::printf("\n");
  }
  for (bool tanh_approx : {false, true}) {
    std::printf("%-22s", tanh_approx ? "gelu_tanh fwd+bwd" : "gelu fwd+bwd");
    for (fk::Isa isa : isas) {
      fk::set_isa(isa);
      const UnaryOp fwd = tanh_approx ? UnaryOp::GeluTanh : UnaryOp::Gelu;
      const double ms = best_ms(
          [&] {
            fk::unary(fwd, x.data(), y.data(), n);
            fk::gelu_backward(tanh_approx, x.data(), g.data(), gx.data(), n);
          },
          reps);
      std::printf("%10.3f %6.1f ", ms, (mb1 + 12.0 * n / 1e6) / ms);
    }
    std::printf("\n");
  }
  return 0;
}
