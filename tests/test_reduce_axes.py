"""Every reduction over every axis of ranks 1-5, on contiguous, transposed and strided
inputs, against NumPy (values) and PyTorch (gradients), in float32 and float64 (issue 10,
item 2: argmax/argmin scrambled the rows when reducing a non-last axis with >= 2
trailing dims). Also the method form ``x.max(dim)`` / ``x.min(dim)`` (item 11) and
prod's gradient at subnormal inputs."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

import fastgrad as fg

SHAPES = {1: (5,), 2: (3, 4), 3: (4, 2, 3), 4: (2, 3, 2, 4), 5: (2, 3, 1, 2, 3)}
DT = [(fg.float32, np.float32, 2e-6), (fg.float64, np.float64, 1e-13)]
LAYOUTS = ["c", "t", "s"]


def leaf(a: np.ndarray, layout: str, fdt, requires_grad=False) -> fg.Tensor:
    """A tensor holding `a` as a contiguous, fully transposed or strided (offset) view."""
    if layout == "t":
        t = fg.tensor(np.ascontiguousarray(a.transpose()), dtype=fdt).T
    elif layout == "s":
        big = np.zeros(a.shape[:-1] + (2 * a.shape[-1] + 1,), a.dtype)
        big[..., 1::2] = a
        t = fg.tensor(big, dtype=fdt)[..., 1::2]
    else:
        t = fg.tensor(a, dtype=fdt)
    np.testing.assert_array_equal(np.asarray(t), a)
    if requires_grad:
        t.requires_grad = True
    return t


def with_ties(rng, shape, npdt):
    """Small integers: many ties along every axis, so 'first occurrence' is exercised."""
    return rng.integers(-2, 3, shape).astype(npdt)


CASES = [(nd, ax) for nd in SHAPES for ax in range(-nd, nd)]


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("nd,axis", CASES, ids=[f"r{n}-ax{a}" for n, a in CASES])
def test_argmax_argmin_every_axis(nd, axis, layout, rng):
    for fdt, npdt, _ in DT:
        for a in (rng.standard_normal(SHAPES[nd]).astype(npdt), with_ties(rng, SHAPES[nd], npdt)):
            x = leaf(a, layout, fdt)
            for fn, ref in ((fg.argmax, np.argmax), (fg.argmin, np.argmin)):
                for keep in (False, True):
                    got = fn(x, axis=axis, keepdims=keep)
                    assert got.dtype == fg.int64
                    np.testing.assert_array_equal(np.asarray(got), ref(a, axis=axis, keepdims=keep))
                    assert torch.equal(
                        torch.as_tensor(np.asarray(fn(x, axis=axis))),
                        (torch.argmax if fn is fg.argmax else torch.argmin)(torch.as_tensor(a), axis),
                    )


@pytest.mark.parametrize("nd,axis", CASES, ids=[f"r{n}-ax{a}" for n, a in CASES])
def test_argmax_argmin_nan_every_axis(nd, axis, rng):
    """NumPy's rule: the first NaN along the axis wins, for argmax and argmin alike."""
    a = with_ties(rng, SHAPES[nd], np.float64)
    a[rng.random(a.shape) < 0.3] = np.nan
    for layout in LAYOUTS:
        x = leaf(a, layout, fg.float64)
        np.testing.assert_array_equal(np.asarray(fg.argmax(x, axis=axis)), np.argmax(a, axis=axis))
        np.testing.assert_array_equal(np.asarray(fg.argmin(x, axis=axis)), np.argmin(a, axis=axis))


def _axes_of(nd):
    """Every single axis, pairs of axes, all axes and None."""
    yield from range(nd)
    yield from itertools.combinations(range(nd), 2)
    yield None


