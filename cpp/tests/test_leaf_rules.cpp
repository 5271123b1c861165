// .grad and requires_grad from C++ (autodiff/leaf.cpp) follow the rules, and give the
// messages, of the Python properties: those are one-line calls into these functions.
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "expect_message.h"
#include "fastgrad/autodiff.h"
#include "fastgrad/ops.h"

namespace fg = fastgrad;

namespace {

TEST(LeafRules, RequiresGradOnlyForFloatTensors) {
  fg::Tensor i = fg::zeros({2}, fg::DType::Int64);
  const std::string m = message_of<fg::TypeError>([&] { fg::set_requires_grad(i.impl(), true); });
  EXPECT_EQ(m, "requires_grad: only float tensors can require gradients, got int64");
  EXPECT_FALSE(i.impl()->requires_grad);
  fg::set_requires_grad(i.impl(), false);  // turning it off is always fine on a leaf
  fg::Tensor x = fg::zeros({2}, fg::DType::Float32);
  fg::set_requires_grad(x.impl(), true);
  EXPECT_TRUE(x.requires_grad());
  fg::set_requires_grad(x.impl(), false);
  EXPECT_FALSE(x.requires_grad());
}

TEST(LeafRules, NonLeafCannotTurnGradientsOff) {
  fg::Tensor x = fg::ones({3}, fg::DType::Float64);
  fg::set_requires_grad(x.impl(), true);
  fg::Tensor y = fg::mul(x, x);
  ASSERT_TRUE(y.impl()->grad_fn);
  const std::string m = message_of<fg::RuntimeError>([&] { fg::set_requires_grad(y.impl(), false); });
  EXPECT_EQ(m, "requires_grad: cannot turn off gradients of a non-leaf tensor; use detach()");
  EXPECT_TRUE(y.requires_grad());
  fg::set_requires_grad(y.impl(), true);  // a no-op, not an error
}

TEST(LeafRules, SetGradChecksDtypeAndShape) {
  fg::Tensor x = fg::zeros({2, 3}, fg::DType::Float32);
  std::string m = message_of<fg::TypeError>(
      [&] { fg::set_grad(x.impl(), fg::zeros({2, 3}, fg::DType::Float64).impl()); });
  EXPECT_EQ(m, "grad: assigned a float64 gradient to a float32 tensor");
  m = message_of<fg::ValueError>(
      [&] { fg::set_grad(x.impl(), fg::zeros({3, 2}, fg::DType::Float32).impl()); });
  EXPECT_EQ(m, "grad: assigned gradient of shape (3, 2) to a tensor of shape (2, 3)");
  EXPECT_FALSE(fg::get_grad(x.impl()));  // a refused gradient leaves .grad alone

  fg::Tensor g = fg::ones({2, 3}, fg::DType::Float32);
  fg::set_grad(x.impl(), g.impl());
  EXPECT_EQ(fg::get_grad(x.impl()), g.impl());  // the tensor itself, not a copy
  fg::set_grad(x.impl(), nullptr);
  EXPECT_FALSE(fg::get_grad(x.impl()));
}

TEST(LeafRules, BackwardAccumulatesIntoAnAssignedGrad) {
  fg::Tensor x = fg::ones({2}, fg::DType::Float64);
  fg::set_requires_grad(x.impl(), true);
  fg::set_grad(x.impl(), fg::full({2}, 10.0, fg::DType::Float64).impl());
  fg::backward({fg::sum(fg::mul(x, x), {}, false)}, {fg::Tensor()}, false, false);
  fg::Tensor g(fg::get_grad(x.impl()));
  EXPECT_DOUBLE_EQ(g.data<double>()[0], 12.0);  // 10 + d(x^2)/dx at 1
  EXPECT_DOUBLE_EQ(g.data<double>()[1], 12.0);
}

// The setter and concurrent backward calls share leaf_grad_mutex: no update is lost and
// no reader sees a torn shared_ptr (run under TSan/ASan in CI).
TEST(LeafRules, SetGradAndBackwardInThreads) {
  fg::Tensor x = fg::ones({4}, fg::DType::Float64);
  fg::set_requires_grad(x.impl(), true);
  std::vector<std::thread> ts;
  for (int k = 0; k < 4; ++k)
    ts.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        fg::backward({fg::sum(x, {}, false)}, {fg::Tensor()}, false, false);
        (void)fg::get_grad(x.impl());
      }
    });
  for (auto& t : ts) t.join();
  fg::Tensor g(fg::get_grad(x.impl()));
  EXPECT_DOUBLE_EQ(g.data<double>()[0], 200.0);
  fg::set_grad(x.impl(), nullptr);
  EXPECT_FALSE(fg::get_grad(x.impl()));
}

}  // namespace

// clamp_'s bound rules live in C++ too (inplace.cpp): the Python binding only converts.
namespace {
TEST(InplaceRules, ClampNeedsABoundAndKeepsIntegerTargetsExact) {
  fg::Tensor i = fg::full_int({3}, 5, fg::DType::Int64);
  const std::string m =
      message_of<fg::RuntimeError>([&] { fg::clamp_(i, std::nullopt, std::nullopt, false, "clip_"); });
  EXPECT_EQ(m, "clip_: at least one of 'min' or 'max' must not be None");
  // a float bound makes the result Float, which cannot be written into an int64 tensor
  EXPECT_THROW(fg::clamp_(i, 0.5, std::nullopt, true), fg::RuntimeError);
  EXPECT_EQ(i.impl()->storage->version.load(), 0);
  fg::clamp_(i, 0.0, 2.0, false);  // integer bounds: fine, exact
  EXPECT_EQ(i.data<int64_t>()[0], 2);
}
}  // namespace
