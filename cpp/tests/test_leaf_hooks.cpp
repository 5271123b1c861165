// Leaf hooks during backward: register_hook on a leaf and post-accumulate-grad hooks run
// as soon as the leaf's gradient of the pass is final (when every node feeding it ran),
// not at the end of the pass; once per backward, on the total, from concurrent calls too.
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

TEST(LeafHooks, FireWhenTheLeafIsFinalNotAtTheEnd) {
  // L = sum(w2 * tanh(w1 * tanh(w0 * x))): w2 is final before the chain below it runs.
  fg::Tensor x = vec({0.3, -0.7}), w0 = vec({1.5, 0.5}, true), w1 = vec({-0.8, 1.2}, true),
             w2 = vec({0.9, 2.0}, true);
  std::vector<std::string> ev;
  fg::Tensor h0 = fg::tanh(w0 * x), h1 = fg::tanh(w1 * h0);
  fg::add_grad_hook(h0.impl(), [&](const fg::Tensor&) {
    ev.push_back("h0");
    return fg::Tensor();
  });
  fg::add_grad_hook(h1.impl(), [&](const fg::Tensor&) {
    ev.push_back("h1");
    return fg::Tensor();
  });
  double w2_at_hook = 0;
  fg::add_post_accumulate_grad_hook(w2.impl(), [&](const fg::Tensor& p) {
    ev.push_back("post w2");
    w2_at_hook = val(fg::Tensor(p.impl()->grad), 1);
  });
  fg::add_post_accumulate_grad_hook(w1.impl(), [&](const fg::Tensor&) { ev.push_back("post w1"); });
  fg::add_post_accumulate_grad_hook(w0.impl(), [&](const fg::Tensor&) { ev.push_back("post w0"); });
  fg::add_grad_hook(w1.impl(), [&](const fg::Tensor& g) {
    ev.push_back("w1");
    return g * 2.0;  // replaces what is accumulated
  });
  fg::backward({fg::sum(w2 * h1, {}, false)}, {fg::Tensor()}, false, false);
  const std::vector<std::string> want = {"post w2", "h1", "w1", "post w1", "h0", "post w0"};
  EXPECT_EQ(ev, want);
  const double a0 = std::tanh(0.5 * -0.7), a1 = std::tanh(1.2 * a0);
  EXPECT_DOUBLE_EQ(w2_at_hook, a1);
  EXPECT_DOUBLE_EQ(val(fg::Tensor(w1.impl()->grad), 1), 2.0 * 2.0 * (1 - a1 * a1) * a0);
}

TEST(LeafHooks, OncePerBackwardWithTheTotal) {
  fg::Tensor x = vec({1.0, -2.0}, true);
  int calls = 0;
  double seen = 0;
  fg::add_grad_hook(x.impl(), [&](const fg::Tensor& g) {
    ++calls;
    seen = val(g, 0);
    return fg::Tensor();
  });
  int post = 0;
  fg::add_post_accumulate_grad_hook(x.impl(), [&](const fg::Tensor&) { ++post; });
  // three paths into x (x*x uses it twice in one node): one call with their sum
  fg::backward({fg::sum(x * x + fg::exp(x), {}, false)}, {fg::Tensor()}, false, false);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(post, 1);
  EXPECT_DOUBLE_EQ(seen, 2.0 + std::exp(1.0));
  EXPECT_THROW(fg::add_post_accumulate_grad_hook((x * 2.0).impl(), [](const fg::Tensor&) {}),
               fg::RuntimeError);
}

TEST(LeafHooks, ConcurrentBackwardsEachFireOnce) {
  fg::Tensor w = vec({0.5, 1.5, -1.0}, true);
  std::atomic<int> calls{0};
  fg::add_post_accumulate_grad_hook(w.impl(), [&](const fg::Tensor&) { ++calls; });
  const int threads = 4, reps = 50;
  std::vector<std::thread> ts;
  for (int k = 0; k < threads; ++k)
    ts.emplace_back([&] {
      for (int r = 0; r < reps; ++r)
        fg::backward({fg::sum(fg::tanh(w) * w, {}, false)}, {fg::Tensor()}, false, false);
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(calls.load(), threads * reps);
  const double v = 1.5, t = std::tanh(v);
  EXPECT_NEAR(val(fg::Tensor(w.impl()->grad), 1), threads * reps * (t + v * (1 - t * t)), 1e-9);
}

}  // namespace
