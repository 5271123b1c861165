"""Property-based fuzzing of every primitive and public op (issue 7, item 1).

What is checked, for random shapes (0-size axes and size-1 broadcast axes included),
float32 and float64, and leaves that are contiguous, transposed views or strided
slices at a nonzero offset:

* forward values agree with a NumPy float64 reference on finite inputs
  (tolerances per dtype, scaled by the magnitude of the result);
* backward: the gradient of <w, f(x)> for a random cotangent w has the leaves'
  shapes and agrees with central differences of the NumPy reference (away from
  kinks such as relu at 0 or ties of max);
* values with NaN, ±inf, huge and tiny (subnormal) entries never crash, keep the
  output shape, and classify like the reference (NaN where NumPy gives NaN, the
  same infinities, finite where the reference is finite);
* invalid input (shapes that do not broadcast, bad axes, impossible reshapes,
  misaligned matmuls, ...) raises ValueError/IndexError/TypeError exactly when
  NumPy refuses it;
* a child process calls every public ``fg`` function with random junk arguments;
  it must exit normally (a segfault or abort kills the child, not pytest).

Profiles (see ``tests/fuzz_profiles.py``):

    python -m pytest tests/test_fuzz.py                                # "ci": ~1-2 min
    FASTGRAD_FUZZ_PROFILE=long python -m pytest tests/test_fuzz.py     # >= 10,000 cases

The number of cases tried is printed in the pytest terminal summary
("fastgrad fuzz [ci]: N cases ...") and ``test_zz_case_count`` asserts the floor
for the profile when the whole module ran.
"""

from __future__ import annotations

import dataclasses
import math
import os
import subprocess
import sys
import textwrap
from typing import Any, Callable, Optional

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import fastgrad as fg
from fuzz_profiles import BASE, COUNTER, EXAMPLES, MIN_TOTAL, MONKEY_CALLS

C = fg._C
ERRORS = (ValueError, TypeError, IndexError, RuntimeError)
NP_DT = {"float32": np.float32, "float64": np.float64}
FG_DT = {"float32": fg.float32, "float64": fg.float64}


# ------------------------------------------------------------------ summary plugin
class _Summary:
    """Registered at runtime so the count shows without touching tests/conftest.py."""

    def pytest_terminal_summary(self, terminalreporter):
        if COUNTER.total:
            terminalreporter.write_line(COUNTER.summary())


@pytest.fixture(scope="module", autouse=True)
def _register_summary(request):
    pm = request.config.pluginmanager
    if not pm.has_plugin("fastgrad-fuzz-summary"):
        pm.register(_Summary(), "fastgrad-fuzz-summary")
    yield


# ------------------------------------------------------------------ op table
@dataclasses.dataclass
class Op:
    name: str
    fg_fn: Callable[..., Any]  # (*tensors, **params) -> Tensor | list
    ref: Callable[..., Any]  # (*float64 arrays, **params) -> array | list
    kind: str  # unary | binary | reduce | softmax | matmul | custom
    domain: tuple = (-3.0, 3.0)  # value range for finite draws (per input if list)
    prims: tuple = ()  # registry primitives this op exercises
    kinks: Optional[Callable[..., bool]] = None  # True when FD is not meaningful at the point
    grad: bool = True  # differentiable
    tol: float = 1.0  # tolerance multiplier
    exact_specials: bool = True  # NaN/inf classes must match NumPy's
    params: Optional[Callable[[Any], dict]] = None  # hypothesis data -> extra kwargs


def near(vals, points, gap=1e-3):
    return any(
        np.any(np.abs(v[..., None] - np.asarray(points)) < gap * (1 + np.abs(v[..., None])))
        for v in vals
        if v.size
    )


def ties(vals, gap=1e-3):
    for v in vals:
        f = np.sort(v.ravel())
        if f.size > 1 and np.any(np.diff(f) < gap * (1 + np.abs(f[1:]))):
            return True
    return False


def _erf(x):
    return np.vectorize(math.erf, otypes=[np.float64])(x) if np.size(x) else np.asarray(x, np.float64)


def _gelu(x, approx=False):
    if approx:
        return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))
    return 0.5 * x * (1 + _erf(x / math.sqrt(2)))


def _softplus(x, beta=1.0):
    return np.logaddexp(0.0, beta * x) / beta


def _sigmoid(x):
    with np.errstate(over="ignore"):
        return 0.5 * (1 + np.tanh(0.5 * x))


def _lse(x, axis=None, keepdims=False):
    # over an empty axis: log(0) = -inf, as torch/JAX (issue 10)
    axes = range(x.ndim) if axis is None else np.atleast_1d(axis)
    if any(x.shape[a] == 0 for a in axes):
        with np.errstate(divide="ignore"):
            return np.log(np.sum(np.exp(x), axis=axis, keepdims=keepdims))
    m = np.max(x, axis=axis, keepdims=True) if x.size else np.zeros([1] * x.ndim)
    m = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore"):
        r = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return r if keepdims else np.squeeze(r, axis=axis if axis is not None else tuple(range(x.ndim)))


def _softmax(x, axis=-1):
    m = np.max(x, axis=axis, keepdims=True) if x.size else 0.0
    e = np.exp(x - m)
    return e / np.sum(e, axis=axis, keepdims=True)


def _axis_param(data, nd, allow_none=True, allow_tuple=True):
    if nd == 0:
        return None
    choices = [st.integers(-nd, nd - 1)]
    if allow_none:
        choices.append(st.none())
    if allow_tuple and nd >= 2:
        choices.append(st.lists(st.integers(0, nd - 1), min_size=1, max_size=nd, unique=True).map(tuple))
    return data.draw(st.one_of(*choices), label="axis")


def _unary(name, fg_fn, ref, domain=(-3.0, 3.0), prims=None, **kw):
    return Op(name, fg_fn, ref, "unary", domain, prims or (name,), **kw)


def _binary(name, fg_fn, ref, domain=(-3.0, 3.0), prims=None, **kw):
    return Op(name, fg_fn, ref, "binary", domain, prims or (name,), **kw)


def _red(name, fg_fn, ref, prims, **kw):
    return Op(name, fg_fn, ref, "reduce", (-3.0, 3.0), prims, **kw)


def _np_var(x, axis=None, keepdims=False, correction=1.0):
    n = x.size if axis is None else int(np.prod([x.shape[a] for a in np.atleast_1d(axis)]))
    m = np.mean(x, axis=axis, keepdims=True)
    s = np.sum((x - m) ** 2, axis=axis, keepdims=keepdims)
    with np.errstate(divide="ignore", invalid="ignore"):
        return s / max(n - correction, 0)  # NumPy's ddof rule: 0/0 = NaN when n <= correction


def _corr(data):
    return {"correction": data.draw(st.sampled_from([0.0, 1.0]), label="correction")}


def _torch_ref(fn, x):
    """A float64 reference from torch where NumPy has no such function (torch is a test oracle)."""
    return fn(torch.from_numpy(np.asarray(x, np.float64))).numpy()


def _near_multiple(a, b):
    """a/b within reach of an integer: floor/trunc/fmod jump there."""
    a, b = np.broadcast_arrays(a, b)
    q = a / b
    return bool(a.size) and bool(np.any(np.abs(q - np.round(q)) < 1e-2))


