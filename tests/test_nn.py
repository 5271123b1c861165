"""fg.nn modules: containers, state dicts, shapes, PyTorch parity, float64 gradient checks."""

import math

import numpy as np
import pytest

import fastgrad as fg
import fastgrad.nn as nn
import fastgrad.nn.functional as F
from fastgrad.autograd import grad as ag_grad
from fastgrad.io import load_pytorch_state_dict

try:
    import torch
except Exception:  # pragma: no cover
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="torch not importable")


def A(t):
    return np.asarray(t.detach() if isinstance(t, fg.Tensor) else t)


def T64(a):
    return fg.tensor(np.asarray(a, dtype=np.float64))


def fd_check(f, inputs, eps=1e-6, atol=1e-6, rtol=1e-4, seed=0):
    """Reverse-mode gradients of <w, f(inputs)> vs central finite differences (float64)."""
    rng = np.random.default_rng(seed)
    xs = [T64(x).requires_grad_() for x in inputs]
    out = f(*xs)
    w = rng.standard_normal(out.shape)
    loss = fg.sum(out * fg.tensor(w))
    grads = ag_grad(loss, xs, allow_unused=True)
    for i, (x, g) in enumerate(zip(inputs, grads)):
        x = np.array(x, dtype=np.float64)
        num = np.zeros_like(x)
        flat = x.reshape(-1)
        for j in range(flat.size):
            old = flat[j]
            flat[j] = old + eps
            args = [T64(v) if k != i else T64(x) for k, v in enumerate(inputs)]
            fp = float(np.sum(A(f(*args)) * w))
            flat[j] = old - eps
            args = [T64(v) if k != i else T64(x) for k, v in enumerate(inputs)]
            fm = float(np.sum(A(f(*args)) * w))
            flat[j] = old
            num.reshape(-1)[j] = (fp - fm) / (2 * eps)
        ga = np.zeros_like(x) if g is None else A(g)
        np.testing.assert_allclose(ga, num, atol=atol, rtol=rtol, err_msg=f"input {i}")


# ------------------------------------------------------------------ Module / Parameter / containers
def test_parameter_marker_and_registration():
    p = nn.Parameter(fg.zeros(3))
    assert isinstance(p, fg.Tensor) and isinstance(p, nn.Parameter) and p.requires_grad and p.is_leaf
    assert not isinstance(fg.zeros(3), nn.Parameter)

    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Parameter(fg.ones(2, 2))
            self.sub = nn.Linear(2, 3)
            self.register_buffer("buf", fg.zeros(4))
            self.register_buffer("tmp", fg.zeros(1), persistent=False)
            self.plain = fg.ones(5)  # not registered

        def forward(self, x):
            return self.sub(x @ self.a)

    m = M()
    names = [n for n, _ in m.named_parameters()]
    assert names == ["a", "sub.weight", "sub.bias"]
    assert list(m.state_dict().keys()) == ["a", "buf", "sub.weight", "sub.bias"]
    assert [n for n, _ in m.named_modules()] == ["", "sub"]
    assert len(list(m.children())) == 1
    assert m(fg.ones(4, 2)).shape == (4, 3)
    assert "Linear(in_features=2, out_features=3, bias=True)" in repr(m)
    m.eval()
    assert not m.training and not m.sub.training
    m.train()
    assert m.sub.training


def test_state_dict_strict_and_shape_checks():
    m = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    sd = {k: A(v) + 1.0 for k, v in m.state_dict().items()}
    m2 = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    m2.load_state_dict(sd)
    for k, v in m2.state_dict().items():
        np.testing.assert_array_equal(A(v), sd[k])
    bad = dict(sd)
    bad["extra"] = np.zeros(1)
    with pytest.raises(KeyError, match="Unexpected key"):
        m2.load_state_dict(bad)
    missing = dict(sd)
    del missing["0.bias"]
    with pytest.raises(KeyError, match="Missing key"):
        m2.load_state_dict(missing)
    assert m2.load_state_dict(missing, strict=False) == (["0.bias"], [])
    wrong = dict(sd)
    wrong["0.weight"] = np.zeros((3, 4))
    with pytest.raises(ValueError, match="0.weight"):
        m2.load_state_dict(wrong)


