// kernels/sort unique_rows called directly: sorted and consecutive runs of the rows of an
// n x m matrix against a reference built on std::map (lexicographic order of std::vector)
// and a plain neighbour scan, for float, double, int64 and bool, with single values
// (m = 1), wide rows, no rows, and NaN (a row holding one equals no other and sorts last).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <vector>

#include "../src/kernels/sort/sort.h"
#include "kernel_test_util.h"

namespace fk = fastgrad::kernels;

namespace {

struct Runs {
  std::vector<int64_t> rep, inverse, counts;
};

// The kernel on a T copy of x (the references read x as double: exact for these small values,
// and no std::vector<bool>, which has no data()).
template <typename T>
Runs run_kernel(const std::vector<double>& x, int64_t n, int64_t m, bool sort) {
  std::unique_ptr<T[]> buf(new T[x.size() + 1]);
  for (size_t i = 0; i < x.size(); ++i) buf[i] = static_cast<T>(x[i]);
  Runs r{std::vector<int64_t>(n, -1), std::vector<int64_t>(n, -1), std::vector<int64_t>(n, -1)};
  const int64_t u = fk::unique_rows(buf.get(), n, m, sort, r.rep.data(), r.inverse.data(), r.counts.data());
  r.rep.resize(u);
  r.counts.resize(u);
  return r;
}

std::vector<double> row(const std::vector<double>& x, int64_t r, int64_t m) {
  return std::vector<double>(x.begin() + r * m, x.begin() + (r + 1) * m);
}

// NaN-free rows: distinct rows in lexicographic order, each represented by its first occurrence.
Runs sorted_reference(const std::vector<double>& x, int64_t n, int64_t m) {
  std::map<std::vector<double>, std::vector<int64_t>> rows;
  for (int64_t r = 0; r < n; ++r) rows[row(x, r, m)].push_back(r);
  Runs want{{}, std::vector<int64_t>(n), {}};
  for (const auto& [key, members] : rows) {
    for (int64_t r : members) want.inverse[r] = static_cast<int64_t>(want.rep.size());
    want.rep.push_back(members.front());
    want.counts.push_back(static_cast<int64_t>(members.size()));
  }
  return want;
}

Runs consecutive_reference(const std::vector<double>& x, int64_t n, int64_t m) {
  Runs want{{}, std::vector<int64_t>(n), {}};
  for (int64_t r = 0; r < n; ++r) {
    if (r == 0 || row(x, r, m) != row(x, r - 1, m)) {
      want.rep.push_back(r);
      want.counts.push_back(0);
    }
    want.counts.back() += 1;
    want.inverse[r] = static_cast<int64_t>(want.rep.size()) - 1;
  }
  return want;
}

// Rows of few distinct entries (0/1 for bool, else three values; negative ones for signed
// types), some copied from earlier rows (repeats) or the previous one (runs).
std::vector<double> repeating(int64_t n, int64_t m, uint32_t seed, int64_t levels, double offset) {
  auto x = kt::random_buffer<int64_t>(n * m, seed, 0, static_cast<double>(levels - 1));
  std::vector<double> v(x.size());
  for (size_t i = 0; i < x.size(); ++i) v[i] = static_cast<double>(x[i]) + offset;
  auto pick = kt::random_buffer<int64_t>(n, seed + 1, 0, 3);
  for (int64_t r = 1; r < n; ++r) {
    const int64_t from = pick[r] == 0 ? r - 1 : pick[r] == 1 ? r / 2 : r;
    for (int64_t k = 0; k < m; ++k) v[r * m + k] = v[from * m + k];
  }
  return v;
}

void expect_runs(const Runs& got, const Runs& want) {
  EXPECT_EQ(got.rep, want.rep);
  EXPECT_EQ(got.inverse, want.inverse);
  EXPECT_EQ(got.counts, want.counts);
}

template <typename T>
void check_against_reference(int64_t levels, double offset) {
  const std::vector<std::pair<int64_t, int64_t>> shapes = {{1, 1},   {9, 1},  {7, 3}, {40, 2},
                                                           {300, 5}, {5, 64}, {0, 3}};
  for (auto [n, m] : shapes)
    for (uint32_t seed = 0; seed < 3; ++seed) {
      SCOPED_TRACE(::testing::Message() << "n=" << n << " m=" << m << " seed=" << seed);
      const auto x = repeating(n, m, seed, levels, offset);
      expect_runs(run_kernel<T>(x, n, m, true), sorted_reference(x, n, m));
      expect_runs(run_kernel<T>(x, n, m, false), consecutive_reference(x, n, m));
    }
}

}  // namespace

TEST(SortKernels, UniqueRowsFloat) { check_against_reference<float>(3, -1.5); }
TEST(SortKernels, UniqueRowsDouble) { check_against_reference<double>(3, -0.5); }
TEST(SortKernels, UniqueRowsInt64) { check_against_reference<int64_t>(3, -1); }
TEST(SortKernels, UniqueRowsBool) { check_against_reference<bool>(2, 0); }

TEST(SortKernels, UniqueRowsNaN) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  // rows: [1, nan], [0, 2], [1, nan], [0, 2], [nan, 0]
  const std::vector<double> x = {1, nan, 0, 2, 1, nan, 0, 2, nan, 0};
  // sorted: [0, 2] x2, then [1, nan] twice (never merged, input order), then [nan, 0] last
  expect_runs(run_kernel<double>(x, 5, 2, true), Runs{{1, 0, 2, 4}, {1, 0, 2, 0, 3}, {2, 1, 1, 1}});
  // consecutive: no two neighbours are equal
  expect_runs(run_kernel<double>(x, 5, 2, false), Runs{{0, 1, 2, 3, 4}, {0, 1, 2, 3, 4}, {1, 1, 1, 1, 1}});
  // single values: each NaN its own value, after every number
  const std::vector<double> v = {nan, 3, nan, -1, 3};
  expect_runs(run_kernel<double>(v, 5, 1, true), Runs{{3, 1, 0, 2}, {2, 1, 3, 0, 1}, {1, 2, 1, 1}});
}
