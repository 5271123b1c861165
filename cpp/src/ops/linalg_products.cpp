// Products as honest composites of matmul, mul, sum and shape ops (so every rule,
// including higher derivatives, comes from those primitives): einsum contracts operands
// pairwise, each pair reduced to one batched GEMM by permute + reshape (the classic
// "transpose-transpose-GEMM-transpose" scheme, as numpy.einsum(optimize) and torch.einsum do).
#include <algorithm>
#include <map>
#include <numeric>
#include <set>

#include "common.h"

namespace fastgrad {
using namespace detail;

namespace {

std::pair<Tensor, Tensor> promoted(const Tensor& a, const Tensor& b) {
  DType d = promote(a.dtype(), b.dtype());
  if (!is_floating(d)) d = DType::Int64;
  return {cast(a, d), cast(b, d)};
}

// ---- einsum -----------------------------------------------------------------------------------
// Labels are ints: letters map to 0..51, the k-th broadcast (ellipsis) dimension to 52 + k,
// counted from the right so ellipses of different ranks align like broadcasting.
using Labels = std::vector<int>;
constexpr int kEll = 52;

int letter(char c, const std::string& eq) {
  if (c >= 'a' && c <= 'z') return c - 'a';
  if (c >= 'A' && c <= 'Z') return 26 + (c - 'A');
  throw ValueError("einsum: invalid subscript '" + std::string(1, c) + "' in equation '" + eq +
                   "' (subscripts are letters a-z, A-Z)");
}

struct Term {
  Labels before, after;  // letters around an ellipsis
  bool ellipsis = false;
};

Term parse_term(const std::string& s, const std::string& eq) {
  Term t;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == ' ') continue;
    if (s[i] == '.') {
      if (t.ellipsis || s.compare(i, 3, "...") != 0)
        throw ValueError("einsum: malformed ellipsis in equation '" + eq + "'");
      t.ellipsis = true;
      i += 2;
      continue;
    }
    (t.ellipsis ? t.after : t.before).push_back(letter(s[i], eq));
  }
  return t;
}

Labels expand_term(const Term& t, int64_t nell) {
  Labels l = t.before;
  for (int64_t k = nell - 1; k >= 0; --k) l.push_back(kEll + static_cast<int>(k));
  l.insert(l.end(), t.after.begin(), t.after.end());
  return l;
}

// x with repeated labels collapsed to their diagonal (einsum('ii->i')): the two axes are
// moved last, merged, and every (n+1)-th element taken, a strided slice (differentiable).
Tensor take_diagonals(Tensor x, Labels& l) {
  for (size_t i = 0; i < l.size(); ++i) {
    for (size_t j = i + 1; j < l.size(); ++j) {
      if (l[i] != l[j]) continue;
      const int64_t n = std::min(x.shape()[i], x.shape()[j]);
      if (x.shape()[i] != x.shape()[j])
        throw ValueError("einsum: subscript repeated in one operand covers dimensions of sizes " +
                         std::to_string(x.shape()[i]) + " and " + std::to_string(x.shape()[j]));
      Axes perm;
      Labels nl;
      for (size_t k = 0; k < l.size(); ++k)
        if (k != i && k != j) perm.push_back(static_cast<int64_t>(k)), nl.push_back(l[k]);
      perm.push_back(static_cast<int64_t>(i));
      perm.push_back(static_cast<int64_t>(j));
      Tensor y = permute(x, perm);
      Shape s(y.shape().begin(), y.shape().end() - 2);
      s.push_back(n * n);
      y = reshape(y, s);
      std::vector<SliceSpec> spec;
      for (size_t k = 0; k + 1 < s.size(); ++k) spec.push_back({0, s[k], 1});
      spec.push_back({0, n * n, n + 1});
      x = slice(y, spec);
      nl.push_back(l[i]);
      l = nl;
      return take_diagonals(x, l);
    }
  }
  return x;
}

// Sums the axes of x whose labels are not in `keep`.
Tensor sum_unkept(const Tensor& x, Labels& l, const std::vector<bool>& keep) {
  Axes ax;
  Labels nl;
  for (size_t i = 0; i < l.size(); ++i)
    (keep[l[i]] ? nl.push_back(l[i]) : ax.push_back(static_cast<int64_t>(i)));
  l = nl;
  return ax.empty() ? x : sum(x, ax, false);
}

