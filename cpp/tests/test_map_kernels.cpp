// kernels/map called directly: strided unary and binary maps against naive index walks,
// with transposed, stepped, broadcast (stride 0) and strided outputs, empty shapes, the
// threaded path; the dims coalescing of make_plan; kernels/fill.
#include <gtest/gtest.h>

#include "../src/kernels/fill/fill.h"
#include "../src/kernels/map/map.h"
#include "kernel_test_util.h"

namespace fk = fastgrad::kernels;
using kt::Dims;

namespace {

struct Operand {
  Dims strides;
  int64_t span;
};

struct Case {
  const char* name;
  Dims shape;
  Operand out, a, b;
};

std::vector<Case> cases() {
  std::vector<Case> v;
  const Dims s{4, 5, 6};
  const Dims c = kt::contiguous_strides(s);
  v.push_back({"contiguous", s, {c, 120}, {c, 120}, {c, 120}});
  v.push_back({"transposed_in", s, {c, 120}, {{1, 4, 20}, 120}, {c, 120}});
  v.push_back({"stepped_in", s, {c, 120}, {{60, 12, 2}, 240}, {{0, 6, 1}, 30}});  // b broadcasts axis 0
  v.push_back({"scalar_b", s, {c, 120}, {c, 120}, {{0, 0, 0}, 1}});
  v.push_back({"scalar_a", s, {c, 120}, {{0, 0, 0}, 1}, {c, 120}});
  v.push_back({"strided_out", s, {{1, 4, 20}, 120}, {c, 120}, {{1, 4, 20}, 120}});
  v.push_back({"empty", {3, 0, 2}, {{0, 2, 1}, 1}, {{0, 2, 1}, 1}, {{0, 2, 1}, 1}});
  v.push_back({"zero_d", {}, {{}, 1}, {{}, 1}, {{}, 1}});
  const Dims big{300, 257};  // above the parallel grain, inner run not a block multiple
  v.push_back({"threaded",
               big,
               {kt::contiguous_strides(big), 300 * 257},
               {{1, 300}, 300 * 257},
               {{257 * 0, 1}, 257}});
  return v;
}

}  // namespace

TEST(MapKernels, UnaryMatchesNaiveWalk) {
  for (const auto& c : cases()) {
    SCOPED_TRACE(c.name);
    const auto x = kt::random_buffer<double>(c.a.span, 3);
    std::vector<float> out(size_t(c.out.span), -1.f);
    fk::map_unary<float, double>(out.data(), c.shape, c.out.strides, x.data(), c.a.strides,
                                 [](double v) { return float(v * 2 + 1); });
    for (int64_t i = 0; i < kt::numel(c.shape); ++i) {
      const Dims idx = kt::unravel(i, c.shape);
      ASSERT_EQ(out[size_t(kt::dot(idx, c.out.strides))],
                float(x[size_t(kt::dot(idx, c.a.strides))] * 2 + 1));
    }
    if (kt::numel(c.shape) == 0) {
      for (float v : out) EXPECT_EQ(v, -1.f);
    }
  }
}

TEST(MapKernels, BinaryMatchesNaiveWalk) {
  for (const auto& c : cases()) {
    SCOPED_TRACE(c.name);
    const auto a = kt::random_buffer<int64_t>(c.a.span, 4, -100, 100);
    const auto b = kt::random_buffer<int64_t>(c.b.span, 5, -100, 100);
    std::vector<int64_t> out(size_t(c.out.span), -1);
    fk::map_binary<int64_t, int64_t>(out.data(), c.shape, c.out.strides, a.data(), c.a.strides, b.data(),
                                     c.b.strides, [](int64_t p, int64_t q) { return p * 3 - q; });
    for (int64_t i = 0; i < kt::numel(c.shape); ++i) {
      const Dims idx = kt::unravel(i, c.shape);
      ASSERT_EQ(out[size_t(kt::dot(idx, c.out.strides))],
                a[size_t(kt::dot(idx, c.a.strides))] * 3 - b[size_t(kt::dot(idx, c.b.strides))]);
    }
  }
}

TEST(MapKernels, ContiguousFastPaths) {
  const auto a = kt::random_buffer<float>(33, 6), b = kt::random_buffer<float>(33, 7);
  std::vector<float> o(33);
  fk::map_unary_contiguous<float, float>(o.data(), a.data(), 33, [](float v) { return -v; });
  for (size_t i = 0; i < 33; ++i) EXPECT_EQ(o[i], -a[i]);
  fk::map_binary_contiguous<float, float>(o.data(), a.data(), b.data(), 33,
                                          [](float p, float q) { return p * q; });
  for (size_t i = 0; i < 33; ++i) EXPECT_EQ(o[i], a[i] * b[i]);
  fk::map_unary_contiguous<float, float>(o.data(), a.data(), 0, [](float) -> float { throw 1; });
}

TEST(MapKernels, PlanCoalescesAndDropsUnitAxes) {
  // (2, 1, 3, 4) contiguous in both operands: one run of 24.
  const std::array<Dims, 2> st{Dims{12, 12, 4, 1}, Dims{12, 99, 4, 1}};
  auto p = fk::make_plan<2, Dims>(Dims{2, 1, 3, 4}, st);
  EXPECT_EQ(p.shape, (Dims{24}));
  EXPECT_EQ(p.strides[1], (Dims{1}));
  // A transposed operand keeps the axes apart.
  const std::array<Dims, 2> st2{Dims{4, 1}, Dims{1, 3}};
  auto q = fk::make_plan<2, Dims>(Dims{3, 4}, st2);
  EXPECT_EQ(q.shape, (Dims{3, 4}));
  // All unit axes: a single element.
  auto r = fk::make_plan<2, Dims>(Dims{1, 1}, std::array<Dims, 2>{Dims{5, 5}, Dims{7, 7}});
  EXPECT_EQ(r.shape, (Dims{1}));
  EXPECT_EQ(r.strides[0], (Dims{0}));
}

TEST(FillKernels, FillAndIndexed) {
  std::vector<int64_t> v(100001, 0);  // more than one interrupt piece
  fk::fill<int64_t>(v.data(), int64_t(v.size()), -7);
  for (auto x : v) ASSERT_EQ(x, -7);
  fk::fill_indexed(v.data(), int64_t(v.size()), [](int64_t i) { return i * i; });
  for (size_t i = 0; i < v.size(); ++i) ASSERT_EQ(v[i], int64_t(i * i));
  int calls = 0;
  fk::fill_indexed(v.data(), 0, [&](int64_t) { return int64_t(++calls); });
  EXPECT_EQ(calls, 0);
}
