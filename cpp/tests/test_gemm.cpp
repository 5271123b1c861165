// GEMM against a naive triple loop (and Eigen when available), on every ISA path the
// machine supports, float and double, odd sizes, transposed / strided operands,
// alpha/beta variants, K == 0, threading and batching.
#include <gtest/gtest.h>
#include <omp.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "fastgrad/kernels/dispatch.h"
#include "fastgrad/kernels/gemm.h"

#ifdef FASTGRAD_HAVE_EIGEN
#include <Eigen/Dense>
#endif

namespace fk = fastgrad::kernels;

namespace {

std::vector<fk::Isa> supported_isas() {
  std::vector<fk::Isa> v;
  for (fk::Isa i : {fk::Isa::Scalar, fk::Isa::Avx2, fk::Isa::Avx512})
    if (fk::isa_supported(i)) v.push_back(i);
  return v;
}

// Restores the ISA that was active before the test.
struct IsaGuard {
  fk::Isa saved = fk::active_isa();
  ~IsaGuard() { fk::set_isa(saved); }
};

// A rows x cols matrix stored row-major (trans=false) or column-major (trans=true),
// with `pad` extra elements per leading dimension so strides exceed the extent.
template <typename T>
struct Mat {
  int64_t rows, cols, rs, cs;
  std::vector<T> buf;
  Mat(int64_t r, int64_t c, bool trans, int64_t pad, std::mt19937& rng, T fill_pad = T(0))
      : rows(r), cols(c) {
    if (!trans) {
      rs = c + pad;
      cs = 1;
    } else {
      rs = 1;
      cs = r + pad;
    }
    buf.assign(size_t(std::max<int64_t>(1, trans ? cs * c : rs * r)), fill_pad);
    std::uniform_real_distribution<double> d(-1.0, 1.0);
    for (int64_t i = 0; i < r; ++i)
      for (int64_t j = 0; j < c; ++j) at(i, j) = T(d(rng));
  }
  T& at(int64_t i, int64_t j) { return buf[size_t(i * rs + j * cs)]; }
  T at(int64_t i, int64_t j) const { return buf[size_t(i * rs + j * cs)]; }
  T* p() { return buf.data(); }
};

// Checks C against alpha*A@B + beta*C0 with the rigorous floating-point bound
// |err| <= c * eps * (K + 2) * (|alpha| sum|a||b| + |beta||c0|), c = 2.
template <typename T>
::testing::AssertionResult check(const Mat<T>& A, const Mat<T>& B, const Mat<T>& C0, const Mat<T>& C, T alpha,
                                 T beta, const std::string& what) {
  const int64_t M = C.rows, N = C.cols, K = A.cols;
  const long double eps = std::numeric_limits<T>::epsilon();
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      long double acc = 0, mag = 0;
      for (int64_t k = 0; k < K; ++k) {
        const long double p = (long double)A.at(i, k) * B.at(k, j);
        acc += p;
        mag += std::fabs(p);
      }
      long double ref = (long double)alpha * acc;
      mag *= std::fabs((long double)alpha);
      if (beta != T(0)) {
        ref += (long double)beta * C0.at(i, j);
        mag += std::fabs((long double)beta * C0.at(i, j));
      }
      const long double got = C.at(i, j);
      const long double tol = 2 * eps * (K + 2) * mag + std::numeric_limits<T>::min();
      if (!(std::fabs(got - ref) <= tol))
        return ::testing::AssertionFailure()
               << what << ": C(" << i << "," << j << ") = " << (double)got << ", expected " << (double)ref
               << " (tol " << (double)tol << ")";
    }
  return ::testing::AssertionSuccess();
}