// One pairwise contraction as a batched GEMM: A -> (batch..., left, K), B -> (batch..., K, right).
Tensor contract(Tensor a, Labels la, Tensor b, Labels lb, const std::vector<bool>& keep, Labels& out) {
  const int nl = kEll + 64;
  std::vector<int> ia(nl, -1), ib(nl, -1);
  for (size_t i = 0; i < la.size(); ++i) ia[la[i]] = static_cast<int>(i);
  for (size_t i = 0; i < lb.size(); ++i) ib[lb[i]] = static_cast<int>(i);
  Labels batch, left, right, con;
  for (int l : la) (ib[l] >= 0 ? (keep[l] ? batch : con) : left).push_back(l);
  for (int l : lb)
    if (ia[l] < 0) right.push_back(l);
  // A contracted label broadcast in one operand (size 1) is expanded so the K axes agree.
  Shape ea = a.shape(), eb = b.shape();
  for (int l : con) {
    int64_t sa = ea[ia[l]], sb = eb[ib[l]];
    if (sa != sb && sa != 1 && sb != 1)
      throw ValueError("einsum: operands do not broadcast: subscript has sizes " + std::to_string(sa) +
                       " and " + std::to_string(sb));
    ea[ia[l]] = eb[ib[l]] = std::max(sa, sb);
  }
  a = expand(a, ea);
  b = expand(b, eb);
  Axes pa, pb;
  Shape sa, sb;
  int64_t L = 1, R = 1, K = 1;
  for (int l : batch) {
    pa.push_back(ia[l]), pb.push_back(ib[l]);
    const int64_t x = a.shape()[ia[l]], y = b.shape()[ib[l]];
    if (x != y && x != 1 && y != 1)
      throw ValueError("einsum: operands do not broadcast: subscript has sizes " + std::to_string(x) +
                       " and " + std::to_string(y));
    sa.push_back(x), sb.push_back(y);
  }
  Shape tail;
  for (int l : left) pa.push_back(ia[l]), L *= a.shape()[ia[l]], tail.push_back(a.shape()[ia[l]]);
  for (int l : con) pa.push_back(ia[l]), pb.push_back(ib[l]), K *= a.shape()[ia[l]];
  for (int l : right) pb.push_back(ib[l]), R *= b.shape()[ib[l]], tail.push_back(b.shape()[ib[l]]);
  sa.push_back(L), sa.push_back(K);
  sb.push_back(K), sb.push_back(R);
  Tensor r = matmul(reshape(permute(a, pa), sa), reshape(permute(b, pb), sb));
  Shape rs(r.shape().begin(), r.shape().end() - 2);
  rs.insert(rs.end(), tail.begin(), tail.end());
  out = batch;
  out.insert(out.end(), left.begin(), left.end());
  out.insert(out.end(), right.begin(), right.end());
  return reshape(r, rs);
}

}  // namespace

