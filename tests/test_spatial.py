"""Spatial ops against PyTorch: padding modes, pooling options (dilation, ceil_mode,
return_indices, divisor_override), unpooling, interpolation, transposed convolution, group /
instance norm and channel dropout — values, gradients (torch.autograd), float64 finite
differences (VJP, JVP, second order via fg.gradcheck), errors, and the OpInfo samples."""

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from torch.testing._internal.common_methods_invocations import op_db

import fastgrad as fg
import fastgrad.nn as nn
import fastgrad.nn.functional as F

RNG = np.random.default_rng(0)


def close(got, want, tol=1e-10):
    got = np.asarray(got.detach() if isinstance(got, fg.Tensor) else got)
    want = want.detach().numpy()
    assert got.shape == want.shape, (got.shape, want.shape)
    np.testing.assert_allclose(got, want, atol=tol, rtol=tol)


def both(fn_fg, fn_t, *arrays, tol=1e-10):
    """Forward and gradient of <w, f(x)> against torch in float64."""
    fx = [fg.tensor(a, requires_grad=True) for a in arrays]
    tx = [torch.tensor(a, requires_grad=True) for a in arrays]
    y, ty = fn_fg(*fx), fn_t(*tx)
    close(y, ty, tol)
    w = RNG.standard_normal(tuple(ty.shape))
    (y * fg.tensor(w)).sum().backward()
    (ty * torch.tensor(w)).sum().backward()
    for a, b in zip(fx, tx):
        close(a.grad, b.grad, tol)


def fd_check(f, *arrays, eps=1e-6, tol=1e-6):
    """float64: the VJP <Jᵀw, u>, the JVP <w, J u> (fg.jvp) and central differences of
    <w, f(x + t u)> agree, for random w and u."""
    xs = [np.asarray(a, np.float64) for a in arrays]
    us = [RNG.standard_normal(a.shape) for a in xs]
    leaves = [fg.tensor(a, requires_grad=True) for a in xs]
    y = f(*leaves)
    w = RNG.standard_normal(tuple(y.shape))
    grads = fg.autograd.grad((y * fg.tensor(w)).sum(), leaves, allow_unused=True)
    vjp = sum(float(np.sum(np.asarray(g) * u)) for g, u in zip(grads, us) if g is not None)
    _, t = fg.jvp(lambda p: f(*p), (tuple(fg.tensor(a) for a in xs),), (tuple(fg.tensor(u) for u in us),))
    jvp = float(np.sum(np.asarray(t) * w))

    def phi(h):
        return float(np.sum(np.asarray(f(*[fg.tensor(a + h * u) for a, u in zip(xs, us)])) * w))

    fd = (phi(eps) - phi(-eps)) / (2 * eps)
    np.testing.assert_allclose([vjp, jvp], [fd, fd], rtol=tol, atol=tol)


def second_order(f, *arrays, eps=1e-6, tol=1e-6):
    """Double backward: <d/dx <v, g(x)>, u> with g = grad_x <w, f(x)>^2 (create_graph) against
    central differences of <v, g(x + t u)>, in float64 (x = the first input)."""
    x0, rest = np.asarray(arrays[0], np.float64), [fg.tensor(a) for a in arrays[1:]]
    w = RNG.standard_normal(tuple(f(fg.tensor(x0), *rest).shape))
    u = RNG.standard_normal(x0.shape)

    def g(x, create_graph):
        leaf = fg.tensor(x, requires_grad=True)
        out = fg.autograd.grad((f(leaf, *rest) * fg.tensor(w)).sum() ** 2, [leaf], create_graph=create_graph)[
            0
        ]
        return leaf, out

    leaf, gx = g(x0, True)
    v = RNG.standard_normal(tuple(gx.shape))
    hv = fg.autograd.grad((gx * fg.tensor(v)).sum(), [leaf])[0]
    fd = (
        np.sum(np.asarray(g(x0 + eps * u, False)[1]) * v) - np.sum(np.asarray(g(x0 - eps * u, False)[1]) * v)
    ) / (2 * eps)
    np.testing.assert_allclose(float(np.sum(np.asarray(hv) * u)), fd, rtol=tol, atol=tol)


