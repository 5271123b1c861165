// The C++ indexing API (ops/index.cpp) called directly: x[key] and x[key] = value give the
// values, gradients, version bumps and messages Python users see through Tensor.__getitem__.
#include <gtest/gtest.h>

#include <vector>

#include "expect_message.h"
#include "fastgrad/autodiff.h"
#include "fastgrad/ops.h"

namespace fg = fastgrad;
using fg::IndexItem;

namespace {
// 0, 1, ..., n-1 in `shape`, float64.
fg::Tensor iota(const fg::Shape& shape, bool requires_grad = false) {
  fg::Tensor t =
      fg::reshape(fg::arange(0, static_cast<double>(fg::shape_numel(shape)), 1, fg::DType::Float64), shape);
  t = fg::contiguous(t);
  t.impl()->requires_grad = requires_grad;
  return t;
}
std::vector<double> values(const fg::Tensor& t) {
  fg::Tensor c = fg::contiguous(fg::cast(t, fg::DType::Float64));
  return std::vector<double>(c.data<double>(), c.data<double>() + c.numel());
}
fg::Tensor ints(std::vector<int64_t> v) {
  fg::Tensor t = fg::empty({static_cast<int64_t>(v.size())}, fg::DType::Int64);
  for (size_t i = 0; i < v.size(); ++i) t.data<int64_t>()[i] = v[i];
  return t;
}
}  // namespace

TEST(Index, BasicKeysAreViews) {
  fg::Tensor x = iota({3, 4});
  fg::Tensor y = fg::index(x, {IndexItem::integer(-1), IndexItem::range(1, INT64_MAX, 2)});
  EXPECT_EQ(y.shape(), fg::Shape({2}));
  EXPECT_EQ(values(y), (std::vector<double>{9, 11}));
  EXPECT_EQ(y.impl()->storage, x.impl()->storage);
  fg::Tensor z = fg::index(x, {IndexItem::ellipsis(), IndexItem::newaxis()});
  EXPECT_EQ(z.shape(), fg::Shape({3, 4, 1}));
}

TEST(Index, AdvancedIndicesBroadcastAndGradientsScatterBack) {
  fg::Tensor x = iota({3, 4}, true);
  fg::Tensor y = fg::index(x, {IndexItem::tensor(ints({0, 2, 2})), IndexItem::tensor(ints({1, 3, 3}))});
  EXPECT_EQ(values(y), (std::vector<double>{1, 11, 11}));
  fg::backward({fg::sum(y, {}, false)}, {fg::Tensor()}, false, false);
  std::vector<double> g = values(fg::Tensor(fg::get_grad(x.impl())));
  EXPECT_EQ(g[1], 1);
  EXPECT_EQ(g[11], 2);  // a repeated index accumulates
  EXPECT_EQ(g[0], 0);
}

TEST(Index, BoolMask) {
  fg::Tensor x = iota({4});
  fg::Tensor m = fg::cast(fg::index(ints({1, 0, 0, 1}), {}), fg::DType::Bool);
  EXPECT_EQ(values(fg::index(x, {IndexItem::tensor(m)})), (std::vector<double>{0, 3}));
}

TEST(Index, Errors) {
  fg::Tensor x = iota({2, 3});
  EXPECT_MESSAGE(fg::IndexError, fg::index(x, {IndexItem::integer(2)}),
                 "index 2 is out of bounds for axis 0 with size 2 (shape (2, 3))");
  EXPECT_MESSAGE(fg::IndexError,
                 fg::index(x, {IndexItem::integer(0), IndexItem::integer(0), IndexItem::integer(0)}),
                 "too many indices for tensor of shape (2, 3): 3 given");
  EXPECT_MESSAGE(fg::IndexError, fg::index(x, {IndexItem::range(INT64_MAX, INT64_MIN, -1)}),
                 "negative slice steps are not supported");
  EXPECT_MESSAGE(fg::IndexError, fg::index(x, {IndexItem::tensor(iota({1}))}),
                 "tensors used as indices must be int64 or bool, got float64");
}

TEST(Index, PutWritesInPlaceAndBumpsTheVersion) {
  fg::Tensor x = iota({2, 3});
  const int64_t v0 = x.impl()->storage->version.load();
  fg::index_put_(x, {IndexItem::range(0, INT64_MAX, 1), IndexItem::integer(1)},
                 fg::scalar(-1, fg::DType::Float64));
  EXPECT_EQ(values(x), (std::vector<double>{0, -1, 2, 3, -1, 5}));
  EXPECT_EQ(x.impl()->storage->version.load(), v0 + 1);
}

TEST(Index, PutIntoNonLeafIsDifferentiable) {
  fg::Tensor a = iota({3}, true);
  fg::Tensor v = fg::contiguous(fg::full({1}, 5, fg::DType::Float64));
  v.impl()->requires_grad = true;
  fg::Tensor y = fg::mul_scalar(a, 2);
  fg::index_put_(y, {IndexItem::integer(1)}, fg::mul_scalar(v, 3));
  EXPECT_EQ(values(y), (std::vector<double>{0, 15, 4}));
  fg::backward({fg::sum(y, {}, false)}, {fg::Tensor()}, false, false);
  EXPECT_EQ(values(fg::Tensor(fg::get_grad(a.impl()))), (std::vector<double>{2, 0, 2}));
  EXPECT_EQ(values(fg::Tensor(fg::get_grad(v.impl()))), (std::vector<double>{3}));
}
