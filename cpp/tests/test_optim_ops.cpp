// The optimizer op family from C++ (ops/optim.cpp): every validation error (the Python
// optimizers get theirs from the same checks), one step of each op against its formula
// (torch.optim's, cheat sheet "OPTIMIZERS") in float64, and the version bumps.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "expect_message.h"
#include "fastgrad/ops.h"
#include "fastgrad/optim.h"

namespace fg = fastgrad;
using fg::DType;
using fg::Tensors;

namespace {

fg::Tensor vec(std::initializer_list<double> v, DType d = DType::Float64) {
  fg::Tensor t = fg::empty({static_cast<int64_t>(v.size())}, DType::Float64);
  int64_t i = 0;
  for (double x : v) t.data<double>()[i++] = x;
  return fg::contiguous(fg::cast(t, d));
}
double at(const fg::Tensor& t, int64_t i) { return t.data<double>()[i]; }
int64_t version(const fg::Tensor& t) { return t.impl()->storage->version.load(); }

const double kNaN = std::numeric_limits<double>::quiet_NaN();

// ---- options
TEST(OptimOps, SgdOptionsValidation) {
  fg::SgdOptions o;
  o.validate("SGD");  // the defaults are valid
  o.lr = -1;
  EXPECT_MESSAGE(fg::ValueError, o.validate("SGD"), "SGD: lr must be >= 0, got -1");
  o = {};
  o.momentum = -0.5;
  EXPECT_MESSAGE(fg::ValueError, o.validate("SGD"), "SGD: momentum must be >= 0, got -0.5");
  o = {};
  o.weight_decay = -2;
  EXPECT_MESSAGE(fg::ValueError, o.validate("SGD"), "SGD: weight_decay must be >= 0, got -2");
  o = {};
  o.nesterov = true;
  EXPECT_MESSAGE(
      fg::ValueError, o.validate("SGD"),
      "SGD: nesterov momentum requires a momentum and zero dampening, got momentum=0, dampening=0");
  o.momentum = 0.9;
  o.dampening = 0.1;
  EXPECT_MESSAGE(
      fg::ValueError, o.validate("SGD"),
      "SGD: nesterov momentum requires a momentum and zero dampening, got momentum=0.9, dampening=0.1");
  o.dampening = 0;
  o.validate("SGD");
}

TEST(OptimOps, AdamOptionsValidation) {
  fg::AdamOptions o;
  o.validate("Adam");
  o.lr = -1e-3;
  EXPECT_MESSAGE(fg::ValueError, o.validate("Adam"), "Adam: lr must be >= 0, got -0.001");
  o = {};
  o.eps = -1;
  EXPECT_MESSAGE(fg::ValueError, o.validate("Adam"), "Adam: eps must be >= 0, got -1");
  o = {};
  o.weight_decay = -1;
  EXPECT_MESSAGE(fg::ValueError, o.validate("AdamW"), "AdamW: weight_decay must be >= 0, got -1");
  for (double b : {1.0, 1.5, -0.1, kNaN}) {
    o = {};
    o.beta1 = b;
    EXPECT_NE(
        message_of<fg::ValueError>([&] { o.validate("Adam"); }).find("Adam: betas[0] must be in [0, 1)"),
        std::string::npos);
    o = {};
    o.beta2 = b;
    EXPECT_NE(
        message_of<fg::ValueError>([&] { o.validate("Adam"); }).find("Adam: betas[1] must be in [0, 1)"),
        std::string::npos);
  }
  o = {};
  o.beta1 = 0;  // 0 is allowed
  o.validate("Adam");
}

TEST(OptimOps, RmspropOptionsValidation) {
  fg::RmspropOptions o;
  o.validate("RMSprop");
  double fg::RmspropOptions::* fields[] = {&fg::RmspropOptions::lr, &fg::RmspropOptions::alpha,
                                           &fg::RmspropOptions::eps, &fg::RmspropOptions::weight_decay,
                                           &fg::RmspropOptions::momentum};
  const char* names[] = {"lr", "alpha", "eps", "weight_decay", "momentum"};
  for (int k = 0; k < 5; ++k) {
    o = {};
    o.*fields[k] = -0.1;
    EXPECT_MESSAGE(fg::ValueError, o.validate("RMSprop"),
                   std::string("RMSprop: ") + names[k] + " must be >= 0, got -0.1");
  }
}

// ---- the steps check their options and tensors before writing anything
// validate() is torch's construction-time check; a value changed afterwards is used as
// given (torch: a negative lr set by a schedule ascends).
TEST(OptimOps, StepsUseOptionsAsGiven) {
  fg::Tensor p = vec({1, 2}), g = vec({0.5, 0.5});
  fg::SgdOptions s;
  s.lr = -1;
  EXPECT_THROW(s.validate("SGD"), fg::ValueError);
  fg::sgd_step({p}, {g}, {}, s, false);
  EXPECT_DOUBLE_EQ(at(p, 0), 1.5);
  EXPECT_EQ(version(p), 1);
}

TEST(OptimOps, SgdStepTensorChecks) {
  fg::SgdOptions o;
  fg::Tensor p = vec({1, 2}), g = vec({0.1, 0.2});
  EXPECT_MESSAGE(fg::ValueError, fg::sgd_step({p}, {}, {}, o, false),
                 "sgd_step: one gradient per parameter expected");
  EXPECT_MESSAGE(fg::ValueError, fg::sgd_step({p}, {g}, {vec({0, 0}), vec({0, 0})}, o, false),
                 "sgd_step: state buffer 1 has 2 tensors for 1 parameters");
  EXPECT_MESSAGE(
      fg::ValueError, fg::sgd_step({p}, {vec({1, 2, 3})}, {}, o, false),
      "sgd_step: gradient of shape (3,) (float64) does not match its parameter of shape (2,) or is "
      "not contiguous");
  EXPECT_MESSAGE(
      fg::ValueError, fg::sgd_step({p}, {vec({1, 2}, DType::Float32)}, {}, o, false),
      "sgd_step: gradient of shape (2,) (float32) does not match its parameter of shape (2,) or is "
      "not contiguous");
  fg::Tensor m = fg::contiguous(fg::reshape(vec({1, 2, 3, 4}), {2, 2}));
  EXPECT_MESSAGE(
      fg::ValueError, fg::sgd_step({m}, {fg::transpose(m, 0, 1)}, {}, o, false),
      "sgd_step: gradient of shape (2, 2) (float64) does not match its parameter of shape (2, 2) or is "
      "not contiguous");
  fg::Tensor ro = vec({1, 2});
  ro.impl()->storage->readonly = true;
  EXPECT_MESSAGE(fg::ValueError, fg::sgd_step({ro}, {g}, {}, o, false), "sgd_step: parameter is read-only");
  EXPECT_MESSAGE(fg::TypeError, fg::sgd_step({vec({1, 2}, DType::Int64)}, {g}, {}, o, false),
                 "sgd_step: parameters must be float32 or float64, got int64");
  EXPECT_MESSAGE(fg::ValueError, fg::sgd_step({p}, {fg::Tensor()}, {}, o, false),
                 "sgd_step: gradient is undefined");
  o.momentum = 0.9;
  EXPECT_MESSAGE(fg::ValueError, fg::sgd_step({p}, {g}, {}, o, true),
                 "sgd_step: momentum needs momentum buffers");
  EXPECT_DOUBLE_EQ(at(p, 0), 1.0);
  EXPECT_EQ(version(p), 0);
  fg::sgd_step({}, {}, {}, o, true);  // an empty group is a no-op
}

TEST(OptimOps, AdamAndRmspropStepChecks) {
  fg::Tensor p = vec({1, 2}), g = vec({0.1, 0.2}), z = vec({0, 0});
  fg::AdamOptions a;
  EXPECT_MESSAGE(fg::ValueError, fg::adam_step({p}, {g}, {z}, {vec({0, 0})}, {}, a, 0),
                 "adam_step: step must be >= 1, got 0");
  EXPECT_MESSAGE(fg::ValueError, fg::adam_step({p}, {g}, {}, {}, {}, a, 1),
                 "adam_step: exp_avgs and exp_avg_sqs are required");
  EXPECT_MESSAGE(
      fg::ValueError, fg::adam_step({p}, {g}, {z}, {vec({0, 0, 0})}, {}, a, 1),
      "adam_step: state of shape (3,) (float64) does not match its parameter of shape (2,) or is not "
      "contiguous");
  a.amsgrad = true;
  EXPECT_MESSAGE(fg::ValueError, fg::adam_step({p}, {g}, {z}, {vec({0, 0})}, {}, a, 1),
                 "adam_step: amsgrad needs max_exp_avg_sqs");
  fg::RmspropOptions r;
  EXPECT_MESSAGE(fg::ValueError, fg::rmsprop_step({p}, {g}, {}, {}, {}, r),
                 "rmsprop_step: square averages are required");
  r.momentum = 0.5;
  EXPECT_MESSAGE(fg::ValueError, fg::rmsprop_step({p}, {g}, {z}, {}, {}, r),
                 "rmsprop_step: momentum needs momentum buffers");
  r = {};
  r.centered = true;
  EXPECT_MESSAGE(fg::ValueError, fg::rmsprop_step({p}, {g}, {z}, {}, {}, r),
                 "rmsprop_step: centered needs grad averages");
  EXPECT_EQ(version(p), 0);
  EXPECT_EQ(version(z), 0);
}

// ---- one step against the formula, and the versions of what was written
TEST(OptimOps, SgdStepsMatchTheFormula) {
  fg::SgdOptions o;
  o.lr = 0.1;
  o.momentum = 0.9;
  o.dampening = 0.2;
  o.weight_decay = 0.01;
  fg::Tensor p = vec({1.0, -2.0}), g = vec({0.5, 0.25}), b = vec({7, 7});
  fg::sgd_step({p}, {g}, {b}, o, true);  // buf = g + wd p (no dampening on the first step)
  const double g0 = 0.5 + 0.01 * 1.0, g1 = 0.25 + 0.01 * -2.0;
  EXPECT_DOUBLE_EQ(at(b, 0), g0);
  EXPECT_DOUBLE_EQ(at(p, 0), 1.0 - 0.1 * g0);
  EXPECT_DOUBLE_EQ(at(p, 1), -2.0 - 0.1 * g1);
  const double p0 = at(p, 0);
  fg::sgd_step({p}, {g}, {b}, o, false);  // buf = mu buf + (1 - d)(g + wd p)
  const double gg = 0.5 + 0.01 * p0, buf = 0.9 * g0 + 0.8 * gg;
  EXPECT_NEAR(at(b, 0), buf, 1e-15);
  EXPECT_NEAR(at(p, 0), p0 - 0.1 * buf, 1e-15);
  EXPECT_EQ(version(p), 2);
  EXPECT_EQ(version(b), 2);
  EXPECT_EQ(version(g), 0);  // read only
}

TEST(OptimOps, AdamStepMatchesTheFormula) {
  for (bool decoupled : {false, true}) {
    fg::AdamOptions o;
    o.lr = 0.01;
    o.weight_decay = 0.1;
    o.decoupled = decoupled;
    fg::Tensor p = vec({1.0, -3.0}), g = vec({0.2, -0.4}), m = vec({0.05, 0.0}), v = vec({0.01, 0.0});
    const int64_t t = 3;
    fg::adam_step({p}, {g}, {m}, {v}, {}, o, t);
    for (int64_t i = 0; i < 2; ++i) {
      double th = i == 0 ? 1.0 : -3.0, gi = i == 0 ? 0.2 : -0.4;
      const double m0 = i == 0 ? 0.05 : 0.0, v0 = i == 0 ? 0.01 : 0.0;
      if (decoupled)
        th *= 1 - o.lr * o.weight_decay;
      else
        gi += o.weight_decay * th;
      const double mi = m0 + (gi - m0) * (1 - o.beta1), vi = o.beta2 * v0 + (1 - o.beta2) * gi * gi;
      const double bc1 = 1 - std::pow(o.beta1, t), bc2 = 1 - std::pow(o.beta2, t);
      const double want = th - o.lr / bc1 * mi / (std::sqrt(vi) / std::sqrt(bc2) + o.eps);
      EXPECT_NEAR(at(m, i), mi, 1e-15);
      EXPECT_NEAR(at(v, i), vi, 1e-15);
      EXPECT_NEAR(at(p, i), want, 1e-14) << "decoupled=" << decoupled << " i=" << i;
    }
    EXPECT_EQ(version(p), 1);
    EXPECT_EQ(version(m), 1);
    EXPECT_EQ(version(v), 1);
  }
}

TEST(OptimOps, RmspropStepMatchesTheFormula) {
  fg::RmspropOptions o;
  o.lr = 0.01;
  o.alpha = 0.9;
  o.momentum = 0.5;
  o.centered = true;
  fg::Tensor p = vec({1.0, 2.0}), g = vec({0.3, -0.6}), sq = vec({0.2, 0.1}), mb = vec({0.1, 0.0}),
             ga = vec({0.05, 0.0});
  fg::rmsprop_step({p}, {g}, {sq}, {mb}, {ga}, o);
  const double g0 = 0.3, s = 0.9 * 0.2 + 0.1 * g0 * g0, a = 0.05 + (g0 - 0.05) * 0.1;
  const double avg = std::sqrt(s - a * a) + o.eps, buf = 0.5 * 0.1 + g0 / avg;
  EXPECT_NEAR(at(sq, 0), s, 1e-15);
  EXPECT_NEAR(at(ga, 0), a, 1e-15);
  EXPECT_NEAR(at(mb, 0), buf, 1e-15);
  EXPECT_NEAR(at(p, 0), 1.0 - o.lr * buf, 1e-15);
  for (const fg::Tensor* t : {&p, &sq, &mb, &ga}) EXPECT_EQ(version(*t), 1);
  EXPECT_EQ(version(g), 0);
}

TEST(OptimOps, Float32GroupsUseTheFloatKernel) {
  fg::SgdOptions o;
  o.lr = 0.5;
  fg::Tensor p = vec({1, 2}, DType::Float32), g = vec({1, 1}, DType::Float32);
  fg::sgd_step({p}, {g}, {}, o, false);
  EXPECT_FLOAT_EQ(p.data<float>()[0], 0.5f);
  EXPECT_FLOAT_EQ(p.data<float>()[1], 1.5f);
  // one group, one dtype: a float64 gradient for a float32 parameter is refused
  EXPECT_THROW(fg::sgd_step({p}, {vec({1, 1})}, {}, o, false), fg::ValueError);
}

}  // namespace
