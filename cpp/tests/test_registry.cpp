// The registry of primitive descriptors against the rules they describe. For every
// registered descriptor (variants included) a sample application is recorded on the
// tape; then
//   * the tape keeps exactly what the descriptor says (saved outputs, input versions);
//   * the VJP gives bit-identical results when every input and output the descriptor
//     says it does not read is replaced by a poisoned tensor (NaN floats, shifted
//     indices, flipped masks): a rule that starts reading more than its descriptor
//     declares fails here, since the engine would neither keep it alive nor notice an
//     in-place change to it;
//   * the VJP honours `need`: an input not asked for gets an undefined result (no work)
//     and the other results do not change.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "fastgrad/autodiff.h"
#include "fastgrad/ops.h"
#include "registry_samples.h"

namespace fg = fastgrad;
using namespace fastgrad::registry_test;

namespace {

const fg::Activation kTanh = fg::Activation::Tanh;
std::vector<Sample> samples() {
  const fg::Shape S{3, 4};
  auto conv2 = [](const fg::Tensor& x, const fg::Tensor& w, const fg::Tensor& b, fg::Activation a) {
    return fg::conv(x, w, b, {1, 2}, {1, 0}, {0, 1}, {1, 1}, 1, false, a);
  };
  std::vector<Sample> all = {
      {"add", "", [=] { return leaf(S) + leaf({4}); }},
      {"sub", "", [=] { return leaf(S) - leaf({3, 1}); }},
      {"mul", "", [=] { return leaf(S) * leaf(S); }},
      {"div", "", [=] { return leaf(S) / leaf(S); }},
      {"pow", "", [=] { return fg::pow(positive(S), leaf(S)); }},
      {"maximum", "", [=] { return fg::maximum(leaf(S), leaf(S)); }},
      {"minimum", "", [=] { return fg::minimum(leaf(S), leaf(S)); }},
      {"add_scalar", "", [=] { return fg::add_scalar(leaf(S), 2.5); }},
      {"mul_scalar", "", [=] { return fg::mul_scalar(leaf(S), -1.5); }},
      {"rsub_scalar", "", [=] { return fg::rsub_scalar(leaf(S), 2.0); }},
      {"rdiv_scalar", "", [=] { return fg::rdiv_scalar(leaf(S), 3.0); }},
      {"pow_scalar", "", [=] { return fg::pow_scalar(positive(S), 1.5); }},
      {"neg", "", [=] { return fg::neg(leaf(S)); }},
      {"exp", "", [=] { return fg::exp(leaf(S)); }},
      {"log", "", [=] { return fg::log(positive(S)); }},
      {"log1p", "", [=] { return fg::log1p(positive(S)); }},
      {"sqrt", "", [=] { return fg::sqrt(positive(S)); }},
      {"abs", "", [=] { return fg::abs(leaf(S)); }},
      {"sin", "", [=] { return fg::sin(leaf(S)); }},
      {"cos", "", [=] { return fg::cos(leaf(S)); }},
      {"tanh", "", [=] { return fg::tanh(leaf(S)); }},
      {"sigmoid", "", [=] { return fg::sigmoid(leaf(S)); }},
      {"relu", "", [=] { return fg::relu(leaf(S)); }},
      {"erf", "", [=] { return fg::erf(leaf(S)); }},
      {"silu", "", [=] { return fg::silu(leaf(S)); }},
      {"gelu", "", [=] { return fg::gelu(leaf(S), true); }},
      {"tanh_backward", "", [=] { return fg::tanh_backward(leaf(S), leaf(S)); }},
      {"sigmoid_backward", "", [=] { return fg::sigmoid_backward(leaf(S), leaf(S)); }},
      {"gelu_backward", "", [=] { return fg::gelu_backward(leaf(S), leaf(S), false); }},
      {"softplus", "", [=] { return fg::softplus(leaf(S), 2.0, 1.0); }},
      // Backward primitives the engine records under create_graph (their forward's VJP).
      {"silu_backward", "",
       [=] {
         fg::Tensor x = leaf(S);
         return fg::grad({fg::silu(x)}, {leaf(S)}, {x}, false, true, false)[0];
       }},
      {"softplus_backward", "",
       [=] {
         fg::Tensor x = leaf(S);
         return fg::grad({fg::softplus(x, 1.0, 20.0)}, {leaf(S)}, {x}, false, true, false)[0];
       }},
      {"clip", "", [=] { return fg::clip(leaf(S), -0.9, 0.8); }},
      {"where", "", [=] { return fg::where(mask(), leaf(S), leaf({4})); }},
      {"cast", "", [=] { return fg::cast(leaf(S), fg::DType::Float32); }},
      {"clone", "", [=] { return fg::clone(leaf(S)); }},
      {"sum", "", [=] { return fg::sum(leaf({2, 3, 4}), {0, 2}, false); }},
      {"amax", "", [=] { return fg::amax(leaf(S), {1}, false); }},
      {"amin", "", [=] { return fg::amin(leaf(S), {0}, true); }},
      {"prod", "", [=] { return fg::prod(leaf(S), {1}, false); }},
      {"softmax", "", [=] { return fg::softmax(leaf(S), 0); }},
      {"log_softmax", "", [=] { return fg::log_softmax(leaf(S), 1); }},
      {"logsumexp", "", [=] { return fg::logsumexp(leaf({2, 3, 4}), {0, 2}, false); }},
      {"softmax_cross_entropy", "", [=] { return fg::softmax_cross_entropy(leaf(S), ints({1, -100, 3})); }},
      {"softmax_cross_entropy", "", [=] { return fg::softmax_cross_entropy(leaf(S), positive(S)); }},
      {"linear", "", [=] { return fg::linear(leaf({5, 3}), leaf({4, 3}), leaf({4}), true); }},
      {"linear", "fused", [=] { return fg::linear(leaf({5, 3}), leaf({3, 4}), leaf({4}), false, kTanh); }},
      {"matmul", "", [=] { return fg::matmul(leaf({2, 3, 4}), leaf({4, 2})); }},
      // a plain matrix on the left (vmap folds a batched right side into its columns)
      {"matmul", "", [=] { return fg::matmul(leaf({3, 4}), leaf({2, 4, 2})); }},
      // K = 1: an outer product
      {"matmul", "", [=] { return fg::matmul(leaf({3, 1}), leaf({1, 2})); }},
      {"reshape", "", [=] { return fg::reshape(leaf(S), {2, 6}); }},
      {"permute", "", [=] { return fg::permute(leaf({2, 3, 4}), {2, 0, 1}); }},
      {"expand", "", [=] { return fg::expand(leaf({3, 1}), {2, 3, 4}); }},
      {"slice", "", [=] { return fg::slice(leaf({4, 5}), {{1, 3, 1}, {0, 5, 2}}); }},
      {"slice_scatter", "", [=] { return fg::slice_scatter(leaf({2, 3}), {4, 5}, {{1, 3, 1}, {0, 5, 2}}); }},
      {"concat", "", [=] { return fg::concat({leaf({2, 3}), leaf({2, 1}), leaf({2, 2})}, 1); }},
      {"pad", "", [=] { return fg::pad(leaf({2, 3}), {{1, 0}, {2, 1}}, 0.5); }},
      {"index_select", "", [=] { return fg::index_select(leaf(S), 0, ints({2, 0, 2, -1})); }},
      {"index_add", "", [=] { return fg::index_add(leaf({5, 3}), {4, 3}, 0, ints({1, 1, 3, -4, 1})); }},
      {"conv", "",
       [=] { return conv2(leaf({2, 2, 4, 5}), leaf({3, 2, 2, 3}), leaf({3}), fg::Activation::None); }},
      {"conv", "fused", [=] { return conv2(leaf({2, 2, 4, 5}), leaf({3, 2, 2, 3}), leaf({3}), kTanh); }},
      {"conv_grad_input", "",
       [=] {
         fg::Tensor x = leaf({2, 2, 4, 5}), w = leaf({3, 2, 2, 3});
         fg::Tensor y = conv2(x, w, fg::Tensor(), fg::Activation::None);
         return input_grad(y, leaf(y.shape()), x);
       }},
      {"conv_grad_weight", "",
       [=] {
         fg::Tensor x = leaf({2, 2, 4, 5}), w = leaf({3, 2, 2, 3});
         fg::Tensor y = conv2(x, w, fg::Tensor(), fg::Activation::None);
         return input_grad(y, leaf(y.shape()), w);
       }},
      {"max_pool", "", [=] { return fg::max_pool(leaf({2, 2, 5, 6}), {2, 3}, {2, 2}, {1, 1}, false); }},
      {"max_pool_backward", "",
       [=] {
         fg::Tensor x = leaf({2, 2, 5, 6});
         fg::Tensor y = fg::max_pool(x, {2, 3}, {2, 2}, {1, 1}, false);
         return fg::grad({y}, {leaf(y.shape())}, {x}, false, true, false)[0];
       }},
      {"avg_pool", "",
       [=] { return fg::avg_pool(leaf({2, 2, 5, 6}), {2, 3}, {2, 2}, {1, 1}, false, false); }},
      {"adaptive_avg_pool", "", [=] { return fg::adaptive_avg_pool(leaf({2, 2, 5, 6}), {2, 4}, false); }},
      {"avg_pool_adjoint", "",
       [=] {
         fg::Tensor x = leaf({2, 2, 5, 6});
         fg::Tensor y = fg::avg_pool(x, {2, 3}, {2, 2}, {1, 1}, true, false);
         return input_grad(y, leaf(y.shape()), x);
       }},
      {"adaptive_avg_pool_adjoint", "",
       [=] {
         fg::Tensor x = leaf({2, 2, 5, 6});
         fg::Tensor y = fg::adaptive_avg_pool(x, {2, 4}, false);
         return input_grad(y, leaf(y.shape()), x);
       }},
  };
  const auto& more = area_samples();
  all.insert(all.end(), more.begin(), more.end());
  return all;
}

// A tensor of t's shape and dtype whose values no rule could get right by accident.
fg::Tensor poison(const fg::Tensor& t) {
  fg::GradModeGuard ng(false);
  switch (t.dtype()) {
    case fg::DType::Bool:
      return fg::logical_not(t);
    case fg::DType::Int64:
      return fg::add_scalar(t, 1000003.0);
    default:
      return fg::full(t.shape(), std::nan(""), t.dtype());
  }
}

// Bitwise equality of two results (NaN != NaN, so a poisoned value that reaches the
// result is caught).
void expect_same(const fg::Tensor& a0, const fg::Tensor& b0, const std::string& what) {
  const fg::Tensor a = concrete(a0), b = concrete(b0);
  ASSERT_EQ(a.defined(), b.defined()) << what;
  if (!a.defined()) return;
  ASSERT_EQ(a.shape(), b.shape()) << what;
  ASSERT_EQ(a.dtype(), b.dtype()) << what;
  fg::Tensor ca = fg::contiguous(fg::cast(a, fg::DType::Float64)),
             cb = fg::contiguous(fg::cast(b, fg::DType::Float64));
  for (int64_t i = 0; i < ca.numel(); ++i)
    ASSERT_EQ(ca.data<double>()[i], cb.data<double>()[i]) << what << ", element " << i;
}

struct Recorded {
  std::shared_ptr<fg::Node> node;
  fg::Tensors outs;  // the saved outputs, as the engine hands them to the VJP
  fg::Tensors cot;
};

Recorded record(const Sample& s) {
  Recorded r;
  fg::Tensor y = s.run();
  r.node = y.impl()->grad_fn;
  if (!r.node) return r;
  for (auto& o : r.node->saved_outputs) r.outs.emplace_back(o);
  for (const fg::Shape& sh : r.node->prim->shapes(r.node->inputs)) r.cot.push_back(leaf(sh));
  // Only float outputs receive cotangents (max_pool's indices never do).
  if (r.node->prim->num_outputs() > 1) r.cot.resize(1);
  r.cot.resize(r.node->prim->num_outputs());
  for (auto& c : r.cot)
    if (c.defined()) c.impl()->requires_grad = false;
  return r;
}

std::string label(const Sample& s) { return s.name + (s.variant.empty() ? "" : "/" + s.variant); }

TEST(Registry, EveryDescriptorHasASample) {
  std::set<std::string> sampled, registered;
  for (const Sample& s : samples()) sampled.insert(label(s));
  for (const fg::PrimitiveDesc* d : fg::primitive_descriptors()) {
    const std::string l = std::string(d->name) + (*d->variant ? std::string("/") + d->variant : "");
    EXPECT_TRUE(registered.insert(l).second) << l << " is registered twice";
    EXPECT_TRUE(sampled.count(l)) << l << " has no sample in test_registry.cpp";
  }
  for (const std::string& l : sampled)
    EXPECT_TRUE(registered.count(l)) << l << " is sampled but not registered";
  // The names list (what Python walks) has each primitive once, variants folded in.
  std::vector<std::string> names = fg::primitive_registry();
  EXPECT_EQ(std::set<std::string>(names.begin(), names.end()).size(), names.size());
}

TEST(Registry, TapeKeepsWhatTheDescriptorSays) {
  for (const Sample& s : samples()) {
    SCOPED_TRACE(label(s));
    Recorded r = record(s);
    ASSERT_TRUE(r.node) << "no tape node";
    const fg::PrimitiveDesc& d = r.node->prim->desc();
    EXPECT_EQ(d.name, s.name);
    EXPECT_EQ(std::string(d.variant), s.variant);
    EXPECT_TRUE(d.arity_ok(r.node->inputs.size()));
    EXPECT_EQ(r.node->saved_outputs.size(), d.vjp_reads_outputs ? static_cast<size_t>(d.num_outputs) : 0u);
    for (size_t i = 0; i < r.node->inputs.size(); ++i) {
      const bool versioned = i < r.node->input_versions.size() && r.node->input_versions[i] >= 0;
      EXPECT_EQ(versioned, d.reads_input(i)) << "input " << i;
      EXPECT_EQ(r.node->needs_grad[i], d.differentiable(i) && r.node->inputs[i].requires_grad())
          << "input " << i;
    }
  }
}

TEST(Registry, VjpReadsNoMoreThanItsDescriptorDeclares) {
  for (const Sample& s : samples()) {
    SCOPED_TRACE(label(s));
    Recorded r = record(s);
    ASSERT_TRUE(r.node);
    const fg::Primitive& p = *r.node->prim;
    const fg::PrimitiveDesc& d = p.desc();
    fg::GradModeGuard ng(false);
    const fg::Tensors base = p.vjp(r.node->inputs, r.outs, r.cot, r.node->needs_grad);
    fg::Tensors ins = r.node->inputs, outs = r.outs;
    for (size_t i = 0; i < ins.size(); ++i)
      if (ins[i].defined() && !d.reads_input(i)) ins[i] = poison(ins[i]);
    if (!d.vjp_reads_outputs) {  // the engine passes none; a rule reading one meets poison
      outs.clear();
      for (const fg::Shape& sh : p.shapes(r.node->inputs))
        outs.push_back(fg::full(sh, std::nan(""), fg::DType::Float64));
    }
    fg::Tensors got;
    ASSERT_NO_THROW(got = p.vjp(ins, outs, r.cot, r.node->needs_grad));
    ASSERT_EQ(got.size(), base.size());
    for (size_t i = 0; i < base.size(); ++i)
      if (r.node->needs_grad[i]) expect_same(got[i], base[i], "gradient of input " + std::to_string(i));
  }
}

TEST(Registry, VjpSkipsInputsNotNeeded) {
  int multi = 0;
  for (const Sample& s : samples()) {
    SCOPED_TRACE(label(s));
    Recorded r = record(s);
    ASSERT_TRUE(r.node);
    const fg::Primitive& p = *r.node->prim;
    const std::vector<bool>& all = r.node->needs_grad;
    if (std::count(all.begin(), all.end(), true) < 2) continue;
    ++multi;
    fg::GradModeGuard ng(false);
    const fg::Tensors base = p.vjp(r.node->inputs, r.outs, r.cot, all);
    for (size_t i = 0; i < all.size(); ++i) {
      if (!all[i]) continue;
      std::vector<bool> need = all;
      need[i] = false;
      const fg::Tensors got = p.vjp(r.node->inputs, r.outs, r.cot, need);
      if (i < got.size()) {
        EXPECT_FALSE(got[i].defined()) << "input " << i << " was computed though not needed";
      }
      for (size_t j = 0; j < all.size() && j < got.size(); ++j)
        if (need[j]) expect_same(got[j], base[j], "gradient of input " + std::to_string(j));
    }
  }
  EXPECT_GE(multi, 20);  // the binary ops, linear, conv, matmul, concat, where, ...
}

// What honouring `need` saves on the tape: the gradient of only one matmul operand
// with create_graph records a transpose and one matmul, not two of each.
TEST(Registry, NeedSkipsTapeWork) {
  fg::Tensor a = leaf({3, 4}), b = leaf({4, 2});
  fg::Tensor y = fg::matmul(a, b);
  const int64_t before = fg::Node::live_count.load();
  fg::Tensor ga = fg::grad({y}, {fg::ones_like(y)}, {a}, true, true, false)[0];
  EXPECT_EQ(fg::Node::live_count.load() - before, 2);  // g bᵀ: permute + matmul; nothing for b
  EXPECT_EQ(std::string(ga.impl()->grad_fn->prim->name()), "matmul");
}

}  // namespace

