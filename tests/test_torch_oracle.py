"""PyTorch as an oracle (optional: skipped when torch is not importable): values and
gradients of ops and compositions, float64, same inputs and cotangents."""

from __future__ import annotations

import numpy as np
import pytest

import fastgrad as fg

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def run_fg(fn, arrays, w):
    xs = [fg.tensor(a, requires_grad=True) for a in arrays]
    y = fn(fg, *xs)
    grads = fg.autograd.grad(y, xs, grad_outputs=fg.tensor(w), allow_unused=True)
    return np.asarray(y), [None if g is None else np.asarray(g) for g in grads]


def run_torch(fn, arrays, w):
    xs = [torch.tensor(a, requires_grad=True) for a in arrays]
    y = fn(torch, *xs)
    grads = torch.autograd.grad(y, xs, grad_outputs=torch.tensor(w), allow_unused=True)
    return y.detach().numpy(), [None if g is None else g.numpy() for g in grads]


def sm(lib, x, axis):
    return fg.softmax(x, axis=axis) if lib is fg else torch.softmax(x, dim=axis)


def lsm(lib, x, axis):
    return fg.log_softmax(x, axis=axis) if lib is fg else torch.log_softmax(x, dim=axis)


def red(lib, name, x, axis, keepdims=False):
    if lib is fg:
        return getattr(fg, name)(x, axis=axis, keepdims=keepdims)
    if name in ("max", "min"):
        return getattr(torch, "a" + name)(x, dim=axis, keepdim=keepdims)
    if name == "var":
        return torch.var(x, dim=axis, keepdim=keepdims)
    return getattr(torch, name)(x, dim=axis, keepdim=keepdims)


def gelu(lib, x, approx):
    return fg.gelu(x, approximate=approx) if lib is fg else TF.gelu(x, approximate=approx)


def clip(lib, x, lo, hi):
    return fg.clip(x, lo, hi) if lib is fg else torch.clamp(x, lo, hi)


def cat(lib, xs, axis):
    return fg.concat(xs, axis=axis) if lib is fg else torch.cat(xs, dim=axis)


def where(lib, c, a, b):
    return fg.where(c, a, b) if lib is fg else torch.where(c, a, b)


N = np.random.default_rng(0)
CASES = {
    "arith": (lambda L, a, b: (a * b - a / (b * b + 1.0)) ** 2 + 3.0 - a, [(3, 4), (4,)]),
    "transcendental": (
        lambda L, x: L.exp(L.sin(x)) * L.tanh(x) + L.log1p(x * x) + L.sqrt(x * x + 1.0),
        [(5, 3)],
    ),
    "activations": (
        lambda L, x: L.sigmoid(x) + L.relu(x) * 2.0 + TF_or_fg(L, "silu", x) + TF_or_fg(L, "softplus", x),
        [(4, 6)],
    ),
    "gelu": (lambda L, x: gelu(L, x, "none") * gelu(L, x, "tanh"), [(4, 6)]),
    "erf_abs_pow": (lambda L, x, y: L.erf(x) * L.abs(x) + L.pow(L.abs(y) + 0.5, x), [(7,), (7,)]),
    "clip_max_min": (
        lambda L, x, y: clip(L, x, -0.4, 0.6) + L.maximum(x, y) * L.minimum(x, y * 0.5),
        [(3, 5), (5,)],
    ),
    "softmax": (lambda L, x: sm(L, x, 1) * lsm(L, x, 0), [(4, 5)]),
    "reductions": (
        lambda L, x: (
            red(L, "sum", x * x, 0)
            + red(L, "mean", x, 0) * red(L, "max", x, 0)
            + red(L, "min", x, 0)
            + red(L, "prod", x, 0)
            + red(L, "logsumexp", x, 0)
        ),
        [(3, 4)],
    ),
    "var_std": (
        lambda L, x: red(L, "var", x, 1) + (L.std(x, axis=1) if L is fg else torch.std(x, dim=1)),
        [(3, 6)],
    ),
    "matmul_chain": (lambda L, a, b, c: L.tanh(a @ b) @ c, [(2, 3, 4), (4, 5), (5, 2)]),
    "matmul_vec": (
        lambda L, a, v: L.matmul(a, v) * L.matmul(v, L.matmul(a.transpose(-1, -2), a)).sum(),
        [(3, 4), (4,)],
    ),
    "mlp_ce": (
        lambda L, x, w1, w2: -lsm(L, L.tanh(x @ w1) @ w2, 1)[L_arange(L, 4), L_idx(L, [0, 2, 1, 2])],
        [(4, 3), (3, 5), (5, 3)],
    ),
    "indexing": (
        lambda L, x: x[:, ::2] * 2.0 + x[L_idx(L, [0, 0, 2])][:, 0:5:2] * x[None, 1, :3] + x[..., -1:],
        [(3, 5)],
    ),
    "shapes": (
        lambda L, x, y: cat(L, [x.reshape(2, 6), y.permute(1, 0)], 0).T.reshape(-1)[2:9],
        [(3, 4), (6, 2)],
    ),
    "where": (lambda L, x, y: where(L, x > 0, x * y, y - x), [(4, 4), (4,)]),
    "broadcast": (lambda L, a, b, c: (a + b) * c - (a * c).sum(), [(3, 1, 4), (5, 1), (1,)]),
}