POS = (0.2, 4.0)
OPS: list[Op] = [
    _unary("neg", lambda x: -x, lambda x: -x),
    _unary("exp", fg.exp, np.exp, (-6.0, 6.0)),
    _unary("log", fg.log, np.log, POS),
    _unary("log1p", fg.log1p, np.log1p, (-0.7, 4.0)),
    _unary("sqrt", fg.sqrt, np.sqrt, POS),
    _unary("abs", fg.abs, np.abs, kinks=lambda x: near([x], [0.0])),
    _unary("sin", fg.sin, np.sin, (-6.0, 6.0)),
    _unary("cos", fg.cos, np.cos, (-6.0, 6.0)),
    _unary("tanh", fg.tanh, np.tanh, (-5.0, 5.0), prims=("tanh", "tanh_backward")),
    _unary("sigmoid", fg.sigmoid, _sigmoid, (-8.0, 8.0), prims=("sigmoid", "sigmoid_backward")),
    _unary("relu", fg.relu, lambda x: np.maximum(x, 0.0), kinks=lambda x: near([x], [0.0])),
    _unary("erf", fg.erf, _erf),
    _unary(
        "silu",
        fg.silu,
        lambda x: np.where(x == -np.inf, 0.0, x * _sigmoid(x)),
        (-6.0, 6.0),
        prims=("silu", "silu_backward"),
    ),
    _unary(
        "gelu",
        fg.gelu,
        _gelu,
        (-5.0, 5.0),
        prims=("gelu", "gelu_deriv", "gelu_backward"),
        exact_specials=False,
    ),
    _unary(
        "gelu_tanh",
        lambda x: fg.gelu(x, approximate="tanh"),
        lambda x: _gelu(x, True),
        (-5.0, 5.0),
        prims=("gelu", "gelu_deriv", "gelu_backward"),
        exact_specials=False,
    ),
    _unary(
        "softplus",
        lambda x, beta: fg.softplus(x, beta=beta),
        _softplus,
        (-8.0, 8.0),
        params=lambda d: {"beta": d.draw(st.sampled_from([0.5, 1.0, 3.0]), label="beta")},
        prims=("softplus", "softplus_backward"),
    ),
    _unary(
        "clip",
        lambda x, lo, hi: fg.clip(x, lo, hi),
        lambda x, lo, hi: np.clip(x, lo, hi),
        kinks=lambda x, lo, hi: near([x], [v for v in (lo, hi) if v is not None]),
        params=lambda d: {
            # PyTorch refuses clip(x, None, None): at least one bound
            **d.draw(
                st.sampled_from(
                    [
                        {"lo": -1.0, "hi": None},
                        {"lo": None, "hi": 1.0},
                        {"lo": 0.5, "hi": 2.0},
                        {"lo": -1.0, "hi": 1.0},
                    ]
                ),
                label="bounds",
            ),
        },
    ),
    _unary("add_scalar", lambda x: x + 1.5, lambda x: x + 1.5),
    _unary("mul_scalar", lambda x: x * -2.5, lambda x: x * -2.5),
    _unary("rsub_scalar", lambda x: 2.0 - x, lambda x: 2.0 - x),
    _unary("rdiv_scalar", lambda x: 2.0 / x, lambda x: 2.0 / x, POS),
    _unary(
        "pow_scalar",
        lambda x, e: x**e,
        lambda x, e: x**e,
        POS,
        exact_specials=False,  # C99 pow(-inf, .5)
        params=lambda d: {"e": d.draw(st.sampled_from([2.0, 0.5, -1.5, 3.0]), label="e")},
    ),
    _unary("cast", lambda x: x.astype(fg.float64).astype(x.dtype), lambda x: x, prims=("cast",)),
    _unary("clone", lambda x: x.clone(), lambda x: x),
    _unary("sign", fg.sign, np.sign, grad=False, prims=()),
    # issue 12's elementwise math (references: NumPy, or torch where NumPy has none)
    _unary("expm1", fg.expm1, np.expm1, (-6.0, 6.0)),
    _unary("exp2", fg.exp2, np.exp2, (-6.0, 6.0)),
    _unary("log2", fg.log2, np.log2, POS),
    _unary("log10", fg.log10, np.log10, POS),
    _unary("rsqrt", fg.rsqrt, lambda x: 1.0 / np.sqrt(x), POS),
    _unary("tan", fg.tan, np.tan, (-1.4, 1.4)),
    _unary("sinh", fg.sinh, np.sinh, (-5.0, 5.0)),
    _unary("cosh", fg.cosh, np.cosh, (-5.0, 5.0)),
    _unary("asinh", fg.asinh, np.arcsinh),
    _unary("acosh", fg.acosh, np.arccosh, (1.05, 4.0)),
    _unary("atanh", fg.atanh, np.arctanh, (-0.95, 0.95)),
    _unary("asin", fg.asin, np.arcsin, (-0.95, 0.95)),
    _unary("acos", fg.acos, np.arccos, (-0.95, 0.95)),
    _unary("atan", fg.atan, np.arctan),
    # torch's formula sin(pi x)/(pi x) in the tensor's precision: pi x overflows float32 to inf
    # (NaN) where NumPy computes in float64
    _unary("sinc", fg.sinc, np.sinc, exact_specials=False),
    _unary("erfc", fg.erfc, lambda x: _torch_ref(torch.special.erfc, x)),
    _unary("erfinv", fg.erfinv, lambda x: _torch_ref(torch.special.erfinv, x), (-0.95, 0.95)),
    _unary("floor", fg.floor, np.floor, kinks=lambda x: near([x - np.round(x)], [0.0], 1e-2)),
    _unary("ceil", fg.ceil, np.ceil, kinks=lambda x: near([x - np.round(x)], [0.0], 1e-2)),
    _unary("trunc", fg.trunc, np.trunc, kinks=lambda x: near([x - np.round(x)], [0.0], 1e-2)),
    _unary("round", fg.round, np.round, kinks=lambda x: near([x - np.floor(x)], [0.5], 1e-2)),
    _unary(
        "elu",
        fg.nn.functional.elu,
        lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0.0))),
        kinks=lambda x: near([x], [0.0]),
    ),
    _unary(
        "hardtanh",
        fg.nn.functional.hardtanh,
        lambda x: np.clip(x, -1.0, 1.0),
        kinks=lambda x: near([x], [-1.0, 1.0]),
    ),
    _binary("add", fg.add, np.add),
    _binary("sub", fg.sub, np.subtract),
    _binary("mul", fg.mul, np.multiply),
    _binary("div", fg.div, np.divide, [(-3.0, 3.0), POS]),
    _binary("pow", fg.pow, np.power, [POS, (-2.0, 2.0)], exact_specials=False),
    _binary(
        "maximum", fg.maximum, np.maximum, kinks=lambda a, b: ties([np.concatenate([a.ravel(), b.ravel()])])
    ),
    _binary(
        "minimum", fg.minimum, np.minimum, kinks=lambda a, b: ties([np.concatenate([a.ravel(), b.ravel()])])
    ),
    _binary("atan2", fg.atan2, np.arctan2, [(0.2, 3.0), (-3.0, 3.0)]),
    _binary("hypot", fg.hypot, np.hypot, [(0.2, 3.0), (0.2, 3.0)]),
    _binary("copysign", fg.copysign, np.copysign, kinks=lambda a, b: near([a, b], [0.0])),
    _binary("fmod", fg.fmod, np.fmod, [(-3.0, 3.0), (0.5, 2.0)], kinks=lambda a, b: _near_multiple(a, b)),
    _binary(
        "remainder",
        fg.remainder,
        np.remainder,
        [(-3.0, 3.0), (0.5, 2.0)],
        kinks=lambda a, b: _near_multiple(a, b),
    ),
    _binary(
        "div_floor",
        lambda a, b: fg.div(a, b, rounding_mode="floor"),
        np.floor_divide,
        [(-3.0, 3.0), (0.5, 2.0)],
        kinks=lambda a, b: _near_multiple(a, b),
    ),
    _binary(
        "div_trunc",
        lambda a, b: fg.div(a, b, rounding_mode="trunc"),
        lambda a, b: np.trunc(a / b),
        [(-3.0, 3.0), (0.5, 2.0)],
        kinks=lambda a, b: _near_multiple(a, b),
    ),
    _red("sum", fg.sum, np.sum, ("sum",)),
    _red("mean", fg.mean, np.mean, ("sum", "mul_scalar")),
    _red("prod", fg.prod, np.prod, ("prod",)),
    _red("amax", fg.max, np.max, ("amax",), kinks=lambda x: ties([x])),
    _red("amin", fg.min, np.min, ("amin",), kinks=lambda x: ties([x])),
    _red("logsumexp", fg.logsumexp, _lse, ("logsumexp",)),
    _red("var", fg.var, _np_var, ("sum",), params=_corr),
    _red(
        "std",
        fg.std,
        lambda x, **k: np.sqrt(_np_var(x, **k)),
        ("sum", "sqrt"),
        params=_corr,
        kinks=lambda x: x.size < 2 or ties([x], 1e-2),
    ),
    _red(
        "vector_norm",
        lambda x, axis=None, keepdims=False: fg.linalg.vector_norm(x, 2, dim=axis, keepdim=keepdims),
        lambda x, axis=None, keepdims=False: np.sqrt(np.sum(x * x, axis=axis, keepdims=keepdims)),
        ("linalg_vector_norm",),
        kinks=lambda x: near([x], [0.0], 1e-2),
    ),
    _red(
        "vector_norm_inf",
        lambda x, axis=None, keepdims=False: fg.linalg.vector_norm(x, math.inf, dim=axis, keepdim=keepdims),
        lambda x, axis=None, keepdims=False: np.max(np.abs(x), axis=axis, keepdims=keepdims),
        ("linalg_vector_norm",),
        kinks=lambda x: ties([np.abs(x)]) or near([x], [0.0], 1e-2),
    ),
    _red("argmax", fg.argmax, np.argmax, (), grad=False, kinks=lambda x: ties([x])),
    _red("argmin", fg.argmin, np.argmin, (), grad=False, kinks=lambda x: ties([x])),
    Op("softmax", fg.softmax, _softmax, "softmax", (-5.0, 5.0), ("softmax",)),
    Op(
        "log_softmax",
        fg.log_softmax,
        lambda x, axis: np.log(_softmax(x, axis)),
        "softmax",
        (-5.0, 5.0),
        ("log_softmax",),
    ),
    Op("matmul", fg.matmul, np.matmul, "matmul", (-2.0, 2.0), ("matmul",)),
    Op(
        "linear",
        lambda x, w, b, torch_layout: C.linear(x, w, b, torch_layout),
        lambda x, w, b, torch_layout: (x @ (w.T if torch_layout else w)) + b,
        "linear",
        (-2.0, 2.0),
        ("linear",),
        params=lambda d: {"torch_layout": d.draw(st.booleans(), label="torch_layout")},
    ),
]
OPS_BY_NAME = {o.name: o for o in OPS}


