// Sorting, order statistics and scans: sort, argsort, msort, topk, kthvalue, cummax,
// cummin, cumsum, cumprod, logcumsumexp, unique, unique_consecutive, searchsorted,
// bucketize, multinomial (PyTorch's signatures; (values, indices) pairs come back as
// named tuples like torch.return_types).
#include "convert.h"

namespace fastgrad::bindings {
namespace {
// A named tuple type (values, indices) named like torch.return_types.<name>; made once
// and kept for the interpreter's life.
py::object pair_result(const char* name, const std::pair<Tensor, Tensor>& r) {
  static std::map<std::string, py::object>* types = new std::map<std::string, py::object>();
  auto it = types->find(name);
  if (it == types->end())
    it = types
             ->emplace(name, py::module_::import("collections")
                                 .attr("namedtuple")(name, py::make_tuple("values", "indices")))
             .first;
  return it->second(r.first.impl(), r.second.impl());
}

Tensor scan_arg(py::handle x, std::optional<DType> dtype, const char* op) {
  Tensor X = tensor_arg(x, op, "input");
  return dtype ? cast(X, *dtype) : X;
}

py::object unique_result(const UniqueResult& r, bool inverse, bool counts) {
  if (!inverse && !counts) return py::cast(r.values.impl());
  py::list out;
  out.append(r.values.impl());
  if (inverse) out.append(r.inverse.impl());
  if (counts) out.append(r.counts.impl());
  return py::tuple(out);
}

}  // namespace

void bind_select_sort(py::module_& m, TensorClass& T) {
  def_op(
      m, T, "sort",
      [](py::handle x, int64_t dim, bool descending, bool stable) {
        return pair_result("sort", sort(tensor_arg(x, "sort", "input"), dim, descending, stable));
      },
      py::arg("input"), py::arg("dim") = -1, py::arg("descending") = false, py::arg("stable") = false,
      "sort(input, dim=-1, descending=False, stable=False) -> (values, indices)\n\ninput sorted along dim "
      "(always stable; NaN sorts as the largest value) with the int64 positions the values came from; both "
      "of input's shape. Differentiable in input (through the indices).");
  def_op(
      m, T, "argsort",
      [](py::handle x, int64_t dim, bool descending, bool stable) {
        return argsort(tensor_arg(x, "argsort", "input"), dim, descending, stable).impl();
      },
      py::arg("input"), py::arg("dim") = -1, py::arg("descending") = false, py::arg("stable") = false,
      "argsort(input, dim=-1, descending=False, stable=False) -> Tensor\n\nThe int64 positions (input's "
      "shape) "
      "that sort input along dim.");
  def_op(
      m, T, "msort",
      [](py::handle x) { return sort(tensor_arg(x, "msort", "input"), 0, false, true).first.impl(); },
      py::arg("input"), "msort(input) -> Tensor\n\ninput sorted along its first axis (values only).");
  def_op(
      m, T, "topk",
      [](py::handle x, int64_t k, int64_t dim, bool largest, bool sorted) {
        return pair_result("topk", topk(tensor_arg(x, "topk", "input"), k, dim, largest, sorted));
      },
      py::arg("input"), py::arg("k"), py::arg("dim") = -1, py::arg("largest") = true,
      py::arg("sorted") = true,
      "topk(input, k, dim=-1, largest=True, sorted=True) -> (values, indices)\n\nThe k largest (smallest) "
      "entries along dim, in order, and their int64 positions: input.shape with dim of size k. Ties: the "
      "earlier "
      "position first.");
  def_op(
      m, T, "kthvalue",
      [](py::handle x, int64_t k, int64_t dim, bool keepdim) {
        return pair_result("kthvalue", kthvalue(tensor_arg(x, "kthvalue", "input"), k, dim, keepdim));
      },
      py::arg("input"), py::arg("k"), py::arg("dim") = -1, py::arg("keepdim") = false,
      "kthvalue(input, k, dim=-1, keepdim=False) -> (values, indices)\n\nThe k-th smallest entry (k from 1) "
      "along "
      "dim and its position; dim dropped unless keepdim.");
  def_op(
      m, T, "cummax",
      [](py::handle x, int64_t dim) {
        return pair_result("cummax", cummax(tensor_arg(x, "cummax", "input"), dim));
      },
      py::arg("input"), py::arg("dim"),
      "cummax(input, dim) -> (values, indices)\n\nRunning maximum along dim and the position it came from "
      "(ties "
      "take the later position; NaN holds); both of input's shape.");
  def_op(
      m, T, "cummin",
      [](py::handle x, int64_t dim) {
        return pair_result("cummin", cummin(tensor_arg(x, "cummin", "input"), dim));
      },
      py::arg("input"), py::arg("dim"),
      "cummin(input, dim) -> (values, indices)\n\nRunning minimum along dim and its position; input's "
      "shape.");
  def_op(
      m, T, "cumsum",
      [](py::handle x, int64_t dim, std::optional<DType> dtype) {
        return cumsum(scan_arg(x, dtype, "cumsum"), dim).impl();
      },
      py::arg("input"), py::arg("dim"), py::kw_only(), py::arg("dtype") = py::none(),
      "cumsum(input, dim, *, dtype=None) -> Tensor\n\nRunning sum along dim (input's shape; bool counts as "
      "int64). VJP: the reversed running sum.");
  def_op(
      m, T, "cumprod",
      [](py::handle x, int64_t dim, std::optional<DType> dtype) {
        return cumprod(scan_arg(x, dtype, "cumprod"), dim).impl();
      },
      py::arg("input"), py::arg("dim"), py::kw_only(), py::arg("dtype") = py::none(),
      "cumprod(input, dim, *, dtype=None) -> Tensor\n\nRunning product along dim (input's shape); the "
      "gradient "
      "is exact with zeros in input, as PyTorch's.");
  def_op(
      m, T, "logcumsumexp",
      [](py::handle x, int64_t dim) {
        return logcumsumexp(tensor_arg(x, "logcumsumexp", "input"), dim).impl();
      },
      py::arg("input"), py::arg("dim"),
      "logcumsumexp(input, dim) -> Tensor\n\nlog of the running sum of exp along dim, computed stably (float "
      "input's shape).");
  def_op(
      m, T, "unique",
      [](py::handle x, bool sorted, bool inverse, bool counts, std::optional<int64_t> dim) {
        return unique_result(unique(tensor_arg(x, "unique", "input"), sorted, dim), inverse, counts);
      },
      py::arg("input"), py::arg("sorted") = true, py::arg("return_inverse") = false,
      py::arg("return_counts") = false, py::arg("dim") = py::none(),
      "unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None) -> Tensor | tuple\n\n"
      "dim=None: the distinct values of the flattened input in ascending order (u,), the inverse (input's "
      "shape: each entry's position in the values). dim=d: the distinct slices input.select(d, i) in "
      "lexicographic order, values of input's shape with d of size u, inverse (input.shape[d],). counts "
      "(u,): "
      "how often each occurs. inverse and counts (int64) come after the values when asked. The result is "
      "always sorted (sorted=False too, as PyTorch's CPU result). NaN sorts last and equals nothing (each "
      "NaN, "
      "or slice holding one, is its own entry). float, int64 and bool inputs. Not differentiable: the "
      "outputs "
      "never require grad and no gradient flows to input.");
  def_op(
      m, T, "unique_consecutive",
      [](py::handle x, bool inverse, bool counts, std::optional<int64_t> dim) {
        return unique_result(unique_consecutive(tensor_arg(x, "unique_consecutive", "input"), dim), inverse,
                             counts);
      },
      py::arg("input"), py::arg("return_inverse") = false, py::arg("return_counts") = false,
      py::arg("dim") = py::none(),
      "unique_consecutive(input, return_inverse=False, return_counts=False, dim=None) -> Tensor | tuple\n\n"
      "Runs of equal neighbours collapsed to one, in input order: of the flattened input's values (u,) with "
      "dim=None, of the slices along dim=d (input's shape with d of size u) otherwise. inverse (input's "
      "shape; "
      "(input.shape[d],) with dim) gives each entry's run, counts (u,) each run's length (int64, after the "
      "values when asked). NaN equals nothing. Not differentiable: the outputs never require grad and no "
      "gradient flows to input.");
  m.def(
      "searchsorted",
      [](py::handle seq, py::handle v, bool out_int32, bool right, std::optional<std::string> side,
         py::handle sorter) {
        if (out_int32)
          throw TypeError("searchsorted: out_int32=True is not supported (fastgrad has no int32)");
        if (side) {
          if (*side != "left" && *side != "right")
            throw RuntimeError("searchsorted: side can only be 'left' or 'right', got '" + *side + "'");
          if (right && *side == "left")
            throw RuntimeError("searchsorted: side and right can't be set to opposites");
          right = *side == "right";
        }
        Tensor S = tensor_arg(seq, "searchsorted", "sorted_sequence");
        Tensor V =
            is_number(v) ? filled({}, v, S.dtype(), "searchsorted") : tensor_arg(v, "searchsorted", "input");
        Tensor O = sorter.is_none() ? Tensor() : tensor_arg(sorter, "searchsorted", "sorter");
        return searchsorted(S, V, right, O).impl();
      },
      py::arg("sorted_sequence"), py::arg("input"), py::kw_only(), py::arg("out_int32") = false,
      py::arg("right") = false, py::arg("side") = py::none(), py::arg("sorter") = py::none(),
      "searchsorted(sorted_sequence, input, *, out_int32=False, right=False, side=None, sorter=None) -> "
      "Tensor\n\nWhere each input value would be inserted into the sorted last axis of sorted_sequence (1-d, "
      "or "
      "sharing input's leading axes): int64 of input's shape.");
  def_op(
      m, T, "bucketize",
      [](py::handle v, py::handle boundaries, bool out_int32, bool right) {
        if (out_int32) throw TypeError("bucketize: out_int32=True is not supported (fastgrad has no int32)");
        Tensor B = tensor_arg(boundaries, "bucketize", "boundaries");
        if (B.ndim() != 1)
          throw RuntimeError("bucketize: boundaries tensor must be 1 dimension, got shape " +
                             shape_str(B.shape()));
        Tensor V = is_number(v) ? filled({}, v, B.dtype(), "bucketize") : tensor_arg(v, "bucketize", "input");
        return searchsorted(B, V, right, Tensor()).impl();
      },
      py::arg("input"), py::arg("boundaries"), py::kw_only(), py::arg("out_int32") = false,
      py::arg("right") = false,
      "bucketize(input, boundaries, *, out_int32=False, right=False) -> Tensor\n\nThe bucket of each input "
      "value "
      "among the sorted 1-d boundaries (int64 of input's shape).");
  def_op(
      m, T, "multinomial",
      [](py::handle p, int64_t n, bool replacement, py::handle generator) {
        return multinomial(tensor_arg(p, "multinomial", "input"), n, replacement,
                           generator_arg(generator, "multinomial"))
            .impl();
      },
      py::arg("input"), py::arg("num_samples"), py::arg("replacement") = false, py::kw_only(),
      py::arg("generator") = py::none(),
      "multinomial(input, num_samples, replacement=False) -> Tensor\n\nnum_samples category indices drawn "
      "from "
      "each row of the nonnegative weights input (k,) or (m, k) with fastgrad's generator: (num_samples,) or "
      "(m, num_samples) int64.");
}
}  // namespace fastgrad::bindings
