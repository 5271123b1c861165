"""Integers stay exact, bools stay bools (issue 10, items 5, 6 and the cast part of 10).

* int64 values near 2**53 .. 2**63 survive every int64 op and factory bit for bit
  (NumPy int64 is the oracle, wrapping included), with Python-int operands on either
  side; int64 ops keep int64 (abs, clip, matmul, sum, prod, ...); true division is float.
* A Python int outside int64 raises OverflowError wherever it enters (operands, factories,
  shapes, axes, bounds, fills), never SystemError or a wrapped value.
* Non-finite floats cast to int64 saturate (NaN -> 0, +inf -> INT64_MAX, -inf -> INT64_MIN);
  ``full``/``fill_`` with a float that does not fit int64 raise RuntimeError (PyTorch).
* Bool bytes that are not 0/1 are normalised on every entry path (fg.tensor, from_numpy,
  from_dlpack, fg.load, index masks), checked through sum, masks, logical ops, where, casts.
"""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest
import torch

import fastgrad as fg

I64 = np.iinfo(np.int64)
EDGE = [
    0,
    1,
    -1,
    3,
    2**53 - 1,
    2**53,
    2**53 + 1,
    2**62 + 1,
    2**63 - 1,
    2**63 - 2,
    -(2**63),
    -(2**63) + 1,
    -(2**53 + 1),
    6917529027641081859,
]
A = np.array(EDGE, dtype=np.int64)
B = np.array(EDGE[::-1], dtype=np.int64)


def same(t, ref):
    """Bit-exact equality with dtype int64 (or bool) preserved."""
    ref = np.asarray(ref)
    got = np.asarray(t)
    assert got.dtype == ref.dtype, (got.dtype, ref.dtype)
    assert got.shape == ref.shape
    np.testing.assert_array_equal(got, ref)


def ft(a):
    return fg.tensor(np.asarray(a, dtype=np.int64))


# ------------------------------------------------------------------ exact int64 arithmetic
@pytest.mark.parametrize("op", ["add", "sub", "mul"])
def test_binary_ops_exact_and_wrapping(op):
    f = {"add": np.add, "sub": np.subtract, "mul": np.multiply}[op]
    with np.errstate(over="ignore"):
        ref = f(A, B)
    same(getattr(fg, op)(ft(A), ft(B)), ref)
    py = {"add": lambda x, y: x + y, "sub": lambda x, y: x - y, "mul": lambda x, y: x * y}[op]
    same(py(ft(A), ft(B)), ref)


@pytest.mark.parametrize("k", [2**62 - 1, 2**53 + 1, 2**63 - 1, -(2**63), -(2**62) - 3, 7])
@pytest.mark.parametrize("op", ["+", "-", "*"])
def test_python_int_operands_both_sides(op, k):
    x = ft(A)  # noqa: F841 (read by eval)
    with np.errstate(over="ignore"):
        ref_l = eval(f"A {op} np.int64(k)")
        ref_r = eval(f"np.int64(k) {op} A")
    same(eval(f"x {op} k"), ref_l)
    same(eval(f"k {op} x"), ref_r)


def _wrapping_pow(b, e):
    """PyTorch's int64 pow: exponentiation by squaring, wrapping modulo 2**64."""
    r, p = 1, int(b) % 2**64
    e = int(e)
    while e:
        if e & 1:
            r = r * p % 2**64
        p = p * p % 2**64
        e >>= 1
    return r - 2**64 if r >= 2**63 else r


EXPONENTS = [0, 1, 2, 3, 5, 62, 63, 64, 2**62 + 1]


