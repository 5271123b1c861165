// Runtime: threads, ISA, memory pool, live-object counters, the GIL/Ctrl-C hooks.
#include "convert.h"
#include "fastgrad/kernels/dispatch.h"

namespace fastgrad::bindings {
void bind_runtime(py::module_& m) {
  // Every primitive's forward runs through this hook (GIL released for large work,
  // Ctrl-C on the main thread); the main thread is Python's (re-taken after fork).
  set_blocking_hook(&gil::blocking_hook);
  py::module_::import("atexit").attr("register")(py::cpp_function(&gil::at_exit));
  m.def(
      "_set_main_thread", [](unsigned long ident) { gil::main_thread_ident().store(ident); },
      "The thread (threading ident) whose kernels Ctrl-C interrupts: Python's main thread.");
  m.def(
      "_gil_releases", [] { return gil::releases().load(); }, "Kernels run without the GIL so far (tests).");
  m.def("_fork_pinned_serial", &fork_pinned_serial);
  // ---- runtime
  m.def(
      "set_num_threads",
      [](int n) {
        if (n < 1) throw ValueError("set_num_threads: n must be >= 1, got " + std::to_string(n));
        fastgrad::set_num_threads(n);
        if (n > 1 && fork_pinned_serial() &&
            PyErr_WarnEx(
                PyExc_RuntimeWarning,
                "set_num_threads: this thread called fork() after running parallel kernels; OpenMP's "
                "thread pool does not survive fork, so its kernels stay on one thread (threads started "
                "in this process, and processes started with 'spawn', use the new count)",
                1) < 0)
          throw py::error_already_set();  // warnings turned into errors
      },
      "Threads for fastgrad's kernels, in every Python thread. After os.fork() the child starts on one "
      "thread; see the README.");
  m.def(
      "get_num_threads", [] { return fastgrad::get_num_threads(); },
      "get_num_threads() -> int\n\nThreads fastgrad's kernels use (see set_num_threads).");
  m.def(
      "isa", [] { return std::string(kernels::isa_name(kernels::active_isa())); },
      "The kernel path chosen at load time (FASTGRAD_ISA=scalar|avx2|avx512 forces one).");
  m.def("supported_isas", [] {
    std::vector<std::string> r;
    for (auto i : {kernels::Isa::Scalar, kernels::Isa::Avx2, kernels::Isa::Avx512})
      if (kernels::isa_supported(i)) r.emplace_back(kernels::isa_name(i));
    return r;
  });
  m.def("live_tensors", [] { return TensorImpl::live_count.load(); });
  m.def("live_nodes", [] { return Node::live_count.load(); });
  m.def("pool_stats", [] {
    auto s = pool_stats();
    py::dict d;
    d["cached_bytes"] = s.cached_bytes;
    d["live_bytes"] = s.live_bytes;
    d["cache_limit"] = s.cache_limit;
    return d;
  });
  m.def("empty_cache", &pool_empty_cache);
  m.def("set_cache_limit", &pool_set_limit);
}
}  // namespace fastgrad::bindings