# ------------------------------------------------------------------ inputs
def finite_values(shape, dtype, lo, hi):
    if dtype == "float32":
        lo, hi = (
            float(np.nextafter(np.float32(lo), np.float32(np.inf))),
            float(
                np.float32(hi) if np.float32(hi) <= hi else np.nextafter(np.float32(hi), np.float32(-np.inf))
            ),
        )
        return hnp.arrays(np.float64, shape, elements=st.floats(lo, hi, width=32))
    return hnp.arrays(np.float64, shape, elements=st.floats(lo, hi))


SPECIALS = [
    np.nan,
    np.inf,
    -np.inf,
    0.0,
    -0.0,
    1.0,
    -1.0,
    3e38,
    -3e38,
    1e-40,
    -1e-40,
    1e-30,
    80.0,
    -80.0,
    700.0,
    -700.0,
    1e300,
    1e-310,
]


def special_values(shape, dtype):
    elems = st.one_of(st.sampled_from(SPECIALS), st.floats(-5, 5, width=32 if dtype == "float32" else 64))
    return hnp.arrays(np.float64, shape, elements=elems)


def make_leaf(arr: np.ndarray, dtype: str, layout: str, requires_grad: bool) -> fg.Tensor:
    """A leaf holding ``arr`` (cast to dtype) that is contiguous ("c"), a transposed
    view ("t") or a strided slice at an offset ("s") of a bigger tensor."""
    a = arr.astype(NP_DT[dtype])
    if layout == "t" and a.ndim >= 2:
        perm = list(range(a.ndim))[::-1]
        base = fg.tensor(np.ascontiguousarray(np.transpose(a, perm)), dtype=FG_DT[dtype])
        t = base.permute(*perm)
    elif layout == "s" and a.ndim >= 1:
        big = np.zeros([2 * n + 1 for n in a.shape], dtype=a.dtype)
        big[tuple(slice(1, None, 2) for _ in a.shape)] = a
        base = fg.tensor(big, dtype=FG_DT[dtype])
        t = base[tuple(slice(1, None, 2) for _ in a.shape)]
    else:
        t = fg.tensor(a, dtype=FG_DT[dtype])
    t = t.detach()
    assert tuple(t.shape) == a.shape
    if requires_grad:
        t.requires_grad = True
    return t


shapes_small = hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=4)
DTYPES = st.sampled_from(["float32", "float64"])
LAYOUTS = st.sampled_from(["c", "t", "s"])


def fwd_tol(dtype, op):
    return (3e-4 if dtype == "float32" else 1e-9) * op.tol


def grad_tol(dtype, op):
    return (3e-3 if dtype == "float32" else 1e-5) * op.tol


def assert_close(got, ref, tol, scale=None, what=""):
    got = np.asarray(got, np.float64)
    ref = np.asarray(ref, np.float64)
    assert got.shape == ref.shape, f"{what}: shape {got.shape} != reference {ref.shape}"
    if ref.size == 0:
        return
    s = max(1.0, float(np.max(np.abs(ref))) if np.all(np.isfinite(ref)) else 1.0)
    if scale is not None:
        s = max(s, scale)
    np.testing.assert_allclose(got, ref, rtol=tol, atol=tol * s, err_msg=what)


def fd_grad(fun, arrs, w, eps=1e-6):
    """Central differences of <w, fun(*arrs)> (float64), one coordinate at a time."""
    out = []
    for i, a in enumerate(arrs):
        g = np.zeros_like(a)
        flat = g.reshape(-1)
        for j in range(a.size):
            h = eps * max(1.0, abs(a.flat[j]))
            plus = [x.copy() for x in arrs]
            minus = [x.copy() for x in arrs]
            plus[i].flat[j] += h
            minus[i].flat[j] -= h
            flat[j] = (np.sum(w * fun(*plus)) - np.sum(w * fun(*minus))) / (2 * h)
        out.append(g)
    return out


def draw_inputs(data, op: Op, dtype: str, special: bool = False):
    """Shapes, values and params for one case of ``op``."""
    dom = op.domain if isinstance(op.domain, list) else [op.domain, op.domain]
    params = op.params(data) if op.params else {}
    if op.kind == "binary":
        bs = data.draw(
            hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, max_side=4),
            label="shapes",
        )
        shapes = list(bs.input_shapes)
    elif op.kind == "matmul":
        shapes = list(data.draw(matmul_shapes(), label="shapes"))
    elif op.kind == "linear":
        i, o = data.draw(st.integers(0, 4), label="in"), data.draw(st.integers(0, 4), label="out")
        batch = data.draw(hnp.array_shapes(min_dims=0, max_dims=2, min_side=0, max_side=3), label="batch")
        shapes = [batch + (i,), (o, i) if params["torch_layout"] else (i, o), (o,)]
    else:
        shapes = [data.draw(shapes_small, label="shape")]
    assume(all(int(np.prod(s)) <= 48 for s in shapes))
    if special:
        arrs = [data.draw(special_values(s, dtype), label=f"x{i}") for i, s in enumerate(shapes)]
    else:
        arrs = [
            data.draw(finite_values(s, dtype, *dom[min(i, len(dom) - 1)]), label=f"x{i}")
            for i, s in enumerate(shapes)
        ]
    if op.kind == "reduce":
        params["axis"] = _axis_param(data, arrs[0].ndim)
        params["keepdims"] = data.draw(st.booleans(), label="keepdims")
        if op.name in ("argmax", "argmin"):
            if isinstance(params["axis"], tuple):
                params["axis"] = params["axis"][0]
    elif op.kind == "softmax":
        params["axis"] = (
            data.draw(st.integers(-max(arrs[0].ndim, 1), max(arrs[0].ndim, 1) - 1), label="axis")
            if arrs[0].ndim
            else 0
        )
    layouts = [data.draw(LAYOUTS, label=f"layout{i}") for i in range(len(arrs))]
    return arrs, params, layouts


@st.composite
def matmul_shapes(draw):
    n, k, m = (draw(st.integers(0, 4)) for _ in range(3))
    kind = draw(st.sampled_from(["mm", "mv", "vm", "vv", "bmm", "bcast"]))
    if kind == "mm":
        return (n, k), (k, m)
    if kind == "mv":
        return (n, k), (k,)
    if kind == "vm":
        return (k,), (k, m)
    if kind == "vv":
        return (k,), (k,)
    b = draw(st.integers(0, 3))
    if kind == "bmm":
        return (b, n, k), (b, k, m)
    return (b, 1, n, k), (draw(st.sampled_from([1, 2])), k, m)


