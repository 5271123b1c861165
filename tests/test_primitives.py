"""Registry-driven gradient check of every primitive (issue 3, item 8).

TABLE maps every name in ``fg._C.primitives()`` to sample cases. Each case is a
function of float64 input tensors (constants such as indices and conditions are
closed over) plus input specs (shape, memory layout, value sampler). For every case:

* VJP: ``fg.autograd.grad`` with a random cotangent w against central finite
  differences of <w, f(x)>, coordinate by coordinate;
* JVP: the forward-mode levels (push_jvp_level/_set_tangent/_tangent) against the
  central difference of f along a random tangent;
* second order: the VJP of x -> <u, grad <w, f>(x)> taken with create_graph=True, and
  the forward-mode tangent of that gradient (forward-over-reverse), both against
  finite differences of the analytic gradient.

Inputs are leaves that may be non-contiguous ("t": a transposed view, "s": a strided
slice at a nonzero offset), so kernels and rules see strides and offsets. Points are
chosen away from kinks (relu/abs at 0, clip bounds, ties of max/min).
"""

from __future__ import annotations

import importlib
import pathlib

import numpy as np
import pytest

import fastgrad as fg
from _primitive_helpers import (
    ATOL,
    EPS,
    F64,
    MASK,
    RTOL,
    C,
    Case,
    In,
    adaptive,
    avg_pool,
    avoid,
    away0,
    binary,
    cast_square,
    conv2d,
    conv_grad_input,
    conv_grad_weight,
    distinct,
    draw,
    fd_gradient,
    first_grad,
    gelu_backward,
    grid,
    idx,
    make,
    no_ties,
    off_tenths,
    output_backward,
    points,
    pool_adjoint,
    positive,
    tenths,
    unary,
    value,
)

