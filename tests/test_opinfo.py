"""PyTorch's OpInfo corpus against fastgrad (issue 12).

``torch.testing._internal.common_methods_invocations.op_db`` describes ~700 torch
operators, each with sample inputs (``sample_inputs``, ``reference_inputs``). For every
entry whose name resolves in fastgrad (``fg.<name>``, ``fg.nn.functional.<name>``,
``fg.linalg.<name>``, a ``Tensor`` method or operator; RENAMED lists the few spelled
differently) and is not excluded in EXCLUDED, every sample is run through the same checks:

* forward in float64 and float32: fastgrad's outputs equal torch's (values, shapes, dtypes;
  torch.testing.assert_close tolerances for the dtype);
* the method form ``x.<name>(...)`` gives the same result as the function, where torch
  has a method variant;
* non-contiguous inputs (every tensor argument as a strided view) give the same result;
* VJP (float64): ``fg.autograd.grad`` with a random cotangent equals torch.autograd.grad;
* JVP (float64): fastgrad's forward mode agrees with its (torch-checked) VJP through the
  transposition identity <J v, w> = <v, J^T w> for random v, w.

A sample that fails must be listed in SAMPLE_FAILURES with the reason (and a predicate
that selects exactly the failing samples); a listed failure that starts to pass fails the
test too, so the list stays true. ``python tests/test_opinfo.py`` prints the coverage
report (entries mapped, samples run, pass fraction).
"""

from __future__ import annotations

import dataclasses
import re
import sys
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
import torch
from torch.testing._internal.common_methods_invocations import op_db

import fastgrad as fg

TORCH_TO_FG = {
    torch.float32: fg.float32,
    torch.float64: fg.float64,
    torch.int64: fg.int64,
    torch.bool: fg.bool,
}

# torch name -> fastgrad path where the spelling differs.
RENAMED: dict[str, str] = {}

# Entries whose OpInfo `op` is a lambda reordering the torch call: the same lambda over
# fastgrad (argument order as the OpInfo's).
ADAPTED: dict[str, Callable[..., Any]] = {
    "where": lambda x, condition, other, **k: fg.where(condition, x, other, **k),
    "nn.functional.embedding": lambda weight, idx, **k: fg.nn.functional.embedding(idx, weight, **k),
    "einsum": lambda tensors, equation: fg.einsum(equation, tensors),
    "linalg.pinv.singular": lambda a, b: fg.linalg.pinv(a @ b.mT),
    "T": lambda x: x.T,
    "mT": lambda x: x.mT,
    "mH": lambda x: x.mH,
    "H": lambda x: x.H,
    "resize_": None,  # in-place resize: fastgrad has none
}

# Entries that resolve by name but are not compared, each with the reason.
EXCLUDED: dict[tuple[str, str], str] = {
    ("nn.functional.silu", "complex"): "complex dtypes only (fastgrad has no complex numbers)",
    (
        "nn.functional.triplet_margin_with_distance_loss",
        "",
    ): "every sample passes a torch function as distance",
    ("to", ""): "every sample passes a torch memory_format",
    ("nn.functional.batch_norm", "without_cudnn"): "a cuDNN switch: the entry yields no CPU float samples",
}

# Ops whose values are random: only shapes and dtypes are compared.
RANDOM = {
    "randn",
    "randn_like",
    "rand_like",
    "randint",
    "randint_like",
    "rand",
    "nn.functional.dropout",
    "bernoulli",
    "multinomial",
    "normal",
    "uniform",
    "empty",
    "empty_like",
    "new_empty",
    "empty_strided",
    "nn.functional.feature_alpha_dropout",
    "nn.functional.alpha_dropout",
    "nn.functional.dropout2d",
    "nn.functional.dropout3d",
    "nn.functional.dropout1d",
}


# Samples of otherwise deterministic ops that draw random numbers (dropout inside).
RANDOM_WHEN: dict[str, Callable[[Any], bool]] = {
    "nn.functional.scaled_dot_product_attention": lambda s: s.kwargs.get("dropout_p", 0.0) > 0,
    "nn.functional.dropout": lambda s: True,
}


# Decompositions whose factors are unique only up to signs (the "gauge"): forward
# results are compared through absolute values of the factors.
GAUGE = {"linalg.eigh": (1,), "linalg.svd": (0, 2), "svd": (0, 2), "linalg.qr": (0, 1), "qr": (0, 1)}