def test_integer_powers_stay_exact_int64():
    """int ** int was computed in float32 (2**53 + 1 ** 1 == 2**53, 3 ** 2 a float); it is
    int64, bit-exact and wrapping, in every form: t ** k, k ** t, t ** t, fg.pow, pow_, **=."""
    base = np.array(EDGE, dtype=np.int64)
    for k in EXPONENTS:
        ref = np.array([_wrapping_pow(b, k) for b in EDGE], dtype=np.int64)
        same(ft(base) ** k, ref)
        same(ft(base) ** ft(k), ref)
        same(ft(base) ** ft(np.full(len(EDGE), k)), ref)
        same(fg.pow(ft(base), k), ref)
        t = ft(base)
        t **= k
        same(t, ref)
        t = ft(base)
        assert t.pow_(ft(k)) is t
        same(t, ref)
        assert (torch.tensor(base) ** k).tolist() == ref.tolist()  # the oracle agrees
    for b in (2, -3, 0, 1):
        ref = np.array([_wrapping_pow(b, e) for e in EXPONENTS], dtype=np.int64)
        same(b ** ft(EXPONENTS), ref)
    same(fg.tensor([True, False, True]) ** 2, np.array([1, 0, 1], np.int64))  # bool ** int: int64 (torch)
    same(ft([3, 4]) ** True, np.array([3, 4], np.int64))
    # float exponents and float bases still give floats
    assert (ft([3]) ** 2.0).dtype == fg.float32 and (fg.tensor([3.0]) ** ft(2)).dtype == fg.float32


def test_integer_negative_powers_raise_like_torch():
    for f in (
        lambda: ft([1, 2]) ** -1,
        lambda: ft([2]) ** ft([1, -2]),
        lambda: 2 ** ft([-1]),
        lambda: fg.pow(ft([4]), -3),
        lambda: ft([1]).pow_(-1),
    ):
        with pytest.raises(RuntimeError, match="egative integer powers"):
            f()


def test_issue_examples():
    same(fg.tensor([2**62]) - (2**62 - 1), np.array([1], np.int64))
    t = fg.tensor([2**63 - 1])
    same(t == 2**63 - 1, np.array([True]))
    same(fg.arange(2**53, 2**53 + 4), np.arange(2**53, 2**53 + 4, dtype=np.int64))
    same(fg.full((3,), 2**62 + 1, fg.int64), np.full(3, 2**62 + 1, np.int64))
    for f in (fg.abs, lambda v: fg.clip(v, 0, 2**62), lambda v: v @ v):
        assert f(fg.tensor([2**53 + 1, 3])).dtype == fg.int64


@pytest.mark.parametrize("k", [2**63 - 1, 2**53 + 1, -(2**63), 2**62, 0])
def test_comparisons_with_python_ints_exact(k):
    x = ft(A)  # noqa: F841 (read by eval)
    for op in ("==", "!=", "<", "<=", ">", ">="):
        same(eval(f"x {op} k"), eval(f"A {op} np.int64(k)"))
        same(eval(f"k {op} x"), eval(f"np.int64(k) {op} A"))
    y = ft(B)  # noqa: F841 (read by eval)
    for op in ("==", "!=", "<", "<=", ">", ">="):
        same(eval(f"x {op} y"), eval(f"A {op} B"))


def test_unary_and_reductions_keep_int64():
    with np.errstate(over="ignore"):
        same(fg.abs(ft(A)), np.abs(A))
        same(abs(ft(A)), np.abs(A))
        same(-ft(A), -A)
        same(fg.sign(ft(A)), np.sign(A))
        small = np.array([2**62 + 1, -(2**53 + 1), 3, 2**63 - 1], np.int64)
        same(fg.sum(ft(small)), np.sum(small))
        same(fg.sum(ft(A)), np.sum(A))  # wraps like NumPy
        same(fg.prod(ft([2**31 + 1, 2**31 - 1, 3])), np.prod(np.array([2**31 + 1, 2**31 - 1, 3], np.int64)))
        same(fg.prod(ft(A)), np.prod(A))
        M = A.reshape(2, 7)
        same(fg.sum(ft(M), axis=0), M.sum(0))
        same(fg.sum(ft(M), axis=1, keepdims=True), M.sum(1, keepdims=True))
        same(fg.sum(ft(M.T), axis=0), M.T.sum(0))
        same(fg.prod(ft(M), axis=1), M.prod(1))
    same(fg.max(ft(A)), A.max())
    same(fg.min(ft(A)), A.min())
    same(fg.argmax(ft(A)), np.argmax(A))
    same(fg.maximum(ft(A), ft(B)), np.maximum(A, B))
    same(fg.minimum(ft(A), 2**62 + 1), np.minimum(A, np.int64(2**62 + 1)))
    same(fg.maximum(2**53 + 1, ft(A)), np.maximum(np.int64(2**53 + 1), A))
    c = A % 2 == 0
    same(fg.where(fg.tensor(c), ft(A), ft(B)), np.where(c, A, B))
    same(fg.where(fg.tensor(c), ft(A), 2**63 - 1), np.where(c, A, np.int64(2**63 - 1)))
    same(fg.where(fg.tensor(c), 2**62 + 1, 2**62 + 3), np.where(c, np.int64(2**62 + 1), np.int64(2**62 + 3)))


