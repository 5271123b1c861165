// The tape: backward of small graphs against hand-derived gradients, accumulation,
// retain_graph, released-graph and version-counter errors (saved inputs and saved
// outputs), create_graph, grad(), forward-mode levels, that graphs are freed, and
// concurrent backward calls through shared leaves and shared graphs.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <string>
#include <thread>
#include <vector>

#include "fastgrad/autodiff.h"
#include "fastgrad/ops.h"

namespace fg = fastgrad;

namespace {

fg::Tensor vec(std::initializer_list<double> v, bool requires_grad = false) {
  fg::Tensor t = fg::empty({static_cast<int64_t>(v.size())}, fg::DType::Float64);
  int64_t i = 0;
  for (double x : v) t.data<double>()[i++] = x;
  t.impl()->requires_grad = requires_grad;
  return t;
}
double val(const fg::Tensor& t, int64_t i = 0) { return fg::contiguous(t).data<double>()[i]; }
fg::Tensor grad_of(const fg::Tensor& t) { return fg::Tensor(t.impl()->grad); }

TEST(Tape, BackwardOfSmallGraph) {
  // L = sum(exp(x) * y + x * x),  dL/dx = exp(x) y + 2x,  dL/dy = exp(x)
  fg::Tensor x = vec({0.5, -1.0, 2.0}, true), y = vec({1.5, 2.0, -0.5}, true);
  fg::Tensor L = fg::sum(fg::exp(x) * y + x * x, {}, false);
  ASSERT_TRUE(L.impl()->grad_fn);
  EXPECT_STREQ(L.impl()->grad_fn->prim->name(), "sum");
  fg::backward({L}, {fg::Tensor()}, false, false);
  const double xs[3] = {0.5, -1.0, 2.0}, ys[3] = {1.5, 2.0, -0.5};
  for (int i = 0; i < 3; ++i) {
    EXPECT_DOUBLE_EQ(val(grad_of(x), i), std::exp(xs[i]) * ys[i] + 2 * xs[i]);
    EXPECT_DOUBLE_EQ(val(grad_of(y), i), std::exp(xs[i]));
  }
  EXPECT_EQ(grad_of(x).shape(), x.shape());
}

TEST(Tape, GradientsAccumulateAcrossBackwards) {
  fg::Tensor x = vec({1.0, 2.0}, true);
  fg::backward({fg::sum(x * 3.0, {}, false)}, {fg::Tensor()}, false, false);
  fg::backward({fg::sum(x * x, {}, false)}, {fg::Tensor()}, false, false);
  EXPECT_DOUBLE_EQ(val(grad_of(x), 0), 3 + 2 * 1.0);
  EXPECT_DOUBLE_EQ(val(grad_of(x), 1), 3 + 2 * 2.0);
}

TEST(Tape, BroadcastGradientIsSummedToPrimalShape) {
  fg::Tensor b = vec({1.0, 2.0, 3.0}, true);
  fg::Tensor m = fg::ones({4, 3}, fg::DType::Float64);
  fg::backward({fg::sum(m * b, {}, false)}, {fg::Tensor()}, false, false);
  ASSERT_EQ(grad_of(b).shape(), (fg::Shape{3}));
  for (int i = 0; i < 3; ++i) EXPECT_DOUBLE_EQ(val(grad_of(b), i), 4.0);
}

TEST(Tape, SecondBackwardNeedsRetainGraph) {
  fg::Tensor x = vec({0.3}, true);
  fg::Tensor L = fg::sum(fg::tanh(x), {}, false);
  fg::backward({L}, {fg::Tensor()}, true, false);
  fg::backward({L}, {fg::Tensor()}, false, false);
  EXPECT_NEAR(val(grad_of(x)), 2 * (1 - std::tanh(0.3) * std::tanh(0.3)), 1e-15);
  try {
    fg::backward({L}, {fg::Tensor()}, false, false);
    FAIL() << "no error";
  } catch (const fg::RuntimeError& e) {
    EXPECT_NE(std::string(e.what()).find("second time"), std::string::npos) << e.what();
  }
}

TEST(Tape, InPlaceChangeOfSavedInputIsAnError) {
  fg::Tensor x = vec({1.0, 2.0}, true), w = vec({3.0, 4.0});
  fg::Tensor L = fg::sum(x * w, {}, false);
  fg::copy_(w, vec({0.0, 0.0}));
  try {
    fg::backward({L}, {fg::Tensor()}, false, false);
    FAIL() << "no error";
  } catch (const fg::RuntimeError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("mul"), std::string::npos) << m;
    EXPECT_NE(m.find("in-place"), std::string::npos) << m;
  }
}

