// Tensor = shared storage + shape + strides + offset + dtype, plus autodiff metadata.
#pragma once
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "fastgrad/dtype.h"

namespace fastgrad {

// Shapes and strides: a vector with inline room for 6 dims, so creating a tensor does
// not allocate for its metadata (a large share of the per-op overhead otherwise).
class Shape {
 public:
  using value_type = int64_t;
  using iterator = int64_t*;
  using const_iterator = const int64_t*;
  Shape() = default;
  explicit Shape(size_t n, int64_t v = 0) { assign(n, v); }
  Shape(std::initializer_list<int64_t> il) { assign(il.begin(), il.end()); }
  template <typename It, typename = decltype(*std::declval<It>())>
  Shape(It first, It last) {
    assign(first, last);
  }
  Shape(const std::vector<int64_t>& v) { assign(v.begin(), v.end()); }  // NOLINT: implicit on purpose
  Shape(const Shape& o) { assign(o.begin(), o.end()); }
  Shape(Shape&& o) noexcept { take(std::move(o)); }
  Shape& operator=(const Shape& o) {
    if (this != &o) assign(o.begin(), o.end());
    return *this;
  }
  Shape& operator=(Shape&& o) noexcept {
    if (this != &o) {
      release();
      take(std::move(o));
    }
    return *this;
  }
  ~Shape() { release(); }

  size_t size() const { return n_; }
  bool empty() const { return n_ == 0; }
  int64_t* data() { return p_; }
  const int64_t* data() const { return p_; }
  int64_t& operator[](size_t i) { return p_[i]; }
  const int64_t& operator[](size_t i) const { return p_[i]; }
  iterator begin() { return p_; }
  iterator end() { return p_ + n_; }
  const_iterator begin() const { return p_; }
  const_iterator end() const { return p_ + n_; }
  int64_t& back() { return p_[n_ - 1]; }
  const int64_t& back() const { return p_[n_ - 1]; }
  int64_t& front() { return p_[0]; }
  const int64_t& front() const { return p_[0]; }
  void reserve(size_t n) {
    if (n <= cap_) return;
    int64_t* q = new int64_t[n];
    std::memcpy(q, p_, n_ * sizeof(int64_t));
    release();
    p_ = q;
    cap_ = n;
  }
  void push_back(int64_t v) {
    if (n_ == cap_) reserve(cap_ * 2);
    p_[n_++] = v;
  }
  void pop_back() { --n_; }
  void clear() { n_ = 0; }
  void resize(size_t n, int64_t v = 0) {
    reserve(n);
    for (size_t i = n_; i < n; ++i) p_[i] = v;
    n_ = n;
  }
  void assign(size_t n, int64_t v) {
    n_ = 0;
    resize(n, v);
  }
  template <typename It>
  void assign(It first, It last) {
    size_t n = static_cast<size_t>(std::distance(first, last));
    if (n > cap_) {
      int64_t* q = new int64_t[n];
      size_t i = 0;
      for (It it = first; it != last; ++it) q[i++] = static_cast<int64_t>(*it);
      release();
      p_ = q;
      cap_ = n;
    } else {
      size_t i = 0;
      for (It it = first; it != last; ++it) p_[i++] = static_cast<int64_t>(*it);
    }
    n_ = n;
  }
  iterator insert(const_iterator pos, int64_t v) {
    size_t at = static_cast<size_t>(pos - p_);
    push_back(0);
    for (size_t i = n_ - 1; i > at; --i) p_[i] = p_[i - 1];
    p_[at] = v;
    return p_ + at;
  }
  template <typename It>
  iterator insert(const_iterator pos, It first, It last) {
    size_t at = static_cast<size_t>(pos - p_);
    Shape tail(p_ + at, p_ + n_);
    n_ = at;
    for (It it = first; it != last; ++it) push_back(static_cast<int64_t>(*it));
    for (auto v : tail) push_back(v);
    return p_ + at;
  }
  iterator erase(const_iterator first, const_iterator last) {
    size_t a = static_cast<size_t>(first - p_), b = static_cast<size_t>(last - p_);
    for (size_t i = b; i < n_; ++i) p_[a + i - b] = p_[i];
    n_ -= b - a;
    return p_ + a;
  }
  iterator erase(const_iterator pos) { return erase(pos, pos + 1); }
  std::vector<int64_t> vec() const { return std::vector<int64_t>(begin(), end()); }
  friend bool operator==(const Shape& a, const Shape& b) {
    return a.n_ == b.n_ && std::equal(a.begin(), a.end(), b.begin());
  }
  friend bool operator!=(const Shape& a, const Shape& b) { return !(a == b); }

 private:
  static constexpr size_t kInline = 6;
  void release() {
    if (p_ != buf_) delete[] p_;
    p_ = buf_;
    cap_ = kInline;
  }
  void take(Shape&& o) {
    if (o.p_ == o.buf_) {
      std::memcpy(buf_, o.buf_, o.n_ * sizeof(int64_t));
      p_ = buf_;
      cap_ = kInline;
    } else {
      p_ = o.p_;
      cap_ = o.cap_;
      o.p_ = o.buf_;
      o.cap_ = kInline;
    }
    n_ = o.n_;
    o.n_ = 0;
  }
  int64_t buf_[kInline];
  int64_t* p_ = buf_;
  size_t n_ = 0;
  size_t cap_ = kInline;
};

std::string shape_str(const Shape& s);
int64_t shape_numel(const Shape& s);
Shape contiguous_strides(const Shape& s);
// NumPy broadcasting of two shapes; throws ValueError naming `op` when incompatible.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);
// Normalises a possibly negative axis; throws IndexError naming `op`.
int64_t normalize_axis(int64_t axis, int64_t ndim, const char* op);

// 64-byte aligned bytes from a caching pool, or foreign memory kept alive by `owner`.
struct Storage {
  void* data = nullptr;
  size_t nbytes = 0;
  size_t capacity = 0;              // pool bucket size; 0 for foreign memory
  std::shared_ptr<void> owner;      // set for foreign (NumPy/DLPack) memory
  std::atomic<int64_t> version{0};  // bumped by in-place writes; checked by backward
  bool readonly = false;