def call_ref(op: Op, arrs, params):
    p = dict(params)
    if op.kind == "reduce":
        if op.name in ("argmax", "argmin"):
            r = op.ref(arrs[0], axis=p.pop("axis"), keepdims=p.pop("keepdims"))
        else:
            r = op.ref(arrs[0], axis=p.pop("axis"), keepdims=p.pop("keepdims"), **p)
        return np.asarray(r)
    if op.kind == "softmax":
        return np.asarray(op.ref(arrs[0], axis=p["axis"]))
    return np.asarray(op.ref(*arrs, **p))


def call_fg(op: Op, ts, params):
    p = dict(params)
    if op.kind == "reduce":
        axis, keep = p.pop("axis"), p.pop("keepdims")
        if op.name in ("var", "std"):
            return op.fg_fn(ts[0], axis=axis, correction=p["correction"], keepdims=keep)
        return op.fg_fn(ts[0], axis=axis, keepdims=keep)
    if op.kind == "softmax":
        return op.fg_fn(ts[0], axis=p["axis"])
    return op.fg_fn(*ts, **p)


def ref_outcome(op, arrs, params):
    """(value, None) or (None, exception) for the float64 reference."""
    with np.errstate(all="ignore"):
        try:
            return call_ref(op, arrs, params), None
        except (ValueError, IndexError, TypeError, ZeroDivisionError) as e:
            return None, e


# ------------------------------------------------------------------ properties
def _settings(**kw):
    return settings(BASE, **kw)


@pytest.mark.parametrize("op", OPS, ids=[o.name for o in OPS])
@_settings()
@given(data=st.data(), dtype=DTYPES)
def test_forward_backward_vs_numpy(op: Op, data, dtype):
    arrs, params, layouts = draw_inputs(data, op, dtype)
    arrs = [a.astype(NP_DT[dtype]).astype(np.float64) for a in arrs]  # the values fg actually sees
    COUNTER.hit("forward", op.name)
    ref, ref_err = ref_outcome(op, arrs, params)
    want_grad = op.grad and ref_err is None
    ts = [make_leaf(a, dtype, lay, want_grad) for a, lay in zip(arrs, layouts)]
    if ref_err is not None:
        # NumPy refuses (e.g. max of an empty axis): fastgrad must raise, not crash.
        with pytest.raises(ERRORS):
            call_fg(op, ts, params)
        COUNTER.hit("error", op.name)
        return
    y = call_fg(op, ts, params)
    assert tuple(y.shape) == ref.shape, f"{op.name}{params}: shape {y.shape} != {ref.shape}"
    got = np.asarray(y.detach()).astype(np.float64)
    if op.name in ("argmax", "argmin"):
        if ref.size and not (op.kinks and op.kinks(*arrs)):
            np.testing.assert_array_equal(got, ref)
        return
    scale = None
    if op.name in ("sum", "mean", "var", "std", "logsumexp", "matmul", "prod", "linear"):
        absref = np.abs(np.asarray(call_ref(op, [np.abs(a) for a in arrs], params)))
        scale = float(np.max(absref)) if absref.size and np.all(np.isfinite(absref)) else None
    finite = np.isfinite(ref)
    if not np.all(finite):  # e.g. var of one element with correction 1: compare classes
        np.testing.assert_array_equal(np.isnan(got), np.isnan(ref), err_msg=f"{op.name}: NaN pattern")
        got, ref = np.where(finite, got, 0.0), np.where(finite, ref, 0.0)
    assert_close(got, ref, fwd_tol(dtype, op), scale, f"{op.name} forward {params} {layouts}")
    if not want_grad:
        return
    # backward: gradient of <w, y> against central differences of the reference
    w = data.draw(hnp.arrays(np.float64, ref.shape, elements=st.floats(-2, 2, width=32)), label="w")
    wt = fg.tensor(w.astype(NP_DT[dtype]), dtype=FG_DT[dtype])
    grads = C.grad([y], [wt], ts, False, False, True)
    COUNTER.hit("backward", op.name)
    for g, t in zip(grads, ts):
        if g is not None:
            assert tuple(g.shape) == tuple(t.shape), (
                f"{op.name}: grad shape {g.shape} != leaf shape {t.shape}"
            )
    if not np.all(finite) or (
        op.kinks
        and op.kinks(
            *arrs, **{k: v for k, v in params.items() if k not in ("axis", "keepdims", "correction")}
        )
    ):
        return
    if op.name in ("std",) and ref.size and np.min(ref) < 1e-3:
        return
    fd = fd_grad(lambda *xs: call_ref(op, list(xs), params), arrs, w)
    for i, (g, want) in enumerate(zip(grads, fd)):
        got_g = np.zeros_like(want) if g is None else np.asarray(g).astype(np.float64)
        fscale = None
        if scale is not None or op.kind in ("binary", "unary"):
            fscale = float(np.max(np.abs(want))) if want.size else None
        assert_close(got_g, want, grad_tol(dtype, op), fscale, f"{op.name} grad[{i}] {params} {layouts}")


def _classify(a):
    a = np.asarray(a, np.float64)
    return np.where(np.isnan(a), 0, np.where(a == np.inf, 1, np.where(a == -np.inf, 2, 3)))


ELEMENTWISE = [o for o in OPS if o.kind in ("unary", "binary")]


SPECIAL_OPS = [pytest.param(o, id=o.name) for o in OPS if o.kind not in ("matmul", "linear")]


@pytest.mark.parametrize("op", SPECIAL_OPS)
@_settings()
@given(data=st.data(), dtype=DTYPES)
def test_specials_no_crash(op: Op, data, dtype):
    """NaN, ±inf, huge and subnormal values: no crash, right shape, IEEE classes
    like NumPy's for elementwise ops; backward runs and gives leaf-shaped grads."""
    arrs, params, layouts = draw_inputs(data, op, dtype, special=True)
    with np.errstate(all="ignore"):
        arrs = [a.astype(NP_DT[dtype]).astype(np.float64) for a in arrs]
    COUNTER.hit("special", op.name)
    ref, ref_err = ref_outcome(op, arrs, params)
    ts = [make_leaf(a, dtype, lay, op.grad and ref_err is None) for a, lay in zip(arrs, layouts)]
    if ref_err is not None:
        with pytest.raises(ERRORS):
            call_fg(op, ts, params)
        return
    y = call_fg(op, ts, params)
    assert tuple(y.shape) == ref.shape
    got = np.asarray(y.detach())
    if op.kind in ("unary", "binary") and op.exact_specials and op.name not in ("sign",):
        with np.errstate(all="ignore"):
            ref_t = ref.astype(NP_DT[dtype]).astype(np.float64)  # overflow to inf in float32 like fg
        bad = _classify(got) != _classify(ref_t)
        if np.any(bad):
            i = tuple(np.argwhere(bad)[0])
            ins = [np.broadcast_to(a, ref.shape)[i] for a in arrs]
            pytest.fail(f"{op.name}{params} {dtype}: inputs {ins} gave {got[i]!r}, NumPy gives {ref_t[i]!r}")
    if op.grad:
        w = np.ones(ref.shape)
        grads = C.grad([y], [fg.tensor(w.astype(NP_DT[dtype]), dtype=FG_DT[dtype])], ts, False, False, True)
        for g, t in zip(grads, ts):
            if g is not None:
                assert tuple(g.shape) == tuple(t.shape)
                np.asarray(g).sum()  # touch every element


