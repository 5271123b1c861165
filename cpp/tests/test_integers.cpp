// int64 exactness and defined behaviour (issue 10): these run under ASan+UBSan in CI, so
// a float->int64 cast of NaN/inf or a signed overflow in an integer kernel fails here.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "fastgrad/ops.h"
#include "fastgrad/tensor.h"

namespace fg = fastgrad;

namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();

fg::Tensor ints(const std::vector<int64_t>& v) {
  fg::Tensor t = fg::empty({static_cast<int64_t>(v.size())}, fg::DType::Int64);
  for (size_t i = 0; i < v.size(); ++i) t.data<int64_t>()[i] = v[i];
  return t;
}
template <typename T>
fg::Tensor floats(const std::vector<double>& v) {
  fg::Tensor t = fg::empty({static_cast<int64_t>(v.size())}, fg::dtype_of<T>::value);
  for (size_t i = 0; i < v.size(); ++i) t.data<T>()[i] = static_cast<T>(v[i]);
  return t;
}
std::vector<int64_t> values(const fg::Tensor& t) {
  fg::Tensor c = fg::contiguous(t);
  return std::vector<int64_t>(c.data<int64_t>(), c.data<int64_t>() + c.numel());
}

template <typename T>
void check_saturating_cast() {
  const double inf = std::numeric_limits<double>::infinity();
  fg::Tensor x = floats<T>(
      {std::nan(""), inf, -inf, 1e30, -1e30, 9223372036854775808.0, -9223372036854775808.0, 1.75, -1.75});
  EXPECT_EQ(values(fg::cast(x, fg::DType::Int64)),
            (std::vector<int64_t>{0, kMax, kMin, kMax, kMin, kMax, kMin, 1, -1}));
  // copy_ into an int64 destination takes the same conversion
  fg::Tensor dst = fg::zeros({9}, fg::DType::Int64);
  fg::copy_(dst, x);
  EXPECT_EQ(values(dst), values(fg::cast(x, fg::DType::Int64)));
}
TEST(Integers, FloatToInt64CastSaturates) {
  check_saturating_cast<float>();
  check_saturating_cast<double>();
}

TEST(Integers, FullAndArangeAreExact) {
  EXPECT_EQ(values(fg::full_int({2}, (int64_t{1} << 62) + 1, fg::DType::Int64)),
            (std::vector<int64_t>{(int64_t{1} << 62) + 1, (int64_t{1} << 62) + 1}));
  EXPECT_EQ(values(fg::arange_int(kMax - 3, kMax, 1, fg::DType::Int64)),
            (std::vector<int64_t>{kMax - 3, kMax - 2, kMax - 1}));
  EXPECT_EQ(
      values(fg::arange_int(kMax, kMin, -(int64_t{1} << 62), fg::DType::Int64)),
      (std::vector<int64_t>{kMax, kMax - (int64_t{1} << 62), -1, -(int64_t{1} << 62) - 1}));  // kMax - k 2^62
  EXPECT_EQ(fg::arange_int(5, 1, 1, fg::DType::Int64).numel(), 0);
  EXPECT_THROW(fg::arange_int(kMin, kMax, 1, fg::DType::Int64), fg::ValueError);  // 2^64 - 1 elements
  EXPECT_THROW(fg::full({1}, std::nan(""), fg::DType::Int64), fg::RuntimeError);
  EXPECT_THROW(fg::full({1}, 9223372036854775808.0, fg::DType::Int64), fg::RuntimeError);
  EXPECT_THROW(fg::arange(0, std::nan(""), 1, fg::DType::Float32), fg::ValueError);
  EXPECT_THROW(fg::arange(0, 1e300, 1e-300, fg::DType::Float32), fg::ValueError);
}

TEST(Integers, ArithmeticWrapsWithoutUndefinedBehaviour) {
  fg::Tensor a = ints({kMax, kMin, kMin, 3});
  fg::Tensor b = ints({1, -1, kMin, kMax});
  EXPECT_EQ(values(fg::add(a, b)),
            (std::vector<int64_t>{kMin, kMax, 0, static_cast<int64_t>(uint64_t(3) + uint64_t(kMax))}));
  EXPECT_EQ(values(fg::sub(a, b)), (std::vector<int64_t>{kMax - 1, kMin + 1, 0, 3 - kMax}));
  EXPECT_EQ(values(fg::mul(a, b))[0], kMax);
  EXPECT_EQ(values(fg::mul(a, b))[1], kMin);  // -INT64_MIN wraps
  EXPECT_EQ(values(fg::neg(ints({kMin, 5}))), (std::vector<int64_t>{kMin, -5}));
  EXPECT_EQ(values(fg::abs(ints({kMin, -5, 7}))), (std::vector<int64_t>{kMin, 5, 7}));
  EXPECT_EQ(values(fg::sum(ints({kMax, kMax, 2}), {}, false)), (std::vector<int64_t>{0}));
  EXPECT_EQ(values(fg::prod(ints({int64_t{1} << 32, int64_t{1} << 32, 3}), {}, false)),
            (std::vector<int64_t>{0}));
  EXPECT_EQ(values(fg::add_scalar(ints({kMax}), 1.0)), (std::vector<int64_t>{kMin}));
  EXPECT_EQ(fg::add_scalar(ints({1}), 0.5).dtype(), fg::DType::Float32);  // int + 0.5 is float
  EXPECT_EQ(fg::add_scalar(ints({1}), 1e300).dtype(), fg::DType::Float32);
}

TEST(Integers, MatmulAbsClipStayInt64) {
  const int64_t big = (int64_t{1} << 53) + 1;
  fg::Tensor a = fg::reshape(ints({big, 1, 2, 3}), {2, 2});
  fg::Tensor b = fg::reshape(ints({1, 0, 0, 1}), {2, 2});
  fg::Tensor c = fg::matmul(a, b);
  EXPECT_EQ(c.dtype(), fg::DType::Int64);
  EXPECT_EQ(values(c), (std::vector<int64_t>{big, 1, 2, 3}));
  EXPECT_EQ(values(fg::matmul(fg::transpose(a, 0, 1), ints({1, 1}))), (std::vector<int64_t>{big + 2, 4}));
  fg::Tensor cl = fg::clip_int(ints({kMin, 0, big + 5, kMax}), -1, big);
  EXPECT_EQ(cl.dtype(), fg::DType::Int64);
  EXPECT_EQ(values(cl), (std::vector<int64_t>{-1, 0, big, big}));
}

TEST(Integers, NonzeroNeverWritesPastItsCount) {
  fg::Tensor m = fg::empty({4}, fg::DType::Bool);
  const uint8_t bytes[4] = {1, 2, 0, 255};  // foreign, non-canonical bool bytes
  std::memcpy(m.raw(), bytes, 4);
  EXPECT_EQ(values(fg::nonzero_flat(m)), (std::vector<int64_t>{0, 1, 3}));
}

}  // namespace