template <typename T>
::testing::AssertionResult run_case(int64_t M, int64_t N, int64_t K, bool tA, bool tB, bool tC, int64_t pad,
                                    T alpha, T beta, std::mt19937& rng) {
  Mat<T> A(M, K, tA, pad, rng, T(NAN)), B(K, N, tB, pad, rng, T(NAN));
  Mat<T> C(M, N, tC, pad, rng, T(-7));
  if (beta == T(0))  // beta == 0 must not read C
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) C.at(i, j) = T(NAN);
  const Mat<T> C0 = C;
  fk::gemm<T>(M, N, K, alpha, A.p(), A.rs, A.cs, B.p(), B.rs, B.cs, beta, C.p(), C.rs, C.cs);
  // Padding of C must be untouched.
  for (size_t idx = 0; idx < C.buf.size(); ++idx) {
    const int64_t major = int64_t(idx) / (tC ? C.cs : C.rs);
    const int64_t minor = int64_t(idx) % (tC ? C.cs : C.rs);
    const bool inside = tC ? (minor < M && major < N) : (minor < N && major < M);
    if (!inside && !(C.buf[idx] == T(-7)))
      return ::testing::AssertionFailure() << "padding of C overwritten at " << idx;
  }
  const std::string what = std::string(fk::isa_name(fk::active_isa())) + " M=" + std::to_string(M) +
                           " N=" + std::to_string(N) + " K=" + std::to_string(K) +
                           " tA=" + std::to_string(tA) + " tB=" + std::to_string(tB) +
                           " tC=" + std::to_string(tC) + " pad=" + std::to_string(pad) +
                           " alpha=" + std::to_string(alpha) + " beta=" + std::to_string(beta);
  return check(A, B, C0, C, alpha, beta, what);
}

const int64_t kGrid[] = {1, 2, 3, 5, 7, 8, 13, 16, 17, 31, 33, 47, 64, 67};

template <typename T>
class GemmTest : public ::testing::Test {};
using Types = ::testing::Types<float, double>;
TYPED_TEST_SUITE(GemmTest, Types);

TYPED_TEST(GemmTest, AllSizesRowMajor) {
  using T = TypeParam;
  IsaGuard g;
  std::mt19937 rng(1);
  for (fk::Isa isa : supported_isas()) {
    fk::set_isa(isa);
    for (int64_t M : kGrid)
      for (int64_t N : kGrid)
        for (int64_t K : kGrid) ASSERT_TRUE(run_case<T>(M, N, K, false, false, false, 0, T(1), T(0), rng));
  }
}

TYPED_TEST(GemmTest, LayoutsStridesAlphaBeta) {
  using T = TypeParam;
  IsaGuard g;
  std::mt19937 rng(2);
  const int64_t sizes[] = {1, 3, 8, 17, 33, 67};
  const T ab[][2] = {{T(1), T(0)}, {T(-0.5), T(0)}, {T(1), T(1)}, {T(2), T(-1.5)}};
  for (fk::Isa isa : supported_isas()) {
    fk::set_isa(isa);
    for (int layout = 0; layout < 16; ++layout) {
      const bool tA = layout & 1, tB = layout & 2, tC = layout & 4;
      const int64_t pad = (layout & 8) ? 3 : 0;
      int v = 0;
      for (int64_t M : sizes)
        for (int64_t N : sizes)
          for (int64_t K : sizes) {
            const auto& p = ab[(v++) % 4];
            ASSERT_TRUE(run_case<T>(M, N, K, tA, tB, tC, pad, p[0], p[1], rng));
          }
    }
  }
}

TYPED_TEST(GemmTest, LargeAndThreaded) {
  using T = TypeParam;
  IsaGuard g;
  std::mt19937 rng(3);
  struct S {
    int64_t M, N, K;
    bool tA, tB, tC;
    int64_t pad;
  };
  const S cases[] = {{300, 257, 513, false, false, false, 0}, {300, 257, 513, true, true, false, 5},
                     {129, 520, 300, false, true, true, 1},   {515, 33, 1030, true, false, false, 0},
                     {150, 131, 70, false, false, false, 2},  {1, 700, 900, false, false, false, 0},
                     {700, 1, 900, false, true, false, 0},    {64, 4100, 20, false, false, false, 0}};
  for (fk::Isa isa : supported_isas()) {
    fk::set_isa(isa);
    for (const S& s : cases) {
      ASSERT_TRUE(run_case<T>(s.M, s.N, s.K, s.tA, s.tB, s.tC, s.pad, T(1), T(0), rng));
      ASSERT_TRUE(run_case<T>(s.M, s.N, s.K, s.tA, s.tB, s.tC, s.pad, T(0.75), T(-2), rng));
    }
  }
}

