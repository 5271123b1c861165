"""PyTorch's naming and conventions on fastgrad tensors, with torch as the oracle: the same
call on both libraries gives the same values, shapes and dtypes (and the same error class,
where PyTorch's RuntimeError is fastgrad's ValueError)."""

import math
import operator

import numpy as np
import pytest
import torch

import fastgrad as fg

DT = {fg.float32: torch.float32, fg.float64: torch.float64, fg.int64: torch.int64, fg.bool_: torch.bool}


def pair(shape=(3, 4), dtype=np.float64, seed=0):
    a = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    return fg.tensor(a), torch.tensor(a)


def same(f, t):
    """fastgrad result f equals torch result t: values, shape, dtype (tuples/lists elementwise)."""
    if isinstance(t, (tuple, list)):
        assert isinstance(f, (tuple, list)) and len(f) == len(t), (f, t)
        for a, b in zip(f, t):
            same(a, b)
        return
    if isinstance(t, torch.Tensor):
        assert isinstance(f, fg.Tensor), type(f)
        assert tuple(f.shape) == tuple(t.shape), (f.shape, t.shape)
        assert DT[f.dtype] == t.dtype, (f.dtype, t.dtype)
        np.testing.assert_allclose(np.asarray(f, dtype=np.float64), t.double().numpy(), rtol=1e-6, atol=1e-12)
        return
    assert f == t, (f, t)


# ---------------------------------------------------------------- 1. Tensor methods
def test_size_dim_and_counts():
    x, t = pair((2, 3, 4))
    assert x.size() == tuple(t.size()) and isinstance(x.size(), tuple)
    for d in (0, 1, -1, -3):
        assert x.size(d) == t.size(d)
    with pytest.raises(IndexError):
        t.size(3)
    with pytest.raises(IndexError):
        x.size(3)
    assert x.dim() == t.dim() == x.ndimension()
    assert x.numel() == x.nelement() == t.nelement() == fg.numel(x) == 24
    for fd, td in [
        (fg.float32, torch.float32),
        (fg.float64, torch.float64),
        (fg.int64, torch.int64),
        (fg.bool, torch.bool),
    ]:
        assert fg.zeros(2, dtype=fd).element_size() == torch.zeros(2, dtype=td).element_size()
        assert fg.zeros(2, dtype=fd).is_floating_point() == torch.zeros(2, dtype=td).is_floating_point()
    assert x.is_cuda is False and x.is_cpu is True and x.device == fg.device("cpu") and str(x.device) == "cpu"


@pytest.mark.parametrize("shape", [(), (3,), (2, 3)])
def test_t(shape):
    x, t = pair(shape)
    same(x.t(), t.t())


def test_t_rejects_3d():
    with pytest.raises(RuntimeError):
        torch.zeros(2, 2, 2).t()
    with pytest.raises(ValueError, match="t: .*2, 2, 2"):
        fg.zeros(2, 2, 2).t()


@pytest.mark.parametrize("name", ["eq", "ne", "lt", "le", "gt", "ge", "greater", "less_equal", "not_equal"])
def test_comparisons(name):
    x, t = pair((3, 4))
    y, u = pair((4,), seed=1)
    same(getattr(x, name)(y), getattr(t, name)(u))
    same(getattr(fg, name)(x, 0.5), getattr(torch, name)(t, 0.5))
    same(getattr(x, name)(x), getattr(t, name)(t))


def test_equal():
    x, t = pair()
    assert fg.equal(x, x) is torch.equal(t, t) is True
    assert fg.equal(x, x + 1) is torch.equal(t, t + 1) is False
    assert fg.equal(x, x[:2]) is torch.equal(t, t[:2]) is False
    assert fg.equal(fg.zeros(0), fg.zeros(0)) is True


def test_as_methods():
    x, t = pair((3, 4))
    o, u = pair((2, 6))
    same(x.view_as(o), t.view_as(u))
    same(x.reshape_as(o), t.reshape_as(u))
    r, v = pair((1, 4))
    b, w = pair((5, 3, 4))
    same(r.expand_as(b), v.expand_as(w))


