// pybind11 bindings: thin, no mathematics. Tensors cross as shared_ptr<TensorImpl> so a
// Python object keeps its identity (x.grad is x.grad). One file per topic (convert.h
// lists them); this one creates the module, the exception mapping, dtype and Tensor.
#include "convert.h"

using namespace fastgrad;
using namespace fastgrad::bindings;

PYBIND11_MODULE(_C, m) {
  m.doc() = "fastgrad C++ core";

  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const ValueError& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    } catch (const TypeError& e) {
      PyErr_SetString(PyExc_TypeError, e.what());
    } catch (const IndexError& e) {
      PyErr_SetString(PyExc_IndexError, e.what());
    } catch (const RuntimeError& e) {
      PyErr_SetString(PyExc_RuntimeError, e.what());
    } catch (const OverflowError& e) {
      PyErr_SetString(PyExc_OverflowError, e.what());
    } catch (const std::bad_alloc&) {
      PyErr_SetString(PyExc_MemoryError, "fastgrad: out of memory");
    } catch (const py::cast_error& e) {
      // A Python value that does not convert to the C++ argument is a type error (pybind11
      // maps cast_error to RuntimeError, the class of autograd misuse).
      PyErr_SetString(PyExc_TypeError,
                      (std::string("fastgrad: argument conversion failed: ") + e.what()).c_str());
    } catch (const Interrupted&) {
      // A kernel stopped for SIGINT outside the apply hook: Python's handler decides.
      if (PyErr_CheckSignals() == 0) PyErr_SetNone(PyExc_KeyboardInterrupt);
    }
  });

  py::enum_<DType> dtype_cls(m, "dtype",
                             "A tensor element type: float32, float64, int64 or bool (fg.float32, ...).");
  dtype_cls.value("float32", DType::Float32)
      .value("float64", DType::Float64)
      .value("int64", DType::Int64)
      .value("bool", DType::Bool)
      .def_property_readonly(
          "itemsize", [](DType d) { return itemsize(d); }, "Bytes per element.")
      .def_property_readonly(
          "is_floating_point", [](DType d) { return is_floating(d); }, "True for float32 and float64.")
      // fg.dtype(x) converts a name ("float32"), a NumPy dtype or a fastgrad dtype, as
      // np.dtype(x) does; anything else is a TypeError naming what it got, not pybind11's
      // overload listing.
      .def(
          py::init([](py::args a, const py::kwargs& kw) { return dtype_from(a, kw); }),
          "fastgrad.dtype(x): the fastgrad dtype of x (a name such as 'float32', a NumPy dtype or a dtype).");
  // Assigned, not def'd: def() would chain these after enum_'s own __repr__/__str__, which
  // accept every enum value and so would always win.
  dtype_cls.attr("__repr__") = py::cpp_function(
      [](DType d) { return std::string("fastgrad.") + dtype_name(d); }, py::is_method(dtype_cls));
  dtype_cls.attr("__str__") = py::cpp_function(
      [](DType d) { return std::string("fastgrad.") + dtype_name(d); }, py::is_method(dtype_cls));

  py::class_<TensorImpl, TP> T(m, "Tensor",
                               "An n-d array of float32/float64/int64/bool on the autodiff tape: shape, "
                               "dtype, requires_grad, grad; its ops are fastgrad's functions as methods.",
                               py::buffer_protocol());
  bind_runtime(m);
  bind_tensor(m, T);
  bind_operators(m, T);
  bind_protocol(m, T);
  bind_index(m, T);
  bind_numpy(m, T);
  bind_dlpack(m, T);
  bind_factories(m);
  bind_math(m, T);
  bind_shape(m, T);
  bind_layers(m);
  bind_optim(m);
  bind_autograd(m, T);
  bind_nn_ops(m);
  bind_linalg(m, T);
  bind_linalg2(m, T);
  bind_select(m, T);
  bind_select_sort(m, T);
  bind_select_shape(m, T);
  bind_unary(m, T);
  bind_spatial(m, T);
  bind_methods(m, T);
  bind_shape2(m, T);
  bind_shape3(m, T);
  bind_shape4(m, T);
  bind_reduce2(m, T);
}
