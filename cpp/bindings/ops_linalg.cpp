// Linear algebra: einsum, tensordot, outer, kron and fg.linalg (solve, cholesky, inv, det, qr, eigh, svd,
// ...).
#include "convert.h"

namespace fastgrad::bindings {
void bind_linalg(py::module_& m, TensorClass& T) {
  (void)m;
  (void)T;
}
}  // namespace fastgrad::bindings