# SVD factors whose basis vectors beyond k = min(m, n) (full_matrices=True, torch.svd's
# some=False; torch.qr's some=False Q) lie along the columns ("cols": U, torch.svd's V, Q)
# or the rows ("rows": Vh).
NULL_SPACE = {"linalg.svd": {0: "cols", 2: "rows"}, "svd": {0: "cols", 2: "cols"}, "qr": {0: "cols"}}


def _gauge(op: Any, outs: Any, absolute: Callable[[Any], Any]) -> Any:
    idx = GAUGE.get(op.name)
    if idx is None or not isinstance(outs, (tuple, list)):
        return outs
    sides = NULL_SPACE.get(op.name, {})
    res = []
    for i, o in enumerate(outs):
        side = sides.get(i)
        b = None if side is None else (o if side == "cols" else o.mT)
        k = outs[1].shape[-1] if b is not None else 0
        if b is not None and b.shape[-1] > k:
            # The vectors beyond k are any orthonormal basis B of the complement of the first
            # k (every rotation of it is an SVD; Eigen and LAPACK choose different ones). They
            # are compared through the projector B Bᵀ: all such bases share it, and only they
            # give it (B Bᵀ = Q Qᵀ with B as wide as Q forces B = Q W, W orthogonal).
            extra = b[..., k:]
            res.append([absolute(b[..., :k]), extra @ extra.mT])
        else:
            res.append(absolute(o) if i in idx else o)
    return res


@dataclasses.dataclass(frozen=True)
class Known:
    """Reviewed failing samples of one entry: those whose failure message matches `pattern`
    (a regular expression), with the reason they fail."""

    reason: str
    pattern: str


# (op name, variant) -> its reviewed failures. Each entry must still match a failing
# sample (a fixed op makes its entry stale, and the test says so).
SAMPLE_FAILURES: dict[tuple[str, str], list[Known]] = {
    ("linalg.pinv", "singular"): [
        Known(
            "fg.linalg.pinv is a composite through linalg.svd, whose derivative divides by "
            "differences of singular values; these samples have repeated ones (exact 1, 1 from "
            "orthonormal factors, and zeros), so the SVD rule gives NaN or cancels badly, where torch "
            "differentiates pinv with its closed-form rule (pinv_backward)",
            r"VJP input \d: Tensor-likes are not close|JVP: <Jv, w> = nan",
        ),
    ],
    ("long", ""): [
        Known(
            "float -> int64 of NaN, inf and out-of-range values saturates (documented), where torch gives "
            "INT64_MIN",
            r"Tensor-likes are not equal",
        ),
    ],
    ("nn.functional.silu", ""): [
        Known(
            "silu(-inf) is the limit -0 in fastgrad; torch evaluates -inf * sigmoid(-inf) = NaN",
            r"Tensor-likes are not close|max error nan",
        ),
    ],
}


class Unsupported(Exception):
    """A sample uses something fastgrad has no counterpart for (e.g. an int32 tensor)."""


# ------------------------------------------------------------------ resolving names
def resolve(op: Any) -> Callable[..., Any] | None:
    """The fastgrad callable for an OpInfo entry, or None when fastgrad has none."""
    for k in (f"{op.name}.{op.variant_test_name}", op.name):
        if k in ADAPTED:
            fn = ADAPTED[k]
            return fn if fn is None or _adapter_resolves(k) else None
    name = RENAMED.get(op.name, op.name)
    if name.startswith("__"):
        return getattr(fg.Tensor, name, None)
    obj: Any = fg
    for part in name.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            break
    if not callable(obj) and "." not in name and op.method_variant is not None:
        meth = getattr(fg.Tensor, name, None)
        if callable(meth):
            return lambda x, *a, **k: getattr(x, name)(*a, **k)
    return obj if callable(obj) else None


def _adapter_resolves(k: str) -> bool:
    """An adapter counts only once the fastgrad names it uses exist."""
    needs = {
        "einsum": "einsum",
        "linalg.pinv.singular": "linalg.pinv",
        "nn.functional.embedding": "nn.functional.embedding",
    }.get(k)
    obj: Any = fg
    for part in (needs or "").split(".") if needs else []:
        obj = getattr(obj, part, None)
    return obj is not None