VALUE_OPS = [
    ("sum", fg.sum, lambda a, ax, k: np.sum(a, axis=ax, keepdims=k)),
    ("mean", fg.mean, lambda a, ax, k: np.mean(a, axis=ax, keepdims=k)),
    ("prod", fg.prod, lambda a, ax, k: np.prod(a, axis=ax, keepdims=k)),
    ("amax", fg.max, lambda a, ax, k: np.max(a, axis=ax, keepdims=k)),
    ("amin", fg.min, lambda a, ax, k: np.min(a, axis=ax, keepdims=k)),
    ("var", fg.var, lambda a, ax, k: np.var(a, axis=ax, keepdims=k, ddof=1)),
    ("std", fg.std, lambda a, ax, k: np.std(a, axis=ax, keepdims=k, ddof=1)),
    (
        "logsumexp",
        fg.logsumexp,
        lambda a, ax, k: torch.logsumexp(
            torch.as_tensor(a), list(range(a.ndim)) if ax is None else ax, k
        ).numpy(),
    ),
]


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("nd", sorted(SHAPES))
@pytest.mark.parametrize("name,fn,ref", VALUE_OPS, ids=[o[0] for o in VALUE_OPS])
def test_reduction_values_every_axis(name, fn, ref, nd, layout, rng):
    for fdt, npdt, tol in DT:
        a = rng.uniform(0.5, 1.5, SHAPES[nd]) * rng.choice([-1.0, 1.0], SHAPES[nd])
        a = a.astype(npdt)
        x = leaf(a, layout, fdt)
        for ax in _axes_of(nd):
            if (
                name in ("var", "std")
                and np.prod([a.shape[i] for i in np.atleast_1d(ax if ax is not None else range(nd))]) < 2
            ):
                continue
            for keep in (False, True):
                want = ref(a.astype(np.float64), ax, keep)
                got = np.asarray(fn(x, axis=ax, keepdims=keep))
                assert got.shape == np.shape(want), (name, ax, keep)
                np.testing.assert_allclose(
                    got, want, rtol=10 * tol, atol=10 * tol, err_msg=f"{name} axis={ax}"
                )


GRAD_OPS = [
    ("prod", fg.prod, lambda t, ax: t.prod(ax)),
    ("amax", fg.max, lambda t, ax: t.amax(ax)),
    ("amin", fg.min, lambda t, ax: t.amin(ax)),
    ("logsumexp", fg.logsumexp, lambda t, ax: t.logsumexp(ax)),
    ("var", fg.var, lambda t, ax: t.var(ax)),
]


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name,fn,tfn", GRAD_OPS, ids=[o[0] for o in GRAD_OPS])
def test_reduction_grads_every_axis_vs_torch(name, fn, tfn, layout, rng):
    """Gradients over every axis of ranks 1-5 (ties included for amax/amin: PyTorch
    splits evenly, as fastgrad)."""
    for nd, (fdt, npdt, tol) in itertools.product(sorted(SHAPES), DT):
        a = (
            with_ties(rng, SHAPES[nd], npdt)
            if name in ("amax", "amin")
            else rng.uniform(0.5, 1.5, SHAPES[nd]).astype(npdt)
        )
        for ax in range(nd):
            if name == "var" and a.shape[ax] < 2:
                continue
            x = leaf(a, layout, fdt, requires_grad=True)
            y = fn(x, axis=ax)
            w = rng.standard_normal(tuple(y.shape)).astype(npdt)
            (y * fg.tensor(w, dtype=fdt)).sum().backward()
            t = torch.tensor(a, requires_grad=True)
            (tfn(t, ax) * torch.as_tensor(w)).sum().backward()
            np.testing.assert_allclose(
                np.asarray(x.grad),
                t.grad.numpy(),
                rtol=20 * tol,
                atol=20 * tol,
                err_msg=f"{name} rank {nd} axis {ax} {layout}",
            )