POOL2 = [
    (3, 2, 1, 2, True),
    (2, None, 0, 1, True),
    ((2, 3), (2, 1), (1, 1), (1, 2), True),
    (3, 3, 1, 1, False),
]


@pytest.mark.parametrize("k,s,p,d,cm", POOL2)
def test_max_pool2d_options_and_indices(k, s, p, d, cm):
    x = RNG.standard_normal((2, 3, 7, 8))
    both(lambda t: F.max_pool2d(t, k, s, p, d, cm), lambda t: TF.max_pool2d(t, k, s, p, d, cm), x)
    y, i = F.max_pool2d(fg.tensor(x), k, s, p, d, cm, True)
    ty, ti = TF.max_pool2d(torch.tensor(x), k, s, p, d, cm, True)
    close(y, ty)
    assert i.dtype == fg.int64
    np.testing.assert_array_equal(np.asarray(i), ti.numpy())
    # channels-last gives the same values and the same per-plane indices
    yl, il = F.max_pool2d(fg.tensor(x.transpose(0, 2, 3, 1).copy()), k, s, p, d, cm, True, data_format="NHWC")
    np.testing.assert_array_equal(np.asarray(il).transpose(0, 3, 1, 2), ti.numpy())
    layer = nn.MaxPool2d(k, s, p, d, return_indices=True, ceil_mode=cm)
    np.testing.assert_array_equal(np.asarray(layer(fg.tensor(x))[1]), ti.numpy())


def test_max_pool1d_3d_dilation_ceil():
    x1 = RNG.standard_normal((2, 3, 9))
    both(lambda t: F.max_pool1d(t, 3, 2, 1, 3, True), lambda t: TF.max_pool1d(t, 3, 2, 1, 3, True), x1)
    x3 = RNG.standard_normal((1, 2, 5, 6, 7))
    both(lambda t: F.max_pool3d(t, 2, 2, 1, 2, True), lambda t: TF.max_pool3d(t, 2, 2, 1, 2, True), x3)
    _, i = F.max_pool3d(fg.tensor(x3), 2, 2, 1, 2, True, True)
    np.testing.assert_array_equal(
        np.asarray(i), TF.max_pool3d(torch.tensor(x3), 2, 2, 1, 2, True, True)[1].numpy()
    )


@pytest.mark.parametrize(
    "k,s,p,cm,cip,dv",
    [
        (3, 2, 1, True, True, None),
        (3, 2, 1, True, False, None),
        (2, 3, 1, True, True, 5),
        (3, 2, 0, False, False, -2),
    ],
)
def test_avg_pool2d_options(k, s, p, cm, cip, dv):
    x = RNG.standard_normal((2, 3, 7, 8))
    both(lambda t: F.avg_pool2d(t, k, s, p, cm, cip, dv), lambda t: TF.avg_pool2d(t, k, s, p, cm, cip, dv), x)
    layer = nn.AvgPool2d(k, s, p, cm, cip, dv, data_format="NHWC")
    y = layer(fg.tensor(x.transpose(0, 2, 3, 1).copy()))
    want = TF.avg_pool2d(torch.tensor(x), k, s, p, cm, cip, dv)
    np.testing.assert_allclose(np.asarray(y).transpose(0, 3, 1, 2), want.numpy(), atol=1e-12)


def test_avg_pool1d_3d_ceil():
    x1 = RNG.standard_normal((2, 3, 9))
    both(
        lambda t: F.avg_pool1d(t, 4, 3, 2, True, False), lambda t: TF.avg_pool1d(t, 4, 3, 2, True, False), x1
    )
    x3 = RNG.standard_normal((1, 2, 5, 6, 7))
    both(
        lambda t: F.avg_pool3d(t, 3, 2, 1, True, False), lambda t: TF.avg_pool3d(t, 3, 2, 1, True, False), x3
    )