# ------------------------------------------------------------------ shape ops
@_settings(max_examples=EXAMPLES * 15)
@given(data=st.data(), dtype=DTYPES)
def test_shape_ops_vs_numpy(data, dtype):
    """reshape, permute, transpose, expand, slicing, int/bool-array indexing, concat,
    stack, split, pad, squeeze/unsqueeze/flatten: values and gradients (adjoints)."""
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=4), label="shape")
    x = data.draw(finite_values(shape, dtype, -3, 3), label="x")
    x = x.astype(NP_DT[dtype]).astype(np.float64)
    lay = data.draw(LAYOUTS, label="layout")
    op = data.draw(
        st.sampled_from(
            [
                "reshape",
                "permute",
                "transpose",
                "expand",
                "slice",
                "int_index",
                "bool_index",
                "concat",
                "stack",
                "split",
                "pad",
                "squeeze",
                "unsqueeze",
                "flatten",
                "where",
            ]
        ),
        label="op",
    )
    COUNTER.hit("forward", "shape:" + op)
    nd = x.ndim
    extra: list[np.ndarray] = []
    if op == "reshape":
        n = x.size
        divs = [d for d in range(1, max(n, 1) + 1) if n % d == 0] if n else [0, 1, 2]
        a = data.draw(st.sampled_from(divs), label="a")
        new = (a, -1) if (n and a) else (a, 3, 0) if n == 0 and a else (0, -1) if n == 0 else (-1,)
        if n == 0 and a == 0:
            new = (0, 5)
        f = lambda t: t.reshape(*new)  # noqa: E731
        r = lambda v: v.reshape(new)  # noqa: E731
    elif op == "permute":
        perm = data.draw(st.permutations(range(nd)), label="perm")
        f, r = (lambda t: fg.permute(t, perm)), (lambda v: np.transpose(v, perm))
    elif op == "transpose":
        a, b = data.draw(st.integers(-nd, nd - 1)), data.draw(st.integers(-nd, nd - 1))
        f, r = (lambda t: fg.transpose(t, a, b)), (lambda v: np.swapaxes(v, a, b))
    elif op == "expand":
        tgt = tuple(data.draw(st.integers(0, 3)) if s == 1 else s for s in shape)
        tgt = (data.draw(st.integers(0, 2)),) + tgt
        f, r = (lambda t: fg.broadcast_to(t, tgt)), (lambda v: np.broadcast_to(v, tgt))
    elif op == "slice":
        key = tuple(
            slice(data.draw(st.integers(-5, 5)), data.draw(st.integers(-5, 5)), data.draw(st.integers(1, 3)))
            for _ in range(data.draw(st.integers(1, nd)))
        )
        f, r = (lambda t: t[key]), (lambda v: v[key])
    elif op == "int_index":
        n0 = shape[0]
        assume(n0 > 0)
        idx = data.draw(
            hnp.arrays(
                np.int64,
                data.draw(hnp.array_shapes(min_dims=1, max_dims=2, max_side=4)),
                elements=st.integers(-n0, n0 - 1),
            ),
            label="idx",
        )
        f, r = (lambda t: t[idx]), (lambda v: v[idx])
    elif op == "bool_index":
        mask = data.draw(hnp.arrays(np.bool_, shape[:1]), label="mask")
        f, r = (lambda t: t[mask]), (lambda v: v[mask])
    elif op in ("concat", "stack"):
        ax = data.draw(st.integers(-nd, nd - 1) if op == "concat" else st.integers(-nd - 1, nd))
        oshape = list(shape)
        if op == "concat":
            oshape[ax] = data.draw(st.integers(0, 3))
        y2 = data.draw(finite_values(tuple(oshape), dtype, -3, 3)).astype(NP_DT[dtype]).astype(np.float64)
        extra = [y2]
        f = (
            (lambda t, u: fg.concat([t, u], axis=ax))
            if op == "concat"
            else (lambda t, u: fg.stack([t, u], axis=ax))
        )
        r = (
            (lambda v, u: np.concatenate([v, u], axis=ax))
            if op == "concat"
            else (lambda v, u: np.stack([v, u], axis=ax))
        )
    elif op == "split":
        ax = data.draw(st.integers(-nd, nd - 1))
        n = shape[ax]
        k = data.draw(st.integers(1, max(n, 1)))
        cuts = list(range(k, n, k))
        f = lambda t: fg.concat(fg.split(t, k, axis=ax), axis=ax) * 1.0 if n else t * 1.0  # noqa: E731
        r = lambda v: np.concatenate(np.split(v, cuts, axis=ax), axis=ax) if n else v  # noqa: E731
        parts = fg.split(make_leaf(x, dtype, "c", False), k, axis=ax) if n else []
        assert [p.shape[ax] for p in parts] == [s.shape[ax] for s in np.split(x, cuts, axis=ax)][: len(parts)]
    elif op == "pad":
        pw = tuple((data.draw(st.integers(0, 2)), data.draw(st.integers(0, 2))) for _ in range(nd))
        val = data.draw(st.sampled_from([0.0, -1.5]))
        f, r = (lambda t: fg.pad(t, pw, val)), (lambda v: np.pad(v, pw, constant_values=val))
    elif op == "squeeze":
        f, r = (lambda t: fg.squeeze(t)), (lambda v: np.squeeze(v))
    elif op == "unsqueeze":
        ax = data.draw(st.integers(-nd - 1, nd))
        f, r = (lambda t: fg.unsqueeze(t, ax)), (lambda v: np.expand_dims(v, ax))
    elif op == "flatten":
        s0 = data.draw(st.integers(0, nd - 1))
        e0 = data.draw(st.integers(s0, nd - 1))
        new = shape[:s0] + (int(np.prod(shape[s0 : e0 + 1])),) + shape[e0 + 1 :]
        f, r = (lambda t: fg.flatten(t, s0, e0)), (lambda v: v.reshape(new))
    else:  # where
        cond = data.draw(hnp.arrays(np.bool_, shape), label="cond")
        y2 = data.draw(finite_values(shape[1:], dtype, -3, 3)).astype(NP_DT[dtype]).astype(np.float64)
        extra = [y2]
        f = lambda t, u: fg.where(fg.tensor(cond), t, u)  # noqa: E731
        r = lambda v, u: np.where(cond, v, u)  # noqa: E731
    arrs = [x] + extra
    ts = [make_leaf(a, dtype, lay if i == 0 else "c", True) for i, a in enumerate(arrs)]
    y = f(*ts)
    ref = r(*arrs)
    assert tuple(y.shape) == ref.shape, f"{op}: {y.shape} vs {ref.shape}"
    np.testing.assert_array_equal(np.asarray(y.detach()), ref.astype(NP_DT[dtype]))
    # the adjoint: <w, f(x)> is linear, so its gradient is exact (no FD needed)
    w = np.arange(1, ref.size + 1, dtype=np.float64).reshape(ref.shape) % 7 - 3
    grads = C.grad([y], [fg.tensor(w.astype(NP_DT[dtype]), dtype=FG_DT[dtype])], ts, False, False, True)
    COUNTER.hit("backward", "shape:" + op)
    zero = [np.zeros_like(v) for v in arrs]
    offset = np.sum(w * r(*zero))  # pad's fill value makes f affine, not linear
    for i, (g, leaf) in enumerate(zip(grads, arrs)):
        want = np.zeros_like(leaf)
        for j in range(leaf.size):
            e = [np.zeros_like(v) for v in arrs]
            e[i].flat[j] = 1.0
            want.flat[j] = np.sum(w * r(*e)) - offset
        got = np.zeros_like(leaf) if g is None else np.asarray(g)
        np.testing.assert_array_equal(got, want, err_msg=f"{op} grad[{i}]")


