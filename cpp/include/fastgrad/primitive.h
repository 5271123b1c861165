// A primitive is one differentiable operation with everything that defines it in one
// place: its descriptor, shape rule, forward (kernels only, no autodiff), VJP rule and
// JVP rule. The rules are written with fastgrad's own ops (ops.h), so they are
// differentiable themselves: create_graph, Hessians, JVP-of-VJP all come from these two.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "fastgrad/tensor.h"

namespace fastgrad {

using Tensors = std::vector<Tensor>;
struct Primitive;
using PrimPtr = std::shared_ptr<const Primitive>;

// What a batching rule returns: the physical outputs and, per output, its batch axis
// (-1: the output does not depend on the batch and is the same for every element).
struct Batched {
  Tensors out;
  std::vector<int64_t> bdims;
};

// What the engine and the tests need to know about a primitive without running it.
// Each struct declares its descriptor as `static constexpr PrimitiveDesc kDesc` beside
// the rules whose reads it describes; cpp/tests/test_registry.cpp runs every registered
// VJP with the values it claims not to read poisoned, so a rule that starts reading
// more than its descriptor says fails there (and the tape would not have kept it).
struct PrimitiveDesc {
  static constexpr uint32_t kAll = ~uint32_t(0);
  static constexpr int kVariadic = -1;
  const char* name;
  const char* variant = "";  // a second descriptor of the same primitive (e.g. "fused")
  int min_inputs = 1;
  int max_inputs = 1;  // kVariadic: any number >= min_inputs
  int num_outputs = 1;
  uint32_t nondiff_inputs = 0;       // bit i: input i carries no derivative (indices, masks)
  uint32_t vjp_reads_inputs = kAll;  // bit i: the VJP reads input i's values (metadata is free)
  bool vjp_reads_outputs = false;    // the VJP reads the outputs' values (the tape keeps them)
  bool is_view = false;              // output 0 aliases input 0's memory (O(1), no GIL release)
  bool sees_batched = false;         // forward takes batched tensors as they are (vmap's own wrap/unwrap)

  // Built as PrimitiveDesc("div").inputs(2).reads_outputs(): every field has a name at
  // the declaration, in standard C++17.
  constexpr explicit PrimitiveDesc(const char* n) : name(n) {}
  constexpr PrimitiveDesc named_variant(const char* v) const {
    return with([&](PrimitiveDesc& d) { d.variant = v; });
  }
  constexpr PrimitiveDesc inputs(int lo, int hi = 0) const {
    return with([&](PrimitiveDesc& d) {
      d.min_inputs = lo;
      d.max_inputs = hi == 0 ? lo : hi;
    });
  }
  constexpr PrimitiveDesc outputs(int n) const {
    return with([&](PrimitiveDesc& d) { d.num_outputs = n; });
  }
  constexpr PrimitiveDesc nondiff(uint32_t mask) const {
    return with([&](PrimitiveDesc& d) { d.nondiff_inputs = mask; });
  }
  constexpr PrimitiveDesc reads_inputs(uint32_t mask) const {
    return with([&](PrimitiveDesc& d) { d.vjp_reads_inputs = mask; });
  }
  constexpr PrimitiveDesc reads_outputs(bool on = true) const {
    return with([&](PrimitiveDesc& d) { d.vjp_reads_outputs = on; });
  }
  constexpr PrimitiveDesc view() const {
    return with([&](PrimitiveDesc& d) { d.is_view = true; });
  }
  constexpr PrimitiveDesc batch_transparent() const {
    return with([&](PrimitiveDesc& d) { d.sees_batched = true; });
  }

  constexpr bool differentiable(size_t i) const { return i >= 32 || !((nondiff_inputs >> i) & 1u); }
  constexpr bool reads_input(size_t i) const {
    return i >= 32 ? vjp_reads_inputs == kAll : ((vjp_reads_inputs >> i) & 1u) != 0;
  }
  constexpr bool arity_ok(size_t n) const {
    return static_cast<int64_t>(n) >= min_inputs &&
           (max_inputs == kVariadic || static_cast<int64_t>(n) <= max_inputs);
  }

