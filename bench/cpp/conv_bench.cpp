// Convolution forward + backward (grad-input + grad-weight) timings, float32, 3x3,
// padding 1, stride 1, for the shapes of the "Fast CPU kernels" issue, both layouts.
// Prints the median of rounds per phase and fwd+bwd next to the reference numbers
// measured for PyTorch and JAX on this machine (2 threads).
//
// Build (example): g++ -std=c++17 -O2 -fopenmp -Icpp/include bench/cpp/conv_bench.cpp
//   cpp/src/kernels/conv/*.cpp <gemm objects> -o conv_bench
// Usage: conv_bench [rounds]
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "fastgrad/kernels/conv.h"

namespace K = fastgrad::kernels;

namespace {

struct Shape {
  int64_t B, C_in, HW, C_out;
  double torch_ms, jax_ms;  // fwd + bwd, reference measurements
};

double now_ms() {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

template <typename F>
double median_ms(int rounds, F&& f) {
  f();  // warm-up: buffers grow, pages fault in
  std::vector<double> t;
  for (int r = 0; r < rounds; ++r) {
    const double t0 = now_ms();
    f();
    t.push_back(now_ms() - t0);
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const int rounds = argc > 1 ? std::atoi(argv[1]) : 15;
  const Shape shapes[] = {{64, 3, 32, 32, 22.9, 8.0}, {32, 32, 32, 64, 31.0, 27.5}, {32, 64, 16, 128, 18.6, 21.0}};
  std::printf("threads=%d rounds=%d (median ms)\n", omp_get_max_threads(), rounds);
  std::printf("%-22s %-5s %8s %8s %8s %9s %8s %8s %7s\n", "shape (B,Cin,HW,Cout)", "lay", "fwd", "gin", "gw",
              "fwd+bwd", "torch", "jax", "ratio");
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  for (const Shape& s : shapes)
    for (bool cl : {false, true}) {
      K::ConvGeom g;
      g.nd = 2;
      g.N = s.B;
      g.C_in = s.C_in;
      g.C_out = s.C_out;
      g.channels_last = cl;
      for (int d = 0; d < 2; ++d) {
        g.in[d] = g.out[d] = s.HW;
        g.k[d] = 3;
        g.pad_lo[d] = g.pad_hi[d] = 1;
      }
      const size_t nx = s.B * s.C_in * s.HW * s.HW, ny = s.B * s.C_out * s.HW * s.HW, nw = s.C_out * s.C_in * 9;
      std::vector<float> x(nx), w(nw), b(s.C_out), y(ny), gy(ny), gx(nx), gw(nw);
      for (auto* v : {&x, &w, &b, &gy})
        for (auto& e : *v) e = u(rng);
      const double tf = median_ms(rounds, [&] { K::conv_forward<float>(g, x.data(), w.data(), b.data(), y.data()); });
      const double ti = median_ms(rounds, [&] { K::conv_grad_input<float>(g, gy.data(), w.data(), gx.data()); });
      const double tw = median_ms(rounds, [&] { K::conv_grad_weight<float>(g, x.data(), gy.data(), gw.data()); });
      const double tall = median_ms(rounds, [&] {
        K::conv_forward<float>(g, x.data(), w.data(), b.data(), y.data());
        K::conv_grad_input<float>(g, gy.data(), w.data(), gx.data());
        K::conv_grad_weight<float>(g, x.data(), gy.data(), gw.data());
      });
      const double best = std::min(s.torch_ms, s.jax_ms);
      char name[64];
      std::snprintf(name, sizeof name, "(%ld,%ld,%ld,%ld)", static_cast<long>(s.B), static_cast<long>(s.C_in),
                    static_cast<long>(s.HW), static_cast<long>(s.C_out));
      std::printf("%-22s %-5s %8.2f %8.2f %8.2f %9.2f %8.1f %8.1f %6.2fx\n", name, cl ? "NHWC" : "NCHW", tf, ti, tw,
                  tall, s.torch_ms, s.jax_ms, best / tall);
    }
  return 0;
}