def key(op: Any) -> tuple[str, str]:
    return (op.name, op.variant_test_name)


MAPPED = [op for op in op_db if resolve(op) is not None and key(op) not in EXCLUDED]


# ------------------------------------------------------------------ conversion
def _strided(arr: np.ndarray) -> fg.Tensor:
    """A non-contiguous fastgrad view holding arr's values (every other element of a buffer
    twice as long in the last axis)."""
    if arr.ndim == 0 or arr.size == 0:
        return fg.tensor(arr)
    big = np.zeros(arr.shape[:-1] + (2 * arr.shape[-1],), arr.dtype)
    big[..., ::2] = arr
    t = fg.tensor(big)[..., ::2]
    assert arr.shape[-1] == 1 or not t.is_contiguous()
    return t


class Converter:
    """Maps a torch sample's arguments to fastgrad's, keeping tensor identity (a tensor
    passed twice is one fastgrad tensor) and recording which are differentiable leaves."""

    def __init__(self, noncontiguous: bool = False, grad: bool = False) -> None:
        self.noncontiguous, self.grad = noncontiguous, grad
        self.memo: dict[int, fg.Tensor] = {}
        self.leaves: list[tuple[torch.Tensor, fg.Tensor]] = []

    def __call__(self, obj: Any) -> Any:
        if isinstance(obj, torch.Tensor):
            if id(obj) in self.memo:
                return self.memo[id(obj)]
            if obj.dtype not in TORCH_TO_FG or obj.layout != torch.strided:
                raise Unsupported(f"tensor of dtype {obj.dtype}, layout {obj.layout}")
            arr = obj.detach().cpu().numpy().copy()
            with fg.no_grad():
                t = _strided(arr) if self.noncontiguous else fg.tensor(arr)
            if self.grad and obj.requires_grad and obj.dtype.is_floating_point:
                t = t.detach()
                t.requires_grad_()
                self.leaves.append((obj, t))
            self.memo[id(obj)] = t
            return t
        if isinstance(obj, complex):
            raise Unsupported("complex Python scalar")
        if callable(obj) and (getattr(obj, "__module__", None) or "").startswith("torch"):
            raise Unsupported("a torch function as an argument")
        if isinstance(obj, torch.dtype):
            if obj not in TORCH_TO_FG:
                raise Unsupported(f"dtype {obj}")
            return TORCH_TO_FG[obj]
        if isinstance(obj, torch.Size):
            return tuple(obj)
        if isinstance(obj, torch.device):
            return "cpu"
        if isinstance(obj, (torch.memory_format, torch.layout, torch.Generator)):
            raise Unsupported(f"argument {obj!r}")
        if isinstance(obj, tuple):
            return tuple(self(v) for v in obj)
        if isinstance(obj, list):
            return [self(v) for v in obj]
        if isinstance(obj, dict):
            return {k: self(v) for k, v in obj.items()}
        return obj


def _torch_outputs(out: Any) -> list[Any]:
    if isinstance(out, (tuple, list)):
        return [o for v in out for o in _torch_outputs(v)]
    return [out]


def _fg_outputs(out: Any) -> list[Any]:
    if isinstance(out, (tuple, list)):
        return [o for v in out for o in _fg_outputs(v)]
    return [out]


def _np(x: Any) -> Any:
    if isinstance(x, fg.Tensor):
        return np.array(x.detach())
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return x