def test_type_and_casts():
    x, t = pair(dtype=np.float32)
    assert x.type() == "fastgrad.FloatTensor" and t.type() == "torch.FloatTensor"
    assert fg.tensor([1]).type() == "fastgrad.LongTensor"
    for fd, td in [(fg.float64, torch.float64), (fg.int64, torch.int64), (fg.bool, torch.bool)]:
        same(x.type(fd), t.type(td))
    same(x.type("torch.DoubleTensor"), t.type("torch.DoubleTensor"))
    for m in ("int", "long", "bool", "float", "double"):
        got, want = getattr(x, m)(), getattr(t, m)()
        if m == "int":  # fastgrad's one integer dtype is int64 (torch: int32)
            assert got.dtype == fg.int64 and want.dtype == torch.int32
            np.testing.assert_array_equal(np.asarray(got), want.numpy())
        else:
            same(got, want)


def test_new_factories():
    x, t = pair(dtype=np.float64)
    same(x.new_zeros(2, 3), t.new_zeros(2, 3))
    same(x.new_ones((2,)), t.new_ones((2,)))
    same(x.new_full((2, 2), 7), t.new_full((2, 2), 7))
    same(x.new_empty(3).shape, t.new_empty(3).shape)
    same(x.new_tensor([1, 2]), t.new_tensor([1, 2]))
    same(x.new_zeros(2, dtype=fg.int64), t.new_zeros(2, dtype=torch.int64))
    assert x.new_ones(2, requires_grad=True).requires_grad


@pytest.mark.parametrize("args", [(0, 1, 2), (1, -3, 2), (1, 0, 0), (0, 3, 0)])
def test_narrow(args):
    x, t = pair((3, 4))
    same(x.narrow(*args), t.narrow(*args))
    same(fg.narrow(x, *args), torch.narrow(t, *args))


@pytest.mark.parametrize("args", [(0, 2, 2), (0, 4, 0), (5, 0, 1), (0, -4, 1), (0, 1, -1)])
def test_narrow_errors(args):
    x, t = pair((3, 4))
    with pytest.raises((IndexError, RuntimeError)) as te:
        t.narrow(*args)
    want = IndexError if te.type is IndexError else ValueError
    with pytest.raises(want, match="narrow"):
        x.narrow(*args)


@pytest.mark.parametrize("n,chunks", [(5, 3), (6, 4), (6, 3), (0, 3), (2, 5), (7, 1)])
def test_chunk(n, chunks):
    x, t = pair((n, 2))
    same(x.chunk(chunks), t.chunk(chunks))
    same(fg.chunk(x.t(), chunks, dim=1), torch.chunk(t.t(), chunks, dim=1))


@pytest.mark.parametrize("spec", [3, 1, 7, [1, 4, 2, 9], [], [-2], (0, 0)])
def test_tensor_split(spec):
    x, t = pair((5, 3))
    same(x.tensor_split(spec), t.tensor_split(spec))
    same(fg.tensor_split(x.t(), spec, dim=1), torch.tensor_split(t.t(), spec, dim=1))
    same(
        x.tensor_split(fg.tensor(spec) if isinstance(spec, list) and spec else 2),
        t.tensor_split(torch.tensor(spec) if isinstance(spec, list) and spec else 2),
    )


def test_chunk_split_errors():
    x, t = pair((4,))
    for f, g in [
        (lambda: x.chunk(0), lambda: t.chunk(0)),
        (lambda: x.tensor_split(0), lambda: t.tensor_split(0)),
    ]:
        with pytest.raises(RuntimeError):
            g()
        with pytest.raises(ValueError):
            f()


@pytest.mark.parametrize("dim,sizes", [(1, (2, 3)), (-1, (3, -1)), (0, (1, 2)), (1, (6,))])
def test_unflatten(dim, sizes):
    x, t = pair((2, 6))
    same(x.unflatten(dim, sizes), t.unflatten(dim, sizes))
    same(fg.unflatten(x, dim, sizes), torch.unflatten(t, dim, sizes))


def test_unflatten_error():
    x, t = pair((2, 6))
    with pytest.raises(RuntimeError):
        t.unflatten(1, (4, -1))
    with pytest.raises(ValueError, match="unflatten"):
        x.unflatten(1, (4, -1))


@pytest.mark.parametrize("src,dst", [(0, 2), (-1, 0), ((0, 1), (2, 0)), ([1], [1]), ((0, 2), (1, 0))])
def test_movedim(src, dst):
    x, t = pair((2, 3, 4))
    same(x.movedim(src, dst), t.movedim(src, dst))
    same(fg.moveaxis(x, src, dst), torch.moveaxis(t, src, dst))