// Neither stride is 1 (e.g. every other row and column of a bigger matrix), for all
// three operands, on the small and the packed paths.
TYPED_TEST(GemmTest, GeneralStrides) {
  using T = TypeParam;
  IsaGuard g;
  std::mt19937 rng(8);
  std::uniform_real_distribution<double> d(-1.0, 1.0);
  for (fk::Isa isa : supported_isas()) {
    fk::set_isa(isa);
    for (int64_t n : {1, 7, 20, 67, 150}) {
      const int64_t M = n, N = n + 2, K = n + 5;
      // X(i, j) at buf[i * rs + j * cs] with rs = 4 * cols + 1, cs = 2.
      auto make = [&](int64_t r, int64_t c, int64_t& rs, int64_t& cs, std::vector<T>& buf) {
        cs = 2;
        rs = 4 * c + 1;
        buf.assign(size_t(r * rs + 1), T(NAN));
        for (int64_t i = 0; i < r; ++i)
          for (int64_t j = 0; j < c; ++j) buf[size_t(i * rs + j * cs)] = T(d(rng));
      };
      int64_t rsA, csA, rsB, csB, rsC, csC;
      std::vector<T> A, B, C;
      make(M, K, rsA, csA, A);
      make(K, N, rsB, csB, B);
      make(M, N, rsC, csC, C);
      const std::vector<T> C0 = C;
      fk::gemm<T>(M, N, K, T(1.25), A.data(), rsA, csA, B.data(), rsB, csB, T(0.5), C.data(), rsC, csC);
      const long double eps = std::numeric_limits<T>::epsilon();
      for (int64_t i = 0; i < M; ++i)
        for (int64_t j = 0; j < N; ++j) {
          long double acc = 0, mag = 0;
          for (int64_t k = 0; k < K; ++k) {
            const long double p = (long double)A[size_t(i * rsA + k * csA)] * B[size_t(k * rsB + j * csB)];
            acc += p;
            mag += std::fabs(p);
          }
          const long double c0 = C0[size_t(i * rsC + j * csC)];
          const long double ref = 1.25L * acc + 0.5L * c0;
          const long double tol = 2 * eps * (K + 2) * (1.25L * mag + 0.5L * std::fabs(c0));
          ASSERT_LE(std::fabs(C[size_t(i * rsC + j * csC)] - ref), tol)
              << fk::isa_name(isa) << " n=" << n << " at " << i << "," << j;
        }
      // Elements between the strided ones are untouched.
      for (size_t idx = 0; idx < C.size(); ++idx) {
        const int64_t i = int64_t(idx) / rsC, rem = int64_t(idx) % rsC;
        if (rem % 2 != 0 || rem / 2 >= N || i >= M) {
          ASSERT_TRUE(std::isnan(C[idx])) << idx;
        }
      }
    }
  }
}

TYPED_TEST(GemmTest, ZeroSizesAndAlphaZero) {
  using T = TypeParam;
  IsaGuard g;
  std::mt19937 rng(4);
  for (fk::Isa isa : supported_isas()) {
    fk::set_isa(isa);
    // K == 0: C = beta * C, or 0 when beta == 0 (even over NaN).
    for (int64_t M : {1, 5, 40})
      for (int64_t N : {1, 9, 70}) {
        ASSERT_TRUE(run_case<T>(M, N, 0, false, false, false, 1, T(1), T(0), rng));
        ASSERT_TRUE(run_case<T>(M, N, 0, false, false, true, 0, T(1), T(3), rng));
        ASSERT_TRUE(run_case<T>(M, N, 0, true, false, false, 0, T(2), T(1), rng));
      }
    // alpha == 0: A and B are not read (they are NaN here).
    std::vector<T> A(50, T(NAN)), B(50, T(NAN)), C(25, T(2));
    fk::gemm<T>(5, 5, 10, T(0), A.data(), 10, 1, B.data(), 5, 1, T(0.5), C.data(), 5, 1);
    for (T c : C) ASSERT_EQ(c, T(1));
    // M or N == 0: nothing is touched.
    fk::gemm<T>(0, 5, 10, T(1), A.data(), 10, 1, B.data(), 5, 1, T(0), C.data(), 5, 1);
    fk::gemm<T>(5, 0, 10, T(1), A.data(), 10, 1, B.data(), 5, 1, T(0), C.data(), 5, 1);
    for (T c : C) ASSERT_EQ(c, T(1));
  }
}

