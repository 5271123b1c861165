// Registry samples of the unary-math primitives of issue 12 (ops/elementwise_unary.cpp,
// ops/elementwise_binary.cpp).
#include "registry_samples.h"

using namespace fastgrad::registry_test;

namespace {
fg::Tensor in_range(double lo, double hi) { return leaf({3, 4}, lo, hi, false); }
}  // namespace

FG_REGISTRY_SAMPLES(unary) {
  const fg::Shape S{3, 4};
  return {
      {"expm1", "", [=] { return fg::expm1(leaf(S)); }},
      {"exp2", "", [=] { return fg::exp2(leaf(S)); }},
      {"log2", "", [=] { return fg::log2(positive(S)); }},
      {"log10", "", [=] { return fg::log10(positive(S)); }},
      {"tan", "", [=] { return fg::tan(in_range(-1.0, 1.0)); }},
      {"sinh", "", [=] { return fg::sinh(leaf(S)); }},
      {"cosh", "", [=] { return fg::cosh(leaf(S)); }},
      {"asinh", "", [=] { return fg::asinh(leaf(S)); }},
      {"acosh", "", [=] { return fg::acosh(in_range(1.2, 3.0)); }},
      {"atanh", "", [=] { return fg::atanh(in_range(-0.8, 0.8)); }},
      {"asin", "", [=] { return fg::asin(in_range(-0.8, 0.8)); }},
      {"acos", "", [=] { return fg::acos(in_range(-0.8, 0.8)); }},
      {"atan", "", [=] { return fg::atan(leaf(S)); }},
      {"erfc", "", [=] { return fg::erfc(leaf(S)); }},
      {"erfinv", "", [=] { return fg::erfinv(in_range(-0.9, 0.9)); }},
      {"rsqrt", "", [=] { return fg::rsqrt(positive(S)); }},
      {"sinc", "", [=] { return fg::sinc(leaf(S)); }},
      {"floor", "", [=] { return fg::floor(leaf(S)); }},
      {"ceil", "", [=] { return fg::ceil(leaf(S)); }},
      {"trunc", "", [=] { return fg::trunc(leaf(S)); }},
      {"round", "", [=] { return fg::round(leaf(S), 1); }},
      {"hardtanh", "", [=] { return fg::hardtanh(leaf(S), -0.9, 0.8); }},
      {"elu", "", [=] { return fg::elu(leaf(S), 1.5, 1.1, 0.9); }},
      {"atan2", "", [=] { return fg::atan2(leaf(S), leaf({4})); }},
      {"hypot", "", [=] { return fg::hypot(leaf(S), leaf(S)); }},
      {"copysign", "", [=] { return fg::copysign(leaf(S), leaf({3, 1})); }},
      {"fmod", "", [=] { return fg::fmod(leaf(S), positive(S)); }},
      {"remainder", "", [=] { return fg::remainder(leaf(S), positive({4})); }},
      {"div_trunc", "", [=] { return fg::div_rounding(leaf(S), positive(S), "trunc"); }},
      {"div_floor", "", [=] { return fg::div_rounding(leaf(S), positive(S), "floor"); }},
  };
}
