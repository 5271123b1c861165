// kernels/reduce called directly: sums, products, max and min over every split of axes
// into kept and reduced, contiguous, transposed, stepped and broadcast (stride 0) inputs,
// empty index spaces, the threaded path, int64 wrap-around, NaN propagation; argmax/argmin
// rows and exclusive products against naive loops.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "../src/kernels/reduce/reduce.h"
#include "fastgrad/kernels/dispatch.h"
#include "fastgrad/parallel.h"
#include "kernel_test_util.h"

namespace fk = fastgrad::kernels;
using kt::Dims;

namespace {

// The reference: walk every kept index, then every reduced index, both row-major.
template <typename T>
std::vector<T> reference(fk::ReduceOp op, const std::vector<T>& x, const Dims& ks, const Dims& kst,
                         const Dims& rs, const Dims& rst) {
  using Acc = std::conditional_t<std::is_same_v<T, float>, double, T>;
  std::vector<T> out(static_cast<size_t>(kt::numel(ks)));
  for (int64_t k = 0; k < kt::numel(ks); ++k) {
    const int64_t base = kt::dot(kt::unravel(k, ks), kst);
    Acc a = op == fk::ReduceOp::Sum    ? Acc(0)
            : op == fk::ReduceOp::Prod ? Acc(1)
            : op == fk::ReduceOp::Max
                ? (std::numeric_limits<Acc>::has_infinity ? -std::numeric_limits<Acc>::infinity()
                                                          : std::numeric_limits<Acc>::lowest())
                : (std::numeric_limits<Acc>::has_infinity ? std::numeric_limits<Acc>::infinity()
                                                          : std::numeric_limits<Acc>::max());
    for (int64_t r = 0; r < kt::numel(rs); ++r) {
      const Acc v = Acc(x[static_cast<size_t>(base + kt::dot(kt::unravel(r, rs), rst))]);
      if constexpr (std::is_integral_v<T>) {
        if (op == fk::ReduceOp::Sum) a = static_cast<T>(static_cast<uint64_t>(a) + static_cast<uint64_t>(v));
        if (op == fk::ReduceOp::Prod) a = static_cast<T>(static_cast<uint64_t>(a) * static_cast<uint64_t>(v));
      } else {
        if (op == fk::ReduceOp::Sum) a += v;
        if (op == fk::ReduceOp::Prod) a *= v;
      }
      if (op == fk::ReduceOp::Max)
        a = (std::isnan(double(a)) || std::isnan(double(v))) ? Acc(NAN) : std::max(a, v);
      if (op == fk::ReduceOp::Min)
        a = (std::isnan(double(a)) || std::isnan(double(v))) ? Acc(NAN) : std::min(a, v);
    }
    out[static_cast<size_t>(k)] = static_cast<T>(a);
  }
  return out;
}

template <typename T>
std::vector<T> run(fk::ReduceOp op, const std::vector<T>& x, const Dims& ks, const Dims& kst, const Dims& rs,
                   const Dims& rst) {
  std::vector<T> out(static_cast<size_t>(kt::numel(ks)), T(42));
  fk::reduce<T>(op, x.data(), ks.data(), kst.data(), static_cast<int64_t>(ks.size()), rs.data(), rst.data(),
                static_cast<int64_t>(rs.size()), out.data());
  return out;
}

// The kernel sums in lanes and chunks (its own fixed order), the reference in one row-major
// pass: integers, max and min agree exactly; float sums agree to the rounding error of
// reordering `terms` values of magnitude <= `mag` in the accumulator (double for both).
template <typename T>
void expect_close(const std::vector<T>& got, const std::vector<T>& want, double terms = 0, double mag = 0) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    if constexpr (std::is_integral_v<T>) {
      EXPECT_EQ(got[i], want[i]) << "at " << i;
    } else if (std::isnan(want[i])) {
      EXPECT_TRUE(std::isnan(got[i])) << "at " << i;
    } else {
      const double rounding = std::numeric_limits<T>::epsilon() * std::abs(double(want[i]));
      const double reorder = terms * mag * std::numeric_limits<double>::epsilon();
      EXPECT_NEAR(double(got[i]), double(want[i]), rounding + reorder) << "at " << i;
    }
  }
}

// A layout: kept and reduced index spaces over one buffer of `n` elements.
struct Layout {
  const char* name;
  Dims ks, kst, rs, rst;
  int64_t n;
};

