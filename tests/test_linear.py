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
    with pytest.raises(NotImplementedError, match="max_norm"):
        nn.Embedding(3, 2, max_norm=1.0)


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