def test_pool_derivatives_float64():
    # VJP, JVP and (through the gradient as a function) second order vs finite differences.
    x = RNG.permutation(2 * 2 * 6 * 7).reshape(2, 2, 6, 7) / 10.0  # distinct: no ties
    fd_check(lambda t: F.max_pool2d(t, 3, 2, 1, 2, True), x)
    second_order(lambda t: F.max_pool2d(t, 3, 2, 1, 2, True), x)
    fd_check(lambda t: F.avg_pool2d(t, 3, 2, 1, True, False, 3), x)
    second_order(lambda t: F.avg_pool2d(t, 3, 2, 1, True, False, 3), x)
    fd_check(lambda t: F.avg_pool1d(t, 3, 2, 1, True, True), RNG.standard_normal((2, 3, 8)))
    xt = np.asarray(fg.tensor(x).transpose(2, 3))  # a transposed layout
    fd_check(lambda t: F.max_pool2d(t.transpose(2, 3), 2, 1, 0, 2, True), xt)


def test_pool_errors_name_op_and_shapes():
    x = fg.tensor(RNG.standard_normal((1, 1, 4, 4)))
    with pytest.raises(ValueError, match=r"max_pool2d: padding \(2, 2\).*half the kernel size \(3, 3\)"):
        F.max_pool2d(x, 3, 1, 2)
    with pytest.raises(ValueError, match=r"max_pool2d: input \(1, 1, 4, 4\) is too small"):
        F.max_pool2d(x, 3, 1, 0, 3)
    with pytest.raises(ValueError, match="avg_pool2d: divisor_override must not be zero"):
        F.avg_pool2d(x, 2, divisor_override=0)
    with pytest.raises(ValueError, match="max_pool2d: dilation must be >= 1"):
        F.max_pool2d(x, 2, dilation=0)


def test_max_unpool_roundtrip_and_grad():
    x = RNG.standard_normal((2, 3, 6, 7))
    for k, s in ((2, 2), (3, 2)):  # (3, 2): overlapping windows repeat indices
        ty, ti = TF.max_pool2d(torch.tensor(x), k, s, return_indices=True)
        y, i = F.max_pool2d(fg.tensor(x), k, s, return_indices=True)
        both(
            lambda t: F.max_unpool2d(t, fg.tensor(ti.numpy()), k, s, output_size=(6, 7)),
            lambda t: TF.max_unpool2d(t, ti, k, s, output_size=(6, 7)),
            ty.detach().numpy(),
        )
        close(nn.MaxUnpool2d(k, s)(y, i, (6, 7)), TF.max_unpool2d(ty, ti, k, s, output_size=(6, 7)))
    x1 = RNG.standard_normal((2, 2, 8))
    ty, ti = TF.max_pool1d(torch.tensor(x1), 2, return_indices=True)
    close(F.max_unpool1d(fg.tensor(ty.numpy()), fg.tensor(ti.numpy()), 2), TF.max_unpool1d(ty, ti, 2))
    with pytest.raises(ValueError, match=r"max_unpool1d: invalid output_size"):
        F.max_unpool1d(fg.tensor(ty.numpy()), fg.tensor(ti.numpy()), 2, output_size=(20,))


PADS = [
    ((1, 2, 0, 1), "reflect"),
    ((2, 1, 1, 3), "replicate"),
    ((3, 1, 2, 2), "circular"),
    ((-1, 2, 1, -2), "reflect"),
    ((-1, 1, -2, 1), "circular"),
    ((2, -3, 1, 0), "replicate"),
    ((-1, 2, 3, -2, 1, 1), "constant"),
    ((1, 1), "constant"),
]


@pytest.mark.parametrize("pd,mode", PADS)
def test_pad_modes(pd, mode):
    x = RNG.standard_normal((2, 3, 5, 6))
    both(lambda t: F.pad(t, pd, mode), lambda t: TF.pad(t, pd, mode), x)
    fd_check(lambda t: F.pad(t, pd, mode), x[:1])
    second_order(lambda t: F.pad(t, pd, mode), x[:1])


