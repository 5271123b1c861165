"""Losses against the cheat sheet's formulas and against torch.nn.functional."""

import numpy as np
import pytest

import fastgrad as fg
import fastgrad.nn as nn
import fastgrad.nn.functional as F

try:
    import torch
    import torch.nn.functional as TF
except Exception:  # pragma: no cover
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="torch not importable")
rng = np.random.default_rng(0)


def A(t):
    return np.asarray(t.detach())


def arr(*shape):
    return rng.standard_normal(shape)


@pytest.mark.parametrize("name", ["mse", "l1", "huber"])
def test_regression_losses_formulas_with_weights(name):
    yh, y = arr(6, 4), arr(6, 4)
    d = yh - y
    el = {
        "mse": d**2,
        "l1": np.abs(d),
        "huber": np.where(np.abs(d) < 0.7, 0.5 * d**2, 0.7 * (np.abs(d) - 0.35)),
    }[name]
    fn = {"mse": F.mse_loss, "l1": F.l1_loss, "huber": lambda a, b, **k: F.huber_loss(a, b, delta=0.7, **k)}[
        name
    ]
    t, tt = fg.tensor(yh), fg.tensor(y)
    np.testing.assert_allclose(A(fn(t, tt)), el.mean(), rtol=1e-12)
    np.testing.assert_allclose(A(fn(t, tt, reduction="sum")), el.sum(), rtol=1e-12)
    np.testing.assert_allclose(A(fn(t, tt, reduction="none")), el, rtol=1e-12)
    w = np.array([1.0, 0.0, 2.0, 0.5, 0.0, 3.0])  # zeros mask examples
    a = np.array([1.0, 2.0, 0.0, 0.5])  # a zero masks an output dimension
    per = (el * a).sum(1) / a.sum()
    np.testing.assert_allclose(A(fn(t, tt, weight=w, dim_weight=a)), (w * per).sum() / w.sum(), rtol=1e-12)
    np.testing.assert_allclose(A(fn(t, tt, weight=w)), (w * el.mean(1)).sum() / w.sum(), rtol=1e-12)
    np.testing.assert_allclose(A(fn(t, tt, dim_weight=a)), per.mean(), rtol=1e-12)
    np.testing.assert_allclose(A(fn(t, tt, weight=w, reduction="sum")), (w[:, None] * el).sum(), rtol=1e-12)


def test_weighted_gradient_matches_cheat_sheet():
    # ∂L/∂ŷ_i = (ω_i / Σω) ∂ψ/∂ŷ_i, with ψ = mean over dims of the squared error
    yh = fg.tensor(arr(5, 3)).requires_grad_()
    y = arr(5, 3)
    w = np.array([0.5, 1.0, 0.0, 2.0, 1.5])
    F.mse_loss(yh, y, weight=w).backward()
    expect = (w / w.sum())[:, None] * 2 * (A(yh) - y) / 3
    np.testing.assert_allclose(A(yh.grad), expect, rtol=1e-12)


def test_bce_with_logits_stable_and_formula():
    z = fg.tensor(np.array([-1000.0, -3.0, 0.0, 2.0, 1000.0]))
    y = np.array([0.0, 1.0, 1.0, 0.0, 1.0])
    out = A(F.binary_cross_entropy_with_logits(z, y, reduction="none"))
    zz = A(z)
    ref = np.logaddexp(0, zz) - y * zz
    np.testing.assert_allclose(out, ref, rtol=1e-12)
    assert np.all(np.isfinite(out))
    p = 1 / (1 + np.exp(-np.array([-3.0, 0.0, 2.0])))
    np.testing.assert_allclose(
        A(F.binary_cross_entropy(fg.tensor(p), y[1:4], reduction="none")),
        -(y[1:4] * np.log(p) + (1 - y[1:4]) * np.log(1 - p)),
        rtol=1e-12,
    )
    with pytest.raises(ValueError, match="probabilities"):
        F.binary_cross_entropy(fg.tensor(np.array([1.5])), np.array([1.0]))


@needs_torch
def test_bce_vs_torch():
    z, y = arr(8, 3), (rng.random((8, 3)) > 0.5).astype(np.float64)
    pw = np.array([1.0, 2.0, 0.5])
    np.testing.assert_allclose(
        A(F.binary_cross_entropy_with_logits(fg.tensor(z), y, pos_weight=pw)),
        TF.binary_cross_entropy_with_logits(
            torch.tensor(z), torch.tensor(y), pos_weight=torch.tensor(pw)
        ).item(),
        rtol=1e-10,
    )
    p = 1 / (1 + np.exp(-z))
    np.testing.assert_allclose(
        A(F.binary_cross_entropy(fg.tensor(p), y)),
        TF.binary_cross_entropy(torch.tensor(p), torch.tensor(y)).item(),
        rtol=1e-10,
    )


