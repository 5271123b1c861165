// More elementwise math: the torch.special-style unary and binary functions and activations.
#include "convert.h"

namespace fastgrad::bindings {
void bind_unary(py::module_& m, TensorClass& T) {
  (void)m;
  (void)T;
}
}  // namespace fastgrad::bindings