def compare(got: Any, want: Any, values: bool = True, what: str = "output", exact: Any = None) -> None:
    """fastgrad output(s) `got` against torch output(s) `want`. In float32, `exact` (torch's
    float64 result on the same inputs) decides when the two float32 results differ by more
    than the tolerance: fastgrad passes if it is no further from it than torch is (a
    different summation order or FMA is not an error; a wrong value is)."""
    gs, ws = _fg_outputs(got), _torch_outputs(want)
    es = _torch_outputs(exact) if exact is not None else [None] * len(ws)
    assert len(gs) == len(ws), f"{what}: {len(gs)} outputs, torch gives {len(ws)}"
    for i, (g, w, e) in enumerate(zip(gs, ws, es)):
        if not isinstance(w, torch.Tensor):
            gv = g.item() if isinstance(g, fg.Tensor) else g
            if values:
                assert gv == pytest.approx(w, nan_ok=True), f"{what} {i}: {gv!r} != {w!r}"
            continue
        assert isinstance(g, fg.Tensor), f"{what} {i}: got {type(g).__name__}, torch gives a tensor"
        assert tuple(g.shape) == tuple(w.shape), f"{what} {i}: shape {tuple(g.shape)} != {tuple(w.shape)}"
        want_dt = TORCH_TO_FG.get(w.dtype)
        if want_dt is None:
            raise Unsupported(f"torch returns {w.dtype}")
        assert g.dtype == want_dt, f"{what} {i}: dtype {g.dtype} != torch's {w.dtype}"
        if not values:
            continue
        gt = torch.from_numpy(np.array(g.detach()))
        try:
            torch.testing.assert_close(gt, w.detach(), equal_nan=True, msg=lambda m: f"{what} {i}: {m}")
        except AssertionError:
            if not (isinstance(e, torch.Tensor) and w.dtype == torch.float32 and e.dtype == torch.float64):
                raise
            ours, theirs = (gt.double() - e).abs(), (w.double() - e).abs()
            nan_same = gt.isnan() == w.isnan()
            worse = ~(ours <= 2 * theirs + 1e-5 + 1.3e-6 * e.abs()) & ~(gt.isnan() & w.isnan())
            assert nan_same.all() and not worse.any(), (
                f"{what} {i}: float32 result is further from the float64 value than torch's "
                f"(max error {ours[worse].max().item() if worse.any() else 0:.3g} vs torch "
                f"{theirs.max().item():.3g})"
            )


def _upcast(obj: Any) -> Any:
    if isinstance(obj, torch.Tensor) and obj.dtype == torch.float32:
        return obj.double()
    if isinstance(obj, (list, tuple)):
        return type(obj)(_upcast(v) for v in obj)
    if isinstance(obj, dict):
        return {k: _upcast(v) for k, v in obj.items()}
    return obj


# ------------------------------------------------------------------ the checks
def samples(op: Any, dtype: torch.dtype) -> Iterator[tuple[Any, bool]]:
    """(sample, check gradients): the sample inputs with requires_grad in float64 where the
    op is differentiable, then the reference inputs (forward only, as torch uses them)."""
    grad = dtype == torch.float64 and op.supports_autograd
    for s in op.sample_inputs("cpu", dtype, requires_grad=grad):
        yield s, grad
    if op.reference_inputs_func is not None:
        for s in op.reference_inputs("cpu", dtype):
            yield s, False


def call(fn: Callable[..., Any], conv: Converter, s: Any) -> Any:
    if s.kwargs.get("out_int32"):
        raise Unsupported("out_int32=True (fastgrad has no int32)")
    if not isinstance(s.input, (torch.Tensor, list, tuple)) and getattr(fn, "__name__", "").startswith("__"):
        raise Unsupported("a Tensor operator called with a Python number as self")
    args = conv(s.input), conv(tuple(s.args)), conv(dict(s.kwargs))
    x, a, k = args
    if isinstance(s.input, (list, tuple)):
        return fn(x, *a, **k)
    return fn(x, *a, **k)


def check_sample(op: Any, fn: Callable[..., Any], s: Any, dtype: torch.dtype, grad: bool) -> None:
    """All checks of one sample; raises AssertionError (or the op's exception) on a miss."""
    random = op.name in RANDOM or RANDOM_WHEN.get(op.name, lambda _: False)(s)
    with torch.no_grad():
        want = op(s.input, *s.args, **s.kwargs)
    with fg.no_grad():
        got = call(fn, Converter(), s)
    exact = None
    if dtype == torch.float32 and not random:
        with torch.no_grad():
            try:
                exact = op(_upcast(s.input), *_upcast(tuple(s.args)), **_upcast(dict(s.kwargs)))
            except Exception:  # noqa: BLE001  (no float64 reference: compare to float32 only)
                exact = None
    got, want = _gauge(op, got, fg.abs), _gauge(op, want, torch.abs)
    if exact is not None:
        exact = _gauge(op, exact, torch.abs)
    compare(got, want, values=not random, exact=exact)
    if random:
        return
    if dtype == torch.float64:
        with fg.no_grad():
            compare(
                _gauge(op, call(fn, Converter(noncontiguous=True), s), fg.abs), want, what="non-contiguous"
            )
        mname = op.name
        if op.method_variant is not None and isinstance(s.input, torch.Tensor) and "." not in mname:
            meth = getattr(fg.Tensor, mname, None)
            if meth is not None:
                with fg.no_grad():
                    conv = Converter()
                    x = conv(s.input)
                    got_m = getattr(x, mname)(*conv(tuple(s.args)), **conv(dict(s.kwargs)))
                    compare(_gauge(op, got_m, fg.abs), want, what="method")
        if grad:
            check_grads(op, fn, s)