def test_clip_int64():
    x = ft(A)
    same(fg.clip(x, -(2**53 + 1), 2**62 + 1), np.clip(A, -(2**53 + 1), 2**62 + 1))
    same(x.clip(min=2**63 - 2), np.maximum(A, np.int64(2**63 - 2)))
    same(x.clamp(max=-(2**63) + 1), np.minimum(A, np.int64(-(2**63) + 1)))
    same(
        fg.clip(fg.tensor([True, False]), 0, 5), np.array([1, 0], np.int64)
    )  # bool clamps as int64 (PyTorch)
    r = fg.clip(fg.tensor([3, -3]), 0.5, 2)  # a float bound makes the result float (PyTorch)
    assert r.dtype == fg.float32
    np.testing.assert_array_equal(np.asarray(r), torch.clamp(torch.tensor([3, -3]), 0.5, 2).numpy())
    assert fg.clip(fg.tensor([1.5, -2.0]), 0, 1).dtype == fg.float32


def test_matmul_int64_exact():
    rng = np.random.default_rng(0)
    a = rng.integers(-(2**20), 2**20, size=(3, 4, 5))
    b = rng.integers(-(2**20), 2**20, size=(5, 2))
    a[0, 0, 0] = 2**53 + 1
    same(ft(a) @ ft(b), a @ b)
    same(fg.matmul(ft(a), ft(b[:, 0])), a @ b[:, 0])
    same(fg.matmul(ft(b[:, 0]), ft(b)), b[:, 0] @ b)
    same(ft(a).transpose(-1, -2) @ ft(a), np.swapaxes(a, -1, -2) @ a)  # strided operands
    with np.errstate(over="ignore"):
        big = np.array([[2**62, 2**62], [3, 2**63 - 1]], np.int64)
        same(ft(big) @ ft(big), big @ big)  # wraps as NumPy
    same(fg.tensor([[True, True]]) @ fg.tensor([[True], [True]]), np.array([[2]], np.int64))
    same(fg.zeros((2, 0), dtype=fg.int64) @ fg.zeros((0, 3), dtype=fg.int64), np.zeros((2, 3), np.int64))


def test_true_division_gives_float_as_pytorch():
    for x, y in ((fg.tensor([7, -7]), 2), (fg.tensor([7, -7]), fg.tensor([2, 2])), (7, fg.tensor([2, -2]))):
        r = x / y
        tx = torch.tensor(np.asarray(x)) if isinstance(x, fg.Tensor) else x
        ty = torch.tensor(np.asarray(y)) if isinstance(y, fg.Tensor) else y
        ref = (tx / ty).numpy()
        assert r.dtype == fg.float32 and ref.dtype == np.float32
        np.testing.assert_array_equal(np.asarray(r), ref)


def test_bool_plus_int_is_int64_as_pytorch():
    same(fg.tensor([True, False]) + 2, (torch.tensor([True, False]) + 2).numpy())
    same(3 * fg.tensor([True, False]), (3 * torch.tensor([True, False])).numpy())


def test_shape_ops_keep_values():
    M = A.reshape(2, 7)
    x = ft(M)
    same(x.reshape(7, 2), M.reshape(7, 2))
    same(x.T.contiguous(), M.T)
    same(fg.concat([x, x], axis=1), np.concatenate([M, M], 1))
    same(fg.stack([x, x]), np.stack([M, M]))
    same(x[1, 2:5], M[1, 2:5])
    same(x[:, [0, 3]], M[:, [0, 3]])
    same(x[x > 2**53], M[M > 2**53])
    same(fg.pad(x, ((1, 0), (0, 1))), np.pad(M, ((1, 0), (0, 1))))
    same(fg.pad(x, 1, value=2**62 + 1), np.pad(M, 1, constant_values=2**62 + 1))
    same(fg.pad(x, 1, value=np.int64(-(2**53) - 1)), np.pad(M, 1, constant_values=-(2**53) - 1))
    same(fg.split(x, 3, axis=1)[1], M[:, 3:6])
    r = np.array([2**53, -(2**53), 2**62, -(2**63), 3], np.int64)  # exactly representable in float64
    same(ft(r).astype(fg.float64).astype(fg.int64), r)


