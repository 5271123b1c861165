// Bindings of the neural-network ops (thin: the op validates its arguments in C++).
#include "convert.h"

namespace fastgrad::bindings {
void bind_nn_ops(py::module_& m) {
  m.def(
      "softmax_cross_entropy",
      [](const TensorPtr& logits, const TensorPtr& target, int64_t ignore_index) {
        return softmax_cross_entropy(Tensor(logits), Tensor(target), ignore_index).impl();
      },
      py::arg("logits"), py::arg("target"), py::arg("ignore_index") = -100,
      "Per-example cross-entropy of logits (M, K) against int64 class indices (M,) or class "
      "probabilities (M, K): logsumexp(z) - z[y] (0 where the target is ignore_index), resp. "
      "-sum_k q_k log_softmax(z)_k. Returns (M,). One tape node; its VJP is softmax(z) - onehot(y).");
}
}  // namespace fastgrad::bindings