TEST(Tape, NonScalarRootNeedsGrad) {
  fg::Tensor x = vec({1.0, 2.0}, true);
  EXPECT_THROW(fg::backward({x * 2.0}, {fg::Tensor()}, false, false), fg::RuntimeError);
  EXPECT_THROW(fg::backward({x * 2.0}, {vec({1.0, 1.0, 1.0})}, false, false), fg::ValueError);
  fg::backward({x * 2.0}, {vec({1.0, -1.0})}, false, false);
  EXPECT_DOUBLE_EQ(val(grad_of(x), 1), -2.0);
}

TEST(Tape, NoGradRecordsNothing) {
  fg::Tensor x = vec({1.0}, true);
  fg::Tensor y;
  {
    fg::GradModeGuard g(false);
    y = fg::exp(x);
  }
  EXPECT_FALSE(y.requires_grad());
  EXPECT_FALSE(y.impl()->grad_fn);
  EXPECT_TRUE(fg::grad_enabled());
}

TEST(Tape, GradWithCreateGraphGivesSecondDerivative) {
  fg::Tensor x = vec({0.7}, true);
  fg::Tensor y = fg::sum(fg::pow_scalar(x, 3.0), {}, false);
  fg::Tensors d1 = fg::grad({y}, {fg::Tensor()}, {x}, false, true, false);
  EXPECT_NEAR(val(d1[0]), 3 * 0.49, 1e-15);
  EXPECT_FALSE(x.impl()->grad);  // grad() does not touch .grad
  fg::Tensors d2 = fg::grad({fg::sum(d1[0], {}, false)}, {fg::Tensor()}, {x}, false, false, false);
  EXPECT_NEAR(val(d2[0]), 6 * 0.7, 1e-15);
}

TEST(Tape, GradAllowUnused) {
  fg::Tensor x = vec({1.0}, true), z = vec({2.0}, true);
  fg::Tensor y = fg::sum(x * 2.0, {}, false);
  EXPECT_THROW(fg::grad({y}, {fg::Tensor()}, {x, z}, true, false, false), fg::RuntimeError);
  fg::Tensors g = fg::grad({y}, {fg::Tensor()}, {x, z}, false, false, true);
  EXPECT_DOUBLE_EQ(val(g[0]), 2.0);
  EXPECT_FALSE(g[1].defined());
}

TEST(Tape, GraphAndSavedTensorsAreFreed) {
  const int64_t nodes0 = fg::Node::live_count.load(), tensors0 = fg::TensorImpl::live_count.load();
  {
    fg::Tensor x = vec({0.1, 0.2, 0.3}, true);
    fg::Tensor L = fg::sum(fg::sigmoid(x) * fg::sin(x), {}, false);
    EXPECT_GT(fg::Node::live_count.load(), nodes0);
    fg::backward({L}, {fg::Tensor()}, false, false);
    // released nodes drop their saved inputs/outputs
    EXPECT_TRUE(L.impl()->grad_fn->released);
    EXPECT_TRUE(L.impl()->grad_fn->inputs.empty());
  }
  EXPECT_EQ(fg::Node::live_count.load(), nodes0);
  EXPECT_EQ(fg::TensorImpl::live_count.load(), tensors0);
}