TYPED_TEST(GemmTest, DeterministicAcrossRunsAndThreadCounts) {
  using T = TypeParam;
  std::mt19937 rng(5);
  const int64_t M = 263, N = 301, K = 777;
  Mat<T> A(M, K, false, 0, rng), B(K, N, false, 0, rng);
  std::vector<T> C1(size_t(M * N)), C2(size_t(M * N)), C3(size_t(M * N));
  fk::gemm<T>(M, N, K, T(1), A.p(), A.rs, A.cs, B.p(), B.rs, B.cs, T(0), C1.data(), N, 1);
  fk::gemm<T>(M, N, K, T(1), A.p(), A.rs, A.cs, B.p(), B.rs, B.cs, T(0), C2.data(), N, 1);
  const int saved = omp_get_max_threads();
  omp_set_num_threads(1);
  fk::gemm<T>(M, N, K, T(1), A.p(), A.rs, A.cs, B.p(), B.rs, B.cs, T(0), C3.data(), N, 1);
  omp_set_num_threads(saved);
  ASSERT_EQ(C1, C2);
  ASSERT_EQ(C1, C3);
}

// The threaded packed path splits C into more tiles than threads, handed out from a
// shared counter: for 2, 3 and 4 threads, odd shapes (tile edges off the micro-tile
// grid), transposed operands, M or N = 1 and small K, the result is correct and
// bitwise equal to the single-thread one.
TYPED_TEST(GemmTest, DynamicTilesAcrossThreadCounts) {
  using T = TypeParam;
  IsaGuard g;
  std::mt19937 rng(11);
  struct S {
    int64_t M, N, K;
    bool tA, tB;
  };
  const S cases[] = {{517, 389, 300, false, false}, {64, 1000, 257, false, true},
                     {1000, 70, 129, true, false},  {1, 3000, 600, false, false},
                     {3000, 1, 600, false, true},   {130, 784, 512, false, true},
                     {401, 403, 3, true, true}};
  const int saved = omp_get_max_threads();
  for (fk::Isa isa : supported_isas()) {
    fk::set_isa(isa);
    for (const S& s : cases) {
      Mat<T> A(s.M, s.K, s.tA, 1, rng, T(NAN)), B(s.K, s.N, s.tB, 2, rng, T(NAN));
      Mat<T> C0(s.M, s.N, false, 0, rng);
      std::vector<T> ref(size_t(s.M * s.N));
      omp_set_num_threads(1);
      fk::gemm<T>(s.M, s.N, s.K, T(1), A.p(), A.rs, A.cs, B.p(), B.rs, B.cs, T(0), ref.data(), s.N, 1);
      for (int nt : {2, 3, 4}) {
        omp_set_num_threads(nt);
        Mat<T> C = C0;
        fk::gemm<T>(s.M, s.N, s.K, T(0.5), A.p(), A.rs, A.cs, B.p(), B.rs, B.cs, T(1.5), C.p(), C.rs, C.cs);
        EXPECT_TRUE(check(
            A, B, C0, C, T(0.5), T(1.5),
            std::string(fk::isa_name(isa)) + " nt=" + std::to_string(nt) + " M=" + std::to_string(s.M)));
        std::vector<T> got(size_t(s.M * s.N));
        fk::gemm<T>(s.M, s.N, s.K, T(1), A.p(), A.rs, A.cs, B.p(), B.rs, B.cs, T(0), got.data(), s.N, 1);
        EXPECT_EQ(got, ref) << fk::isa_name(isa) << " nt=" << nt << " M=" << s.M << " N=" << s.N;
      }
    }
  }
  omp_set_num_threads(saved);
}

