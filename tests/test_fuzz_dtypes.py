"""Property-based fuzz of integer exactness near 2**53 .. 2**63 and of non-canonical bools
(issue 10, items 5, 6 and the cast part of 10).

* Every int64 op on random int64 data biased to the edges (around 2**53, 2**62, 2**63,
  -2**63), contiguous or transposed, with a Python-int operand on either side, equals
  NumPy int64 bit for bit (wrapping included) and stays int64.
* A Python int outside int64 raises OverflowError in every op it can enter.
* Factories (arange, full, tensor) are exact against Python's own integers.
* float -> int64 casts saturate (NaN -> 0, +-inf and out of range -> INT64_MAX/MIN).
* Bool memory with arbitrary bytes (0..255) entering through fg.tensor, from_numpy,
  from_dlpack or fg.load behaves as ``bytes != 0`` in sum, masks, logical ops, where, casts.
"""

from __future__ import annotations

import json
import os
import struct
import tempfile

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fastgrad as fg
from fuzz_profiles import BASE, COUNTER

I64_MIN, I64_MAX = -(2**63), 2**63 - 1

# int64 values biased to where double rounding and overflow bite
EDGE_INTS = st.one_of(
    st.integers(2**53 - 4, 2**53 + 4),
    st.integers(-(2**53) - 4, -(2**53) + 4),
    st.integers(2**62 - 4, 2**62 + 4),
    st.integers(I64_MAX - 8, I64_MAX),
    st.integers(I64_MIN, I64_MIN + 8),
    st.integers(I64_MIN, I64_MAX),
    st.integers(-3, 3),
)
OUTSIDE_INTS = st.one_of(
    st.integers(2**63, 2**70), st.integers(-(2**70), -(2**63) - 1), st.just(2**63), st.just(-(2**63) - 1)
)
SHAPES = st.sampled_from([(), (1,), (5,), (2, 3), (3, 1), (1, 4), (2, 2, 2)])


def arrays(data, shape):
    n = int(np.prod(shape, dtype=np.int64))
    return np.array(data.draw(st.lists(EDGE_INTS, min_size=n, max_size=n)), dtype=np.int64).reshape(shape)


def to_fg(data, a):
    """Contiguous, or the same values through a transposed (strided) view."""
    if a.ndim >= 2 and data.draw(st.booleans()):
        return fg.tensor(np.ascontiguousarray(a.T)).T
    return fg.tensor(a)


def same(t, ref):
    got, ref = np.asarray(t), np.asarray(ref)
    assert got.dtype == ref.dtype, (got.dtype, ref.dtype)
    assert got.shape == ref.shape, (got.shape, ref.shape)
    np.testing.assert_array_equal(got, ref)


BINARY = {
    "add": (lambda x, y: x + y, np.add),
    "sub": (lambda x, y: x - y, np.subtract),
    "mul": (lambda x, y: x * y, np.multiply),
    "maximum": (fg.maximum, np.maximum),
    "minimum": (fg.minimum, np.minimum),
    "eq": (lambda x, y: x == y, np.equal),
    "ne": (lambda x, y: x != y, np.not_equal),
    "lt": (lambda x, y: x < y, np.less),
    "le": (lambda x, y: x <= y, np.less_equal),
    "gt": (lambda x, y: x > y, np.greater),
    "ge": (lambda x, y: x >= y, np.greater_equal),
}


@pytest.mark.parametrize("op", sorted(BINARY))
@settings(parent=BASE)
@given(data=st.data(), shape=SHAPES)
def test_int64_binary_exact(op, data, shape):
    f, ref = BINARY[op]
    a, b = arrays(data, shape), arrays(data, shape)
    form = data.draw(st.sampled_from(["tensor", "int-right", "int-left"]))
    with np.errstate(over="ignore"):
        if form == "tensor":
            same(f(to_fg(data, a), to_fg(data, b)), ref(a, b))
        else:
            k = data.draw(EDGE_INTS)
            if form == "int-right":
                same(f(to_fg(data, a), k), ref(a, np.int64(k)))
            else:
                same(f(k, to_fg(data, a)), ref(np.int64(k), a))
    COUNTER.hit("int-exact", op)