# ------------------------------------------------------------------ the table
TABLE: dict[str, list[Case]] = {
    # binary elementwise (broadcasting in both directions, strided operands)
    "add": binary(lambda a, b: a + b),
    "sub": binary(lambda a, b: a - b),
    "mul": binary(lambda a, b: a * b),
    "div": binary(lambda a, b: a / b, sb=away0),
    "pow": binary(lambda a, b: fg.pow(a, b), sa=positive)
    # exponent 0 at base 0: d a^b / da = 0 (as PyTorch and pow_scalar), not 0 * inf
    # (the exponent is a constant: finite differences in it are undefined at base 0)
    + [
        Case(
            lambda a: fg.pow(a, fg.tensor([0.0, 2.5, 0.0, 0.0], dtype=F64)),
            [In((4,), "c", lambda r, s: np.array([0.0, 0.9, 1.3, 0.0]))],
            id="zero-base-zero-exp",
            second=False,
        )
    ],
    "maximum": binary(fg.maximum, sa=tenths, sb=off_tenths, precond=no_ties)
    + [Case(lambda a: fg.maximum(a, a), [In((5,))], id="tie")],
    "minimum": binary(fg.minimum, sa=off_tenths, sb=tenths, precond=no_ties)
    + [Case(lambda a: fg.minimum(a, a), [In((5,))], id="tie")],
    # Python-scalar forms
    "add_scalar": unary(lambda x: x + 2.5) + unary(lambda x: 1.5 + x, layouts="c"),
    "mul_scalar": unary(lambda x: x * -1.5) + unary(lambda x: x / 4.0, layouts="s"),
    "rsub_scalar": unary(lambda x: 2.0 - x),
    "rdiv_scalar": unary(lambda x: 3.0 / x, sample=away0),
    "pow_scalar": (
        unary(lambda x: x**3)
        + unary(lambda x: x**2, layouts="t")
        + unary(lambda x: x**0.5, sample=positive, layouts="s")
        + unary(lambda x: x**-1.5, sample=positive, layouts="c")
        + unary(lambda x: x**1.0, layouts="c")
        + unary(lambda x: x**0.0, layouts="c")
    ),
    # unary math
    "neg": unary(lambda x: -x),
    "exp": unary(fg.exp),
    "log": unary(fg.log, sample=positive),
    "log1p": unary(fg.log1p, sample=avoid(-1.0, lo=-0.7, hi=3.0)),
    "sqrt": unary(fg.sqrt, sample=positive),
    "abs": unary(fg.abs, sample=away0),
    "sin": unary(fg.sin),
    "cos": unary(fg.cos),
    "tanh": unary(fg.tanh),
    "sigmoid": unary(fg.sigmoid)
    + unary(fg.sigmoid, shape=(6,), sample=lambda r, s: 8 * r.standard_normal(s), layouts="c"),
    "relu": unary(fg.relu, sample=away0),
    "erf": unary(fg.erf),
    "silu": unary(fg.silu),
    "gelu": unary(fg.gelu) + unary(lambda x: fg.gelu(x, approximate="tanh")),
    "tanh_backward": [
        Case(output_backward(fg.tanh), [In((3, 4), lx), In((3, 4), lg)], id=f"{lx}{lg}")
        for lx, lg in (("c", "c"), ("t", "s"))
    ],
    "sigmoid_backward": [
        Case(output_backward(fg.sigmoid), [In((3, 4), lx), In((3, 4), lg)], id=f"{lx}{lg}")
        for lx, lg in (("c", "c"), ("s", "t"))
    ],
    "silu_backward": [  # g * silu'(x): the create_graph VJP of silu
        Case(output_backward(fg.silu), [In((3, 4), lx), In((3, 4), lg)], id=f"{lx}{lg}")
        for lx, lg in (("c", "c"), ("t", "s"))
    ],
    "softplus_backward": [  # g * sigmoid(x) below the threshold (beta 1), g above
        Case(output_backward(fg.softplus), [In((3, 4), "c"), In((3, 4), "c")], id="cc"),
        Case(
            output_backward(lambda x: fg.softplus(x, threshold=0.6)),
            [In((3, 4), "s", sample=avoid(0.6)), In((3, 4), "t")],
            id="threshold-st",
        ),
    ],
    "gelu_backward": [
        Case(lambda x, g: gelu_backward(x, g, a), [In((3, 4), lx), In((3, 4), lg)], id=f"{a}-{lx}{lg}")
        for a, lx, lg in [("none", "c", "t"), ("tanh", "s", "c"), ("none", "t", "s")]
    ],
    "softplus": (
        unary(fg.softplus)
        + unary(lambda x: fg.softplus(x, beta=2.5), layouts="t")
        # both sides of PyTorch's threshold: x itself where beta*x > threshold
        + unary(lambda x: fg.softplus(x, beta=3.0, threshold=0.6), sample=avoid(0.2), layouts="cs")
    ),
    "clip": (
        unary(lambda x: fg.clip(x, -0.5, 0.7), sample=avoid(-0.5, 0.7))
        + unary(lambda x: fg.clip(x, min=0.3), sample=avoid(0.3), layouts="c")
        + unary(lambda x: fg.clip(x, max=-0.2), sample=avoid(-0.2), layouts="t")
    ),
    "where": [
        Case(lambda a, b: fg.where(MASK, a, b), [In((3, 4), "t"), In((3, 4), "s")], id="same"),
        Case(lambda a, b: fg.where(MASK, a, b), [In((3, 1)), In((4,))], id="broadcast"),
        Case(lambda a: fg.where(MASK, a, 0.0), [In((3, 4))], id="scalar"),
    ],
    "cast": [
        Case(cast_square, [In((3, 4), "c", grid)], exact_grid=True, id="f64->f32->f64"),
        Case(
            lambda x: C.cast(C.cast(x, fg.float32), F64),
            [In((2, 3), "t", grid)],
            exact_grid=True,
            id="roundtrip",
        ),
    ],
    "clone": unary(lambda x: x.clone()),
    # reductions
    "sum": [
        Case(lambda x: fg.sum(x), [In((3, 4), "t")], id="all"),
        Case(lambda x: fg.sum(x, axis=1), [In((3, 4), "s")], id="axis1"),
        Case(lambda x: fg.sum(x, axis=(0, 2), keepdims=True), [In((2, 3, 4), "t")], id="tuple-keep"),
        Case(lambda x: fg.sum(x, axis=-1), [In((2, 3, 4))], id="neg"),
        Case(lambda x: fg.sum(x, axis=0), [In((5, 3))], id="leading"),
    ],
    "amax": [
        Case(lambda x: fg.max(x), [In((3, 4), "t", distinct)], id="all"),
        Case(lambda x: fg.max(x, axis=1), [In((3, 4), "s", distinct)], id="axis1"),
        Case(
            lambda x: fg.max(x, axis=(0, 2), keepdims=True), [In((2, 3, 4), "c", distinct)], id="tuple-keep"
        ),
    ],
    "amin": [
        Case(lambda x: fg.min(x), [In((3, 4), "c", distinct)], id="all"),
        Case(lambda x: fg.min(x, axis=-2, keepdims=True), [In((3, 4), "t", distinct)], id="neg-keep"),
    ],
    "prod": [
        Case(lambda x: fg.prod(x, axis=1), [In((3, 4), "s", away0)], id="axis1"),
        Case(lambda x: fg.prod(x), [In((2, 3), "t", away0)], id="all"),
        # prod is a polynomial: exact zeros are fine points for finite differences
        Case(
            lambda x: fg.prod(x, axis=1),
            [
                In(
                    (3, 4),
                    "c",
                    lambda r, s: away0(r, s) * np.array([[1, 1, 0, 1], [1, 1, 1, 1], [0, 1, 1, 1]]),
                )
            ],
            id="one-zero",
        ),
        Case(
            lambda x: fg.prod(x, axis=0),
            [In((3, 2), "c", lambda r, s: away0(r, s) * np.array([[0, 1], [0, 0], [1, 0]]))],
            id="two-zeros",
        ),
    ],
    "softmax": [
        Case(lambda x: fg.softmax(x), [In((3, 4), "t")], id="last"),
        Case(lambda x: fg.softmax(x, axis=0), [In((3, 4), "s")], id="axis0"),
        Case(lambda x: fg.softmax(x, axis=1), [In((2, 3, 4))], id="middle"),
    ],
    "log_softmax": [
        Case(lambda x: fg.log_softmax(x), [In((3, 4), "s")], id="last"),
        Case(lambda x: fg.log_softmax(x, axis=0), [In((3, 4), "t")], id="axis0"),
    ],
    "logsumexp": [
        Case(lambda x: fg.logsumexp(x), [In((3, 4), "t")], id="all"),
        Case(lambda x: fg.logsumexp(x, axis=1, keepdims=True), [In((3, 4), "s")], id="axis1-keep"),
        Case(lambda x: fg.logsumexp(x, axis=1), [In((2, 3, 4))], id="middle"),
        Case(lambda x: fg.logsumexp(x, axis=(0, 2)), [In((2, 3, 4), "t")], id="tuple"),
    ],
    "softmax_cross_entropy": [
        Case(lambda z: C.softmax_cross_entropy(z, idx([1, 0, 4, 2])), [In((4, 5), "t")], id="index"),
        Case(lambda z: C.softmax_cross_entropy(z, idx([3, -100, 0])), [In((3, 4), "s")], id="ignore"),
        Case(lambda z, q: C.softmax_cross_entropy(z, q), [In((3, 4)), In((3, 4), "t", positive)], id="probs"),
    ],
    # linear algebra
    "linear": [
        Case(
            lambda x, w, b: C.linear(x, w, b, True), [In((5, 3)), In((4, 3), "t"), In((4,))], id="torch-bias"
        ),
        Case(lambda x, w: C.linear(x, w, None, False), [In((2, 3, 3), "s"), In((3, 4))], id="jax-batched"),
        Case(lambda x, w, b: C.linear(x, w, b, True), [In((3,)), In((4, 3)), In((4,))], id="vector"),
        Case(
            lambda x, w, b: C.linear(x, w, b, True, "tanh"),
            [In((5, 3)), In((4, 3)), In((4,))],
            id="fused-tanh",
        ),
        Case(
            lambda x, w, b: C.linear(x, w, b, False, "sigmoid"),
            [In((5, 3), "t"), In((3, 4)), In((4,))],
            id="fused-sigmoid",
        ),
    ],
    "matmul": [
        Case(lambda a, b: a @ b, [In((3, 4)), In((4, 5))], id="2d"),
        Case(lambda a, b: a @ b, [In((3, 4), "t"), In((4, 2), "t")], id="transposed"),
        Case(lambda a, b: a @ b, [In((2, 3, 4), "s"), In((4, 3))], id="batched-broadcast"),
        Case(lambda a, b: a @ b, [In((2, 1, 3, 4)), In((3, 4, 2), "t")], id="batch-broadcast-both"),
        Case(lambda a, b: fg.matmul(a, b), [In((4,)), In((4, 3))], id="vec-mat", node=None),
        Case(lambda a, b: fg.matmul(a, b), [In((2, 3, 4)), In((4,), "s")], id="mat-vec", node=None),
        Case(lambda a, b: fg.matmul(a, b), [In((5,), "s"), In((5,))], id="vec-vec", node=None),
    ],
    # shapes
    "reshape": [
        Case(lambda x: x.reshape(4, 3), [In((3, 4))], id="view"),
        Case(lambda x: x.reshape(-1), [In((3, 4), "t")], id="copy"),
        Case(lambda x: x.reshape(2, 1, 6), [In((3, 4), "s")], id="strided"),
    ],
    "permute": [
        Case(lambda x: x.permute(2, 0, 1), [In((2, 3, 4), "t")]),
        Case(lambda x: x.T, [In((3, 4))], id="T"),
    ],
    "expand": [
        Case(lambda x: x.broadcast_to((2, 3, 4)), [In((3, 1), "c")], id="lead+inner"),
        Case(lambda x: fg.broadcast_to(x, (3, 4)), [In((4,), "s")], id="rows"),
    ],
    "slice": [
        Case(lambda x: x[1:3, ::2], [In((4, 5), "t")], id="basic"),
        Case(lambda x: x[..., 1], [In((2, 3, 4), "s")], id="int", node=None),
        Case(lambda x: x[:, None, 1::3], [In((3, 7))], id="none", node=None),
    ],
    "slice_scatter": [
        Case(lambda g: C.slice_scatter(g, [4, 5], [(1, 3, 1), (0, 5, 2)]), [In((2, 3), "t")]),
    ],
    "concat": [
        Case(
            lambda a, b, c: fg.concat([a, b, c], axis=1),
            [In((2, 3), "t"), In((2, 1)), In((2, 2), "s")],
            id="axis1",
        ),
        Case(lambda a, b: fg.concat([a, b], axis=0), [In((1, 3)), In((2, 3), "t")], id="axis0"),
        Case(lambda a, b: fg.stack([a, b], axis=1), [In((2, 3), "s"), In((2, 3))], id="stack"),
    ],
    "pad": [
        Case(lambda x: fg.pad(x, ((1, 0), (2, 1)), value=0.5), [In((2, 3), "t")], id="2d"),
        Case(lambda x: fg.pad(x, 1), [In((3,), "s")], id="int"),
    ],
    "index_select": [
        Case(lambda x: x[idx([2, 0, 2, -1])], [In((3, 4), "t")], id="dup-rows"),
        Case(lambda x: C.index_select(x, 1, idx([[1, 1], [3, 0]])), [In((2, 4, 3), "s")], id="axis1-2d"),
        Case(lambda x: x[MASK], [In((3, 4), "t")], id="bool-mask"),
        Case(lambda x: x[idx([0, 2, 2]), idx([1, 3, 1])], [In((3, 4))], id="pairs"),
    ],
    "index_add": [
        Case(lambda g: C.index_add(g, [4, 3], 0, idx([1, 1, 3, -4, 1])), [In((5, 3), "t")], id="dups"),
        Case(lambda g: C.index_add(g, [2, 5], 1, idx([4, 0, 4])), [In((2, 3), "s")], id="axis1"),
    ],
    # convolution and pooling
    "conv": [
        Case(conv2d, [In((2, 2, 4, 5), "t"), In((3, 2, 2, 3), "s")], id="2d-strided-pad"),
        Case(lambda x, w, b: conv2d(x, w, b), [In((2, 2, 4, 5)), In((3, 2, 2, 3), "t"), In((3,))], id="bias"),
        Case(
            lambda x, w: C.conv(x, w, None, [1], [2], [1], [2], 2, True),
            [In((2, 6, 4), "s"), In((4, 3, 2))],
            id="1d-nlc-groups-dilation",
        ),
        Case(
            lambda x, w, b: C.conv(x, w, b, [1, 1], [1, 1], [1, 1], [1, 1], 1, False, "tanh"),
            [In((2, 2, 4, 5)), In((3, 2, 2, 3)), In((3,))],
            id="fused-tanh",
        ),
    ],
    "conv_grad_input": [Case(conv_grad_input, [In((2, 3, 4, 2), "t"), In((3, 2, 2, 3))])],
    "conv_grad_weight": [Case(conv_grad_weight, [In((2, 2, 4, 5)), In((2, 3, 4, 2), "s")])],
    "max_pool": [
        Case(
            lambda x: C.max_pool(x, [2, 3], [2, 2], [1, 1], False),
            [In((2, 2, 5, 6), "t", distinct)],
            id="nchw",
        ),
        Case(lambda x: C.max_pool(x, [3], [2], [0], True), [In((2, 7, 3), "s", distinct)], id="1d-nlc"),
    ],
    "avg_pool": [
        Case(lambda x: avg_pool(x, True), [In((2, 2, 5, 6), "t")], id="count-pad"),
        Case(lambda x: avg_pool(x, False), [In((2, 2, 5, 6), "s")], id="exclude-pad"),
    ],
    "adaptive_avg_pool": [Case(adaptive, [In((2, 2, 5, 6), "t")])],
    "avg_pool_adjoint": [
        Case(lambda g: pool_adjoint(lambda x: avg_pool(x, True), g), [In((2, 2, 3, 3), "t")], id="count-pad"),
        Case(lambda g: pool_adjoint(lambda x: avg_pool(x, False), g), [In((2, 2, 3, 3))], id="exclude-pad"),
    ],
    "adaptive_avg_pool_adjoint": [Case(lambda g: pool_adjoint(adaptive, g), [In((2, 2, 2, 4), "s")])],
}