# ------------------------------------------------------------------ factories
@pytest.mark.parametrize(
    "start,stop,step",
    [
        (2**53, 2**53 + 5, 1),
        (2**63 - 10, 2**63 - 1, 3),
        (-(2**63), -(2**63) + 7, 2),
        (2**63 - 1, -(2**63), -(2**62)),
        (5, 1, 1),
        (0, 10, -1),
        (2**62 + 1, 2**62 + 1, 5),
        (-(2**53) - 3, -(2**53) + 3, 1),
    ],
)
def test_arange_exact(start, stop, step):
    same(fg.arange(start, stop, step), np.arange(start, stop, step, dtype=np.int64))
    got = fg.arange(start, stop, step, dtype=fg.float64)  # each exact int rounded once
    np.testing.assert_array_equal(
        np.asarray(got), np.arange(start, stop, step, dtype=np.int64).astype(np.float64)
    )


def test_arange_float_args_and_bad_ranges():
    same(fg.arange(0.5, 3, dtype=fg.int64), torch.arange(0.5, 3, dtype=torch.int64).numpy())
    for bad in ((0, float("nan")), (0, float("inf")), (float("-inf"), 0)):
        with pytest.raises(ValueError, match="arange"):
            fg.arange(*bad)
    with pytest.raises(ValueError, match="arange"):
        fg.arange(0, 1, 0)


@pytest.mark.parametrize("v", [2**62 + 1, 2**63 - 1, -(2**63), 2**53 + 1, np.int64(2**62 + 3), True])
def test_full_int_exact(v):
    same(fg.full((2, 2), v, fg.int64), np.full((2, 2), v, np.int64))
    x = fg.zeros(3, dtype=fg.int64)
    same(x.fill_(v), np.full(3, v, np.int64))
    same(fg.full_like(x, v), np.full(3, v, np.int64))
    same(fg.full((2,), v, fg.float64), np.full(2, float(v)))


def test_tensor_factory_exact():
    same(fg.tensor(EDGE), A)
    same(fg.tensor(2**63 - 1), np.array(2**63 - 1, np.int64))
    same(fg.tensor([[2**62 + 1], [-(2**63)]]), np.array([[2**62 + 1], [-(2**63)]], np.int64))
    same(fg.tensor(np.array([2**63 - 1], np.uint64)), np.array([2**63 - 1], np.int64))
    same(fg.tensor([2**62 + 1], dtype=fg.int64), np.array([2**62 + 1], np.int64))
    same(fg.as_tensor(np.int64(2**62 + 1)), np.array(2**62 + 1, np.int64))


# ------------------------------------------------------------------ OverflowError everywhere
BIG = [2**63, 2**64, -(2**63) - 1, 10**30]