@needs_torch
@pytest.mark.parametrize("ls", [0.0, 0.1])
def test_cross_entropy_vs_torch(ls):
    z = arr(7, 5)
    t = rng.integers(0, 5, 7)
    t[2] = -100
    cw = rng.random(5) + 0.5
    tz, tt = torch.tensor(z, requires_grad=True), torch.tensor(t)
    for kw_fg, kw_t in [({}, {}), ({"class_weight": cw}, {"weight": torch.tensor(cw)})]:
        for red in ("mean", "sum", "none"):
            fz = fg.tensor(z).requires_grad_()
            out = F.cross_entropy(fz, t, reduction=red, label_smoothing=ls, **kw_fg)
            ref = TF.cross_entropy(tz, tt, reduction=red, label_smoothing=ls, **kw_t)
            np.testing.assert_allclose(A(out), ref.detach().numpy(), rtol=1e-10, atol=1e-12)
            fg.sum(out).backward()
            tz.grad = None
            ref.sum().backward()
            np.testing.assert_allclose(A(fz.grad), tz.grad.numpy(), rtol=1e-9, atol=1e-12)
    # probability targets
    q = rng.random((7, 5))
    q /= q.sum(1, keepdims=True)
    np.testing.assert_allclose(
        A(F.cross_entropy(fg.tensor(z), q, label_smoothing=ls)),
        TF.cross_entropy(torch.tensor(z), torch.tensor(q), label_smoothing=ls).item(),
        rtol=1e-10,
    )
    # spatial targets (B, K, d)
    z3 = arr(2, 4, 3)
    t3 = rng.integers(0, 4, (2, 3))
    np.testing.assert_allclose(
        A(F.cross_entropy(fg.tensor(z3), t3, label_smoothing=ls)),
        TF.cross_entropy(torch.tensor(z3), torch.tensor(t3), label_smoothing=ls).item(),
        rtol=1e-10,
    )
    lp = np.log(np.exp(z) / np.exp(z).sum(1, keepdims=True))
    np.testing.assert_allclose(
        A(F.nll_loss(fg.tensor(lp), t)), TF.nll_loss(torch.tensor(lp), tt).item(), rtol=1e-10
    )


def test_cross_entropy_formula_and_example_weights():
    z = arr(6, 4)
    t = rng.integers(0, 4, 6)
    per = np.log(np.exp(z).sum(1)) - z[np.arange(6), t]  # logsumexp(Z_i) − Z_{i,y_i}
    np.testing.assert_allclose(A(F.cross_entropy(fg.tensor(z), t)), per.mean(), rtol=1e-12)
    w = np.array([1.0, 0.0, 0.5, 2.0, 0.0, 1.0])
    np.testing.assert_allclose(
        A(F.cross_entropy(fg.tensor(z), t, weight=w)), (w * per).sum() / w.sum(), rtol=1e-12
    )
    with pytest.raises(ValueError, match="target shape"):
        F.cross_entropy(fg.tensor(z), t[:5])


def test_loss_modules_and_errors():
    yh, y = fg.tensor(arr(4, 2)), fg.tensor(arr(4, 2))
    np.testing.assert_allclose(A(nn.MSELoss()(yh, y)), A(F.mse_loss(yh, y)))
    np.testing.assert_allclose(A(nn.HuberLoss(delta=0.5)(yh, y)), A(F.huber_loss(yh, y, delta=0.5)))
    with pytest.raises(ValueError, match="shape"):
        F.mse_loss(yh, fg.tensor(arr(4)))
    with pytest.raises(ValueError, match="reduction"):
        F.mse_loss(yh, y, reduction="avg")
    with pytest.raises(ValueError, match="per-example"):
        F.mse_loss(yh, y, weight=np.ones(3))


@pytest.mark.parametrize("dt", [(fg.float32, torch.float32), (fg.float64, torch.float64)], ids=["f32", "f64"])
@pytest.mark.parametrize("fn", ["cross_entropy", "cross_entropy-smoothing", "nll_loss", "cross_entropy-3d"])
def test_every_target_ignored_is_nan_with_zero_gradient_like_torch(fn, dt):
    """mean over no counted target: NaN value (0/0) but zero gradients, as PyTorch; the
    gradient was inf * 0 = NaN everywhere. Some ignored targets keep torch's exact gradient."""
    fdt, tdt = dt
    rng = np.random.default_rng(5)
    shape = (2, 3, 4) if fn.endswith("3d") else (3, 4)
    x = rng.standard_normal(shape)
    tshape = (shape[0],) + shape[2:]
    for tgt in (np.full(tshape, -100), np.where(rng.random(tshape) < 0.5, -100, 1)):
        tgt = tgt.astype(np.int64)
        kw = {"label_smoothing": 0.1} if fn.endswith("smoothing") else {}
        name = fn.split("-")[0]
        X = fg.tensor(x, dtype=fdt, requires_grad=True)
        T = torch.tensor(x, dtype=tdt, requires_grad=True)
        L = getattr(F, name)(X, fg.tensor(tgt), ignore_index=-100, **kw)
        tL = getattr(torch.nn.functional, name)(T, torch.tensor(tgt), ignore_index=-100, **kw)
        L.backward()
        tL.backward()
        np.testing.assert_allclose(float(L.detach()), tL.item(), rtol=1e-5)  # NaN == NaN here
        np.testing.assert_allclose(np.asarray(X.grad), T.grad.numpy(), rtol=1e-5, atol=1e-7)