def test_pad_value_errors_and_fg_pad():
    x = RNG.standard_normal((2, 3))
    close(F.pad(fg.tensor(x), (1, 1), value=2.5), TF.pad(torch.tensor(x), (1, 1), value=2.5))
    np.testing.assert_array_equal(np.asarray(fg.pad(fg.tensor(x), 1)), np.pad(x, 1))  # NumPy's form stays
    with pytest.raises(ValueError, match="reflect padding"):
        F.pad(fg.tensor(x), (3, 0), "reflect")
    with pytest.raises(ValueError, match="even length"):
        F.pad(fg.tensor(x), (1,))
    with pytest.raises(NotImplementedError):
        F.pad(fg.tensor(RNG.standard_normal(4)), (1, 1), "reflect")


INTERP = [
    dict(size=(5, 13), mode="nearest"),
    dict(scale_factor=1.7, mode="nearest"),
    dict(scale_factor=2.3, mode="nearest-exact"),
    dict(size=(4, 11), mode="bilinear", align_corners=False),
    dict(size=(4, 11), mode="bilinear", align_corners=True),
    dict(scale_factor=(1.5, 0.7), mode="bilinear"),
    dict(scale_factor=(1.5, 0.7), mode="bilinear", recompute_scale_factor=True),
    dict(size=(3, 3), mode="area"),
    dict(size=(4, 11), mode="bicubic", align_corners=False),
    dict(size=(4, 11), mode="bicubic", align_corners=True),
    dict(scale_factor=(1.5, 0.7), mode="bicubic"),
    dict(size=(3, 5), mode="bilinear", antialias=True),
    dict(size=(3, 5), mode="bicubic", antialias=True),
    dict(scale_factor=(0.4, 1.6), mode="bilinear", align_corners=True, antialias=True),
    dict(size=(2, 13), mode="bicubic", align_corners=True, antialias=True),
    dict(size=(7, 3), mode="bicubic", antialias=True),  # the unchanged axis is skipped, as ATen
]


@pytest.mark.parametrize("kw", INTERP, ids=lambda kw: "-".join(map(str, kw.values())))
def test_interpolate(kw):
    x = RNG.standard_normal((2, 3, 7, 8))
    both(lambda t: F.interpolate(t, **kw), lambda t: TF.interpolate(t, **kw), x)
    close(
        F.interpolate(fg.tensor(x.astype(np.float32)), **kw),
        TF.interpolate(torch.tensor(x.astype(np.float32)), **kw),
        1e-5,
    )
    fd_check(lambda t: F.interpolate(t, **kw), x[:1])
    second_order(lambda t: F.interpolate(t, **kw), x[:1])


def test_interpolate_linear_trilinear_and_layers():
    x1 = RNG.standard_normal((2, 3, 9))
    both(
        lambda t: F.interpolate(t, scale_factor=2.5, mode="linear"),
        lambda t: TF.interpolate(t, scale_factor=2.5, mode="linear"),
        x1,
    )
    x3 = RNG.standard_normal((1, 2, 3, 4, 3))
    both(
        lambda t: F.interpolate(t, size=(5, 3, 7), mode="trilinear", align_corners=True),
        lambda t: TF.interpolate(t, size=(5, 3, 7), mode="trilinear", align_corners=True),
        x3,
    )
    x = RNG.standard_normal((1, 2, 4, 5))
    close(
        nn.Upsample(scale_factor=2, mode="bilinear")(fg.tensor(x)),
        torch.nn.Upsample(scale_factor=2, mode="bilinear")(torch.tensor(x)),
    )
    close(
        nn.UpsamplingNearest2d(size=(7, 9))(fg.tensor(x)),
        torch.nn.UpsamplingNearest2d(size=(7, 9))(torch.tensor(x)),
    )
    close(
        nn.UpsamplingBilinear2d(scale_factor=3)(fg.tensor(x)),
        torch.nn.UpsamplingBilinear2d(scale_factor=3)(torch.tensor(x)),
    )
    with pytest.raises(ValueError, match="only one of size or scale_factor"):
        F.interpolate(fg.tensor(x), size=3, scale_factor=2)
    with pytest.raises(ValueError, match="align_corners"):
        F.interpolate(fg.tensor(x), size=3, align_corners=True)
    with pytest.raises(ValueError, match="bilinear mode needs a 4-D input"):
        F.interpolate(fg.tensor(x1), size=3, mode="bilinear")
    with pytest.raises(ValueError, match="bicubic mode needs a 4-D input"):
        F.interpolate(fg.tensor(x3), size=3, mode="bicubic")
    with pytest.raises(ValueError, match="anti-alias option is restricted"):
        F.interpolate(fg.tensor(x), size=3, mode="nearest", antialias=True)