_X = lambda: fg.tensor([1, 2])  # noqa: E731
_B = lambda: fg.tensor([True, False])  # noqa: E731
OVERFLOW_CASES = {
    "tensor": lambda k: fg.tensor([k]),
    "tensor-scalar": lambda k: fg.tensor(k),
    "tensor-nested": lambda k: fg.tensor([[1], [k]]),
    "add": lambda k: _X() + k,
    "radd": lambda k: k + _X(),
    "sub": lambda k: _X() - k,
    "rsub": lambda k: k - _X(),
    "mul": lambda k: _X() * k,
    "rmul": lambda k: k * _X(),
    "bool-add": lambda k: _B() + k,
    "eq": lambda k: _X() == k,
    "lt": lambda k: _X() < k,
    "ge": lambda k: k >= _X(),
    "fg.add": lambda k: fg.add(_X(), k),
    "maximum": lambda k: fg.maximum(_X(), k),
    "where": lambda k: fg.where(_B(), _X(), k),
    "add_": lambda k: _X().add_(k),
    "copy_": lambda k: _X().copy_(k),
    "fill_": lambda k: _X().fill_(k),
    "full": lambda k: fg.full((2,), k, fg.int64),
    "full_like": lambda k: fg.full_like(_X(), k),
    "arange": lambda k: fg.arange(k),
    "arange2": lambda k: fg.arange(0, k, 2**62),
    "clip": lambda k: fg.clip(_X(), 0, k),
    "clip-lo": lambda k: _X().clip(min=k),
    "zeros": lambda k: fg.zeros(k),
    "ones-tuple": lambda k: fg.ones((2, k)),
    "reshape": lambda k: _X().reshape(k),
    "expand": lambda k: _X().expand(k, 2),
    "sum-axis": lambda k: fg.sum(_X(), axis=k),
    "sum-axes": lambda k: _X().sum(axis=(0, k)),
    "transpose": lambda k: fg.transpose(_X(), 0, k),
    "unsqueeze": lambda k: _X().unsqueeze(k),
    "eye": lambda k: fg.eye(k),
    "randint": lambda k: fg.randint(0, k, (2,)),
    "randperm": lambda k: fg.randperm(abs(k)),
    "concat": lambda k: fg.concat([_X(), _X()], axis=k),
    "pad": lambda k: fg.pad(_X(), 1, value=k),
}


@pytest.mark.parametrize("k", BIG)
@pytest.mark.parametrize("name", sorted(OVERFLOW_CASES))
def test_overflow_error_where_python_ints_enter(name, k):
    with pytest.raises(OverflowError):
        OVERFLOW_CASES[name](k)


def test_overflow_error_for_uint64_beyond_int64():
    with pytest.raises(OverflowError, match="uint64 value 18446744073709551615"):
        fg.tensor(np.array([1, 2**64 - 1], np.uint64))
    with pytest.raises(OverflowError):
        fg.tensor([1]) + np.array([2**63], np.uint64)


def test_overflow_messages_name_the_op():
    x = fg.tensor([1])
    with pytest.raises(
        OverflowError, match=r"__add__: Python int 18446744073709551616 is outside the int64 range"
    ):
        x + 2**64
    with pytest.raises(OverflowError, match="__eq__"):
        x == 2**64  # noqa: B015  (the comparison itself must raise)
    with pytest.raises(OverflowError, match="full"):
        fg.full((1,), 2**63, fg.int64)
    with pytest.raises(OverflowError, match="shape"):
        x.reshape(2**64)
    with pytest.raises(OverflowError, match="axis"):
        fg.sum(x, axis=2**64)
    with pytest.raises(OverflowError, match="tensor"):
        fg.tensor([2**64])


def test_huge_python_ints_into_float_dtype_round():
    np.testing.assert_array_equal(np.asarray(fg.tensor([1, 2**63], dtype=fg.float64)), [1.0, 2.0**63])
    np.testing.assert_array_equal(np.asarray(fg.tensor([1, 2**70], dtype=fg.float64)), [1.0, 2.0**70])
    with pytest.raises(OverflowError):
        fg.tensor([-1, 2**63])  # NumPy would make this float64 silently


def test_python_ints_with_float_tensors_round_like_numpy():
    x = fg.tensor([1.0], dtype=fg.float64)
    np.testing.assert_array_equal(np.asarray(x + 2**64), np.array([1.0]) + 2**64)
    np.testing.assert_array_equal(np.asarray(x * (2**63 + 1)), np.array([1.0]) * (2**63 + 1))
    same(x == 2**53 + 1, np.array([1.0]) == 2**53 + 1)
    with pytest.raises(OverflowError):
        x + 10**400  # too large even for a double
    np.testing.assert_array_equal(np.asarray(fg.full((1,), 2**64, fg.float64)), [2.0**64])


# ------------------------------------------------------------------ non-finite casts
NONFINITE = [np.nan, np.inf, -np.inf, 1e30, -1e30, 2.0**63, -(2.0**63), 1.75, -1.75, 0.0]
SATURATED = [0, I64.max, I64.min, I64.max, I64.min, I64.max, I64.min, 1, -1, 0]