def test_movedim_errors():
    x, t = pair((2, 3, 4))
    with pytest.raises(RuntimeError):
        t.movedim((0, 1), (0, 0))
    with pytest.raises(ValueError, match="movedim"):
        x.movedim((0, 1), (0, 0))
    with pytest.raises(IndexError):
        t.movedim(3, 0)
    with pytest.raises(IndexError):
        x.movedim(3, 0)


def test_swapaxes():
    x, t = pair((2, 3, 4))
    same(x.swapaxes(0, 2), t.swapaxes(0, 2))
    same(fg.swapdims(x, -1, 1), torch.swapdims(t, -1, 1))


def test_composites_are_differentiable():
    x = fg.tensor(np.random.default_rng(3).standard_normal((4, 6)))
    assert fg.gradcheck(lambda a: a.narrow(1, 1, 3) * 2.0, x)
    assert fg.gradcheck(lambda a: a.chunk(4, dim=1)[1] ** 2, x)
    assert fg.gradcheck(
        lambda a: fg.stack(a.tensor_split([1, 3]), dim=0).sum(0) if False else a.tensor_split([1, 3])[1] ** 2,
        x,
    )
    assert fg.gradcheck(lambda a: a.unflatten(1, (2, 3)).movedim(0, 2) ** 2, x)
    assert fg.gradcheck(lambda a: fg.expand_dims(a, (0, 2)).swapaxes(0, 3) ** 3, x)
    assert fg.gradcheck(lambda a: a.t().view_as(a) * a, x)


def test_data_is_a_detached_view_and_settable():
    p = fg.tensor([1.0, 2.0], requires_grad=True)
    d = p.data
    assert not d.requires_grad and d.grad_fn is None
    d[0] = 5.0  # shares storage
    assert float(p[0]) == 5.0
    p.data = fg.tensor([7.0, 8.0, 9.0])
    assert p.requires_grad and tuple(p.shape) == (3,) and p.tolist() == [7.0, 8.0, 9.0]
    (p * 2.0).sum().backward()
    assert p.grad.tolist() == [2.0, 2.0, 2.0]
    tp = torch.tensor([1.0, 2.0], requires_grad=True)
    tp.data = torch.tensor([7.0, 8.0, 9.0])
    assert tuple(tp.shape) == tuple(p.shape)


def test_item_scalars_and_protocol():
    for v in ([2.5], [[3]], 4.0, [True]):
        x, t = fg.tensor(v), torch.tensor(v)
        assert x.item() == t.item() and type(x.item()) is type(t.item())
        assert float(x) == float(t) and int(x) == int(t) and bool(x) == bool(t)
    for x, t in [(fg.zeros(2), torch.zeros(2))]:
        for conv in (int, float, bool):
            with pytest.raises((ValueError, RuntimeError)):  # bool(): RuntimeError in torch
                conv(t)
            with pytest.raises(ValueError, match="one-element"):
                conv(x)
    assert operator.index(fg.tensor(3)) == operator.index(torch.tensor(3)) == 3
    assert [10, 20, 30][fg.tensor(1)] == 20
    with pytest.raises(TypeError):
        operator.index(torch.tensor(2.0))
    with pytest.raises(TypeError):
        operator.index(fg.tensor(2.0))
    x, t = pair((3, 2))
    assert len(x) == len(t) == 3
    with pytest.raises(TypeError):
        len(torch.tensor(1.0))
    with pytest.raises(TypeError):
        len(fg.tensor(1.0))
    same(list(x), list(t))


def test_format():
    for v in (1.23456, -7.0, 3):
        assert f"{fg.tensor(v):.2f}" == f"{torch.tensor(v):.2f}"
        assert format(fg.tensor(v), "") == format(torch.tensor(v), "") if isinstance(v, int) else True
    assert f"{fg.tensor([0.5]):.3f}" == "0.500"  # one element of any shape (torch: 0-d only)
    assert f"{fg.tensor([1.0, 2.0])}" == str(fg.tensor([1.0, 2.0]))
    with pytest.raises(TypeError):
        format(torch.tensor([1.0, 2.0]), ".2f")
    with pytest.raises(TypeError):
        format(fg.tensor([1.0, 2.0]), ".2f")


