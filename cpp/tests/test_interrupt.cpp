// The interrupt flag (parallel.h): kernels started inside an armed InterruptScope stop
// between chunks and throw Interrupted after their parallel region; kernels of threads
// that are not armed ignore the flag; the next kernel runs normally.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <thread>
#include <vector>

#include "../src/kernels/parallel_for.h"
#include "fastgrad/kernels/gemm.h"
#include "fastgrad/parallel.h"

namespace fg = fastgrad;

namespace {
void noop_handler(int) {}

// SIGINT needs a handler function for a scope to arm (SIG_DFL/SIG_IGN leave kernels as
// they were).
struct WithHandler {
  struct sigaction old{};
  WithHandler() {
    struct sigaction sa{};
    sa.sa_handler = noop_handler;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old);
  }
  ~WithHandler() { sigaction(SIGINT, &old, nullptr); }
};
}  // namespace

TEST(Interrupt, ChunksStopAndThrowAfterTheRegion) {
  WithHandler h;
  const int saved = fg::get_num_threads();
  for (int threads : {1, 2}) {
    fg::set_num_threads(threads);
    std::atomic<int64_t> done{0};
    {
      fg::InterruptScope scope;
      fg::request_interrupt();
      EXPECT_THROW(
          fg::kernels::parallel_chunks(int64_t(1) << 24, 1, 16, [&](int64_t b, int64_t e) { done += e - b; }),
          fg::Interrupted);
      EXPECT_THROW(fg::kernels::parallel_for(1000, true, [&](int64_t) { ++done; }), fg::Interrupted);
    }
    EXPECT_EQ(done.load(), 0);  // flag seen before the first piece
    // The scope closed: the flag is cleared and the next kernel runs to the end.
    done = 0;
    fg::kernels::parallel_chunks(int64_t(1) << 20, 1, 16, [&](int64_t b, int64_t e) { done += e - b; });
    EXPECT_EQ(done.load(), int64_t(1) << 20);
  }
  fg::set_num_threads(saved);
}

TEST(Interrupt, RaisedMidwayStopsEarly) {
  WithHandler h;
  std::atomic<int64_t> done{0};
  fg::InterruptScope scope;
  const int64_t n = int64_t(1) << 26;
  EXPECT_THROW(fg::kernels::parallel_chunks(n, 1, 16,
                                            [&](int64_t b, int64_t e) {
                                              if ((done += e - b) > n / 8) fg::request_interrupt();
                                            }),
               fg::Interrupted);
  EXPECT_LT(done.load(), n / 2);
}

TEST(Interrupt, GemmStopsBetweenBlocks) {
  WithHandler h;
  const int64_t n = 1024;
  std::vector<float> a(n * n, 1.0f), c(n * n, 0.0f);
  fg::InterruptScope scope;
  fg::request_interrupt();
  EXPECT_THROW(fg::kernels::gemm<float>(n, n, n, 1.0f, a.data(), n, 1, a.data(), n, 1, 0.0f, c.data(), n, 1),
               fg::Interrupted);
}

TEST(Interrupt, UnarmedThreadsIgnoreTheFlag) {
  WithHandler h;
  fg::InterruptScope scope;  // this thread is armed ...
  fg::request_interrupt();
  int64_t done = 0;
  std::thread t([&] {  // ... another is not
    fg::kernels::parallel_chunks(int64_t(1) << 20, 1, 16, [&](int64_t b, int64_t e) { done += e - b; });
  });
  t.join();
  EXPECT_EQ(done, int64_t(1) << 20);
}

TEST(Interrupt, NoHandlerNoArming) {
  struct sigaction old{}, dfl{};
  dfl.sa_handler = SIG_DFL;
  sigaction(SIGINT, &dfl, &old);
  {
    fg::InterruptScope scope;
    fg::request_interrupt();
    int64_t done = 0;
    fg::kernels::parallel_chunks(1000, 1, 16, [&](int64_t b, int64_t e) { done += e - b; });
    EXPECT_EQ(done, 1000);
  }
  sigaction(SIGINT, &old, nullptr);
  WithHandler h;
  fg::InterruptScope scope;  // a request made while nothing was armed is dropped
  int64_t done = 0;
  fg::kernels::parallel_chunks(1000, 1, 16, [&](int64_t b, int64_t e) { done += e - b; });
  EXPECT_EQ(done, 1000);
}