@pytest.mark.parametrize("dt", [np.float32, np.float64])
def test_nonfinite_cast_to_int64_saturates(dt):
    src = np.array(NONFINITE, dt)
    ref = np.array(SATURATED, np.int64)
    x = fg.tensor(src, dtype=fg.float32 if dt == np.float32 else fg.float64)
    same(x.astype(fg.int64), ref)
    same(x.long(), ref)
    same(fg.tensor(src, dtype=fg.int64), ref)  # the copying factory casts the same way
    y = fg.zeros(len(src), dtype=fg.int64)
    same(y.copy_(x), ref)
    same(x.astype(fg.bool_), src != 0)  # NaN is True (NumPy, PyTorch)


@pytest.mark.parametrize("v", [float("nan"), float("inf"), -float("inf"), 1e30, -1e19, 2.0**63])
def test_full_with_unrepresentable_float_raises_like_pytorch(v):
    if v != 2.0**63:  # PyTorch's own check lets exactly 2**63 through (and wraps it)
        with pytest.raises(RuntimeError):
            torch.full((2,), v, dtype=torch.int64)
    with pytest.raises(RuntimeError, match="cannot be converted to type int64"):
        fg.full((2,), v, fg.int64)
    with pytest.raises(RuntimeError, match="cannot be converted to type int64"):
        fg.zeros(2, dtype=fg.int64).fill_(v)
    same(fg.full((2,), 2.7, fg.int64), torch.full((2,), 2.7, dtype=torch.int64).numpy())
    assert bool(fg.full((1,), v, fg.bool_)[0])


# ------------------------------------------------------------------ non-canonical bools
U8 = np.array([[1, 2, 0], [255, 0, 7]], np.uint8)
TRUTH = U8 != 0


def raw_bools():
    return U8.copy().view(np.bool_)


def check_bool_tensor(t):
    """Every consumer sees 0/1: sum, masks, logical ops, where, casts, comparisons."""
    assert t.dtype == fg.bool_
    same(t, TRUTH)
    same(fg.sum(t), TRUTH.sum())
    same(fg.sum(t, axis=1), TRUTH.sum(1))
    same(t.astype(fg.int64), TRUTH.astype(np.int64))
    same(t.astype(fg.float32), TRUTH.astype(np.float32))
    same(~t, ~TRUTH)
    same(t & fg.tensor(np.ones_like(TRUTH)), TRUTH)
    same(t | fg.tensor(np.zeros_like(TRUTH)), TRUTH)
    same(t == True, TRUTH)  # noqa: E712
    same(t + 0, TRUTH.astype(np.int64))
    vals = np.arange(6, dtype=np.int64).reshape(2, 3)
    same(fg.where(t, fg.tensor(vals), -1), np.where(TRUTH, vals, -1))
    same(fg.tensor(vals)[t], vals[TRUTH])
    same(fg.tensor(vals).reshape(-1)[t.reshape(-1)], vals.reshape(-1)[TRUTH.reshape(-1)])


def test_bools_via_tensor_copy():
    check_bool_tensor(fg.tensor(raw_bools()))
    check_bool_tensor(
        fg.tensor(np.frombuffer(U8.tobytes(), dtype=np.bool_).reshape(2, 3))
    )  # read-only source
    check_bool_tensor(fg.as_tensor(raw_bools()))


def test_bools_via_numpy_mask_index_and_operand():
    vals = np.arange(6, dtype=np.int64).reshape(2, 3)
    same(fg.tensor(vals)[raw_bools()], vals[TRUTH])
    same(fg.tensor(vals) * raw_bools(), vals * TRUTH)
    same(fg.tensor(TRUTH) == raw_bools(), np.ones_like(TRUTH))


def test_bools_via_from_numpy_writable_normalised_in_place():
    u8 = U8.copy()
    t = fg.from_numpy(u8.view(np.bool_))
    check_bool_tensor(t)
    np.testing.assert_array_equal(u8, TRUTH.astype(np.uint8))  # documented: nonzero bytes rewritten to 1
    assert t._data_ptr == u8.ctypes.data  # still shared


def test_bools_via_from_numpy_read_only_refused():
    ro = np.frombuffer(U8.tobytes(), dtype=np.bool_).reshape(2, 3)
    with pytest.raises(ValueError, match="from_numpy.*read-only.*fg.tensor"):
        fg.from_numpy(ro)
    ok = np.frombuffer(TRUTH.astype(np.uint8).tobytes(), dtype=np.bool_).reshape(2, 3)
    check_bool_tensor(fg.from_numpy(ok))  # canonical read-only memory still shares


