// kernels/index/key.h called directly, against the obvious definitions.
#include <gtest/gtest.h>

#include <vector>

#include "../src/kernels/index/key.h"

using namespace fastgrad::kernels;

TEST(IndexKeyKernels, LinearIndexWrapsNegativesAndStopsAtTheFirstOutOfBounds) {
  std::vector<int64_t> lin = {0, 1, 2};
  const std::vector<int64_t> v = {-1, 0, 2};
  EXPECT_EQ(accumulate_linear_index(v.data(), 3, 3, lin.data()), -1);
  EXPECT_EQ(lin, (std::vector<int64_t>{2, 3, 8}));  // lin * 3 + (v wrapped)
  const std::vector<int64_t> bad = {1, -4, 0};
  EXPECT_EQ(accumulate_linear_index(bad.data(), 3, 3, lin.data()), 1);
  const std::vector<int64_t> hi = {3};
  EXPECT_EQ(accumulate_linear_index(hi.data(), 1, 3, lin.data()), 0);
  EXPECT_EQ(accumulate_linear_index(nullptr, 0, 3, nullptr), -1);
}

TEST(IndexKeyKernels, ArithmeticPositions) {
  std::vector<int64_t> out(4);
  arithmetic_positions(7, -2, 4, out.data());
  EXPECT_EQ(out, (std::vector<int64_t>{7, 5, 3, 1}));
}

TEST(IndexKeyKernels, LastWriteWinsAndPositionsAscend) {
  const std::vector<int64_t> pos = {4, 1, 4, 0, 1};
  std::vector<int64_t> last(6), uniq(6), keep(6);
  std::vector<uint8_t> mask(6);
  const int64_t u = last_writes(pos.data(), 5, 6, last.data(), uniq.data(), keep.data(), mask.data());
  ASSERT_EQ(u, 3);
  EXPECT_EQ(std::vector<int64_t>(uniq.begin(), uniq.begin() + u), (std::vector<int64_t>{0, 1, 4}));
  EXPECT_EQ(std::vector<int64_t>(keep.begin(), keep.begin() + u), (std::vector<int64_t>{3, 4, 2}));
  EXPECT_EQ(mask, (std::vector<uint8_t>{1, 1, 0, 0, 1, 0}));
}

TEST(IndexKeyKernels, StridedOffsetsOfATransposedSlice) {
  // A (3, 2) view of a (2, 4) row-major buffer, transposed, starting at element 1.
  const int64_t shape[2] = {3, 2}, strides[2] = {1, 4};
  std::vector<int64_t> out(6);
  strided_offsets(shape, strides, 2, 1, out.data());
  EXPECT_EQ(out, (std::vector<int64_t>{1, 5, 2, 6, 3, 7}));
  int64_t scalar = -1;
  strided_offsets(nullptr, nullptr, 0, 9, &scalar);  // 0-d: one element at the offset
  EXPECT_EQ(scalar, 9);
  const int64_t empty_shape[2] = {0, 5}, st[2] = {5, 1};
  strided_offsets(empty_shape, st, 2, 0, nullptr);  // no element, no write
}

TEST(IndexKeyKernels, ScatterElementsInOrder) {
  std::vector<double> dst(5, 0.0);
  const std::vector<double> src = {1.5, 2.5, 3.5};
  const std::vector<int64_t> at = {4, 0, 4};
  scatter_elements(reinterpret_cast<char*>(dst.data()), at.data(), 3,
                   reinterpret_cast<const char*>(src.data()), sizeof(double));
  EXPECT_EQ(dst, (std::vector<double>{2.5, 0, 0, 0, 3.5}));
}
