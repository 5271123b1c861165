"""Shared machinery of the primitive registry test: samplers, input specs, cases, leaves with
memory layouts, finite differences. tests/test_primitives.py holds the table; further areas
add theirs in tests/_cases_<area>.py (a CASES dict), which test_primitives collects."""

from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np

import fastgrad as fg

C = fg._C
F64 = fg.float64
EPS = 1e-6
RTOL, ATOL = 1e-6, 1e-8


# ------------------------------------------------------------------ samplers
def normal(rng, shape):
    return rng.standard_normal(shape)


def positive(rng, shape):
    return rng.uniform(0.5, 2.0, shape)


def away0(rng, shape):
    return rng.uniform(0.2, 1.5, shape) * rng.choice([-1.0, 1.0], shape)


def avoid(*kinks, gap=0.05, lo=-2.0, hi=2.0):
    def sample(rng, shape):
        v = rng.uniform(lo, hi, shape)
        for _ in range(100):
            bad = np.zeros(v.shape, bool)
            for k in kinks:
                bad |= np.abs(v - k) < gap
            if not bad.any():
                return v
            v = np.where(bad, rng.uniform(lo, hi, v.shape), v)
        raise AssertionError("could not sample away from kinks")

    return sample


def distinct(rng, shape):
    """Well-separated values (no ties within FD reach) in random order."""
    n = int(np.prod(shape))
    return (np.linspace(-2.0, 2.0, n) + 0.1)[rng.permutation(n)].reshape(shape)


def tenths(rng, shape):
    return np.round(rng.standard_normal(shape), 1)


def off_tenths(rng, shape):
    """Never within 0.05 of a `tenths` value: maximum/minimum without ties."""
    return tenths(rng, shape) + 0.05


def grid(rng, shape):
    """Dyadic values k/16, |k| <= 16: exact in float32, so casts lose nothing."""
    return rng.integers(-16, 17, shape) / 16.0


@dataclasses.dataclass
class In:
    shape: tuple
    layout: str = "c"  # c: contiguous, t: transposed view, s: strided slice with offset
    sample: Callable = normal


@dataclasses.dataclass
class Case:
    fn: Callable
    inputs: list
    id: str = ""
    node: str | None = "__name__"  # primitive expected as the output's grad_fn (None: don't check)
    exact_grid: bool = False  # cotangents/tangents on the dyadic grid, eps 1/16
    precond: Callable | None = None  # validity check of the sampled point (e.g. no ties)
    second: bool = True


# ------------------------------------------------------------------ leaves
def make(arr: np.ndarray, layout: str, requires_grad: bool = False) -> fg.Tensor:
    """A float64 leaf holding `arr` with the requested memory layout."""
    arr = np.asarray(arr, np.float64)
    with fg.no_grad():
        if layout == "t" and arr.ndim >= 2:
            t = fg.tensor(np.ascontiguousarray(np.swapaxes(arr, -1, -2))).transpose(-1, -2)
            assert not t.is_contiguous() or arr.shape[-1] == 1 or arr.shape[-2] == 1
        elif layout == "s" and arr.ndim >= 1:
            big = np.zeros(arr.shape[:-1] + (2 * arr.shape[-1] + 1,))
            big[..., 1::2] = arr
            t = fg.tensor(big)[..., 1::2]
            assert t._offset == 1
        else:
            t = fg.tensor(arr)
    assert t.dtype == F64 and t.grad_fn is None
    np.testing.assert_array_equal(np.asarray(t), arr)
    if requires_grad:
        t.requires_grad = True
    return t


def value(case, arrs):
    with fg.no_grad():
        y = case.fn(*[make(a, s.layout) for a, s in zip(arrs, case.inputs)])
    assert y.dtype == F64
    return np.array(y, dtype=np.float64)


def first_grad(case, arrs, w, create_graph=False, leaves=None):
    leaves = leaves or [make(a, s.layout, True) for a, s in zip(arrs, case.inputs)]
    y = case.fn(*leaves)
    gs = fg.autograd.grad(y, leaves, grad_outputs=fg.tensor(w), create_graph=create_graph)
    return leaves, y, gs


def points(case, rng):
    arrs = [s.sample(rng, s.shape) for s in case.inputs]
    if case.precond is not None:
        assert case.precond(*arrs), f"{case.id}: sampled point violates the case's precondition"
    return arrs