Tensor einsum(const std::string& equation, const Tensors& operands) {
  const std::string& eq = equation;
  if (operands.empty()) throw ValueError("einsum: expected at least one operand");
  const size_t arrow = eq.find("->");
  const std::string lhs = eq.substr(0, arrow);
  std::vector<Term> terms;
  size_t start = 0;
  while (true) {
    size_t c = lhs.find(',', start);
    terms.push_back(
        parse_term(lhs.substr(start, c == std::string::npos ? std::string::npos : c - start), eq));
    if (c == std::string::npos) break;
    start = c + 1;
  }
  if (terms.size() != operands.size())
    throw ValueError("einsum: equation '" + eq + "' has " + std::to_string(terms.size()) +
                     " operand subscripts but " + std::to_string(operands.size()) + " operands were given");
  DType d = operands[0].dtype();
  for (auto& o : operands) d = promote(d, o.dtype());
  if (!is_floating(d)) d = DType::Int64;
  int64_t nell = 0;
  std::vector<Tensor> xs;
  std::vector<Labels> ls;
  for (size_t i = 0; i < terms.size(); ++i) {
    const int64_t nlet = static_cast<int64_t>(terms[i].before.size() + terms[i].after.size());
    const int64_t nd = operands[i].ndim();
    if (terms[i].ellipsis ? nd < nlet : nd != nlet)
      throw ValueError("einsum: operand " + std::to_string(i) + " has shape " +
                       shape_str(operands[i].shape()) + " but its subscripts in '" + eq + "' name " +
                       std::to_string(nlet) + " dimensions");
    if (terms[i].ellipsis) nell = std::max(nell, nd - nlet);
  }
  std::vector<int> count(kEll + 64, 0);
  for (size_t i = 0; i < terms.size(); ++i) {
    const int64_t e =
        operands[i].ndim() - static_cast<int64_t>(terms[i].before.size() + terms[i].after.size());
    ls.push_back(expand_term(terms[i], terms[i].ellipsis ? e : 0));
    xs.push_back(cast(operands[i], d));
    for (int l : std::set<int>(ls.back().begin(), ls.back().end())) ++count[l];
  }
  Labels outl;
  if (arrow != std::string::npos) {
    Term t = parse_term(eq.substr(arrow + 2), eq);
    outl = expand_term(t, t.ellipsis ? nell : 0);
    for (size_t i = 0; i < outl.size(); ++i) {
      if (outl[i] < kEll && count[outl[i]] == 0)
        throw ValueError("einsum: output subscript '" + std::string(1, eq[arrow + 2 + i]) +
                         "' does not appear in the operands of '" + eq + "'");
      for (size_t j = 0; j < i; ++j)
        if (outl[i] == outl[j]) throw ValueError("einsum: output subscript repeated in '" + eq + "'");
    }
  } else {
    // Implicit mode: the broadcast dims, then every letter used once, alphabetically.
    for (int64_t k = nell - 1; k >= 0; --k) outl.push_back(kEll + static_cast<int>(k));
    for (int l = 0; l < kEll; ++l)
      if (count[l] == 1) {
        int uses = 0;
        for (auto& li : ls) uses += static_cast<int>(std::count(li.begin(), li.end(), l));
        if (uses == 1) outl.push_back(l);
      }
  }
  // Every size-1 broadcast label must agree across operands.
  std::map<int, int64_t> size;
  for (size_t i = 0; i < xs.size(); ++i)
    for (size_t k = 0; k < ls[i].size(); ++k) {
      int64_t s = xs[i].shape()[k];
      auto it = size.find(ls[i][k]);
      if (it == size.end() || it->second == 1)
        size[ls[i][k]] = s;
      else if (s != 1 && s != it->second)
        throw ValueError("einsum: operand " + std::to_string(i) + " of shape " + shape_str(xs[i].shape()) +
                         " does not match the other operands' sizes for its subscripts in '" + eq + "'");
    }
  std::vector<bool> in_out(kEll + 64, false);
  for (int l : outl) in_out[l] = true;
  for (size_t i = 0; i < xs.size(); ++i) xs[i] = take_diagonals(xs[i], ls[i]);
  // Left to right: a label survives a step while the output or a later operand needs it.
  Tensor acc = xs[0];
  Labels la = ls[0];
  for (size_t i = 0; i <= xs.size(); ++i) {
    std::vector<bool> keep = in_out;
    for (size_t j = i + 1; j < xs.size(); ++j)
      for (int l : ls[j]) keep[l] = true;
    if (i == 0) {
      // Labels only the first operand has and nobody needs are summed before any product.
      acc = sum_unkept(acc, la, keep);
      continue;
    }
    if (i == xs.size()) break;
    std::vector<bool> kb = keep;
    for (int l : la) kb[l] = true;
    Labels lb = ls[i];
    Tensor b = sum_unkept(xs[i], lb, kb);
    Labels lr;
    acc = contract(acc, la, b, lb, keep, lr);
    la = lr;
  }
  acc = sum_unkept(acc, la, in_out);
  Axes perm;
  Shape bshape;
  for (int l : outl) {
    auto it = std::find(la.begin(), la.end(), l);
    if (it == la.end()) {
      // A broadcast label that only appeared with size 1 somewhere it was summed: size 1.
      acc = unsqueeze(acc, static_cast<int64_t>(la.size()));
      la.push_back(l);
      it = la.end() - 1;
    }
    perm.push_back(static_cast<int64_t>(it - la.begin()));
  }
  acc = permute(acc, perm);
  // Broadcast labels that stayed size 1 in the single-operand path take the common size.
  for (size_t i = 0; i < outl.size(); ++i) bshape.push_back(std::max<int64_t>(acc.shape()[i], size[outl[i]]));
  if (bshape != acc.shape()) acc = expand(acc, bshape);
  return acc;
}

