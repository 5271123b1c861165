// Sorting, scans and selection: sort, argsort, topk, cumsum, gather, scatter, masked ops, tril/triu, roll,
// flip, ...
#include "convert.h"

namespace fastgrad::bindings {
void bind_select(py::module_& m, TensorClass& T) {
  (void)m;
  (void)T;
}
}  // namespace fastgrad::bindings
