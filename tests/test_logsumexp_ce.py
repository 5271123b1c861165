"""logsumexp and softmax cross-entropy as primitives of their own (issue 11, item 4).

Each is one tape node (the composites put seven resp. six on the tape); values and
gradients against PyTorch in float32 and float64, including the stable-shift edge cases
(huge logits, -inf/+inf/NaN rows, empty axes) and every option of nn.functional.cross_entropy.
"""

from __future__ import annotations

import numpy as np
import pytest

import fastgrad as fg

torch = pytest.importorskip("torch")
C = fg._C
TOL = {fg.float32: dict(rtol=2e-5, atol=2e-6), fg.float64: dict(rtol=1e-12, atol=1e-13)}
NP = {fg.float32: np.float32, fg.float64: np.float64}


def new_nodes(fn):
    before = C.live_nodes()
    out = fn()
    return out, C.live_nodes() - before


@pytest.mark.parametrize("dt", [fg.float32, fg.float64])
@pytest.mark.parametrize("axis,keep", [(None, False), (1, True), ((0, 2), False), (-1, False), (0, True)])
def test_logsumexp_matches_torch(dt, axis, keep):
    a = np.random.default_rng(3).standard_normal((3, 4, 5)).astype(NP[dt]) * 30
    x = fg.tensor(a, requires_grad=True)
    y, nodes = new_nodes(lambda: fg.logsumexp(x, axis=axis, keepdims=keep))
    assert nodes == 1 and y.grad_fn == "logsumexp"
    t = torch.tensor(a, requires_grad=True)
    ty = torch.logsumexp(t, dim=tuple(range(3)) if axis is None else axis, keepdim=keep)
    np.testing.assert_allclose(np.asarray(y), ty.detach().numpy(), **TOL[dt])
    w = np.random.default_rng(4).standard_normal(ty.shape).astype(NP[dt])
    (g,) = fg.autograd.grad(y, [x], grad_outputs=fg.tensor(w))
    ty.backward(torch.tensor(w))
    np.testing.assert_allclose(np.asarray(g), t.grad.numpy(), **TOL[dt])


def test_logsumexp_edge_rows_match_torch():
    inf, nan = np.inf, np.nan
    a = np.array([[-inf, -inf, -inf], [inf, 1.0, 2.0], [nan, 0.0, 1.0], [1e30, 1e30, -1e30], [-1e4, -1e4, 0]])
    y = fg.logsumexp(fg.tensor(a), axis=1)
    np.testing.assert_array_equal(np.asarray(y), torch.logsumexp(torch.tensor(a), dim=1).numpy())
    # an empty axis: -inf, derivative 0 (the sum of no exps is 0)
    x = fg.tensor(np.zeros((3, 0)), requires_grad=True)
    e = fg.logsumexp(x, axis=1)
    assert np.all(np.asarray(e) == -np.inf)
    (g,) = fg.autograd.grad(fg.sum(e * 0.0), [x])
    assert g.shape == (3, 0)


def test_logsumexp_second_derivative_is_softmax_jacobian():
    a = np.random.default_rng(5).standard_normal(4)
    x = fg.tensor(a, requires_grad=True)
    (g,) = fg.autograd.grad(fg.logsumexp(x), [x], create_graph=True)
    h = np.stack([np.asarray(fg.autograd.grad(g[i], [x], retain_graph=True)[0]) for i in range(4)])
    p = np.exp(a - np.log(np.exp(a).sum()))
    np.testing.assert_allclose(h, np.diag(p) - np.outer(p, p), rtol=1e-12, atol=1e-14)


CE_OPTIONS = [
    dict(),
    dict(reduction="sum"),
    dict(reduction="none"),
    dict(ignore_index=2),
    dict(weight=True),
    dict(weight=True, ignore_index=0, reduction="sum"),
    dict(label_smoothing=0.2),
    dict(label_smoothing=0.1, weight=True),
]