@pytest.mark.parametrize(
    "make",
    [
        lambda m: m.tensor([1.0, 2.0]),
        lambda m: m.tensor([0.123456, 100.0]),
        lambda m: m.tensor([1e-5, 1.0]),
        lambda m: m.tensor([1, 2]),
        lambda m: m.tensor(3.0),
        lambda m: m.tensor([1.5, 2.0], dtype=m.float64),
        lambda m: m.tensor([1.5, float("inf")]),
        lambda m: m.zeros(0, 3),
        lambda m: m.zeros(0, dtype=m.int64),
        lambda m: m.tensor([1.0, 2.0], requires_grad=True),
        lambda m: m.ones(3, 2),
    ],
)
def test_repr_like_torch(make):
    want = repr(make(torch)).replace("torch.", "fastgrad.")
    assert repr(make(fg)) == want
    assert str(make(fg)) == want


def test_repr_grad_fn():
    r = repr(fg.tensor([1.0, 2.0], requires_grad=True).exp())
    assert r.startswith("tensor([2.7183, 7.3891], grad_fn=<") and r.endswith("Backward0>)")


# ---------------------------------------------------------------- 2. dim= / keepdim=
RED = ["sum", "mean", "prod", "amax", "amin", "logsumexp", "var", "std"]


@pytest.mark.parametrize("name", RED)
@pytest.mark.parametrize(
    "kw", [{}, {"dim": 1}, {"dim": -1, "keepdim": True}, {"dim": (0, 2)}, {"dim": [0, 1], "keepdim": True}]
)
def test_reductions_torch_keywords(name, kw):
    if name == "logsumexp" and "dim" not in kw:
        kw = {"dim": (0, 1, 2)}
    if name == "prod" and isinstance(kw.get("dim"), (tuple, list)):
        kw = {**kw, "dim": 1}  # torch.prod takes one dim (fastgrad also several)
    x, t = pair((2, 3, 4))
    same(getattr(fg, name)(x, **kw), getattr(torch, name)(t, **kw))
    same(getattr(x, name)(**kw), getattr(t, name)(**kw))


@pytest.mark.parametrize("name", ["sum", "mean", "amax", "prod"])
def test_reduction_dtype_and_empty_dim(name):
    x, t = pair((2, 3), np.float32)
    kw = {"dim": 1} if name == "prod" else {"dim": ()}  # torch: dim=() reduces every axis
    same(getattr(fg, name)(x, **kw), getattr(torch, name)(t, **kw))
    if name != "amax":
        same(getattr(fg, name)(x, 1, dtype=fg.float64), getattr(torch, name)(t, 1, dtype=torch.float64))


@pytest.mark.parametrize("name", ["var", "std"])
def test_moments_unbiased_and_correction(name):
    x, t = pair((3, 4))
    for args, kw in [
        ((True,), {}),
        ((False,), {}),
        ((1, False), {}),
        ((1, True, True), {}),
        ((), {"unbiased": False}),
        ((), {"dim": 0, "correction": 0}),
        ((), {"dim": 1, "correction": 2, "keepdim": True}),
    ]:
        same(getattr(fg, name)(x, *args, **kw), getattr(torch, name)(t, *args, **kw))
    with pytest.raises(TypeError, match=name):
        getattr(fg, name)(x, correction=1, unbiased=True)


@pytest.mark.parametrize("name", ["argmax", "argmin"])
def test_arg_reductions(name):
    x, t = pair((3, 4))
    for kw in [{}, {"dim": 0}, {"dim": 1, "keepdim": True}]:
        same(getattr(fg, name)(x, **kw), getattr(torch, name)(t, **kw))
        same(getattr(x, name)(**kw), getattr(t, name)(**kw))