 private:
  template <typename F>
  constexpr PrimitiveDesc with(F f) const {
    PrimitiveDesc d = *this;
    f(d);
    return d;
  }
};
constexpr uint32_t bit(int i) { return uint32_t(1) << i; }

struct Primitive {
  virtual ~Primitive() = default;
  // The descriptor this instance runs under (usually the struct's kDesc; a primitive
  // with a variant, such as a fused activation, picks between its descriptors).
  virtual const PrimitiveDesc& desc() const = 0;
  virtual const char* name() const { return desc().name; }
  // Output shapes; validates inputs and throws ValueError/TypeError naming the op.
  // apply() calls it exactly once, before forward.
  virtual std::vector<Shape> shapes(const Tensors& in) const = 0;
  // Evaluates the outputs of the shapes `out` (from shapes()) with kernels (no taping,
  // no tangents).
  virtual Tensors forward(const Tensors& in, const std::vector<Shape>& out) const = 0;
  // Pullback (cheat sheet §3): cotangents of the outputs -> cotangents of the inputs.
  // `cot[i]` is undefined when output i received no gradient. Results must be
  // undefined where `need[i]` is false (no work for inputs nobody asked about);
  // broadcasting is summed away by the engine. `out` is empty unless the descriptor
  // says vjp_reads_outputs; inputs the descriptor does not read are only for metadata.
  virtual Tensors vjp(const Tensors& in, const Tensors& out, const Tensors& cot,
                      const std::vector<bool>& need) const;
  // Pushforward (cheat sheet §3): input tangents (undefined = zero) -> output tangents.
  virtual Tensors jvp(const Tensors& in, const Tensors& out, const Tensors& tan) const;
  // Batching rule (vmap): `in` are the physical inputs, `bdims[i]` input i's batch axis
  // (-1: not batched, the same value for every batch element). Computes the outputs for
  // the whole batch at once with fastgrad's ops (the same kernels on the batched operand;
  // never a loop over the batch) and says where each output's batch axis is. `self` is
  // this primitive (rules that re-apply it with the batch axis in front). The engine runs
  // rules with gradients and tangents off: the tape records the logical op (batching.h).
  virtual Batched vmap(const Tensors& in, const std::vector<int64_t>& bdims, const PrimPtr& self) const;

  int num_outputs() const { return desc().num_outputs; }
  bool differentiable_input(size_t i) const { return desc().differentiable(i); }
  bool is_view() const { return desc().is_view; }
};

// Every primitive's descriptor (variants included); tests walk it so that a primitive
// without both rules, or with a descriptor its rules contradict, cannot land.
const std::vector<const PrimitiveDesc*>& primitive_descriptors();
// The names of the primitives (one per primitive: variants are not repeated).
std::vector<std::string> primitive_registry();
struct RegisterPrimitive {
  explicit RegisterPrimitive(const PrimitiveDesc& d);
};
#define FG_CONCAT_INNER(a, b) a##b
#define FG_CONCAT(a, b) FG_CONCAT_INNER(a, b)
// Registers a descriptor: FG_REGISTER_PRIMITIVE(Sum::kDesc), beside the struct.
#define FG_REGISTER_PRIMITIVE(...) \
  static ::fastgrad::RegisterPrimitive FG_CONCAT(fg_register_, __COUNTER__)(__VA_ARGS__)

// Runs `prim` on inputs: shape rule, forward, then tangents for every active JVP level,
// then a tape node when gradients are being recorded. The one entry point every op
// goes through.
Tensors apply(std::shared_ptr<const Primitive> prim, const Tensors& inputs);
// The same for a temporary list of inputs (apply1(p, {a, b})): the tape node takes it.
Tensors apply(std::shared_ptr<const Primitive> prim, Tensors&& inputs);
inline Tensor apply1(std::shared_ptr<const Primitive> prim, const Tensors& inputs) {
  return std::move(apply(std::move(prim), inputs)[0]);
}
inline Tensor apply1(std::shared_ptr<const Primitive> prim, Tensors&& inputs) {
  return std::move(apply(std::move(prim), std::move(inputs))[0]);
}

}  // namespace fastgrad