def test_zero_grad_and_modulelist():
    ml = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    assert len(list(ml.parameters())) == 6 and len(ml) == 3
    x = fg.ones(1, 2)
    y = x
    for layer in ml:
        y = layer(y)
    fg.sum(y).backward()
    assert all(p.grad is not None for p in ml.parameters())
    ml.zero_grad()
    assert all(p.grad is None for p in ml.parameters())


# ------------------------------------------------------------------ Linear
def test_linear_layouts_and_shapes():
    fg.manual_seed(1)
    lt = nn.Linear(3, 5)
    lj = nn.Linear(3, 5, layout="jax")
    assert lt.weight.shape == (5, 3) and lj.weight.shape == (3, 5)
    lj.load_weight(lt.weight, "torch")
    with fg.no_grad():
        lj.bias.copy_(lt.bias)
    x = fg.randn(7, 3)
    np.testing.assert_allclose(A(lt(x)), A(lj(x)), rtol=1e-6, atol=1e-6)
    # vector, row, batch (cheat sheet: single feature as 1D, as a row, batches)
    v = fg.randn(3)
    assert lt(v).shape == (5,)
    np.testing.assert_allclose(A(lt(v)), A(lt(fg.reshape(v, [1, 3])))[0], rtol=1e-6, atol=1e-6)
    assert lt(fg.randn(2, 4, 3)).shape == (2, 4, 5)
    np.testing.assert_allclose(A(lj.weight_as("torch")), A(lt.weight))
    np.testing.assert_allclose(F.convert_linear_weight(A(lt.weight), "torch", "jax"), A(lt.weight).T)
    with pytest.raises(
        ValueError, match=r"linear: input of shape \(2, 4\) does not match weight of shape \(5, 3\)"
    ):
        lt(fg.randn(2, 4))


def test_linear_init_bounds():
    fg.manual_seed(0)
    lin = nn.Linear(100, 50)
    b = 1 / math.sqrt(100)
    w = A(lin.weight)
    assert np.abs(w).max() <= b and np.abs(w).max() > 0.9 * b
    assert np.abs(A(lin.bias)).max() <= b
    fg.manual_seed(0)
    w2 = A(nn.Linear(100, 50).weight)
    np.testing.assert_array_equal(w, w2)  # reproducible under fg.manual_seed


@needs_torch
def test_linear_matches_torch_state_dict():
    tl = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.GELU(), torch.nn.Linear(8, 2))
    fl = nn.Sequential(nn.Linear(4, 8), nn.GELU(), nn.Linear(8, 2))
    fl.load_state_dict(tl.state_dict())
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    np.testing.assert_allclose(
        A(fl(fg.tensor(x))), tl(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-6
    )


# ------------------------------------------------------------------ Conv / pooling
@needs_torch
@pytest.mark.parametrize(
    "nd,padding,stride,dilation,groups",
    [
        (1, 1, 1, 1, 1),
        (2, 0, 2, 1, 1),
        (2, "same", 1, 2, 1),
        (2, 1, 1, 1, 2),
        (3, 1, 1, 1, 1),
        (2, "valid", 1, 1, 1),
    ],
)
def test_conv_matches_torch(nd, padding, stride, dilation, groups):
    rng = np.random.default_rng(nd)
    cin, cout = 4, 6
    tconv = {1: torch.nn.Conv1d, 2: torch.nn.Conv2d, 3: torch.nn.Conv3d}[nd](
        cin, cout, 3, stride=stride, padding=padding, dilation=dilation, groups=groups
    )
    fconv = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}[nd](
        cin, cout, 3, stride=stride, padding=padding, dilation=dilation, groups=groups
    )
    fconv.load_state_dict(tconv.state_dict())
    x = rng.standard_normal((2, cin) + (7,) * nd).astype(np.float32)
    ref = tconv(torch.tensor(x)).detach().numpy()
    out = A(fconv(fg.tensor(x)))
    assert out.shape == ref.shape
    np.testing.assert_allclose(out, ref, rtol=1e-4, atol=1e-5)
    # channels-last layer with the permuted weight gives the permuted output
    fcl = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}[nd](
        cin, cout, 3, stride=stride, padding=padding, dilation=dilation, groups=groups, data_format="NHWC"
    )
    load_pytorch_state_dict(fcl, tconv.state_dict())
    perm = (0,) + tuple(range(2, nd + 2)) + (1,)
    out_cl = A(fcl(fg.tensor(np.ascontiguousarray(x.transpose(perm)))))
    np.testing.assert_allclose(out_cl, ref.transpose(perm), rtol=1e-4, atol=1e-5)


