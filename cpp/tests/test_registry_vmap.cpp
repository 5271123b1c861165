// Every primitive's batching rule (Primitive::vmap) against a loop over the batch, on the
// registry's samples (test_registry.cpp and the area files). For each sample a random
// subset of its inputs is batched (the rest passed unbatched, as in_axes=None), each on a
// random axis, negative or not, with batch sizes 1 and 3; float inputs get a different
// value per example, index and mask inputs are shuffled per example. Then
//   * vmap of the primitive equals stacking the primitive applied per example (float64,
//     to rounding: the batched kernels may sum in another order);
//   * grad of the batched application equals grad of the loop (grad(vmap) = vmap(grad):
//     the backward pass runs the VJP rule on batched cotangents, so every op of the VJP
//     rule is batched in turn);
//   * a primitive without a batching rule fails here.
// The primitives that enter and leave a vmap level (vmap_wrap/vmap_unwrap) and
// custom_function (whose outputs the user's function computes, batched by these rules)
// take batched tensors as they are; their samples below check their own rules.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "fastgrad/autodiff.h"
#include "fastgrad/batching.h"
#include "fastgrad/ops.h"
#include "registry_samples.h"

namespace fg = fastgrad;
using namespace fastgrad::registry_test;

FG_REGISTRY_SAMPLES(vmap) {
  return {
      {"vmap_wrap", "",
       [] {
         const int64_t L = fg::push_vmap_level(3);
         fg::Tensor y = fg::vmap_wrap(leaf({2, 3}), 1, L);
         fg::pop_vmap_level(L);
         return y;
       }},
      {"vmap_unwrap", "",
       [] {
         const int64_t L = fg::push_vmap_level(3);
         fg::Tensor y = fg::vmap_unwrap(fg::vmap_wrap(leaf({2, 3}), 1, L), L, 0, 3);
         fg::pop_vmap_level(L);
         return y;
       }},
  };
}