// x of logical shape (A, B, C) with a permutation of physical strides, a step, or a
// broadcast axis; every layout reduces some of the axes and keeps the rest.
std::vector<Layout> layouts() {
  std::vector<Layout> v;
  // contiguous (4, 5, 6): reduce axis 0 (the row-accumulate path), axis 2, axes (0, 2)
  v.push_back({"lead", {5, 6}, {6, 1}, {4}, {30}, 120});
  v.push_back({"lead2", {6}, {1}, {4, 5}, {30, 6}, 120});
  v.push_back({"trail", {4, 5}, {30, 6}, {6}, {1}, 120});
  v.push_back({"outer_inner", {5}, {6}, {4, 6}, {30, 1}, 120});
  v.push_back({"all", {}, {}, {4, 5, 6}, {30, 6, 1}, 120});
  v.push_back({"none", {4, 5, 6}, {30, 6, 1}, {}, {}, 120});
  // transposed: logical (6, 4) of a (4, 6) buffer, reduce the logical last axis
  v.push_back({"transposed", {6}, {1}, {4}, {6}, 24});
  // stepped: every other element of 2 * 7 * 9, reduce the inner axis
  v.push_back({"stepped", {7}, {18}, {9}, {2}, 126});
  // broadcast: logical (3, 50) where the reduced axis has stride 0
  v.push_back({"broadcast", {3}, {1}, {50}, {0}, 3});
  // threaded: 300 kept x 200 reduced (above the parallel grain), reduced axis strided
  v.push_back({"threaded", {300}, {1}, {200}, {300}, 60000});
  // empty kept and empty reduced index spaces
  v.push_back({"empty_kept", {0, 3}, {3, 1}, {4}, {0}, 1});
  return v;
}

template <typename T>
void check_all_layouts(uint32_t seed) {
  for (const auto& l : layouts()) {
    SCOPED_TRACE(l.name);
    // Products of many entries over/underflow: keep |x| near 1 for them.
    const auto x =
        kt::random_buffer<T>(l.n, seed, std::is_integral_v<T> ? -9 : -3, std::is_integral_v<T> ? 9 : 3);
    const auto xp = kt::random_buffer<T>(l.n, seed + 1, std::is_integral_v<T> ? -2 : 0.9,
                                         std::is_integral_v<T> ? 2 : 1.1);
    const double terms = double(kt::numel(l.rs));
    for (auto op : {fk::ReduceOp::Sum, fk::ReduceOp::Max, fk::ReduceOp::Min}) {
      SCOPED_TRACE(static_cast<int>(op));
      expect_close(run<T>(op, x, l.ks, l.kst, l.rs, l.rst), reference<T>(op, x, l.ks, l.kst, l.rs, l.rst),
                   terms, 3.0 * terms);
    }
    // |partial products| stay within 1.1^terms; each reordered product is off by a few ulp.
    expect_close(run<T>(fk::ReduceOp::Prod, xp, l.ks, l.kst, l.rs, l.rst),
                 reference<T>(fk::ReduceOp::Prod, xp, l.ks, l.kst, l.rs, l.rst), terms, std::pow(1.1, terms));
  }
}

}  // namespace

// Every layout on every ISA path this machine has (the float run kernels are per ISA).
template <typename T>
void check_all_isas(uint32_t seed) {
  const fk::Isa saved = fk::active_isa();
  for (fk::Isa isa : {fk::Isa::Scalar, fk::Isa::Avx2, fk::Isa::Avx512}) {
    if (!fk::isa_supported(isa)) continue;
    SCOPED_TRACE(fk::isa_name(isa));
    fk::set_isa(isa);
    check_all_layouts<T>(seed);
  }
  fk::set_isa(saved);
}

TEST(ReduceKernels, FloatLayouts) { check_all_isas<float>(1); }
TEST(ReduceKernels, DoubleLayouts) { check_all_isas<double>(2); }
TEST(ReduceKernels, Int64Layouts) { check_all_isas<int64_t>(3); }

