// Autograd entry points: backward, grad, grad mode, JVP levels, tangents, the registry.
#include "py_callback.h"
#include "fastgrad/batching.h"

namespace fastgrad::bindings {
namespace {
struct HookHandle {
  std::weak_ptr<TensorImpl> t;
  int64_t id;
};
// A Python rule called back by the engine (without the GIL, maybe on another thread):
// f(saved, values) -> a list of Tensor-or-None; a Python exception leaves as itself.
std::function<Tensors(const Tensors&, const Tensors&)> py_rule(const py::object& f, const std::string& what) {
  if (f.is_none()) return {};
  PyRef r = py_ref(f);
  return [r, what](const Tensors& saved, const Tensors& vals) {
    return with_gil([&] {
      py::list s, v;
      for (const Tensor& t : saved) s.append(opt_tensor(t));
      for (const Tensor& t : vals) v.append(opt_tensor(t));
      py::object res = (*r)(s, v);
      Tensors out;
      for (const py::handle h : res) out.push_back(tensor_or_undefined(h, what.c_str()));
      return out;
    });
  };
}
}  // namespace

void bind_autograd(py::module_& m, TensorClass& T) {
  py::class_<HookHandle>(m, "_HookHandle",
                         "What Tensor.register_hook returns: .remove() unregisters the hook.")
      .def(
          "remove",
          [](HookHandle& h) {
            if (auto t = h.t.lock()) remove_grad_hook(t, h.id);
          },
          "remove() -> None\n\nUnregisters the hook (no-op when already removed).");
  T.def(
       "register_hook",
       [](const TP& t, py::object fn) {
         if (!PyCallable_Check(fn.ptr()))
           throw TypeError(std::string("register_hook: expected a callable, got ") +
                           Py_TYPE(fn.ptr())->tp_name);
         PyRef f = py_ref(std::move(fn));
         int64_t id = add_grad_hook(t, [f](const Tensor& g) {
           return with_gil(
               [&] { return tensor_or_undefined((*f)(opt_tensor(g)), "register_hook: the hook returned"); });
         });
         return HookHandle{t, id};
       },
       py::arg("hook"),
       "register_hook(hook) -> handle\n\nhook(grad) runs when this tensor's gradient (its shape) is computed "
       "by backward or autograd.grad; a Tensor it returns replaces the gradient. handle.remove() unregisters "
       "it.")
      .def(
          "register_post_accumulate_grad_hook",
          [](const TP& t, py::object fn) {
            if (!PyCallable_Check(fn.ptr()))
              throw TypeError(std::string("register_post_accumulate_grad_hook: expected a callable, got ") +
                              Py_TYPE(fn.ptr())->tp_name);
            PyRef f = py_ref(std::move(fn));
            int64_t id = add_post_accumulate_grad_hook(
                t, [f](const Tensor& leaf) { with_gil([&] { (*f)(opt_tensor(leaf)); }); });
            return HookHandle{t, id};
          },
          py::arg("hook"),
          "register_post_accumulate_grad_hook(hook) -> handle\n\nhook(tensor) runs (its result ignored) "
          "right after backward accumulated this leaf's gradient of the pass into .grad, as soon as that "
          "gradient is final during the pass (not at its end), once per backward. handle.remove() "
          "unregisters it.")
      .def(
          "retain_grad", [](const TP& t) { retain_grad(t); },
          "retain_grad() -> None\n\nA non-leaf tensor keeps its gradient (its shape) in .grad after "
          "backward.")
      .def_property_readonly(
          "retains_grad", [](const TP& t) { return retains_grad(t); },
          "Whether retain_grad() was called on this non-leaf tensor.")
      .def(
          "backward",
          [](const TP& t, const OptTensor& g, bool retain_graph, bool create_graph) {
            gil::without_gil([&] { backward({Tensor(t)}, {Tensor(g.p)}, retain_graph, create_graph); });
          },
          py::arg("grad") = py::none(), py::arg("retain_graph") = false, py::arg("create_graph") = false,
          "backward(grad=None, retain_graph=False, create_graph=False)\n\nAccumulates d(x)/d(leaf) "
          "contracted with grad (x's shape; None means 1 for a one-element x) into every leaf's .grad "
          "(cheat sheet §3).")
      .def("_tangent", [](const TP& t, int64_t level) { return Tensor(t).tangent(level).impl(); })
      .def("_set_tangent",
           [](const TP& t, int64_t level, const TP& v) { Tensor(t).set_tangent(level, Tensor(v)); })
      .def("_clear_tangent", [](const TP& t, int64_t level) {
        auto& v = t->tangents;
        v.erase(std::remove_if(v.begin(), v.end(), [&](auto& kv) { return kv.first == level; }), v.end());
      });
  // ---- autodiff
  m.def("grad_enabled", &grad_enabled);
  m.def("set_grad_enabled", &set_grad_enabled);
  m.def("backward",
        [](const std::vector<TP>& roots, const std::vector<OptTensor>& grads, bool retain, bool create) {
          Tensors g;
          for (auto& o : grads) g.emplace_back(o.p);
          gil::without_gil([&] { backward(to_tensors(roots), g, retain, create); });
        });
  m.def(
      "grad",
      [](const std::vector<TP>& roots, const std::vector<OptTensor>& grads, const std::vector<TP>& inputs,
         bool retain, bool create, bool allow_unused) {
        Tensors r, g;
        for (auto& o : grads) g.emplace_back(o.p);
        gil::without_gil(
            [&] { r = grad(to_tensors(roots), g, to_tensors(inputs), retain, create, allow_unused); });
        std::vector<OptTensor> out;
        for (auto& t : r) out.push_back({t.impl()});
        return out;
      },
      py::arg("outputs"), py::arg("grad_outputs"), py::arg("inputs"), py::arg("retain_graph") = false,
      py::arg("create_graph") = false, py::arg("allow_unused") = false);
  m.def("_set_trace_depth", [](int d) { trace_depth() = d; });
  m.def("_reaches", [](const TP& from, const std::vector<TP>& targets) {
    Tensors tg = to_tensors(targets);
    return gil::without_gil([&] { return reaches(Tensor(from), tg); });
  });
  m.def(
      "_graph_leaves",
      [](const std::vector<TP>& roots) {
        Tensors r = to_tensors(roots);
        return to_ptrs(gil::without_gil([&] { return graph_leaves(r); }));
      },
      py::arg("roots"),
      "_graph_leaves(roots) -> list[Tensor]\n\nThe leaves requiring grad that the tape reaches from roots.");
  m.def("push_jvp_level", &push_jvp_level);
  // vmap (batching.h); fastgrad/transforms/_vmap.py drives these.
  m.def("_vmap_push", &push_vmap_level, py::arg("size"));
  m.def("_vmap_pop", &pop_vmap_level, py::arg("level"));
  m.def(
      "_vmap_wrap",
      [](const TP& x, int64_t bdim, int64_t level) { return vmap_wrap(Tensor(x), bdim, level).impl(); },
      py::arg("x"), py::arg("bdim"), py::arg("level"));
  m.def(
      "_vmap_unwrap",
      [](const TP& y, int64_t level, int64_t out_dim, int64_t size) {
        return vmap_unwrap(Tensor(y), level, out_dim, size).impl();
      },
      py::arg("y"), py::arg("level"), py::arg("out_dim"), py::arg("size"));
  m.def(
      "_vmap_batched_at", [](const TP& x, int64_t level) { return batched_at(Tensor(x), level); },
      py::arg("x"), py::arg("level"));
  m.def("pop_jvp_level", &pop_jvp_level);
  m.def(
      "_custom_function",
      [](const std::vector<TP>& inputs, const std::vector<TP>& outputs, const std::vector<OptTensor>& saved,
         const std::string& name, const py::object& vjp, const py::object& jvp) {
        Tensors sv;
        for (auto& o : saved) sv.emplace_back(o.p);
        CustomRules rules{name, py_rule(vjp, name + "Backward returned"),
                          py_rule(jvp, name + " jvp returned")};
        return to_ptrs(custom_function(to_tensors(inputs), to_tensors(outputs), sv, std::move(rules)));
      },
      py::arg("inputs"), py::arg("outputs"), py::arg("saved"), py::arg("name"), py::arg("vjp"),
      py::arg("jvp"),
      "_custom_function(inputs, outputs, saved, name, vjp, jvp) -> list[Tensor]\n\nRecords outputs (computed "
      "from inputs off the tape) as one node whose rules are vjp(saved, cotangents) -> one gradient per "
      "input and "
      "jvp(saved, tangents) -> one tangent per output (None: forward mode raises). Returns aliases of the "
      "outputs "
      "(their shapes).");
  m.def(
      "_hide_jvp_levels", [] { return hide_jvp_levels(); },
      "_hide_jvp_levels() -> int\n\nHides every forward-mode level from this thread's ops; returns the token "
      "for "
      "_restore_jvp_levels.");
  m.def(
      "_restore_jvp_levels", [](int64_t prev) { restore_jvp_levels(prev); }, py::arg("token"),
      "_restore_jvp_levels(token) -> None\n\nUndoes _hide_jvp_levels.");
  m.def("primitives", [] { return primitive_registry(); });
}
}  // namespace fastgrad::bindings
