// Factories, random numbers, copies: no gradients flow through these (clone excepted).
#include <cmath>
#include <cstdio>
#include <limits>
#include <mutex>
#include <random>
#include <sstream>

#include "../kernels/fill/fill.h"
#include "common.h"
#include "fastgrad/parallel.h"
#include "fastgrad/random.h"

namespace fastgrad {
using namespace detail;

Generator& default_generator() {
  static Generator g;
  return g;
}
void Generator::manual_seed(uint64_t seed) {
  std::lock_guard<std::mutex> l(mu_);
  engine_.seed(seed);
  initial_seed_ = seed;
}
uint64_t Generator::initial_seed() const {
  std::lock_guard<std::mutex> l(mu_);
  return initial_seed_;
}
uint64_t Generator::next() {
  std::lock_guard<std::mutex> l(mu_);
  return engine_();
}
std::string Generator::state() const {
  std::lock_guard<std::mutex> l(mu_);
  std::ostringstream os;
  os << engine_ << ' ' << initial_seed_;
  return os.str();
}
void Generator::set_state(const std::string& s) {
  std::istringstream is(s);
  std::mt19937_64 e;
  uint64_t seed = 0;
  if (!(is >> e >> seed) || !(is >> std::ws).eof())
    throw ValueError("Generator.set_state: not a state returned by Generator.get_state()");
  std::lock_guard<std::mutex> l(mu_);
  engine_ = e;
  initial_seed_ = seed;
}

void manual_seed(uint64_t seed) { default_generator().manual_seed(seed); }
uint64_t next_seed() { return default_generator().next(); }

namespace {
// A double that is to become an int64 value must be finite and inside [-2^63, 2^63)
// (PyTorch's check; the C++ cast would be undefined behaviour otherwise).
int64_t checked_int64(double v, const char* op) {
  if (!(v >= -9223372036854775808.0 && v < 9223372036854775808.0)) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    throw RuntimeError(std::string(op) + ": value " + buf +
                       " cannot be converted to type int64 without overflow");
  }
  return static_cast<int64_t>(v);
}

// The factories are not primitives, so they call the blocking hook themselves (as apply()
// does for a forward): the host may release its lock (Python's GIL) around the fill, and
// the loops (kernels/fill) poll for Ctrl-C on an armed main thread. Each fill is pure, so
// a rerun after an interrupt starts afresh; random draws stay one sequential stream.

// One fill loop for double and exact int64 values (converted once to the dtype).
template <typename V>
Tensor filled(const Shape& shape, V value, DType dtype) {
  Tensor t = empty(shape, dtype);
  const int64_t n = t.numel();
  run_blocking(n, [&] {
    FG_DISPATCH_ALL(dtype, "full", [&] { kernels::fill(t.data<scalar_t>(), n, convert<scalar_t>(value)); });
  });
  return t;
}
}  // namespace

Tensor full(const Shape& shape, double value, DType dtype) {
  if (dtype == DType::Int64) return filled(shape, checked_int64(value, "full"), dtype);
  return filled(shape, value, dtype);
}
Tensor full_int(const Shape& shape, int64_t value, DType dtype) { return filled(shape, value, dtype); }
Tensor scalar_int(int64_t value, DType dtype) { return full_int({}, value, dtype); }
Tensor zeros(const Shape& shape, DType dtype) { return full(shape, 0.0, dtype); }
Tensor ones(const Shape& shape, DType dtype) { return full(shape, 1.0, dtype); }
Tensor scalar(double value, DType dtype) { return full({}, value, dtype); }
Tensor zeros_like(const Tensor& t) { return zeros(t.shape(), t.dtype()); }
Tensor ones_like(const Tensor& t) { return ones(t.shape(), t.dtype()); }

Tensor arange(double start, double stop, double step, DType dtype) {
  if (step == 0) throw ValueError("arange: step must be nonzero");
  if (!std::isfinite(start) || !std::isfinite(stop) || !std::isfinite(step))
    throw ValueError("arange: start, stop and step must be finite, got " + std::to_string(start) + ", " +
                     std::to_string(stop) + ", " + std::to_string(step));
  const double len = std::ceil((stop - start) / step);
  if (!(len < 9223372036854775808.0))
    throw ValueError("arange: too many elements (" + std::to_string(len) + ")");
  int64_t n = std::max<int64_t>(0, static_cast<int64_t>(len));
  Tensor t = empty({n}, dtype);
  run_blocking(n, [&] {
    FG_DISPATCH_NUM(dtype, "arange", [&] {
      scalar_t* p = t.data<scalar_t>();
      kernels::fill_indexed(p, n, [&](int64_t i) -> scalar_t {
        const double v = start + static_cast<double>(i) * step;
        if constexpr (std::is_same_v<scalar_t, int64_t>)
          return checked_int64(v, "arange");
        else
          return static_cast<scalar_t>(v);
      });
    });
  });
  return t;
}

Tensor arange_int(int64_t start, int64_t stop, int64_t step, DType dtype) {
  if (step == 0) throw ValueError("arange: step must be nonzero");
  // Length and values in 128-bit arithmetic: stop - start may exceed int64, each value
  // start + i*step lies in [start, stop) and so fits.
  const __int128 d = static_cast<__int128>(stop) - start;
  __int128 len = 0;
  if (step > 0 && d > 0) len = (d + step - 1) / step;
  if (step < 0 && d < 0) len = (-d + (-static_cast<__int128>(step)) - 1) / -static_cast<__int128>(step);
  if (len > std::numeric_limits<int64_t>::max()) throw ValueError("arange: too many elements");
  Tensor t = empty({static_cast<int64_t>(len)}, dtype);
  const int64_t n = t.numel();
  run_blocking(n, [&] {
    FG_DISPATCH_NUM(dtype, "arange", [&] {
      scalar_t* p = t.data<scalar_t>();
      kernels::fill_indexed(p, n, [&](int64_t i) {
        return static_cast<scalar_t>(static_cast<int64_t>(start + static_cast<__int128>(i) * step));
      });
    });
  });
  return t;
}