// Long reductions go through lanes and chunks (kChunk = 2^15 values) and threads: the
// result must not depend on the thread count, and must match the row-major reference.
TEST(ReduceKernels, LongReductionsAreCloseAndThreadCountIndependent) {
  struct Case {
    Dims ks, kst, rs, rst;
    int64_t n;
  };
  const std::vector<Case> cases = {
      {{}, {}, {300001}, {1}, 300001},            // one long run, pieces of it
      {{3}, {100003}, {100003}, {1}, 300009},     // few outputs, long rows
      {{}, {}, {700, 513}, {513, 1}, 700 * 513},  // many short rows per chunk
      {{5}, {1}, {40000}, {5}, 200000},           // strided run (no lanes)
      {{2000}, {1}, {300}, {2000}, 600000},       // leading-axis (columnwise) path
  };
  const int saved = fastgrad::get_num_threads();
  const fk::Isa saved_isa = fk::active_isa();
  for (fk::Isa isa : {fk::Isa::Scalar, fk::Isa::Avx2, fk::Isa::Avx512})
    for (const auto& c : cases) {
      if (!fk::isa_supported(isa)) continue;
      SCOPED_TRACE(fk::isa_name(isa));
      fk::set_isa(isa);
      const auto x = kt::random_buffer<double>(c.n, 11, -1.0, 1.0);
      const auto xf = kt::random_buffer<float>(c.n, 12, -1.0, 1.0);
      const auto xi = kt::random_buffer<int64_t>(c.n, 13, -1000, 1000);
      const double terms = double(kt::numel(c.rs));
      fastgrad::set_num_threads(1);
      const auto one = run<double>(fk::ReduceOp::Sum, x, c.ks, c.kst, c.rs, c.rst);
      const auto one_f = run<float>(fk::ReduceOp::Sum, xf, c.ks, c.kst, c.rs, c.rst);
      fastgrad::set_num_threads(2);
      EXPECT_EQ(run<double>(fk::ReduceOp::Sum, x, c.ks, c.kst, c.rs, c.rst), one);
      EXPECT_EQ(run<float>(fk::ReduceOp::Sum, xf, c.ks, c.kst, c.rs, c.rst), one_f);
      expect_close(one, reference<double>(fk::ReduceOp::Sum, x, c.ks, c.kst, c.rs, c.rst), terms, terms);
      expect_close(one_f, reference<float>(fk::ReduceOp::Sum, xf, c.ks, c.kst, c.rs, c.rst), terms, terms);
      for (auto op : {fk::ReduceOp::Sum, fk::ReduceOp::Max, fk::ReduceOp::Min})
        expect_close(run<int64_t>(op, xi, c.ks, c.kst, c.rs, c.rst),
                     reference<int64_t>(op, xi, c.ks, c.kst, c.rs, c.rst));
      for (auto op : {fk::ReduceOp::Max, fk::ReduceOp::Min})
        expect_close(run<double>(op, x, c.ks, c.kst, c.rs, c.rst),
                     reference<double>(op, x, c.ks, c.kst, c.rs, c.rst));
    }
  fastgrad::set_num_threads(saved);
  fk::set_isa(saved_isa);
}

TEST(ReduceKernels, NaNAnywhereInALongRunPropagates) {
  for (int64_t at : {int64_t(0), int64_t(7), int64_t(40000), int64_t(99999)}) {
    std::vector<double> x(100000, 1.0);
    x[static_cast<size_t>(at)] = NAN;
    const Dims ks{}, kst{}, rs{100000}, rst{1};
    for (auto op : {fk::ReduceOp::Max, fk::ReduceOp::Min, fk::ReduceOp::Sum})
      EXPECT_TRUE(std::isnan(run<double>(op, x, ks, kst, rs, rst)[0])) << at;
  }
}

TEST(ReduceKernels, EmptyReducedSpaceGivesTheIdentity) {
  const std::vector<double> x{1.0};
  const Dims ks{3}, kst{0}, rs{0}, rst{1};
  for (double v : run<double>(fk::ReduceOp::Sum, x, ks, kst, rs, rst)) EXPECT_EQ(v, 0.0);
  for (double v : run<double>(fk::ReduceOp::Prod, x, ks, kst, rs, rst)) EXPECT_EQ(v, 1.0);
  for (double v : run<double>(fk::ReduceOp::Max, x, ks, kst, rs, rst)) EXPECT_EQ(v, -INFINITY);
  const std::vector<int64_t> xi{1};
  for (int64_t v : run<int64_t>(fk::ReduceOp::Min, xi, ks, kst, rs, rst))
    EXPECT_EQ(v, std::numeric_limits<int64_t>::max());
}

TEST(ReduceKernels, Int64SumAndProdWrap) {
  const std::vector<int64_t> x{std::numeric_limits<int64_t>::max(), 1, int64_t(1) << 62, 4};
  const Dims ks{2}, kst{2}, rs{2}, rst{1};
  const auto s = run<int64_t>(fk::ReduceOp::Sum, x, ks, kst, rs, rst);
  EXPECT_EQ(s[0], std::numeric_limits<int64_t>::min());
  const auto p = run<int64_t>(fk::ReduceOp::Prod, x, ks, kst, rs, rst);
  EXPECT_EQ(p[1], 0);  // 2^62 * 4 = 2^64 wraps to 0
}