def test_same_padding_tensorflow_rule():
    assert F.pad_same(7, 3, 2) == (1, 1)
    assert F.pad_same(8, 3, 2) == (0, 1)  # odd pixel at the end
    assert F.pad_same(5, 1, 1) == (0, 0)
    conv = nn.Conv2d(1, 2, 3, stride=2, padding="same")
    assert conv(fg.randn(1, 1, 8, 9)).shape == (1, 2, 4, 5)
    with pytest.raises(ValueError, match="conv2d.*channels"):
        conv(fg.randn(1, 3, 8, 8))
    with pytest.raises(ValueError, match="data_format"):
        nn.Conv2d(1, 1, 3, data_format="HWNC")


@needs_torch
def test_pooling_matches_torch():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 9, 8)).astype(np.float32)
    tx = torch.tensor(x)
    np.testing.assert_allclose(A(nn.MaxPool2d(2)(fg.tensor(x))), torch.nn.MaxPool2d(2)(tx).numpy())
    np.testing.assert_allclose(
        A(nn.MaxPool2d(3, 2, 1)(fg.tensor(x))), torch.nn.MaxPool2d(3, 2, 1)(tx).numpy()
    )
    np.testing.assert_allclose(
        A(nn.AvgPool2d(3, 2, 1)(fg.tensor(x))), torch.nn.AvgPool2d(3, 2, 1)(tx).numpy(), rtol=1e-5, atol=1e-6
    )
    np.testing.assert_allclose(
        A(nn.AvgPool2d(3, 2, 1, count_include_pad=False)(fg.tensor(x))),
        torch.nn.AvgPool2d(3, 2, 1, count_include_pad=False)(tx).numpy(),
        rtol=1e-5,
        atol=1e-6,
    )
    np.testing.assert_allclose(
        A(nn.AdaptiveAvgPool2d((2, 3))(fg.tensor(x))),
        torch.nn.AdaptiveAvgPool2d((2, 3))(tx).numpy(),
        rtol=1e-5,
        atol=1e-6,
    )
    np.testing.assert_allclose(A(nn.GlobalAvgPool()(fg.tensor(x))), x.mean(axis=(2, 3)), rtol=1e-5, atol=1e-6)
    x1 = rng.standard_normal((2, 3, 10)).astype(np.float32)
    np.testing.assert_allclose(
        A(nn.MaxPool1d(2)(fg.tensor(x1))), torch.nn.MaxPool1d(2)(torch.tensor(x1)).numpy()
    )
    x3 = rng.standard_normal((1, 2, 4, 4, 4)).astype(np.float32)
    np.testing.assert_allclose(
        A(nn.AvgPool3d(2)(fg.tensor(x3))),
        torch.nn.AvgPool3d(2)(torch.tensor(x3)).numpy(),
        rtol=1e-5,
        atol=1e-6,
    )
    assert nn.Flatten()(fg.randn(2, 3, 4)).shape == (2, 12)


# ------------------------------------------------------------------ normalisation, dropout, embedding
@needs_torch
def test_batchnorm_train_eval_running_stats_match_torch():
    rng = np.random.default_rng(0)
    tb = torch.nn.BatchNorm2d(3, momentum=0.2)
    fb = nn.BatchNorm2d(3, momentum=0.2)
    fb.load_state_dict(tb.state_dict())
    for _ in range(3):
        x = (rng.standard_normal((4, 3, 5, 5)) * 2 + 1).astype(np.float32)
        np.testing.assert_allclose(
            A(fb(fg.tensor(x))), tb(torch.tensor(x)).detach().numpy(), rtol=1e-4, atol=1e-5
        )
    for k, v in tb.state_dict().items():
        np.testing.assert_allclose(A(fb.state_dict()[k]), v.numpy(), rtol=1e-5, atol=1e-6, err_msg=k)
    fb.eval()
    tb.eval()
    x = rng.standard_normal((2, 3, 5, 5)).astype(np.float32)
    np.testing.assert_allclose(
        A(fb(fg.tensor(x))), tb(torch.tensor(x)).detach().numpy(), rtol=1e-4, atol=1e-5
    )
    t1 = torch.nn.BatchNorm1d(4)
    f1 = nn.BatchNorm1d(4)
    x = rng.standard_normal((6, 4)).astype(np.float32)
    np.testing.assert_allclose(
        A(f1(fg.tensor(x))), t1(torch.tensor(x)).detach().numpy(), rtol=1e-4, atol=1e-5
    )


