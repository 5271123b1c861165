"""nn.Linear's PyTorch signature, nn.Bilinear / F.bilinear against torch (values,
gradients, init bounds, errors) and the device=/dtype= keywords of the dense layers."""

import numpy as np
import pytest
import torch

import fastgrad as fg
import fastgrad.nn as nn
import fastgrad.nn.functional as F
from fastgrad._device import device


def test_linear_positional_order_is_torchs():
    lin = nn.Linear(3, 4, False, "cpu", fg.float64)
    assert lin.bias is None and lin.weight.dtype == fg.float64 and lin.weight.shape == (4, 3)
    lin = nn.Linear(in_features=3, out_features=2, bias=True, device=device("cpu"), dtype=None)
    assert lin.weight.dtype == fg.float32
    assert nn.Linear(3, 4, layout="jax").weight.shape == (3, 4)
    with pytest.raises(TypeError):
        nn.Linear(3, 4, True, None, None, "jax")  # layout is keyword-only
    with pytest.raises(ValueError, match="nn.Linear.*CPU only"):
        nn.Linear(3, 4, device="cuda")
    with pytest.raises(ValueError, match="nn.Linear.*CPU only"):
        nn.Linear(3, 4, device=torch.device("meta"))


@pytest.mark.parametrize(
    "make",
    [
        lambda dev: nn.Bilinear(2, 3, 4, device=dev),
        lambda dev: nn.Embedding(5, 2, device=dev),
        lambda dev: nn.Flatten(device=dev) if dev is not None else nn.Flatten(),
    ],
)
def test_device_keyword_on_layers(make):
    make("cpu")
    make(torch.device("cpu"))
    with pytest.raises(ValueError, match="CPU only"):
        make("cuda:0")


def test_embedding_from_pretrained_like_torch():
    w = np.arange(6.0).reshape(3, 2)
    f = nn.Embedding.from_pretrained(fg.tensor(w))
    t = torch.nn.Embedding.from_pretrained(torch.tensor(w))
    assert f.weight.requires_grad == t.weight.requires_grad is False
    np.testing.assert_array_equal(np.asarray(f(fg.tensor([2, 0]))), t(torch.tensor([2, 0])).numpy())
    assert nn.Embedding.from_pretrained(fg.tensor(w), freeze=False).weight.requires_grad


def _emb_pair(w, idx, **kw):
    """fastgrad's and torch's embedding of the same table: outputs, weight gradients (for a
    random cotangent) and the weights after the call (max_norm rewrites them)."""
    fw, tw = fg.tensor(w, requires_grad=True), torch.tensor(w, requires_grad=True)
    fo, to = F.embedding(fg.tensor(idx), fw, **kw), torch.nn.functional.embedding(torch.tensor(idx), tw, **kw)
    cot = np.random.default_rng(3).standard_normal(tuple(to.shape))
    (fo * fg.tensor(cot)).sum().backward()
    (to * torch.tensor(cot)).sum().backward()
    tg = tw.grad.to_dense() if tw.grad.is_sparse else tw.grad
    return (np.asarray(fo.detach()), np.asarray(fw.grad), np.asarray(fw.detach())), (
        to.detach().numpy(),
        tg.numpy(),
        tw.detach().numpy(),
    )


@pytest.mark.parametrize(
    "kw",
    [
        dict(max_norm=1.0),
        dict(max_norm=2.5, norm_type=1.0),
        dict(max_norm=0.5, norm_type=float("inf")),
        dict(scale_grad_by_freq=True),
        dict(scale_grad_by_freq=True, padding_idx=1),
        dict(max_norm=1.0, scale_grad_by_freq=True),
        dict(sparse=True),
        dict(sparse=False, padding_idx=0),
    ],
    ids=str,
)
def test_embedding_options_like_torch(kw):
    rng = np.random.default_rng(0)
    w = rng.normal(size=(6, 3)) * 2
    w[4] *= 0.01  # a row already inside max_norm stays untouched
    idx = np.array([[0, 1, 1], [4, 1, 0]])  # 1 three times, 0 twice, 4 once; rows 2, 3, 5 unused
    for got, want in zip(*_emb_pair(w, idx, **kw)):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


