// Fused optimizer kernels vs a naive per-element transcription of torch.optim's
// single-tensor algorithms, over several steps, float and double, with tensors both below
// and above the OpenMP threshold.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <type_traits>
#include <vector>

#include "fastgrad/kernels/optim.h"

namespace fk = fastgrad::kernels;

namespace {

// One parameter tensor with its optimizer state, as plain vectors.
template <class T>
struct Tensor {
  std::vector<T> p, g, b1, b2, b3;
};

template <class T>
std::vector<Tensor<T>> make_group(uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> nd(0.0, 1.0);
  std::vector<Tensor<T>> ts;
  for (int64_t n : {1, 7, 33, 70001}) {  // the last one takes the OpenMP path
    Tensor<T> t;
    for (int64_t i = 0; i < n; ++i) t.p.push_back(static_cast<T>(nd(rng)));
    t.g.assign(n, T(0));
    t.b1.assign(n, T(0));
    t.b2.assign(n, T(0));
    t.b3.assign(n, T(0));
    ts.push_back(t);
  }
  return ts;
}

template <class T>
void new_grads(std::vector<Tensor<T>>& ts, std::mt19937& rng) {
  std::normal_distribution<double> nd(0.0, 1.0);
  for (auto& t : ts)
    for (auto& g : t.g) g = static_cast<T>(nd(rng));
}

template <class T>
std::vector<fk::ParamSlot<T>> slots_of(std::vector<Tensor<T>>& ts) {
  std::vector<fk::ParamSlot<T>> s;
  for (auto& t : ts)
    s.push_back(
        {t.p.data(), t.g.data(), t.b1.data(), t.b2.data(), t.b3.data(), static_cast<int64_t>(t.p.size())});
  return s;
}

template <class T>
T tol(T ref) {
  const T eps = std::numeric_limits<T>::epsilon();
  return 8 * eps * (std::abs(ref) + T(1e-3));
}

template <class T>
void expect_close(const std::vector<Tensor<T>>& got, const std::vector<Tensor<T>>& ref) {
  for (size_t k = 0; k < got.size(); ++k) {
    for (size_t i = 0; i < got[k].p.size(); ++i) {
      ASSERT_NEAR(got[k].p[i], ref[k].p[i], tol(ref[k].p[i])) << "tensor " << k << " i " << i;
      ASSERT_NEAR(got[k].b1[i], ref[k].b1[i], tol(ref[k].b1[i]));
      ASSERT_NEAR(got[k].b2[i], ref[k].b2[i], tol(ref[k].b2[i]));
      ASSERT_NEAR(got[k].b3[i], ref[k].b3[i], tol(ref[k].b3[i]));
    }
  }
}

// ---- naive references (torch/optim/{sgd,adam,adamw,rmsprop}.py, foreach=False) ----
// torch's CPU kernels fuse `x.add(y, alpha=a)` and lerp into one FMA; the kernels
// reproduce that for float (documented: plain multiply-add for double).
template <class T>
T fused(T a, T b, T c) {
  if constexpr (std::is_same_v<T, float>) return std::fma(a, b, c);
  return a * b + c;
}

template <class T>
void ref_sgd(std::vector<Tensor<T>>& ts, double lr, double momentum, double dampening, double wd,
             bool nesterov, bool maximize, bool first) {
  for (auto& t : ts)
    for (size_t i = 0; i < t.p.size(); ++i) {
      T grad = maximize ? -t.g[i] : t.g[i];
      if (wd != 0) grad = fused(T(wd), t.p[i], grad);
      if (momentum != 0) {
        T& buf = t.b1[i];
        if (first)
          buf = grad;
        else
          buf = fused(T(1 - dampening), grad, buf * T(momentum));
        grad = nesterov ? fused(T(momentum), buf, grad) : buf;
      }
      t.p[i] = fused(T(-lr), grad, t.p[i]);
    }
}

template <class T>
void ref_adam(std::vector<Tensor<T>>& ts, double lr, double b1, double b2, double eps, double wd,
              bool amsgrad, bool decoupled, bool maximize, int64_t step) {
  const double bc1 = 1 - std::pow(b1, double(step)), bc2 = 1 - std::pow(b2, double(step));
  const double step_size = lr / bc1, bc2s = std::sqrt(bc2);
  for (auto& t : ts)
    for (size_t i = 0; i < t.p.size(); ++i) {
      T grad = maximize ? -t.g[i] : t.g[i];
      if (wd != 0) {
        if (decoupled)
          t.p[i] = t.p[i] * T(1 - lr * wd);
        else
          grad = fused(T(wd), t.p[i], grad);
      }
      const T w = T(1 - b1);  // lerp, weight < 0.5
      t.b1[i] = fused(w, grad - t.b1[i], t.b1[i]);
      t.b2[i] = t.b2[i] * T(b2) + T(1 - b2) * grad * grad;
      T v = t.b2[i];
      if (amsgrad) {
        t.b3[i] = std::max(t.b3[i], t.b2[i]);
        v = t.b3[i];
      }
      const T denom = std::sqrt(v) / T(bc2s) + T(eps);
      t.p[i] = t.p[i] + T(-step_size) * t.b1[i] / denom;
    }
}

template <class T>
void ref_rmsprop(std::vector<Tensor<T>>& ts, double lr, double alpha, double eps, double wd, double momentum,
                 bool centered, bool maximize) {
  for (auto& t : ts)
    for (size_t i = 0; i < t.p.size(); ++i) {
      T grad = maximize ? -t.g[i] : t.g[i];
      if (wd != 0) grad = fused(T(wd), t.p[i], grad);
      t.b1[i] = t.b1[i] * T(alpha) + T(1 - alpha) * grad * grad;
      T avg;
      if (centered) {
        t.b3[i] = fused(T(1 - alpha), grad - t.b3[i], t.b3[i]);
        avg = std::sqrt(t.b1[i] - t.b3[i] * t.b3[i]) + T(eps);
      } else {
        avg = std::sqrt(t.b1[i]) + T(eps);
      }
      if (momentum > 0) {
        t.b2[i] = t.b2[i] * T(momentum) + grad / avg;
        t.p[i] = fused(T(-lr), t.b2[i], t.p[i]);
      } else {
        t.p[i] = t.p[i] + T(-lr) * grad / avg;
      }
    }
}

template <class T>
class OptimKernels : public ::testing::Test {};
using Types = ::testing::Types<float, double>;
TYPED_TEST_SUITE(OptimKernels, Types);

TYPED_TEST(OptimKernels, SgdMatchesTorchFormulas) {
  using T = TypeParam;
  struct Cfg {
    double mom, damp, wd;
    bool nesterov, maximize;
  };
  const Cfg cfgs[] = {{0, 0, 0, false, false},     {0.9, 0, 0, false, false},  {0.9, 0.1, 1e-2, false, false},
                      {0.9, 0, 1e-2, true, false}, {0.5, 0.3, 0, false, true}, {0, 0, 5e-2, false, true}};
  for (const Cfg& c : cfgs) {
    auto got = make_group<T>(1), ref = got;
    for (auto& t : got) t.b1.assign(t.b1.size(), T(123));  // first step must ignore the old buffer
    std::mt19937 rng(7);
    for (int step = 1; step <= 5; ++step) {
      new_grads(got, rng);
      for (size_t k = 0; k < got.size(); ++k) ref[k].g = got[k].g;
      auto slots = slots_of(got);
      fk::sgd_step<T>(slots.data(), static_cast<int64_t>(slots.size()), 0.05, c.mom, c.damp, c.wd, c.nesterov,
                      c.maximize, step == 1);
      ref_sgd(ref, 0.05, c.mom, c.damp, c.wd, c.nesterov, c.maximize, step == 1);
    }
    if (c.mom == 0)  // buffer untouched without momentum
      for (auto& t : got) t.b1.assign(t.b1.size(), T(0));
    expect_close(got, ref);
  }
}

TYPED_TEST(OptimKernels, AdamAndAdamWMatchTorchFormulas) {
  using T = TypeParam;
  struct Cfg {
    double wd;
    bool amsgrad, decoupled, maximize;
  };
  const Cfg cfgs[] = {{0, false, false, false}, {1e-2, false, false, false}, {1e-2, false, true, false},
                      {0, true, false, false},  {1e-1, true, true, true},    {0, false, false, true}};
  for (const Cfg& c : cfgs) {
    auto got = make_group<T>(2), ref = got;
    std::mt19937 rng(9);
    for (int64_t step = 1; step <= 6; ++step) {
      new_grads(got, rng);
      for (size_t k = 0; k < got.size(); ++k) ref[k].g = got[k].g;
      auto slots = slots_of(got);
      fk::adam_step<T>(slots.data(), static_cast<int64_t>(slots.size()), 1e-3, 0.9, 0.999, 1e-8, c.wd,
                       c.amsgrad, c.decoupled, c.maximize, step);
      ref_adam(ref, 1e-3, 0.9, 0.999, 1e-8, c.wd, c.amsgrad, c.decoupled, c.maximize, step);
    }
    expect_close(got, ref);
  }
}

TYPED_TEST(OptimKernels, RmspropMatchesTorchFormulas) {
  using T = TypeParam;
  struct Cfg {
    double wd, mom;
    bool centered, maximize;
  };
  const Cfg cfgs[] = {{0, 0, false, false}, {1e-2, 0, false, false}, {0, 0.9, false, false},
                      {0, 0, true, false},  {1e-2, 0.5, true, true}, {0, 0.9, true, false}};
  for (const Cfg& c : cfgs) {
    auto got = make_group<T>(3), ref = got;
    std::mt19937 rng(11);
    for (int step = 1; step <= 5; ++step) {
      new_grads(got, rng);
      for (size_t k = 0; k < got.size(); ++k) ref[k].g = got[k].g;
      auto slots = slots_of(got);
      fk::rmsprop_step<T>(slots.data(), static_cast<int64_t>(slots.size()), 1e-2, 0.99, 1e-8, c.wd, c.mom,
                          c.centered, c.maximize);
      ref_rmsprop(ref, 1e-2, 0.99, 1e-8, c.wd, c.mom, c.centered, c.maximize);
    }
    expect_close(got, ref);
  }
}

// A hand-computed first Adam step: m = 0.1 g, v = 0.001 g^2, bias-corrected update is
// exactly lr * sign(g) up to eps.
TEST(OptimKernelsHand, AdamFirstStepIsLrTimesSign) {
  std::vector<double> p = {1.0, -2.0, 0.5}, g = {0.3, -4.0, 1e-3}, m(3), v(3);
  fk::ParamSlot<double> s{p.data(), g.data(), m.data(), v.data(), nullptr, 3};
  fk::adam_step<double>(&s, 1, 0.1, 0.9, 0.999, 1e-12, 0.0, false, false, false, 1);
  EXPECT_NEAR(p[0], 0.9, 1e-9);
  EXPECT_NEAR(p[1], -1.9, 1e-9);
  EXPECT_NEAR(p[2], 0.4, 1e-8);
  EXPECT_NEAR(m[1], -0.4, 1e-15);
  EXPECT_NEAR(v[1], 0.016, 1e-15);
}

}  // namespace