Tensor tensordot(const Tensor& a0, const Tensor& b0, const Axes& dims_a, const Axes& dims_b) {
  if (dims_a.size() != dims_b.size())
    throw ValueError("tensordot: both dims lists must have the same length, got " +
                     std::to_string(dims_a.size()) + " and " + std::to_string(dims_b.size()));
  auto [a, b] = promoted(a0, b0);
  std::vector<bool> ca(a.ndim(), false), cb(b.ndim(), false);
  Axes pa, pb;
  int64_t K = 1;
  std::vector<int64_t> na, nb;
  for (size_t i = 0; i < dims_a.size(); ++i) {
    int64_t x = normalize_axis(dims_a[i], a.ndim(), "tensordot"),
            y = normalize_axis(dims_b[i], b.ndim(), "tensordot");
    if (ca[x] || cb[y]) throw ValueError("tensordot: repeated dim in dims");
    // A size-1 dim broadcasts against the other (torch's documented rule): sum_k a_k b_0 =
    // (sum_k a_k) b_0, so the larger side is summed first (kept as size 1).
    const int64_t sa = a.shape()[x], sb = b.shape()[y];
    if (sa != sb && sb == 1) a = sum(a, {x}, true);
    if (sa != sb && sa == 1) b = sum(b, {y}, true);
    if (a.shape()[x] != b.shape()[y])
      throw ValueError("tensordot: contracted dimensions have different sizes: " + shape_str(a0.shape()) +
                       " dim " + std::to_string(x) + " vs " + shape_str(b0.shape()) + " dim " +
                       std::to_string(y));
    ca[x] = cb[y] = true;
    na.push_back(x), nb.push_back(y);
    K *= a.shape()[x];
  }
  Shape out;
  int64_t M = 1, N = 1;
  for (int64_t i = 0; i < a.ndim(); ++i)
    if (!ca[i]) pa.push_back(i), out.push_back(a.shape()[i]), M *= a.shape()[i];
  pa.insert(pa.end(), na.begin(), na.end());
  pb = nb;
  for (int64_t i = 0; i < b.ndim(); ++i)
    if (!cb[i]) pb.push_back(i), out.push_back(b.shape()[i]), N *= b.shape()[i];
  Tensor r = matmul(reshape(permute(a, pa), {M, K}), reshape(permute(b, pb), {K, N}));
  return reshape(r, out);
}

Tensor tensordot(const Tensor& a, const Tensor& b, int64_t dims) {
  if (dims < 0) throw ValueError("tensordot: expects dims >= 0, got " + std::to_string(dims));
  if (dims > a.ndim() || dims > b.ndim())
    throw ValueError("tensordot: dims=" + std::to_string(dims) + " exceeds the ranks of shapes " +
                     shape_str(a.shape()) + " and " + shape_str(b.shape()));
  Axes da, db;
  for (int64_t i = 0; i < dims; ++i) da.push_back(a.ndim() - dims + i), db.push_back(i);
  return tensordot(a, b, da, db);
}

namespace {
void require_ndim(const Tensor& t, int64_t nd, const char* op, const char* arg) {
  if (t.ndim() != nd)
    throw ValueError(std::string(op) + ": " + arg + " must be " + std::to_string(nd) + "-D, got shape " +
                     shape_str(t.shape()));
}
}  // namespace

Tensor outer(const Tensor& a0, const Tensor& b0) {
  require_ndim(a0, 1, "outer", "input");
  require_ndim(b0, 1, "outer", "vec2");
  auto [a, b] = promoted(a0, b0);
  return mul(unsqueeze(a, 1), unsqueeze(b, 0));
}