@pytest.mark.parametrize("dtype", [fg.float32, fg.float64])
def test_prod_grad_subnormal_exact(dtype):
    """d prod / d x_i is the product of the other entries even where the full product
    under- or overflows (found by tests/test_fuzz.py: [5e-324, 1.5] gave grad 1 for x_0)."""
    npdt = np.float64 if dtype == fg.float64 else np.float32
    tiny = np.finfo(npdt).smallest_subnormal
    big = np.finfo(npdt).max / 2
    for a in ([tiny, 1.5], [1.5, tiny, 3.0], [big, 4.0, 0.125], [tiny, 0.0, 2.0]):
        a = np.asarray(a, npdt)
        x = fg.tensor(a, dtype=dtype, requires_grad=True)
        fg.prod(x).backward()
        with np.errstate(over="ignore"):  # big * 4 is inf, also for fastgrad
            want = np.array([np.prod(np.delete(a.astype(np.float64), i)) for i in range(a.size)]).astype(npdt)
        np.testing.assert_array_equal(np.asarray(x.grad), want)
        # the same along a non-last axis of a strided 2-D view
        X = fg.tensor(np.stack([a, a[::-1]], 1), dtype=dtype)[:, ::1].T.T
        X.requires_grad = True
        fg.prod(X, axis=0).sum().backward()
        np.testing.assert_array_equal(np.asarray(X.grad)[:, 0], want)
    # second order still follows the composite rule: d2 prod(x0, x1) / dx0 dx1 = 1
    x = fg.tensor(np.array([0.7, 1.5]), requires_grad=True)
    (g,) = fg.autograd.grad(fg.prod(x), [x], create_graph=True)
    (h,) = fg.autograd.grad(g[0], [x])
    np.testing.assert_allclose(np.asarray(h), [0.0, 1.0], atol=1e-15)


# ---------------------------------------------------------------- x.max(dim) / x.min(dim)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("nd,axis", CASES, ids=[f"r{n}-ax{a}" for n, a in CASES])
def test_method_max_min_returns_values_and_indices(nd, axis, layout, rng):
    for fdt, npdt, _ in DT:
        a = with_ties(rng, SHAPES[nd], npdt)
        if npdt is np.float64:
            a[rng.random(a.shape) < 0.1] = np.nan
        for is_max in (True, False):
            for keep in (False, True):
                x = leaf(a, layout, fdt, requires_grad=True)
                r = (
                    (x.max if is_max else x.min)(axis, keep)
                    if keep
                    else (x.max if is_max else x.min)(dim=axis)
                )
                v, i = r  # the PyTorch idiom unpacks values and indices
                assert r.values is v and r.indices is i
                t = torch.tensor(a, requires_grad=True)
                tv, ti = (t.max if is_max else t.min)(axis, keep)
                np.testing.assert_array_equal(np.asarray(v.detach()), tv.detach().numpy())
                assert i.dtype == fg.int64
                np.testing.assert_array_equal(np.asarray(i), ti.numpy())
                # the gradient flows to the selected entry only, as PyTorch's
                w = rng.standard_normal(tuple(v.shape)).astype(npdt)
                (v * fg.tensor(w, dtype=fdt)).sum().backward()
                (tv * torch.as_tensor(w)).sum().backward()
                np.testing.assert_array_equal(np.asarray(x.grad), t.grad.numpy())


def test_method_max_min_other_forms():
    a = np.array([[1.0, 5.0, 5.0], [7.0, -1.0, 2.0]])
    x = fg.tensor(a)
    assert float(x.max()) == 7.0 and float(x.min()) == -1.0  # no dim: the value
    assert isinstance(fg.max(x, axis=1), fg.Tensor)  # the functions keep returning values
    np.testing.assert_array_equal(np.asarray(fg.amax(x, axis=1)), [5.0, 7.0])
    np.testing.assert_array_equal(np.asarray(fg.amin(x, 0)), [1.0, -1.0, 2.0])
    np.testing.assert_array_equal(np.asarray(x.max(fg.tensor(np.full((2, 3), 3.0)))), np.maximum(a, 3.0))
    v, i = fg.tensor(2.5).max(0)
    assert float(v) == 2.5 and int(i) == 0 and tuple(i.shape) == ()
    with pytest.raises(IndexError, match="max.*axis 2"):
        x.max(2)
    with pytest.raises(TypeError, match="min.*dim"):
        x.min((0, 1))
    with pytest.raises(ValueError, match=r"max.*empty.*\(2, 0\)"):
        fg.zeros(2, 0).max(1)


