// fg.linalg's factorizations and solves: one primitive each, forward in Eigen
// (kernels/linalg/dense.cpp), rules in fastgrad ops so they differentiate again.
// References for the rules (cited again at each):
//  [G08] M. Giles, "Collected matrix derivative results for forward and reverse mode AD", 2008.
//  [M16] I. Murray, "Differentiation of the Cholesky decomposition", arXiv:1602.07527, 2016.
//  [W12] S. Walter, L. Lehmann, "Algorithmic differentiation of linear algebra functions with
//        application in optimum experimental design", 2012; [S19] M. Seeger et al., "Auto-
//        differentiating linear algebra", arXiv:1710.08717 (QR).
//  [R20] D. Roberts, L. Roberts, "QR and LQ decomposition matrix backpropagation algorithms for
//        square, wide, and deep - real or complex - matrices and their software implementation",
//        arXiv:2009.10071, 2020 (wide QR).
//  [T16] J. Townsend, "Differentiating the singular value decomposition", 2016; [I15] C. Ionescu
//        et al., "Matrix backpropagation for deep networks with structured layers", 2015 (SVD, eigh).
// Gauge: eigen/singular vectors are defined up to sign (and a rotation inside a repeated
// eigenspace). As torch, the rules assume distinct eigen/singular values; with repeated ones
// the 1/(λj - λi) factors are infinite and the gradient is inf/NaN unless the loss is
// gauge-invariant (depends only on the values, or on the spanned subspaces).
#include "../kernels/linalg/dense.h"
#include "common.h"

