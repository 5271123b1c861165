// Registry samples of the selection, sorting and scan primitives (ops/select.cpp, scan.cpp).
#include "registry_samples.h"

using namespace fastgrad::registry_test;

namespace {
fg::Tensor index2d(std::initializer_list<int64_t> v, fg::Shape s) { return fg::reshape(ints(v), s); }
}  // namespace

FG_REGISTRY_SAMPLES(select) {
  return {
      {"gather", "", [] { return fg::gather(leaf({3, 4}), 0, index2d({0, 2, 1, 2, 2, 0, 0, 1}, {2, 4})); }},
      {"scatter_add", "",
       [] {
         return fg::scatter_add_into(leaf({2, 4}), {3, 4}, 0, index2d({0, 2, 1, 2, 2, 0, 0, 1}, {2, 4}));
       }},
      {"scatter", "",
       [] { return fg::scatter(leaf({3, 4}), 1, index2d({3, 0, 1, 2, 0, 2}, {3, 2}), leaf({3, 2}), ""); }},
      {"scatter_reduce_prod", "",
       [] {
         return fg::scatter_reduce(leaf({3, 4}), 0, index2d({0, 2, 1, 2, 2, 0, 0, 1}, {2, 4}), leaf({2, 4}),
                                   "prod", true);
       }},
      {"cumsum", "", [] { return fg::cumsum(leaf({3, 4}), 1); }},
      {"cumprod", "", [] { return fg::cumprod(leaf({3, 4}), 1); }},
      {"logcumsumexp", "", [] { return fg::logcumsumexp(leaf({3, 4}), 0); }},
  };
}