TYPED_TEST(GemmTest, CalledInsideParallelRegion) {
  using T = TypeParam;
  std::mt19937 rng(6);
  const int64_t M = 200, N = 190, K = 180;
  Mat<T> A(M, K, false, 0, rng), B(K, N, true, 0, rng);
  std::vector<Mat<T>> Cs;
  for (int t = 0; t < 4; ++t) Cs.emplace_back(M, N, false, 0, rng);
  const std::vector<Mat<T>> C0 = Cs;
#pragma omp parallel for num_threads(2)
  for (int t = 0; t < 4; ++t)
    fk::gemm<T>(M, N, K, T(1), A.buf.data(), A.rs, A.cs, B.buf.data(), B.rs, B.cs, T(0.5), Cs[size_t(t)].p(),
                N, 1);
  for (int t = 0; t < 4; ++t)
    ASSERT_TRUE(check(A, B, C0[size_t(t)], Cs[size_t(t)], T(1), T(0.5), "in parallel"));
}

TYPED_TEST(GemmTest, Batched) {
  using T = TypeParam;
  IsaGuard g;
  std::mt19937 rng(7);
  struct S {
    int64_t batch, M, N, K;
    bool bcastB;
  };
  const S cases[] = {{7, 5, 9, 3, false}, {16, 32, 64, 3, true},    {3, 70, 65, 33, false},
                     {5, 1, 1, 1, false}, {4, 260, 250, 200, true}, {6, 8, 8, 0, false}};
  for (fk::Isa isa : supported_isas()) {
    fk::set_isa(isa);
    for (const S& s : cases) {
      std::vector<Mat<T>> As, Bs, Cs;
      for (int64_t b = 0; b < s.batch; ++b) {
        As.emplace_back(s.M, s.K, false, 0, rng);
        Bs.emplace_back(s.K, s.N, true, 0, rng);
        Cs.emplace_back(s.M, s.N, false, 0, rng);
      }
      std::vector<T> A, B, C;
      for (int64_t b = 0; b < s.batch; ++b) {
        A.insert(A.end(), As[size_t(b)].buf.begin(), As[size_t(b)].buf.end());
        if (!s.bcastB || b == 0) B.insert(B.end(), Bs[size_t(b)].buf.begin(), Bs[size_t(b)].buf.end());
        C.insert(C.end(), Cs[size_t(b)].buf.begin(), Cs[size_t(b)].buf.end());
      }
      const int64_t bsA = int64_t(As[0].buf.size()), bsC = int64_t(Cs[0].buf.size());
      const int64_t bsB = s.bcastB ? 0 : int64_t(Bs[0].buf.size());
      fk::gemm_batched<T>(s.batch, s.M, s.N, s.K, T(1.5), A.data(), bsA, As[0].rs, As[0].cs, B.data(), bsB,
                          Bs[0].rs, Bs[0].cs, T(-1), C.data(), bsC, Cs[0].rs, Cs[0].cs);
      for (int64_t b = 0; b < s.batch; ++b) {
        Mat<T> got = Cs[size_t(b)];
        std::copy(C.begin() + b * bsC, C.begin() + (b + 1) * bsC, got.buf.begin());
        ASSERT_TRUE(check(As[size_t(b)], Bs[size_t(s.bcastB ? 0 : b)], Cs[size_t(b)], got, T(1.5), T(-1),
                          "batched b=" + std::to_string(b)));
      }
    }
  }
}

#ifdef FASTGRAD_HAVE_EIGEN
TYPED_TEST(GemmTest, MatchesEigen) {
  using T = TypeParam;
  using EM = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  IsaGuard g;
  for (fk::Isa isa : supported_isas()) {
    fk::set_isa(isa);
    for (int64_t n : {1, 17, 64, 67, 129, 300}) {
      const int64_t M = n, N = n + 3, K = 2 * n + 1;
      EM A = EM::Random(M, K), B = EM::Random(K, N), C = EM::Random(M, N);
      EM ref = T(0.5) * (A * B) + T(2) * C;
      fk::gemm<T>(M, N, K, T(0.5), A.data(), K, 1, B.data(), N, 1, T(2), C.data(), N, 1);
      const T tol = T(4) * std::numeric_limits<T>::epsilon() * T(K + 2) * T(K + 4);
      ASSERT_LE((C - ref).cwiseAbs().maxCoeff(), tol) << fk::isa_name(isa) << " n=" << n;
    }
  }
}
#endif

}  // namespace
