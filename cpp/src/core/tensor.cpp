#include "fastgrad/tensor.h"

#include <sstream>

#include "block_pool.h"

namespace fastgrad {

std::atomic<int64_t> TensorImpl::live_count{0};

std::string shape_str(const Shape& s) {
  std::ostringstream o;
  o << "(";
  for (size_t i = 0; i < s.size(); ++i) o << (i ? ", " : "") << s[i];
  if (s.size() == 1) o << ",";
  o << ")";
  return o.str();
}

int64_t shape_numel(const Shape& s) {
  int64_t n = 1;
  for (auto d : s) n *= d;
  return n;
}

Shape contiguous_strides(const Shape& s) {
  Shape st(s.size());
  int64_t acc = 1;
  for (size_t i = s.size(); i-- > 0;) {
    st[i] = acc;
    acc *= std::max<int64_t>(s[i], 1);
  }
  return st;
}

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  if (a == b) return a;
  size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    if (da != db && da != 1 && db != 1)
      throw ValueError(std::string(op) + ": shapes " + shape_str(a) + " and " + shape_str(b) +
                       " cannot be broadcast together");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

int64_t normalize_axis(int64_t axis, int64_t ndim, const char* op) {
  // A 0-d tensor accepts axis 0 or -1 (as PyTorch); callers must then not index its
  // (empty) shape with the result.
  const int64_t n = std::max<int64_t>(ndim, 1);
  int64_t a = axis < 0 ? axis + n : axis;
  if (a < 0 || a >= n)
    throw IndexError(std::string(op) + ": axis " + std::to_string(axis) +
                     " is out of bounds for a tensor of dimension " + std::to_string(ndim));
  return a;
}

bool Tensor::is_contiguous() const {
  int64_t acc = 1;
  for (size_t i = p_->shape.size(); i-- > 0;) {
    if (p_->shape[i] == 1) continue;
    if (p_->strides[i] != acc) return false;
    acc *= p_->shape[i];
  }
  return true;
}

// Tensor::tangent / set_tangent and the tangent-owner registry: autodiff/forward.cpp.

Tensor empty(const Shape& shape, DType dtype) {
  // The byte count must fit in int64: a wrapped product would allocate a tiny buffer
  // behind a huge shape, and the first indexed access would run off its end.
  int64_t bytes = static_cast<int64_t>(itemsize(dtype));
  for (auto d : shape) {
    if (d < 0) throw ValueError("empty: negative dimension in shape " + shape_str(shape));
    if (__builtin_mul_overflow(bytes, d, &bytes))
      throw ValueError("empty: shape " + shape_str(shape) + " has too many elements to allocate");
  }
  auto t = detail::make_pooled<TensorImpl>();
  t->storage = Storage::allocate(static_cast<size_t>(shape_numel(shape)) * itemsize(dtype));
  t->shape = shape;
  t->strides = contiguous_strides(shape);
  t->dtype = dtype;
  return Tensor(std::move(t));
}

TensorPtr alias_impl(const TensorImpl& s) {
  auto a = detail::make_pooled<TensorImpl>();
  a->storage = s.storage;
  a->shape = s.shape;
  a->strides = s.strides;
  a->offset = s.offset;
  a->dtype = s.dtype;
  a->bvalue = s.bvalue;
  a->blevel = s.blevel;
  a->bdim = s.bdim;
  return a;
}

Tensor make_view(const Tensor& base, Shape shape, Shape strides, int64_t offset) {
  const TensorImpl& b = *base.impl();
  if (b.bvalue) {
    if (shape != b.shape || strides != b.strides || offset != b.offset) throw_batched_access(&b);
    return Tensor(alias_impl(b));
  }
  auto t = detail::make_pooled<TensorImpl>();
  t->storage = base.impl()->storage;
  t->shape = std::move(shape);
  t->strides = std::move(strides);
  t->offset = offset;
  t->dtype = base.dtype();
  return Tensor(std::move(t));
}

}  // namespace fastgrad