namespace fastgrad {
using namespace detail;

namespace {

Tensor mT(const Tensor& x) { return transpose(x, -1, -2); }
int64_t batch_count(const Shape& s, size_t core) {
  int64_t b = 1;
  for (size_t i = 0; i + core < s.size(); ++i) b *= s[i];
  return b;
}
Shape batch_dims(const Shape& s, size_t core) {
  return Shape(s.begin(), s.end() - static_cast<int64_t>(core));
}

void require_square(const Tensor& a, const char* op) {
  require_float(a, op);
  if (a.ndim() < 2 || a.shape()[a.ndim() - 1] != a.shape()[a.ndim() - 2])
    throw ValueError(std::string(op) + ": A must be a batch of square matrices (*, n, n), got shape " +
                     shape_str(a.shape()));
}
void require_matrix(const Tensor& a, const char* op) {
  require_float(a, op);
  if (a.ndim() < 2)
    throw ValueError(std::string(op) + ": A must have at least 2 dimensions (*, m, n), got shape " +
                     shape_str(a.shape()));
}
[[noreturn]] void singular(const char* op, int64_t b, const Shape& s, const char* what) {
  throw ValueError(std::string(op) + ": the matrix at batch index " + std::to_string(b) +
                   " of input of shape " + shape_str(s) + " is " + what);
}

// Lower (or upper) triangle mask of an (n, n) matrix as 0/1 in dtype d; `diag` = weight of the
// diagonal (0: strict triangle, 0.5: Murray's Φ, 1: with it). Built with compare, no loops.
Tensor tri_mask(int64_t n, bool lower, double diag, DType d) {
  Tensor r = reshape(arange_int(0, n, 1, DType::Int64), {n, 1}),
         c = reshape(arange_int(0, n, 1, DType::Int64), {1, n});
  Tensor strict = cast(compare(r, c, lower ? CmpOp::Gt : CmpOp::Lt), d);
  return diag == 0.0 ? strict : add(strict, mul_scalar(cast(eye(n, n, DType::Float64), d), diag));
}
Tensor eye_like(int64_t n, DType d) { return cast(eye(n, n, DType::Float64), d); }
Tensor diag_embed(const Tensor& v) { return mul(unsqueeze(v, -1), eye_like(v.shape().back(), v.dtype())); }
Tensor diag_part(const Tensor& m) { return sum(mul(m, eye_like(m.shape().back(), m.dtype())), {-1}, false); }

// The solves' batching rule. Their inputs are A (..., n, n) and B (..., n, k) with one batch
// shape (linalg_solve broadcast it and turned a vector right-hand side into k = 1 on the
// logical shapes, so a batch axis cannot be mistaken for a vector's). A batched A needs one
// factorization per example: the batch becomes one more leading axis (a shared B expanded).
// A shared A is factorized once: the examples' right-hand sides become more columns of B,
// (..., n, batch·k), and the solution's columns split back into (..., n, batch, k).
Batched vmap_solve(const PrimPtr& self, const Tensors& in, const std::vector<int64_t>& bdims) {
  if (bdims[0] >= 0 || bdims[1] < 0) return vmap_leading(self, in, bdims);
  Tensor b = batch_front(in[1], bdims[1]);  // (batch, ..., n, k)
  const int64_t nd = b.ndim(), size = b.shape()[0], k = b.shape().back();
  Axes cols_last;  // (..., n, batch, k)
  for (int64_t d = 1; d < nd - 1; ++d) cols_last.push_back(d);
  cols_last.push_back(0), cols_last.push_back(nd - 1);
  Shape wide(b.shape().begin() + 1, b.shape().end());
  wide.back() = size * k;
  Tensor x = apply1(self, {in[0], reshape(permute(b, cols_last), wide)});
  Shape split = wide;
  split.back() = size;
  split.push_back(k);
  return {{reshape(x, split)}, {nd - 2}};
}

// ---- inverse: Y = A^-1;  Ȧ -> -Y Ȧ Y,  Ā = -Yᵀ Ȳ Yᵀ  [G08 §2.2.3] ----
struct Inv : Primitive {
  static constexpr PrimitiveDesc kDesc = PrimitiveDesc("linalg_inv").reads_inputs(0).reads_outputs();
  const PrimitiveDesc& desc() const override { return kDesc; }
  // The kernel inverts every matrix of (..., n, n): the batch is one more leading axis.
  FG_VMAP_LEADING
  std::vector<Shape> shapes(const Tensors& in) const override {
    require_square(in[0], "linalg.inv");
    return {in[0].shape()};
  }
  Tensors forward(const Tensors& in, const std::vector<Shape>& s) const override {
    Tensor a = contiguous(detach(in[0])), out = empty(s[0], a.dtype());
    const int64_t n = a.shape().back();
    FG_DISPATCH_FLOAT(a.dtype(), "linalg.inv", [&] {
      int64_t bad = kernels::lu_inverse<scalar_t>(batch_count(a.shape(), 2), n, a.data<scalar_t>(),
                                                  out.data<scalar_t>());
      if (bad >= 0) singular("linalg.inv", bad, a.shape(), "singular");
    });
    return {out};
  }
  Tensors vjp(const Tensors&, const Tensors& y, const Tensors& g, const std::vector<bool>&) const override {
    Tensor yt = mT(y[0]);
    return {neg(matmul(matmul(yt, g[0]), yt))};
  }
  Tensors jvp(const Tensors&, const Tensors& y, const Tensors& t) const override {
    return {neg(matmul(matmul(y[0], t[0]), y[0]))};
  }
};
FG_REGISTER_PRIMITIVE(Inv::kDesc);

// ---- solve: X = A^-1 B;  B̄ = A^-T X̄, Ā = -B̄ Xᵀ;  Ẋ = A^-1 (Ḃ - Ȧ X)  [G08 §2.3.1] ----
struct Solve : Primitive {
  static constexpr PrimitiveDesc kDesc =
      PrimitiveDesc("linalg_solve").inputs(2).reads_inputs(bit(0)).reads_outputs();
  const PrimitiveDesc& desc() const override { return kDesc; }
  Batched vmap(const Tensors& in, const std::vector<int64_t>& bdims, const PrimPtr& self) const override {
    return vmap_solve(self, in, bdims);
  }
  std::vector<Shape> shapes(const Tensors& in) const override {
    return {in[1].shape()};  // linalg_solve() checked and broadcast the batch
  }
  Tensors forward(const Tensors& in, const std::vector<Shape>& s) const override {
    Tensor a = contiguous(detach(in[0])), b = contiguous(detach(in[1])), out = empty(s[0], a.dtype());
    const int64_t n = a.shape().back(), k = b.shape().back();
    FG_DISPATCH_FLOAT(a.dtype(), "linalg.solve", [&] {
      int64_t bad = kernels::lu_solve<scalar_t>(batch_count(a.shape(), 2), n, k, a.data<scalar_t>(),
                                                b.data<scalar_t>(), out.data<scalar_t>());
      if (bad >= 0) singular("linalg.solve", bad, a.shape(), "singular");
    });
    return {out};
  }
  Tensors vjp(const Tensors& x, const Tensors& y, const Tensors& g,
              const std::vector<bool>& need) const override {
    Tensor gb = apply1(singleton<Solve>(), {mT(x[0]), g[0]});
    return {need[0] ? neg(matmul(gb, mT(y[0]))) : Tensor(), need[1] ? gb : Tensor()};
  }
  Tensors jvp(const Tensors& x, const Tensors& y, const Tensors& t) const override {
    Tensor r = add_maybe(t[1], t[0].defined() ? neg(matmul(t[0], y[0])) : Tensor());
    return {apply1(singleton<Solve>(), {x[0], r})};
  }
};
FG_REGISTER_PRIMITIVE(Solve::kDesc);

// ---- triangular solve: X = A^-1 B with A triangular (only that triangle is read) ----
// Same rules as solve [G08 §2.3.1], with Ā projected onto the triangle the forward reads.
struct SolveTriangular : Primitive {
  bool upper, unit;
  SolveTriangular(bool u, bool un) : upper(u), unit(un) {}
  static constexpr PrimitiveDesc kDesc =
      PrimitiveDesc("linalg_solve_triangular").inputs(2).reads_inputs(bit(0)).reads_outputs();
  const PrimitiveDesc& desc() const override { return kDesc; }
  Batched vmap(const Tensors& in, const std::vector<int64_t>& bdims, const PrimPtr& self) const override {
    return vmap_solve(self, in, bdims);
  }
  std::vector<Shape> shapes(const Tensors& in) const override { return {in[1].shape()}; }
  Tensors forward(const Tensors& in, const std::vector<Shape>& s) const override {
    Tensor a = contiguous(detach(in[0])), b = contiguous(detach(in[1])), out = empty(s[0], a.dtype());
    const int64_t n = a.shape().back(), k = b.shape().back();
    FG_DISPATCH_FLOAT(a.dtype(), "linalg.solve_triangular", [&] {
      int64_t bad =
          kernels::triangular_solve<scalar_t>(batch_count(a.shape(), 2), n, k, a.data<scalar_t>(),
                                              b.data<scalar_t>(), out.data<scalar_t>(), upper, unit);
      if (bad >= 0) singular("linalg.solve_triangular", bad, a.shape(), "singular (a zero on the diagonal)");
    });
    return {out};
  }
  Tensor mask(const Tensor& m) const {
    return mul(m, tri_mask(m.shape().back(), !upper, unit ? 0.0 : 1.0, m.dtype()));
  }
  Tensors vjp(const Tensors& x, const Tensors& y, const Tensors& g,
              const std::vector<bool>& need) const override {
    Tensor gb = apply1(make_prim<SolveTriangular>(!upper, unit), {mT(x[0]), g[0]});
    return {need[0] ? mask(neg(matmul(gb, mT(y[0])))) : Tensor(), need[1] ? gb : Tensor()};
  }
  Tensors jvp(const Tensors& x, const Tensors& y, const Tensors& t) const override {
    Tensor r = add_maybe(t[1], t[0].defined() ? neg(matmul(mask(t[0]), y[0])) : Tensor());
    return {apply1(make_prim<SolveTriangular>(upper, unit), {x[0], r})};
  }
};
FG_REGISTER_PRIMITIVE(SolveTriangular::kDesc);

Tensor tri_solve(const Tensor& a, const Tensor& b, bool upper) {
  return apply1(make_prim<SolveTriangular>(upper, false), {a, b});
}

// ---- Cholesky: A = L Lᵀ, L lower (the forward reads A's lower triangle) [M16] ----
// Φ(X) = lower triangle of X with its diagonal halved.
// VJP: Ā = L^-T Φ(Lᵀ L̄) L^-1, symmetrised (A is symmetric: the gradient is, as torch's);
// JVP: L̇ = L Φ(L^-1 Ȧ L^-T).
struct Cholesky : Primitive {
  static constexpr PrimitiveDesc kDesc = PrimitiveDesc("linalg_cholesky").reads_inputs(0).reads_outputs();
  const PrimitiveDesc& desc() const override { return kDesc; }
  // The kernel factorizes every matrix of (..., n, n): the batch is one more leading axis.
  FG_VMAP_LEADING
  std::vector<Shape> shapes(const Tensors& in) const override {
    require_square(in[0], "linalg.cholesky");
    return {in[0].shape()};
  }
  Tensors forward(const Tensors& in, const std::vector<Shape>& s) const override {
    Tensor a = contiguous(detach(in[0])), out = empty(s[0], a.dtype());
    FG_DISPATCH_FLOAT(a.dtype(), "linalg.cholesky", [&] {
      int64_t bad = kernels::cholesky_lower<scalar_t>(batch_count(a.shape(), 2), a.shape().back(),
                                                      a.data<scalar_t>(), out.data<scalar_t>());
      if (bad >= 0) singular("linalg.cholesky", bad, a.shape(), "not positive-definite");
    });
    return {out};
  }
  static Tensor phi(const Tensor& x) { return mul(x, tri_mask(x.shape().back(), true, 0.5, x.dtype())); }
  Tensors vjp(const Tensors&, const Tensors& y, const Tensors& g, const std::vector<bool>&) const override {
    const Tensor& L = y[0];
    Tensor lt = mT(L);
    Tensor p = phi(matmul(lt, g[0]));
    Tensor z = tri_solve(lt, p, true);           // L^-T P
    Tensor ga = mT(tri_solve(lt, mT(z), true));  // (L^-T (L^-T P)ᵀ)ᵀ = L^-T P L^-1
    return {mul_scalar(add(ga, mT(ga)), 0.5)};
  }
  Tensors jvp(const Tensors&, const Tensors& y, const Tensors& t) const override {
    const Tensor& L = y[0];
    Tensor m = mT(tri_solve(L, mT(tri_solve(L, t[0], false)), false));  // L^-1 Ȧ L^-T (Ȧ symmetric)
    return {matmul(L, phi(m))};
  }
};
FG_REGISTER_PRIMITIVE(Cholesky::kDesc);

// ---- slogdet: (sign, log|det A|);  d log|det A| = tr(A^-1 Ȧ),  Ā = ḡ A^-T  [G08 §2.2.4] ----
struct Slogdet : Primitive {
  static constexpr PrimitiveDesc kDesc = PrimitiveDesc("linalg_slogdet").outputs(2).reads_inputs(bit(0));
  const PrimitiveDesc& desc() const override { return kDesc; }
  // Per matrix of (..., n, n), outputs (...): the batch is one more leading axis.
  FG_VMAP_LEADING
  std::vector<Shape> shapes(const Tensors& in) const override {
    require_square(in[0], "linalg.slogdet");
    Shape b = batch_dims(in[0].shape(), 2);
    return {b, b};
  }
  Tensors forward(const Tensors& in, const std::vector<Shape>& s) const override {
    Tensor a = contiguous(detach(in[0])), sg = empty(s[0], a.dtype()), la = empty(s[1], a.dtype());
    FG_DISPATCH_FLOAT(a.dtype(), "linalg.slogdet", [&] {
      kernels::lu_slogdet<scalar_t>(batch_count(a.shape(), 2), a.shape().back(), a.data<scalar_t>(),
                                    sg.data<scalar_t>(), la.data<scalar_t>());
    });
    return {sg, la};
  }
  Tensors vjp(const Tensors& x, const Tensors&, const Tensors& g, const std::vector<bool>&) const override {
    if (!g[1].defined()) return {zeros_like(x[0])};
    return {mul(unsqueeze(unsqueeze(g[1], -1), -1), mT(linalg_inv(x[0])))};
  }
  Tensors jvp(const Tensors& x, const Tensors& y, const Tensors& t) const override {
    return {zeros_like(y[0]), sum(mul(mT(linalg_inv(x[0])), t[0]), {-2, -1}, false)};
  }
};
FG_REGISTER_PRIMITIVE(Slogdet::kDesc);

// F_ij = 1 / (λ_j - λ_i) off the diagonal, 0 on it; the diagonal of the difference is
// replaced by 1 before dividing so no inf (and no NaN in higher derivatives) appears there.
Tensor inv_gaps(const Tensor& w) {
  const int64_t n = w.shape().back();
  Tensor e = sub(unsqueeze(w, -2), unsqueeze(w, -1));
  Tensor I = eye_like(n, w.dtype());
  return mul(rdiv_scalar(add(e, I), 1.0), rsub_scalar(I, 1.0));
}

// ---- eigh: A = V diag(λ) Vᵀ, λ ascending (reads the lower triangle) [G08 §3.1], [I15] ----
// JVP: λ̇ = diag(Vᵀ Ȧ V), V̇ = V (F ∘ (Vᵀ Ȧ V)); VJP: Ā = V (diag(λ̄) + F ∘ (Vᵀ V̄)) Vᵀ
// symmetrised (A is symmetric), as torch's linalg_eigh backward, which projects Vᵀ V̄ onto
// its skew part first (the same thing).
struct Eigh : Primitive {
  static constexpr PrimitiveDesc kDesc =
      PrimitiveDesc("linalg_eigh").outputs(2).reads_inputs(0).reads_outputs();
  const PrimitiveDesc& desc() const override { return kDesc; }
  // Per matrix of (..., n, n): the batch is one more leading axis (same triangle read).
  FG_VMAP_LEADING
  std::vector<Shape> shapes(const Tensors& in) const override {
    require_square(in[0], "linalg.eigh");
    return {batch_dims(in[0].shape(), 1), in[0].shape()};
  }
  Tensors forward(const Tensors& in, const std::vector<Shape>& s) const override {
    Tensor a = contiguous(detach(in[0])), w = empty(s[0], a.dtype()), v = empty(s[1], a.dtype());
    FG_DISPATCH_FLOAT(a.dtype(), "linalg.eigh", [&] {
      kernels::sym_eigen<scalar_t>(batch_count(a.shape(), 2), a.shape().back(), a.data<scalar_t>(),
                                   w.data<scalar_t>(), v.data<scalar_t>());
    });
    return {w, v};
  }
  Tensors vjp(const Tensors&, const Tensors& y, const Tensors& g, const std::vector<bool>&) const override {
    const Tensor &w = y[0], &V = y[1];
    Tensor inner = g[0].defined() ? diag_embed(g[0]) : Tensor();
    if (g[1].defined()) inner = add_maybe(inner, mul(inv_gaps(w), matmul(mT(V), g[1])));
    Tensor ga = matmul(matmul(V, inner), mT(V));
    return {mul_scalar(add(ga, mT(ga)), 0.5)};
  }
  Tensors jvp(const Tensors&, const Tensors& y, const Tensors& t) const override {
    const Tensor &w = y[0], &V = y[1];
    Tensor m = matmul(matmul(mT(V), t[0]), V);
    return {diag_part(m), matmul(V, mul(inv_gaps(w), m))};
  }
};
FG_REGISTER_PRIMITIVE(Eigh::kDesc);

Tensor narrow_last(const Tensor& x, int64_t axis_from_end, int64_t len) {
  std::vector<SliceSpec> spec;
  for (int64_t i = 0; i < x.ndim(); ++i) spec.push_back({0, x.shape()[i], 1});
  spec[x.ndim() - axis_from_end] = {0, len, 1};
  return slice(x, spec);
}

// Columns [b, e) of a batch of matrices.
Tensor cols(const Tensor& x, int64_t b, int64_t e) {
  std::vector<SliceSpec> spec;
  for (int64_t i = 0; i < x.ndim(); ++i) spec.push_back({0, x.shape()[i], 1});
  spec.back() = {b, e, 1};
  return slice(x, spec);
}

// ---- QR (Householder) [W12], [S19], [R20] ----
// m >= n (reduced, or complete with m == n): with C = Qᵀ Ȧ R^-1, Ω = tril(C, -1) - tril(C, -1)ᵀ
// and U = C - Ω (upper): JVP: Ṙ = U R, Q̇ = Ȧ R^-1 - Q U. VJP (its adjoint): M = R̄ Rᵀ - Qᵀ Q̄,
// N = triu(M) + triu(M, 1)ᵀ, Ā = (Q̄ + Q N) R^-T.
// m < n [R20] (torch's linalg_qr_backward takes the same route): A = [X | Y] with X (m, m) and R = [U | V]
// give the square QR X = Q U and V = Qᵀ Y. So Ẏ enters only through V̇ = Q̇ᵀ Y + Qᵀ Ẏ; adjointly Ȳ = Q V̄ and
// X's cotangent is the square rule's with Q̄ + Y V̄ᵀ. Y is read as Q V (it equals it), so the
// rules read only the outputs. Complete Q of a tall A has no derivative (as torch: its last
// m - n columns are any basis of the complement).
struct Qr : Primitive {
  bool complete;
  explicit Qr(bool c) : complete(c) {}
  static constexpr PrimitiveDesc kDesc =
      PrimitiveDesc("linalg_qr").outputs(2).reads_inputs(0).reads_outputs();
  const PrimitiveDesc& desc() const override { return kDesc; }
  // Per matrix of (..., m, n): the batch is one more leading axis, `complete` unchanged.
  FG_VMAP_LEADING
  std::vector<Shape> shapes(const Tensors& in) const override {
    require_matrix(in[0], "linalg.qr");
    const Shape& s = in[0].shape();
    const int64_t m = s[s.size() - 2], n = s.back(), k = complete ? m : std::min(m, n);
    Shape q = batch_dims(s, 2), r = q;
    q.push_back(m), q.push_back(k), r.push_back(k), r.push_back(n);
    return {q, r};
  }
  Tensors forward(const Tensors& in, const std::vector<Shape>& s) const override {
    Tensor a = contiguous(detach(in[0])), q = empty(s[0], a.dtype()), r = empty(s[1], a.dtype());
    const int64_t m = a.shape()[a.ndim() - 2], n = a.shape().back();
    FG_DISPATCH_FLOAT(a.dtype(), "linalg.qr", [&] {
      kernels::householder_qr<scalar_t>(batch_count(a.shape(), 2), m, n, complete, a.data<scalar_t>(),
                                        q.data<scalar_t>(), r.data<scalar_t>());
    });
    return {q, r};
  }
  static void differentiable(const Tensor& q, const Tensor& r) {
    if (q.shape().back() > r.shape().back())
      throw ValueError(
          "linalg.qr: the derivative of mode='complete' is implemented for A of shape (*, m, n) with m <= n "
          "only (the last m - n columns of Q are not unique), got Q " +
          shape_str(q.shape()) + " and R " + shape_str(r.shape()));
  }
  // m >= n: Q (m, n), R (n, n); either cotangent may be undefined.
  static Tensor vjp_tall(const Tensor& Q, const Tensor& R, const Tensor& gQ, const Tensor& gR) {
    const int64_t n = R.shape().back();
    Tensor M;
    if (gR.defined()) M = matmul(gR, mT(R));
    if (gQ.defined()) M = add_maybe(M, neg(matmul(mT(Q), gQ)));
    if (!M.defined()) return zeros_like(Q);  // Ā has Q's shape here
    Tensor up = tri_mask(n, false, 1.0, R.dtype()), sup = tri_mask(n, false, 0.0, R.dtype());
    Tensor N = add(mul(M, up), mT(mul(M, sup)));
    Tensor b = matmul(Q, N);
    if (gQ.defined()) b = add(b, gQ);
    // X = b R^-T  <=>  Xᵀ = R^-1 bᵀ.
    return mT(tri_solve(R, mT(b), true));
  }
  static std::pair<Tensor, Tensor> jvp_tall(const Tensor& Q, const Tensor& R, const Tensor& dA) {
    const int64_t n = R.shape().back();
    Tensor ar = mT(tri_solve(mT(R), mT(dA), false));  // Ȧ R^-1
    Tensor C = matmul(mT(Q), ar);
    Tensor Lo = mul(C, tri_mask(n, true, 0.0, C.dtype()));
    Tensor U = sub(C, sub(Lo, mT(Lo)));
    return {sub(ar, matmul(Q, U)), matmul(U, R)};
  }
  Tensors vjp(const Tensors& x, const Tensors& y, const Tensors& g, const std::vector<bool>&) const override {
    const Tensor &Q = y[0], &R = y[1];
    differentiable(Q, R);
    const int64_t m = Q.shape()[Q.ndim() - 2], n = R.shape().back();
    if (m >= n) return {vjp_tall(Q, R, g[0], g[1])};
    Tensor gU = g[1].defined() ? cols(g[1], 0, m) : Tensor(),
           gV = g[1].defined() ? cols(g[1], m, n) : Tensor();
    Tensor gQ = g[0];
    if (gV.defined()) gQ = add_maybe(gQ, matmul(matmul(Q, cols(R, m, n)), mT(gV)));  // + Y V̄ᵀ
    Tensor gX = vjp_tall(Q, cols(R, 0, m), gQ, gU);
    Tensor gY = gV.defined() ? matmul(Q, gV) : zeros_like(cols(x[0], m, n));
    return {concat({gX, gY}, -1)};
  }
  Tensors jvp(const Tensors&, const Tensors& y, const Tensors& t) const override {
    const Tensor &Q = y[0], &R = y[1];
    differentiable(Q, R);
    const int64_t m = Q.shape()[Q.ndim() - 2], n = R.shape().back();
    if (m >= n) {
      auto [dQ, dR] = jvp_tall(Q, R, t[0]);
      return {dQ, dR};
    }
    auto [dQ, dU] = jvp_tall(Q, cols(R, 0, m), cols(t[0], 0, m));
    Tensor dV = add(matmul(mT(dQ), matmul(Q, cols(R, m, n))), matmul(mT(Q), cols(t[0], m, n)));
    return {dQ, concat({dU, dV}, -1)};
  }
};
FG_REGISTER_PRIMITIVE(Qr::kDesc);

// ---- SVD: A = U diag(S) Vh, S descending [T16], [I15] ----
// With F_ij = 1/(s_j² - s_i²) (0 on the diagonal), P = Uᵀ Ȧ V:
// JVP: Ṡ = diag(P), U̇ = U (F ∘ (P S + S Pᵀ)) + (I - U Uᵀ) Ȧ V S^-1,
//      V̇ = V (F ∘ (S P + Pᵀ S)) + (I - V Vᵀ) Ȧᵀ U S^-1.
// VJP: Ā = U [(F ∘ (UᵀŪ - ŪᵀU)) S + diag(S̄) + S (F ∘ (VᵀV̄ - V̄ᵀV))] Vᵀ
//        + (I - U Uᵀ) Ū S^-1 Vᵀ + U S^-1 V̄ᵀ (I - V Vᵀ).
// full_matrices=True: the rules use the first min(m, n) columns of U and rows of Vh (the rest
// is an arbitrary basis completion, gauge); their cotangents are ignored and tangents zero.
struct Svd : Primitive {
  bool full;
  explicit Svd(bool f) : full(f) {}
  static constexpr PrimitiveDesc kDesc =
      PrimitiveDesc("linalg_svd").outputs(3).reads_inputs(0).reads_outputs();
  const PrimitiveDesc& desc() const override { return kDesc; }
  // Per matrix of (..., m, n): the batch is one more leading axis, `full` unchanged.
  FG_VMAP_LEADING
  std::vector<Shape> shapes(const Tensors& in) const override {
    require_matrix(in[0], "linalg.svd");
    const Shape& s = in[0].shape();
    const int64_t m = s[s.size() - 2], n = s.back(), k = std::min(m, n);
    Shape u = batch_dims(s, 2), sv = u, vh = u;
    u.push_back(m), u.push_back(full ? m : k);
    sv.push_back(k);
    vh.push_back(full ? n : k), vh.push_back(n);
    return {u, sv, vh};
  }
  Tensors forward(const Tensors& in, const std::vector<Shape>& s) const override {
    Tensor a = contiguous(detach(in[0]));
    Tensor u = empty(s[0], a.dtype()), sv = empty(s[1], a.dtype()), vh = empty(s[2], a.dtype());
    const int64_t m = a.shape()[a.ndim() - 2], n = a.shape().back();
    FG_DISPATCH_FLOAT(a.dtype(), "linalg.svd", [&] {
      kernels::svd<scalar_t>(batch_count(a.shape(), 2), m, n, full, a.data<scalar_t>(), u.data<scalar_t>(),
                             sv.data<scalar_t>(), vh.data<scalar_t>());
    });
    return {u, sv, vh};
  }
  static Tensor inv_sq_gaps(const Tensor& s) { return inv_gaps(mul(s, s)); }
  Tensors vjp(const Tensors& x, const Tensors& y, const Tensors& g, const std::vector<bool>&) const override {
    const int64_t m = x[0].shape()[x[0].ndim() - 2], n = x[0].shape().back(), k = std::min(m, n);
    Tensor U = narrow_last(y[0], 1, k), S = y[1], V = mT(narrow_last(y[2], 2, k));
    Tensor gU = g[0].defined() ? narrow_last(g[0], 1, k) : Tensor();
    Tensor gV = g[2].defined() ? mT(narrow_last(g[2], 2, k)) : Tensor();
    Tensor F = inv_sq_gaps(S), Sd = diag_embed(S), Sinv = diag_embed(rdiv_scalar(S, 1.0));
    Tensor inner = g[1].defined() ? diag_embed(g[1]) : Tensor();
    Tensor extra;
    if (gU.defined()) {
      Tensor utg = matmul(mT(U), gU);
      inner = add_maybe(inner, matmul(mul(F, sub(utg, mT(utg))), Sd));
      if (m > k) extra = matmul(matmul(sub(gU, matmul(U, utg)), Sinv), mT(V));
    }
    if (gV.defined()) {
      Tensor vtg = matmul(mT(V), gV);
      inner = add_maybe(inner, matmul(Sd, mul(F, sub(vtg, mT(vtg)))));
      if (n > k) extra = add_maybe(extra, matmul(matmul(U, Sinv), mT(sub(gV, matmul(V, vtg)))));
    }
    Tensor ga = inner.defined() ? matmul(matmul(U, inner), mT(V)) : Tensor();
    ga = add_maybe(ga, extra);
    return {ga.defined() ? ga : zeros_like(x[0])};
  }
  Tensors jvp(const Tensors& x, const Tensors& y, const Tensors& t) const override {
    const int64_t m = x[0].shape()[x[0].ndim() - 2], n = x[0].shape().back(), k = std::min(m, n);
    Tensor U = narrow_last(y[0], 1, k), S = y[1], V = mT(narrow_last(y[2], 2, k));
    const Tensor& dA = t[0];
    Tensor F = inv_sq_gaps(S), Sd = diag_embed(S), Sinv = diag_embed(rdiv_scalar(S, 1.0));
    Tensor dAV = matmul(dA, V), dAtU = matmul(mT(dA), U);
    Tensor P = matmul(mT(U), dAV);
    Tensor dU = matmul(U, mul(F, add(matmul(P, Sd), matmul(Sd, mT(P)))));
    Tensor dV = matmul(V, mul(F, add(matmul(Sd, P), matmul(mT(P), Sd))));
    if (m > k) dU = add(dU, matmul(sub(dAV, matmul(U, P)), Sinv));
    if (n > k) dV = add(dV, matmul(sub(dAtU, matmul(V, mT(P))), Sinv));
    if (full) {
      std::vector<std::pair<int64_t, int64_t>> pu(dU.ndim(), {0, 0}), pv(dV.ndim(), {0, 0});
      pu.back() = {0, m - k};
      pv.back() = {0, n - k};
      dU = pad(dU, pu, 0.0);
      dV = pad(dV, pv, 0.0);
    }
    return {dU, diag_part(P), mT(dV)};
  }
};
FG_REGISTER_PRIMITIVE(Svd::kDesc);

}  // namespace

Tensor linalg_inv(const Tensor& a) { return apply1(singleton<Inv>(), {a}); }

namespace {
// torch.linalg.solve's rule: B is a (batch of) vector(s) when it is 1-D or has A's batch
// shape minus the last dim; otherwise (..., n, k). Batches broadcast.
std::pair<Tensor, bool> rhs_matrix(const Tensor& a, const Tensor& b, const char* op) {
  const bool vec = b.ndim() == 1 || (b.ndim() == a.ndim() - 1 && b.shape() == batch_dims(a.shape(), 1));
  Tensor B = vec ? unsqueeze(b, -1) : b;
  if (B.ndim() < 2 || B.shape()[B.ndim() - 2] != a.shape().back())
    throw ValueError(std::string(op) + ": incompatible shapes of A and B: " + shape_str(a.shape()) + " and " +
                     shape_str(b.shape()));
  return {B, vec};
}
std::pair<Tensor, Tensor> broadcast_batch(const Tensor& a, const Tensor& b, const char* op) {
  Shape bs;
  try {
    bs = broadcast_shapes(batch_dims(a.shape(), 2), batch_dims(b.shape(), 2), op);
  } catch (const ValueError&) {
    throw ValueError(std::string(op) + ": batch dimensions of shapes " + shape_str(a.shape()) + " and " +
                     shape_str(b.shape()) + " cannot be broadcast together");
  }
  Shape sa = bs, sb = bs;
  sa.insert(sa.end(), a.shape().end() - 2, a.shape().end());
  sb.insert(sb.end(), b.shape().end() - 2, b.shape().end());
  return {expand(a, sa), expand(b, sb)};
}
std::pair<Tensor, Tensor> float_pair(const Tensor& a, const Tensor& b, const char* op) {
  require_float(a, op);
  require_float(b, op);
  DType d = promote(a.dtype(), b.dtype());
  return {cast(a, d), cast(b, d)};
}
}  // namespace

Tensor linalg_solve(const Tensor& a0, const Tensor& b0, bool left) {
  const char* op = "linalg.solve";
  auto [a, b] = float_pair(a0, b0, op);
  require_square(a, op);
  if (!left) {
    // X A = B  <=>  Aᵀ Xᵀ = Bᵀ.
    if (b.ndim() < 2)
      throw ValueError("linalg.solve: left=False needs B of shape (*, k, n), got " + shape_str(b.shape()));
    return mT(linalg_solve(mT(a), mT(b), true));
  }
  auto [B, vec] = rhs_matrix(a, b, op);
  auto [A, Bb] = broadcast_batch(a, B, op);
  Tensor x = apply1(singleton<Solve>(), {A, Bb});
  return vec ? squeeze(x, {-1}) : x;
}

Tensor linalg_solve_triangular(const Tensor& a0, const Tensor& b0, bool upper, bool left, bool unit) {
  const char* op = "linalg.solve_triangular";
  auto [a, b] = float_pair(a0, b0, op);
  require_square(a, op);
  if (b.ndim() < 2)
    throw ValueError(std::string(op) + ": B must have at least 2 dimensions, got shape " +
                     shape_str(b.shape()));
  if (!left) return mT(linalg_solve_triangular(mT(a), mT(b), !upper, true, unit));
  if (b.shape()[b.ndim() - 2] != a.shape().back())
    throw ValueError(std::string(op) + ": incompatible shapes of A and B: " + shape_str(a.shape()) + " and " +
                     shape_str(b.shape()));
  auto [A, B] = broadcast_batch(a, b, op);
  return apply1(make_prim<SolveTriangular>(upper, unit), {A, B});
}

Tensor linalg_cholesky(const Tensor& a, bool upper) {
  Tensor L = apply1(singleton<Cholesky>(), {a});
  return upper ? mT(L) : L;
}

Tensors linalg_slogdet(const Tensor& a) { return apply(singleton<Slogdet>(), {a}); }

// det = sign · exp(log|det|): the rule of slogdet [G08 §2.2.4]; a singular A (det 0) has an
// infinite log|det| and so no gradient here (torch differentiates through it via the SVD).
Tensor linalg_det(const Tensor& a) {
  Tensors r = linalg_slogdet(a);
  return mul(detach(r[0]), exp(r[1]));
}

Tensors linalg_eigh(const Tensor& a, bool upper) {
  // The kernel reads the lower triangle; UPLO='U' reads the upper one, i.e. the lower of Aᵀ.
  return apply(singleton<Eigh>(), {upper ? mT(a) : a});
}

}  // namespace fastgrad

namespace fastgrad {
Tensors linalg_qr(const Tensor& a, bool complete) { return apply(make_prim<Qr>(complete), {a}); }
Tensors linalg_svd(const Tensor& a, bool full_matrices) { return apply(make_prim<Svd>(full_matrices), {a}); }
}  // namespace fastgrad