UNARY = {
    "neg": (lambda x: -x, np.negative),
    "abs": (fg.abs, np.abs),
    "sign": (fg.sign, np.sign),
    "sum": (fg.sum, np.sum),
    "prod": (fg.prod, np.prod),
    "max": (fg.max, np.max),
    "min": (fg.min, np.min),
    "argmax": (fg.argmax, np.argmax),
    "cast-bool": (lambda x: x.astype(fg.bool_), lambda a: a.astype(bool)),
    "flatten": (lambda x: x.reshape(-1), lambda a: a.reshape(-1)),
}


@pytest.mark.parametrize("op", sorted(UNARY))
@settings(parent=BASE)
@given(data=st.data(), shape=SHAPES)
def test_int64_unary_and_reductions_exact(op, data, shape):
    f, ref = UNARY[op]
    a = arrays(data, shape)
    if op in ("max", "min", "argmax") and a.size == 0:
        return
    with np.errstate(over="ignore"):
        same(f(to_fg(data, a)), ref(a))
        if op in ("sum", "prod") and a.ndim:
            ax = data.draw(st.integers(-a.ndim, a.ndim - 1))
            same(f(to_fg(data, a), axis=ax), ref(a, axis=ax))
    COUNTER.hit("int-exact", op)


@settings(parent=BASE)
@given(data=st.data(), shape=SHAPES)
def test_int64_clip_where_matmul_exact(data, shape):
    a, b = arrays(data, shape), arrays(data, shape)
    lo, hi = sorted([data.draw(EDGE_INTS), data.draw(EDGE_INTS)])
    same(fg.clip(to_fg(data, a), lo, hi), np.clip(a, lo, hi))
    c = (a % 3) == 0
    same(fg.where(fg.tensor(c), to_fg(data, a), to_fg(data, b)), np.where(c, a, b))
    k = data.draw(EDGE_INTS)
    same(fg.where(fg.tensor(c), to_fg(data, a), k), np.where(c, a, np.int64(k)))
    m = arrays(data, (2, 3))
    n = arrays(data, (3, data.draw(st.integers(1, 3))))
    with np.errstate(over="ignore"):
        same(to_fg(data, m) @ to_fg(data, n), m @ n)
    COUNTER.hit("int-exact", "clip/where/matmul", 4)


@settings(parent=BASE)
@given(start=EDGE_INTS, step=st.integers(-(2**62), 2**62).filter(bool), n=st.integers(0, 40), v=EDGE_INTS)
def test_int_factories_exact(start, step, n, v):
    stop = min(max(start + n * step, I64_MIN), I64_MAX)
    same(fg.arange(start, stop, step), np.array(list(range(start, stop, step)), dtype=np.int64))
    same(fg.full((2,), v, fg.int64), np.array([v, v], np.int64))
    same(fg.tensor([v, start]), np.array([v, start], np.int64))
    same(fg.zeros(1, dtype=fg.int64).fill_(v), np.array([v], np.int64))
    COUNTER.hit("int-exact", "factories", 4)


OVERFLOW_OPS = {
    "add": lambda x, k: x + k,
    "rsub": lambda x, k: k - x,
    "mul": lambda x, k: x * k,
    "eq": lambda x, k: x == k,
    "maximum": lambda x, k: fg.maximum(x, k),
    "where": lambda x, k: fg.where(x > 0, x, k),
    "clip": lambda x, k: fg.clip(x, None, k),
    "fill_": lambda x, k: x.fill_(k),
    "full": lambda x, k: fg.full((1,), k, fg.int64),
    "tensor": lambda x, k: fg.tensor([1, k]),
    "arange": lambda x, k: fg.arange(k, k + 1),
    "reshape": lambda x, k: x.reshape(k),
    "sum-axis": lambda x, k: fg.sum(x, axis=k),
    "zeros": lambda x, k: fg.zeros((1, k)),
}