@pytest.mark.parametrize("name", ["max", "min"])
def test_max_min_forms(name):
    x, t = pair((3, 4))
    same(getattr(fg, name)(x), getattr(torch, name)(t))
    same(tuple(getattr(fg, name)(x, 1)), tuple(getattr(torch, name)(t, 1)))
    same(
        tuple(getattr(fg, name)(x, dim=0, keepdim=True)), tuple(getattr(torch, name)(t, dim=0, keepdim=True))
    )
    v = getattr(x, name)(dim=1)
    assert v.values.shape == v.indices.shape == (3,)
    y, u = pair((3, 4), seed=1)
    same(getattr(fg, name)(x, y), getattr(torch, name)(t, u))
    # NumPy's axis= keyword: the values only (several axes allowed), as fg.amax / fg.amin
    same(getattr(fg, name)(x, axis=1), getattr(torch, "a" + name)(t, dim=1))
    same(
        getattr(x, name)(axis=(0, 1), keepdims=True), getattr(torch, "a" + name)(t, dim=(0, 1), keepdim=True)
    )


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_dim(name):
    x, t = pair((3, 4))
    for d in (0, 1, -1):
        same(getattr(fg, name)(x, dim=d), getattr(torch, name)(t, dim=d))
        same(getattr(x, name)(d), getattr(t, name)(d))
    x32, t32 = pair((3, 4), np.float32)
    same(getattr(fg, name)(x32, 1, dtype=fg.float64), getattr(torch, name)(t32, 1, dtype=torch.float64))


def test_shape_ops_dim_keywords():
    x, t = pair((2, 1, 3))
    same(fg.cat([x, x], dim=2), torch.cat([t, t], dim=2))
    same(fg.concat([x, x], dim=-1), torch.concat([t, t], dim=-1))
    same(fg.stack([x, x], dim=1), torch.stack([t, t], dim=1))
    same(fg.split(x, 1, dim=2), torch.split(t, 1, dim=2))
    same(x.split([1, 2], dim=-1), t.split([1, 2], dim=-1))
    same(fg.squeeze(x, dim=1), torch.squeeze(t, dim=1))
    same(fg.squeeze(x, 0), torch.squeeze(t, 0))  # PyTorch: a dim of size != 1 stays
    same(x.squeeze((0, 1, 2)), t.squeeze((0, 1, 2)))
    same(fg.squeeze(fg.tensor(1.0), 0), torch.squeeze(torch.tensor(1.0), 0))
    with pytest.raises(ValueError, match="squeeze"):
        fg.squeeze(x, axis=0)  # NumPy's axis=: each axis must have size 1
    same(x.squeeze(dim=(0, 1)), t.squeeze(dim=(0, 1)))
    same(fg.unsqueeze(x, dim=0), torch.unsqueeze(t, dim=0))
    same(x.unsqueeze(-1), t.unsqueeze(-1))
    same(fg.flatten(x, start_dim=1), torch.flatten(t, start_dim=1))
    same(x.flatten(0, 1), t.flatten(0, 1))
    same(x.flatten(end_dim=1), t.flatten(end_dim=1))


@pytest.mark.parametrize(
    "call",
    [
        lambda x: fg.sum(x, axis=0, dim=0),
        lambda x: x.mean(keepdims=True, keepdim=True),
        lambda x: fg.var(x, axis=0, dim=1),
        lambda x: fg.argmax(x, axis=0, dim=0),
        lambda x: fg.softmax(x, axis=0, dim=0),
        lambda x: fg.cat([x, x], axis=0, dim=0),
        lambda x: fg.stack([x], axis=0, dim=0),
        lambda x: fg.split(x, 1, axis=0, dim=0),
        lambda x: fg.squeeze(x, 0, axis=0),
        lambda x: fg.unsqueeze(x, axis=0, dim=0),
        lambda x: fg.flatten(x, start=0, start_dim=0),
        lambda x: fg.max(x, 0, axis=0),
        lambda x: fg.chunk(x, 2, axis=0, dim=0),
    ],
)
def test_both_spellings_is_a_type_error(call):
    with pytest.raises(TypeError, match="both"):
        call(fg.zeros(2, 3))


