// User-defined functions (fg.autograd.Function, fg.custom_vjp / custom_jvp): one generic
// primitive whose outputs are computed before it is applied (by the user's forward, off
// the tape) and whose VJP and JVP are callbacks. The bindings make the callbacks call
// Python; the rules written there with fastgrad ops are recorded like any other rule, so
// create_graph and forward-over-reverse compose through them.
#include "common.h"

namespace fastgrad {
using namespace detail;

namespace {

// A new handle on t's memory with no history and no tangents: the node's outputs must be
// tensors of their own even when the forward returned one of its inputs.
Tensor fresh_alias(const Tensor& t) { return Tensor(alias_impl(*t.impl())); }

// Whether a gradient of shape g can be summed down to shape s (s broadcasts to g).
bool expandable(const Shape& s, const Shape& g) {
  if (s.size() > g.size()) return false;
  const size_t lead = g.size() - s.size();
  for (size_t i = 0; i < s.size(); ++i)
    if (s[i] != 1 && s[i] != g[lead + i]) return false;
  return true;
}

struct CustomFunction final : Primitive {
  // The rules read what the function saved. Saved inputs and outputs go through the
  // engine, which checks their versions, frees them after a backward without
  // retain_graph and (outputs, the "saves_outputs" variant) hands them back recorded on
  // this node under create_graph; each instance's descriptor says which inputs it reads.
  // Other saved tensors (intermediates) are kept and version-checked here.
  static constexpr PrimitiveDesc kDesc = PrimitiveDesc("custom_function")
                                             .inputs(0, PrimitiveDesc::kVariadic)
                                             .reads_inputs(0)
                                             .batch_transparent();
  static constexpr PrimitiveDesc kSavesOutputs = kDesc.named_variant("saves_outputs").reads_outputs();

  PrimitiveDesc desc_;  // kDesc or kSavesOutputs with this call's number of outputs
  CustomRules rules;
  std::vector<Shape> out_shapes;
  mutable Tensors pending;        // the outputs until forward() hands out their aliases
  Tensors saved;                  // undefined where the saved tensor is an input or an output
  std::vector<int> saved_output;  // -1, or which output saved[k] is
  std::vector<int> saved_input;   // -1, or which input saved[k] is
  std::vector<int64_t> saved_versions;

  CustomFunction(const Tensors& inputs, const Tensors& outputs, const Tensors& to_save, CustomRules r)
      : desc_(kDesc), rules(std::move(r)), pending(outputs) {
    bool saves_out = false;
    uint32_t reads = 0;
    for (const Tensor& s : to_save) {
      int out_j = -1, in_i = -1;
      for (size_t j = 0; s.defined() && j < outputs.size(); ++j)
        if (outputs[j].get() == s.get()) out_j = static_cast<int>(j);
      // The descriptor's mask has 32 bits: later inputs are kept here instead.
      for (size_t i = 0; s.defined() && out_j < 0 && in_i < 0 && i < inputs.size() && i < 32; ++i)
        if (inputs[i].get() == s.get()) in_i = static_cast<int>(i);
      saved_output.push_back(out_j);
      saved_input.push_back(in_i);
      saves_out = saves_out || out_j >= 0;
      if (in_i >= 0) reads |= bit(in_i);
      const bool here = out_j < 0 && in_i < 0;
      saved.push_back(here ? s : Tensor());
      saved_versions.push_back(here && s.defined() ? s.impl()->storage->version.load() : -1);
    }
    desc_ = (saves_out ? kSavesOutputs : kDesc).outputs(static_cast<int>(outputs.size())).reads_inputs(reads);
    for (const Tensor& o : outputs) out_shapes.push_back(o.shape());
  }
  const PrimitiveDesc& desc() const override { return desc_; }
  const char* name() const override { return rules.name.c_str(); }
  std::vector<Shape> shapes(const Tensors&) const override { return out_shapes; }
  Tensors forward(const Tensors&, const std::vector<Shape>&) const override {
    Tensors out;
    for (const Tensor& o : pending) out.push_back(fresh_alias(o));
    pending.clear();  // the node must not keep outputs nobody saved alive
    return out;
  }