@pytest.mark.parametrize("op", sorted(OVERFLOW_OPS))
@settings(parent=BASE)
@given(k=OUTSIDE_INTS)
def test_python_int_outside_int64_overflows(op, k):
    with pytest.raises(OverflowError):
        OVERFLOW_OPS[op](fg.tensor([1, -2]), k)
    COUNTER.hit("error", "overflow:" + op)


def saturate(v):
    v = np.asarray(v, np.float64)
    out = np.zeros(v.shape, np.int64)
    inside = (v >= -(2.0**63)) & (v < 2.0**63)
    out[inside] = np.trunc(v[inside]).astype(np.int64)
    out[~np.isnan(v) & (v >= 2.0**63)] = I64_MAX
    out[~np.isnan(v) & (v < -(2.0**63))] = I64_MIN
    return out


@pytest.mark.parametrize("dt", ["float32", "float64"])
@settings(parent=BASE)
@given(
    vals=st.lists(
        st.one_of(
            st.floats(allow_nan=True, allow_infinity=True),
            st.floats(-(2.0**64), 2.0**64),
            st.sampled_from([2.0**63, -(2.0**63), 2.0**53 + 2]),
        ),
        min_size=1,
        max_size=12,
    )
)
def test_float_to_int64_cast_saturates(dt, vals):
    npdt = np.float32 if dt == "float32" else np.float64
    with np.errstate(over="ignore", invalid="ignore"):
        a = np.array(vals, np.float64).astype(npdt)
    x = fg.tensor(a, dtype=getattr(fg, dt))
    same(x.astype(fg.int64), saturate(a))
    same(x.astype(fg.bool_), a != 0)
    COUNTER.hit("special", "cast-int64:" + dt)


# ------------------------------------------------------------------ non-canonical bools
def _load_path(u8, tmp):
    p = os.path.join(tmp, "b.safetensors")
    header = json.dumps(
        {"m": {"dtype": "BOOL", "shape": list(u8.shape), "data_offsets": [0, u8.size]}}
    ).encode()
    with open(p, "wb") as f:
        f.write(struct.pack("<Q", len(header)) + header + u8.tobytes())
    return fg.load(p)["m"]


ENTRY = {
    "tensor": lambda u8, tmp: fg.tensor(u8.view(np.bool_)),
    "tensor-readonly": lambda u8, tmp: fg.tensor(np.frombuffer(u8.tobytes(), np.bool_).reshape(u8.shape)),
    "from_numpy": lambda u8, tmp: fg.from_numpy(u8.view(np.bool_)),
    "from_dlpack": lambda u8, tmp: fg.from_dlpack(u8.view(np.bool_)),
    "from_dlpack-strided": lambda u8, tmp: (
        fg.from_dlpack(np.repeat(u8, 2, axis=-1).view(np.bool_)[..., ::2])
        if u8.ndim
        else fg.from_dlpack(u8.view(np.bool_))
    ),
    "load": _load_path,
}
BYTES = st.one_of(st.sampled_from([0, 1, 2, 255, 128]), st.integers(0, 255))


@pytest.mark.parametrize("entry", sorted(ENTRY))
@settings(parent=BASE)
@given(data=st.data(), shape=SHAPES)
def test_noncanonical_bools_every_entry_path(entry, data, shape):
    n = int(np.prod(shape, dtype=np.int64))
    u8 = np.array(data.draw(st.lists(BYTES, min_size=n, max_size=n)), np.uint8).reshape(shape)
    truth = u8 != 0
    with tempfile.TemporaryDirectory() as tmp:
        t = ENTRY[entry](u8.copy(), tmp)
    same(t, truth)
    same(fg.sum(t), truth.sum())
    same(t.astype(fg.int64), truth.astype(np.int64))
    same(~t, ~truth)
    same(t & fg.tensor(truth), truth)
    vals = np.arange(max(n, 1), dtype=np.int64)[:n].reshape(shape)
    same(fg.where(t, fg.tensor(vals), -1), np.where(truth, vals, -1))
    if t.ndim:
        same(fg.tensor(vals)[t], vals[truth])
    COUNTER.hit("special", "bool:" + entry)
