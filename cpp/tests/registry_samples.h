// Shared by the registry test (test_registry.cpp) and the per-area sample files
// (test_registry_<area>.cpp): leaves, a Sample record, and FG_REGISTRY_SAMPLES, which adds an
// area's samples to the walk without editing test_registry.cpp.
#pragma once

#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "fastgrad/autodiff.h"
#include "fastgrad/batching.h"
#include "fastgrad/ops.h"

namespace fastgrad::registry_test {
namespace fg = fastgrad;

inline std::mt19937_64& gen() {
  static std::mt19937_64 g(1234);
  return g;
}

// A float64 leaf with values in [lo, hi] (signs flipped at random when `mixed`).
inline fg::Tensor leaf(const fg::Shape& s, double lo = 0.3, double hi = 1.7, bool mixed = true) {
  fg::Tensor t = fg::empty(s, fg::DType::Float64);
  std::uniform_real_distribution<double> u(lo, hi);
  std::bernoulli_distribution b(0.5);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<double>()[i] = (mixed && b(gen()) ? -1 : 1) * u(gen());
  t.impl()->requires_grad = true;
  return t;
}
inline fg::Tensor positive(const fg::Shape& s) { return leaf(s, 0.5, 2.0, false); }
inline fg::Tensor ints(std::initializer_list<int64_t> v) {
  fg::Tensor t = fg::empty({static_cast<int64_t>(v.size())}, fg::DType::Int64);
  int64_t i = 0;
  for (int64_t x : v) t.data<int64_t>()[i++] = x;
  return t;
}
inline fg::Tensor mask() {
  fg::Tensor t = fg::empty({3, 4}, fg::DType::Bool);
  const bool v[12] = {true, false, true, true, false, false, true, false, true, true, false, true};
  std::memcpy(t.data<bool>(), v, sizeof v);
  return t;
}
inline fg::Tensor input_grad(const fg::Tensor& y, const fg::Tensor& g, const fg::Tensor& x) {
  return fg::grad({y}, {g}, {x}, true, true, false)[0];
}

// A batched tensor (a vmap rule's output, e.g. vmap_unwrap's cotangent) as its physical
// value with every batch axis in front; other tensors as they are.
inline fg::Tensor concrete(const fg::Tensor& t) {
  if (!t.defined() || !t.is_batched()) return t;
  const fg::TensorImpl* p = t.get();
  return concrete(fg::vmap_unwrap(t, p->blevel, 0, p->bvalue->shape[p->bdim]));
}

struct Sample {
  std::string name, variant;
  std::function<fg::Tensor()> run;  // records the primitive as its output's grad_fn
};

// Every sample (test_registry.cpp's own and the area files'), in walk order.
std::vector<Sample> all_samples();

// Samples added by the area files; each FG_REGISTRY_SAMPLES block runs at static-init time.
inline std::vector<Sample>& area_samples() {
  static std::vector<Sample> v;
  return v;
}
struct AddSamples {
  explicit AddSamples(std::vector<Sample> (*make)()) {
    for (auto& s : make()) area_samples().push_back(std::move(s));
  }
};
}  // namespace fastgrad::registry_test

// FG_REGISTRY_SAMPLES(area) { return {{"name", "", [] { ... }}, ...}; }
#define FG_REGISTRY_SAMPLES(area)                                                       \
  static std::vector<::fastgrad::registry_test::Sample> fg_samples_##area();            \
  static const ::fastgrad::registry_test::AddSamples fg_add_##area(&fg_samples_##area); \
  static std::vector<::fastgrad::registry_test::Sample> fg_samples_##area()
