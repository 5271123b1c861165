// Random-number streams (torch.Generator): rand, randn, randint and randperm draw from a
// Generator, the global one unless given.
#pragma once
#include <cstdint>
#include <mutex>
#include <random>
#include <string>

namespace fastgrad {

// One engine behind one lock: draws of one generator form one sequential stream whatever
// the threads, and two generators never share state (a DataLoader's shuffling generator
// leaves the model's initialisation stream alone).
class Generator {
 public:
  explicit Generator(uint64_t seed = kDefaultSeed) : engine_(seed), initial_seed_(seed) {}
  Generator(const Generator&) = delete;
  Generator& operator=(const Generator&) = delete;

  void manual_seed(uint64_t seed);
  uint64_t initial_seed() const;
  uint64_t next();  // one raw 64-bit draw
  // The engine's full state as text (std::mt19937_64's stream format), and back;
  // set_state throws ValueError for text that is not such a state.
  std::string state() const;
  void set_state(const std::string& s);
  // Runs f(engine) holding the lock: one fill is one uninterrupted run of the stream.
  template <class F>
  void with_engine(F&& f) {
    std::lock_guard<std::mutex> l(mu_);
    f(engine_);
  }

  static constexpr uint64_t kDefaultSeed = 0x5eed;

 private:
  mutable std::mutex mu_;
  std::mt19937_64 engine_;
  uint64_t initial_seed_;
};

// The global generator: fg.manual_seed seeds it, and every draw without a generator uses it.
Generator& default_generator();

}  // namespace fastgrad
