// kernels/index called directly: index_select and index_add against naive loops over
// (outer, axis, inner) blocks, with negative and repeated indices, strided sources (inner
// stride != 1, transposed blocks), empty sizes, the threaded path; first_out_of_bounds.
#include <gtest/gtest.h>

#include <array>
#include <limits>

#include "../src/kernels/index/index.h"
#include "kernel_test_util.h"

namespace fk = fastgrad::kernels;

namespace {

struct Case {
  int64_t outer, dim, inner, n;
  bool transposed;  // source blocks laid out (inner, axis, outer) instead of row-major
};

std::vector<Case> cases() {
  return {{2, 5, 3, 4, false}, {1, 7, 1, 9, false},     {3, 4, 6, 2, true},
          {4, 3, 5, 6, true},  {0, 4, 3, 2, false},     {2, 4, 0, 3, false},
          {2, 4, 3, 0, false}, {64, 50, 40, 30, false}, {64, 50, 40, 30, true}};
}

std::vector<int64_t> indices(int64_t n, int64_t dim, uint32_t seed) {
  auto v = kt::random_buffer<int64_t>(n, seed, -dim, dim - 1);  // negative ones count from the end
  if (n > 1) v[1] = v[0];                                       // at least one repeat
  return v;
}

// Strides (outer, axis, inner) of a block of sizes (o, a, i).
std::array<int64_t, 3> block_strides(int64_t o, int64_t a, int64_t i, bool transposed) {
  if (transposed) return {1, o, o * a};
  return {a * i, i, 1};
}

template <typename T>
void check_select(const Case& c) {
  SCOPED_TRACE(::testing::Message() << c.outer << "," << c.dim << "," << c.inner << " n=" << c.n
                                    << (c.transposed ? " transposed" : ""));
  const auto st = block_strides(c.outer, c.dim, c.inner, c.transposed);
  const auto src = kt::random_buffer<T>(std::max<int64_t>(c.outer * c.dim * c.inner, 1), 11);
  const auto idx = indices(c.n, c.dim, 12);
  std::vector<T> out(size_t(std::max<int64_t>(c.outer * c.n * c.inner, 1)), T(-5));
  fk::index_select<T>(src.data(), st.data(), c.outer, c.dim, c.inner, idx.data(), c.n, out.data());
  for (int64_t a = 0; a < c.outer; ++a)
    for (int64_t j = 0; j < c.n; ++j) {
      const int64_t k = idx[size_t(j)] < 0 ? idx[size_t(j)] + c.dim : idx[size_t(j)];
      for (int64_t i = 0; i < c.inner; ++i)
        ASSERT_EQ(out[size_t((a * c.n + j) * c.inner + i)], src[size_t(a * st[0] + k * st[1] + i * st[2])]);
    }
}

template <typename T>
void check_add(const Case& c) {
  SCOPED_TRACE(::testing::Message() << c.outer << "," << c.dim << "," << c.inner << " n=" << c.n
                                    << (c.transposed ? " transposed" : ""));
  const auto st = block_strides(c.outer, c.n, c.inner, c.transposed);
  const auto src = kt::random_buffer<T>(std::max<int64_t>(c.outer * c.n * c.inner, 1), 13);
  const auto idx = indices(c.n, c.dim, 14);
  const size_t nout = size_t(std::max<int64_t>(c.outer * c.dim * c.inner, 1));
  std::vector<T> out = kt::random_buffer<T>(int64_t(nout), 15), want = out;
  fk::index_add<T>(src.data(), st.data(), c.outer, c.n, c.inner, idx.data(), c.dim, out.data());
  for (int64_t a = 0; a < c.outer; ++a)
    for (int64_t j = 0; j < c.n; ++j) {  // ascending j: the kernel's summation order
      const int64_t k = idx[size_t(j)] < 0 ? idx[size_t(j)] + c.dim : idx[size_t(j)];
      for (int64_t i = 0; i < c.inner; ++i)
        want[size_t((a * c.dim + k) * c.inner + i)] += src[size_t(a * st[0] + j * st[1] + i * st[2])];
    }
  for (size_t i = 0; i < nout; ++i) ASSERT_EQ(out[i], want[i]) << "at " << i;
}

}  // namespace

TEST(IndexKernels, SelectMatchesNaiveLoop) {
  for (const auto& c : cases()) {
    check_select<float>(c);
    check_select<double>(c);
    check_select<int64_t>(c);
  }
}

TEST(IndexKernels, SelectBool) {
  const bool src[6] = {true, false, false, true, true, false};
  const int64_t st[3] = {3, 1, 1}, idx[2] = {-1, 0};
  bool out[4];
  fk::index_select<bool>(src, st, 2, 3, 1, idx, 2, out);
  EXPECT_EQ(out[0], false);
  EXPECT_EQ(out[1], true);
  EXPECT_EQ(out[2], false);
  EXPECT_EQ(out[3], true);
}

TEST(IndexKernels, AddMatchesNaiveLoop) {
  for (const auto& c : cases()) {
    check_add<float>(c);
    check_add<double>(c);
    check_add<int64_t>(c);
  }
}

TEST(IndexKernels, AddInt64Wraps) {
  const int64_t src[2] = {std::numeric_limits<int64_t>::max(), 1}, st[3] = {2, 1, 1}, idx[2] = {0, 0};
  int64_t out[1] = {0};
  fk::index_add<int64_t>(src, st, 1, 2, 1, idx, 1, out);
  EXPECT_EQ(out[0], std::numeric_limits<int64_t>::min());
}

TEST(IndexKernels, FirstOutOfBounds) {
  const int64_t idx[5] = {0, -3, 2, 3, -4};
  EXPECT_EQ(fk::first_out_of_bounds(idx, 3, 3), -1);
  EXPECT_EQ(fk::first_out_of_bounds(idx, 5, 3), 3);
  EXPECT_EQ(fk::first_out_of_bounds(idx + 4, 1, 3), 0);
  EXPECT_EQ(fk::first_out_of_bounds(idx, 0, 0), -1);
  EXPECT_EQ(fk::first_out_of_bounds(idx, 1, 0), 0);  // nothing is in bounds of an empty axis
}

TEST(IndexKernels, NonzeroPositions) {
  std::vector<uint8_t> m(70000, 0);                                    // more than one interrupt piece
  for (size_t i = 0; i < m.size(); i += 7) m[i] = uint8_t(1 + i % 3);  // any nonzero byte counts
  const int64_t c = fk::count_nonzero(m.data(), int64_t(m.size()));
  EXPECT_EQ(c, int64_t((m.size() + 6) / 7));
  std::vector<int64_t> pos(size_t(c) + 1, -1);
  fk::nonzero_positions(m.data(), int64_t(m.size()), pos.data(), c);
  for (int64_t j = 0; j < c; ++j) ASSERT_EQ(pos[size_t(j)], 7 * j);
  EXPECT_EQ(pos[size_t(c)], -1);  // nothing past cap
  pos.assign(pos.size(), -5);
  fk::nonzero_positions(m.data(), int64_t(m.size()), pos.data(), 2);
  EXPECT_EQ(pos[1], 7);
  EXPECT_EQ(pos[2], -5);  // cap 2: nothing written past it
  EXPECT_EQ(fk::count_nonzero(m.data(), 0), 0);
}