def test_embedding_max_norm_rewrites_the_used_rows_in_place():
    rng = np.random.default_rng(1)
    w = rng.normal(size=(5, 4)) * 3
    fw = fg.tensor(w, requires_grad=True)
    v0 = fw._version
    F.embedding(fg.tensor([3, 0, 3]), fw, max_norm=1.0)
    norms = np.linalg.norm(np.asarray(fw.detach()), axis=1)
    np.testing.assert_allclose(
        norms[[0, 3]], 1.0 / (1 + 1e-7 / np.linalg.norm(w[[0, 3]], axis=1)), rtol=1e-12
    )
    np.testing.assert_array_equal(np.asarray(fw.detach())[[1, 2, 4]], w[[1, 2, 4]])  # unused rows kept
    assert fw._version > v0 and fw.requires_grad and fw.grad_fn is None
    # the module keeps the options and passes them on
    m = nn.Embedding(5, 4, max_norm=1.0, scale_grad_by_freq=True, sparse=True)
    y = m(fg.tensor([1, 1, 2]))
    assert np.all(np.linalg.norm(np.asarray(y.detach()), axis=1) <= 1.0 + 1e-6)
    y.sum().backward()
    np.testing.assert_allclose(np.asarray(m.weight.grad)[[1, 2]], np.ones((2, 4)), rtol=1e-6)
    assert "max_norm=1.0" in repr(m) and "scale_grad_by_freq=True" in repr(m)


@pytest.mark.parametrize("lead", [(), (5,), (2, 3)])
@pytest.mark.parametrize("with_bias", [True, False])
def test_bilinear_matches_torch_values_and_grads(lead, with_bias):
    rng = np.random.default_rng(0)
    x1, x2 = rng.normal(size=lead + (3,)), rng.normal(size=lead + (4,))
    w, b = rng.normal(size=(2, 3, 4)), rng.normal(size=(2,))
    ft = [fg.tensor(a, requires_grad=True) for a in (x1, x2, w, b)]
    tt = [torch.tensor(a, requires_grad=True) for a in (x1, x2, w, b)]
    fy = F.bilinear(ft[0], ft[1], ft[2], ft[3] if with_bias else None)
    ty = torch.nn.functional.bilinear(tt[0], tt[1], tt[2], tt[3] if with_bias else None)
    assert fy.shape == tuple(ty.shape)
    np.testing.assert_allclose(np.asarray(fy.detach()), ty.detach().numpy(), rtol=1e-12, atol=1e-12)
    g = rng.normal(size=tuple(ty.shape))
    fy.backward(fg.tensor(g))
    ty.backward(torch.tensor(g))
    for a, c in zip(ft[: 4 if with_bias else 3], tt):
        np.testing.assert_allclose(np.asarray(a.grad), c.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_bilinear_gradcheck():
    rng = np.random.default_rng(1)
    args = [rng.normal(size=s) for s in ((2, 3), (2, 2), (4, 3, 2), (4,))]
    assert fg.gradcheck(F.bilinear, *args)


def test_bilinear_module_like_torch():
    f, t = nn.Bilinear(3, 4, 5), torch.nn.Bilinear(3, 4, 5)
    assert repr(f) == repr(t)
    assert list(f.state_dict()) == list(t.state_dict())
    assert [tuple(v.shape) for v in f.state_dict().values()] == [
        tuple(v.shape) for v in t.state_dict().values()
    ]
    bound = 1 / np.sqrt(3)
    for p in f.parameters():
        a = np.asarray(p.detach())
        assert a.min() >= -bound and a.max() <= bound and a.std() > bound / 4
    f.load_state_dict({k: v.detach().numpy() for k, v in t.state_dict().items()})
    x1, x2 = np.random.randn(6, 3).astype(np.float32), np.random.randn(6, 4).astype(np.float32)
    with torch.no_grad():
        want = t(torch.from_numpy(x1), torch.from_numpy(x2)).numpy()
    np.testing.assert_allclose(np.asarray(f(fg.tensor(x1), fg.tensor(x2))), want, rtol=1e-5, atol=1e-5)
    assert nn.Bilinear(2, 2, 3, bias=False).bias is None
    assert nn.Bilinear(2, 2, 3, dtype=fg.float64).weight.dtype == fg.float64


def test_bilinear_errors():
    w = fg.zeros([2, 3, 4])
    for a, b, ww in [
        (fg.zeros([5, 3]), fg.zeros([5, 3]), w),
        (fg.zeros([5, 2]), fg.zeros([5, 4]), w),
        (fg.zeros([5, 3]), fg.zeros([4, 4]), w),
        (fg.zeros([5, 3]), fg.zeros([5, 4]), fg.zeros([3, 4])),
    ]:
        with pytest.raises(ValueError, match="bilinear"):
            F.bilinear(a, b, ww)
        with pytest.raises(RuntimeError):
            torch.nn.functional.bilinear(
                torch.zeros(tuple(a.shape)), torch.zeros(tuple(b.shape)), torch.zeros(tuple(ww.shape))
            )
    with pytest.raises(ValueError, match="bias"):
        F.bilinear(fg.zeros([5, 3]), fg.zeros([5, 4]), w, fg.zeros([3]))
