// Registry samples of fg.linalg's primitives (cpp/src/ops/linalg_decomp.cpp, linalg_norm.cpp). Inputs are
// built well-conditioned (diagonally dominant, or A Aᵀ + 3I for the symmetric ones).
#include "registry_samples.h"

using namespace fastgrad::registry_test;

namespace {
fg::Tensor dominant(const fg::Shape& s) {
  return fg::add(fg::mul_scalar(leaf(s), 0.3),
                 fg::mul_scalar(fg::eye(s.back(), s.back(), fg::DType::Float64), 3.0));
}
fg::Tensor spd(const fg::Shape& s) {
  fg::Tensor a = leaf(s);
  return fg::add(fg::matmul(a, fg::transpose(a, -1, -2)),
                 fg::mul_scalar(fg::eye(s.back(), s.back(), fg::DType::Float64), 3.0));
}
}  // namespace

FG_REGISTRY_SAMPLES(linalg) {
  return {
      {"linalg_inv", "", [] { return fg::linalg_inv(dominant({2, 3, 3})); }},
      {"linalg_solve", "", [] { return fg::linalg_solve(dominant({3, 3}), leaf({3, 2})); }},
      {"linalg_solve_triangular", "",
       [] { return fg::linalg_solve_triangular(dominant({3, 3}), leaf({3, 2}), false, true, false); }},
      {"linalg_cholesky", "", [] { return fg::linalg_cholesky(spd({3, 3})); }},
      {"linalg_slogdet", "", [] { return fg::linalg_slogdet(dominant({3, 3}))[1]; }},
      {"linalg_eigh", "", [] { return fg::linalg_eigh(spd({3, 3}), false)[0]; }},
      {"linalg_qr", "", [] { return fg::linalg_qr(leaf({4, 3}), false)[0]; }},
      {"linalg_svd", "", [] { return fg::linalg_svd(leaf({4, 3}), false)[1]; }},
      {"linalg_vector_norm", "", [] { return fg::linalg_vector_norm(leaf({2, 3, 4}), 3.0, {0, 2}, false); }},
  };
}