# ---------------------------------------------------------------- 3. devices and dtypes
def test_device_keywords_and_to():
    for dev in ("cpu", fg.device("cpu"), torch.device("cpu"), None):
        assert fg.zeros(2, device=dev).shape == (2,)
        assert fg.ones(2, device=dev).shape == (2,)
    factories = [
        lambda d: fg.zeros(2, device=d),
        lambda d: fg.ones(2, device=d),
        lambda d: fg.empty(2, device=d),
        lambda d: fg.full((2,), 1.0, device=d),
        lambda d: fg.arange(3, device=d),
        lambda d: fg.linspace(0, 1, 3, device=d),
        lambda d: fg.eye(2, device=d),
        lambda d: fg.rand(2, device=d),
        lambda d: fg.randn(2, device=d),
        lambda d: fg.randint(0, 3, (2,), device=d),
        lambda d: fg.randperm(3, device=d),
        lambda d: fg.tensor([1.0], device=d),
        lambda d: fg.as_tensor([1.0], device=d),
        lambda d: fg.zeros_like(fg.zeros(2), device=d),
        lambda d: fg.ones_like(fg.zeros(2), device=d),
        lambda d: fg.full_like(fg.zeros(2), 2.0, device=d),
        lambda d: fg.rand_like(fg.zeros(2), device=d),
        lambda d: fg.randn_like(fg.zeros(2), device=d),
        lambda d: fg.empty_like(fg.zeros(2), device=d),
        lambda d: fg.zeros(2).to(d),
        lambda d: fg.zeros(2).to(device=d),
        lambda d: fg.zeros(2).new_zeros(2, device=d),
    ]
    for f in factories:
        assert isinstance(f("cpu"), fg.Tensor)
        with pytest.raises(ValueError, match="CPU only"):
            f("cuda")
    x = fg.zeros(2)
    assert x.cpu() is x and x.to("cpu") is x and x.to(fg.float32) is x
    assert x.to("cpu", copy=True) is not x
    assert x.to(fg.float64).dtype == fg.float64 and x.to("cpu", fg.int64).dtype == fg.int64
    assert x.to(fg.zeros(1, dtype=fg.float64)).dtype == fg.float64
    assert x.to(dtype=fg.float64, non_blocking=True).dtype == fg.float64
    assert x.to(np.float64).dtype == fg.float64
    with pytest.raises(ValueError, match="CPU only"):
        x.cuda()


def test_dtype_aliases():
    assert fg.float is fg.float32 and fg.double is fg.float64 and fg.long is fg.int64
    assert fg.int is fg.int64  # fastgrad has no int32: an "int" tensor is int64 (exact for every int32)
    assert fg.bool is fg.bool_
    assert fg.zeros(2, dtype=fg.int).dtype == fg.int64
    assert fg.get_default_dtype() is fg.float32
    fg.set_default_dtype(fg.float64)
    try:
        assert fg.get_default_dtype() is fg.float64
        assert (
            fg.tensor([1.5]).dtype
            == fg.zeros(2).dtype
            == fg.rand(2).dtype
            == fg.arange(1.0).dtype
            == fg.float64
        )
        assert fg.tensor([1]).dtype == fg.int64
    finally:
        fg.set_default_dtype(fg.float32)
    assert fg.tensor([1.5]).dtype == fg.float32
    with pytest.raises(TypeError):
        fg.set_default_dtype(fg.int64)


def test_factory_dtype_inference_like_torch():
    for v in (1, 1.5, True):
        assert DT[fg.full((2,), v).dtype] == torch.full((2,), v).dtype
    same(fg.linspace(0, 1, steps=5), torch.linspace(0, 1, steps=5))
    same(fg.arange(0, end=5, step=2), torch.arange(0, end=5, step=2))
    assert fg.empty(2, 3).shape == (2, 3) and fg.empty((4,), dtype=fg.int64).dtype == fg.int64
    assert fg.is_tensor(fg.zeros(1)) and not fg.is_tensor([1.0])


# ---------------------------------------------------------------- 5. randint and generators
def test_randint_signatures():
    g = fg.manual_seed(0)
    assert g is fg.default_generator
    a = fg.randint(3, 10, (2, 3))
    assert a.dtype == fg.int64 and a.shape == (2, 3) and 3 <= int(a.min()) and int(a.max()) < 10
    b = fg.randint(5, (100,))
    assert b.shape == (100,) and 0 <= int(b.min()) and int(b.max()) < 5
    assert fg.randint(0, 2, size=(3,), dtype=fg.float32).dtype == fg.float32
    assert fg.randint(high=4, low=1, size=(3,), generator=None).shape == (3,)
    fg.manual_seed(1)
    c = fg.randint(0, 100, (5,), generator=fg.default_generator)
    fg.manual_seed(1)
    assert fg.equal(c, fg.randint(0, 100, (5,)))
    assert DT[fg.randint(3, (2,)).dtype] == torch.randint(3, (2,)).dtype
    with pytest.raises(TypeError, match="randint: generator must be a fastgrad.Generator"):
        fg.randint(0, 3, (2,), generator=object())
    with pytest.raises(TypeError):
        fg.randint(3)


