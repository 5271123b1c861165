// Thread count for the OpenMP kernels. OpenMP keeps the count per OS thread, so the
// process-wide value lives here and each thread adopts it on its next op.
//
// Also the process-level runtime the kernels share: what happens after fork(), the
// interrupt flag kernels poll between chunks, and the hook through which long work runs
// (the Python bindings release the GIL there).
#pragma once
#include <atomic>
#include <cstdint>
#include <exception>
#include <type_traits>

namespace fastgrad {

void set_num_threads(int n);  // every thread, from its next op on
int get_num_threads();
// Applies the process-wide count to the calling thread if it changed (cheap; called by
// apply() and by kernel entry points that bypass it).
void sync_num_threads();

// ---- fork()
// libgomp's thread pool does not survive fork(): in the child, the forking thread's next
// team would wait forever for workers that no longer exist. A pthread_atfork child
// handler therefore puts the child on one thread (get_num_threads() == 1; every parallel
// region runs serially without entering libgomp). set_num_threads(n) in the child is
// honoured by threads the child starts; the thread that called fork() stays serial if it
// had run multi-threaded kernels before the fork (true: fork_pinned_serial()).
bool fork_pinned_serial();

// ---- Interrupts
// A long kernel stops early when an interrupt is requested: workers poll a flag between
// chunks (never throwing inside an OpenMP region); after the region the kernel's entry
// point throws Interrupted. Only kernels started by a thread inside an InterruptScope
// watch the flag, so a Ctrl-C aimed at the main thread never cuts another thread's op.
struct Interrupted : std::exception {
  const char* what() const noexcept override { return "fastgrad: kernel interrupted"; }
};

namespace detail {
extern std::atomic<bool> g_interrupt_requested;
bool calling_thread_armed();  // inside an InterruptScope and not inside a parallel region
}  // namespace detail

// Taken on the thread that starts a kernel, before any parallel region, and copied into
// the region: workers ask requested() between chunks; the caller calls check() after.
class InterruptPoll {
 public:
  InterruptPoll() : armed_(detail::calling_thread_armed()) {}
  bool requested() const { return armed_ && detail::g_interrupt_requested.load(std::memory_order_relaxed); }
  void check() const {
    if (requested()) throw Interrupted();
  }

 private:
  bool armed_;
};

void request_interrupt() noexcept;  // async-signal-safe
// Arms the calling thread for its lifetime. While a scope is open a chaining SIGINT
// handler is installed (it sets the flag, then calls the handler it replaced, e.g.
// Python's, which records the signal); it is restored when the outermost scope closes,
// unless something else replaced it meanwhile. When SIGINT is ignored or has its default
// action, nothing is installed and kernels are not interruptible (SIG_DFL ends the
// process anyway). Meant for one thread (the Python bindings use it on the main thread).
class InterruptScope {
 public:
  InterruptScope();
  ~InterruptScope();
  InterruptScope(const InterruptScope&) = delete;
  InterruptScope& operator=(const InterruptScope&) = delete;

 private:
  bool armed_ = false;
};

// ---- Blocking work
// apply() runs each primitive's forward through this hook, with an estimate of the work
// (elements touched). The Python bindings install one that releases the GIL for large
// work; without a hook the body just runs. The hook must run body(ctx) exactly once or
// propagate its exception.
using BlockingHook = void (*)(int64_t work, void (*body)(void*), void* ctx);
void set_blocking_hook(BlockingHook hook) noexcept;
BlockingHook blocking_hook() noexcept;

template <class F>
void run_blocking(int64_t work, F&& f) {
  BlockingHook h = blocking_hook();
  if (!h) {
    f();
    return;
  }
  using Fn = std::remove_reference_t<F>;
  h(work, [](void* c) { (*static_cast<Fn*>(c))(); }, const_cast<void*>(static_cast<const void*>(&f)));
}

}  // namespace fastgrad
