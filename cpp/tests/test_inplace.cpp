// In-place ops from C++ follow the same rules as from Python (inplace.cpp): PyTorch's
// dtype-cast rule, no in-place on a leaf that requires grad in grad mode, the op is
// recorded on the tape and older consumers keep the old value's gradient.
#include <gtest/gtest.h>

#include <string>

#include "fastgrad/autodiff.h"
#include "fastgrad/ops.h"

namespace fg = fastgrad;

namespace {

fg::Tensor vec(std::initializer_list<double> v, fg::DType d = fg::DType::Float64,
               bool requires_grad = false) {
  fg::Tensor t = fg::empty({static_cast<int64_t>(v.size())}, fg::DType::Float64);
  int64_t i = 0;
  for (double x : v) t.data<double>()[i++] = x;
  t = fg::contiguous(fg::cast(t, d));
  t.impl()->requires_grad = requires_grad;
  return t;
}
double val(const fg::Tensor& t, int64_t i = 0) {
  return fg::contiguous(fg::cast(t, fg::DType::Float64)).data<double>()[i];
}

TEST(Inplace, LeafRequiringGradRaisesInGradModeAndWritesUnderNoGrad) {
  fg::Tensor x = vec({1, 2}, fg::DType::Float64, true);
  EXPECT_THROW(fg::add_(x, fg::scalar(1, fg::DType::Float64)), fg::RuntimeError);
  EXPECT_EQ(x.impl()->storage->version.load(), 0);
  {
    fg::GradModeGuard ng(false);
    fg::sub_(x, fg::scalar(0.5, fg::DType::Float64));
  }
  EXPECT_DOUBLE_EQ(val(x, 1), 1.5);
  EXPECT_EQ(x.impl()->storage->version.load(), 1);
  EXPECT_FALSE(x.impl()->grad_fn);
}

TEST(Inplace, IntTrueDivisionAndFloatOperandsRaise) {
  fg::Tensor t = vec({1, 2, 3}, fg::DType::Int64);
  try {
    fg::div_(t, fg::scalar(2, fg::DType::Int64));
    FAIL() << "div_ into int64 must raise";
  } catch (const fg::RuntimeError& e) {
    EXPECT_NE(std::string(e.what()).find("result type Float can't be cast to the desired output type Long"),
              std::string::npos);
  }
  EXPECT_THROW(fg::mul_(t, fg::scalar(0.5, fg::DType::Float32)), fg::RuntimeError);
  EXPECT_DOUBLE_EQ(val(t, 2), 3);
  fg::add_(t, fg::scalar(4, fg::DType::Int64));
  EXPECT_DOUBLE_EQ(val(t, 2), 7);
  EXPECT_EQ(t.dtype(), fg::DType::Int64);
}

TEST(Inplace, RebasesHistoryAndKeepsOlderConsumers) {
  // b = 3x; c = b + 1 (older consumer); b *= w; L = sum(c) + sum(b)
  // dL/dx = 3 + 3w, dL/dw = 3x
  fg::Tensor x = vec({1, 2}, fg::DType::Float64, true), w = vec({5, 7}, fg::DType::Float64, true);
  fg::Tensor b = x * 3.0;
  fg::Tensor c = b + 1.0;
  fg::mul_(b, w);
  ASSERT_TRUE(b.impl()->grad_fn);
  EXPECT_STREQ(b.impl()->grad_fn->prim->name(), "mul_");
  fg::Tensor L = fg::sum(c, {}, false) + fg::sum(b, {}, false);
  fg::backward({L}, {fg::Tensor()}, false, false);
  EXPECT_DOUBLE_EQ(val(fg::Tensor(x.impl()->grad), 0), 18);
  EXPECT_DOUBLE_EQ(val(fg::Tensor(x.impl()->grad), 1), 24);
  EXPECT_DOUBLE_EQ(val(fg::Tensor(w.impl()->grad), 0), 3);
  EXPECT_DOUBLE_EQ(val(fg::Tensor(w.impl()->grad), 1), 6);
}

TEST(Inplace, ZeroCutsTheGradient) {
  fg::Tensor x = vec({1, 2}, fg::DType::Float64, true);
  fg::Tensor y = x * 3.0;
  fg::zero_(y);
  fg::backward({fg::sum(y, {}, false)}, {fg::Tensor()}, false, false);
  EXPECT_DOUBLE_EQ(val(fg::Tensor(x.impl()->grad), 0), 0);
  EXPECT_DOUBLE_EQ(val(fg::Tensor(x.impl()->grad), 1), 0);
}

TEST(Inplace, ViewsRaiseInsteadOfWrongGradients) {
  fg::Tensor x = vec({1, 2, 3, 4}, fg::DType::Float64, true);
  fg::Tensor b = x * 3.0;
  fg::Tensor v = fg::slice(b, {{0, 2, 1}});
  EXPECT_THROW(fg::mul_(v, fg::scalar(2, fg::DType::Float64)),
               fg::RuntimeError);                  // in place on a tracked view
  fg::mul_(b, fg::scalar(2, fg::DType::Float64));  // base changed under the view
  EXPECT_THROW(fg::backward({fg::sum(v, {}, false)}, {fg::Tensor()}, false, false), fg::RuntimeError);
}

TEST(Inplace, LongChainIsReleasedWithoutDeepRecursion) {
  const int64_t before = fg::Node::live_count.load();
  {
    fg::Tensor x = vec({1, 2}, fg::DType::Float64, true);
    fg::Tensor b = x * 1.0;
    for (int i = 0; i < 50000; ++i) fg::add_(b, fg::scalar(1, fg::DType::Float64));
    EXPECT_DOUBLE_EQ(val(b, 0), 50001);
  }
  EXPECT_EQ(fg::Node::live_count.load(), before);
}

}  // namespace
