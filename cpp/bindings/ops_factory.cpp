// Factories and random numbers: fg.full, arange, linspace, eye, rand, randn, ...
#include <random>

#include "convert.h"
#include "fastgrad/random.h"

namespace fastgrad::bindings {
namespace {
// torch.manual_seed's rule: any Python int, taken modulo 2**64 (so -1 is 2**64 - 1).
uint64_t seed_arg(py::handle h) {
  if (!is_int_like(h.ptr()))
    throw TypeError(std::string("manual_seed: seed must be an int, got ") + Py_TYPE(h.ptr())->tp_name);
  py::int_ i = py::reinterpret_borrow<py::object>(h).attr("__index__")();
  const unsigned long long v = PyLong_AsUnsignedLongLongMask(i.ptr());
  if (PyErr_Occurred()) throw py::error_already_set();
  return v;
}

void bind_generator(py::module_& m) {
  using GP = std::shared_ptr<Generator>;
  py::class_<Generator, GP>(
      m, "Generator",
      "A stream of random numbers (torch.Generator): rand, randn, randint, randperm, "
      "random_split and samplers draw from it when passed as generator=; its own state, "
      "independent of fg.manual_seed.")
      // Generator(device='cpu'), parsed here so that any other call is a TypeError that says
      // so (not pybind11's overload listing).
      .def(py::init([](const py::args& a, const py::kwargs& kw) {
             py::object device =
                 a.size() == 1 ? py::reinterpret_borrow<py::object>(a[0]) : py::object(py::str("cpu"));
             if (kw.size() == 1 && kw.contains("device") && a.empty()) device = kw["device"];
             if (a.size() > 1 || (a.size() + kw.size()) > 1 || (kw.size() == 1 && !kw.contains("device")))
               throw TypeError("Generator: takes one optional argument, device='cpu'");
             if (!device.is_none() && std::string(py::str(device)).rfind("cpu", 0) != 0)
               throw ValueError("Generator: fastgrad runs on the CPU only, got device '" +
                                std::string(py::str(device)) + "'");
             return std::make_shared<Generator>();
           }),
           "Generator(device='cpu'): a new stream, seeded with the default seed.")
      .def(
          "manual_seed",
          [](Generator& g, py::handle seed) -> Generator& {
            g.manual_seed(seed_arg(seed));
            return g;
          },
          py::arg("seed"), py::return_value_policy::reference_internal,
          "manual_seed(seed) -> Generator\n\nRestarts the stream from seed (an int, modulo 2**64); returns "
          "the generator.")
      .def(
          "seed",
          [](Generator& g) {
            const uint64_t s = (static_cast<uint64_t>(std::random_device{}()) << 32) ^ std::random_device{}();
            g.manual_seed(s);
            return s;
          },
          "seed() -> int\n\nRestarts the stream from a nondeterministic seed; returns it.")
      .def("initial_seed", &Generator::initial_seed,
           "initial_seed() -> int\n\nThe seed the stream started from.")
      .def(
          "get_state", [](const Generator& g) { return py::bytes(g.state()); },
          "get_state() -> bytes\n\nThe full state (for set_state).")
      .def(
          "set_state",
          [](Generator& g, const py::bytes& s) -> Generator& {
            g.set_state(std::string(s));
            return g;
          },
          py::arg("new_state"), py::return_value_policy::reference_internal,
          "set_state(new_state) -> Generator\n\nRestores a state from get_state().")
      .def_property_readonly(
          "device", [](const Generator&) { return "cpu"; }, "Always 'cpu'.")
      .def("__repr__", [](const Generator& g) {
        return std::string("<fastgrad.Generator") +
               (&g == &default_generator() ? " (the default generator)" : "") + ">";
      });
  // The global generator, owned by the library (never freed by Python).
  m.attr("default_generator") = GP(&default_generator(), [](Generator*) {});
}
}  // namespace

void bind_factories(py::module_& m) {
  bind_generator(m);
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
      "rand",
      [](const Shape& s, DType d, py::handle g) { return rand(s, d, generator_arg(g, "rand")).impl(); },
      py::arg("shape"), py::arg("dtype"), py::arg("generator") = py::none(),
      "rand(shape, dtype, generator=None) -> Tensor\n\nUniform [0, 1) samples of shape.");
  m.def(
      "randn",
      [](const Shape& s, DType d, py::handle g) { return randn(s, d, generator_arg(g, "randn")).impl(); },
      py::arg("shape"), py::arg("dtype"), py::arg("generator") = py::none(),
      "randn(shape, dtype, generator=None) -> Tensor\n\nStandard normal samples of shape.");
  m.def(
      "randint",
      [](int64_t lo, int64_t hi, const Shape& s, py::handle g) {
        return randint(lo, hi, s, generator_arg(g, "randint")).impl();
      },
      py::arg("low"), py::arg("high"), py::arg("shape"), py::arg("generator") = py::none(),
      "randint(low, high, shape, generator=None) -> Tensor\n\nUniform int64 samples in [low, high) of "
      "shape.");
  m.def(
      "randperm", [](int64_t n, py::handle g) { return randperm(n, generator_arg(g, "randperm")).impl(); },
      py::arg("n"), py::arg("generator") = py::none(),
      "randperm(n, generator=None) -> Tensor\n\nA random permutation of 0..n-1: (n,) int64.");
  m.def(
      "manual_seed", [](py::handle seed) { manual_seed(seed_arg(seed)); }, py::arg("seed"),
      "manual_seed(seed) -> None\n\nSeeds every random draw of fastgrad (reproducible runs).");
  m.def("next_seed", &next_seed,
        "next_seed() -> int\n\nA fresh seed drawn from the global generator (for worker processes).");
}
}  // namespace fastgrad::bindings