def test_bools_via_dlpack():
    u8 = U8.copy()
    check_bool_tensor(fg.from_dlpack(u8.view(np.bool_)))
    np.testing.assert_array_equal(u8, TRUTH.astype(np.uint8))
    # strided: only the viewed elements are normalised, the bytes between them are not ours
    wide = np.array([[2, 9, 0, 9, 5], [0, 9, 3, 9, 0]], np.uint8)
    t = fg.from_dlpack(wide.view(np.bool_)[:, ::2])
    same(t, np.array([[True, False, True], [False, True, False]]))
    same(fg.sum(t), np.int64(3))
    assert (wide[:, 1::2] == 9).all()
    # read-only producer memory: refused, the capsule stays with the producer
    ro = np.frombuffer(U8.tobytes(), dtype=np.bool_).reshape(2, 3)
    with pytest.raises((ValueError, BufferError)):
        fg.from_dlpack(ro)
    # torch bools are canonical and round-trip
    same(fg.from_dlpack(torch.tensor([[True, False]])), np.array([[True, False]]))


def _write_safetensors(path, name, st_dtype, shape, payload: bytes, meta=None):
    header = {name: {"dtype": st_dtype, "shape": list(shape), "data_offsets": [0, len(payload)]}}
    if meta:
        header["__metadata__"] = meta
    h = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(h)) + h + payload)


def test_bools_via_load(tmp_path):
    p = tmp_path / "bools.safetensors"
    _write_safetensors(p, "mask", "BOOL", (2, 3), U8.tobytes())
    check_bool_tensor(fg.load(p)["mask"])
    arr = fg.io.load_arrays(p)["mask"]
    assert arr.dtype == np.bool_
    np.testing.assert_array_equal(arr.view(np.uint8), TRUTH.astype(np.uint8))
    # a fastgrad checkpoint (with its tree metadata) whose BOOL bytes were damaged to 2
    q = tmp_path / "tree.fg"
    fg.save({"m": fg.tensor(TRUTH)}, q)
    raw = bytearray(q.read_bytes())
    (n,) = struct.unpack("<Q", raw[:8])
    data = 8 + n
    raw[data : data + 6] = U8.tobytes()
    q.write_bytes(bytes(raw))
    check_bool_tensor(fg.load(q)["m"])


@pytest.mark.parametrize("src_dt", [fg.float32, fg.float64])
def test_every_write_path_casts_like_astype(src_dt):
    """t[key] = float_tensor into an int64 (or bool) tensor went through NumPy's cast (NaN
    -> INT64_MIN); it is fastgrad's cast, as copy_ and astype: NaN -> 0, saturating."""
    vals = np.array([np.nan, np.inf, -np.inf, 1e30, -1e30, 2.7, -2.7, 0.5, 0.0], np.float64)
    src = fg.tensor(vals, dtype=src_dt)
    for dst in (fg.int64, fg.bool_):
        want = np.asarray(src.astype(dst))
        n = len(vals)
        writes = {
            "copy_": lambda t: t.copy_(src),
            "[:]": lambda t: t.__setitem__(slice(None), src),
            "[idx]": lambda t: t.__setitem__(fg.tensor(np.arange(n)), src),
            "[mask]": lambda t: t.__setitem__(fg.tensor(np.ones(n, bool)), src),
            "[list]": lambda t: t.__setitem__(list(range(n)), src),
        }
        for name, w in writes.items():
            t = fg.zeros(n, dtype=dst)
            w(t)
            got = np.asarray(t)
            assert got.dtype == want.dtype, name
            np.testing.assert_array_equal(got, want, err_msg=f"{name} into {dst}")
        # a row of a 2-D target, and a strided view of it
        t = fg.zeros((2, n), dtype=dst)
        t[1] = src
        np.testing.assert_array_equal(np.asarray(t)[1], want)
        t = fg.zeros(2 * n, dtype=dst)
        t[::2] = src
        np.testing.assert_array_equal(np.asarray(t)[::2], want)
