// PyTorch-style Tensor methods and conventions (size(), dim(), type(), new_*, to(), ...).
#include "convert.h"

namespace fastgrad::bindings {
void bind_methods(py::module_& m, TensorClass& T) {
  (void)m;
  (void)T;
}
}  // namespace fastgrad::bindings
