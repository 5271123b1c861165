// Factories and random numbers: fg.full, arange, linspace, eye, rand, randn, ...
#include "convert.h"

namespace fastgrad::bindings {
void bind_factories(py::module_& m) {
  // Python ints fill integer tensors exactly (never through double); a float fill of an
  // int64 tensor must be finite and in range (RuntimeError otherwise, as PyTorch).
  m.def(
      "full", [](const Shape& s, py::handle v, DType d) { return filled(s, v, d, "full").impl(); },
      py::arg("shape"), py::arg("fill_value"), py::arg("dtype"),
      "full(shape, fill_value, dtype) -> Tensor\n\nA tensor of shape filled with fill_value (ints exact for "
      "int64).");
  // All-int arguments take the exact integer path (values near 2**63 stay exact).
  m.def(
      "arange",
      [](py::handle a, py::handle b, py::handle st, DType d) {
        if (is_int_like(a.ptr()) && is_int_like(b.ptr()) && is_int_like(st.ptr())) {
          const int64_t ia = py_int64(a.ptr(), "arange"), ib = py_int64(b.ptr(), "arange"),
                        is = py_int64(st.ptr(), "arange");
          return arange_int(ia, ib, is, d).impl();
        }
        const double da = py_double(a.ptr(), "arange"), db = py_double(b.ptr(), "arange"),
                     ds = py_double(st.ptr(), "arange");
        return arange(da, db, ds, d).impl();
      },
      py::arg("start"), py::arg("stop"), py::arg("step"), py::arg("dtype"),
      "arange(start, stop, step, dtype) -> Tensor\n\nThe 1-d tensor start, start + step, ... below stop "
      "(all-int arguments exact).");
  // Factories run through the kernel hook like every op: GIL released, Ctrl-C honoured.
  m.def(
      "linspace", [](double a, double b, int64_t n, DType d) { return linspace(a, b, n, d).impl(); },
      py::arg("start"), py::arg("stop"), py::arg("num"), py::arg("dtype"),
      "linspace(start, stop, num, dtype) -> Tensor\n\nnum evenly spaced values from start to stop inclusive: "
      "(num,).");
  m.def(
      "eye", [](int64_t n, int64_t k, DType d) { return eye(n, k, d).impl(); }, py::arg("n"), py::arg("m"),
      py::arg("dtype"), "eye(n, m, dtype) -> Tensor\n\nThe (n, m) identity matrix.");
  m.def(
      "rand", [](const Shape& s, DType d) { return rand(s, d).impl(); }, py::arg("shape"), py::arg("dtype"),
      "rand(shape, dtype) -> Tensor\n\nUniform [0, 1) samples of shape.");
  m.def(
      "randn", [](const Shape& s, DType d) { return randn(s, d).impl(); }, py::arg("shape"), py::arg("dtype"),
      "randn(shape, dtype) -> Tensor\n\nStandard normal samples of shape.");
  m.def(
      "randint", [](int64_t lo, int64_t hi, const Shape& s) { return randint(lo, hi, s).impl(); },
      py::arg("low"), py::arg("high"), py::arg("shape"),
      "randint(low, high, shape) -> Tensor\n\nUniform int64 samples in [low, high) of shape.");
  m.def(
      "randperm", [](int64_t n) { return randperm(n).impl(); }, py::arg("n"),
      "randperm(n) -> Tensor\n\nA random permutation of 0..n-1: (n,) int64.");
  m.def("manual_seed", &manual_seed, py::arg("seed"),
        "manual_seed(seed) -> None\n\nSeeds every random draw of fastgrad (reproducible runs).");
  m.def("next_seed", &next_seed,
        "next_seed() -> int\n\nA fresh seed drawn from the global generator (for worker processes).");
}
}  // namespace fastgrad::bindings