def _wrapped(op: Any, fn: Callable[..., Any]) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """torch's op and fastgrad's fn under the OpInfo's gradcheck wrapper (e.g. a symmetric
    input for eigh/cholesky: finite differences and tangents leave the symmetric matrices)."""
    name = getattr(op.gradcheck_wrapper, "__name__", "")
    if name == "gradcheck_wrapper_hermitian_input":
        return (lambda x, *a, **k: op(x + x.mH, *a, **k)), (lambda x, *a, **k: fn(x + x.mT, *a, **k))
    if name == "gradcheck_wrapper_ctc_loss":
        return (lambda x, *a, **k: op(x.log_softmax(dim=2), *a, **k)), (
            lambda x, *a, **k: fn(x.log_softmax(dim=2), *a, **k)
        )
    return op, fn


def check_grads(op: Any, fn: Callable[..., Any], s: Any) -> None:
    top, fn = _wrapped(op, fn)
    post = s.output_process_fn_grad
    out = post(top(s.input, *s.args, **s.kwargs))
    touts = [o for o in _torch_outputs(out) if isinstance(o, torch.Tensor) and o.requires_grad]
    if not touts:
        return
    conv = Converter(grad=True)
    got = post(call(fn, conv, s))
    fouts = [o for o in _fg_outputs(got) if isinstance(o, fg.Tensor) and o.dtype.is_floating_point]
    tall = [o for o in _torch_outputs(out) if isinstance(o, torch.Tensor) and o.dtype.is_floating_point]
    assert len(fouts) == len(tall), "differentiable outputs differ in number"
    rng = np.random.default_rng(0)
    ws = [rng.standard_normal(tuple(o.shape)) for o in tall]
    pairs = [(t, f, w) for t, f, w in zip(tall, fouts, ws) if t.requires_grad]
    tleaves = [t for t, _ in conv.leaves]
    fleaves = [f for _, f in conv.leaves]
    if not tleaves:
        return
    tg = torch.autograd.grad(
        [t for t, _, _ in pairs], tleaves, [torch.from_numpy(w) for _, _, w in pairs], allow_unused=True
    )
    if not any(f.requires_grad for _, f, _ in pairs):
        assert all(g is None or not g.any() for g in tg), "fastgrad output does not require grad"
        return
    live = [(f, w) for _, f, w in pairs if f.requires_grad]
    fgs = fg.autograd.grad([f for f, _ in live], fleaves, [fg.tensor(w) for _, w in live], allow_unused=True)
    for i, (a, b, leaf) in enumerate(zip(fgs, tg, fleaves)):
        a_np = np.zeros(tuple(leaf.shape)) if a is None else np.array(a)
        b_t = torch.zeros(tuple(leaf.shape), dtype=torch.float64) if b is None else b
        torch.testing.assert_close(
            torch.from_numpy(a_np), b_t, equal_nan=True, msg=lambda m, i=i: f"VJP input {i}: {m}"
        )
    check_jvp(fn, s, conv, [w for t, w in zip(tall, ws)])