@pytest.mark.parametrize("shift", [0.0, 3e4, -1e5, 1e16])
@pytest.mark.parametrize("nd,axis", [(1, 0), (3, 0), (3, 1), (3, -1)])
def test_softmax_log_softmax_large_logits_vs_torch(shift, nd, axis, rng):
    """log_softmax was x - (max + log(sum)): the sum rounded to max's ulp and lost log(sum)
    (float32 logits ~3e4 were off by 6e-4, and so was the gradient built on the output)."""
    for fdt, npdt, tol in DT:
        if shift == 1e16 and npdt == np.float32:
            continue
        a = (rng.standard_normal(SHAPES[nd]) * 2 + shift).astype(npdt)
        # the reference: float64 on the exactly representable shifted logits
        ref = torch.tensor(a.astype(np.float64) - np.float64(a.max()))
        w = rng.standard_normal(a.shape)
        for f, tf in ((fg.log_softmax, torch.log_softmax), (fg.softmax, torch.softmax)):
            x = fg.tensor(a, dtype=fdt, requires_grad=True)
            y = f(x, axis)
            r = ref.clone().requires_grad_(True)
            ty = tf(r, axis)
            np.testing.assert_allclose(
                np.asarray(y.detach()), ty.detach().numpy(), rtol=4 * tol, atol=4 * tol
            )
            (y * fg.tensor(w, dtype=fdt)).sum().backward()
            (ty * torch.tensor(w)).sum().backward()
            np.testing.assert_allclose(np.asarray(x.grad), r.grad.numpy(), rtol=40 * tol, atol=40 * tol)


@pytest.mark.parametrize(
    "row",
    [
        [np.inf, 1.0, 2.0],
        [-np.inf, -np.inf, -np.inf],
        [np.nan, 1.0, 2.0],
        [np.inf, np.inf, 0.0],
        [-np.inf, 0.0, 1.0],
    ],
)
def test_softmax_log_softmax_special_values_like_torch(row):
    for fdt, npdt, tol in DT:
        a = np.array([row, [0.0, 1.0, 2.0]], npdt)
        for f, tf in ((fg.log_softmax, torch.log_softmax), (fg.softmax, torch.softmax)):
            for ax in (1, -1):
                np.testing.assert_allclose(
                    np.asarray(f(fg.tensor(a, dtype=fdt), ax)),
                    tf(torch.tensor(a), ax).numpy(),
                    rtol=tol,
                    atol=tol,
                )  # NaN where torch has NaN, only there
            np.testing.assert_allclose(
                np.asarray(f(fg.tensor(a.T.copy(), dtype=fdt), 0)),
                tf(torch.tensor(a.T.copy()), 0).numpy(),
                rtol=tol,
                atol=tol,
            )


