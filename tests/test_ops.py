"""Forward values of every op against NumPy (float32 and float64), broadcasting with
Python scalars and NumPy arrays in both orders, reductions, softmax stability,
matmul shapes, shape ops, and error messages naming the op and the shapes."""

from __future__ import annotations

import math

import numpy as np
import pytest

import fastgrad as fg

DTYPES = [
    (fg.float32, np.float32, dict(rtol=2e-6, atol=1e-6)),
    (fg.float64, np.float64, dict(rtol=1e-13, atol=1e-14)),
]
erf_np = np.vectorize(math.erf)


def close(t, ref, tol):
    assert isinstance(t, fg.Tensor)
    a = np.asarray(t)
    assert a.shape == np.shape(ref), (a.shape, np.shape(ref))
    np.testing.assert_allclose(a, ref, **tol)


@pytest.fixture(params=DTYPES, ids=["f32", "f64"])
def dt(request):
    return request.param


def arr(rng, shape, npdt, lo=None, hi=None):
    a = rng.standard_normal(shape) if lo is None else rng.uniform(lo, hi, shape)
    return a.astype(npdt)


# ------------------------------------------------------------------ elementwise
UNARY = [
    ("exp", np.exp, None),
    ("log", np.log, (0.1, 3)),
    ("log1p", np.log1p, (-0.9, 3)),
    ("sqrt", np.sqrt, (0, 4)),
    ("abs", np.abs, None),
    ("sin", np.sin, None),
    ("cos", np.cos, None),
    ("tanh", np.tanh, None),
    ("sigmoid", lambda x: 1 / (1 + np.exp(-x)), None),
    ("relu", lambda x: np.maximum(x, 0), None),
    ("erf", erf_np, None),
    ("silu", lambda x: x / (1 + np.exp(-x)), None),
    ("softplus", lambda x: np.log1p(np.exp(x)), None),
    ("gelu", lambda x: 0.5 * x * (1 + erf_np(x / np.sqrt(2))), None),
]


@pytest.mark.parametrize("name,ref,dom", UNARY, ids=[u[0] for u in UNARY])
def test_unary_values(rng, dt, name, ref, dom):
    fdt, npdt, tol = dt
    a = arr(rng, (5, 7), npdt, *(dom or (None, None)))
    x = fg.tensor(a)
    assert x.dtype == fdt
    want = ref(a.astype(np.float64))
    close(getattr(fg, name)(x), want, tol)
    close(getattr(x, name)(), want, tol)
    close(getattr(fg, name)(x.T), want.T, tol)  # strided input


def test_gelu_tanh_softplus_beta_values(rng, dt):
    fdt, npdt, tol = dt
    a = arr(rng, (40,), npdt) * 3
    x = a.astype(np.float64)
    close(
        fg.gelu(fg.tensor(a), approximate="tanh"),
        0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3))),
        tol,
    )
    close(fg.softplus(fg.tensor(a), beta=2.0), np.log1p(np.exp(2 * x)) / 2, tol)
    with pytest.raises(ValueError, match="approximate"):
        fg.gelu(fg.tensor(a), approximate="fast")


def test_extreme_inputs_are_stable():
    x = fg.tensor(np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0]))
    np.testing.assert_allclose(
        np.asarray(fg.sigmoid(x)), [0, 1 / (1 + np.exp(50)), 0.5, 1 / (1 + np.exp(-50)), 1]
    )
    np.testing.assert_allclose(
        np.asarray(fg.softplus(x)), [0, np.log1p(np.exp(-50)), np.log(2), 50 + np.log1p(np.exp(-50)), 1000]
    )
    assert np.all(np.isfinite(np.asarray(fg.silu(x))))
    special = fg.tensor(np.array([-np.inf, np.nan, -0.0, 2.0, np.inf]))
    np.testing.assert_array_equal(np.asarray(fg.relu(special)), [0.0, np.nan, 0.0, 2.0, np.inf])
    np.testing.assert_array_equal(
        np.asarray(fg.relu(special.astype(fg.float32))), [0.0, np.nan, 0.0, 2.0, np.inf]
    )


BINARY = [("add", np.add), ("sub", np.subtract), ("mul", np.multiply), ("div", np.divide)]