  // The saved tensors as the rules see them; an in-place change since the forward raises
  // (PyTorch's check on saved variables).
  Tensors resolve(const Tensors& in, const Tensors& out) const {
    Tensors r;
    for (size_t k = 0; k < saved.size(); ++k) {
      const int j = saved_output[k], i = saved_input[k];
      if (j >= 0 || i >= 0) {
        const Tensors& from = j >= 0 ? out : in;
        const size_t at = static_cast<size_t>(j >= 0 ? j : i);
        r.push_back(at < from.size() ? from[at] : Tensor());
        continue;
      }
      const Tensor& s = saved[k];
      if (s.defined() && s.impl()->storage->version.load() != saved_versions[k])
        throw RuntimeError(rules.name +
                           "Backward: one of the variables needed for gradient computation has "
                           "been modified by an inplace operation: saved tensor " +
                           std::to_string(k) + " (shape " + shape_str(s.shape()) + ") is at version " +
                           std::to_string(s.impl()->storage->version.load()) + "; expected version " +
                           std::to_string(saved_versions[k]) + " instead");
      r.push_back(s);
    }
    return r;
  }

  Tensors vjp(const Tensors& in, const Tensors& out, const Tensors& cot,
              const std::vector<bool>& need) const override {
    if (!rules.vjp) throw RuntimeError(rules.name + ": no backward rule");
    Tensors g = rules.vjp(resolve(in, out), cot);
    if (g.size() != in.size())
      throw RuntimeError("function " + rules.name +
                         "Backward returned an incorrect number of gradients (expected " +
                         std::to_string(in.size()) + ", got " + std::to_string(g.size()) + ")");
    for (size_t i = 0; i < g.size(); ++i) {
      if (i >= need.size() || !need[i]) {
        g[i] = Tensor();
        continue;
      }
      if (g[i].defined() && g[i].shape() != in[i].shape() && !expandable(in[i].shape(), g[i].shape()))
        throw RuntimeError("function " + rules.name + "Backward returned an invalid gradient at index " +
                           std::to_string(i) + " - got " + shape_str(g[i].shape()) +
                           " but expected shape compatible with " + shape_str(in[i].shape()));
    }
    return g;
  }

  Tensors jvp(const Tensors& in, const Tensors& out, const Tensors& tan) const override {
    if (!rules.jvp)
      throw RuntimeError(rules.name +
                         ": forward-mode AD (jvp, jacfwd, hvp) reached a custom function without a jvp rule; "
                         "implement jvp(ctx, *tangents) (autograd.Function) or defjvp (custom_jvp) to use it "
                         "with forward mode");
    Tensors t = rules.jvp(resolve(in, out), tan);
    if (t.size() != out.size())
      throw RuntimeError("function " + rules.name +
                         " jvp returned an incorrect number of tangents (expected " +
                         std::to_string(out.size()) + ", got " + std::to_string(t.size()) + ")");
    for (size_t j = 0; j < t.size(); ++j)
      if (t[j].defined() && t[j].shape() != out[j].shape())
        throw RuntimeError("function " + rules.name + " jvp returned an invalid tangent at index " +
                           std::to_string(j) + " - got " + shape_str(t[j].shape()) + " but expected shape " +
                           shape_str(out[j].shape()));
    return t;
  }
};
FG_REGISTER_PRIMITIVE(CustomFunction::kDesc);
FG_REGISTER_PRIMITIVE(CustomFunction::kSavesOutputs);

}  // namespace

Tensors custom_function(const Tensors& inputs, const Tensors& outputs, const Tensors& saved,
                        CustomRules rules) {
  for (size_t j = 0; j < outputs.size(); ++j)
    if (!outputs[j].defined())
      throw TypeError(rules.name + ": output " + std::to_string(j) + " is None, expected a Tensor");
  return fastgrad::apply(std::make_shared<CustomFunction>(inputs, outputs, saved, std::move(rules)), inputs);
}

}  // namespace fastgrad