DRAWS = {
    "rand": lambda g: fg.rand(3, 2, generator=g),
    "randn": lambda g: fg.randn(4, generator=g, dtype=fg.float64),
    "randint": lambda g: fg.randint(0, 1000, (6,), generator=g),
    "randperm": lambda g: fg.randperm(9, generator=g),
    "multinomial": lambda g: fg.multinomial(fg.tensor([0.1, 0.2, 0.7]), 6, True, generator=g),
}


@pytest.mark.parametrize("draw", sorted(DRAWS))
def test_generator_is_an_independent_stream(draw):
    f = DRAWS[draw]
    g = fg.Generator().manual_seed(42)
    assert isinstance(g, fg.Generator) and g.initial_seed() == 42
    first = f(g)
    g.manual_seed(42)
    assert fg.equal(first, f(g)), "the same seed replays the stream"
    # drawing from g leaves the global stream where it was
    fg.manual_seed(7)
    want = fg.randn(5)
    fg.manual_seed(7)
    f(g)
    assert fg.equal(fg.randn(5), want)
    # get_state/set_state replay from the saved point
    state = g.get_state()
    a = f(g)
    g.set_state(state)
    assert fg.equal(a, f(g))


def test_generator_drives_random_split_and_shuffling_as_torch_code_passes_it():
    from fastgrad.utils.data import DataLoader, TensorDataset, random_split

    ds = TensorDataset(fg.arange(20))

    def split():
        return [
            list(s.indices) for s in random_split(ds, [0.75, 0.25], generator=fg.Generator().manual_seed(0))
        ]

    assert split() == split() and sorted(sum(split(), [])) == list(range(20))
    loader = DataLoader(ds, batch_size=20, shuffle=True, generator=fg.Generator().manual_seed(3))
    e1, e2 = ([b[0].tolist() for b in loader] for _ in range(2))
    assert sorted(e1[0]) == sorted(e2[0]) == list(range(20)) and e1 != e2, "epochs differ, each a permutation"


def test_generator_errors():
    with pytest.raises(ValueError, match="Generator: fastgrad runs on the CPU only"):
        fg.Generator("cuda")
    with pytest.raises(ValueError, match="set_state: not a state"):
        fg.Generator().set_state(b"junk")
    with pytest.raises(TypeError, match="manual_seed: seed must be an int, got str"):
        fg.manual_seed("0")
    assert fg.manual_seed(-1).initial_seed() == 2**64 - 1  # torch's modulo-2**64 rule
    fg.manual_seed(0)


# ---------------------------------------------------------------- 6. NumPy-style names
def test_numpy_style_names():
    a = np.random.default_rng(1).standard_normal((2, 3, 4))
    x = fg.asarray(a)
    assert x.dtype == fg.float64 and fg.array([1.0, 2.0]).dtype == fg.float32
    np.testing.assert_array_equal(np.asarray(fg.transpose(x, (2, 0, 1))), np.transpose(a, (2, 0, 1)))
    np.testing.assert_array_equal(np.asarray(fg.transpose(x, axes=[1, 0, 2])), np.transpose(a, [1, 0, 2]))
    np.testing.assert_array_equal(np.asarray(fg.transpose(x)), np.transpose(a))
    same(fg.transpose(x, 0, 2), torch.transpose(torch.tensor(a), 0, 2))
    same(x.transpose(dim0=1, dim1=2), torch.tensor(a).transpose(dim0=1, dim1=2))
    for ax in (0, -1, (0, 2), (-1, 1)):
        np.testing.assert_array_equal(np.asarray(fg.expand_dims(x, ax)), np.expand_dims(a, ax))
    np.testing.assert_array_equal(np.asarray(fg.swapaxes(x, 0, 2)), np.swapaxes(a, 0, 2))
    np.testing.assert_array_equal(np.asarray(fg.moveaxis(x, 0, -1)), np.moveaxis(a, 0, -1))
    assert fg.ndim(x) == 3 and fg.shape(x) == (2, 3, 4) and fg.ndim([[1, 2]]) == 2
    assert math.isclose(float(fg.sum(x, axis=(0, 1)).sum()), float(a.sum()))


def test_accelerator_queries_take_the_cpu_branch():
    """torch.accelerator-style device selection (pytorch/examples' mnist) picks the CPU."""
    assert fg.accelerator.is_available() is torch.accelerator.is_available() is False
    assert fg.accelerator.current_accelerator() is None
    assert fg.accelerator.device_count() == 0
