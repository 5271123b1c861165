// Matrix multiply with NumPy semantics (1-D operands, batched, broadcast batch dims).
// Transposed operands reach the GEMM as strides, so the VJP's Gᵀ-products never
// materialise a transpose.
#include "../kernels/batched/batched_matmul.h"
#include "common.h"

namespace fastgrad {
using namespace detail;

namespace {

struct Matmul : Primitive {
  static constexpr PrimitiveDesc kDesc = PrimitiveDesc("matmul").inputs(2);
  const PrimitiveDesc& desc() const override { return kDesc; }
  // A 1-D operand is a vector (NumPy): a row on the left, a column on the right, and its
  // axis of length one is absent from the result. Taking vectors here rather than as
  // unsqueezed views saves two view ops per matrix-vector product, and each of those ran
  // its own JVP and batching rule inside the function transforms.
  std::vector<Shape> shapes(const Tensors& in) const override {
    const Tensor &a = in[0], &b = in[1];
    if (a.ndim() == 0 || b.ndim() == 0)
      throw ValueError("matmul: operands must be at least 1-D, got shapes " + shape_str(a.shape()) + " and " +
                       shape_str(b.shape()));
    if (a.dtype() != b.dtype())
      throw TypeError(std::string("matmul: dtypes differ (") + dtype_name(a.dtype()) + " vs " +
                      dtype_name(b.dtype()) + ")");
    if (a.dtype() != DType::Int64) require_float(a, "matmul");
    const bool va = a.ndim() == 1, vb = b.ndim() == 1;
    const int64_t K = a.shape().back(), Kb = b.shape()[vb ? 0 : b.ndim() - 2];
    if (Kb != K)
      throw ValueError("matmul: shapes " + shape_str(a.shape()) + " and " + shape_str(b.shape()) +
                       " are not aligned (" + std::to_string(K) + " != " + std::to_string(Kb) + ")");
    Shape ba = va ? Shape() : Shape(a.shape().begin(), a.shape().end() - 2);
    Shape bb = vb ? Shape() : Shape(b.shape().begin(), b.shape().end() - 2);
    Shape s;
    try {
      s = broadcast_shapes(ba, bb, "matmul");
    } catch (const ValueError&) {
      throw ValueError("matmul: batch dimensions of shapes " + shape_str(a.shape()) + " and " +
                       shape_str(b.shape()) + " cannot be broadcast together");
    }
    if (!va) s.push_back(a.shape()[a.ndim() - 2]);
    if (!vb) s.push_back(b.shape().back());
    return {s};
  }
  Tensors forward(const Tensors& in, const std::vector<Shape>& out_shapes) const override {
    const Shape& s = out_shapes[0];
    Tensor out = empty(s, in[0].dtype());
    const Tensor &a = in[0], &b = in[1];
    // A vector is a 1 x K row (left) or K x 1 column (right); the result's layout is the
    // same with or without that axis of length one.
    const bool va = a.ndim() == 1, vb = b.ndim() == 1;
    const int64_t K = a.shape().back(), M = va ? 1 : a.shape()[a.ndim() - 2], N = vb ? 1 : b.shape().back();
    Shape batch(s.begin(), s.end() - (va ? 0 : 1) - (vb ? 0 : 1));
    auto bstr = [&](const Tensor& t) {
      // Broadcast strides of t's batch dims against `batch` (a vector has none).
      Shape st(batch.size(), 0);
      if (t.ndim() < 2) return st;
      size_t off = batch.size() - (t.shape().size() - 2);
      for (size_t i = 0; i + 2 < t.shape().size(); ++i) st[off + i] = t.shape()[i] == 1 ? 0 : t.strides()[i];
      return st;
    };
    Shape sa = bstr(a), sb = bstr(b);
    const int64_t rsA = va ? 0 : a.strides()[a.ndim() - 2], csA = a.strides().back();
    const int64_t rsB = vb ? b.strides()[0] : b.strides()[b.ndim() - 2], csB = vb ? 1 : b.strides().back();
    FG_DISPATCH_NUM(a.dtype(), name(), [&] {
      kernels::batched_matmul<scalar_t>(batch.data(), sa.data(), sb.data(),
                                        static_cast<int64_t>(batch.size()), M, N, K, a.data<scalar_t>(), rsA,
                                        csA, b.data<scalar_t>(), rsB, csB, out.data<scalar_t>());
    });
    return {out};
  }
  // With a vector operand the products with g become outer products (a vector's
  // cotangent then comes back with the batch dims, which the engine sums away).
  Tensors vjp(const Tensors& x, const Tensors&, const Tensors& g,
              const std::vector<bool>& need) const override {
    const Tensor &a = x[0], &b = x[1], &gy = g[0];
    const bool va = a.ndim() == 1, vb = b.ndim() == 1;
    if (!va && !vb)
      return {need[0] ? matmul(gy, transpose(b, -1, -2)) : Tensor(),
              need[1] ? matmul(transpose(a, -1, -2), gy) : Tensor()};
    if (va && vb) return {need[0] ? mul(gy, b) : Tensor(), need[1] ? mul(gy, a) : Tensor()};
    // The product of a matrix with g as a column: a plain matrix-vector product when g
    // is a vector, else a batched one.
    auto times_g = [&gy](const Tensor& m) {
      return gy.ndim() == 1 ? matmul(m, gy) : squeeze(matmul(m, unsqueeze(gy, -1)), {-1});
    };
    if (va)  // a (K), b (..., K, N), g (..., N)
      return {need[0] ? times_g(b) : Tensor(),
              need[1] ? matmul(unsqueeze(a, -1), unsqueeze(gy, -2)) : Tensor()};
    // a (..., M, K), b (K), g (..., M)
    return {need[0] ? matmul(unsqueeze(gy, -1), unsqueeze(b, 0)) : Tensor(),
            need[1] ? times_g(transpose(a, -1, -2)) : Tensor()};
  }
  Tensors jvp(const Tensors& x, const Tensors&, const Tensors& t) const override {
    return {add_maybe(t[0].defined() ? matmul(t[0], x[1]) : Tensor(),
                      t[1].defined() ? matmul(x[0], t[1]) : Tensor())};
  }
  // The batch axis is one more broadcast batch dimension (in front, logical axes
  // right-aligned), so the general rule is the elementwise one. Where one side is a plain
  // matrix shared by the whole batch, the batch folds into its partner's rows (a batched
  // left side) or columns (a batched right side): one large GEMM instead of B small ones,
  // the shape vmap(grad) of a dense layer takes.
  Batched vmap(const Tensors& in, const std::vector<int64_t>& bdims, const PrimPtr& self) const override {
    const bool ba = bdims[0] >= 0, bb = bdims[1] >= 0;
    const bool va = in[0].ndim() - ba == 1, vb = in[1].ndim() - bb == 1;  // logical vectors
    if (ba && !bb && in[1].ndim() == 2) {  // batched rows or vectors times a shared matrix
      Tensor a = batch_front(in[0], bdims[0]);
      Shape s = a.shape();
      const int64_t K = s.back();
      s.back() = in[1].shape()[1];
      return {{reshape(matmul(reshape(a, {-1, K}), in[1]), s)}, {0}};
    }
    if (bb && !ba && in[0].ndim() == 2) {
      Tensor b = batch_front(in[1], bdims[1]);  // (B, ..., K, N), or (B, K) for vectors
      const int64_t nd = b.ndim(), kd = vb ? nd - 1 : nd - 2, K = b.shape()[kd], M = in[0].shape()[0];
      if (vb || b.shape()[nd - 1] == 1) {
        // Batched vectors or columns (A @ x under vmap: jacfwd's and hvp's tangents): the
        // batch is already in the rows of (B·…, K) = b, so (B·…, K) @ A^T needs no copy,
        // where the K-first form below transposes b into a fresh (K, B·…) buffer.
        Shape s(b.shape().begin(), b.shape().end());
        s[kd] = M;
        return {{reshape(matmul(reshape(b, {-1, K}), transpose(in[0], 0, 1)), s)}, {0}};
      }
      Axes k_first{nd - 2};
      for (int64_t d = 0; d < nd; ++d)
        if (d != nd - 2) k_first.push_back(d);
      Tensor r = matmul(in[0], reshape(permute(b, k_first), {K, -1}));  // (M, B·…·N)
      Shape s{M};
      for (int64_t d = 0; d < nd; ++d)
        if (d != nd - 2) s.push_back(b.shape()[d]);
      Axes m_back;  // (M, B, ..., N) -> (B, ..., M, N)
      for (int64_t d = 1; d < nd; ++d) m_back.push_back(d);
      m_back.insert(m_back.end() - 1, 0);
      return {{permute(reshape(r, s), m_back)}, {0}};
    }
    if (va || vb) {
      // Any other vector becomes the row (left) or column (right) it stands for, the
      // matrix rule runs, and that axis of length one is dropped again (the matrix rule
      // returns the batch in front).
      Tensors m(2);
      std::vector<int64_t> mb(2);
      for (int i = 0; i < 2; ++i) {
        const bool batched = bdims[i] >= 0;
        Tensor t = batched ? batch_front(in[i], bdims[i]) : in[i];
        if ((i == 0 && va) || (i == 1 && vb)) t = unsqueeze(t, i == 0 ? t.ndim() - 1 : t.ndim());
        m[i] = t;
        mb[i] = batched ? 0 : -1;
      }
      Batched r = vmap(m, mb, self);
      const int64_t nd = r.out[0].ndim();
      Axes drop;
      if (va) drop.push_back(nd - 2);
      if (vb) drop.push_back(nd - 1);
      return {{squeeze(r.out[0], drop)}, r.bdims};
    }
    // A batched outer product (K = 1) stays a GEMM: its blocked stores beat the broadcasting
    // multiply's short rows (Zen 3, (64,128,1)@(64,1,64): 110 µs vs 298 µs on one thread).
    return {apply(self, batch_aligned(in, bdims)), {0}};
  }
};
FG_REGISTER_PRIMITIVE(Matmul::kDesc);

}  // namespace

Tensor matmul(const Tensor& a0, const Tensor& b0) {
  DType d = promote(a0.dtype(), b0.dtype());
  if (!is_floating(d)) d = DType::Int64;  // integers stay exact (NumPy, PyTorch); bool counts as int64
  return apply1(singleton<Matmul>(), {cast(a0, d), cast(b0, d)});
}

}  // namespace fastgrad