Tensor inner(const Tensor& a0, const Tensor& b0) {
  auto [a, b] = promoted(a0, b0);
  if (a.ndim() == 0 || b.ndim() == 0) return mul(a, b);
  if (a.shape().back() != b.shape().back())
    throw ValueError("inner: last dimensions differ: shapes " + shape_str(a.shape()) + " and " +
                     shape_str(b.shape()));
  return tensordot(a, b, {a.ndim() - 1}, {b.ndim() - 1});
}

static void aligned_dot(const Tensor& a, const Tensor& b, const char* op) {
  const int64_t ka = a.shape().back(), kb = b.shape()[b.ndim() == 1 ? 0 : b.ndim() - 2];
  if (ka != kb)
    throw ValueError(std::string(op) + ": shapes " + shape_str(a.shape()) + " and " + shape_str(b.shape()) +
                     " are not aligned (" + std::to_string(ka) + " != " + std::to_string(kb) + ")");
}

Tensor dot(const Tensor& a, const Tensor& b, const char* op) {
  // torch.dot takes 1-D tensors only; beyond that fg.dot is NumPy's dot (what JAX code
  // written against jnp.dot means), so every torch call keeps its meaning.
  if (std::string(op) == "dot" && !(a.ndim() == 1 && b.ndim() == 1)) {
    if (a.ndim() == 0 || b.ndim() == 0) return mul(a, b);
    if (b.ndim() == 1 || (a.ndim() <= 2 && b.ndim() == 2)) {
      aligned_dot(a, b, op);
      return matmul(a, b);
    }
    return tensordot(a, b, Axes{a.ndim() - 1}, Axes{b.ndim() - 2});
  }
  require_ndim(a, 1, op, "input");
  require_ndim(b, 1, op, "other");
  if (a.shape()[0] != b.shape()[0])
    throw ValueError(std::string(op) + ": 1-D tensors have different sizes: " + shape_str(a.shape()) +
                     " and " + shape_str(b.shape()));
  return matmul(a, b);
}

static void aligned(const Tensor& a, const Tensor& b, const char* op) {
  const int64_t ka = a.shape().back(), kb = b.shape()[b.ndim() == 1 ? 0 : b.ndim() - 2];
  if (ka != kb)
    throw ValueError(std::string(op) + ": shapes " + shape_str(a.shape()) + " and " + shape_str(b.shape()) +
                     " cannot be multiplied (" + std::to_string(ka) + " != " + std::to_string(kb) + ")");
}

Tensor mm(const Tensor& a, const Tensor& b) {
  require_ndim(a, 2, "mm", "input");
  require_ndim(b, 2, "mm", "mat2");
  aligned(a, b, "mm");
  return matmul(a, b);
}

Tensor bmm(const Tensor& a, const Tensor& b) {
  require_ndim(a, 3, "bmm", "input");
  require_ndim(b, 3, "bmm", "mat2");
  if (a.shape()[0] != b.shape()[0])
    throw ValueError("bmm: batch sizes differ: shapes " + shape_str(a.shape()) + " and " +
                     shape_str(b.shape()));
  return matmul(a, b);
}

Tensor mv(const Tensor& a, const Tensor& v) {
  require_ndim(a, 2, "mv", "input");
  require_ndim(v, 1, "mv", "vec");
  aligned(a, v, "mv");
  return matmul(a, v);
}

// beta * input + alpha * product; beta == 0 ignores input (NaN/inf in it do not propagate, as torch).
static Tensor scaled_add(const Tensor& input, const Tensor& prod, double beta, double alpha) {
  Tensor p = alpha == 1.0 ? prod : mul_scalar(prod, alpha);
  if (beta == 0.0) {
    // input stays in the graph with a zero gradient (as torch) without letting its NaNs through.
    Tensor never = compare(zeros_like(input), ones_like(input), CmpOp::Eq);
    return add(p, where(never, input, zeros_like(input)));
  }
  Tensor i = beta == 1.0 ? input : mul_scalar(input, beta);
  return add(i, p);
}

