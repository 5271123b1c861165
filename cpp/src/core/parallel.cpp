#include "fastgrad/parallel.h"

#include <omp.h>
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <mutex>
#include <new>

namespace fastgrad {
namespace {
std::atomic<int>& global_threads() {
  static std::atomic<int> n{omp_get_max_threads()};
  return n;
}
thread_local int tl_applied = -1;
// Set in the thread that called fork(), in the child, when that thread had used a team.
thread_local bool tl_fork_pinned = false;

}  // namespace

void set_num_threads(int n) {
  global_threads().store(n);
  sync_num_threads();
}

int get_num_threads() { return global_threads().load(std::memory_order_relaxed); }

void sync_num_threads() {
  const int n = tl_fork_pinned ? 1 : global_threads().load(std::memory_order_relaxed);
  if (tl_applied != n) {
    omp_set_num_threads(n);
    tl_applied = n;
  }
}

bool fork_pinned_serial() { return tl_fork_pinned; }

// ---- interrupts
namespace detail {
std::atomic<bool> g_interrupt_requested{false};
}  // namespace detail

namespace {
thread_local int tl_armed = 0;
std::mutex g_sig_mu;
int g_scopes = 0;                // open, armed scopes (under g_sig_mu)
struct sigaction g_prev_sigint;  // the handler ours replaced (read by the handler)

void on_sigint(int sig, siginfo_t* info, void* uctx) {
  detail::g_interrupt_requested.store(true, std::memory_order_relaxed);
  const struct sigaction& p = g_prev_sigint;
  if (p.sa_flags & SA_SIGINFO) {
    if (p.sa_sigaction) p.sa_sigaction(sig, info, uctx);
  } else if (p.sa_handler != SIG_DFL && p.sa_handler != SIG_IGN && p.sa_handler) {
    p.sa_handler(sig);
  }
}

bool is_function(const struct sigaction& sa) {
  if (sa.sa_flags & SA_SIGINFO) return sa.sa_sigaction != nullptr;
  return sa.sa_handler != SIG_DFL && sa.sa_handler != SIG_IGN;
}
}  // namespace

// omp_get_level also counts inactive (one-thread) regions: nothing may throw inside any.
bool detail::calling_thread_armed() { return tl_armed > 0 && omp_get_level() == 0; }

void request_interrupt() noexcept { detail::g_interrupt_requested.store(true, std::memory_order_relaxed); }

InterruptScope::InterruptScope() {
  std::lock_guard<std::mutex> lk(g_sig_mu);
  if (g_scopes == 0) {
    struct sigaction cur;
    if (sigaction(SIGINT, nullptr, &cur) != 0 || !is_function(cur)) return;
    g_prev_sigint = cur;
    struct sigaction ours = {};
    ours.sa_sigaction = on_sigint;
    ours.sa_flags = SA_SIGINFO | SA_ONSTACK | (cur.sa_flags & SA_RESTART);
    sigemptyset(&ours.sa_mask);
    detail::g_interrupt_requested.store(false);  // a stale request is not this scope's
    if (sigaction(SIGINT, &ours, nullptr) != 0) return;
  }
  ++g_scopes;
  ++tl_armed;
  armed_ = true;
}

InterruptScope::~InterruptScope() {
  if (!armed_) return;
  std::lock_guard<std::mutex> lk(g_sig_mu);
  --tl_armed;
  if (--g_scopes == 0) {
    struct sigaction cur;
    // Put the previous handler back unless someone replaced ours in the meantime.
    if (sigaction(SIGINT, nullptr, &cur) == 0 && (cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == on_sigint)
      sigaction(SIGINT, &g_prev_sigint, nullptr);
    detail::g_interrupt_requested.store(false);
  }
}

// ---- fork
namespace {
void after_fork_child() {
  // The forking thread is the child's only thread. If it ran teams of more than one
  // thread, libgomp's pool for it refers to threads that are gone: it must stay serial.
  if (tl_applied > 1) tl_fork_pinned = true;
  global_threads().store(1);
  omp_set_num_threads(1);
  tl_applied = 1;
  // Another parent thread may have been inside a kernel's InterruptScope: its lock and
  // handler are not the child's.
  new (&g_sig_mu) std::mutex();
  if (g_scopes > 0) sigaction(SIGINT, &g_prev_sigint, nullptr);
  g_scopes = 0;
  tl_armed = 0;
  detail::g_interrupt_requested.store(false);
}
[[maybe_unused]] const int g_atfork_registered = pthread_atfork(nullptr, nullptr, after_fork_child);
}  // namespace

// ---- blocking hook
namespace {
std::atomic<BlockingHook> g_hook{nullptr};
}
void set_blocking_hook(BlockingHook hook) noexcept { g_hook.store(hook); }
BlockingHook blocking_hook() noexcept { return g_hook.load(std::memory_order_acquire); }

}  // namespace fastgrad
