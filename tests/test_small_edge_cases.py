"""Small edge cases of issue 10, item 12, each against PyTorch: adaptive pooling of an
empty spatial axis, embedding index/weight checks and padding_idx, batch_norm of empty
inputs, logsumexp over an empty axis (value, VJP, JVP), smooth_l1_loss(beta=0),
squeeze(axis=()), and a per-class weight that requires grad."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import fastgrad as fg
import fastgrad.nn as nn
import fastgrad.nn.functional as F

DT = [(fg.float32, np.float32), (fg.float64, np.float64)]


@pytest.mark.parametrize("nd", [1, 2, 3])
@pytest.mark.parametrize("fmt", ["channels_first", "channels_last"])
def test_adaptive_avg_pool_empty_spatial_axis_raises_like_torch(nd, fmt):
    shape = (1, 2) + (0,) + (3,) * (nd - 1)
    with pytest.raises(RuntimeError):
        getattr(torch.nn.functional, f"adaptive_avg_pool{nd}d")(torch.zeros(shape), 2)
    x = fg.zeros(*shape) if fmt == "channels_first" else fg.zeros(*((1,) + shape[2:] + (2,)))
    with pytest.raises(ValueError, match=rf"adaptive_avg_pool{nd}d.*zero-sized spatial"):
        getattr(F, f"adaptive_avg_pool{nd}d")(x, 2, data_format=fmt)
    with pytest.raises(ValueError, match="adaptive_avg_pool.*zero-sized spatial"):
        fg._C.adaptive_avg_pool(x, [2] * nd, fmt == "channels_last")
    # an empty batch is fine (empty result, as PyTorch)
    y = getattr(F, f"adaptive_avg_pool{nd}d")(fg.zeros(*((0, 2) + (3,) * nd)), 2)
    assert tuple(y.shape) == tuple(
        getattr(torch.nn.functional, f"adaptive_avg_pool{nd}d")(torch.zeros((0, 2) + (3,) * nd), 2).shape
    )


def test_embedding_indices_and_weight_rank_like_torch():
    w = fg.randn(4, 3)
    for bad in ([-1], [4], [[0, -2]]):
        with pytest.raises(IndexError):
            torch.nn.functional.embedding(torch.tensor(bad), torch.randn(4, 3))
        with pytest.raises(IndexError, match="embedding: index out of range for 4"):
            F.embedding(bad, w)
        with pytest.raises(IndexError, match="embedding"):
            nn.Embedding(4, 3)(fg.tensor(np.asarray(bad, np.int64)))
    for ws in [(), (4,), (4, 3, 2)]:
        with pytest.raises(RuntimeError):
            torch.nn.functional.embedding(torch.tensor([0]), torch.randn(ws))
        with pytest.raises(
            ValueError,
            match=r"embedding: weight must be a 2-D.*" + str(ws).replace("(", r"\(").replace(")", r"\)"),
        ):
            F.embedding([0], fg.randn(*ws))


@pytest.mark.parametrize("padding_idx", [0, 2, -1])
def test_embedding_padding_idx_value_and_gradient_like_torch(padding_idx):
    a = np.random.default_rng(0).standard_normal((4, 3))  # the padding row is not zero here
    idx = [[0, 1, 3], [3, 2, 0]]
    tw = torch.tensor(a, requires_grad=True)
    ty = torch.nn.functional.embedding(torch.tensor(idx), tw, padding_idx=padding_idx)
    ty.backward(torch.ones_like(ty) * 2.0)
    fw = fg.tensor(a, requires_grad=True)
    fy = F.embedding(idx, fw, padding_idx=padding_idx)
    (fy * 2.0).sum().backward()
    np.testing.assert_array_equal(np.asarray(fy.detach()), ty.detach().numpy())
    np.testing.assert_array_equal(np.asarray(fw.grad), tw.grad.numpy())
    with pytest.raises(ValueError, match="padding_idx 4 out of range"):
        F.embedding(idx, fw, padding_idx=4)


@pytest.mark.parametrize("fdt,npdt", DT)
def test_batch_norm_empty_inputs_like_torch(fdt, npdt):
    # (0,): PyTorch returns an empty result; fastgrad too (it raised an internal IndexError)
    assert tuple(F.batch_norm(fg.zeros(0, dtype=fdt), None, None, training=True).shape) == (0,)
    for shape in [(0, 3), (0, 3, 4)]:
        C = shape[1]
        tw, tb = torch.ones(C, requires_grad=True), torch.zeros(C, requires_grad=True)
        ty = torch.nn.functional.batch_norm(torch.zeros(shape), None, None, tw, tb, training=True)
        ty.sum().backward()
        fw = fg.ones(C, dtype=fdt, requires_grad=True)
        fb = fg.zeros(C, dtype=fdt, requires_grad=True)
        fy = F.batch_norm(fg.zeros(*shape, dtype=fdt), None, None, fw, fb, training=True)
        assert tuple(fy.shape) == tuple(ty.shape)
        fy.sum().backward()
        np.testing.assert_array_equal(np.asarray(fw.grad), tw.grad.numpy())
        np.testing.assert_array_equal(np.asarray(fb.grad), tb.grad.numpy())
    # the module: empty batch leaves the running statistics, counts the batch (as PyTorch)
    tbn, fbn = torch.nn.BatchNorm1d(3), nn.BatchNorm1d(3, dtype=fdt)
    tbn(torch.zeros(0, 3))
    y = fbn(fg.zeros(0, 3, dtype=fdt))
    assert tuple(y.shape) == (0, 3)
    np.testing.assert_array_equal(np.asarray(fbn.running_mean), tbn.running_mean.numpy())
    np.testing.assert_array_equal(np.asarray(fbn.running_var), tbn.running_var.numpy())
    assert int(fbn.num_batches_tracked) == int(tbn.num_batches_tracked) == 1
    with pytest.raises(ValueError, match=r"batch_norm.*\(3,\)"):
        F.batch_norm(fg.zeros(3), None, None, training=True)


@pytest.mark.parametrize("fdt,npdt", DT)
@pytest.mark.parametrize(
    "shape,axis", [((2, 0), 1), ((0, 3), 0), ((0,), None), ((2, 0, 3), (1, 2)), ((2, 0), None)]
)
def test_logsumexp_empty_axis_is_minus_inf_like_torch(fdt, npdt, shape, axis):
    dims = list(range(len(shape))) if axis is None else axis
    for keep in (False, True):
        ty = torch.logsumexp(torch.zeros(shape, dtype=torch.float64), dims, keep)
        x = fg.zeros(*shape, dtype=fdt, requires_grad=True)
        y = fg.logsumexp(x, axis=axis, keepdims=keep)
        assert y.dtype == fdt
        np.testing.assert_array_equal(np.asarray(y.detach()), ty.numpy())
        # VJP: the gradient of an empty input is empty; JVP: the tangent of the constant -inf
        # is 0 (PyTorch's forward AD gives 0/0 = NaN here)
        w = fg.ones(*y.shape, dtype=fdt)
        (g,) = fg.autograd.grad(y, [x], grad_outputs=w)
        assert tuple(g.shape) == shape
        _, tan = fg.jvp(
            lambda u: fg.logsumexp(u, axis=axis, keepdims=keep),
            (fg.zeros(*shape, dtype=fdt),),
            (fg.zeros(*shape, dtype=fdt),),
        )
        np.testing.assert_array_equal(np.asarray(tan), np.zeros(tuple(ty.shape)))


@pytest.mark.parametrize("fdt,npdt", DT)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_smooth_l1_loss_beta_zero_is_l1_like_torch(fdt, npdt, reduction):
    a = np.array([1.0, -2.0, 0.25, 0.0, 3.0], npdt)
    t = np.array([0.0, 0.5, 0.25, 1.0, -1.0], npdt)
    for beta in (0.0, 0.5, 1.0):
        ta = torch.tensor(a, requires_grad=True)
        tl = torch.nn.functional.smooth_l1_loss(ta, torch.tensor(t), reduction=reduction, beta=beta)
        tl.sum().backward()
        fa = fg.tensor(a, dtype=fdt, requires_grad=True)
        fl = F.smooth_l1_loss(fa, fg.tensor(t, dtype=fdt), reduction=reduction, beta=beta)
        fl.sum().backward()
        np.testing.assert_allclose(np.asarray(fl.detach()), tl.detach().numpy(), rtol=1e-6)
        np.testing.assert_allclose(np.asarray(fa.grad), ta.grad.numpy(), rtol=1e-6)
    with pytest.raises(ValueError, match="smooth_l1_loss: beta"):
        F.smooth_l1_loss(fa, fg.tensor(t, dtype=fdt), beta=-1.0)
    with pytest.raises(ValueError, match="smooth_l1_loss"):  # names itself, not huber_loss
        F.smooth_l1_loss(fa, fg.zeros(3, dtype=fdt), beta=0.0)


def test_squeeze_empty_axis_tuple_is_a_no_op_like_numpy_torch():
    a = np.zeros((2, 1, 3, 1))
    for axis in ((), []):
        x = fg.tensor(a, requires_grad=True)
        for y in (x.squeeze(axis), fg.squeeze(x, axis)):
            assert (
                tuple(y.shape)
                == np.squeeze(a, axis=tuple(axis)).shape
                == tuple(torch.zeros(a.shape).squeeze(()).shape)
            )
        y.sum().backward()
        assert tuple(x.grad.shape) == a.shape
    assert tuple(fg.tensor(1.0).squeeze(()).shape) == ()
    assert tuple(fg.zeros(2, 1).squeeze((1,)).shape) == (2,)


def test_cross_entropy_class_weight_requiring_grad_is_refused_like_torch():
    x = fg.randn(4, 3, requires_grad=True)
    y = [0, 1, 2, 1]
    cw = fg.tensor([0.2, 0.5, 0.3], requires_grad=True)
    with pytest.raises(RuntimeError):
        torch.nn.functional.cross_entropy(
            torch.randn(4, 3), torch.tensor(y), weight=torch.rand(3, requires_grad=True)
        )
    for fn in (
        F.cross_entropy,
        lambda a, b, weight: F.nll_loss(fg.log_softmax(a, 1), b, weight=weight),
    ):
        with pytest.raises(RuntimeError, match="weight is not differentiable"):
            fn(x, y, weight=cw)
    F.cross_entropy(x, y, weight=cw.detach()).backward()  # a constant class weight is fine
    with fg.no_grad():
        F.cross_entropy(x, y, weight=cw)


def test_no_zero_division_in_layer_geometry():
    """Integer divisions by a user-given size raise a clear ValueError (or give PyTorch's
    empty result), never ZeroDivisionError."""
    with pytest.raises(ValueError, match="MultiheadAttention.*num_heads=0"):
        nn.MultiheadAttention(8, 0)
    with pytest.raises(ValueError, match="pad_same: stride"):
        F.pad_same(5, 3, 0)
    # per-example weight over an empty batch: PyTorch's sum over nothing is 0
    x = fg.zeros(0, 3, requires_grad=True)
    loss = F.cross_entropy(x, np.zeros(0, np.int64), sample_weight=fg.zeros(0), reduction="sum")
    tl = torch.nn.functional.cross_entropy(
        torch.zeros(0, 3), torch.zeros(0, dtype=torch.long), reduction="sum"
    )
    assert float(loss) == float(tl) == 0.0
    loss.backward()
    assert tuple(x.grad.shape) == (0, 3)