// The whole walk, for the batching-rule registry test (test_registry_vmap.cpp).
std::vector<Sample> fastgrad::registry_test::all_samples() { return samples(); }

// custom_function (fg.autograd.Function) with C++ stand-ins for the Python rules: x*x
// saving its input, and exp(x) saving its output (the engine keeps that one).
FG_REGISTRY_SAMPLES(custom) {
  return {
      {"custom_function", "",
       [] {
         fg::Tensor x = leaf({3, 4}), y;
         {
           fg::GradModeGuard ng(false);
           y = fg::mul(x, x);
         }
         fg::CustomRules r{"Square",
                           [](const fg::Tensors& s, const fg::Tensors& c) {
                             return fg::Tensors{fg::mul(fg::mul_scalar(s[0], 2.0), c[0])};
                           },
                           {}};
         return fg::custom_function({x}, {y}, {x}, r)[0];
       }},
      {"custom_function", "saves_outputs",
       [] {
         fg::Tensor x = leaf({3, 4}), y;
         {
           fg::GradModeGuard ng(false);
           y = fg::exp(x);
         }
         fg::CustomRules r{
             "Exp",
             [](const fg::Tensors& s, const fg::Tensors& c) { return fg::Tensors{fg::mul(s[0], c[0])}; },
             {}};
         return fg::custom_function({x}, {y}, {y}, r)[0];
       }},
  };
}