TEST(Tape, ForwardModeLevels) {
  // d/dt sin(x + t v) = cos(x) v
  const int64_t L = fg::push_jvp_level();
  fg::Tensor x = vec({0.4, -0.8});
  x.set_tangent(L, vec({1.0, 2.0}));
  fg::Tensor y = fg::sin(x) * 3.0;
  fg::Tensor t = y.tangent(L);
  fg::pop_jvp_level(L);
  ASSERT_TRUE(t.defined());
  EXPECT_DOUBLE_EQ(val(t, 0), 3 * std::cos(0.4) * 1.0);
  EXPECT_DOUBLE_EQ(val(t, 1), 3 * std::cos(-0.8) * 2.0);
  EXPECT_FALSE(fg::any_jvp_level());
  fg::Tensor y2 = fg::sin(x);  // no active level: no tangent is computed
  EXPECT_FALSE(y2.tangent(L).defined());
}

TEST(Tape, DefaultRulesThrow) {
  struct NoRules : fg::Primitive {
    const fg::PrimitiveDesc& desc() const override {
      static constexpr fg::PrimitiveDesc d("norules");
      return d;
    }
    std::vector<fg::Shape> shapes(const fg::Tensors& in) const override { return {in[0].shape()}; }
    fg::Tensors forward(const fg::Tensors& in, const std::vector<fg::Shape>&) const override {
      return {fg::clone(fg::detach(in[0]))};
    }
  };
  auto prim = std::make_shared<const NoRules>();
  fg::Tensor x = vec({1.0}, true);
  fg::Tensor y = fg::apply1(prim, {x});
  EXPECT_THROW(fg::backward({y}, {fg::Tensor()}, false, false), fg::RuntimeError);
  const int64_t L = fg::push_jvp_level();
  fg::Tensor z = vec({1.0});
  z.set_tangent(L, vec({1.0}));
  EXPECT_THROW(fg::apply1(prim, {z}), fg::RuntimeError);
  fg::pop_jvp_level(L);
}

}  // namespace

TEST(Tape, InPlaceChangeOfSavedOutputIsAnError) {
  // exp's VJP multiplies by the saved exp(x): doubling it used to double the gradient.
  fg::Tensor x = vec({0.5, 1.0}, true);
  fg::Tensor y = fg::exp(x);
  fg::Tensor L = fg::sum(y, {}, false);
  {
    fg::GradModeGuard g(false);
    fg::copy_(y, y * 2.0);
  }
  try {
    fg::backward({L}, {fg::Tensor()}, false, false);
    FAIL() << "no error";
  } catch (const fg::RuntimeError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("output 0 of exp"), std::string::npos) << m;
    EXPECT_NE(m.find("in-place"), std::string::npos) << m;
  }
  EXPECT_FALSE(x.impl()->grad);
}

namespace {

fg::Tensor square_matrix(int64_t n, double seed) {
  fg::Tensor t = fg::empty({n, n}, fg::DType::Float64);
  for (int64_t i = 0; i < n * n; ++i) t.data<double>()[i] = std::sin(seed + 0.37 * static_cast<double>(i));
  return t;
}

// sum(exp(tanh(X W) * c)): a few nodes between the loss and the shared leaf W.
fg::Tensor loss_of(const fg::Tensor& X, const fg::Tensor& W, double c) {
  return fg::sum(fg::exp(fg::tanh(fg::matmul(X, W)) * c), {}, false);
}

template <typename F>
void in_threads(int n, F&& f) {
  std::atomic<int> ready{0};
  std::vector<std::thread> ts;
  for (int i = 0; i < n; ++i)
    ts.emplace_back([&, i] {
      ++ready;
      while (ready.load() < n) std::this_thread::yield();  // start together
      f(i);
    });
  for (auto& t : ts) t.join();
}

constexpr int kThreads = 6, kRuns = 20, kN = 24;

}  // namespace