namespace {

std::string label_of(const Sample& s) { return s.name + (s.variant.empty() ? "" : "/" + s.variant); }

std::mt19937_64& rng() {
  static std::mt19937_64 g(99);
  return g;
}

// Example b of a batch: x scaled by (1 + 0.05 u) elementwise (floats); integer and bool
// inputs (indices, targets, masks) with their entries shuffled, so each example indexes
// differently while every value stays one the sample accepts.
fg::Tensor example(const fg::Tensor& x, int64_t b) {
  fg::GradModeGuard ng(false);
  fg::Tensor e = fg::clone(fg::contiguous(fg::detach(x)));
  if (b == 0) return e;
  if (!fg::is_floating(x.dtype())) {
    const int64_t n = e.numel(), w = fg::itemsize(e.dtype());
    auto* p = static_cast<unsigned char*>(e.raw());
    for (int64_t i = n - 1; i > 0; --i) {  // Fisher-Yates over elements of w bytes
      const int64_t j = std::uniform_int_distribution<int64_t>(0, i)(rng());
      for (int64_t k = 0; k < w; ++k) std::swap(p[i * w + k], p[j * w + k]);
    }
    return e;
  }
  fg::Tensor u = fg::empty(x.shape(), fg::DType::Float64);
  std::uniform_real_distribution<double> d(-1.0, 1.0);
  for (int64_t i = 0; i < u.numel(); ++i) u.data<double>()[i] = 1.0 + 0.05 * d(rng());
  return fg::clone(e * fg::cast(u, x.dtype()));
}

bool close(const fg::Tensor& a, const fg::Tensor& b, std::string* why) {
  if (a.shape() != b.shape()) {
    *why = "shape " + fg::shape_str(a.shape()) + " vs " + fg::shape_str(b.shape());
    return false;
  }
  fg::Tensor ca = fg::contiguous(fg::cast(fg::detach(a), fg::DType::Float64));
  fg::Tensor cb = fg::contiguous(fg::cast(fg::detach(b), fg::DType::Float64));
  for (int64_t i = 0; i < ca.numel(); ++i) {
    const double x = ca.data<double>()[i], y = cb.data<double>()[i];
    if (std::isnan(x) && std::isnan(y)) continue;
    if (!(std::abs(x - y) <= 1e-9 + 1e-9 * std::abs(y))) {
      *why = "element " + std::to_string(i) + ": " + std::to_string(x) + " vs " + std::to_string(y);
      return false;
    }
  }
  return true;
}

struct Case {
  std::vector<int64_t> axis;  // per input: batch axis of the physical input, or INT64_MIN (unbatched)
  int64_t size;
};

void check_sample(const Sample& s, const Case& c, std::string* fail) {
  fg::Tensor y0 = s.run();
  auto node = y0.impl()->grad_fn;
  ASSERT_TRUE(node) << s.name;
  const fg::PrimPtr& prim = node->prim;
  const fg::Tensors& ins = node->inputs;
  const int64_t B = c.size;

  // Physical inputs: examples stacked on the chosen axis; leaves for the gradient check.
  fg::Tensors phys(ins.size()), logical_unbatched(ins.size());
  std::vector<fg::Tensors> per(ins.size());
  for (size_t i = 0; i < ins.size(); ++i) {
    if (!ins[i].defined()) continue;
    if (c.axis[i] == INT64_MIN) {
      logical_unbatched[i] = example(ins[i], 0);
      if (fg::is_floating(ins[i].dtype())) logical_unbatched[i].impl()->requires_grad = true;
      continue;
    }
    for (int64_t b = 0; b < B; ++b) per[i].push_back(example(ins[i], b));
    const int64_t nd = ins[i].ndim() + 1;
    const int64_t a = c.axis[i] < 0 ? c.axis[i] + nd : c.axis[i];
    phys[i] = fg::stack(per[i], a);
    phys[i] = fg::clone(phys[i]);
    if (fg::is_floating(ins[i].dtype())) phys[i].impl()->requires_grad = true;
  }
  fg::Tensors leaves;
  for (size_t i = 0; i < ins.size(); ++i) {
    if (phys[i].defined() && phys[i].requires_grad() && prim->differentiable_input(i))
      leaves.push_back(phys[i]);
    if (logical_unbatched[i].defined() && logical_unbatched[i].requires_grad() &&
        prim->differentiable_input(i))
      leaves.push_back(logical_unbatched[i]);
  }

  // Batched: vmap_wrap each batched input, apply, unwrap every output to axis 0.
  const int64_t L = fg::push_vmap_level(B);
  fg::Tensors wrapped(ins.size());
  for (size_t i = 0; i < ins.size(); ++i)
    wrapped[i] = phys[i].defined() ? fg::vmap_wrap(phys[i], c.axis[i], L) : logical_unbatched[i];
  fg::Tensors outs;
  try {
    outs = fg::apply(prim, wrapped);
  } catch (const std::exception& e) {
    fg::pop_vmap_level(L);
    *fail = std::string("batched apply threw: ") + e.what();
    return;
  }
  fg::Tensors batched;
  for (auto& o : outs) batched.push_back(fg::vmap_unwrap(o, L, 0, B));
  fg::pop_vmap_level(L);

  // The loop.
  std::vector<fg::Tensors> loop_out(outs.size());
  for (int64_t b = 0; b < B; ++b) {
    fg::Tensors xb(ins.size());
    for (size_t i = 0; i < ins.size(); ++i) {
      if (!ins[i].defined()) continue;
      if (phys[i].defined()) {
        const int64_t nd = ins[i].ndim() + 1;
        const int64_t a = c.axis[i] < 0 ? c.axis[i] + nd : c.axis[i];
        xb[i] = fg::select(phys[i], a, b);
      } else {
        xb[i] = logical_unbatched[i];
      }
    }
    fg::Tensors ob = fg::apply(prim, xb);
    for (size_t j = 0; j < ob.size(); ++j) loop_out[j].push_back(ob[j]);
  }
  fg::Tensor yb, yl;  // sum_j <batched_j, w_j> and the same for the loop
  for (size_t j = 0; j < outs.size(); ++j) {
    fg::Tensor lj = fg::stack(loop_out[j], 0);
    std::string why;
    if (!close(batched[j], lj, &why)) {
      *fail = "output " + std::to_string(j) + " differs from the loop: " + why;
      return;
    }
    if (!fg::is_floating(lj.dtype()) || !batched[j].requires_grad()) continue;
    fg::Tensor w = example(fg::ones_like(lj), 1);
    fg::Tensor tb = fg::sum(batched[j] * w, {}, false), tl = fg::sum(lj * w, {}, false);
    yb = yb.defined() ? yb + tb : tb;
    yl = yl.defined() ? yl + tl : tl;
  }
  if (!yb.defined() || leaves.empty()) return;
  fg::Tensors gb = fg::grad({yb}, {fg::Tensor()}, leaves, false, false, true);
  fg::Tensors gl = fg::grad({yl}, {fg::Tensor()}, leaves, false, false, true);
  for (size_t k = 0; k < leaves.size(); ++k) {
    if (!gb[k].defined() && !gl[k].defined()) continue;
    fg::Tensor a = gb[k].defined() ? gb[k] : fg::zeros_like(leaves[k]);
    fg::Tensor b = gl[k].defined() ? gl[k] : fg::zeros_like(leaves[k]);
    std::string why;
    if (!close(a, b, &why)) {
      *fail = "grad of input leaf " + std::to_string(k) + " differs from the loop's: " + why;
      return;
    }
  }
}

TEST(RegistryVmap, EveryBatchingRuleMatchesALoopAndItsGradient) {
  std::vector<std::string> failures;
  for (const Sample& s : all_samples()) {
    fg::Tensor y = s.run();
    auto node = y.impl()->grad_fn;
    if (!node || node->prim->desc().sees_batched) continue;  // see the header comment
    const size_t n = node->inputs.size();
    for (int64_t B : {int64_t(3), int64_t(1)}) {
      const int trials = static_cast<int>(n) + 2;
      for (int trial = 0; trial < trials; ++trial) {
        Case c{std::vector<int64_t>(n, INT64_MIN), B};
        bool any = false;
        for (size_t i = 0; i < n; ++i) {
          if (!node->inputs[i].defined()) continue;
          // trial 0: every input batched; trial 1 + i: input i alone (the others shared,
          // where rules take their folding paths); the last: a random subset, negative axes
          const bool last = trial == trials - 1;
          const bool on = trial == 0 || (last ? std::bernoulli_distribution(0.5)(rng())
                                              : static_cast<size_t>(trial - 1) == i);
          if (!on) continue;
          const int64_t nd = node->inputs[i].ndim() + 1;
          int64_t a = std::uniform_int_distribution<int64_t>(0, nd - 1)(rng());
          if (last) a -= nd;  // negative axes
          c.axis[i] = a;
          any = true;
        }
        if (!any)
          for (size_t i = 0; i < n && !any; ++i)
            if (node->inputs[i].defined()) {
              c.axis[i] = 0;
              any = true;
            }
        std::string fail;
        try {
          check_sample(s, c, &fail);
        } catch (const std::exception& e) {
          fail = std::string("threw: ") + e.what();
        }
        if (!fail.empty()) {
          std::string axes;
          for (auto a : c.axis) axes += (a == INT64_MIN ? std::string("None") : std::to_string(a)) + " ";
          failures.push_back(label_of(s) + " (B=" + std::to_string(B) + ", axes " + axes + "): " + fail);
          break;
        }
      }
    }
  }
  std::string all;
  for (auto& f : failures) all += "\n  " + f;
  EXPECT_TRUE(failures.empty()) << failures.size() << " batching rules fail:" << all;
}

}  // namespace
