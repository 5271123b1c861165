// Spatial ops: padding modes, pooling options, unpooling, interpolation, transposed convolution.
#include "convert.h"

namespace fastgrad::bindings {
void bind_spatial(py::module_& m, TensorClass& T) {
  (void)m;
  (void)T;
}
}  // namespace fastgrad::bindings
