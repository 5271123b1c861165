"""Derived predicates, stacking, splitting and gathering ops (ops/shape_composite.cpp):
values and gradients against torch beyond the OpInfo samples, and the errors for wrong
shapes (ValueError naming the op and the shapes)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import fastgrad as fg
import fastgrad.nn.functional as F


def _grad(fn, *xs):
    ts = [fg.tensor(x, requires_grad=True) for x in xs]
    out = fn(*ts)
    w = np.random.default_rng(0).standard_normal(tuple(out.shape))
    return fg.autograd.grad([out], ts, [fg.tensor(w)]), w


def test_special_values_of_the_float_predicates():
    x = np.array([np.inf, -np.inf, np.nan, -np.nan, 0.0, -0.0, 1.5, -2.0])
    t = torch.tensor(x)
    for name in ("isinf", "isposinf", "isneginf", "signbit"):
        got = np.array(getattr(fg, name)(fg.tensor(x)))
        np.testing.assert_array_equal(got, getattr(torch, name)(t).numpy(), err_msg=name)


def test_fmax_fmin_ignore_one_nan_and_send_ties_to_the_first_argument():
    a = np.array([1.0, np.nan, 3.0, np.nan, 2.0])
    b = np.array([2.0, 5.0, np.nan, np.nan, 2.0])
    for name in ("fmax", "fmin"):
        got = np.array(getattr(fg, name)(fg.tensor(a), fg.tensor(b)))
        want = getattr(torch, name)(torch.tensor(a), torch.tensor(b)).numpy()
        np.testing.assert_array_equal(got, want)
    (ga, gb), w = _grad(fg.fmax, np.array([1.0, 2.0, 3.0]), np.array([2.0, 2.0, 1.0]))
    np.testing.assert_array_equal(np.array(ga), w * [0, 1, 1])
    np.testing.assert_array_equal(np.array(gb), w * [1, 0, 0])


def test_isclose_and_allclose_follow_torch():
    a = np.array([1.0, 1.0 + 1e-6, np.inf, np.nan, 0.0])
    b = np.array([1.0, 1.0, np.inf, np.nan, 1e-9])
    for kw in ({}, {"equal_nan": True}, {"rtol": 0.0, "atol": 0.0}):
        got = np.array(fg.isclose(fg.tensor(a), fg.tensor(b), **kw))
        np.testing.assert_array_equal(got, torch.isclose(torch.tensor(a), torch.tensor(b), **kw).numpy())
    assert fg.allclose(fg.tensor([1.0, 2.0]), fg.tensor([1.0, 2.0 + 1e-9])) is True
    assert fg.allclose(fg.tensor([1.0, 2.0]), fg.tensor([1.0, 2.1])) is False


def test_all_any_reduce_like_torch():
    x = np.array([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]])
    t = torch.tensor(x)
    assert bool(fg.all(fg.tensor(x))) is False and bool(fg.any(fg.tensor(x))) is True
    np.testing.assert_array_equal(np.array(fg.tensor(x).all(dim=1)), t.all(dim=1).numpy())
    np.testing.assert_array_equal(np.array(fg.any(fg.tensor(x), dim=0, keepdim=True)), t.any(0, True).numpy())
    assert fg.all(fg.tensor(x)).dtype == fg.bool


def test_unfold_meshgrid_block_diag_gradients_match_torch():
    x = np.random.default_rng(1).standard_normal((4, 7))
    (g,), w = _grad(lambda t: t.unfold(1, 3, 2), x)
    tx = torch.tensor(x, requires_grad=True)
    (tg,) = torch.autograd.grad(tx.unfold(1, 3, 2), tx, torch.tensor(w))
    np.testing.assert_allclose(np.array(g), tg.numpy())
    a, b = fg.tensor([1.0, 2.0, 3.0]), fg.tensor([4.0, 5.0])
    for ix in ("ij", "xy"):
        got = [np.array(o) for o in fg.meshgrid(a, b, indexing=ix)]
        want = [
            o.numpy() for o in torch.meshgrid(torch.tensor([1.0, 2, 3]), torch.tensor([4.0, 5]), indexing=ix)
        ]
        for g_, w_ in zip(got, want):
            np.testing.assert_array_equal(g_, w_)
    bd = fg.block_diag(fg.tensor([[1.0, 2.0]]), fg.tensor(3.0), fg.tensor([4.0, 5.0]))
    np.testing.assert_array_equal(
        np.array(bd),
        torch.block_diag(torch.tensor([[1.0, 2]]), torch.tensor(3.0), torch.tensor([4.0, 5])).numpy(),
    )


def test_index_fill_and_index_copy_route_gradients():
    x = np.arange(12.0).reshape(3, 4)
    idx = fg.tensor(np.array([0, 2]))
    (gx, gs), w = _grad(lambda t, s: fg.index_copy(t, 0, idx, s), x, np.ones((2, 4)))
    np.testing.assert_array_equal(np.array(gx), w * np.array([[0.0], [1.0], [0.0]]))
    np.testing.assert_array_equal(np.array(gs), w[[0, 2]])
    (gx, gv), w = _grad(lambda t, v: t.index_fill(1, idx, v), x, np.array(7.0))
    np.testing.assert_array_equal(np.array(gx), w * np.array([0.0, 1.0, 0.0, 1.0]))
    assert float(np.array(gv)) == pytest.approx(w[:, [0, 2]].sum())


def test_pixel_shuffle_round_trips_and_matches_torch():
    x = np.random.default_rng(2).standard_normal((2, 8, 3, 5))
    y = F.pixel_shuffle(fg.tensor(x), 2)
    np.testing.assert_array_equal(np.array(y), torch.nn.functional.pixel_shuffle(torch.tensor(x), 2).numpy())
    np.testing.assert_array_equal(np.array(F.pixel_unshuffle(y, 2)), x)
    np.testing.assert_array_equal(
        np.array(F.channel_shuffle(fg.tensor(x), 4)),
        torch.nn.functional.channel_shuffle(torch.tensor(x), 4).numpy(),
    )


@pytest.mark.parametrize(
    "call, pattern",
    [
        (lambda: fg.hsplit(fg.zeros((2, 5)), 2), r"hsplit: dimension 1 of shape \(2, 5\)"),
        (lambda: fg.vsplit(fg.zeros(5), 1), r"vsplit: requires a tensor with at least 2 .*shape \(5,\)"),
        (lambda: fg.dsplit(fg.zeros((2, 3)), 1), r"dsplit: .*at least 3.*\(2, 3\)"),
        (lambda: fg.split_with_sizes(fg.zeros((4, 2)), [1, 2]), r"split_with_sizes: .*sum to 3.*\(4, 2\)"),
        (lambda: fg.broadcast_shapes((2, 3), (4,)), r"broadcast_shapes"),
        (lambda: fg.broadcast_tensors(fg.zeros((2, 3)), fg.zeros(4)), r"broadcast_tensors"),
        (lambda: fg.meshgrid(fg.zeros((2, 2))), r"meshgrid: .*0-d or 1-d.*\(2, 2\)"),
        (lambda: fg.cartesian_prod(fg.zeros((2, 2)), fg.zeros(2)), r"cartesian_prod: .*\(2, 2\)"),
        (lambda: fg.block_diag(fg.zeros((1, 2, 3))), r"block_diag: .*\(1, 2, 3\)"),
        (lambda: fg.zeros(5).unfold(0, 6, 1), r"unfold: size 6 .*\(5,\)"),
        (lambda: fg.zeros(5).unfold(0, 2, 0), r"unfold: step must be positive"),
        (
            lambda: fg.index_copy(fg.zeros((3, 4)), 0, fg.tensor(np.array([0])), fg.zeros((2, 4))),
            r"index_copy",
        ),
        (lambda: fg.zeros(3).mH, r"mH: .*\(3,\)"),
        (lambda: fg.zeros((2, 2, 2)).H, r"H: .*\(2, 2, 2\)"),
        (lambda: F.pixel_shuffle(fg.zeros((1, 3, 2, 2)), 2), r"pixel_shuffle: .*\(1, 3, 2, 2\)"),
        (lambda: F.pixel_unshuffle(fg.zeros((1, 1, 3, 4)), 2), r"pixel_unshuffle: .*\(1, 1, 3, 4\)"),
        (lambda: F.channel_shuffle(fg.zeros((1, 3, 2)), 2), r"channel_shuffle: .*\(1, 3, 2\)"),
        (lambda: fg.diff(fg.zeros(()), 1), r"diff: .*0-d"),
    ],
)
def test_wrong_shapes_raise_value_error_naming_the_op(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()


def test_select_and_unbind_out_of_range_are_index_errors():
    with pytest.raises(IndexError, match=r"select: index 5 .*\(2, 3\)"):
        fg.zeros((2, 3)).select(0, 5)
    with pytest.raises(IndexError, match="unbind"):
        fg.unbind(fg.zeros(()))


def test_copy_variants_do_not_alias_their_input():
    x = fg.tensor(np.arange(6.0).reshape(2, 3))
    for y in (
        x.transpose_copy(0, 1),
        x.unfold_copy(1, 2, 1),
        fg.alias_copy(x),
        x.unbind_copy(0)[0],
        x.t_copy(),
    ):
        y[...] = -1.0
    np.testing.assert_array_equal(np.array(x), np.arange(6.0).reshape(2, 3))
    assert fg.conj(x) is x and fg.real(x) is x and bool(fg.isreal(x).all())


def test_select_scatter_places_src_and_routes_gradients():
    x, src = np.zeros((3, 4)), np.arange(3.0)
    got = fg.select_scatter(fg.tensor(x), fg.tensor(src), 1, -1)
    want = torch.select_scatter(torch.tensor(x), torch.tensor(src), 1, -1)
    np.testing.assert_array_equal(np.array(got), want.numpy())
    (gx, gs), w = _grad(lambda t, s: fg.select_scatter(t, s, 1, 2), x, src)
    np.testing.assert_array_equal(np.array(gs), w[:, 2])
    np.testing.assert_array_equal(np.array(gx), w * np.array([1.0, 1.0, 0.0, 1.0]))
    with pytest.raises(ValueError, match=r"select_scatter: src of shape \(4,\) must have shape \(3,\)"):
        fg.select_scatter(fg.tensor(x), fg.zeros(4), 1, 0)
    with pytest.raises(ValueError, match=r"t_copy: .*\(2, 2, 2\)"):
        fg.t_copy(fg.zeros((2, 2, 2)))
