// Tensor = shared storage + shape + strides + offset + dtype, plus autodiff metadata.
#pragma once
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "fastgrad/dtype.h"

namespace fastgrad {

using Shape = std::vector<int64_t>;

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
  size_t capacity = 0;            // pool bucket size; 0 for foreign memory
  std::shared_ptr<void> owner;    // set for foreign (NumPy/DLPack) memory
  std::atomic<int64_t> version{0};  // bumped by in-place writes; checked by backward
  bool readonly = false;

  static std::shared_ptr<Storage> allocate(size_t nbytes);
  static std::shared_ptr<Storage> wrap(void* data, size_t nbytes, std::shared_ptr<void> owner);
  ~Storage();
};

// Allocator statistics and control (the cache is bounded; see storage.cpp).
struct PoolStats { size_t cached_bytes, live_bytes, cache_limit; };
PoolStats pool_stats();
void pool_empty_cache();
void pool_set_limit(size_t bytes);

struct Node;
struct TensorImpl;
using TensorPtr = std::shared_ptr<TensorImpl>;

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  Shape shape;
  Shape strides;  // in elements
  int64_t offset = 0;  // in elements
  DType dtype = DType::Float32;

  bool requires_grad = false;
  TensorPtr grad;
  std::shared_ptr<Node> grad_fn;  // null for leaves
  int output_nr = 0;
  // Forward-mode tangents, one per active JVP level (cheat sheet §3 pushforward).
  std::vector<std::pair<int64_t, TensorPtr>> tangents;

  static std::atomic<int64_t> live_count;  // for leak tests
  TensorImpl() { ++live_count; }
  TensorImpl(const TensorImpl&) = delete;
  ~TensorImpl() { --live_count; }
};

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

  template <typename T> T* data() const {
    return reinterpret_cast<T*>(p_->storage->data) + p_->offset;
  }
  void* raw() const { return static_cast<char*>(p_->storage->data) + p_->offset * itemsize(p_->dtype); }

  // Tangent at a forward-mode level, undefined if none.
  Tensor tangent(int64_t level) const;
  void set_tangent(int64_t level, const Tensor& t) const;

 private:
  TensorPtr p_;
};

// Fresh contiguous tensor with uninitialised memory.
Tensor empty(const Shape& shape, DType dtype);
// A view sharing `base`'s storage.
Tensor make_view(const Tensor& base, Shape shape, Shape strides, int64_t offset);

}  // namespace fastgrad
