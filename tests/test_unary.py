"""The unary math, activations and argument forms of issue 12 against PyTorch as the oracle:
values over wide ranges with special values (inf, NaN, ±0, huge |x|) in float32 and float64,
gradients, dtype promotion, errors, the nn layers and F forms, and PyTorch's own OpInfo
samples of every torch op mapped here (forward in float32/float64, gradients in float64)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from torch.testing._internal.common_methods_invocations import op_db

import fastgrad as fg
import fastgrad.nn as nn
import fastgrad.nn.functional as F

DT = {np.float32: (fg.float32, torch.float32), np.float64: (fg.float64, torch.float64)}
TOL = {np.float32: dict(rtol=4e-6, atol=1e-30), np.float64: dict(rtol=1e-13, atol=1e-300)}
SPECIAL = [0.0, -0.0, math.inf, -math.inf, math.nan, 1e-30, -1e-30, 1e30, -1e30, 0.5, -0.5, 1.0, -1.0, 2.5]


def to_fg(t):
    if isinstance(t, torch.Tensor):
        return fg.tensor(t.detach().numpy().copy())
    if isinstance(t, (list, tuple)):
        return type(t)(to_fg(v) for v in t)
    if isinstance(t, torch.dtype):
        return {torch.float32: fg.float32, torch.float64: fg.float64, torch.int64: fg.int64}[t]
    return t


def close(got, want, dtype=np.float64, **kw):
    want = want.detach().numpy() if isinstance(want, torch.Tensor) else np.asarray(want)
    got = np.asarray(got)
    assert got.shape == want.shape, (got.shape, want.shape)
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    tol = dict(TOL.get(dtype, TOL[np.float64]))
    tol.update(kw)
    np.testing.assert_allclose(got, want, equal_nan=True, **tol)


def wide(rng, dtype, domain=None):
    lo, hi = domain or (-1e4, 1e4)
    v = np.concatenate([rng.uniform(lo, hi, 40), rng.uniform(max(lo, -3), min(hi, 3), 40), SPECIAL])
    if domain is not None:
        v = np.concatenate([v, [lo, hi]])
    return v.astype(dtype)


# name, torch fn, domain for the value test (None: the whole line), a domain for gradients
UNARY = [
    ("expm1", torch.expm1, (-80, 80), (-2, 2)),
    ("exp2", torch.exp2, (-120, 120), (-2, 2)),
    ("log2", torch.log2, None, (0.5, 3)),
    ("log10", torch.log10, None, (0.5, 3)),
    ("tan", torch.tan, (-1e3, 1e3), (-1.2, 1.2)),
    ("sinh", torch.sinh, (-80, 80), (-2, 2)),
    ("cosh", torch.cosh, (-80, 80), (-2, 2)),
    ("asinh", torch.asinh, None, (-2, 2)),
    ("acosh", torch.acosh, None, (1.2, 3)),
    ("atanh", torch.atanh, None, (-0.8, 0.8)),
    ("asin", torch.asin, None, (-0.8, 0.8)),
    ("acos", torch.acos, None, (-0.8, 0.8)),
    ("atan", torch.atan, None, (-2, 2)),
    ("erfc", torch.erfc, (-10, 30), (-2, 2)),
    ("erfinv", torch.erfinv, (-1, 1), (-0.9, 0.9)),
    ("rsqrt", torch.rsqrt, None, (0.5, 3)),
    ("sinc", torch.sinc, (-100, 100), (0.1, 2)),
    ("square", torch.square, (-1e4, 1e4), (-2, 2)),
    ("reciprocal", torch.reciprocal, None, (0.5, 3)),
    ("deg2rad", torch.deg2rad, None, (-2, 2)),
    ("rad2deg", torch.rad2deg, None, (-2, 2)),
    ("frac", torch.frac, None, (0.1, 0.9)),
    ("floor", torch.floor, None, (0.1, 0.9)),
    ("ceil", torch.ceil, None, (0.1, 0.9)),
    ("trunc", torch.trunc, None, (0.1, 0.9)),
    ("fix", torch.fix, None, (0.1, 0.9)),
    ("round", torch.round, None, (0.1, 0.4)),
    ("relu6", TF.relu6, None, (0.1, 5.9)),
    ("selu", TF.selu, (-100, 100), (-2, 2)),
    ("logsigmoid", TF.logsigmoid, (-1e3, 1e3), (-2, 2)),
    ("mish", TF.mish, (-100, 100), (-2, 2)),
    ("hardswish", TF.hardswish, None, (-2.9, 2.9)),
    ("hardsigmoid", TF.hardsigmoid, None, (-2.9, 2.9)),
    ("softsign", TF.softsign, None, (-2, 2)),
    ("tanhshrink", TF.tanhshrink, (-100, 100), (-2, 2)),
    ("positive", torch.positive, None, (-2, 2)),
    ("negative", torch.negative, None, (-2, 2)),
]
# Composites of several rounded ops: a few ulp more than one libm call.
LOOSE32 = {"mish": 2e-5, "hardswish": 1e-5, "tanhshrink": 1e-5, "logsigmoid": 1e-5, "sinc": 1e-5}
LOOSE64 = {"mish": 1e-12, "tanhshrink": 1e-12, "sinc": 1e-12}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,tfn,domain,gdomain", UNARY, ids=[u[0] for u in UNARY])
def test_unary_values(name, tfn, domain, gdomain, dtype):
    rng = np.random.default_rng(len(name))
    v = wide(rng, dtype, domain)
    got = getattr(fg, name)(fg.tensor(v))
    want = tfn(torch.from_numpy(v))
    if name == "tanhshrink":  # x - tanh(x) cancels near 0: compare absolutely there
        close(got, want, dtype, atol=1e-6 if dtype == np.float32 else 1e-15)
        return
    loose = (LOOSE32 if dtype == np.float32 else LOOSE64).get(name)
    close(got, want, dtype, **({"rtol": loose} if loose else {}))
    # the method form is the same binding
    assert getattr(fg.Tensor, name) is not None
    close(getattr(fg.tensor(v), name)(), want, dtype, **({"rtol": loose} if loose else {}))


@pytest.mark.parametrize("name,tfn,domain,gdomain", UNARY, ids=[u[0] for u in UNARY])
def test_unary_grads(name, tfn, domain, gdomain):
    rng = np.random.default_rng(3)
    v = rng.uniform(*gdomain, (3, 5))
    w = rng.standard_normal((3, 5))
    x = fg.tensor(v).requires_grad_()
    (g,) = fg.autograd.grad(getattr(fg, name)(x), x, fg.tensor(w))
    tx = torch.tensor(v, requires_grad=True)
    (tg,) = torch.autograd.grad(tfn(tx), tx, torch.tensor(w))
    if name == "hardsigmoid":  # PyTorch's kernel multiplies by the float32 constant 1/6f
        tg = torch.tensor(w / 6.0)
    close(g, tg, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(
    "name", ["expm1", "log2", "tan", "sinh", "atan", "erfinv", "rsqrt", "deg2rad", "sinc"]
)
def test_int_inputs_promote_to_float32(name):
    t = torch.tensor([1, 0, -1] if name not in ("log2", "rsqrt") else [1, 2, 4])
    got = getattr(fg, name)(fg.tensor(t.numpy()))
    close(got, getattr(torch, name)(t), np.float32)


@pytest.mark.parametrize("name", ["floor", "ceil", "trunc", "round", "square"])
def test_rounding_keeps_int64(name):
    t = torch.tensor([3, -4, 2**62])
    got = getattr(fg, name)(fg.tensor(t.numpy()))
    np.testing.assert_array_equal(np.asarray(got), getattr(torch, name)(t).numpy())
    assert got.dtype == fg.int64


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("decimals", [-2, -1, 1, 2, 3])
def test_round_decimals(decimals, dtype):
    v = np.random.default_rng(decimals + 5).uniform(-500, 500, 200).astype(dtype)
    v = np.concatenate([v, np.array([0.125, 0.375, 2.5, -2.5, 150.0, 250.0], dtype)])
    close(
        fg.round(fg.tensor(v), decimals=decimals), torch.round(torch.from_numpy(v), decimals=decimals), dtype
    )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_erfinv_accuracy(dtype):
    # erf(erfinv(y)) == y to the precision of the type, close to ±1 included
    y = np.concatenate([np.linspace(-0.999999, 0.999999, 2001), 1 - np.logspace(-15, -1, 50)]).astype(dtype)
    got = np.asarray(fg.erfinv(fg.tensor(y)))
    close(got, torch.erfinv(torch.from_numpy(y)), dtype, rtol=4e-6 if dtype == np.float32 else 4e-14)
    assert np.isinf(np.asarray(fg.erfinv(fg.tensor(np.array([1.0, -1.0], dtype))))).all()


def test_param_unary_values_and_grads():
    rng = np.random.default_rng(0)
    v = np.concatenate([rng.uniform(-4, 4, 50), SPECIAL])
    tv = torch.from_numpy(v)
    cases = [
        (lambda x: fg.hardtanh(x), lambda x: TF.hardtanh(x)),
        (lambda x: fg.hardtanh(x, -0.5, 2.0), lambda x: TF.hardtanh(x, -0.5, 2.0)),
        (lambda x: fg.elu(x, 0.7), lambda x: TF.elu(x, 0.7)),
        (lambda x: fg.celu(x, 1.5), lambda x: TF.celu(x, 1.5)),
        (lambda x: fg.threshold(x, 0.3, -2.0), lambda x: TF.threshold(x, 0.3, -2.0)),
        (lambda x: fg.softshrink(x, 0.7), lambda x: TF.softshrink(x, 0.7)),
        (lambda x: fg.hardshrink(x, 0.7), lambda x: TF.hardshrink(x, 0.7)),
        (lambda x: fg.nan_to_num(x), lambda x: torch.nan_to_num(x)),
        (lambda x: fg.nan_to_num(x, 1.0, 2.0, -3.0), lambda x: torch.nan_to_num(x, 1.0, 2.0, -3.0)),
        (lambda x: fg.clamp_min(x, 0.2), lambda x: torch.clamp_min(x, 0.2)),
        (lambda x: fg.clamp_max(x, 0.2), lambda x: torch.clamp_max(x, 0.2)),
    ]
    for f, tf in cases:
        close(f(fg.tensor(v)), tf(tv))
        # gradients away from the kinks
        g = rng.uniform(0.05, 0.95, 20) * rng.choice([-1, 1], 20) + rng.choice([-2, 0, 2], 20)
        x = fg.tensor(g).requires_grad_()
        tx = torch.tensor(g, requires_grad=True)
        (gx,) = fg.autograd.grad(fg.sum(f(x)), x)
        (tgx,) = torch.autograd.grad(tf(tx).sum(), tx)
        close(gx, tgx)
    # logit inside (0, 1) (PyTorch's gradient is NaN outside, fastgrad's the formula's value)
    for eps in (None, 0.1, 0.3):
        g = rng.uniform(0.05, 0.95, 20)
        close(fg.logit(fg.tensor(v), eps), torch.logit(tv, eps))
        x = fg.tensor(g).requires_grad_()
        tx = torch.tensor(g, requires_grad=True)
        close(
            fg.autograd.grad(fg.sum(fg.logit(x, eps=eps)), x)[0],
            torch.autograd.grad(torch.logit(tx, eps).sum(), tx)[0],
        )
    assert np.asarray(fg.nan_to_num(fg.tensor(np.array([np.inf], np.float32))))[0] == np.finfo(np.float32).max


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_binary_values(dtype):
    rng = np.random.default_rng(1)
    a = np.concatenate([rng.uniform(-50, 50, 60), SPECIAL, SPECIAL[::-1]]).astype(dtype)
    b = np.concatenate([rng.uniform(-50, 50, 60), SPECIAL[::-1], SPECIAL]).astype(dtype)
    ta, tb = torch.from_numpy(a), torch.from_numpy(b)
    # PyTorch's float32 fmod/remainder form a / b, which overflows for 1e30 / 1e-30 (NaN there);
    # fastgrad's is C's exact fmod, so those pairs are checked against NumPy instead
    over = np.abs(a.astype(np.float64) / b) > np.finfo(dtype).max
    for name in ["atan2", "hypot", "copysign", "fmod", "remainder", "logaddexp", "logaddexp2", "xlogy"]:
        got = np.asarray(getattr(fg, name)(fg.tensor(a), fg.tensor(b)))
        want = getattr(torch, name)(ta, tb).numpy()
        if name in ("fmod", "remainder"):
            np.testing.assert_array_equal(
                got[over], getattr(np, name if name == "fmod" else "remainder")(a, b)[over]
            )
            got, want = got[~over], want[~over]
        close(got, want, dtype)
    for mode in ["trunc", "floor"]:
        close(
            fg.div(fg.tensor(a), fg.tensor(b), rounding_mode=mode),
            torch.div(ta, tb, rounding_mode=mode),
            dtype,
        )
    close(fg.float_power(fg.tensor(a), fg.tensor(b)), torch.float_power(ta, tb))


def test_binary_grads_broadcast():
    rng = np.random.default_rng(2)
    a = rng.uniform(0.3, 3, (3, 4)) * rng.choice([-1, 1], (3, 4))
    b = rng.uniform(0.3, 3, (4,)) * rng.choice([-1, 1], (4,))
    for name in ["atan2", "hypot", "copysign", "fmod", "remainder", "logaddexp", "logaddexp2", "xlogy"]:
        bb = np.abs(b) if name == "xlogy" else b
        x, y = fg.tensor(a).requires_grad_(), fg.tensor(bb).requires_grad_()
        tx, ty = torch.tensor(a, requires_grad=True), torch.tensor(bb, requires_grad=True)
        gs = fg.autograd.grad(fg.sum(getattr(fg, name)(x, y) * fg.tensor(a)), [x, y])
        tgs = torch.autograd.grad((getattr(torch, name)(tx, ty) * torch.tensor(a)).sum(), [tx, ty])
        for g, tg in zip(gs, tgs):
            close(g, tg)


def test_logaddexp_ties_and_infinities():
    a = fg.tensor([1.0, 2.0]).requires_grad_()
    (g,) = fg.autograd.grad(fg.sum(fg.logaddexp(a, a)), a)
    np.testing.assert_allclose(np.asarray(g), [1.0, 1.0])
    inf = fg.tensor([math.inf, -math.inf, math.inf])
    np.testing.assert_array_equal(
        np.asarray(fg.logaddexp(inf, fg.tensor([math.inf, -math.inf, 1.0]))), [math.inf, -math.inf, math.inf]
    )


@pytest.mark.parametrize("name", ["fmod", "remainder"])
def test_integer_fmod_remainder(name):
    a = torch.tensor([7, -7, 7, -7, 0, 2**62])
    b = torch.tensor([3, 3, -3, -3, 5, -7])
    got = getattr(fg, name)(fg.tensor(a.numpy()), fg.tensor(b.numpy()))
    assert got.dtype == fg.int64
    np.testing.assert_array_equal(np.asarray(got), getattr(torch, name)(a, b).numpy())
    # scalar other: an int stays int64, a float promotes as PyTorch
    np.testing.assert_array_equal(
        np.asarray(getattr(fg, name)(fg.tensor(a.numpy()), 4)), getattr(torch, name)(a, 4)
    )
    close(getattr(fg, name)(fg.tensor(a.numpy()), 2.5), getattr(torch, name)(a, 2.5), np.float32)
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        getattr(fg, name)(fg.tensor(a.numpy()), 0)
    with pytest.raises(RuntimeError):
        getattr(torch, name)(a, 0)


def test_div_rounding_modes_integers():
    a = torch.tensor([7, -7, 7, -7, 2**62 + 1])
    b = torch.tensor([2, 2, -2, -2, -1])
    for mode in ["trunc", "floor"]:
        got = fg.div(fg.tensor(a.numpy()), fg.tensor(b.numpy()), rounding_mode=mode)
        assert got.dtype == fg.int64
        np.testing.assert_array_equal(np.asarray(got), torch.div(a, b, rounding_mode=mode).numpy())
    close(fg.div(fg.tensor(a.numpy()), fg.tensor(b.numpy())), torch.div(a, b), np.float32)
    # INT64_MIN // -1 wraps (PyTorch's own kernel traps on it)
    for mode in ["trunc", "floor"]:
        got = fg.div(fg.tensor(np.array([-(2**63)])), -1, rounding_mode=mode)
        assert np.asarray(got)[0] == -(2**63)
    with pytest.raises(ValueError, match="rounding_mode"):
        fg.div(fg.tensor([1.0]), fg.tensor([2.0]), rounding_mode="round")
    # gradient 0, as PyTorch
    x = fg.tensor([1.5, -2.5]).requires_grad_()
    (g,) = fg.autograd.grad(fg.sum(fg.div(x, 2.0, rounding_mode="floor")), x)
    np.testing.assert_array_equal(np.asarray(g), [0.0, 0.0])


def test_add_sub_alpha_and_rsub():
    rng = np.random.default_rng(4)
    a, b = rng.standard_normal((2, 3)), rng.standard_normal((3,))
    ta, tb = torch.tensor(a), torch.tensor(b)
    close(fg.add(fg.tensor(a), fg.tensor(b), alpha=2.5), torch.add(ta, tb, alpha=2.5))
    close(fg.sub(fg.tensor(a), fg.tensor(b), alpha=-3), torch.sub(ta, tb, alpha=-3))
    close(fg.tensor(a).add(fg.tensor(b), alpha=0.5), ta.add(tb, alpha=0.5))
    close(fg.rsub(fg.tensor(a), fg.tensor(b), alpha=2), torch.rsub(ta, tb, alpha=2))
    close(fg.rsub(fg.tensor(a), 1.5), torch.rsub(ta, 1.5))
    ia = torch.tensor([1, 2, 3])
    got = fg.add(fg.tensor(ia.numpy()), fg.tensor(ia.numpy()), alpha=3)
    assert got.dtype == fg.int64
    np.testing.assert_array_equal(np.asarray(got), torch.add(ia, ia, alpha=3).numpy())
    x, y = fg.tensor(a).requires_grad_(), fg.tensor(b).requires_grad_()
    gx, gy = fg.autograd.grad(fg.sum(fg.sub(x, y, alpha=2.0)), [x, y])
    np.testing.assert_allclose(np.asarray(gy), np.full(3, -4.0))


def test_clamp_tensor_bounds():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((3, 4))
    lo = rng.uniform(-1, 0, (4,))
    hi = rng.uniform(0, 1, (3, 1))
    hi[0, 0] = -2.0  # lo > hi somewhere: hi wins, as PyTorch
    tx, tlo, thi = (torch.tensor(v, requires_grad=True) for v in (x, lo, hi))
    fx, flo, fhi = (fg.tensor(v).requires_grad_() for v in (x, lo, hi))
    for args, targs in [((flo, fhi), (tlo, thi)), ((flo, None), (tlo, None)), ((None, fhi), (None, thi))]:
        y = fg.clamp(fx, *args)
        ty = torch.clamp(tx, *targs)
        close(y, ty)
        leaves = [fx] + [a for a in args if a is not None]
        tleaves = [tx] + [a for a in targs if a is not None]
        gs = fg.autograd.grad(fg.sum(y * fg.tensor(x)), leaves)
        tgs = torch.autograd.grad((ty * torch.tensor(x)).sum(), tleaves)
        for g, tg in zip(gs, tgs):
            close(g, tg)
    close(fg.clamp(fx, min=flo), torch.clamp(tx, min=tlo))
    close(fx.clamp(max=fhi), tx.clamp(max=thi))
    close(fg.clamp_min(fx, flo), torch.clamp_min(tx, tlo))
    close(fg.clip(fx, -0.5, 0.5), torch.clip(tx, -0.5, 0.5))
    with pytest.raises(ValueError, match="at least one"):
        fg.clamp(fx)


def test_where_scalars_and_nonzero():
    c = np.array([[True, False, True], [False, False, True]])
    x = np.arange(6.0).reshape(2, 3)
    tc, tx = torch.tensor(c), torch.tensor(x)
    close(fg.where(fg.tensor(c), fg.tensor(x), 0.0), torch.where(tc, tx, 0.0))
    close(fg.where(fg.tensor(c), -1.5, fg.tensor(x)), torch.where(tc, -1.5, tx))
    close(fg.where(fg.tensor(c), 1.0, 0.0), torch.where(tc, 1.0, 0.0), np.float32)
    got = fg.where(fg.tensor(c))
    want = torch.where(tc)
    assert isinstance(got, tuple) and len(got) == 2
    for g, w in zip(got, want):
        np.testing.assert_array_equal(np.asarray(g), w.numpy())
    np.testing.assert_array_equal(np.asarray(fg.where(fg.tensor(np.array(True)))[0]), [0])
    with pytest.raises(TypeError):
        fg.where(fg.tensor(c), fg.tensor(x))


def test_pow_either_side():
    x = np.array([0.5, 1.5, 2.0])
    tx = torch.tensor(x)
    close(fg.pow(2.0, fg.tensor(x)), torch.pow(2.0, tx))
    close(fg.pow(fg.tensor(x), 3), torch.pow(tx, 3))
    close(fg.pow(fg.tensor(x), fg.tensor(x)), torch.pow(tx, tx))
    ti = torch.tensor([1, 2, 3])
    np.testing.assert_array_equal(np.asarray(fg.pow(2, fg.tensor(ti.numpy()))), torch.pow(2, ti).numpy())


def test_lerp_addcmul_addcdiv():
    rng = np.random.default_rng(6)
    s, e, w = rng.standard_normal((3, 4)), rng.standard_normal((4,)), rng.uniform(-0.2, 1.2, (3, 4))
    ts, te, tw = (torch.tensor(v, requires_grad=True) for v in (s, e, w))
    fs, fe, fw = (fg.tensor(v).requires_grad_() for v in (s, e, w))
    pairs = [
        (fg.lerp(fs, fe, fw), torch.lerp(ts, te, tw), [fs, fe, fw], [ts, te, tw]),
        (fg.lerp(fs, fe, 0.3), torch.lerp(ts, te, 0.3), [fs, fe], [ts, te]),
        (fg.addcmul(fs, fe, fw, value=0.5), torch.addcmul(ts, te, tw, value=0.5), [fs, fe, fw], [ts, te, tw]),
        (fg.addcdiv(fs, fe, fw, value=-2), torch.addcdiv(ts, te, tw, value=-2), [fs, fe, fw], [ts, te, tw]),
        (fs.addcmul(fe, fw), ts.addcmul(te, tw), [fs, fe, fw], [ts, te, tw]),
    ]
    for y, ty, leaves, tleaves in pairs:
        close(y, ty)
        for g, tg in zip(fg.autograd.grad(fg.sum(y), leaves), torch.autograd.grad(ty.sum(), tleaves)):
            close(g, tg)


# ------------------------------------------------------------------ layers and F forms
LAYERS = [
    (lambda: nn.ELU(), lambda: torch.nn.ELU()),
    (lambda: nn.ELU(alpha=0.5, inplace=True), lambda: torch.nn.ELU(alpha=0.5)),
    (lambda: nn.SELU(inplace=True), lambda: torch.nn.SELU()),
    (lambda: nn.CELU(1.5), lambda: torch.nn.CELU(1.5)),
    (lambda: nn.Mish(), lambda: torch.nn.Mish()),
    (lambda: nn.Hardswish(), lambda: torch.nn.Hardswish()),
    (lambda: nn.Hardsigmoid(), lambda: torch.nn.Hardsigmoid()),
    (lambda: nn.Hardtanh(-2.0, 2.0), lambda: torch.nn.Hardtanh(-2.0, 2.0)),
    (lambda: nn.ReLU6(inplace=True), lambda: torch.nn.ReLU6()),
    (lambda: nn.ReLU(inplace=True), lambda: torch.nn.ReLU()),
    (lambda: nn.LeakyReLU(0.2, inplace=True), lambda: torch.nn.LeakyReLU(0.2)),
    (lambda: nn.SiLU(inplace=True), lambda: torch.nn.SiLU()),
    (lambda: nn.Softsign(), lambda: torch.nn.Softsign()),
    (lambda: nn.LogSigmoid(), lambda: torch.nn.LogSigmoid()),
    (lambda: nn.Threshold(0.1, 20.0), lambda: torch.nn.Threshold(0.1, 20.0)),
    (lambda: nn.Tanhshrink(), lambda: torch.nn.Tanhshrink()),
    (lambda: nn.Softshrink(0.3), lambda: torch.nn.Softshrink(0.3)),
    (lambda: nn.Hardshrink(0.3), lambda: torch.nn.Hardshrink(0.3)),
    (lambda: nn.GLU(), lambda: torch.nn.GLU()),
    (lambda: nn.GLU(dim=1), lambda: torch.nn.GLU(dim=1)),
    (lambda: nn.Softmin(dim=1), lambda: torch.nn.Softmin(dim=1)),
    (lambda: nn.Softmin(), lambda: torch.nn.Softmin()),
    (lambda: nn.PReLU(), lambda: torch.nn.PReLU()),
    (lambda: nn.PReLU(4, init=0.1), lambda: torch.nn.PReLU(4, init=0.1)),
]


@pytest.mark.parametrize("make,tmake", LAYERS)
def test_layers_match_torch(make, tmake):
    rng = np.random.default_rng(7)
    v = rng.uniform(-3, 3, (2, 4, 6))
    m, tm = make(), tmake().double()
    if isinstance(m, nn.PReLU):
        m = m.to(fg.float64) if hasattr(m, "to") else m
        m.weight = nn.Parameter(fg.tensor(tm.weight.detach().numpy().copy()))
    x = fg.tensor(v).requires_grad_()
    tx = torch.tensor(v, requires_grad=True)
    y, ty = m(x), tm(tx)
    close(y, ty, atol=1e-15)
    leaves, tleaves = [x], [tx]
    if isinstance(m, nn.PReLU):
        leaves.append(m.weight)
        tleaves.append(tm.weight)
    w = rng.standard_normal(tuple(ty.shape))
    for g, tg in zip(
        fg.autograd.grad(fg.sum(y * fg.tensor(w)), leaves),
        torch.autograd.grad((ty * torch.tensor(w)).sum(), tleaves),
    ):
        if isinstance(m, nn.Hardsigmoid):  # PyTorch's kernel multiplies by the float32 constant 1/6f
            tg = torch.where((tx > -3) & (tx < 3), torch.tensor(w) / 6.0, 0.0)
        close(g, tg, atol=1e-14)
    assert isinstance(repr(m), str)


def test_prelu_functional_and_errors():
    x = np.random.default_rng(8).standard_normal((2, 3, 5))
    w = np.array([0.1, 0.2, 0.3])
    close(F.prelu(fg.tensor(x), fg.tensor(w)), TF.prelu(torch.tensor(x), torch.tensor(w)))
    close(F.prelu(fg.tensor(x[0, 0]), fg.tensor(w[:1])), TF.prelu(torch.tensor(x[0, 0]), torch.tensor(w[:1])))
    with pytest.raises(ValueError, match="prelu"):
        F.prelu(fg.tensor(x), fg.tensor(np.ones(4)))
    p = nn.PReLU(3)
    assert p.weight.shape == (3,) and np.allclose(np.asarray(p.weight), 0.25)
    assert [n for n, _ in p.named_parameters()] == ["weight"]


def test_functional_signatures():
    x = torch.randn(3, 4, dtype=torch.float64)
    fx = to_fg(x)
    close(F.elu(fx, 0.5, inplace=False), TF.elu(x, 0.5))
    close(F.hardtanh(fx, min_val=-0.5, max_val=0.5, inplace=True), TF.hardtanh(x, -0.5, 0.5))
    close(F.relu6(fx, inplace=True), TF.relu6(x))
    close(F.threshold(fx, 0.1, -1.0), TF.threshold(x, 0.1, -1.0))
    close(F.glu(fx, dim=0) if False else F.glu(fx), TF.glu(x))
    close(F.softmin(fx, dim=0), TF.softmin(x, dim=0))
    close(F.softmax(fx, dim=None), TF.softmax(x, dim=None))
    close(F.log_softmax(fx, 1, dtype=fg.float32), TF.log_softmax(x, 1, dtype=torch.float32), np.float32)
    close(F.leaky_relu(fx, 0.1, inplace=True), TF.leaky_relu(x, 0.1))
    with pytest.raises(ValueError, match="glu"):
        F.glu(to_fg(torch.randn(3, 5)))
    with pytest.raises(ValueError, match="celu"):
        F.celu(fx, 0.0)
    with pytest.raises(ValueError, match="softshrink"):
        F.softshrink(fx, -1.0)
    # leaky_relu's gradient at 0 is the slope, as PyTorch
    z = fg.tensor([0.0]).requires_grad_()
    (g,) = fg.autograd.grad(fg.sum(F.leaky_relu(z, 0.2)), z)
    np.testing.assert_allclose(np.asarray(g), [0.2])


# ------------------------------------------------------------------ PyTorch's OpInfo samples
# torch OpInfo name (variant) -> the fastgrad callable taking the sample's (input, *args, **kwargs)
OPINFO = {
    **{
        n: getattr(fg, n)
        for n in (
            "expm1 log2 log10 exp2 tan sinh cosh asinh acosh atanh asin acos atan atan2 erfc erfinv rsqrt "
            "square reciprocal floor ceil trunc frac fix round fmod remainder xlogy hypot copysign sinc deg2rad "
            "rad2deg logit nan_to_num lerp addcmul addcdiv float_power clamp_min clamp_max positive negative "
            "true_divide rsub logaddexp logaddexp2 add sub div clamp pow"
        ).split()
    },
    # OpInfo's where is the method form: (x, condition, y)
    "where": lambda x, cond, y: fg.where(cond, x, y),
    "nn.functional.elu": F.elu,
    "nn.functional.selu": F.selu,
    "nn.functional.celu": F.celu,
    "nn.functional.mish": F.mish,
    "nn.functional.hardswish": F.hardswish,
    "nn.functional.hardsigmoid": F.hardsigmoid,
    "nn.functional.hardtanh": F.hardtanh,
    "nn.functional.relu6": F.relu6,
    "nn.functional.softsign": F.softsign,
    "nn.functional.logsigmoid": F.logsigmoid,
    "nn.functional.threshold": F.threshold,
    "nn.functional.tanhshrink": F.tanhshrink,
    "nn.functional.softshrink": F.softshrink,
    "nn.functional.hardshrink": F.hardshrink,
    "nn.functional.glu": F.glu,
    "nn.functional.softmin": F.softmin,
    "nn.functional.prelu": F.prelu,
    "nn.functional.leaky_relu": F.leaky_relu,
}
ENTRIES = [o for o in op_db if o.name in OPINFO]


def _dtype_ok(t):
    return not isinstance(t, torch.Tensor) or t.dtype in (
        torch.float32,
        torch.float64,
        torch.int64,
        torch.bool,
    )


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("op", ENTRIES, ids=[f"{o.name}-{o.variant_test_name}" for o in ENTRIES])
def test_opinfo_samples(op, dtype):
    fn = OPINFO[op.name]
    grads = dtype == torch.float64 and op.supports_autograd
    n = 0
    for s in op.sample_inputs("cpu", dtype, requires_grad=grads):
        args = [s.input, *s.args]
        if not all(_dtype_ok(a) for a in args) or not all(_dtype_ok(v) for v in s.kwargs.values()):
            continue
        want = op(s.input, *s.args, **s.kwargs)
        got = fn(to_fg(s.input), *to_fg(list(s.args)), **{k: to_fg(v) for k, v in s.kwargs.items()})
        if isinstance(want, (tuple, list)):
            continue
        tol = dict(rtol=1e-5, atol=1e-5) if dtype == torch.float32 else dict(rtol=1e-10, atol=1e-12)
        close(got, want, **tol)
        n += 1
        if not grads or not want.requires_grad or not want.dtype.is_floating_point:
            continue
        tleaves = [
            a
            for a in [s.input, *s.args, *s.kwargs.values()]
            if isinstance(a, torch.Tensor) and a.requires_grad
        ]
        leaves = [fg.tensor(a.detach().numpy().copy()).requires_grad_() for a in tleaves]
        it = iter(leaves)

        def swap(a):
            return next(it) if isinstance(a, torch.Tensor) and a.requires_grad else to_fg(a)

        fargs = [swap(a) for a in [s.input, *s.args]]
        fkw = {k: swap(v) for k, v in s.kwargs.items()}
        y = fn(*fargs, **fkw)
        w = torch.randn(want.shape, dtype=want.dtype)
        tgs = torch.autograd.grad(want, tleaves, w, allow_unused=True)
        gs = fg.autograd.grad(y, leaves, to_fg(w), allow_unused=True)
        if op.name == "nn.functional.hardsigmoid":  # PyTorch multiplies by the float32 constant 1/6f
            x0 = s.input.detach()
            tgs = (torch.where((x0 > -3) & (x0 < 3), w / 6.0, 0.0),)
        for g, tg in zip(gs, tgs):
            if tg is None:
                assert g is None or np.all(np.asarray(g) == 0)
            else:
                close(g, tg, rtol=1e-8, atol=1e-10)
    assert n > 0, f"no sample of {op.name} ran"