@pytest.mark.parametrize("layout", LAYOUTS)
def test_std_gradient_where_the_variance_is_zero_like_torch(layout, rng):
    """std's derivative is 0 where std == 0 (PyTorch masks it; it was inf * 0 = NaN), on
    every axis; NaN inputs still give NaN; other rows keep their exact gradient."""
    for nd, (fdt, npdt, tol) in itertools.product(sorted(SHAPES), DT):
        for ax in [None] + list(range(nd)):
            a = rng.uniform(0.5, 1.5, SHAPES[nd]).astype(npdt)
            if ax is None:
                a[...] = 0.75
            else:
                sl = [slice(None)] * nd
                sl[ax] = slice(None)
                idx = tuple(0 if i != ax else slice(None) for i in range(nd))
                a[idx] = 0.75  # one constant lane along the axis
            if (a.size if ax is None else a.shape[ax]) < 2:
                continue
            x = leaf(a, layout, fdt, requires_grad=True)
            y = fg.std(x, axis=ax)
            w = rng.standard_normal(tuple(y.shape)).astype(npdt)
            (y * fg.tensor(w, dtype=fdt)).sum().backward()
            t = torch.tensor(a, requires_grad=True)
            ty = t.std() if ax is None else t.std(ax)
            (ty * torch.as_tensor(w)).sum().backward()
            np.testing.assert_allclose(
                np.asarray(y.detach()), ty.detach().numpy(), rtol=10 * tol, atol=10 * tol
            )
            np.testing.assert_allclose(
                np.asarray(x.grad), t.grad.numpy(), rtol=20 * tol, atol=20 * tol, err_msg=f"std axis={ax}"
            )
    a = np.array([1.0, np.nan, 2.0])
    x = fg.tensor(a, dtype=fg.float64, requires_grad=True)
    y = fg.std(x)
    y.backward()
    assert np.isnan(float(y.detach())) and np.isnan(np.asarray(x.grad)).all()


# ---- composite reductions (nansum, nanmean, aminmax, trapezoid, dist): values vs torch,
# NaN-masked gradients, and errors naming the op and the shapes ----


def test_nansum_nanmean_mask_nans_in_value_and_gradient():
    a = np.array([[1.0, np.nan, 3.0], [np.nan, np.nan, 2.0]])
    x = fg.tensor(a, requires_grad=True)
    t = torch.tensor(a, requires_grad=True)
    np.testing.assert_allclose(fg.nansum(x, dim=1).numpy(), torch.nansum(t, dim=1).detach().numpy())
    got = fg.nanmean(x, dim=1)
    want = torch.nanmean(t, dim=1)
    np.testing.assert_allclose(got.numpy(), want.detach().numpy())
    got.sum().backward()
    want.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), t.grad.numpy())
    assert x.grad.numpy()[0, 1] == 0.0


def test_nanmean_of_integers_is_a_type_error():
    with pytest.raises(TypeError, match="nanmean: expected a floating-point input"):
        fg.nanmean(fg.tensor(np.arange(3)))


def test_aminmax_empty_dim_names_op_and_shape():
    x = fg.zeros((5, 0, 5))
    assert fg.aminmax(x, dim=0).min.shape == (0, 5)
    with pytest.raises(ValueError, match=r"aminmax: cannot reduce the empty dim 1 of shape \(5, 0, 5\)"):
        fg.aminmax(x, dim=1)
    with pytest.raises(ValueError, match=r"aminmax: cannot reduce an empty tensor \(5, 0, 5\)"):
        fg.aminmax(x)


def test_trapezoid_grid_and_spacing_match_torch(rng):
    y = rng.standard_normal((3, 5))
    x = np.sort(rng.standard_normal(5))
    got = fg.trapezoid(fg.tensor(y), fg.tensor(x)).numpy()
    np.testing.assert_allclose(got, torch.trapezoid(torch.tensor(y), torch.tensor(x)).numpy(), rtol=1e-13)
    got = fg.cumulative_trapezoid(fg.tensor(y), dx=0.5, dim=0).numpy()
    want = torch.cumulative_trapezoid(torch.tensor(y), dx=0.5, dim=0).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-13)
    with pytest.raises(
        ValueError, match=r"trapezoid: x \(4,\) must have y's size 5 along dim 1 \(y \(3, 5\)\)"
    ):
        fg.trapezoid(fg.tensor(y), fg.tensor(x[:4]))


def test_dist_shapes_must_broadcast():
    with pytest.raises(ValueError, match=r"dist: shapes \(2, 3\) and \(4,\) cannot be broadcast together"):
        fg.dist(fg.zeros((2, 3)), fg.zeros((4,)))
