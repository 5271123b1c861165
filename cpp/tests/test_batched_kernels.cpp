// kernels/batched called directly: batched matmul over broadcast batch dimensions with
// transposed and strided operands, float/double against a naive triple loop, int64
// wrapping modulo 2^64; empty batch, M, N and K; the shared batch-offset walk.
#include <gtest/gtest.h>

#include <limits>

#include "../src/kernels/batched/batched_matmul.h"
#include "kernel_test_util.h"

namespace fk = fastgrad::kernels;
using kt::Dims;

namespace {

struct Case {
  Dims batch, sa, sb;  // batch sizes and the operands' batch strides
  int64_t M, N, K;
  bool ta, tb;  // operand stored transposed
  int64_t span_a, span_b;
};

// Batch strides for operands of `mats` matrices of `per` elements broadcast over axes
// where `bcast` is set.
Dims bstrides(const Dims& batch, const std::vector<bool>& bcast, int64_t per) {
  Dims st(batch.size());
  int64_t acc = per;
  for (size_t d = batch.size(); d-- > 0;) {
    st[d] = bcast[d] ? 0 : acc;
    if (!bcast[d]) acc *= batch[d];
  }
  return st;
}

std::vector<Case> cases() {
  std::vector<Case> v;
  auto add = [&](Dims batch, std::vector<bool> ba, std::vector<bool> bb, int64_t M, int64_t N, int64_t K,
                 bool ta, bool tb) {
    const Dims sa = bstrides(batch, ba, M * K), sb = bstrides(batch, bb, K * N);
    int64_t na = M * K, nb = K * N;
    for (size_t d = 0; d < batch.size(); ++d) {
      if (!ba[d]) na *= batch[d];
      if (!bb[d]) nb *= batch[d];
    }
    v.push_back({batch, sa, sb, M, N, K, ta, tb, std::max<int64_t>(na, 1), std::max<int64_t>(nb, 1)});
  };
  add({}, {}, {}, 3, 4, 5, false, false);
  add({2, 3}, {false, false}, {false, false}, 4, 3, 5, false, true);
  add({2, 3}, {false, true}, {true, false}, 5, 2, 3, true, false);  // both broadcast an axis
  add({7}, {false}, {true}, 6, 5, 4, true, true);
  add({64}, {false}, {false}, 16, 16, 16, false, false);  // threaded by batch entry
  add({0}, {false}, {false}, 3, 3, 3, false, false);
  add({2}, {false}, {false}, 0, 3, 3, false, false);
  add({2}, {false}, {false}, 3, 0, 3, false, false);
  add({2}, {false}, {false}, 3, 4, 0, false, false);  // K = 0: zeros
  return v;
}

template <typename T>
void check(const Case& c) {
  SCOPED_TRACE(::testing::Message() << "batch " << c.batch.size() << " M,N,K " << c.M << "," << c.N << ","
                                    << c.K << (c.ta ? " ta" : "") << (c.tb ? " tb" : ""));
  const auto a = kt::random_buffer<T>(c.span_a, 21, -5, 5), b = kt::random_buffer<T>(c.span_b, 22, -5, 5);
  const int64_t rsA = c.ta ? 1 : c.K, csA = c.ta ? c.M : 1, rsB = c.tb ? 1 : c.N, csB = c.tb ? c.K : 1;
  const int64_t nb = kt::numel(c.batch);
  std::vector<T> out(size_t(std::max<int64_t>(nb * c.M * c.N, 1)), T(99));
  fk::batched_matmul<T>(c.batch.data(), c.sa.data(), c.sb.data(), int64_t(c.batch.size()), c.M, c.N, c.K,
                        a.data(), rsA, csA, b.data(), rsB, csB, out.data());
  for (int64_t i = 0; i < nb; ++i) {
    const Dims idx = kt::unravel(i, c.batch);
    const int64_t oa = kt::dot(idx, c.sa), ob = kt::dot(idx, c.sb);
    for (int64_t m = 0; m < c.M; ++m)
      for (int64_t n = 0; n < c.N; ++n) {
        double s = 0;
        for (int64_t k = 0; k < c.K; ++k)
          s += double(a[size_t(oa + m * rsA + k * csA)]) * double(b[size_t(ob + k * rsB + n * csB)]);
        const double got = double(out[size_t((i * c.M + m) * c.N + n)]);
        if constexpr (std::is_integral_v<T>)
          ASSERT_EQ(got, s);
        else
          ASSERT_NEAR(got, s, 1e-4 * (1 + std::abs(s)));
      }
  }
}

}  // namespace

TEST(BatchedKernels, MatmulMatchesNaiveLoop) {
  for (const auto& c : cases()) {
    check<float>(c);
    check<double>(c);
    check<int64_t>(c);
  }
}

TEST(BatchedKernels, Int64Wraps) {
  const int64_t a[2] = {std::numeric_limits<int64_t>::max(), 2}, b[2] = {2, int64_t(1) << 62};
  int64_t out[1];
  fk::batched_matmul<int64_t>(nullptr, nullptr, nullptr, 0, 1, 1, 2, a, 2, 1, b, 1, 1, out);
  // (2^63 - 1) * 2 + 2 * 2^62 = 2^64 + 2^63 - 2 = 2^63 - 2 (mod 2^64) = INT64_MAX - 1
  EXPECT_EQ(out[0], std::numeric_limits<int64_t>::max() - 1);
}

TEST(BatchedKernels, BatchOffsets) {
  const Dims batch{2, 3, 4}, sa{100, 0, 1}, sb{0, 10, 0};
  for (int64_t i = 0; i < 24; ++i) {
    int64_t oa = -1, ob = -1;
    fk::batch_offsets(i, batch.data(), sa.data(), sb.data(), 3, oa, ob);
    const Dims idx = kt::unravel(i, batch);
    EXPECT_EQ(oa, kt::dot(idx, sa));
    EXPECT_EQ(ob, kt::dot(idx, sb));
  }
}