TEST(Tape, ConcurrentBackwardIntoASharedLeafLosesNothing) {
  std::vector<fg::Tensor> Xs;
  for (int i = 0; i < kThreads; ++i) Xs.push_back(square_matrix(kN, i));
  fg::Tensor W0 = square_matrix(kN, 100.0) * 0.1;
  std::vector<double> want(kN * kN, 0.0);
  for (int i = 0; i < kThreads; ++i) {
    fg::Tensor W = fg::clone(W0);
    W.impl()->requires_grad = true;
    fg::backward({loss_of(Xs[i], W, 0.5 + i)}, {fg::Tensor()}, false, false);
    for (int64_t k = 0; k < kN * kN; ++k) want[k] += val(grad_of(W), k);
  }
  for (int run = 0; run < kRuns; ++run) {
    fg::Tensor W = fg::clone(W0);
    W.impl()->requires_grad = true;
    std::atomic<int> failures{0};
    in_threads(kThreads, [&](int i) {
      try {
        fg::backward({loss_of(Xs[i], W, 0.5 + i)}, {fg::Tensor()}, false, false);
      } catch (...) {
        ++failures;
      }
    });
    ASSERT_EQ(failures.load(), 0);
    for (int64_t k = 0; k < kN * kN; ++k)
      ASSERT_NEAR(val(grad_of(W), k), want[k], 1e-12 * (1 + std::fabs(want[k])))
          << "run " << run << ", entry " << k;
  }
}

TEST(Tape, ConcurrentGradThroughOneRetainedGraphIsExact) {
  fg::Tensor X = square_matrix(kN, 1.0), W = square_matrix(kN, 2.0) * 0.1;
  W.impl()->requires_grad = true;
  for (int run = 0; run < kRuns; ++run) {
    fg::Tensor L = loss_of(X, W, 0.7);
    const fg::Tensor want = fg::grad({L}, {fg::Tensor()}, {W}, true, false, false)[0];
    std::vector<fg::Tensor> got(kThreads);
    std::atomic<int> failures{0};
    in_threads(kThreads, [&](int i) {
      try {
        got[i] = fg::grad({L}, {fg::Tensor()}, {W}, true, false, false)[0];
      } catch (...) {
        ++failures;
      }
    });
    ASSERT_EQ(failures.load(), 0);
    for (int i = 0; i < kThreads; ++i)
      for (int64_t k = 0; k < kN * kN; ++k) ASSERT_EQ(val(got[i], k), val(want, k)) << "run " << run;
  }
}

TEST(Tape, ConcurrentBackwardThroughOneFreedGraphFailsCleanly) {
  fg::Tensor X = square_matrix(kN, 3.0), W0 = square_matrix(kN, 4.0) * 0.1;
  fg::Tensor Wref = fg::clone(W0);
  Wref.impl()->requires_grad = true;
  fg::backward({loss_of(X, Wref, 0.3)}, {fg::Tensor()}, false, false);
  for (int run = 0; run < kRuns; ++run) {
    fg::Tensor W = fg::clone(W0);
    W.impl()->requires_grad = true;
    fg::Tensor L = loss_of(X, W, 0.3);
    std::atomic<int> ok{0}, second_time{0}, other{0};
    in_threads(kThreads, [&](int) {
      try {
        fg::backward({L}, {fg::Tensor()}, false, false);
        ++ok;
      } catch (const fg::RuntimeError& e) {
        if (std::string(e.what()).find("second time") != std::string::npos)
          ++second_time;
        else
          ++other;
      } catch (...) {
        ++other;
      }
    });
    ASSERT_EQ(ok.load(), 1) << "run " << run;
    ASSERT_EQ(second_time.load(), kThreads - 1) << "run " << run;
    ASSERT_EQ(other.load(), 0);
    for (int64_t k = 0; k < kN * kN; ++k)
      ASSERT_EQ(val(grad_of(W), k), val(grad_of(Wref), k)) << "run " << run;
  }
}

TEST(Tape, ReachesFollowsTheTape) {
  // the transforms' "carries my derivative" check: a tensor reaches the inputs it was computed from
  fg::Tensor x = vec({1.0, 2.0}, true), y = vec({3.0, 4.0}, true), c = vec({5.0, 6.0});
  fg::Tensor a = fg::exp(x) * c, b = fg::sum(y * c, {}, false);
  EXPECT_TRUE(fg::reaches(a, {x}));
  EXPECT_TRUE(fg::reaches(x, {x}));
  EXPECT_FALSE(fg::reaches(a, {y}));
  EXPECT_TRUE(fg::reaches(b, {x, y}));
  EXPECT_FALSE(fg::reaches(c, {x}));
  EXPECT_FALSE(fg::reaches(a, {c * 2.0}));
}
