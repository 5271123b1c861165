// kernels/softmax called directly: softmax and log-softmax rows against a double-precision
// reference, padded (strided) rows, in-place use, empty sizes, the threaded path and the
// -inf / +inf / NaN rows.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "../src/kernels/softmax/softmax.h"
#include "kernel_test_util.h"

namespace fk = fastgrad::kernels;

namespace {

template <typename T>
void reference(bool log, const T* a, int64_t n, double* out) {
  double m = -INFINITY;
  for (int64_t i = 0; i < n; ++i) m = std::max(m, double(a[i]));
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += std::exp(double(a[i]) - m);
  for (int64_t i = 0; i < n; ++i)
    out[i] = log ? (double(a[i]) - m) - std::log(s) : std::exp(double(a[i]) - m) / s;
}

template <typename T>
void check(bool log, int64_t rows, int64_t n, int64_t xs, int64_t ys, double tol) {
  SCOPED_TRACE(::testing::Message() << (log ? "log_softmax " : "softmax ") << rows << "x" << n << " strides "
                                    << xs << "," << ys);
  const auto x = kt::random_buffer<T>(std::max<int64_t>(rows * xs, 1), uint32_t(rows * 7 + n), -20, 20);
  std::vector<T> y(static_cast<size_t>(std::max<int64_t>(rows * ys, 1)), T(-99));
  if (log)
    fk::log_softmax_rows<T>(x.data(), xs, y.data(), ys, rows, n);
  else
    fk::softmax_rows<T>(x.data(), xs, y.data(), ys, rows, n);
  std::vector<double> want(static_cast<size_t>(n));
  for (int64_t r = 0; r < rows; ++r) {
    reference<T>(log, x.data() + r * xs, n, want.data());
    for (int64_t i = 0; i < n; ++i)
      EXPECT_NEAR(double(y[size_t(r * ys + i)]), want[size_t(i)], tol * (1 + std::abs(want[size_t(i)])))
          << r << "," << i;
    for (int64_t i = n; i < ys; ++i) EXPECT_EQ(y[size_t(r * ys + i)], T(-99)) << "padding written";
  }
}

}  // namespace

TEST(SoftmaxKernels, MatchesReference) {
  for (bool log : {false, true}) {
    check<float>(log, 5, 7, 7, 7, 1e-6);
    check<double>(log, 5, 7, 7, 7, 1e-13);
    check<float>(log, 3, 10, 16, 12, 1e-6);         // padded rows in and out
    check<double>(log, 600, 100, 100, 100, 1e-13);  // threaded
    check<float>(log, 1, 1, 1, 1, 1e-7);
    check<double>(log, 0, 5, 5, 5, 0);  // no rows
    check<double>(log, 4, 0, 3, 3, 0);  // empty rows: nothing written
  }
}

TEST(SoftmaxKernels, InPlace) {
  std::vector<double> x{1.0, 2.0, 3.0, -1.0, 0.0, 1.0};
  std::vector<double> want(6);
  reference<double>(false, x.data(), 3, want.data());
  reference<double>(false, x.data() + 3, 3, want.data() + 3);
  fk::softmax_rows<double>(x.data(), 3, x.data(), 3, 2, 3);
  for (size_t i = 0; i < 6; ++i) EXPECT_NEAR(x[i], want[i], 1e-15);
}

TEST(SoftmaxKernels, LogSoftmaxKeepsLargeLogitsExact) {
  // x - (m + log s) would round log(2) away at 3e4 in float; (x - m) - log s keeps it.
  const std::vector<float> x{30000.f, 30000.f};
  std::vector<float> y(2);
  fk::log_softmax_rows<float>(x.data(), 2, y.data(), 2, 1, 2);
  EXPECT_FLOAT_EQ(y[0], -std::log(2.f));
  EXPECT_FLOAT_EQ(y[1], -std::log(2.f));
}

TEST(SoftmaxKernels, NonFiniteRows) {
  const float inf = std::numeric_limits<float>::infinity();
  const std::vector<float> x{-inf, -inf, inf, 1.f, NAN, 1.f, -inf, 0.f};
  std::vector<float> y(8);
  fk::softmax_rows<float>(x.data(), 2, y.data(), 2, 4, 2);
  EXPECT_TRUE(std::isnan(y[0]) && std::isnan(y[1]));  // all -inf: NaN (PyTorch)
  EXPECT_TRUE(std::isnan(y[2]));                      // +inf max: inf - inf
  EXPECT_TRUE(std::isnan(y[4]) && std::isnan(y[5]));  // NaN spreads over the row
  EXPECT_EQ(y[6], 0.f);
  EXPECT_EQ(y[7], 1.f);
  fk::log_softmax_rows<float>(x.data(), 2, y.data(), 2, 4, 2);
  EXPECT_EQ(y[6], -inf);
  EXPECT_EQ(y[7], 0.f);
}