def draw(case, rng, shape):
    return grid(rng, shape) if case.exact_grid else rng.standard_normal(shape)


def fd_gradient(phi, arrs, eps):
    """Central differences of the scalar function phi(list of arrays)."""
    out = []
    for i, a in enumerate(arrs):
        g = np.zeros_like(a)
        for j in np.ndindex(a.shape):
            hi = [b.copy() for b in arrs]
            lo = [b.copy() for b in arrs]
            hi[i][j] += eps
            lo[i][j] -= eps
            g[j] = (phi(hi) - phi(lo)) / (2 * eps)
        out.append(g)
    return out


# ------------------------------------------------------------------ case helpers
def unary(fn, shape=(3, 4), sample=normal, layouts="cts", **kw):
    return [Case(fn, [In(shape, lay, sample)], id=f"{lay}{shape}", **kw) for lay in layouts]


def binary(fn, sa=normal, sb=normal, **kw):
    specs = [
        ((3, 4), "c", (3, 4), "c"),
        ((3, 1), "c", (1, 4), "c"),  # both operands broadcast
        ((2, 3, 4), "s", (4,), "c"),  # rank broadcast, strided a
        ((4,), "c", (2, 3, 4), "t"),  # rank broadcast the other way, transposed b
        ((3, 4), "t", (3, 4), "s"),
    ]
    return [Case(fn, [In(a, la, sa), In(b, lb, sb)], id=f"{a}{la}-{b}{lb}", **kw) for a, la, b, lb in specs]


def no_ties(a, b):
    a, b = np.broadcast_arrays(a, b)
    return np.min(np.abs(a - b)) > 1e-3


def idx(v):
    return fg.tensor(np.asarray(v, np.int64))


MASK = fg.tensor(
    np.array([[True, False, True, True], [False, False, True, False], [True, True, False, True]])
)
X0_CONV = np.random.default_rng(7).standard_normal((2, 2, 4, 5))
W0_CONV = np.random.default_rng(8).standard_normal((3, 2, 2, 3))
X0_POOL = np.random.default_rng(9).standard_normal((2, 2, 5, 6))
CONV_ARGS = dict(stride=[1, 2], pad_lo=[1, 0], pad_hi=[0, 1], dilation=[1, 1], groups=1, channels_last=False)


def conv2d(x, w, b=None):
    return C.conv(x, w, b, **CONV_ARGS)


def conv_grad_input(g, w):
    with fg.enable_grad():
        x0 = fg.tensor(X0_CONV).requires_grad_()
        return fg.autograd.grad(conv2d(x0, w), x0, g, create_graph=True)[0]


def conv_grad_weight(x, g):
    with fg.enable_grad():
        w0 = fg.tensor(W0_CONV).requires_grad_()
        return fg.autograd.grad(conv2d(x, w0), w0, g, create_graph=True)[0]


def avg_pool(x, include_pad=True):
    return C.avg_pool(x, [2, 3], [2, 2], [1, 1], include_pad, False)


def pool_adjoint(pool, g):
    with fg.enable_grad():
        x0 = fg.tensor(X0_POOL).requires_grad_()
        return fg.autograd.grad(pool(x0), x0, g, create_graph=True)[0]


def adaptive(x):
    return C.adaptive_avg_pool(x, [2, 4], False)


def gelu_backward(x, g, approximate):
    """g * gelu'(x), reached as the create_graph VJP of gelu (w.r.t. a constant point)."""
    with fg.enable_grad():
        if not x.requires_grad:  # a leaf from make(): keeps its forward-mode tangent
            x.requires_grad = True
        y = fg.gelu(x, approximate=approximate)
        (d,) = fg.autograd.grad(y, x, g, create_graph=True)
    return d


def output_backward(fn):
    """g * f'(x) for f = tanh or sigmoid: the create_graph VJP of f, which is the fused
    tanh_backward / sigmoid_backward primitive applied to (f(x), g)."""

    def run(x, g):
        with fg.enable_grad():
            if not x.requires_grad:
                x.requires_grad = True
            (d,) = fg.autograd.grad(fn(x), x, g, create_graph=True)
        return d

    return run


def cast_square(x):
    h = C.cast(x, fg.float32)
    return C.cast(h * h, F64)