@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
@pytest.mark.parametrize("antialias", [False, True])
def test_interpolate_float32_large_downsampling_as_aten(mode, antialias):
    # Source positions up to ~300 in float32: ATen rounds scale * (i + 0.5) - 0.5 once (an
    # FMA); rounding twice moves the weights by an ulp of the position, visible here.
    x = (RNG.random((1, 2, 345, 456)) * 18 - 9).astype(np.float32)
    kw = dict(size=(270, 270), mode=mode, antialias=antialias)
    close(F.interpolate(fg.tensor(x), **kw), TF.interpolate(torch.tensor(x), **kw), 1e-5)


CT = [
    (4, 6, 2, 3, 2, 1, 1, 1),
    (3, 2, 1, (2, 3), (1, 2), (0, 1), (0, 1), (2, 1)),
    (2, 2, 1, 3, 3, 0, 2, 1),
    (2, 4, 2, (4, 5), (3, 2), (1, 2), (2, 3), (4, 4)),
]


@pytest.mark.parametrize("cin,cout,g,k,s,p,op,d", CT)
def test_conv_transpose2d(cin, cout, g, k, s, p, op, d):
    kk = (k, k) if isinstance(k, int) else k
    x, w, b = (
        RNG.standard_normal((2, cin, 4, 4)),
        RNG.standard_normal((cin, cout // g, *kk)),
        RNG.standard_normal(cout),
    )
    both(
        lambda a, v, c: F.conv_transpose2d(a, v, c, s, p, op, g, d),
        lambda a, v, c: TF.conv_transpose2d(a, v, c, s, p, op, g, d),
        x,
        w,
        b,
    )


def test_conv_transpose_1d_3d_layers_derivatives():
    x, w = RNG.standard_normal((2, 3, 6)), RNG.standard_normal((3, 2, 3))
    both(
        lambda a, v: F.conv_transpose1d(a, v, None, 2, 1, 1),
        lambda a, v: TF.conv_transpose1d(a, v, None, 2, 1, 1),
        x,
        w,
    )
    x, w = RNG.standard_normal((1, 2, 3, 4, 3)), RNG.standard_normal((2, 2, 2, 3, 2))
    both(
        lambda a, v: F.conv_transpose3d(a, v, None, 2, 1, 1),
        lambda a, v: TF.conv_transpose3d(a, v, None, 2, 1, 1),
        x,
        w,
    )
    layer, tl = (
        nn.ConvTranspose2d(4, 6, 3, 2, 1, groups=2, dtype=fg.float64),
        torch.nn.ConvTranspose2d(4, 6, 3, 2, 1, groups=2).double(),
    )
    assert tuple(layer.weight.shape) == tuple(tl.weight.shape)
    with torch.no_grad():
        tl.weight.copy_(torch.tensor(np.asarray(layer.weight)))
        tl.bias.copy_(torch.tensor(np.asarray(layer.bias)))
    x = RNG.standard_normal((2, 4, 5, 5))
    close(layer(fg.tensor(x), output_size=(10, 10)), tl(torch.tensor(x), output_size=(10, 10)))
    # VJP/JVP and second order through conv_grad_input (and its adjoints) vs finite differences
    xa, wa = RNG.standard_normal((1, 2, 3, 3)), RNG.standard_normal((2, 1, 2, 2))
    fd_check(lambda a: F.conv_transpose2d(a, fg.tensor(wa), None, 2, 1, 1), xa)
    fd_check(lambda v: F.conv_transpose2d(fg.tensor(xa), v, None, 2, 1, 1), wa)
    second_order(lambda a, v: F.conv_transpose2d(a, v, None, 2, 1, 1), xa, wa)
    with pytest.raises(ValueError, match=r"conv_transpose2d: input \(2, 3, 5, 5\) has 3 channels"):
        layer(fg.tensor(RNG.standard_normal((2, 3, 5, 5))))
    with pytest.raises(ValueError, match="nn.ConvTranspose2d"):
        nn.ConvTranspose2d(4, 6, 3, device="cuda")


def test_group_instance_norm_and_layers():
    x, w, b = RNG.standard_normal((2, 6, 4, 5)), RNG.standard_normal(6), RNG.standard_normal(6)
    both(
        lambda a, v, c: F.group_norm(a, 3, v, c), lambda a, v, c: TF.group_norm(a, 3, v, c), x, w, b, tol=1e-9
    )
    both(
        lambda a, v, c: F.instance_norm(a, None, None, v, c),
        lambda a, v, c: TF.instance_norm(a, None, None, v, c),
        x,
        w,
        b,
        tol=1e-9,
    )
    fr, tr = (
        [fg.tensor(np.zeros(6)), fg.tensor(np.ones(6))],
        [torch.zeros(6, dtype=torch.float64), torch.ones(6, dtype=torch.float64)],
    )
    F.instance_norm(fg.tensor(x), *fr, momentum=0.3)
    TF.instance_norm(torch.tensor(x), *tr, momentum=0.3)
    close(fr[0], tr[0])
    close(fr[1], tr[1])  # noqa: E702
    for nd, cls, tcls in (
        (1, nn.InstanceNorm1d, torch.nn.InstanceNorm1d),
        (2, nn.InstanceNorm2d, torch.nn.InstanceNorm2d),
        (3, nn.InstanceNorm3d, torch.nn.InstanceNorm3d),
    ):
        xi = RNG.standard_normal((2, 3) + (4,) * nd)
        m, tm = (
            cls(3, affine=True, track_running_stats=True, dtype=fg.float64),
            tcls(3, affine=True, track_running_stats=True).double(),
        )
        close(m(fg.tensor(xi)), tm(torch.tensor(xi)), 1e-9)
        close(m.running_var, tm.running_var, 1e-9)
        m.eval()
        tm.eval()  # noqa: E702
        close(m(fg.tensor(xi)), tm(torch.tensor(xi)), 1e-9)
        assert set(m.state_dict()) == set(tm.state_dict())
    gn, tgn = nn.GroupNorm(2, 6, dtype=fg.float64), torch.nn.GroupNorm(2, 6).double()
    close(gn(fg.tensor(x)), tgn(torch.tensor(x)), 1e-9)
    x5 = RNG.standard_normal((2, 3, 2, 3, 4))
    bn, tbn = nn.BatchNorm3d(3, dtype=fg.float64, device="cpu"), torch.nn.BatchNorm3d(3).double()
    close(bn(fg.tensor(x5)), tbn(torch.tensor(x5)), 1e-9)
    close(bn.running_var, tbn.running_var, 1e-9)
    fd_check(lambda a: F.group_norm(a, 2), RNG.standard_normal((2, 4, 3)))
    fd_check(lambda a: F.instance_norm(a), RNG.standard_normal((2, 4, 3)))
    with pytest.raises(ValueError, match="divisible by num_groups"):
        F.group_norm(fg.tensor(x), 4)
    with pytest.raises(ValueError, match="nn.GroupNorm"):
        nn.GroupNorm(2, 6, device="cuda")


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_channel_dropout(nd):
    x = fg.ones([4, 8] + [3] * nd)
    layer = getattr(nn, f"Dropout{nd}d")(0.5)
    y = np.asarray(layer(x)).reshape(4, 8, -1)
    assert set(np.unique(y)) <= {0.0, 2.0}
    assert (y.min(axis=2) == y.max(axis=2)).all()  # whole channels
    assert 0 < (y[:, :, 0] == 0).sum() < 32
    layer.eval()
    np.testing.assert_array_equal(np.asarray(layer(x)), np.asarray(x))
    with pytest.raises(ValueError, match=f"dropout{nd}d"):
        getattr(F, f"dropout{nd}d")(fg.ones([2] * (nd + 3)))


# ---------------------------------------------------------------- OpInfo samples
OPINFO = {
    "nn.functional.pad": F.pad,
    "nn.functional.max_pool1d": F.max_pool1d,
    "nn.functional.max_pool2d": F.max_pool2d,
    "nn.functional.max_pool3d": F.max_pool3d,
    "nn.functional.avg_pool1d": F.avg_pool1d,
    "nn.functional.avg_pool2d": F.avg_pool2d,
    "nn.functional.avg_pool3d": F.avg_pool3d,
    "nn.functional.interpolate": F.interpolate,
    "nn.functional.conv_transpose1d": F.conv_transpose1d,
    "nn.functional.conv_transpose2d": F.conv_transpose2d,
    "nn.functional.conv_transpose3d": F.conv_transpose3d,
    "nn.functional.group_norm": F.group_norm,
    "nn.functional.instance_norm": F.instance_norm,
    "nn.functional.max_unpool1d": F.max_unpool1d,
    "nn.functional.max_unpool2d": F.max_unpool2d,
    "nn.functional.max_unpool3d": F.max_unpool3d,
    "nn.functional.upsample_nearest": F.upsample_nearest,
    "nn.functional.upsample_bilinear": F.upsample_bilinear,
}
OPS = [o for o in op_db if o.name in OPINFO]


def _fg(v):
    if isinstance(v, torch.Tensor):
        return fg.tensor(v.detach().numpy())
    if isinstance(v, (list, tuple)) and not isinstance(v, torch.Size):
        return type(v)(_fg(a) for a in v)
    if isinstance(v, dict):
        return {k: _fg(a) for k, a in v.items()}
    return v


@pytest.mark.parametrize("op", OPS, ids=lambda o: f"{o.name}.{o.variant_test_name}")
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_opinfo_samples(op, dtype):
    fn, n = OPINFO[op.name], 0
    tol = 1e-5 if dtype == torch.float32 else 1e-10
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        samples = list(op.sample_inputs("cpu", dtype, requires_grad=False))
    for s in samples[:200]:
        try:
            want = op(s.input, *s.args, **s.kwargs)
        except Exception:  # noqa: BLE001 - samples PyTorch itself refuses are not judged
            continue
        got = fn(_fg(s.input), *_fg(s.args), **_fg(s.kwargs))
        ws, gs = (want, got) if isinstance(want, tuple) else ((want,), (got,))
        for g, w in zip(gs, ws):
            np.testing.assert_allclose(np.asarray(g), w.numpy(), atol=tol, rtol=tol, err_msg=f"{s}")
        n += 1
    assert n > 0


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_conv_padding_mode_and_device(mode):
    layer = nn.Conv2d(2, 3, 3, padding=(1, 2), dtype=fg.float64, padding_mode=mode, device="cpu")
    tl = torch.nn.Conv2d(2, 3, 3, padding=(1, 2), padding_mode=mode).double()
    with torch.no_grad():
        tl.weight.copy_(torch.tensor(np.asarray(layer.weight)))
        tl.bias.copy_(torch.tensor(np.asarray(layer.bias)))
    x = RNG.standard_normal((2, 2, 5, 6))
    close(layer(fg.tensor(x)), tl(torch.tensor(x)))
    with pytest.raises(ValueError, match="nn.Conv2d"):
        nn.Conv2d(2, 3, 3, device="cuda")
    with pytest.raises(ValueError, match="nn.BatchNorm2d"):
        nn.BatchNorm2d(3, device="cuda")