# Further areas keep their cases in tests/_cases_<area>.py, each a CASES dict built with the
# helpers of _primitive_helpers; a name must not be claimed twice.
for _path in sorted(pathlib.Path(__file__).parent.glob("_cases_*.py")):
    _extra = importlib.import_module(_path.stem).CASES
    _twice = set(_extra) & set(TABLE)
    assert not _twice, f"{_path.name} repeats cases of {sorted(_twice)}"
    TABLE.update(_extra)

CASES = [
    pytest.param(name, case, id=f"{name}-{case.id or i}")
    for name, cases in TABLE.items()
    for i, case in enumerate(cases)
]


def test_every_primitive_has_cases():
    registered = set(C.primitives())
    assert len(registered) == len(C.primitives()), "a primitive name is registered twice"
    assert set(TABLE) == registered, (
        f"missing cases: {sorted(registered - set(TABLE))}; stale entries: {sorted(set(TABLE) - registered)}"
    )
    assert all(TABLE[n] for n in TABLE)


def _seed(name, case):
    return np.random.default_rng([ord(c) for c in f"{name}/{case.id}"])


@pytest.mark.parametrize("name,case", CASES)
def test_vjp(name, case):
    rng = _seed(name, case)
    arrs = points(case, rng)
    eps = 1 / 16 if case.exact_grid else EPS
    y0 = value(case, arrs)
    w = draw(case, rng, y0.shape)
    leaves, y, gs = first_grad(case, arrs, w)
    if case.node is not None:
        assert y.grad_fn == (name if case.node == "__name__" else case.node)
    np.testing.assert_array_equal(np.asarray(y), y0)
    fd = fd_gradient(lambda xs: float(np.sum(w * value(case, xs))), arrs, eps)
    for i, (g, f, leaf) in enumerate(zip(gs, fd, leaves)):
        assert g is not None and g.shape == leaf.shape and g.dtype == F64
        np.testing.assert_allclose(np.asarray(g), f, rtol=RTOL, atol=ATOL, err_msg=f"{name}: d/dx{i}")