TEST(ReduceKernels, MaxMinPropagateNaN) {
  const std::vector<float> x{1.f, NAN, 3.f, 2.f, 5.f, -1.f};
  const Dims ks{2}, kst{3}, rs{3}, rst{1};
  for (auto op : {fk::ReduceOp::Max, fk::ReduceOp::Min}) {
    const auto r = run<float>(op, x, ks, kst, rs, rst);
    EXPECT_TRUE(std::isnan(r[0]));
    EXPECT_EQ(r[1], op == fk::ReduceOp::Max ? 5.f : -1.f);
  }
}

TEST(ReduceKernels, FloatSumAccumulatesInDouble) {
  // 2^24 then ones: a float accumulator stays at 2^24 (2^24 + 1 rounds back to it).
  std::vector<float> x(1 << 12, 1.0f);
  x[0] = float(1 << 24);
  const Dims ks{}, kst{}, rs{1 << 12}, rst{1};
  EXPECT_EQ(run<float>(fk::ReduceOp::Sum, x, ks, kst, rs, rst)[0], float((1 << 24) + (1 << 12) - 1));
}

TEST(ReduceKernels, InterruptedReductionThrows) {
  kt::SigintHandler h;
  std::vector<double> x(1, 1.0);
  const Dims ks{64}, kst{0}, rs{int64_t(1) << 20}, rst{0};
  std::vector<double> out(64);
  fastgrad::InterruptScope scope;
  fastgrad::request_interrupt();
  EXPECT_THROW(fk::reduce<double>(fk::ReduceOp::Sum, x.data(), ks.data(), kst.data(), 1, rs.data(),
                                  rst.data(), 1, out.data()),
               fastgrad::Interrupted);
}

TEST(ReduceKernels, ArgExtremumRows) {
  for (int64_t rows : {int64_t(0), int64_t(1), int64_t(5), int64_t(400)}) {
    for (int64_t n : {int64_t(1), int64_t(7), int64_t(100)}) {
      auto x = kt::random_buffer<int64_t>(rows * n, uint32_t(rows * 131 + n), -4, 4);  // many ties
      for (bool mx : {true, false}) {
        std::vector<int64_t> got(static_cast<size_t>(rows), -7);
        fk::arg_extremum_rows<int64_t>(mx, x.data(), rows, n, got.data());
        for (int64_t r = 0; r < rows; ++r) {
          int64_t best = 0;
          for (int64_t i = 1; i < n; ++i) {
            const int64_t v = x[size_t(r * n + i)], b = x[size_t(r * n + best)];
            if (mx ? v > b : v < b) best = i;
          }
          EXPECT_EQ(got[size_t(r)], best) << rows << "x" << n << " row " << r;
        }
      }
    }
  }
}

TEST(ReduceKernels, ArgExtremumFirstNaNWins) {
  const std::vector<double> x{1.0, NAN, 7.0, NAN, 9.0, 2.0, 9.0, 3.0};
  std::vector<int64_t> out(2);
  fk::arg_extremum_rows<double>(true, x.data(), 2, 4, out.data());
  EXPECT_EQ(out[0], 1);
  EXPECT_EQ(out[1], 0);  // 9 at 0 and 2: the first
  fk::arg_extremum_rows<double>(false, x.data(), 2, 4, out.data());
  EXPECT_EQ(out[0], 1);
  EXPECT_EQ(out[1], 1);
}

TEST(ReduceKernels, ExclusiveProducts) {
  std::vector<double> x{2.0, 0.0, 3.0, 4.0, 0.0, 0.0, 1.5, 5e-324, 1.5, -1.0, 2.0, 0.5};
  const int64_t rows = 3, n = 4;
  std::vector<double> y(x.size());
  fk::exclusive_products_rows<double>(x.data(), y.data(), rows, n);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t i = 0; i < n; ++i) {
      double p = 1;
      for (int64_t j = 0; j < n; ++j)
        if (j != i) p *= x[size_t(r * n + j)];
      EXPECT_DOUBLE_EQ(y[size_t(r * n + i)], p) << r << "," << i;
    }
  // Empty rows and zero rows: nothing is read or written.
  fk::exclusive_products_rows<double>(x.data(), y.data(), 0, 4);
  fk::exclusive_products_rows<double>(x.data(), y.data(), 3, 0);
}