@pytest.mark.parametrize("name,ref", BINARY, ids=[b[0] for b in BINARY])
@pytest.mark.parametrize(
    "sa,sb", [((3, 4), (3, 4)), ((3, 1), (1, 4)), ((2, 3, 4), (4,)), ((4,), (2, 1, 4)), ((), (3,))]
)
def test_binary_broadcast_values(rng, dt, name, ref, sa, sb):
    fdt, npdt, tol = dt
    a, b = arr(rng, sa, npdt), arr(rng, sb, npdt, 0.5, 2)
    want = ref(a.astype(np.float64), b.astype(np.float64))
    close(getattr(fg, name)(fg.tensor(a), fg.tensor(b)), want, tol)
    op = {"add": "__add__", "sub": "__sub__", "mul": "__mul__", "div": "__truediv__"}[name]
    close(getattr(fg.tensor(a), op)(fg.tensor(b)), want, tol)


def test_python_scalars_and_numpy_both_orders(rng, dt):
    fdt, npdt, tol = dt
    a = arr(rng, (3, 4), npdt, 0.5, 2)
    x = fg.tensor(a)
    A = a.astype(np.float64)
    cases = [
        (x + 2, A + 2),
        (2 + x, 2 + A),
        (x - 1.5, A - 1.5),
        (1.5 - x, 1.5 - A),
        (x * 3, A * 3),
        (3 * x, 3 * A),
        (x / 4, A / 4),
        (4 / x, 4 / A),
        (x**2, A**2),
        (2**x, 2**A),
        (-x, -A),
        (x**0.5, A**0.5),
        (x**-1, 1 / A),
    ]
    for got, want in cases:
        assert got.dtype == fdt
        close(got, want, tol)
    row = rng.standard_normal(4).astype(npdt)
    for got, want in [
        (x + row, A + row),
        (row + x, row + A),
        (x * row, A * row),
        (row - x, row - A),
        (row / x, row / A),
        (x @ row, A @ row),
        (row @ x.T, row @ A.T),
    ]:
        assert isinstance(got, fg.Tensor) and got.dtype == fdt
        close(got, want, tol)


def test_dtype_promotion():
    f32, f64 = fg.ones(2), fg.ones(2, dtype=fg.float64)
    i64, b = fg.tensor([1, 2]), fg.tensor([True, False])
    assert i64.dtype == fg.int64 and b.dtype == fg.bool
    assert (f32 + f64).dtype == fg.float64
    assert (f64 + f32).dtype == fg.float64
    assert (i64 + f32).dtype == fg.float32
    assert (i64 + i64).dtype == fg.int64
    assert (i64 / i64).dtype == fg.float32
    assert (b + b).dtype == fg.int64
    assert (f32 + 1).dtype == fg.float32 and (f64 * 2.5).dtype == fg.float64
    assert (i64 * 2).dtype == fg.int64
    np.testing.assert_array_equal(np.asarray(i64 * 2), [2, 4])
    np.testing.assert_array_equal(np.asarray(i64 / 2), [0.5, 1.0])
    assert fg.exp(i64).dtype == fg.float32
    assert fg.mean(i64).dtype == fg.float32


def test_int_tensor_times_python_float_promotes():
    i64 = fg.tensor([1, 2])
    assert (i64 + 0.5).dtype in (fg.float32, fg.float64)
    np.testing.assert_allclose(np.asarray(i64 * 0.5), [0.5, 1.0])


def test_maximum_minimum_clip_where(rng, dt):
    fdt, npdt, tol = dt
    a, b = arr(rng, (3, 4), npdt), arr(rng, (4,), npdt)
    close(fg.maximum(fg.tensor(a), fg.tensor(b)), np.maximum(a, b), tol)
    close(fg.minimum(fg.tensor(b), fg.tensor(a)), np.minimum(b, a), tol)
    close(fg.maximum(fg.tensor(a), 0.0), np.maximum(a, 0), tol)
    close(fg.clip(fg.tensor(a), -0.5, 0.5), np.clip(a, -0.5, 0.5), tol)
    close(fg.clip(fg.tensor(a), min=0.1), np.maximum(a, npdt(0.1)), tol)
    close(fg.clip(fg.tensor(a), max=0.1), np.minimum(a, npdt(0.1)), tol)
    cond = a > 0
    close(fg.where(fg.tensor(cond), fg.tensor(a), fg.tensor(b)), np.where(cond, a, b), tol)
    close(fg.where(fg.tensor(a) > 0, fg.tensor(a), 0.0), np.where(cond, a, 0), tol)


