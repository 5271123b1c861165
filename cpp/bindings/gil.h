// The one way the bindings let go of the GIL, and the hook apply() runs kernels through.
//
// Interpreter exit: CPython ends a daemon thread that waits for the GIL once finalization
// has begun by calling pthread_exit(). Its forced unwind aborts the process ("terminate
// called without an active exception") as soon as it meets a noexcept frame -- pybind11's
// gil_scoped_release reacquires in its destructor -- and, where it can pass, it runs C++
// destructors that drop Python objects without the GIL while the main thread tears the
// interpreter down (a segfault). So no thread of ours may wait for the GIL during
// finalization: an atexit hook (it runs before finalization) raises `exiting`, lets the
// threads already waiting for the GIL (or inside NumPy calls, which release it) through,
// and from then on a non-main thread coming back from a kernel parks forever instead (what CPython 3.14
// itself does); the process exit ends it. Deleters that need the GIL to drop a Python object leak it instead.
#pragma once
#include <Python.h>
#include <pybind11/pybind11.h>
#include <unistd.h>

#include <exception>
#include <initializer_list>
#include <optional>
#include <type_traits>

#include "fastgrad/parallel.h"
#include "fastgrad/tensor.h"

namespace fastgrad::gil {

inline bool finalizing() {
#if PY_VERSION_HEX >= 0x030D0000
  return Py_IsFinalizing();
#else
  return _Py_IsFinalizing();
#endif
}

[[noreturn]] inline void park() {
  for (;;) pause();
}

inline std::atomic<bool>& exiting() {
  static std::atomic<bool> e{false};
  return e;
}
inline std::atomic<int>& waiting_for_gil() {
  static std::atomic<int> n{0};
  return n;
}

inline std::atomic<unsigned long>& main_thread_ident() {
  static std::atomic<unsigned long> id{0};
  return id;
}
inline bool on_main_thread() { return PyThread_get_thread_ident() == main_thread_ident().load(); }

// Takes the GIL (via `take`) unless the interpreter is exiting; then parks, or returns
// false when `park_on_exit` is false. The counter is raised before `exiting` is read, and
// at_exit() raises `exiting` before it waits for the counter to drop (both seq_cst), so
// no thread is still waiting for the GIL when finalization begins.
template <class Take>
bool take_gil_unless_exiting(Take&& take, bool park_on_exit) {
  waiting_for_gil()++;
  if ((exiting().load() && !on_main_thread()) || finalizing()) {
    waiting_for_gil()--;
    if (park_on_exit) park();
    return false;
  }
  take();
  waiting_for_gil()--;
  return true;
}

// Wraps binding code that calls into NumPy or other Python code which may release and
// retake the GIL itself (array conversion): counted like a wait for the GIL, so at_exit()
// lets it finish first; once the interpreter is exiting a non-main thread parks before.
template <class F>
auto calling_python(F&& f) -> decltype(f()) {
  waiting_for_gil()++;
  if (exiting().load() && !on_main_thread()) {
    waiting_for_gil()--;
    Py_BEGIN_ALLOW_THREADS park();
    Py_END_ALLOW_THREADS
  }
  struct Done {
    ~Done() { waiting_for_gil()--; }
  } done;
  return f();
}

inline void restore(PyThreadState* ts) {
  // Not in a destructor: nothing noexcept between here and the interpreter.
  take_gil_unless_exiting([ts] { PyEval_RestoreThread(ts); }, true);
}

// Registered with Python's atexit (runs on the main thread, holding the GIL, before
// finalization starts).
inline void at_exit() {
  exiting().store(true);
  Py_BEGIN_ALLOW_THREADS for (int i = 0; i < 5000 && waiting_for_gil().load() > 0; ++i) usleep(1000);
  Py_END_ALLOW_THREADS
}

// Runs f() without the GIL (the caller must hold it); exceptions from f are rethrown
// after the GIL is back.
template <class F>
auto without_gil(F&& f) -> decltype(f()) {
  using R = decltype(f());
  PyThreadState* ts = PyEval_SaveThread();
  std::exception_ptr err;
  if constexpr (std::is_void_v<R>) {
    try {
      f();
    } catch (...) {
      err = std::current_exception();
    }
    restore(ts);
    if (err) std::rethrow_exception(err);
  } else {
    std::optional<R> r;
    try {
      r.emplace(f());
    } catch (...) {
      err = std::current_exception();
    }
    restore(ts);
    if (err) std::rethrow_exception(err);
    return std::move(*r);
  }
}

// Runs f() holding the GIL, or not at all when the interpreter is exiting and this
// thread does not hold it (then whatever f would release is leaked).
template <class F>
void with_gil_or_leak(F&& f) {
  if (PyGILState_Check()) {
    f();
    return;
  }
  PyGILState_STATE st{};
  if (!take_gil_unless_exiting([&st] { st = PyGILState_Ensure(); }, false)) return;
  f();
  PyGILState_Release(st);
}

// Work (elements) from which a kernel runs without the GIL: below it the release costs
// more than another thread gains.
constexpr int64_t kNoGilWork = int64_t(1) << 14;
// Work from which a main-thread kernel is made interruptible by Ctrl-C (installing the
// handler costs two system calls; smaller kernels end within milliseconds anyway).
constexpr int64_t kInterruptWork = int64_t(1) << 18;

// Test counter: kernels that ran with the GIL released.
inline std::atomic<int64_t>& releases() {
  static std::atomic<int64_t> n{0};
  return n;
}

// Turns a kernel's Interrupted into what Python's own SIGINT handler says: it runs now
// (PyErr_CheckSignals), normally raising KeyboardInterrupt. Returns false when the
// handler returned without raising (then the caller may simply run the work again).
inline bool interrupted_raises() {
  if (PyErr_CheckSignals() < 0) return true;
  return false;
}

// Runs body without the GIL when the work is large and this thread holds it; on the
// main thread, large kernels stop within ~a chunk when SIGINT arrives. The forward of a
// primitive is pure, so when a Python handler returns without raising the kernel is run
// again from the start.
inline void blocking_hook(int64_t work, void (*body)(void*), void* ctx) {
  if (work < kNoGilWork || !PyGILState_Check()) {
    body(ctx);
    return;
  }
  const bool interruptible = work >= kInterruptWork && on_main_thread();
  for (;;) {
    try {
      std::optional<InterruptScope> scope;
      if (interruptible) scope.emplace();
      releases()++;
      without_gil([&] { body(ctx); });
      return;
    } catch (const Interrupted&) {
      if (interrupted_raises()) throw pybind11::error_already_set();
    }
  }
}

// Same for work outside apply() (backward, optimizer steps, copies): GIL released, not
// interruptible (such work changes state in place and must not stop half-way).
template <class F>
auto nogil(int64_t work, F&& f) -> decltype(f()) {
  if (work < kNoGilWork || !PyGILState_Check()) return f();
  releases()++;
  return without_gil(std::forward<F>(f));
}

// A state-changing op on tensors (in-place ops, copies): released like nogil() for the
// elements it reads and writes, and never interrupted -- the primitives it runs inside
// see the GIL already released and run plainly, so the write is not cut half-way.
template <class F>
auto in_place(std::initializer_list<const Tensor*> touched, F&& f) -> decltype(f()) {
  int64_t work = 0;
  for (const Tensor* t : touched)
    if (t->defined()) work += t->numel();
  return nogil(work, std::forward<F>(f));
}

}  // namespace fastgrad::gil