def check_jvp(fn: Callable[..., Any], s: Any, conv: Converter, ws: list[np.ndarray]) -> None:
    """<J v, w> = <v, J^T w>: forward mode against the VJP just checked against torch."""
    leaves = [f for _, f in conv.leaves]
    rng = np.random.default_rng(1)
    vs = [rng.standard_normal(tuple(x.shape)) for x in leaves]

    def f(*xs: fg.Tensor) -> list[fg.Tensor]:
        c = Converter()
        c.memo = dict(conv.memo)
        for (torch_t, _), x in zip(conv.leaves, xs):
            c.memo[id(torch_t)] = x
        outs = _fg_outputs(s.output_process_fn_grad(call(fn, c, s)))
        return [o for o in outs if isinstance(o, fg.Tensor) and o.dtype.is_floating_point]

    primals = tuple(x.detach() for x in leaves)
    _, tangent_out = fg.jvp(f, primals, tuple(fg.tensor(v) for v in vs))
    _, pullback = fg.vjp(f, *primals)
    cot = pullback([fg.tensor(w) for w in ws])
    lhs = sum(float(np.sum(np.array(t) * w)) for t, w in zip(tangent_out, ws) if t is not None)
    rhs = sum(float(np.sum(np.array(g) * v)) for g, v in zip(cot, vs) if g is not None)
    if np.isnan(lhs) and np.isnan(rhs):  # a NaN derivative (e.g. pow of a negative base) both ways
        return
    assert lhs == pytest.approx(rhs, rel=1e-7, abs=1e-9), f"JVP: <Jv, w> = {lhs} but <v, J^T w> = {rhs}"


def run_entry(op: Any) -> tuple[int, list[str], list[tuple[Any, torch.dtype, str]]]:
    """Runs every sample of one entry; returns (samples run, reasons of the samples that do
    not apply to fastgrad (an int32 input, a memory_format argument), failures)."""
    fn = resolve(op)
    assert fn is not None
    run, na, failures = 0, [], []
    for dtype in (torch.float64, torch.float32):
        if not op.supports_dtype(dtype, "cpu"):
            continue
        for s, grad in samples(op, dtype):
            try:
                check_sample(op, fn, s, dtype, grad)
            except Unsupported as e:
                na.append(str(e))
                continue
            except Exception as e:  # noqa: BLE001  (every miss is recorded with its message)
                failures.append((s, dtype, f"{type(e).__name__}: {str(e).splitlines()[0][:300]}"))
            run += 1
    return run, na, failures


@pytest.mark.parametrize("op", MAPPED, ids=lambda op: ".".join(filter(None, key(op))))
def test_opinfo(op: Any) -> None:
    run, na, failures = run_entry(op)
    floats = any(op.supports_dtype(d, "cpu") for d in (torch.float32, torch.float64))
    # integer-only entries (bincount, tril_indices, one_hot, ...) have no float samples to run
    assert run > 0 or na or not floats, "no samples ran"
    known = SAMPLE_FAILURES.get(key(op), [])
    unexplained = [(s, d, m) for s, d, m in failures if not any(re.search(k.pattern, m) for k in known)]
    assert not unexplained, f"{len(unexplained)}/{run} samples fail, first: {unexplained[0][2]}"
    for k in known:  # a reviewed failure that passes now is stale
        assert any(re.search(k.pattern, m) for _, _, m in failures), f"stale known failure: {k.reason}"


def test_coverage() -> None:
    """The corpus is large and fastgrad maps a fixed list of its entries."""
    assert len(op_db) > 600
    assert len(MAPPED) >= 430  # entries that run at least one sample (issue 12 asks 350)


if __name__ == "__main__":
    import collections

    total_run = total_fail = total_known = 0
    not_applicable: collections.Counter[str] = collections.Counter()
    verbose = "-v" in sys.argv
    only = [a for a in sys.argv[1:] if not a.startswith("-")]
    for op in MAPPED:
        if only and not any(".".join(filter(None, key(op))).startswith(o) for o in only):
            continue
        n, na, fails = run_entry(op)
        not_applicable.update(na)
        total_run += n
        total_fail += len(fails)
        known = SAMPLE_FAILURES.get(key(op), [])
        explained = sum(any(re.search(k.pattern, m) for k in known) for _, _, m in fails)
        total_known += explained
        if fails:
            name = ".".join(filter(None, key(op)))
            print(f"{name}: {len(fails)}/{n} fail ({explained} reviewed); first: {fails[0][2]}")
            if verbose:
                for _, d, m in fails[1:6]:
                    print(f"    [{d}] {m}")
    print(f"op_db entries: {len(op_db)}; mapped: {len(MAPPED)}; excluded: {len(EXCLUDED)}")
    print(f"not applicable (skipped, with reason): {sum(not_applicable.values())}")
    for reason, count in not_applicable.most_common():
        print(f"    {count:6d}  {reason}")
    print(
        f"samples: {total_run}; pass: {total_run - total_fail} ({100 * (1 - total_fail / max(total_run, 1)):.2f}%)"
    )