@pytest.mark.parametrize("npdt", [np.float32, np.float64, np.int64, np.bool_])
@pytest.mark.parametrize("layout", ["same", "scalar_a", "scalar_b", "row_b", "transposed", "strided"])
@pytest.mark.parametrize("n", [7, 1 << 19])  # one run, and several runs over the threads
def test_where_every_operand_layout_matches_numpy(npdt, layout, n):
    # where's kernel has a loop per inner-stride pattern (both operands walk, one is a
    # broadcast scalar, anything else): each must pick exactly the element NumPy picks,
    # NaN and infinities included.
    rng = np.random.default_rng(n)
    rows = 4
    cols = max(n // rows, 2)

    def values(shape):
        v = rng.standard_normal(shape) * 3
        if npdt == np.bool_:
            return v > 0
        v = v.astype(npdt)
        if np.issubdtype(npdt, np.floating):
            v.flat[:: max(v.size // 5, 1)] = np.nan
            v.flat[1 :: max(v.size // 3, 1)] = -np.inf
        return v

    cond = rng.random((rows, cols)) > 0.5
    a, b = values((rows, cols)), values((rows, cols))
    if layout == "scalar_a":
        a = values(())
    elif layout == "scalar_b":
        b = values(())
    elif layout == "row_b":
        b = values((cols,))
    elif layout == "transposed":
        a = np.ascontiguousarray(values((cols, rows))).T
        cond = np.ascontiguousarray(cond.T).T
    elif layout == "strided":
        a = values((rows, 2 * cols))[:, ::2]
        b = values((rows, 2 * cols))[:, 1::2]
    got = np.asarray(fg.where(fg.tensor(cond), fg.tensor(a), fg.tensor(b)))
    np.testing.assert_array_equal(got, np.where(cond, a, b))


def test_maximum_ties_split_gradient():
    x = fg.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    y = fg.tensor(np.array([1.0, 0.0, 3.0]), requires_grad=True)
    fg.sum(fg.maximum(x, y)).backward()
    np.testing.assert_array_equal(np.asarray(x.grad), [0.5, 1.0, 0.5])
    np.testing.assert_array_equal(np.asarray(y.grad), [0.5, 0.0, 0.5])
    z = fg.tensor(np.array([-1.0, 2.0]), requires_grad=True)
    fg.sum(fg.maximum(z, z)).backward()
    np.testing.assert_array_equal(np.asarray(z.grad), [1.0, 1.0])


def test_clip_gradient_passes_at_bounds():
    x = fg.tensor(np.array([-2.0, -1.0, 0.0, 1.0, 2.0]), requires_grad=True)
    fg.sum(fg.clip(x, -1.0, 1.0)).backward()
    np.testing.assert_array_equal(np.asarray(x.grad), [0, 1, 1, 1, 0])


def test_comparisons_and_logic():
    a = fg.tensor([1.0, 2.0, 3.0])
    for got, want in [
        (a < 2, [True, False, False]),
        (a <= 2, [True, True, False]),
        (a > 2, [False, False, True]),
        (a >= 2, [False, True, True]),
        (a == 2, [False, True, False]),
        (a != 2, [True, False, True]),
        (~(a < 2), [False, True, True]),
        ((a > 1) & (a < 3), [False, True, False]),
        ((a < 2) | (a > 2), [True, False, True]),
    ]:
        assert got.dtype == fg.bool
        np.testing.assert_array_equal(np.asarray(got), want)
    nan = fg.tensor([1.0, float("nan"), float("inf")])
    np.testing.assert_array_equal(np.asarray(fg.isnan(nan)), [False, True, False])
    np.testing.assert_array_equal(np.asarray(fg.isfinite(nan)), [True, False, False])
    np.testing.assert_array_equal(np.asarray(fg.sign(fg.tensor([-2.0, 0.0, 3.0]))), [-1, 0, 1])


# ------------------------------------------------------------------ reductions
AXES = [None, 0, 1, -1, (0, 2), (-1, 0), (0, 1, 2)]


@pytest.mark.parametrize("axis", AXES, ids=str)
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize(
    "name,ref",
    [
        ("sum", np.sum),
        ("mean", np.mean),
        ("max", np.max),
        ("min", np.min),
        ("prod", np.prod),
        ("logsumexp", None),
    ],
)
def test_reductions(rng, dt, name, ref, axis, keepdims):
    fdt, npdt, tol = dt
    a = arr(rng, (3, 4, 5), npdt, 0.5, 1.5)
    A = a.astype(np.float64)
    if ref is None:
        m = A.max(axis=axis, keepdims=True)
        want = np.log(np.sum(np.exp(A - m), axis=axis, keepdims=True)) + m
        if not keepdims:
            want = want.reshape(np.sum(A, axis=axis).shape)
    else:
        want = ref(A, axis=axis, keepdims=keepdims)
    x = fg.tensor(a)
    close(getattr(fg, name)(x, axis=axis, keepdims=keepdims), want, tol)
    close(
        getattr(fg, name)(
            fg.tensor(np.ascontiguousarray(a.transpose(2, 0, 1))).permute(1, 2, 0),
            axis=axis,
            keepdims=keepdims,
        ),
        want,
        tol,
    )  # strided input


@pytest.mark.parametrize("axis", [None, 0, -1, (0, 1)], ids=str)
@pytest.mark.parametrize("correction", [0, 1, 2])
def test_var_std(rng, dt, axis, correction):
    fdt, npdt, tol = dt
    a = arr(rng, (4, 6), npdt)
    A = a.astype(np.float64)
    close(fg.var(fg.tensor(a), axis=axis, correction=correction), np.var(A, axis=axis, ddof=correction), tol)
    close(
        fg.std(fg.tensor(a), axis=axis, correction=correction, keepdims=True),
        np.std(A, axis=axis, ddof=correction, keepdims=True),
        tol,
    )
    close(fg.tensor(a).var(axis=axis), np.var(A, axis=axis, ddof=1), tol)  # default correction=1 (as PyTorch)


def test_sum_large_float32_is_accurate():
    a = np.full(1 << 20, 0.1, np.float32)
    assert float(fg.sum(fg.tensor(a))) == pytest.approx(float(np.sum(a.astype(np.float64))), rel=1e-6)


def test_reductions_of_int_and_bool():
    i = fg.tensor(np.arange(12).reshape(3, 4))
    assert fg.sum(i).dtype == fg.int64 and int(fg.sum(i)) == 66
    np.testing.assert_array_equal(np.asarray(fg.max(i, axis=0)), [8, 9, 10, 11])
    assert int(fg.sum(fg.tensor([True, True, False]))) == 2


@pytest.mark.parametrize("axis", [None, 0, 1, -1])
@pytest.mark.parametrize("keepdims", [False, True])
def test_argmax_argmin(rng, axis, keepdims):
    a = rng.standard_normal((4, 5))
    x = fg.tensor(a)
    for fn, ref in [(fg.argmax, np.argmax), (fg.argmin, np.argmin)]:
        got = fn(x, axis=axis, keepdims=keepdims)
        assert got.dtype == fg.int64
        np.testing.assert_array_equal(np.asarray(got), ref(a, axis=axis, keepdims=keepdims))
    np.testing.assert_array_equal(np.asarray(fg.argmax(x.T, axis=axis)), np.argmax(a.T, axis=axis))
    ties = fg.tensor([1.0, 3.0, 3.0, 0.0])
    assert int(fg.argmax(ties)) == 1


def test_softmax_log_softmax_values_and_stability(rng, dt):
    fdt, npdt, tol = dt
    a = arr(rng, (3, 5), npdt)
    for shift in [0.0, 1000.0, -1000.0]:
        xs = (a + shift).astype(npdt)
        A = xs.astype(np.float64)
        e = np.exp(A - A.max(-1, keepdims=True))
        p = e / e.sum(-1, keepdims=True)
        x = fg.tensor(xs)
        close(fg.softmax(x), p, tol)
        lp = fg.log_softmax(x)
        np.testing.assert_allclose(
            np.asarray(lp), np.log(p), rtol=tol["rtol"], atol=1e-4 if npdt == np.float32 else 1e-10
        )
        assert np.isfinite(np.asarray(lp)).all()
    e0 = np.exp(a.astype(np.float64) - a.max(0))
    close(fg.softmax(fg.tensor(a), axis=0), e0 / e0.sum(0), tol)
    big = fg.tensor(np.array([[1e4, 0.0, -1e4]], npdt))
    np.testing.assert_array_equal(np.asarray(fg.softmax(big)), [[1, 0, 0]])
    np.testing.assert_allclose(np.asarray(fg.log_softmax(big)), [[0, -1e4, -2e4]])


# ------------------------------------------------------------------ matmul
MM = [
    ((3, 4), (4, 5)),
    ((4,), (4, 5)),
    ((3, 4), (4,)),
    ((4,), (4,)),
    ((2, 3, 4), (4, 5)),
    ((4, 5), (2, 5, 3)),
    ((2, 1, 3, 4), (5, 4, 2)),
    ((1, 7), (7, 1)),
    ((17, 33), (33, 9)),
    ((65, 31), (31, 70)),
    ((3, 0), (0, 4)),
]


@pytest.mark.parametrize("sa,sb", MM, ids=str)
@pytest.mark.parametrize("transpose", [False, True])
def test_matmul_vs_numpy(rng, dt, sa, sb, transpose):
    fdt, npdt, tol = dt
    a, b = arr(rng, sa, npdt), arr(rng, sb, npdt)
    want = np.matmul(a.astype(np.float64), b.astype(np.float64))
    ta, tb = fg.tensor(a), fg.tensor(b)
    if transpose:  # the same values through transposed (non-contiguous) operands
        if len(sa) >= 2:
            ta = fg.tensor(np.ascontiguousarray(np.swapaxes(a, -1, -2))).mT
            assert not ta.is_contiguous() or 1 in sa[-2:]
        if len(sb) >= 2:
            tb = fg.tensor(np.ascontiguousarray(np.swapaxes(b, -1, -2))).mT
    mt = dict(rtol=1e-5, atol=1e-5) if npdt == np.float32 else dict(rtol=1e-12, atol=1e-12)
    close(ta @ tb, want, mt)
    close(fg.matmul(ta, tb), want, mt)


def test_matmul_errors():
    with pytest.raises(ValueError, match=r"matmul.*\(3, 4\).*\(5, 2\)"):
        fg.ones(3, 4) @ fg.ones(5, 2)
    with pytest.raises(ValueError, match="matmul"):
        fg.matmul(fg.ones(()), fg.ones(3))
    with pytest.raises(ValueError, match=r"matmul.*\(2, 3, 4\).*\(4, 3, 4, 1\)"):
        fg.ones(2, 3, 4) @ fg.ones(4, 3, 4, 1)


# ------------------------------------------------------------------ shape ops
def test_shape_ops_values(rng):
    a = rng.standard_normal((2, 3, 4))
    x = fg.tensor(a)
    close(x.reshape(4, 6), a.reshape(4, 6), {})
    close(x.reshape(-1, 4), a.reshape(-1, 4), {})
    close(x.permute(2, 0, 1), a.transpose(2, 0, 1), {})
    close(x.permute(2, 0, 1).reshape(-1), a.transpose(2, 0, 1).reshape(-1), {})  # copy of a strided view
    close(x.transpose(0, 2), np.swapaxes(a, 0, 2), {})
    close(x.T, a.T, {})
    close(x.flatten(), a.reshape(-1), {})
    close(x.flatten(1), a.reshape(2, 12), {})
    close(fg.unsqueeze(x, 1), a[:, None], {})
    close(fg.unsqueeze(x, -1), a[..., None], {})
    close(fg.squeeze(fg.tensor(a[:, None, :, None])), a, {})
    close(fg.squeeze(fg.tensor(a[:, None]), axis=1), a, {})
    close(fg.broadcast_to(fg.tensor(a[:, :1]), (5, 2, 3, 4)), np.broadcast_to(a[:, :1], (5, 2, 3, 4)), {})
    close(x.expand(3, -1, -1, 4), np.broadcast_to(a, (3, 2, 3, 4)), {})
    assert x.reshape(4, 6)._data_ptr == x._data_ptr  # views share memory
    assert x.permute(2, 0, 1)._data_ptr == x._data_ptr


def test_concat_stack_split_pad(rng):
    a, b = rng.standard_normal((2, 3)), rng.standard_normal((2, 5))
    close(fg.concat([fg.tensor(a), fg.tensor(b)], axis=1), np.concatenate([a, b], 1), {})
    close(fg.concat([fg.tensor(a), fg.tensor(a)], axis=-2), np.concatenate([a, a], 0), {})
    close(fg.stack([fg.tensor(a), fg.tensor(a * 2)], axis=1), np.stack([a, a * 2], 1), {})
    close(fg.stack([fg.tensor(a), fg.tensor(a)], axis=-1), np.stack([a, a], -1), {})
    parts = fg.split(fg.tensor(b), 2, axis=1)
    for p, q in zip(parts, np.split(b, [2, 4], axis=1)):
        close(p, q, {})
    parts = fg.split(fg.tensor(b), [1, 4], axis=1)
    assert [p.shape for p in parts] == [(2, 1), (2, 4)]
    close(
        fg.pad(fg.tensor(a), ((1, 2), (0, 3)), value=-1.0),
        np.pad(a, ((1, 2), (0, 3)), constant_values=-1),
        {},
    )
    close(fg.pad(fg.tensor(a), 1), np.pad(a, 1), {})
    close(fg.pad(fg.tensor(a), (2, 0)), np.pad(a, (2, 0)), {})


def test_concat_split_gradients(rng):
    a = fg.tensor(rng.standard_normal((2, 3)), requires_grad=True)
    b = fg.tensor(rng.standard_normal((2, 2)), requires_grad=True)
    c = fg.concat([a, b], axis=1)
    w = rng.standard_normal((2, 5))
    fg.sum(c * fg.tensor(w)).backward()
    np.testing.assert_array_equal(np.asarray(a.grad), w[:, :3])
    np.testing.assert_array_equal(np.asarray(b.grad), w[:, 3:])
    x = fg.tensor(rng.standard_normal(5), requires_grad=True)
    p, q = fg.split(x, [2, 3])
    fg.sum(p * 2.0 + fg.sum(q) * 0.0).backward()
    np.testing.assert_array_equal(np.asarray(x.grad), [2, 2, 0, 0, 0])


# ------------------------------------------------------------------ errors name op and shapes
def test_broadcast_error_names_op_and_shapes():
    with pytest.raises(ValueError, match=r"add.*\(3, 4\).*\(5,\)"):
        fg.ones(3, 4) + fg.ones(5)
    with pytest.raises(ValueError, match=r"mul.*\(2, 3\).*\(3, 2\)"):
        fg.mul(fg.ones(2, 3), fg.ones(3, 2))
    with pytest.raises(ValueError, match=r"maximum.*\(2,\).*\(3,\)"):
        fg.maximum(fg.ones(2), fg.ones(3))
    with pytest.raises(ValueError, match=r"where"):
        fg.where(fg.ones(2) > 0, fg.ones(3), fg.ones(2))


def test_shape_errors():
    with pytest.raises(ValueError, match=r"reshape.*\(2, 3\).*\(4,\)"):
        fg.ones(2, 3).reshape(4)
    with pytest.raises(ValueError, match=r"concat.*\(2, 3\).*\(3, 3\)"):
        fg.concat([fg.ones(2, 3), fg.ones(3, 3)], axis=1)
    with pytest.raises(ValueError, match=r"stack.*\(2,\).*\(3,\)"):
        fg.stack([fg.ones(2), fg.ones(3)])
    with pytest.raises(ValueError, match=r"split"):
        fg.split(fg.ones(5), [2, 2])
    with pytest.raises(ValueError, match=r"expand.*\(3,\).*\(4,\)"):
        fg.broadcast_to(fg.ones(3), (4,))
    with pytest.raises(ValueError, match=r"squeeze.*\(2, 3\)"):
        fg.squeeze(fg.ones(2, 3), axis=0)
    with pytest.raises(IndexError, match=r"sum.*axis 2"):
        fg.sum(fg.ones(2, 3), axis=2)
    with pytest.raises(ValueError, match="pad"):
        fg.pad(fg.ones(2, 3), ((1, 1),) * 3)


def test_dtype_errors():
    with pytest.raises(TypeError, match=r"exp|float"):
        fg.softmax(fg.tensor([1, 2]))
    with pytest.raises(TypeError, match=r"int64"):
        fg._C.index_select(fg.ones(3), 0, fg.tensor([0.0]))


# ---- one op surface: each op is one binding, fg.<op> and Tensor.<op> alike
METHOD_OPS = (
    "exp log log1p sqrt abs sin cos tanh sigmoid relu silu erf sign gelu softplus clip maximum minimum "
    "pow matmul sum mean var std prod logsumexp argmax argmin softmax log_softmax reshape transpose "
    "permute flatten squeeze unsqueeze expand broadcast_to detach"
).split()


@pytest.mark.parametrize("name", METHOD_OPS)
def test_function_and_method_are_one_binding(name):
    f = getattr(fg, name)
    # pybind11 classes hand out the instancemethod wrapper itself; it wraps fg.<name>.
    assert getattr(fg.Tensor, name).__func__ is f, name
    assert f.__doc__ and name in f.__doc__.split("(")[0], name


PROTOCOL_METHODS = "item numpy tolist requires_grad_ float double long max min T mT".split()


def _documented(obj) -> bool:
    """pybind11 puts the signature on the first line; the docstring proper must follow."""
    doc = (getattr(obj, "__doc__", None) or "").strip()
    return len(doc.split("\n", 1)) == 2 and bool(doc.split("\n", 1)[1].strip())


def test_bound_callables_have_docstrings():
    assert (fg.Tensor.__doc__ or "").strip()
    names = [n for n in fg.ops.__all__ if n != "Tensor"]
    assert not [n for n in names if not _documented(getattr(fg.ops, n))]
    methods = METHOD_OPS + PROTOCOL_METHODS
    undocumented = [n for n in methods if not (getattr(fg.Tensor, n).__doc__ or "").strip()]
    assert not undocumented, undocumented


def test_array_likes_convert_in_cpp_with_the_op_name():
    close(fg.exp([1.0, 2.0]), np.exp(np.float32([1.0, 2.0])), DTYPES[0][2])
    assert fg.exp([1.0, 2.0]).dtype == fg.float32
    assert fg.sum(np.arange(3.0)).dtype == fg.float64
    assert fg.reshape([1, 2, 3, 4], 2, 2).shape == (2, 2)
    with pytest.raises(TypeError, match=r"exp: argument 'x' must be a Tensor"):
        fg.exp("abc")
    with pytest.raises(TypeError, match=r"softmax: argument 'x'"):
        fg.softmax(object())
    with pytest.raises(TypeError, match=r"tanh: argument 'x'.*inhomogeneous"):
        fg.tanh([[1.0], [2.0, 3.0]])


def test_gelu_approximate_checked_once_in_cpp():
    x = fg.tensor([0.5, -1.0])
    np.testing.assert_allclose(np.asarray(fg.gelu(x, approximate="tanh")), np.asarray(x.gelu("tanh")))
    for bad in ("erf", True, None):
        with pytest.raises(ValueError, match=r"gelu: approximate must be 'none' or 'tanh'"):
            fg.gelu(x, approximate=bad)


def test_shape_methods_take_dims_or_a_sequence():
    x = fg.arange(6)
    assert x.reshape(2, 3).shape == x.reshape((2, 3)).shape == fg.reshape(x, [2, 3]).shape == (2, 3)
    assert x.view(3, 2).shape == (3, 2)
    y = x.reshape(1, 2, 3)
    assert y.permute(2, 0, 1).shape == y.permute([2, 0, 1]).shape == (3, 1, 2)
    assert y.expand(4, -1, -1).shape == (4, 2, 3)
    with pytest.raises(TypeError, match="reshape"):
        x.reshape(2.0, 3)


@pytest.mark.parametrize("op", ["abs", "sign", "sum", "exp", "neg_via_mul", "add", "reshape"])
def test_array_like_arguments_convert_by_fg_tensor_rules(op):
    """An op's array-like argument converts exactly as fg.tensor(data): an int outside int64
    raises OverflowError naming the op (not a silent float32), ints stay int64, nested
    floats are float32, NumPy float64 stays float64."""
    call = {
        "abs": lambda a: fg.abs(a),
        "sign": lambda a: fg.sign(a),
        "sum": lambda a: fg.sum(a),
        "exp": lambda a: fg.exp(a),
        "neg_via_mul": lambda a: fg.mul(a, -1),
        "add": lambda a: fg.add(a, a),
        "reshape": lambda a: fg.reshape(a, -1),
    }[op]
    name = {"neg_via_mul": "mul"}.get(op, op)
    with pytest.raises(OverflowError, match=rf"{name}: .*int64 range"):
        call([1, 2**63])
    with pytest.raises(OverflowError):
        fg.tensor([1, 2**63])
    if op not in ("exp",):
        assert call([1, 2]).dtype == fg.tensor([1, 2]).dtype == fg.int64
    assert call([[1.5], [2.5]]).dtype == fg.float32
    assert call(np.array([1.5, 2.5])).dtype == fg.float64