Tensor addmm(const Tensor& input, const Tensor& a, const Tensor& b, double beta, double alpha) {
  return scaled_add(input, mm(a, b), beta, alpha);
}
Tensor baddbmm(const Tensor& input, const Tensor& a, const Tensor& b, double beta, double alpha) {
  return scaled_add(input, bmm(a, b), beta, alpha);
}
Tensor addmv(const Tensor& input, const Tensor& a, const Tensor& v, double beta, double alpha) {
  return scaled_add(input, mv(a, v), beta, alpha);
}
Tensor addr(const Tensor& input, const Tensor& a, const Tensor& b, double beta, double alpha) {
  return scaled_add(input, outer(a, b), beta, alpha);
}

Tensor kron(const Tensor& a0, const Tensor& b0) {
  auto [a, b] = promoted(a0, b0);
  const int64_t nd = std::max(a.ndim(), b.ndim());
  Shape sa(nd - a.ndim(), 1), sb(nd - b.ndim(), 1);
  sa.insert(sa.end(), a.shape().begin(), a.shape().end());
  sb.insert(sb.end(), b.shape().begin(), b.shape().end());
  // a[i] b[j] lands at i * size_b + j: interleave the axes, multiply, merge pairs.
  Shape ia, ib, out;
  for (int64_t k = 0; k < nd; ++k) {
    ia.push_back(sa[k]), ia.push_back(1);
    ib.push_back(1), ib.push_back(sb[k]);
    out.push_back(sa[k] * sb[k]);
  }
  return reshape(mul(reshape(a, ia), reshape(b, ib)), out);
}

Tensor cross(const Tensor& a0, const Tensor& b0, std::optional<int64_t> dim, const char* op) {
  auto [a, b] = promoted(a0, b0);
  Shape s;
  try {
    s = broadcast_shapes(a.shape(), b.shape(), op);
  } catch (const ValueError&) {
    throw ValueError(std::string(op) + ": shapes " + shape_str(a0.shape()) + " and " + shape_str(b0.shape()) +
                     " cannot be broadcast together");
  }
  a = expand(a, s);
  b = expand(b, s);
  int64_t d = -1;
  if (dim) {
    d = normalize_axis(*dim, static_cast<int64_t>(s.size()), op);
  } else {
    // torch.cross without dim: the first dimension of size 3 (deprecated in torch, kept for parity).
    for (size_t i = 0; i < s.size() && d < 0; ++i)
      if (s[i] == 3) d = static_cast<int64_t>(i);
    if (d < 0) throw ValueError(std::string(op) + ": no dimension of size 3 in shape " + shape_str(s));
  }
  if (s[d] != 3)
    throw ValueError(std::string(op) + ": dimension " + std::to_string(d) + " of shape " + shape_str(s) +
                     " must have size 3");
  // Cyclic shifts of the 3 components: (x1, x2, x0) and (x2, x0, x1), as two slices joined.
  auto part = [&](const Tensor& x, int64_t start, int64_t stop) {
    std::vector<SliceSpec> spec;
    for (size_t i = 0; i < s.size(); ++i) spec.push_back({0, s[i], 1});
    spec[d] = {start, stop, 1};
    return slice(x, spec);
  };
  auto shift1 = [&](const Tensor& x) { return concat({part(x, 1, 3), part(x, 0, 1)}, d); };
  auto shift2 = [&](const Tensor& x) { return concat({part(x, 2, 3), part(x, 0, 2)}, d); };
  return sub(mul(shift1(a), shift2(b)), mul(shift2(a), shift1(b)));
}
Tensor matrix_power(const Tensor& a, int64_t n) {
  if (a.ndim() < 2 || a.shape()[a.ndim() - 1] != a.shape()[a.ndim() - 2])
    throw ValueError("linalg.matrix_power: expected a batch of square matrices (..., n, n), got shape " +
                     shape_str(a.shape()));
  if (n == 0) {
    const int64_t k = a.shape().back();
    return expand(cast(eye(k, k, DType::Float64), a.dtype()), a.shape());
  }
  Tensor base = n < 0 ? linalg_inv(a) : a;
  uint64_t e = n < 0 ? static_cast<uint64_t>(-(n + 1)) + 1 : static_cast<uint64_t>(n);
  Tensor r;
  while (e) {
    if (e & 1) r = r.defined() ? matmul(r, base) : base;
    e >>= 1;
    if (e) base = matmul(base, base);
  }
  return r;
}

}  // namespace fastgrad