@needs_torch
def test_layernorm_embedding_match_torch():
    rng = np.random.default_rng(1)
    tl = torch.nn.LayerNorm(6)
    with torch.no_grad():
        tl.weight.uniform_()
        tl.bias.uniform_()
    fl = nn.LayerNorm(6)
    fl.load_state_dict(tl.state_dict())
    x = rng.standard_normal((3, 4, 6)).astype(np.float32)
    np.testing.assert_allclose(
        A(fl(fg.tensor(x))), tl(torch.tensor(x)).detach().numpy(), rtol=1e-4, atol=1e-5
    )
    te = torch.nn.Embedding(10, 4, padding_idx=0)
    fe = nn.Embedding(10, 4, padding_idx=0)
    fe.load_state_dict(te.state_dict())
    idx = np.array([[1, 0, 3], [9, 9, 2]])
    np.testing.assert_allclose(A(fe(idx)), te(torch.tensor(idx)).detach().numpy())
    out = fe(fg.tensor(idx))
    fg.sum(out).backward()
    g = A(fe.weight.grad)
    assert np.all(g[0] == 0) and np.all(g[9] == 2)


def test_dropout_train_eval():
    fg.manual_seed(0)
    d = nn.Dropout(0.25)
    x = fg.ones(10000)
    y = A(d(x))
    assert abs((y == 0).mean() - 0.25) < 0.03
    assert np.allclose(y[y != 0], 1 / 0.75)
    d.eval()
    np.testing.assert_array_equal(A(d(x)), A(x))


# ------------------------------------------------------------------ attention, recurrent
@needs_torch
@pytest.mark.parametrize("batch_first", [False, True])
def test_multihead_attention_matches_torch(batch_first):
    torch.manual_seed(0)
    tm = torch.nn.MultiheadAttention(8, 2, batch_first=batch_first)
    fm = nn.MultiheadAttention(8, 2, batch_first=batch_first)
    assert [n for n, _ in fm.named_parameters()] == [n for n, _ in tm.named_parameters()]
    fm.load_state_dict(tm.state_dict())
    rng = np.random.default_rng(0)
    q = rng.standard_normal((3, 5, 8) if batch_first else (5, 3, 8)).astype(np.float32)
    k = rng.standard_normal((3, 4, 8) if batch_first else (4, 3, 8)).astype(np.float32)
    kpm = np.zeros((3, 4), dtype=bool)
    kpm[1, 3] = True
    o, w = fm(fg.tensor(q), fg.tensor(k), fg.tensor(k), key_padding_mask=kpm)
    to, tw = tm(torch.tensor(q), torch.tensor(k), torch.tensor(k), key_padding_mask=torch.tensor(kpm))
    np.testing.assert_allclose(A(o), to.detach().numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(A(w), tw.detach().numpy(), rtol=1e-4, atol=1e-5)
    # self-attention with a causal bool mask
    x = q
    mask = np.triu(np.ones((x.shape[1] if batch_first else x.shape[0],) * 2, dtype=bool), 1)
    fx = fg.tensor(x)
    o, _ = fm(fx, fx, fx, attn_mask=mask)
    tx = torch.tensor(x)
    to, _ = tm(tx, tx, tx, attn_mask=torch.tensor(mask))
    np.testing.assert_allclose(A(o), to.detach().numpy(), rtol=1e-4, atol=1e-5)


@needs_torch
@pytest.mark.parametrize("cls", ["LSTM", "GRU"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_rnn_matches_torch(cls, bidirectional):
    torch.manual_seed(0)
    tr = getattr(torch.nn, cls)(3, 5, num_layers=2, batch_first=True, bidirectional=bidirectional)
    fr = getattr(nn, cls)(3, 5, num_layers=2, batch_first=True, bidirectional=bidirectional)
    assert [n for n, _ in fr.named_parameters()] == [n for n, _ in tr.named_parameters()]
    fr.load_state_dict(tr.state_dict())
    x = np.random.default_rng(0).standard_normal((2, 6, 3)).astype(np.float32)
    fo, fh = fr(fg.tensor(x))
    to, th = tr(torch.tensor(x))
    np.testing.assert_allclose(A(fo), to.detach().numpy(), rtol=1e-4, atol=1e-5)
    if cls == "LSTM":
        np.testing.assert_allclose(A(fh[0]), th[0].detach().numpy(), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(A(fh[1]), th[1].detach().numpy(), rtol=1e-4, atol=1e-5)
    else:
        np.testing.assert_allclose(A(fh), th.detach().numpy(), rtol=1e-4, atol=1e-5)
    # gradients w.r.t. the weights agree too
    fg.sum(fo).backward()
    to.sum().backward()
    for (n, p), (_, tp) in zip(fr.named_parameters(), tr.named_parameters()):
        np.testing.assert_allclose(A(p.grad), tp.grad.numpy(), rtol=1e-3, atol=1e-5, err_msg=n)


# ------------------------------------------------------------------ float64 gradient checks through layers
def test_gradcheck_conv_pool():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 2, 5, 5))
    w = rng.standard_normal((3, 2, 3, 3))
    b = rng.standard_normal(3)
    fd_check(lambda x, w, b: F.conv2d(x, w, b, stride=2, padding="same"), [x, w, b])
    fd_check(
        lambda x, w, b: F.conv2d(x, w, b, padding=1, data_format="NHWC"),
        [x.transpose(0, 2, 3, 1).copy(), w.transpose(0, 2, 3, 1).copy(), b],
    )
    xp = rng.permutation(50).reshape(1, 2, 5, 5).astype(np.float64)  # distinct values: max is differentiable
    fd_check(lambda x: F.max_pool2d(x, 2, 2), [xp])
    fd_check(lambda x: F.avg_pool2d(x, 3, 2, 1), [x])
    fd_check(lambda x: F.adaptive_avg_pool2d(x, 2), [x])


def test_gradcheck_norms():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 3, 2, 2))
    g = rng.standard_normal(3)
    b = rng.standard_normal(3)
    rm, rv = fg.zeros(3, dtype=fg.float64), fg.ones(3, dtype=fg.float64)
    fd_check(lambda x, g, b: F.batch_norm(x, rm, rv, g, b, training=True), [x, g, b])
    x2 = rng.standard_normal((3, 5))
    g2 = rng.standard_normal(5)
    b2 = rng.standard_normal(5)
    fd_check(lambda x, g, b: F.layer_norm(x, 5, g, b), [x2, g2, b2])


