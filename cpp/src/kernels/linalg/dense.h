// Dense decompositions on batches of contiguous row-major matrices (Eigen underneath).
// Each returns the index of the first matrix it could not factor (singular, not positive
// definite) or -1; the caller turns that into an error naming the op.
#pragma once
#include <cstdint>

namespace fastgrad::kernels {

template <typename T>
int64_t lu_inverse(int64_t batch, int64_t n, const T* a, T* out);
// x = a^-1 b: a (batch, n, n), b/x (batch, n, k).
template <typename T>
int64_t lu_solve(int64_t batch, int64_t n, int64_t k, const T* a, const T* b, T* x);
template <typename T>
void lu_slogdet(int64_t batch, int64_t n, const T* a, T* sign, T* logabsdet);
// Lower factor L with a = L L^T (reads the lower triangle).
template <typename T>
int64_t cholesky_lower(int64_t batch, int64_t n, const T* a, T* l);
// x = a^-1 b with a triangular (only that triangle read; unit: diagonal taken as 1).
template <typename T>
int64_t triangular_solve(int64_t batch, int64_t n, int64_t k, const T* a, const T* b, T* x, bool upper,
                         bool unit);
// Symmetric eigendecomposition from the lower triangle: w ascending (batch, n), v columns (batch, n, n).
template <typename T>
void sym_eigen(int64_t batch, int64_t n, const T* a, T* w, T* v);
// Householder QR of a (batch, m, n): q (batch, m, kq), r (batch, kq, n), kq = complete ? m : min(m, n).
template <typename T>
void householder_qr(int64_t batch, int64_t m, int64_t n, bool complete, const T* a, T* q, T* r);
// SVD of a (batch, m, n): u (batch, m, ku), s (batch, k), vh (batch, kv, n); k = min(m, n),
// ku = full ? m : k, kv = full ? n : k. Singular values descending.
template <typename T>
void svd(int64_t batch, int64_t m, int64_t n, bool full, const T* a, T* u, T* s, T* vh);

}  // namespace fastgrad::kernels
