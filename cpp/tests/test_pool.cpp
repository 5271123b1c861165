// Pooling kernels against naive references with PyTorch's window and divisor rules.
#include <gtest/gtest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "fastgrad/kernels/conv.h"

using fastgrad::kernels::ConvGeom;
namespace K = fastgrad::kernels;

namespace {

struct PCase {
  int nd;
  int64_t N, C;
  std::vector<int64_t> in, k, stride, plo, phi;
};

ConvGeom pool_geom(const PCase& c, bool cl) {
  ConvGeom g;
  g.nd = c.nd;
  g.N = c.N;
  g.C_in = g.C_out = c.C;
  g.channels_last = cl;
  for (int i = 0; i < c.nd; ++i) {
    g.in[i] = c.in[i];
    g.k[i] = c.k[i];
    g.stride[i] = c.stride[i];
    g.pad_lo[i] = c.plo[i];
    g.pad_hi[i] = c.phi[i];
    g.out[i] = (g.in[i] + g.pad_lo[i] + g.pad_hi[i] - g.k[i]) / g.stride[i] + 1;
  }
  return g;
}

// One output element's window along one dim: [lo, hi) inside the input, and the
// divisor factor.
struct Win {
  int64_t lo, hi, cnt;
};
enum class Mode { kMax, kIncl, kExcl, kAdaptive };

Win window(const ConvGeom& g, int d, int64_t o, Mode m) {
  if (m == Mode::kAdaptive) {
    const int64_t lo = static_cast<int64_t>(std::floor(double(o) * g.in[d] / g.out[d]));
    const int64_t hi = static_cast<int64_t>(std::ceil(double(o + 1) * g.in[d] / g.out[d]));
    return {lo, hi, hi - lo};
  }
  const int64_t start = o * g.stride[d] - g.pad_lo[d];
  const int64_t end = std::min(start + g.k[d], g.in[d] + g.pad_hi[d]);
  const int64_t lo = std::max<int64_t>(start, 0), hi = std::min(end, g.in[d]);
  return {lo, std::max(hi, lo), m == Mode::kIncl ? end - start : std::max<int64_t>(hi - lo, 0)};
}

// Visits every output element with the list of (input index, spatial index) in its window.
template <typename F>
void for_each_window(const ConvGeom& g, Mode m, F&& f) {
  int64_t in[3] = {1, 1, 1}, out[3] = {1, 1, 1};
  const int off = 3 - g.nd;
  for (int d = 0; d < g.nd; ++d) {
    in[d + off] = g.in[d];
    out[d + off] = g.out[d];
  }
  const int64_t Pin = in[0] * in[1] * in[2], Pout = out[0] * out[1] * out[2];
  auto win = [&](int d3, int64_t o) { return d3 < off ? Win{0, 1, 1} : window(g, d3 - off, o, m); };
  for (int64_t n = 0; n < g.N; ++n)
    for (int64_t c = 0; c < g.C_in; ++c)
      for (int64_t a = 0; a < out[0]; ++a)
        for (int64_t b = 0; b < out[1]; ++b)
          for (int64_t e = 0; e < out[2]; ++e) {
            const Win wa = win(0, a), wb = win(1, b), we = win(2, e);
            const int64_t po = (a * out[1] + b) * out[2] + e;
            const int64_t yi = g.channels_last ? (n * Pout + po) * g.C_in + c : (n * g.C_in + c) * Pout + po;
            std::vector<std::pair<int64_t, int64_t>> cells;
            for (int64_t i = wa.lo; i < wa.hi; ++i)
              for (int64_t j = wb.lo; j < wb.hi; ++j)
                for (int64_t l = we.lo; l < we.hi; ++l) {
                  const int64_t pi = (i * in[1] + j) * in[2] + l;
                  cells.emplace_back(
                      g.channels_last ? (n * Pin + pi) * g.C_in + c : (n * g.C_in + c) * Pin + pi, pi);
                }
            f(yi, cells, wa.cnt * wb.cnt * we.cnt);
          }
}

int64_t numel_in(const ConvGeom& g) {
  int64_t s = g.N * g.C_in;
  for (int d = 0; d < g.nd; ++d) s *= g.in[d];
  return s;
}
int64_t numel_out(const ConvGeom& g) {
  int64_t s = g.N * g.C_in;
  for (int d = 0; d < g.nd; ++d) s *= g.out[d];
  return s;
}

template <typename T>
std::vector<T> random_vec(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  std::vector<T> v(n);
  for (auto& e : v) e = static_cast<T>(u(rng));
  return v;
}

template <typename T>
void expect_near_rel(const std::vector<T>& got, const std::vector<double>& ref, const char* what) {
  ASSERT_EQ(got.size(), ref.size());
  const double tol = 64 * std::numeric_limits<T>::epsilon();
  int bad = 0;
  for (size_t i = 0; i < got.size(); ++i)
    if (!(std::fabs(got[i] - ref[i]) <= tol * (1 + std::fabs(ref[i]))) && ++bad <= 3)
      ADD_FAILURE() << what << " at " << i << ": got " << got[i] << " want " << ref[i];
  EXPECT_EQ(bad, 0) << what;
}

template <typename T>
void check_max(const ConvGeom& g, unsigned seed) {
  const int64_t nx = numel_in(g), ny = numel_out(g);
  const auto x = random_vec<T>(nx, seed), gy = random_vec<T>(ny, seed + 1);
  std::vector<double> yr(ny), gxr(nx, 0.0);
  std::vector<int64_t> ar(ny);
  for_each_window(g, Mode::kMax, [&](int64_t yi, const auto& cells, int64_t) {
    double m = -std::numeric_limits<double>::infinity();
    int64_t best = -1;
    for (auto [xi, pi] : cells)
      if (best < 0 || x[xi] > m) {
        m = x[xi];
        best = pi;
      }
    yr[yi] = m;
    ar[yi] = best;
  });
  std::vector<T> y(ny, T(7));
  std::vector<int64_t> a(ny, 12345);
  K::maxpool_forward<T>(g, x.data(), y.data(), a.data());
  for (int64_t i = 0; i < ny; ++i) {
    ASSERT_EQ(a[i], ar[i]) << "argmax at " << i;
    ASSERT_EQ(static_cast<double>(y[i]), yr[i]) << "max at " << i;
  }
  // Reference backward routes gy through the reference argmax.
  for_each_window(g, Mode::kMax, [&](int64_t yi, const auto& cells, int64_t) {
    for (auto [xi, pi] : cells)
      if (pi == ar[yi]) gxr[xi] += gy[yi];
  });
  std::vector<T> gx(nx, std::numeric_limits<T>::quiet_NaN());
  K::maxpool_backward<T>(g, gy.data(), a.data(), gx.data());
  expect_near_rel(gx, gxr, "maxpool_backward");
}

template <typename T>
void check_avg(const ConvGeom& g, Mode m, unsigned seed) {
  const int64_t nx = numel_in(g), ny = numel_out(g);
  const auto x = random_vec<T>(nx, seed), gy = random_vec<T>(ny, seed + 1);
  std::vector<double> yr(ny), gxr(nx, 0.0);
  for_each_window(g, m, [&](int64_t yi, const auto& cells, int64_t cnt) {
    double s = 0;
    for (auto [xi, pi] : cells) s += x[xi];
    yr[yi] = s / cnt;
    for (auto [xi, pi] : cells) gxr[xi] += gy[yi] / cnt;
  });
  const T nan = std::numeric_limits<T>::quiet_NaN();
  std::vector<T> y(ny, nan), gx(nx, nan);
  if (m == Mode::kAdaptive) {
    K::adaptive_avgpool_forward<T>(g, x.data(), y.data());
    K::adaptive_avgpool_backward<T>(g, gy.data(), gx.data());
  } else {
    K::avgpool_forward<T>(g, x.data(), y.data(), m == Mode::kIncl);
    K::avgpool_backward<T>(g, gy.data(), gx.data(), m == Mode::kIncl);
  }
  expect_near_rel(y, yr, "avgpool_forward");
  expect_near_rel(gx, gxr, "avgpool_backward");
}

std::vector<PCase> pool_cases() {
  return {
      {1, 2, 3, {10}, {3}, {2}, {1}, {1}},
      {1, 1, 5, {9}, {4}, {3}, {2}, {0}},
      {1, 3, 2, {7}, {2}, {1}, {0}, {1}},  // TF "same" style, pad only high
      {2, 2, 3, {7, 9}, {3, 3}, {2, 2}, {1, 1}, {1, 1}},
      {2, 1, 4, {8, 8}, {2, 2}, {2, 2}, {0, 0}, {0, 0}},
      {2, 3, 5, {11, 6}, {3, 2}, {3, 1}, {0, 1}, {2, 0}},   // asymmetric
      {2, 1, 40, {9, 10}, {3, 3}, {1, 2}, {1, 1}, {1, 2}},  // many channels (channel blocks)
      {2, 2, 19, {5, 5}, {5, 5}, {1, 1}, {2, 2}, {2, 2}},
      {3, 2, 3, {5, 6, 7}, {2, 3, 2}, {2, 1, 2}, {1, 1, 0}, {0, 1, 1}},
      {3, 1, 2, {4, 4, 4}, {2, 2, 2}, {2, 2, 2}, {0, 0, 0}, {0, 0, 0}},
  };
}

class PoolKernel : public ::testing::TestWithParam<int> {};

TEST_P(PoolKernel, MaxAndAvgMatchReference) {
  const PCase c = pool_cases()[GetParam()];
  for (bool cl : {false, true}) {
    const ConvGeom g = pool_geom(c, cl);
    SCOPED_TRACE(std::string(cl ? "NHWC" : "NCHW") + " nd=" + std::to_string(g.nd));
    const unsigned seed = 10 * GetParam() + cl;
    check_max<float>(g, seed);
    check_max<double>(g, seed);
    for (Mode m : {Mode::kIncl, Mode::kExcl}) {
      check_avg<float>(g, m, seed);
      check_avg<double>(g, m, seed);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, PoolKernel, ::testing::Range(0, static_cast<int>(pool_cases().size())));

TEST(PoolKernelAdaptive, MatchesReference) {
  const std::vector<std::pair<std::vector<int64_t>, std::vector<int64_t>>> shapes = {
      {{10}, {3}},     {{7}, {7}}, {{5}, {8}}, {{7, 9}, {3, 4}}, {{6, 6}, {1, 1}}, {{5, 7, 6}, {2, 3, 4}},
      {{3, 3}, {5, 2}}};
  for (const auto& [in, out] : shapes)
    for (bool cl : {false, true}) {
      ConvGeom g;
      g.nd = static_cast<int>(in.size());
      g.N = 2;
      g.C_in = g.C_out = 3;
      g.channels_last = cl;
      for (int d = 0; d < g.nd; ++d) {
        g.in[d] = in[d];
        g.out[d] = out[d];
        g.k[d] = 99;  // must be ignored
      }
      check_avg<float>(g, Mode::kAdaptive, 5);
      check_avg<double>(g, Mode::kAdaptive, 6);
    }
}

// Values PyTorch prints for avg_pool1d / max_pool1d on [1, 2, 3, 4], k=3, s=2, p=1.
TEST(PoolKernelKnown, TorchValues) {
  ConvGeom g;
  g.nd = 1;
  g.in[0] = 4;
  g.k[0] = 3;
  g.stride[0] = 2;
  g.pad_lo[0] = g.pad_hi[0] = 1;
  g.out[0] = 2;
  const float x[4] = {1, 2, 3, 4};
  float y[2];
  K::avgpool_forward<float>(g, x, y, true);
  EXPECT_FLOAT_EQ(y[0], 1.0f);
  EXPECT_FLOAT_EQ(y[1], 3.0f);
  K::avgpool_forward<float>(g, x, y, false);
  EXPECT_FLOAT_EQ(y[0], 1.5f);
  EXPECT_FLOAT_EQ(y[1], 3.0f);
  int64_t a[2];
  K::maxpool_forward<float>(g, x, y, a);
  EXPECT_EQ(y[0], 2.0f);
  EXPECT_EQ(y[1], 4.0f);
  EXPECT_EQ(a[0], 1);
  EXPECT_EQ(a[1], 3);
  // Ties: the first maximum wins; NaN wins over everything.
  const float t[4] = {5, 5, std::nanf(""), 1};
  K::maxpool_forward<float>(g, t, y, a);
  EXPECT_EQ(a[0], 0);
  EXPECT_TRUE(std::isnan(y[1]));
  EXPECT_EQ(a[1], 2);
}

TEST(PoolKernelThreads, SerialAndNestedAgree) {
  const ConvGeom g = pool_geom({2, 3, 33, {20, 17}, {3, 3}, {2, 1}, {1, 1}, {1, 1}}, true);
  const int saved = omp_get_max_threads();
  omp_set_num_threads(1);
  check_avg<float>(g, Mode::kIncl, 3);
  check_max<double>(g, 4);
  omp_set_num_threads(saved);
#pragma omp parallel num_threads(2)
  {
#pragma omp single
    check_max<float>(g, 5);
  }
}

}  // namespace
