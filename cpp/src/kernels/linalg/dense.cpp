#include "dense.h"

#include <Eigen/Cholesky>
#include <Eigen/Dense>
#include <Eigen/Eigenvalues>
#include <Eigen/LU>
#include <Eigen/QR>
#include <Eigen/SVD>
#include <cmath>

namespace fastgrad::kernels {
namespace {
template <typename T>
using Mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <typename T>
using CMap = Eigen::Map<const Mat<T>>;
template <typename T>
using MMap = Eigen::Map<Mat<T>>;

// A pivot that is exactly zero (or not finite) makes the matrix singular for our purposes,
// as LAPACK's getrf reports (info > 0), which is what torch checks.
template <typename T>
bool lu_singular(const Eigen::PartialPivLU<Mat<T>>& lu) {
  const auto& d = lu.matrixLU().diagonal();
  for (Eigen::Index i = 0; i < d.size(); ++i)
    if (d[i] == T(0) || !std::isfinite(d[i])) return true;
  return false;
}
}  // namespace

template <typename T>
int64_t lu_inverse(int64_t batch, int64_t n, const T* a, T* out) {
  for (int64_t b = 0; b < batch; ++b) {
    if (n == 0) continue;
    Eigen::PartialPivLU<Mat<T>> lu(CMap<T>(a + b * n * n, n, n));
    if (lu_singular(lu)) return b;
    MMap<T>(out + b * n * n, n, n) = lu.inverse();
  }
  return -1;
}

template <typename T>
int64_t lu_solve(int64_t batch, int64_t n, int64_t k, const T* a, const T* rhs, T* x) {
  for (int64_t b = 0; b < batch; ++b) {
    if (n == 0 || k == 0) continue;
    Eigen::PartialPivLU<Mat<T>> lu(CMap<T>(a + b * n * n, n, n));
    if (lu_singular(lu)) return b;
    MMap<T>(x + b * n * k, n, k) = lu.solve(CMap<T>(rhs + b * n * k, n, k));
  }
  return -1;
}

template <typename T>
void lu_slogdet(int64_t batch, int64_t n, const T* a, T* sign, T* logabsdet) {
  for (int64_t b = 0; b < batch; ++b) {
    if (n == 0) {
      sign[b] = T(1), logabsdet[b] = T(0);
      continue;
    }
    Eigen::PartialPivLU<Mat<T>> lu(CMap<T>(a + b * n * n, n, n));
    T s = static_cast<T>(lu.permutationP().determinant()), l = T(0);
    const auto& d = lu.matrixLU().diagonal();
    for (Eigen::Index i = 0; i < n; ++i) {
      if (d[i] < T(0)) s = -s;
      l += std::log(std::abs(d[i]));
    }
    if (d.cwiseAbs().minCoeff() == T(0)) s = T(0);
    sign[b] = s, logabsdet[b] = l;
  }
}

template <typename T>
int64_t cholesky_lower(int64_t batch, int64_t n, const T* a, T* l) {
  for (int64_t b = 0; b < batch; ++b) {
    if (n == 0) continue;
    Eigen::LLT<Mat<T>, Eigen::Lower> llt(CMap<T>(a + b * n * n, n, n));
    if (llt.info() != Eigen::Success) return b;
    MMap<T>(l + b * n * n, n, n) = llt.matrixL();
  }
  return -1;
}

template <typename T>
int64_t triangular_solve(int64_t batch, int64_t n, int64_t k, const T* a, const T* rhs, T* x, bool upper,
                         bool unit) {
  for (int64_t b = 0; b < batch; ++b) {
    if (n == 0 || k == 0) continue;
    CMap<T> A(a + b * n * n, n, n);
    if (!unit)
      for (int64_t i = 0; i < n; ++i)
        if (A(i, i) == T(0)) return b;
    MMap<T> X(x + b * n * k, n, k);
    X = CMap<T>(rhs + b * n * k, n, k);
    if (upper)
      unit ? A.template triangularView<Eigen::UnitUpper>().solveInPlace(X)
           : A.template triangularView<Eigen::Upper>().solveInPlace(X);
    else
      unit ? A.template triangularView<Eigen::UnitLower>().solveInPlace(X)
           : A.template triangularView<Eigen::Lower>().solveInPlace(X);
  }
  return -1;
}

template <typename T>
void sym_eigen(int64_t batch, int64_t n, const T* a, T* w, T* v) {
  for (int64_t b = 0; b < batch; ++b) {
    if (n == 0) continue;
    Mat<T> A = CMap<T>(a + b * n * n, n, n);
    Eigen::SelfAdjointEigenSolver<Mat<T>> es(A);  // reads the lower triangle
    Eigen::Map<Eigen::Matrix<T, Eigen::Dynamic, 1>>(w + b * n, n) = es.eigenvalues();
    MMap<T>(v + b * n * n, n, n) = es.eigenvectors();
  }
}

template <typename T>
void householder_qr(int64_t batch, int64_t m, int64_t n, bool complete, const T* a, T* q, T* r) {
  const int64_t k = complete ? m : std::min(m, n);
  for (int64_t b = 0; b < batch; ++b) {
    Mat<T> A = CMap<T>(a + b * m * n, m, n);
    Eigen::HouseholderQR<Mat<T>> qr(A);
    Mat<T> Q = qr.householderQ() * Mat<T>::Identity(m, k);
    Mat<T> R = qr.matrixQR().topRows(k).template triangularView<Eigen::Upper>();
    // LAPACK's sign convention is whatever Householder gives; torch uses it too (diag(R) may be < 0).
    MMap<T>(q + b * m * k, m, k) = Q;
    MMap<T>(r + b * k * n, k, n) = R;
  }
}

template <typename T>
void svd(int64_t batch, int64_t m, int64_t n, bool full, const T* a, T* u, T* s, T* vh) {
  const int64_t k = std::min(m, n), ku = full ? m : k, kv = full ? n : k;
  if (k == 0) {  // Eigen's JacobiSVD does not take an empty matrix: no singular values, and
                 // the full bases are identities (torch's convention)
    for (int64_t b = 0; b < batch; ++b) {
      MMap<T>(u + b * m * ku, m, ku) = Mat<T>::Identity(m, ku);
      MMap<T>(vh + b * kv * n, kv, n) = Mat<T>::Identity(kv, n);
    }
    return;
  }
  for (int64_t b = 0; b < batch; ++b) {
    Mat<T> A = CMap<T>(a + b * m * n, m, n);
    Eigen::JacobiSVD<Mat<T>> sv(
        A, full ? (Eigen::ComputeFullU | Eigen::ComputeFullV) : (Eigen::ComputeThinU | Eigen::ComputeThinV));
    MMap<T>(u + b * m * ku, m, ku) = sv.matrixU();
    Eigen::Map<Eigen::Matrix<T, Eigen::Dynamic, 1>>(s + b * k, k) = sv.singularValues();
    MMap<T>(vh + b * kv * n, kv, n) = sv.matrixV().transpose();
  }
}

#define FG_INST(T)                                                                                     \
  template int64_t lu_inverse<T>(int64_t, int64_t, const T*, T*);                                      \
  template int64_t lu_solve<T>(int64_t, int64_t, int64_t, const T*, const T*, T*);                     \
  template void lu_slogdet<T>(int64_t, int64_t, const T*, T*, T*);                                     \
  template int64_t cholesky_lower<T>(int64_t, int64_t, const T*, T*);                                  \
  template int64_t triangular_solve<T>(int64_t, int64_t, int64_t, const T*, const T*, T*, bool, bool); \
  template void sym_eigen<T>(int64_t, int64_t, const T*, T*, T*);                                      \
  template void householder_qr<T>(int64_t, int64_t, int64_t, bool, const T*, T*, T*);                  \
  template void svd<T>(int64_t, int64_t, int64_t, bool, const T*, T*, T*, T*);
FG_INST(float)
FG_INST(double)
#undef FG_INST

}  // namespace fastgrad::kernels