def test_gradcheck_attention_and_lstm():
    rng = np.random.default_rng(2)
    mha = nn.MultiheadAttention(4, 2).double()
    q = rng.standard_normal((3, 2, 4))
    fd_check(lambda q: mha(q, q, q)[0], [q])
    fd_check(
        lambda w: _with_param(mha, "in_proj_weight", w, lambda: mha(T64(q), T64(q), T64(q))[0]),
        [A(mha.in_proj_weight).copy()],
    )
    lstm = nn.LSTM(2, 3).double()
    x = rng.standard_normal((4, 1, 2))
    fd_check(lambda x: lstm(x)[0], [x])
    gru = nn.GRU(2, 3).double()
    fd_check(lambda x: gru(x)[0], [x])


def _with_param(mod, name, value, fn):
    old = getattr(mod, name)
    mod.__dict__[name] = value
    try:
        return fn()
    finally:
        mod.__dict__[name] = old


def test_activations():
    x = fg.tensor(np.linspace(-3, 3, 13))
    xa = A(x)
    np.testing.assert_allclose(A(nn.ReLU()(x)), np.maximum(xa, 0))
    np.testing.assert_allclose(A(nn.Tanh()(x)), np.tanh(xa), rtol=1e-6)
    np.testing.assert_allclose(A(nn.Sigmoid()(x)), 1 / (1 + np.exp(-xa)), rtol=1e-6)
    np.testing.assert_allclose(A(nn.SiLU()(x)), xa / (1 + np.exp(-xa)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(A(nn.Softplus()(x)), np.log1p(np.exp(xa)), rtol=1e-5)
    np.testing.assert_allclose(
        A(nn.GELU("tanh")(x)),
        0.5 * xa * (1 + np.tanh(np.sqrt(2 / np.pi) * (xa + 0.044715 * xa**3))),
        rtol=1e-5,
        atol=1e-6,
    )
    s = A(nn.Softmax()(fg.reshape(x, [1, 13])))
    np.testing.assert_allclose(s.sum(), 1.0, rtol=1e-6)
    assert nn.Identity()(x) is x


def _grads(model, x):
    model.zero_grad()
    y = model(x)
    y.sum().backward()
    return y, [p.grad.numpy().copy() for p in model.parameters()]


def test_sequential_only_chains():
    """Sequential calls each module in turn: no Linear+activation pair is rewritten."""
    fg.manual_seed(3)
    seq = nn.Sequential(nn.Linear(5, 7), nn.ReLU(), nn.Linear(7, 2), nn.Sigmoid())
    y = seq(fg.randn(4, 5))
    assert y.grad_fn == "sigmoid"
    assert all(m.activation == "none" for m in seq if isinstance(m, nn.Linear))


def test_fuse_linear_activation_matches_unfused_float64():
    """nn.fuse turns Linear+ReLU/Tanh/Sigmoid pairs into one primitive (activation in the
    GEMM epilogue); values and gradients equal the unfused model's, in float64."""
    fg.manual_seed(3)

    def build():
        fg.manual_seed(3)
        return nn.Sequential(
            nn.Linear(5, 7),
            nn.ReLU(),
            nn.Linear(7, 6, layout="jax"),
            nn.Tanh(),
            nn.Linear(6, 2),
            nn.Sigmoid(),
        ).double()

    plain, fused = build(), nn.fuse(build())
    keys = list(plain.state_dict())
    assert list(fused.state_dict()) == keys
    assert [m.activation for m in fused if isinstance(m, nn.Linear)] == ["relu", "tanh", "sigmoid"]
    assert [type(m).__name__ for m in fused][1::2] == ["Identity"] * 3
    x = fg.randn(4, 5, dtype=fg.float64)
    y0, g0 = _grads(plain, x)
    y1, g1 = _grads(fused, x)
    assert y1.grad_fn == "linear" and y0.grad_fn == "sigmoid"
    np.testing.assert_allclose(y1.numpy(), y0.numpy(), rtol=1e-12, atol=1e-12)
    for a, b in zip(g1, g0):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_fuse_recurses_and_skips_non_fusable():
    """fuse reaches Sequentials nested in other modules, leaves GELU pairs and subclasses of
    the activations alone, and does not fuse a layer that already has an activation."""

    class MyReLU(nn.ReLU):
        pass

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(nn.Linear(3, 4), nn.GELU(), nn.Linear(4, 4), MyReLU())
            self.head = nn.Sequential(
                nn.Linear(4, 4, activation="tanh"), nn.ReLU(), nn.Linear(4, 1), nn.ReLU()
            )

    net = nn.fuse(Net())
    assert [m.activation for m in net.body if isinstance(m, nn.Linear)] == ["none", "none"]
    assert [m.activation for m in net.head if isinstance(m, nn.Linear)] == ["tanh", "relu"]
    assert isinstance(net.head[1], nn.ReLU) and isinstance(net.head[3], nn.Identity)


def test_linear_activation_argument():
    """Linear(..., activation=) is the fused layer: one node, the values of Linear then the activation."""
    fg.manual_seed(5)
    lin = nn.Linear(3, 4, activation="tanh").double()
    x = fg.randn(2, 3, dtype=fg.float64)
    y = lin(x)
    assert y.grad_fn == "linear"
    np.testing.assert_allclose(y.numpy(), np.tanh(lin(x, activation="none").numpy()), rtol=1e-12)
    assert "activation='tanh'" in repr(lin)
    with pytest.raises(ValueError, match="linear: activation"):
        nn.Linear(3, 4, activation="gelu")(x)


@pytest.mark.parametrize("act", [nn.ReLU, nn.Tanh, nn.Sigmoid])
@pytest.mark.parametrize("fmt", ["NCHW", "NHWC"])
def test_fuse_conv_activation_matches_unfused_float64(act, fmt):
    """A fused Conv + activation is one primitive (activation in the conv epilogue) with the
    values and parameter gradients of the two layers run apart (float64)."""

    def build():
        fg.manual_seed(4)
        return nn.Sequential(nn.Conv2d(2, 3, 3, padding=1, data_format=fmt), act()).double()

    plain, fused = build(), nn.fuse(build())
    x = fg.randn(*((2, 2, 5, 5) if fmt == "NCHW" else (2, 5, 5, 2)), dtype=fg.float64)
    y0, g0 = _grads(plain, x)
    y1, g1 = _grads(fused, x)
    assert y1.grad_fn == "conv" and y0.grad_fn != "conv"
    np.testing.assert_allclose(y1.numpy(), y0.numpy(), rtol=1e-12, atol=1e-12)
    for a, b in zip(g1, g0):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_parameter_is_a_tensor_subclass_and_a_leaf():
    """nn.Parameter is a real fg.Tensor subclass: a new leaf sharing the data's storage,
    found by isinstance, kept through optimizer steps, state_dict and fg.save/load."""
    import weakref

    data = fg.ones(3)
    p = nn.Parameter(data)
    assert type(p) is nn.Parameter and issubclass(nn.Parameter, fg.Tensor)
    assert isinstance(p, nn.Parameter) and isinstance(p, fg.Tensor)
    assert not isinstance(data, nn.Parameter) and not isinstance(p.detach(), nn.Parameter)
    assert not isinstance(p * 2, nn.Parameter)
    assert p.is_leaf and p.requires_grad and not data.requires_grad
    np.asarray(p)[0] = 5.0  # storage is shared with data, as torch.nn.Parameter(data)
    assert float(data[0]) == 5.0
    assert p.requires_grad_() is p
    assert nn.Parameter(fg.ones(2), requires_grad=False).requires_grad is False
    assert nn.Parameter().shape == (0,) and nn.Parameter([1.0, 2.0]).shape == (2,)
    r = weakref.ref(p)
    assert r() is p
    # an operation's result with history becomes a fresh leaf
    q = nn.Parameter(fg.ones(2, requires_grad=True) * 3)
    assert q.is_leaf and q.grad_fn is None


def test_parameter_identity_through_training_and_state(tmp_path):
    from fastgrad import optim

    fg.manual_seed(0)
    lin = nn.Linear(3, 2)
    w = lin.weight
    assert isinstance(w, nn.Parameter)
    opt = optim.Adam(lin.parameters(), lr=0.1)
    for _ in range(2):
        opt.zero_grad()
        (lin(fg.randn(4, 3)) ** 2).sum().backward()
        assert w.grad is not None and w.grad.shape == (2, 3)
        opt.step()
    assert lin.weight is w and list(lin.parameters())[0] is w
    sd = lin.state_dict(keep_vars=True)
    assert sd["weight"] is w
    assert not isinstance(lin.state_dict()["weight"], nn.Parameter)
    fg.save(lin.state_dict(), tmp_path / "m.fg")
    lin2 = nn.Linear(3, 2)
    w2 = lin2.weight
    lin2.load_state_dict(fg.load(tmp_path / "m.fg"))
    assert lin2.weight is w2 and isinstance(lin2.weight, nn.Parameter)
    np.testing.assert_array_equal(A(lin2.weight), A(w))
    # a double()'d module holds new Parameters; a plain tensor over a parameter slot is kept as given
    lin2.double()
    assert isinstance(lin2.weight, nn.Parameter) and lin2.weight.dtype == fg.float64
    t = fg.zeros(2, dtype=fg.float64)
    lin2.bias = t
    assert lin2.bias is t and dict(lin2.named_parameters())["bias"] is t
    with pytest.raises(TypeError, match="register_parameter"):
        lin2.register_parameter("extra", fg.zeros(1))


@needs_torch
def test_rms_norm_and_pdist_match_torch_and_name_shapes():
    r = np.random.default_rng(0)
    a = r.standard_normal((2, 3, 4))
    w = r.standard_normal(4)
    got = fg.nn.functional.rms_norm(fg.tensor(a), (4,), fg.tensor(w)).numpy()
    want = torch.nn.functional.rms_norm(torch.tensor(a), (4,), torch.tensor(w)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-12)
    with pytest.raises(
        ValueError, match=r"rms_norm: input of shape \(2, 3, 4\) does not end with normalized_shape"
    ):
        fg.nn.functional.rms_norm(fg.tensor(a), (3,))
    x = r.standard_normal((5, 3))
    got = fg.nn.functional.pdist(fg.tensor(x), 1.5).numpy()
    np.testing.assert_allclose(got, torch.nn.functional.pdist(torch.tensor(x), 1.5).numpy(), rtol=1e-12)
    with pytest.raises(ValueError, match=r"pdist: input must be \(N, M\), got shape \(5,\)"):
        fg.nn.functional.pdist(fg.zeros((5,)))
