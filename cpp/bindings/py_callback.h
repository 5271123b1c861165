// Python callables called back from the engine (tensor hooks, autograd.Function rules),
// which runs without the GIL, possibly on a thread that never held it.
#pragma once
#include <memory>

#include "convert.h"

namespace fastgrad::bindings {

// A Python object the engine may copy and drop without the GIL: the shared_ptr's count
// is atomic, and the last owner takes the GIL to drop the reference.
using PyRef = std::shared_ptr<py::object>;
inline PyRef py_ref(py::object o) {
  return PyRef(new py::object(std::move(o)), [](py::object* p) { gil::with_gil_or_leak([p] { delete p; }); });
}

// Runs f() holding the GIL (taking it when this thread does not hold it). A Python
// exception leaves as py::error_already_set, which keeps the original exception and
// drops it under the GIL; the binding that released the GIL re-raises it.
template <class F>
auto with_gil(F&& f) -> decltype(f()) {
  if (PyGILState_Check()) return f();
  PyGILState_STATE st{};
  gil::take_gil_unless_exiting([&st] { st = PyGILState_Ensure(); }, true);
  struct Release {
    PyGILState_STATE s;
    ~Release() { PyGILState_Release(s); }
  } rel{st};
  return f();
}

inline py::object opt_tensor(const Tensor& t) { return t.defined() ? py::cast(t.impl()) : py::none(); }
inline Tensor tensor_or_undefined(const py::handle& h, const char* what) {
  if (h.is_none()) return Tensor();
  if (!py::isinstance<TensorImpl>(h))
    throw TypeError(std::string(what) + ": expected a Tensor or None, got " + Py_TYPE(h.ptr())->tp_name);
  return Tensor(h.cast<TensorPtr>());
}

}  // namespace fastgrad::bindings