def TF_or_fg(L, name, x):
    return getattr(fg, name)(x) if L is fg else getattr(TF, name)(x)


def L_idx(L, v):
    return fg.tensor(np.array(v, np.int64)) if L is fg else torch.tensor(v)


def L_arange(L, n):
    return L_idx(L, list(range(n)))


@pytest.mark.parametrize("name", list(CASES))
def test_values_and_gradients_match_torch(name):
    fn, shapes = CASES[name]
    rng = np.random.default_rng([ord(c) for c in name])
    arrays = [rng.standard_normal(s) for s in shapes]
    with torch.no_grad():
        y_t = fn(torch, *[torch.tensor(a) for a in arrays]).numpy()
    w = rng.standard_normal(y_t.shape)
    y1, g1 = run_fg(fn, arrays, w)
    y2, g2 = run_torch(fn, arrays, w)
    np.testing.assert_allclose(y1, y2, rtol=1e-12, atol=1e-12)
    for i, (a, b) in enumerate(zip(g1, g2)):
        assert (a is None) == (b is None), f"input {i}: used by one library only"
        if a is not None:
            np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-12, err_msg=f"input {i}")


def test_second_order_matches_torch():
    rng = np.random.default_rng(5)
    A, X = rng.standard_normal((3, 3)), rng.standard_normal(3)

    def f(L, a, x):
        return L.tanh(a @ x).sum() * L.exp(x).sum()

    fa, fx = fg.tensor(A, requires_grad=True), fg.tensor(X, requires_grad=True)
    (gx,) = fg.autograd.grad(f(fg, fa, fx), fx, create_graph=True)
    h_fg = np.stack([np.asarray(fg.autograd.grad(gx[i], [fa, fx], retain_graph=True)[1]) for i in range(3)])
    ta, tx = torch.tensor(A, requires_grad=True), torch.tensor(X, requires_grad=True)
    (tgx,) = torch.autograd.grad(f(torch, ta, tx), tx, create_graph=True)
    h_t = np.stack([torch.autograd.grad(tgx[i], tx, retain_graph=True)[0].numpy() for i in range(3)])
    np.testing.assert_allclose(h_fg, h_t, rtol=1e-11, atol=1e-12)


def test_conv_and_pool_match_torch():
    rng = np.random.default_rng(6)
    X, W, B = rng.standard_normal((2, 3, 7, 6)), rng.standard_normal((4, 3, 3, 2)), rng.standard_normal(4)
    x, w, b = (fg.tensor(a, requires_grad=True) for a in (X, W, B))
    y = fg._C.conv(x, w, b, [2, 1], [1, 0], [1, 0], [1, 2], 1, False)
    p = fg._C.max_pool(y, [2, 2], [1, 2], [0, 0], False)
    q = fg._C.avg_pool(y, [3, 2], [2, 1], [1, 1], False, False)
    loss = fg.sum(p * p) + fg.sum(q)
    gx, gw, gb = fg.autograd.grad(loss, [x, w, b])
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (X, W, B))
    ty = TF.conv2d(tx, tw, tb, stride=(2, 1), padding=(1, 0), dilation=(1, 2))
    tp = TF.max_pool2d(ty, (2, 2), (1, 2))
    tq = TF.avg_pool2d(ty, (3, 2), (2, 1), (1, 1), count_include_pad=False)
    np.testing.assert_allclose(np.asarray(y), ty.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(np.asarray(p), tp.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(np.asarray(q), tq.detach().numpy(), rtol=1e-12, atol=1e-12)
    tl = (tp * tp).sum() + tq.sum()
    for a, b_ in zip((gx, gw, gb), torch.autograd.grad(tl, [tx, tw, tb])):
        np.testing.assert_allclose(np.asarray(a), b_.numpy(), rtol=1e-11, atol=1e-12)


def test_float32_values_close_to_torch():
    rng = np.random.default_rng(7)
    a, b = rng.standard_normal((64, 48)).astype(np.float32), rng.standard_normal((48, 33)).astype(np.float32)
    y = fg.log_softmax(fg.gelu(fg.tensor(a) @ fg.tensor(b)), axis=1)
    t = torch.log_softmax(TF.gelu(torch.tensor(a) @ torch.tensor(b)), dim=1)
    np.testing.assert_allclose(np.asarray(y), t.numpy(), rtol=1e-4, atol=1e-4)
