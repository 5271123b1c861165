// A primitive is one differentiable operation with everything that defines it in one
// place: its shape rule, forward (kernels only, no autodiff), VJP rule and JVP rule.
// The rules are written with fastgrad's own ops (ops.h), so they are differentiable
// themselves: create_graph, Hessians, JVP-of-VJP all come from these two rules.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "fastgrad/tensor.h"

namespace fastgrad {

using Tensors = std::vector<Tensor>;

struct Primitive {
  virtual ~Primitive() = default;
  virtual const char* name() const = 0;
  // Output shapes; validates inputs and throws ValueError/TypeError naming the op.
  virtual std::vector<Shape> shapes(const Tensors& in) const = 0;
  // Evaluates the outputs with kernels (no taping, no tangents).
  virtual Tensors forward(const Tensors& in) const = 0;
  // Pullback (cheat sheet §3): cotangents of the outputs -> cotangents of the inputs.
  // `cot[i]` is undefined when output i received no gradient. Results may be
  // undefined where `need[i]` is false; broadcasting is summed away by the engine.
  virtual Tensors vjp(const Tensors& in, const Tensors& out, const Tensors& cot,
                      const std::vector<bool>& need) const;
  // Pushforward (cheat sheet §3): input tangents (undefined = zero) -> output tangents.
  virtual Tensors jvp(const Tensors& in, const Tensors& out, const Tensors& tan) const;

  virtual int num_outputs() const { return 1; }
  // Inputs that carry no derivative (indices, masks, conditions).
  virtual bool differentiable_input(size_t) const { return true; }
  // Whether the VJP reads the outputs (then the tape keeps them alive).
  virtual bool vjp_uses_outputs() const { return false; }
  // Whether the VJP reads the inputs' values (then in-place changes to them are errors).
  virtual bool vjp_uses_inputs() const { return true; }
  // Whether the output aliases input 0's memory (reshape, permute, expand, slice): O(1)
  // work, so apply() runs it without the GIL-releasing hook; and an in-place change
  // through or under a view must not go unnoticed by autograd.
  virtual bool is_view() const { return false; }
};

// The registry lists every primitive's name; tests walk it so that a primitive
// without both rules cannot land.
std::vector<std::string>& primitive_registry();
struct RegisterPrimitive {
  explicit RegisterPrimitive(const char* name) { primitive_registry().emplace_back(name); }
};
#define FG_REGISTER_PRIMITIVE(NAME) static ::fastgrad::RegisterPrimitive fg_register_##NAME(#NAME)

// Runs `prim` on inputs: forward, then tangents for every active JVP level, then a tape
// node when gradients are being recorded. The one entry point every op goes through.
Tensors apply(std::shared_ptr<const Primitive> prim, const Tensors& inputs);
inline Tensor apply1(std::shared_ptr<const Primitive> prim, const Tensors& inputs) {
  return apply(std::move(prim), inputs)[0];
}

}  // namespace fastgrad
