// Storage pool (allocation, reuse, limit, empty_cache) and tensor views/strides.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>

#include "fastgrad/ops.h"
#include "fastgrad/tensor.h"

namespace fg = fastgrad;

namespace {

bool aligned64(const void* p) { return reinterpret_cast<uintptr_t>(p) % 64 == 0; }

TEST(Storage, AllocationIsAlignedAndCounted) {
  fg::pool_empty_cache();
  const auto before = fg::pool_stats();
  {
    auto s = fg::Storage::allocate(100);
    EXPECT_TRUE(aligned64(s->data));
    EXPECT_EQ(s->nbytes, 100u);
    EXPECT_GE(s->capacity, 100u);
    EXPECT_EQ(fg::pool_stats().live_bytes, before.live_bytes + s->capacity);
    // the whole capacity is usable memory
    std::memset(s->data, 0xab, s->capacity);
  }
  const auto after = fg::pool_stats();
  EXPECT_EQ(after.live_bytes, before.live_bytes);
  EXPECT_GT(after.cached_bytes, before.cached_bytes);  // freed into the cache
}

TEST(Storage, FreedBlockIsReusedForSameBucket) {
  fg::pool_empty_cache();
  void* first;
  {
    auto s = fg::Storage::allocate(3000);
    first = s->data;
  }
  auto t = fg::Storage::allocate(2500);  // same power-of-two bucket (4096)
  EXPECT_EQ(t->data, first);
  EXPECT_EQ(fg::pool_stats().cached_bytes, 0u);
}

TEST(Storage, LargeSizesUseMegabyteBuckets) {
  fg::pool_empty_cache();
  const size_t mb = size_t(1) << 20;
  auto s = fg::Storage::allocate(mb + 1);
  EXPECT_EQ(s->capacity, 2 * mb);
  auto t = fg::Storage::allocate(5 * mb - 7);
  EXPECT_EQ(t->capacity, 5 * mb);
  EXPECT_TRUE(aligned64(t->data));
}

TEST(Storage, CacheLimitAndEmptyCache) {
  fg::pool_empty_cache();
  const size_t old_limit = fg::pool_stats().cache_limit;
  fg::pool_set_limit(8192);
  {
    auto a = fg::Storage::allocate(4096);
    auto b = fg::Storage::allocate(4096);
    auto c = fg::Storage::allocate(4096);
  }
  EXPECT_LE(fg::pool_stats().cached_bytes, 8192u);  // the third block was returned to the system
  EXPECT_GT(fg::pool_stats().cached_bytes, 0u);
  fg::pool_set_limit(0);  // lowering the limit trims the cache
  EXPECT_EQ(fg::pool_stats().cached_bytes, 0u);
  fg::pool_set_limit(old_limit);
  { auto d = fg::Storage::allocate(64); }
  EXPECT_GT(fg::pool_stats().cached_bytes, 0u);
  fg::pool_empty_cache();
  EXPECT_EQ(fg::pool_stats().cached_bytes, 0u);
}

TEST(Storage, WrappedMemoryIsNotPooled) {
  fg::pool_empty_cache();
  static double buf[4] = {1, 2, 3, 4};
  bool released = false;
  {
    auto owner = std::shared_ptr<void>(nullptr, [&](void*) { released = true; });
    auto s = fg::Storage::wrap(buf, sizeof(buf), owner);
    owner.reset();
    EXPECT_FALSE(released);
    EXPECT_EQ(s->capacity, 0u);
  }
  EXPECT_TRUE(released);
  EXPECT_EQ(fg::pool_stats().cached_bytes, 0u);
}

TEST(Tensor, ShapesStridesAndNumel) {
  EXPECT_EQ(fg::contiguous_strides({2, 3, 4}), (fg::Shape{12, 4, 1}));
  EXPECT_EQ(fg::contiguous_strides({}), (fg::Shape{}));
  EXPECT_EQ(fg::contiguous_strides({3, 0, 2}), (fg::Shape{2, 2, 1}));
  EXPECT_EQ(fg::shape_numel({2, 3, 4}), 24);
  EXPECT_EQ(fg::shape_numel({}), 1);
  EXPECT_EQ(fg::shape_numel({5, 0}), 0);
  EXPECT_EQ(fg::shape_str({2, 3}), "(2, 3)");
  EXPECT_EQ(fg::shape_str({7}), "(7,)");
  EXPECT_EQ(fg::shape_str({}), "()");
  EXPECT_EQ(fg::normalize_axis(-1, 3, "op"), 2);
  EXPECT_THROW(fg::normalize_axis(3, 3, "op"), fg::IndexError);
  EXPECT_THROW(fg::empty({-1}, fg::DType::Float32), fg::ValueError);
}

fg::Tensor iota(const fg::Shape& s) {
  fg::Tensor t = fg::empty(s, fg::DType::Float64);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<double>()[i] = static_cast<double>(i);
  return t;
}

// Reads element `idx` of t through its strides and offset.
double at(const fg::Tensor& t, const fg::Shape& idx) {
  int64_t off = 0;
  for (size_t d = 0; d < idx.size(); ++d) off += idx[d] * t.strides()[d];
  return t.data<double>()[off];
}

TEST(Tensor, ViewsShareStorageAndRespectStrides) {
  fg::Tensor x = iota({2, 3, 4});
  EXPECT_TRUE(x.is_contiguous());
  fg::Tensor t = fg::transpose(x, 0, 2);
  EXPECT_EQ(t.shape(), (fg::Shape{4, 3, 2}));
  EXPECT_EQ(t.strides(), (fg::Shape{1, 4, 12}));
  EXPECT_FALSE(t.is_contiguous());
  EXPECT_EQ(t.impl()->storage, x.impl()->storage);
  for (int64_t i = 0; i < 4; ++i)
    for (int64_t j = 0; j < 3; ++j)
      for (int64_t k = 0; k < 2; ++k) EXPECT_EQ(at(t, {i, j, k}), at(x, {k, j, i}));

  fg::Tensor s = fg::slice(x, {{1, 2, 1}, {0, 3, 2}, {1, 4, 2}});
  EXPECT_EQ(s.shape(), (fg::Shape{1, 2, 2}));
  EXPECT_EQ(s.offset(), 12 + 1);
  EXPECT_EQ(s.strides(), (fg::Shape{12, 8, 2}));
  EXPECT_FALSE(s.is_contiguous());
  EXPECT_EQ(at(s, {0, 1, 1}), 12 + 8 + 3);

  fg::Tensor r = fg::reshape(x, {6, 4});
  EXPECT_EQ(r.impl()->storage, x.impl()->storage);  // contiguous: a view
  fg::Tensor rc = fg::reshape(t, {24});             // strided: a copy
  EXPECT_NE(rc.impl()->storage, x.impl()->storage);
  EXPECT_TRUE(rc.is_contiguous());
  for (int64_t i = 0; i < 24; ++i) EXPECT_EQ(rc.data<double>()[i], at(t, {i / 6, (i / 2) % 3, i % 2}));

  fg::Tensor e = fg::expand(fg::reshape(iota({3}), {3, 1}), {2, 3, 5});
  EXPECT_EQ(e.strides(), (fg::Shape{0, 1, 0}));
  EXPECT_EQ(at(e, {1, 2, 4}), 2.0);
}

TEST(Tensor, SizeOneAxesDoNotBreakContiguity) {
  fg::Tensor x = iota({3, 1, 4});
  fg::Tensor p = fg::permute(x, {1, 0, 2});  // moving a size-1 axis keeps the layout
  EXPECT_TRUE(p.is_contiguous());
  fg::Tensor c = fg::contiguous(p);
  EXPECT_EQ(c.impl(), p.impl());  // no copy made
}

TEST(Tensor, CopyIntoStridedDestinationAndVersion) {
  fg::Tensor x = fg::zeros({2, 3}, fg::DType::Float64);
  const int64_t v0 = x.impl()->storage->version.load();
  fg::Tensor col = fg::slice(x, {{0, 2, 1}, {1, 2, 1}});
  fg::copy_(col, fg::full({1}, 7.0, fg::DType::Float64));  // broadcast source, strided target
  EXPECT_EQ(x.impl()->storage->version.load(), v0 + 1);
  const double want[6] = {0, 7, 0, 0, 7, 0};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(x.data<double>()[i], want[i]);
  // overlapping source and destination (same storage) are handled
  fg::Tensor y = iota({4});
  fg::copy_(fg::slice(y, {{1, 4, 1}}), fg::slice(y, {{0, 3, 1}}));
  const double want2[4] = {0, 0, 1, 2};
  for (int i = 0; i < 4; ++i) EXPECT_EQ(y.data<double>()[i], want2[i]);
}

TEST(Tensor, LiveCountReturnsToBaseline) {
  const int64_t base = fg::TensorImpl::live_count.load();
  {
    fg::Tensor a = iota({3, 3});
    fg::Tensor b = fg::transpose(a, 0, 1);
    fg::Tensor c = fg::add(a, b);
    EXPECT_GE(fg::TensorImpl::live_count.load(), base + 3);
  }
  EXPECT_EQ(fg::TensorImpl::live_count.load(), base);
}

}  // namespace