Tensor linspace(double start, double stop, int64_t num, DType dtype) {
  if (num < 0) throw ValueError("linspace: num must be >= 0");
  Tensor t = empty({num}, dtype);
  run_blocking(num, [&] {
    FG_DISPATCH_FLOAT(dtype, "linspace", [&] {
      scalar_t* p = t.data<scalar_t>();
      double step = num > 1 ? (stop - start) / (num - 1) : 0.0;
      kernels::fill_indexed(p, num, [&](int64_t i) {
        return static_cast<scalar_t>(i == num - 1 && num > 1 ? stop : start + i * step);
      });
    });
  });
  return t;
}

Tensor eye(int64_t n, int64_t m, DType dtype) {
  if (n < 0 || m < 0) throw ValueError("eye: sizes must be >= 0");
  Tensor t = zeros({n, m}, dtype);
  FG_DISPATCH_ALL(dtype, "eye", [&] {
    scalar_t* p = t.data<scalar_t>();
    for (int64_t i = 0; i < std::min(n, m); ++i) p[i * m + i] = static_cast<scalar_t>(1);
  });
  return t;
}

namespace {
// One draw per element from Dist<scalar_t>(0, 1), in order from the global stream.
template <template <typename> class Dist>
Tensor random_fill(const Shape& shape, DType dtype, const char* op, Generator* gen) {
  Tensor t = empty(shape, dtype);
  run_blocking(t.numel(), [&] {
    (gen ? *gen : default_generator()).with_engine([&](std::mt19937_64& e) {
      FG_DISPATCH_FLOAT(dtype, op, [&] {
        Dist<scalar_t> d(0, 1);
        kernels::fill_indexed(t.data<scalar_t>(), t.numel(), [&](int64_t) { return d(e); });
      });
    });
  });
  return t;
}
}  // namespace

Tensor rand(const Shape& shape, DType dtype, Generator* gen) {
  return random_fill<std::uniform_real_distribution>(shape, dtype, "rand", gen);
}
Tensor randn(const Shape& shape, DType dtype, Generator* gen) {
  return random_fill<std::normal_distribution>(shape, dtype, "randn", gen);
}

Tensor randint(int64_t low, int64_t high, const Shape& shape, Generator* gen) {
  if (high <= low) throw ValueError("randint: high must be > low");
  Tensor t = empty(shape, DType::Int64);
  run_blocking(t.numel(), [&] {
    (gen ? *gen : default_generator()).with_engine([&](std::mt19937_64& e) {
      std::uniform_int_distribution<int64_t> d(low, high - 1);
      kernels::fill_indexed(t.data<int64_t>(), t.numel(), [&](int64_t) { return d(e); });
    });
  });
  return t;
}

Tensor randperm(int64_t n, Generator* gen) {
  Tensor t = arange_int(0, n, 1, DType::Int64);
  run_blocking(n, [&] {
    (gen ? *gen : default_generator()).with_engine([&](std::mt19937_64& e) {
      int64_t* p = t.data<int64_t>();
      for (int64_t i = n - 1; i > 0; --i) {
        std::uniform_int_distribution<int64_t> d(0, i);
        std::swap(p[i], p[d(e)]);
      }
    });
  });
  return t;
}

// ---- copies
static void strided_copy(const Tensor& dst, const Tensor& src) {
  FG_DISPATCH_ALL(dst.dtype(), "copy", [&] {
    using To = scalar_t;
    FG_DISPATCH_ALL(src.dtype(), "copy",
                    [&] { map_unary<To, scalar_t>(dst, src, [](scalar_t v) { return convert<To>(v); }); });
  });
}

Tensor contiguous(const Tensor& x) {
  if (x.is_contiguous()) return x;
  return clone(x);
}

Tensor detach(const Tensor& x) {
  return make_view(x, x.shape(), x.strides(), x.offset());  // batched stays batched
}

void copy_(const Tensor& dst, const Tensor& src) {
  if (dst.impl()->storage->readonly) throw ValueError("copy_: destination is read-only");
  if (dst.is_batched()) return copy_into_batched(dst, src);  // inside vmap: the physical value
  broadcast_shapes(dst.shape(), src.shape(), "copy_");
  Tensor s = expand(detach(src), dst.shape());
  if (s.impl()->storage == dst.impl()->storage) s = clone(detach(s));
  // map_unary writes out with its own strides, so a strided destination works too.
  strided_copy(dst, s);
  dst.impl()->storage->version++;
}

namespace {
struct Clone : Primitive {
  FG_VMAP_ELEMENTWISE
  static constexpr PrimitiveDesc kDesc = PrimitiveDesc("clone").reads_inputs(0);
  const PrimitiveDesc& desc() const override { return kDesc; }
  std::vector<Shape> shapes(const Tensors& in) const override { return {in[0].shape()}; }
  Tensors forward(const Tensors& in, const std::vector<Shape>&) const override {
    Tensor out = empty(in[0].shape(), in[0].dtype());
    strided_copy(out, in[0]);
    return {out};
  }
  Tensors vjp(const Tensors&, const Tensors&, const Tensors& g, const std::vector<bool>&) const override {
    return {g[0]};
  }
  Tensors jvp(const Tensors&, const Tensors&, const Tensors& t) const override { return {t[0]}; }
};
FG_REGISTER_PRIMITIVE(Clone::kDesc);
}  // namespace

Tensor clone(const Tensor& x) { return apply1(singleton<Clone>(), {x}); }

}  // namespace fastgrad