# ------------------------------------------------------------------ conv / pool
def np_conv(x, w, b, stride, lo, hi, dil, groups):
    """NCHW-style N-d cross-correlation, float64, straightforward loops."""
    nd = x.ndim - 2
    xp = np.pad(x, [(0, 0), (0, 0)] + [(lo[i], hi[i]) for i in range(nd)])
    n, cin = x.shape[:2]
    cout, cg = w.shape[:2]
    ks = w.shape[2:]
    out_sp = [(xp.shape[2 + i] - dil[i] * (ks[i] - 1) - 1) // stride[i] + 1 for i in range(nd)]
    out = np.zeros((n, cout, *out_sp))
    og = cout // groups
    for o in np.ndindex(*out_sp):
        for kk in np.ndindex(*ks):
            pos = tuple(o[i] * stride[i] + kk[i] * dil[i] for i in range(nd))
            patch = xp[(slice(None), slice(None)) + pos]  # n, cin
            for g in range(groups):
                pw = w[(slice(g * og, (g + 1) * og), slice(None)) + kk]  # og, cg
                out[(slice(None), slice(g * og, (g + 1) * og)) + o] += patch[:, g * cg : (g + 1) * cg] @ pw.T
    if b is not None:
        out += b.reshape((1, cout) + (1,) * nd)
    return out


def np_pool(x, k, s, p, mode, include_pad=True):
    nd = x.ndim - 2
    fill = -np.inf if mode == "max" else 0.0
    xp = np.pad(x, [(0, 0), (0, 0)] + [(p[i], p[i]) for i in range(nd)], constant_values=fill)
    ones = np.pad(np.ones(x.shape[2:]), [(p[i], p[i]) for i in range(nd)])
    out_sp = [(xp.shape[2 + i] - k[i]) // s[i] + 1 for i in range(nd)]
    out = np.zeros(x.shape[:2] + tuple(out_sp))
    for o in np.ndindex(*out_sp):
        sl = tuple(slice(o[i] * s[i], o[i] * s[i] + k[i]) for i in range(nd))
        win = xp[(slice(None), slice(None)) + sl].reshape(x.shape[:2] + (-1,))
        if mode == "max":
            out[(slice(None), slice(None)) + o] = win.max(-1)
        else:
            cnt = win.shape[-1] if include_pad else ones[sl].sum()
            out[(slice(None), slice(None)) + o] = win.sum(-1) / cnt
    return out


@_settings(max_examples=EXAMPLES * 6)
@given(data=st.data(), dtype=DTYPES)
def test_conv_pool_vs_numpy(data, dtype):
    """conv (1-3D, stride, dilation, asymmetric padding, groups, both layouts) and
    max/avg/adaptive pooling; gradients (conv_grad_input/conv_grad_weight and the pool
    adjoints) against central differences; second order through create_graph."""
    nd = data.draw(st.integers(1, 3), label="nd")
    cl = data.draw(st.booleans(), label="channels_last")
    kind = data.draw(st.sampled_from(["conv", "max_pool", "avg_pool", "adaptive"]), label="kind")
    n = data.draw(st.integers(0 if kind == "conv" else 1, 2), label="n")
    sp = [data.draw(st.integers(1, 5 if nd < 3 else 3)) for _ in range(nd)]
    lay = data.draw(LAYOUTS, label="layout")
    COUNTER.hit("forward", kind)
    to_cl = lambda a: np.moveaxis(a, 1, -1)  # noqa: E731
    from_cl = lambda a: np.moveaxis(a, -1, 1)  # noqa: E731
    if kind == "conv":
        groups = data.draw(st.sampled_from([1, 2]))
        cin = groups * data.draw(st.integers(1, 2))
        cout = groups * data.draw(st.integers(1, 2))
        ks = [data.draw(st.integers(1, 3)) for _ in range(nd)]
        stride = [data.draw(st.integers(1, 2)) for _ in range(nd)]
        dil = [data.draw(st.integers(1, 2)) for _ in range(nd)]
        lo = [data.draw(st.integers(0, 2)) for _ in range(nd)]
        hi = [data.draw(st.integers(0, 2)) for _ in range(nd)]
        assume(all(sp[i] + lo[i] + hi[i] >= dil[i] * (ks[i] - 1) + 1 for i in range(nd)))
        x = data.draw(finite_values((n, cin, *sp), dtype, -2, 2)).astype(NP_DT[dtype]).astype(np.float64)
        w = (
            data.draw(finite_values((cout, cin // groups, *ks), dtype, -2, 2))
            .astype(NP_DT[dtype])
            .astype(np.float64)
        )
        use_b = data.draw(st.booleans())
        b = (
            data.draw(finite_values((cout,), dtype, -2, 2)).astype(NP_DT[dtype]).astype(np.float64)
            if use_b
            else None
        )
        arrs = [x, w] + ([b] if use_b else [])

        def ref(x, w, b=None):
            return np_conv(x, w, b, stride, lo, hi, dil, groups)

        def run(x, w, b=None):
            return C.conv(x, w, b, stride, lo, hi, dil, groups, cl)

        conv_in = [to_cl(x) if cl else x, np.moveaxis(w, 1, -1) if cl else w] + ([b] if use_b else [])
        ts = [make_leaf(a, dtype, lay if i == 0 else "c", True) for i, a in enumerate(conv_in)]
        y = run(*ts)
        want = ref(*arrs)
        got = from_cl(np.asarray(y.detach())) if cl else np.asarray(y.detach())
    else:
        c = data.draw(st.integers(1, 3))
        x = data.draw(finite_values((n, c, *sp), dtype, -3, 3)).astype(NP_DT[dtype]).astype(np.float64)
        arrs = [x]
        if kind == "adaptive":
            osz = [data.draw(st.integers(1, sp[i])) for i in range(nd)]
            assume(all(sp[i] % osz[i] == 0 for i in range(nd)))  # uniform windows: reuse np_pool
            k = [sp[i] // osz[i] for i in range(nd)]

            def ref(x):
                return np_pool(x, k, k, [0] * nd, "avg")

            def run(x):
                return C.adaptive_avg_pool(x, osz, cl)
        else:
            k = [data.draw(st.integers(1, sp[i])) for i in range(nd)]
            s = [data.draw(st.integers(1, 2)) for _ in range(nd)]
            p = [data.draw(st.integers(0, k[i] // 2)) for i in range(nd)]
            cip = data.draw(st.booleans())

            def ref(x):
                return np_pool(x, k, s, p, "max" if kind == "max_pool" else "avg", cip)

            def run(x):
                if kind == "max_pool":
                    return C.max_pool(x, k, s, p, cl)
                return C.avg_pool(x, k, s, p, cip, cl)

        ts = [make_leaf(to_cl(x) if cl else x, dtype, lay, True)]
        y = run(*ts)
        want = ref(x)
        got = from_cl(np.asarray(y.detach())) if cl else np.asarray(y.detach())
    scale = float(np.max(np.abs(ref(*[np.abs(a) for a in arrs])))) if want.size else 1.0
    tol = fwd_tol(dtype, Op("", None, None, "")) * 10
    assert_close(got, want, tol, scale, f"{kind} forward")
    if kind == "max_pool" and ties([x], 1e-3):
        return
    wv = data.draw(hnp.arrays(np.float64, want.shape, elements=st.floats(-2, 2, width=32)), label="w")
    wt = fg.tensor((to_cl(wv) if cl else wv).astype(NP_DT[dtype]), dtype=FG_DT[dtype])
    grads = C.grad([y], [wt], ts, False, True, True)
    COUNTER.hit("backward", kind)
    fd = fd_grad(ref, arrs, wv)
    for i, (g, want_g) in enumerate(zip(grads, fd)):
        got_g = np.zeros(ts[i].shape) if g is None else np.asarray(g.detach()).astype(np.float64)
        if cl and i == 0:
            got_g = from_cl(got_g)
        if cl and kind == "conv" and i == 1:
            got_g = np.moveaxis(got_g, -1, 1)
        assert_close(
            got_g,
            want_g,
            grad_tol(dtype, Op("", None, None, "")) * 10,
            float(np.max(np.abs(want_g))) if want_g.size else None,
            f"{kind} grad[{i}]",
        )
    # second order: exercises conv_grad_input/conv_grad_weight and the pool adjoints'
    # own rules; checked for no crash and shape
    live = [g for g in grads if g is not None and g.requires_grad]
    if live:
        s2 = fg.sum(fg.stack([fg.sum(g * g) for g in live]))
        g2 = C.grad([s2], [fg.ones((), dtype=FG_DT[dtype])], ts, False, False, True)
        COUNTER.hit("second_order", kind)
        for g, t in zip(g2, ts):
            assert g is None or tuple(g.shape) == tuple(t.shape)


# ------------------------------------------------------------------ invalid input
@_settings(max_examples=EXAMPLES * 20)
@given(data=st.data())
def test_invalid_input_raises_like_numpy(data):
    """NumPy is the oracle of validity: fastgrad raises (ValueError, IndexError or
    TypeError, never a crash) exactly when NumPy refuses."""
    shape_a = data.draw(hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=4), label="a")
    shape_b = data.draw(hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=4), label="b")
    assume(int(np.prod(shape_a)) <= 64 and int(np.prod(shape_b)) <= 64)
    a = np.ones(shape_a, np.float32)
    b = np.ones(shape_b, np.float32)
    ta, tb = fg.tensor(a), fg.tensor(b)
    which = data.draw(
        st.sampled_from(
            [
                "add",
                "mul",
                "maximum",
                "where",
                "matmul",
                "sum",
                "amax",
                "softmax",
                "reshape",
                "permute",
                "transpose",
                "concat",
                "stack",
                "expand",
                "squeeze",
                "unsqueeze",
                "index",
                "argmax",
                "pad",
                "split",
            ]
        ),
        label="op",
    )
    nd = len(shape_a)
    ax = data.draw(st.integers(-nd - 2, nd + 2), label="axis")
    if which in ("add", "mul", "maximum"):
        f = {"add": (fg.add, np.add), "mul": (fg.mul, np.multiply), "maximum": (fg.maximum, np.maximum)}[
            which
        ]
        pair = (lambda: f[0](ta, tb), lambda: f[1](a, b))
    elif which == "where":
        pair = (lambda: fg.where(fg.tensor(a > 0), ta, tb), lambda: np.where(a > 0, a, b))
    elif which == "matmul":
        pair = (lambda: fg.matmul(ta, tb), lambda: np.matmul(a, b))
    elif which in ("sum", "amax", "argmax"):
        axis = data.draw(st.one_of(st.just(ax), st.tuples(st.just(ax), st.integers(-nd - 1, nd + 1))))
        if which == "argmax":
            axis = ax
        fn = {"sum": (fg.sum, np.sum), "amax": (fg.max, np.max), "argmax": (fg.argmax, np.argmax)}[which]
        pair = (lambda: fn[0](ta, axis=axis), lambda: fn[1](a, axis=axis))
    elif which == "softmax":
        pair = (lambda: fg.softmax(ta, axis=ax), lambda: (np.sum(a, axis=ax), a)[1])
    elif which == "reshape":
        new = tuple(data.draw(st.lists(st.integers(-2, 5), max_size=4)))
        pair = (
            lambda: ta.reshape(*new) if new else ta.reshape(()),
            lambda: a.reshape(new) if all(v >= -1 for v in new) else (_ for _ in ()).throw(ValueError("neg")),
        )
    elif which == "permute":
        perm = data.draw(st.lists(st.integers(-nd - 1, nd), max_size=nd + 1))
        pair = (lambda: fg.permute(ta, perm), lambda: np.transpose(a, perm))
    elif which == "transpose":
        ax2 = data.draw(st.integers(-nd - 2, nd + 2))
        pair = (lambda: fg.transpose(ta, ax, ax2), lambda: np.swapaxes(a, ax, ax2))
    elif which == "concat":
        # torch.cat's legacy rule, which fastgrad follows: a (0,) operand is skipped when
        # the others have another rank (NumPy would refuse the rank mismatch)
        keep = [x for x in (a, b) if not (x.shape == (0,) and (a.ndim, b.ndim) != (1, 1))]
        pair = (lambda: fg.concat([ta, tb], axis=ax), lambda: np.concatenate(keep, axis=ax))
    elif which == "stack":
        pair = (lambda: fg.stack([ta, tb], axis=ax), lambda: np.stack([a, b], axis=ax))
    elif which == "expand":
        pair = (lambda: fg.broadcast_to(ta, shape_b), lambda: np.broadcast_to(a, shape_b))
    elif which == "squeeze":
        pair = (lambda: fg.squeeze(ta, axis=ax), lambda: np.squeeze(a, ax))
    elif which == "unsqueeze":
        pair = (lambda: fg.unsqueeze(ta, ax), lambda: np.expand_dims(a, ax))
    elif which == "index":
        i = data.draw(st.integers(-6, 6))
        pair = (lambda: ta[i], lambda: a[i])
    elif which == "pad":
        pw = data.draw(st.lists(st.tuples(st.integers(0, 2), st.integers(0, 2)), max_size=5))
        pair = (
            lambda: fg.pad(ta, pw),
            lambda: (
                (np.pad(a, pw) if nd else a)
                if len(pw) == nd
                else (_ for _ in ()).throw(ValueError("pad width"))
            ),
        )
    else:  # split
        secs = data.draw(st.lists(st.integers(0, 4), min_size=1, max_size=3))
        pair = (
            lambda: fg.split(ta, secs, axis=ax),
            lambda: (
                np.split(a, np.cumsum(secs)[:-1], axis=ax)
                if nd and sum(secs) == a.shape[ax]
                else (_ for _ in ()).throw(ValueError("sections"))
            ),
        )
    COUNTER.hit("error", "invalid:" + which)
    try:
        with np.errstate(all="ignore"):
            want = pair[1]()
        ok = True
    except (ValueError, IndexError, TypeError):
        ok = False
    if nd == 0 and which in ("sum", "amax", "argmax", "softmax", "transpose", "squeeze"):
        # PyTorch's rule, which fastgrad follows: a 0-d tensor has the one axis 0 == -1
        axes = (
            [ax] + ([ax2] if which == "transpose" else [])
            if which != "sum" and which != "amax"
            else list(axis)
            if isinstance(axis, tuple)
            else [axis]
        )
        ok = all(v in (0, -1) for v in axes) and (len(axes) == 1 or which == "transpose")
        want = a
    if which == "expand" and ok and len(shape_b) < nd:
        ok = False
    if which == "reshape" and not ok:
        pass
    if ok:
        got = pair[0]()
        if isinstance(want, list):
            assert [tuple(g.shape) for g in got] == [w.shape for w in want]
        else:
            assert tuple(got.shape) == np.shape(want), f"{which}: {got.shape} vs {np.shape(want)}"
    else:
        with pytest.raises((ValueError, IndexError, TypeError)) as ei:
            pair[0]()
        assert str(ei.value), f"{which}: empty error message"


# ------------------------------------------------------------------ crash detection
MONKEY = textwrap.dedent(r"""
    import math, os, random, resource, sys
    import numpy as np
    # Big allocations must fail with MemoryError, not take the machine down (not under
    # AddressSanitizer, whose shadow memory needs terabytes of address space).
    if "asan" not in os.environ.get("LD_PRELOAD", ""):
        resource.setrlimit(resource.RLIMIT_AS, (12 << 30, 12 << 30))
    import fastgrad as fg
    seed, calls = int(sys.argv[1]), int(sys.argv[2])
    rnd = random.Random(seed)
    np_rng = np.random.default_rng(seed)
    names = sorted(n for n in dir(fg) if not n.startswith("_") and callable(getattr(fg, n))
                   and n not in ("set_num_threads", "manual_seed", "empty_cache", "gradcheck", "hessian",
                                 "jacobian", "jacfwd", "jacrev", "sharp", "hvp", "grad", "value_and_grad", "vjp",
                                 "jvp", "Tensor", "no_grad", "enable_grad", "from_dlpack", "save", "load"))
    names += ["_C." + n for n in ("slice", "slice_scatter", "index_select", "index_add", "conv", "max_pool",
                                  "avg_pool", "adaptive_avg_pool", "cast", "clone", "nonzero_flat",
                                  "compare", "sgd_step")]
    import fastgrad.nn as nn
    F = nn.functional
    names += ["F." + n for n in sorted(dir(F)) if not n.startswith("_") and callable(getattr(F, n))
              and getattr(getattr(F, n), "__module__", "") == F.__name__]
    names += ["nn." + n for n in nn.__all__ if isinstance(getattr(nn, n), type)
              and n not in ("Module", "Sequential", "ModuleList", "Parameter")]
    def resolve(name):
        if name.startswith("_C."): return getattr(fg._C, name[3:])
        if name.startswith("F."): return getattr(F, name[2:])
        if name.startswith("nn."): return getattr(nn, name[3:])
        return getattr(fg, name)
    def tensor():
        k = rnd.random()
        shape = tuple(rnd.choice([0, 1, 2, 3]) for _ in range(rnd.randint(0, 4)))
        dt = rnd.choice([fg.float32, fg.float64, fg.int64, fg.bool])
        a = np_rng.standard_normal(shape) * rnd.choice([1, 1e30, 1e-30])
        if k < 0.1 and a.size:
            a.flat[0] = rnd.choice([math.nan, math.inf, -math.inf])
        t = fg.tensor(a).astype(dt) if dt != fg.bool else fg.tensor(a > 0)
        if k > 0.8 and t.ndim >= 2:
            t = t.transpose(0, 1)
        if k > 0.9 and t.ndim >= 1 and t.shape[0] > 1:
            t = t[1:]
        if rnd.random() < 0.3 and t.dtype in (fg.float32, fg.float64):
            t.requires_grad = True
        return t
    def junk(depth=0):
        r = rnd.random()
        if r < 0.35: return tensor()
        if r < 0.55: return rnd.choice([-(2**62), -3, -1, 0, 1, 2, 3, 2**40, 2**62, 2**63, -(2**64), 10**30])
        if r < 0.65: return rnd.choice([0.0, -1.5, 2.5, math.nan, math.inf, 1e300])
        if r < 0.72: return rnd.choice([None, "abc", "tanh", "none", b"x", object()])
        if r < 0.9 and depth < 2: return [junk(depth + 1) for _ in range(rnd.randint(0, 3))]
        if r < 0.95 and depth < 2: return tuple(junk(depth + 1) for _ in range(rnd.randint(0, 3)))
        return np_rng.standard_normal((rnd.randint(0, 3),))
    def nonull(a):
        if a is None:
            return tensor()
        if isinstance(a, (list, tuple)):
            return type(a)(nonull(v) for v in a)
        return a
    # The README's promise: bad input raises one of these, with a message naming the op.
    # RuntimeError is autograd misuse (backward of a non-scalar), MemoryError a huge
    # allocation; anything else (SystemError, AttributeError, ZeroDivisionError,
    # KeyError, ...) or pybind11's own argument-cast messages is a failure.
    allowed = (ValueError, TypeError, IndexError, OverflowError, RuntimeError, MemoryError)
    unclear = ("Unable to cast", "incompatible constructor arguments",
               "returned a result with an exception set", "C++ type")
    # pybind11's "f(): incompatible function arguments ... Invoked with: ..." is a TypeError
    # naming the op and the arguments; acceptable only when f is the function called.
    alias = {"max": "amax", "min": "amin", "clamp": "clip", "cat": "concat", "concatenate": "concat",
             "broadcast_to": "expand", "as_tensor": "to_tensor", "unsafe_split": "split",
             "unsafe_chunk": "chunk"}
    def same_op(name, f):  # F.max_pool2d -> _C.max_pool, F.conv2d -> _C.conv
        base = name.split(".")[-1]
        return f == alias.get(base, base) or base.startswith(f)
    bad = {}
    ok = err = 0
    for i in range(calls):
        name = rnd.choice(names)
        fn = resolve(name)
        args = [junk() for _ in range(rnd.randint(0, 4))]
        if name.startswith("_C."):  # private API: None is a null tensor there (see issue 7 report)
            args = [nonull(a) for a in args]
        try:
            r = fn(*args)
            if isinstance(r, fg.Tensor):
                r.numpy().sum() if r.numel() < 10**6 else None
                if r.requires_grad and r.numel() == 1:
                    r.sum().backward()
            ok += 1
        except BaseException as e:
            if isinstance(e, KeyboardInterrupt):
                raise
            msg = str(e)
            why = None
            if not isinstance(e, allowed):
                why = type(e).__name__
            elif not msg.strip():
                why = "empty message"
            elif any(u in msg for u in unclear):
                why = "unclear message"
            elif "incompatible function arguments" in msg and not same_op(name, msg.split("(", 1)[0]):
                why = "pybind11 names another function"  # e.g. nn.Linear(dtype=None) -> "full()"
            if why:
                key = (why, type(e).__name__, name)
                if key not in bad:
                    bad[key] = f"{name}({', '.join(repr(a)[:60] for a in args)}) -> {type(e).__name__}: {msg[:200]}"
            err += 1
    for (why, _, _), call in sorted(bad.items()):
        print(f"BAD [{why}] {call}")
    print(f"MONKEY ok={ok} err={err} bad={len(bad)}")
""")


@pytest.mark.parametrize("seed", [0, 1])
def test_monkey_child_never_crashes(seed, tmp_path):
    """Random junk arguments to every public function, in a child process so that a
    segfault or abort is reported (as a signal) instead of killing pytest."""
    script = tmp_path / "monkey.py"
    script.write_text(MONKEY)
    env = dict(os.environ, OMP_NUM_THREADS="2")
    p = subprocess.run(
        [sys.executable, str(script), str(seed), str(MONKEY_CALLS // 2)],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    tail = (p.stdout + p.stderr)[-3000:]
    assert p.returncode == 0, f"child died with return code {p.returncode} (signal if negative):\n{tail}"
    assert "MONKEY ok=" in p.stdout
    bad = [line for line in p.stdout.splitlines() if line.startswith("BAD ")]
    assert not bad, "exceptions outside the README's promise (op, arguments, exception):\n" + "\n".join(bad)
    COUNTER.hit("monkey", "monkey", MONKEY_CALLS // 2)


# ------------------------------------------------------------------ coverage & count
# Primitives reached only through other ops' VJP rules, or as helpers of these.
VIA = {
    "conv": "conv",
    "conv_grad_input": "conv backward",
    "conv_grad_weight": "conv backward",
    "max_pool": "max_pool",
    "max_pool_backward": "max_pool backward",
    "avg_pool": "avg_pool",
    "adaptive_avg_pool": "adaptive",
    "avg_pool_adjoint": "avg_pool backward",
    "adaptive_avg_pool_adjoint": "adaptive backward",
    "where": "where / maximum / relu backward",
    "reshape": "shape ops",
    "permute": "shape ops",
    "expand": "shape ops / broadcasting",
    "slice": "indexing",
    "slice_scatter": "slice backward",
    "concat": "concat/stack",
    "pad": "pad",
    "index_select": "int/bool indexing",
    "index_add": "index_select backward",
    "softmax_cross_entropy": "tests/test_logsumexp_ce.py (torch oracle, every cross_entropy option)",
    # Axis ops and decompositions of issue 12: checked against torch over its OpInfo samples
    # (tests/test_opinfo.py) and in their own files with torch as oracle.
    "cumsum": "tests/test_select.py, test_opinfo.py",
    "cumprod": "tests/test_select.py, test_opinfo.py",
    "logcumsumexp": "tests/test_select.py, test_opinfo.py",
    "gather": "tests/test_select.py, test_opinfo.py (also sort/topk/take_along_dim values)",
    "scatter": "tests/test_select.py, test_opinfo.py",
    "scatter_add": "tests/test_select.py, test_opinfo.py (also gather's backward)",
    "linalg_cholesky": "tests/test_linalg.py, test_opinfo.py",
    "linalg_eigh": "tests/test_linalg.py, test_opinfo.py",
    "linalg_inv": "tests/test_linalg.py, test_opinfo.py",
    "linalg_qr": "tests/test_linalg.py, test_opinfo.py",
    "linalg_slogdet": "tests/test_linalg.py, test_opinfo.py",
    "linalg_solve": "tests/test_linalg.py, test_opinfo.py",
    "linalg_solve_triangular": "tests/test_linalg.py, test_opinfo.py",
    "linalg_svd": "tests/test_linalg.py, test_opinfo.py",
    "scatter_reduce_prod": "tests/test_select.py, test_opinfo.py (torch's zero-aware rule)",
    "custom_function": "tests/test_autograd_function.py (user-written rules, threads, errors)",
    "vmap_wrap": "tests/test_vmap.py and cpp/tests/test_registry_vmap.cpp (every batching rule goes through it)",
    "vmap_unwrap": "tests/test_vmap.py and cpp/tests/test_registry_vmap.cpp (every batching rule goes through it)",
}


def test_every_primitive_is_fuzzed():
    covered = {p for o in OPS for p in o.prims} | set(VIA)
    missing = sorted(set(C.primitives()) - covered)
    assert not missing, f"primitives without a fuzz entry in tests/test_fuzz.py: {missing}"


def test_zz_case_count(request):
    """Runs last in the module: the profile's floor on the number of cases tried."""
    ran_all = (
        not request.config.getoption("keyword")
        and not request.config.getoption("markexpr")
        and request.session.testscollected >= len(OPS) * 2
    )
    print(COUNTER.summary())
    if ran_all and request.session.testsfailed == 0:
        assert COUNTER.total >= MIN_TOTAL, COUNTER.summary()