@pytest.mark.parametrize("dt", [fg.float32, fg.float64])
@pytest.mark.parametrize("opts", CE_OPTIONS, ids=str)
@pytest.mark.parametrize("shape", [(6, 5), (3, 5, 2)], ids=str)
def test_cross_entropy_index_targets_match_torch(dt, opts, shape):
    rng = np.random.default_rng(6)
    z = (rng.standard_normal(shape) * 4).astype(NP[dt])
    y = rng.integers(0, 5, (shape[0],) + shape[2:])
    cw = rng.uniform(0.5, 2.0, 5).astype(NP[dt])
    kw = dict(opts)
    tkw = dict(kw)
    if kw.pop("weight", None):
        kw["weight"] = fg.tensor(cw)
        tkw["weight"] = torch.tensor(cw)
    x = fg.tensor(z, requires_grad=True)
    out = fg.nn.functional.cross_entropy(x, fg.tensor(y), **kw)
    t = torch.tensor(z, requires_grad=True)
    tout = torch.nn.functional.cross_entropy(t, torch.tensor(y), **tkw)
    np.testing.assert_allclose(np.asarray(out), tout.detach().numpy(), **TOL[dt])
    w = rng.standard_normal(tout.shape).astype(NP[dt])
    (g,) = fg.autograd.grad(out, [x], grad_outputs=fg.tensor(w))
    tout.backward(torch.tensor(w))
    np.testing.assert_allclose(np.asarray(g), t.grad.numpy(), **TOL[dt])


@pytest.mark.parametrize("dt", [fg.float32, fg.float64])
@pytest.mark.parametrize("opts", [dict(), dict(label_smoothing=0.3), dict(weight=True)], ids=str)
def test_cross_entropy_probability_targets_match_torch(dt, opts):
    rng = np.random.default_rng(7)
    z = (rng.standard_normal((4, 5)) * 3).astype(NP[dt])
    q = rng.dirichlet(np.ones(5), 4).astype(NP[dt])
    cw = rng.uniform(0.5, 2.0, 5).astype(NP[dt])
    kw, tkw = dict(opts), dict(opts)
    if kw.pop("weight", None):
        tkw.pop("weight")
        kw["weight"], tkw["weight"] = fg.tensor(cw), torch.tensor(cw)
    x, p = fg.tensor(z, requires_grad=True), fg.tensor(q, requires_grad=True)
    out = fg.nn.functional.cross_entropy(x, p, **kw)
    t, tq = torch.tensor(z, requires_grad=True), torch.tensor(q, requires_grad=True)
    tout = torch.nn.functional.cross_entropy(t, tq, **tkw)
    np.testing.assert_allclose(np.asarray(out), tout.detach().numpy(), **TOL[dt])
    gx, gq = fg.autograd.grad(out, [x, p])
    tout.backward()
    np.testing.assert_allclose(np.asarray(gx), t.grad.numpy(), **TOL[dt])
    np.testing.assert_allclose(np.asarray(gq), tq.grad.numpy(), **TOL[dt])


def test_cross_entropy_is_one_primitive_node():
    x = fg.tensor(np.random.default_rng(8).standard_normal((8, 10)), requires_grad=True)
    y = fg.tensor(np.arange(8) % 10)
    per, nodes = new_nodes(lambda: fg.nn.functional.cross_entropy(x, y, reduction="none"))
    assert per.grad_fn == "softmax_cross_entropy" and nodes == 1
    _, nodes = new_nodes(lambda: fg.nn.functional.cross_entropy(x, y))
    assert nodes <= 3  # the primitive and the mean


def test_softmax_cross_entropy_validates_in_cpp():
    z = fg.tensor(np.zeros((3, 4)))
    with pytest.raises(IndexError, match="softmax_cross_entropy: target 4 is out of range for 4 classes"):
        C.softmax_cross_entropy(z, fg.tensor(np.array([0, 4, 1])))
    with pytest.raises(ValueError, match=r"softmax_cross_entropy: class-index target of shape \(2,\)"):
        C.softmax_cross_entropy(z, fg.tensor(np.array([0, 1])))
    with pytest.raises(ValueError, match=r"softmax_cross_entropy: logits must be \(M, K\)"):
        C.softmax_cross_entropy(fg.tensor(np.zeros(4)), fg.tensor(np.array([0])))
    with pytest.raises(TypeError, match="softmax_cross_entropy: probability target is float32"):
        C.softmax_cross_entropy(z, fg.tensor(np.zeros((3, 4), np.float32)))
    # ignore_index rows give 0 and no gradient
    x = fg.tensor(np.ones((2, 3)), requires_grad=True)
    out = C.softmax_cross_entropy(x, fg.tensor(np.array([-100, 1])))
    assert np.asarray(out)[0] == 0.0
    (g,) = fg.autograd.grad(fg.sum(out), [x])
    np.testing.assert_array_equal(np.asarray(g)[0], 0.0)
