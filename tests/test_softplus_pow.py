"""softplus's `threshold` (issue 10, item 7) and pow's base derivative at 0**0 (item 12),
against PyTorch in float32 and float64, for every entry point (F.softplus, fg.softplus,
Tensor.softplus, nn.Softplus), forward, VJP and JVP."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import fastgrad as fg
import fastgrad.nn as nn
import fastgrad.nn.functional as F

DT = [(fg.float32, np.float32, torch.float32, 2e-6), (fg.float64, np.float64, torch.float64, 1e-14)]
PARAMS = [(1.0, 20.0), (3.0, 0.2), (1.0, 0.5), (2.0, -1.0), (0.5, 5.0), (1.0, 1.0), (1.0, float("inf"))]


@pytest.mark.parametrize("beta,threshold", PARAMS)
@pytest.mark.parametrize("dt", DT, ids=["f32", "f64"])
def test_softplus_threshold_vs_torch(dt, beta, threshold):
    fdt, npdt, tdt, tol = dt
    a = np.concatenate(
        [np.linspace(-30, 30, 241), [0.25, threshold / beta if np.isfinite(threshold) else 0.0]]
    )
    a = a.astype(npdt)
    t = torch.tensor(a, dtype=tdt, requires_grad=True)
    ty = torch.nn.functional.softplus(t, beta, threshold)
    ty.backward(torch.ones_like(ty))
    for f in (
        lambda x: F.softplus(x, beta, threshold),
        lambda x: fg.softplus(x, beta=beta, threshold=threshold),
        lambda x: x.softplus(beta, threshold),
        nn.Softplus(beta, threshold),
    ):
        x = fg.tensor(a, dtype=fdt, requires_grad=True)
        y = f(x)
        y.sum().backward()
        np.testing.assert_allclose(np.asarray(y.detach()), ty.detach().numpy(), rtol=tol, atol=tol)
        np.testing.assert_allclose(np.asarray(x.grad), t.grad.numpy(), rtol=tol, atol=tol)
        # forward mode: the tangent is the same derivative times the input tangent
        v = np.linspace(-1, 1, a.size).astype(npdt)
        _, tangent = fg.jvp(f, (fg.tensor(a, dtype=fdt),), (fg.tensor(v, dtype=fdt),))
        np.testing.assert_allclose(np.asarray(tangent), t.grad.numpy() * v, rtol=tol, atol=tol)


def test_softplus_threshold_issue_example():
    assert float(F.softplus(fg.tensor(0.25), beta=3, threshold=0.2)) == 0.25  # was 0.379
    x = fg.tensor([0.25, 0.05], dtype=fg.float64, requires_grad=True)
    F.softplus(x, beta=3, threshold=0.2).sum().backward()
    np.testing.assert_allclose(np.asarray(x.grad), [1.0, 1 / (1 + np.exp(-0.15))], rtol=1e-15)
    assert "threshold=0.2" in repr(nn.Softplus(3, 0.2))
    with pytest.raises(ValueError, match="softplus.*threshold"):
        F.softplus(x, 1.0, float("nan"))


def test_softplus_threshold_second_order_vs_torch():
    a = np.array([-1.0, 0.1, 0.3, 2.0])
    x = fg.tensor(a, requires_grad=True)
    (g,) = fg.autograd.grad(F.softplus(x, 2.0, 0.5).sum(), [x], create_graph=True)
    (h,) = fg.autograd.grad(g.sum(), [x])
    t = torch.tensor(a, requires_grad=True)
    (tg,) = torch.autograd.grad(torch.nn.functional.softplus(t, 2.0, 0.5).sum(), [t], create_graph=True)
    (th,) = torch.autograd.grad(tg.sum(), [t])
    np.testing.assert_allclose(np.asarray(g.detach()), tg.detach().numpy(), rtol=1e-15)
    np.testing.assert_allclose(np.asarray(h), th.numpy(), rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("dt", DT, ids=["f32", "f64"])
def test_pow_base_derivative_at_zero_exponent(dt):
    """d a^b / da where b == 0 is 0 (also at a == 0), for tensor and scalar exponents,
    as PyTorch (it was 0 * inf = NaN with a tensor exponent)."""
    fdt, npdt, tdt, _ = dt
    a = np.array([0.0, 0.0, 2.0, -1.5, 0.0, 3.0], npdt)
    b = np.array([0.0, 1.0, 0.0, 0.0, 2.0, 0.5], npdt)
    t, tb = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    (t**tb).sum().backward()
    x, e = fg.tensor(a, dtype=fdt, requires_grad=True), fg.tensor(b, dtype=fdt, requires_grad=True)
    fg.pow(x, e).sum().backward()
    np.testing.assert_array_equal(np.asarray(x.grad), t.grad.numpy())
    np.testing.assert_array_equal(np.asarray(e.grad)[[0, 1, 2, 4, 5]], tb.grad.numpy()[[0, 1, 2, 4, 5]])
    _, tan = fg.jvp(
        lambda u: fg.pow(u, fg.tensor(b, dtype=fdt)),
        (fg.tensor(a, dtype=fdt),),
        (fg.tensor(np.ones_like(a), dtype=fdt),),
    )
    np.testing.assert_array_equal(np.asarray(tan), t.grad.numpy())
    # tensor and scalar exponent 0 agree
    for s in (0.0, 0):
        x1 = fg.tensor(a, dtype=fdt, requires_grad=True)
        x2 = fg.tensor(a, dtype=fdt, requires_grad=True)
        (x1**s).sum().backward()
        fg.pow(x2, fg.full(a.shape, float(s), dtype=fdt)).sum().backward()
        np.testing.assert_array_equal(np.asarray(x1.grad), np.asarray(x2.grad))
        np.testing.assert_array_equal(np.asarray(x1.grad), np.zeros_like(a))


@pytest.mark.parametrize("dt", DT, ids=["f32", "f64"])
def test_pow_exponent_derivative_at_zero_base_like_torch(dt):
    """d a^b / db at a == 0 is 0 only for b >= 0 (PyTorch); for b < 0 it is inf * log 0 =
    -inf (it was 0), in the gradient and the tangent, with broadcasting exponents too."""
    fdt, npdt, tdt, _ = dt
    a = np.array([0.0, 0.0, 0.0, -0.0, 0.0, 2.0], npdt)
    b = np.array([-1.0, -0.5, 0.0, -2.0, 3.0, -1.0], npdt)
    t, tb = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    (t**tb).sum().backward()
    x, e = fg.tensor(a, dtype=fdt, requires_grad=True), fg.tensor(b, dtype=fdt, requires_grad=True)
    fg.pow(x, e).sum().backward()
    np.testing.assert_allclose(np.asarray(e.grad), tb.grad.numpy(), rtol=1e-6)
    _, tan = fg.jvp(
        lambda u: fg.pow(fg.tensor(a, dtype=fdt), u),
        (fg.tensor(b, dtype=fdt),),
        (fg.tensor(np.ones_like(b), dtype=fdt),),
    )
    np.testing.assert_allclose(np.asarray(tan), tb.grad.numpy(), rtol=1e-6)
    # a 0-d exponent broadcast against the bases
    for s in (-1.0, 0.0, 2.0):
        tb0 = torch.tensor(s, dtype=tdt, requires_grad=True)
        (torch.tensor(a) ** tb0).sum().backward()
        e0 = fg.tensor(s, dtype=fdt, requires_grad=True)
        fg.pow(fg.tensor(a, dtype=fdt), e0).sum().backward()
        np.testing.assert_allclose(float(e0.grad), tb0.grad.item(), rtol=1e-6)