def _jvp(case, arrs, vs):
    level = C.push_jvp_level()
    try:
        with fg.no_grad():
            xs = [make(a, s.layout) for a, s in zip(arrs, case.inputs)]
            for x, v, s in zip(xs, vs, case.inputs):
                x._set_tangent(level, make(v, s.layout))
            y = case.fn(*xs)
            t = y._tangent(level)
    finally:
        C.pop_jvp_level(level)
    assert t is not None, "output carries no tangent"
    assert t.shape == y.shape and t.dtype == F64
    return np.array(t)


@pytest.mark.parametrize("name,case", CASES)
def test_jvp(name, case):
    rng = _seed(name, case)
    arrs = points(case, rng)
    eps = 1 / 16 if case.exact_grid else EPS
    vs = [draw(case, rng, a.shape) for a in arrs]
    t = _jvp(case, arrs, vs)
    hi = value(case, [a + eps * v for a, v in zip(arrs, vs)])
    lo = value(case, [a - eps * v for a, v in zip(arrs, vs)])
    np.testing.assert_allclose(t, (hi - lo) / (2 * eps), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("name,case", [c for c in CASES if c.values[1].second])
def test_second_order(name, case):
    """Reverse-over-reverse and forward-over-reverse against FD of the analytic gradient."""
    rng = _seed(name, case)
    arrs = points(case, rng)
    eps = 1 / 16 if case.exact_grid else EPS
    w = draw(case, rng, value(case, arrs).shape)
    us = [draw(case, rng, a.shape) for a in arrs]
    vs = [draw(case, rng, a.shape) for a in arrs]

    def grads_np(xs):
        return [np.array(g) for g in first_grad(case, xs, w)[2]]

    # reverse over reverse: d/dx <u, grad(x)>
    leaves, _, gs = first_grad(case, arrs, w, create_graph=True)
    s = None
    for g, u in zip(gs, us):
        term = fg.sum(g * fg.tensor(u))
        s = term if s is None else s + term
    if s.requires_grad:
        hs = fg.autograd.grad(s, leaves, allow_unused=True)
    else:  # the gradient is constant (f is linear in every input)
        hs = [None] * len(leaves)
    fd = fd_gradient(lambda xs: float(sum(np.sum(u * g) for u, g in zip(us, grads_np(xs)))), arrs, eps)
    for i, (h, f) in enumerate(zip(hs, fd)):
        h = np.zeros_like(f) if h is None else np.asarray(h)
        np.testing.assert_allclose(
            h, f, rtol=RTOL, atol=ATOL, err_msg=f"{name}: Hessian-vector product, input {i}"
        )

    # forward over reverse: tangent of the gradient along v
    level = C.push_jvp_level()
    try:
        leaves = [make(a, sp.layout, True) for a, sp in zip(arrs, case.inputs)]
        for x, v, sp in zip(leaves, vs, case.inputs):
            x._set_tangent(level, make(v, sp.layout))
        gs = first_grad(case, arrs, w, leaves=leaves)[2]
        tans = [g._tangent(level) for g in gs]
    finally:
        C.pop_jvp_level(level)
    hi = grads_np([a + eps * v for a, v in zip(arrs, vs)])
    lo = grads_np([a - eps * v for a, v in zip(arrs, vs)])
    for i, (t, a, b) in enumerate(zip(tans, hi, lo)):
        t = np.zeros_like(a) if t is None else np.asarray(t)
        np.testing.assert_allclose(
            t, (a - b) / (2 * eps), rtol=RTOL, atol=ATOL, err_msg=f"{name}: forward-over-reverse, input {i}"
        )
