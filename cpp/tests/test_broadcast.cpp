// NumPy broadcasting: shape rule, error messages, and elementwise results against a
// naive index-by-index reference (including strided operands).
#include <gtest/gtest.h>

#include <string>

#include "fastgrad/autodiff.h"
#include "fastgrad/ops.h"

namespace fg = fastgrad;

namespace {

TEST(Broadcast, Shapes) {
  EXPECT_EQ(fg::broadcast_shapes({3, 4}, {3, 4}, "op"), (fg::Shape{3, 4}));
  EXPECT_EQ(fg::broadcast_shapes({3, 1}, {1, 4}, "op"), (fg::Shape{3, 4}));
  EXPECT_EQ(fg::broadcast_shapes({2, 3, 4}, {4}, "op"), (fg::Shape{2, 3, 4}));
  EXPECT_EQ(fg::broadcast_shapes({4}, {2, 1, 4}, "op"), (fg::Shape{2, 1, 4}));
  EXPECT_EQ(fg::broadcast_shapes({}, {5, 2}, "op"), (fg::Shape{5, 2}));
  EXPECT_EQ(fg::broadcast_shapes({1, 0}, {3, 1}, "op"), (fg::Shape{3, 0}));
  EXPECT_EQ(fg::broadcast_shapes({5, 1, 7}, {1, 6, 1}, "op"), (fg::Shape{5, 6, 7}));
}

TEST(Broadcast, ErrorNamesOpAndShapes) {
  try {
    fg::broadcast_shapes({3, 4}, {5}, "myop");
    FAIL() << "no error";
  } catch (const fg::ValueError& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("myop"), std::string::npos) << m;
    EXPECT_NE(m.find("(3, 4)"), std::string::npos) << m;
    EXPECT_NE(m.find("(5,)"), std::string::npos) << m;
  }
  EXPECT_THROW(fg::broadcast_shapes({2, 3}, {3, 3}, "op"), fg::ValueError);
  EXPECT_THROW(fg::broadcast_shapes({0}, {2}, "op"), fg::ValueError);
}

fg::Tensor filled(const fg::Shape& s, double scale, double shift) {
  fg::Tensor t = fg::empty(s, fg::DType::Float64);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<double>()[i] = scale * static_cast<double>(i) + shift;
  return t;
}

double at(const fg::Tensor& t, const fg::Shape& out_idx) {
  // Broadcast read: leading missing axes and size-1 axes index 0.
  int64_t off = 0;
  const size_t lead = out_idx.size() - t.shape().size();
  for (size_t d = 0; d < t.shape().size(); ++d)
    off += (t.shape()[d] == 1 ? 0 : out_idx[lead + d]) * t.strides()[d];
  return t.data<double>()[off];
}

void check_binary(const fg::Tensor& a, const fg::Tensor& b) {
  fg::Tensor sum = fg::add(a, b), prod = fg::mul(a, b), diff = fg::sub(b, a), mx = fg::maximum(a, b);
  const fg::Shape s = fg::broadcast_shapes(a.shape(), b.shape(), "t");
  ASSERT_EQ(sum.shape(), s);
  ASSERT_TRUE(sum.is_contiguous());
  fg::Shape idx(s.size(), 0);
  for (int64_t i = 0; i < sum.numel(); ++i) {
    int64_t r = i;
    for (size_t d = s.size(); d-- > 0;) {
      idx[d] = r % s[d];
      r /= s[d];
    }
    const double x = at(a, idx), y = at(b, idx);
    EXPECT_EQ(sum.data<double>()[i], x + y);
    EXPECT_EQ(prod.data<double>()[i], x * y);
    EXPECT_EQ(diff.data<double>()[i], y - x);
    EXPECT_EQ(mx.data<double>()[i], std::max(x, y));
  }
}

TEST(Broadcast, ElementwiseMatchesNaiveReference) {
  check_binary(filled({3, 4}, 1, 0), filled({3, 4}, -2, 5));
  check_binary(filled({3, 1}, 1, 0), filled({1, 4}, 3, -1));
  check_binary(filled({2, 3, 4}, 1, 0), filled({4}, 2, 1));
  check_binary(filled({4}, 1, 0), filled({2, 1, 4}, 2, 1));
  check_binary(filled({}, 0, 2.5), filled({3, 2}, 1, 0));
  check_binary(filled({5, 1, 7}, 0.5, 0), filled({1, 6, 1}, 1, -3));
}

TEST(Broadcast, StridedOperands) {
  fg::Tensor base = filled({4, 6}, 1, 0);
  fg::Tensor t = fg::transpose(base, 0, 1);                // (6, 4), strides (1, 6)
  fg::Tensor s = fg::slice(base, {{1, 4, 2}, {0, 6, 3}});  // (2, 2), offset 6
  check_binary(t, filled({4}, 1, 0.5));
  check_binary(filled({6, 1}, -1, 0), t);
  check_binary(s, fg::transpose(filled({2, 2}, 1, 0), 0, 1));
  check_binary(fg::expand(filled({1, 4}, 1, 0), {6, 4}), t);
}

TEST(Broadcast, LargeParallelPathMatchesNaive) {
  // Above the parallel grain so OpenMP threads split the work.
  check_binary(filled({300, 257}, 1e-3, 0), filled({257}, -1, 0));
  check_binary(fg::transpose(filled({257, 300}, 1e-3, 0), 0, 1), filled({300, 1}, 2, 0));
}

TEST(Broadcast, SumToUndoesBroadcasting) {
  fg::Tensor g = filled({2, 3, 4}, 1, 0);
  fg::Tensor r = fg::sum_to(g, {3, 1});
  ASSERT_EQ(r.shape(), (fg::Shape{3, 1}));
  for (int64_t j = 0; j < 3; ++j) {
    double want = 0;
    for (int64_t i = 0; i < 2; ++i)
      for (int64_t k = 0; k < 4; ++k) want += static_cast<double>(i * 12 + j * 4 + k);
    EXPECT_EQ(r.data<double>()[j], want);
  }
  EXPECT_EQ(fg::sum_to(g, {}).data<double>()[0], 276.0);
}

TEST(Broadcast, DtypeMismatchInPrimitiveIsTypeError) {
  fg::Tensor a = fg::ones({2}, fg::DType::Float32), b = fg::ones({2}, fg::DType::Float64);
  fg::Tensor c = fg::add(a, b);  // the public op promotes
  EXPECT_EQ(c.dtype(), fg::DType::Float64);
  EXPECT_THROW(fg::where(fg::ones({2}, fg::DType::Bool), a, fg::ones({3}, fg::DType::Float32)),
               fg::ValueError);
}

}  // namespace