  static std::shared_ptr<Storage> allocate(size_t nbytes);
  static std::shared_ptr<Storage> wrap(void* data, size_t nbytes, std::shared_ptr<void> owner);
  ~Storage();
};

// Allocator statistics and control (the cache is bounded; see storage.cpp).
struct PoolStats {
  size_t cached_bytes, live_bytes, cache_limit;
};
PoolStats pool_stats();
void pool_empty_cache();
void pool_set_limit(size_t bytes);

struct Node;
struct GradHooks;  // autodiff.h
struct TensorImpl;
using TensorPtr = std::shared_ptr<TensorImpl>;

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  Shape shape;
  Shape strides;       // in elements
  int64_t offset = 0;  // in elements
  DType dtype = DType::Float32;

  bool requires_grad = false;
  TensorPtr grad;
  std::shared_ptr<Node> grad_fn;  // null for leaves
  int output_nr = 0;
  std::shared_ptr<GradHooks> hooks;  // Tensor.register_hook / retain_grad; null when none
  // Forward-mode tangents, one per active JVP level (cheat sheet §3 pushforward).
  std::vector<std::pair<int64_t, TensorPtr>> tangents;
  // vmap (batching.h): a batched tensor is a logical view of `bvalue`, the physical
  // tensor with one more axis, `bdim`, mapped at vmap level `blevel`. Its own shape is
  // the logical one; it shares bvalue's storage (for version checks) but its memory is
  // never read through its own strides: every op on it runs the primitive's batching rule.
  TensorPtr bvalue;
  int64_t blevel = 0;
  int64_t bdim = 0;
  // The innermost vmap level active when this leaf started to require grad (0: none). A
  // leaf made outside a vmap is shared by its examples: gradients reaching it from inside
  // are summed over the batch (engine.cpp fit_to); one made inside gets per-example ones.
  int64_t vmap_birth = 0;

  static std::atomic<int64_t> live_count;  // for leak tests
  TensorImpl() { ++live_count; }
  TensorImpl(const TensorImpl&) = delete;
  ~TensorImpl() { --live_count; }
};

[[noreturn]] void throw_batched_access(const TensorImpl* t);  // batching.cpp

// A cheap handle (one shared_ptr). Undefined when impl is null ("no tensor"/zero cotangent).
class Tensor {
 public:
  Tensor() = default;
  Tensor(TensorPtr p) : p_(std::move(p)) {}  // NOLINT: implicit on purpose

  bool defined() const { return p_ != nullptr; }
  const TensorPtr& impl() const { return p_; }
  TensorImpl* get() const { return p_.get(); }

  const Shape& shape() const { return p_->shape; }
  const Shape& strides() const { return p_->strides; }
  int64_t ndim() const { return static_cast<int64_t>(p_->shape.size()); }
  int64_t size(int64_t d) const { return p_->shape[normalize_axis(d, ndim(), "size")]; }
  int64_t numel() const { return shape_numel(p_->shape); }
  DType dtype() const { return p_->dtype; }
  int64_t offset() const { return p_->offset; }
  bool is_contiguous() const;
  bool requires_grad() const { return p_->requires_grad; }

  bool is_batched() const { return p_->bvalue != nullptr; }
  // The memory of the elements. A batched tensor (inside vmap) has none of its own:
  // reading it raises, so code that needs concrete values fails with a clear error.
  template <typename T>
  T* data() const {
    if (__builtin_expect(p_->bvalue != nullptr, 0)) throw_batched_access(p_.get());
    return reinterpret_cast<T*>(p_->storage->data) + p_->offset;
  }
  void* raw() const {
    if (__builtin_expect(p_->bvalue != nullptr, 0)) throw_batched_access(p_.get());
    return static_cast<char*>(p_->storage->data) + p_->offset * itemsize(p_->dtype);
  }

  // Tangent at a forward-mode level, undefined if none.
  Tensor tangent(int64_t level) const;
  void set_tangent(int64_t level, const Tensor& t) const;

 private:
  TensorPtr p_;
};

// Fresh contiguous tensor with uninitialised memory.
Tensor empty(const Shape& shape, DType dtype);
// A view sharing `base`'s storage. A batched base (inside vmap) has no memory laid out by
// its logical strides, so only a view of its whole layout is possible (a batched alias);
// any other raises rather than read the physical value's first example.
Tensor make_view(const Tensor& base, Shape shape, Shape strides, int64_t offset);
// A new handle on t's memory and layout, and inside vmap on its physical value (every alias
// of a batched tensor must be batched too): no history, no tangents, no requires_grad.
TensorPtr alias_impl(const TensorImpl& t);

}  // namespace fastgrad
