"""Tensors: construction, attributes, factories and seeding, views, indexing (values
and scatter-add gradients), in-place updates."""

from __future__ import annotations

import numpy as np
import pytest

import fastgrad as fg


def test_construction_and_attributes():
    t = fg.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert (
        t.dtype == fg.float32 and t.shape == (2, 3) and t.ndim == 2 and t.size() == (2, 3) and t.numel() == 6
    )
    assert len(t) == 2 and t.is_contiguous() and t.requires_grad is False and t.grad is None
    assert t.tolist() == [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    assert fg.tensor(3.5).item() == 3.5 and fg.tensor(3.5).shape == ()
    assert fg.tensor(np.arange(3.0)).dtype == fg.float64  # NumPy float64 stays float64
    assert fg.tensor([1, 2]).dtype == fg.int64
    assert fg.tensor([True]).dtype == fg.bool
    assert fg.tensor([1, 2], dtype=fg.float64).dtype == fg.float64
    assert fg.tensor(np.arange(3, dtype=np.int32)).dtype == fg.int64
    with pytest.raises(ValueError, match="item"):
        t.item()
    with pytest.raises((TypeError, ValueError)):
        fg.tensor([[1.0], [2.0, 3.0]])
    r = fg.tensor([1.0, 2.0], requires_grad=True)
    assert r.requires_grad and r.is_leaf


def test_tensor_copies_and_astype():
    a = np.arange(6.0).reshape(2, 3)
    t = fg.tensor(a)
    a[0, 0] = 100
    assert t.tolist()[0][0] == 0.0
    t2 = fg.tensor(t)
    assert t2._data_ptr != t._data_ptr
    np.testing.assert_array_equal(np.asarray(t.astype(fg.int64)), np.arange(6).reshape(2, 3))
    np.testing.assert_array_equal(np.asarray(fg.tensor([1.7, -1.7]).astype(fg.int64)), [1, -1])
    assert t.float().dtype == fg.float32 and t.double().dtype == fg.float64 and t.long().dtype == fg.int64


def test_factories():
    np.testing.assert_array_equal(np.asarray(fg.zeros(2, 3)), np.zeros((2, 3)))
    np.testing.assert_array_equal(np.asarray(fg.ones((2, 3), dtype=fg.float64)), np.ones((2, 3)))
    np.testing.assert_array_equal(np.asarray(fg.full((2,), 7.5)), [7.5, 7.5])
    np.testing.assert_array_equal(np.asarray(fg.arange(5)), np.arange(5))
    assert fg.arange(5).dtype == fg.int64 and fg.arange(0.0, 1.0, 0.25).dtype == fg.float32
    np.testing.assert_allclose(np.asarray(fg.arange(0.0, 1.0, 0.25)), [0, 0.25, 0.5, 0.75])
    np.testing.assert_allclose(np.asarray(fg.arange(5, 0, -2)), [5, 3, 1])
    np.testing.assert_allclose(np.asarray(fg.linspace(0, 1, 5)), np.linspace(0, 1, 5))
    np.testing.assert_array_equal(np.asarray(fg.eye(3)), np.eye(3))
    np.testing.assert_array_equal(np.asarray(fg.eye(2, 3)), np.eye(2, 3))
    x = fg.ones(2, 3, dtype=fg.float64)
    for f in (fg.zeros_like, fg.ones_like, fg.randn_like):
        y = f(x)
        assert y.shape == (2, 3) and y.dtype == fg.float64
    assert fg.zeros(3, requires_grad=True).requires_grad
    assert fg.zeros(0, 3).shape == (0, 3)


def test_random_factories_and_seed():
    fg.manual_seed(42)
    a, b, c = fg.randn(1000), fg.rand(1000), fg.randint(0, 10, (1000,))
    p = fg.randperm(20)
    fg.manual_seed(42)
    np.testing.assert_array_equal(np.asarray(fg.randn(1000)), np.asarray(a))
    np.testing.assert_array_equal(np.asarray(fg.rand(1000)), np.asarray(b))
    np.testing.assert_array_equal(np.asarray(fg.randint(0, 10, (1000,))), np.asarray(c))
    np.testing.assert_array_equal(np.asarray(fg.randperm(20)), np.asarray(p))
    assert not np.array_equal(np.asarray(fg.randn(1000)), np.asarray(a))
    A, B, Cc = np.asarray(a), np.asarray(b), np.asarray(c)
    assert abs(A.mean()) < 0.15 and 0.85 < A.std() < 1.15
    assert B.min() >= 0 and B.max() < 1 and abs(B.mean() - 0.5) < 0.05
    assert Cc.min() == 0 and Cc.max() == 9 and c.dtype == fg.int64
    assert sorted(np.asarray(p).tolist()) == list(range(20))
    assert fg.randn(3, dtype=fg.float64).dtype == fg.float64


def test_views_and_strides():
    x = fg.tensor(np.arange(24.0).reshape(2, 3, 4))
    assert x._strides == (12, 4, 1)
    t = x.transpose(0, 2)
    assert t._strides == (1, 4, 12) and not t.is_contiguous() and t._data_ptr == x._data_ptr
    s = x[:, 1:, ::2]
    assert s._strides == (12, 4, 2) and s._offset == 4 and not s.is_contiguous()
    np.testing.assert_array_equal(np.asarray(s), np.arange(24.0).reshape(2, 3, 4)[:, 1:, ::2])
    c = t.contiguous()
    assert c.is_contiguous() and c._data_ptr != x._data_ptr
    np.testing.assert_array_equal(np.asarray(c), np.arange(24.0).reshape(2, 3, 4).transpose(2, 1, 0))
    e = fg.tensor([1.0, 2.0]).broadcast_to((3, 2))
    assert e._strides == (0, 1)


# ------------------------------------------------------------------ indexing
A = np.arange(60.0).reshape(3, 4, 5)
KEYS = [
    1,
    -1,
    (1, 2),
    (slice(None), 1),
    (slice(1, None), slice(None, None, 2)),
    (Ellipsis, 2),
    (None, 1),
    (slice(None), None, slice(1, 3)),
    (Ellipsis, None),
    (1, Ellipsis, slice(0, 5, 3)),
    slice(5, 10),
    (0, 0, 0),
    np.array([2, 0, 2]),
    [0, -1],
    (slice(None), np.array([3, 3, 0])),
    (np.array([0, 2]), np.array([1, 3])),
    (np.array([[0, 1], [2, 2]]), slice(None), 4),
    A[..., 0] > 20,
    A > 30,
    (1, A[1, :, 0] > 25),
    (slice(None), [True, False, True, False]),
]


@pytest.mark.parametrize("key", KEYS, ids=[str(i) for i in range(len(KEYS))])
def test_getitem_matches_numpy(key):
    x = fg.tensor(A)
    got = x[key]
    np.testing.assert_array_equal(np.asarray(got), A[key])
    assert got.shape == A[key].shape


@pytest.mark.parametrize("key", KEYS, ids=[str(i) for i in range(len(KEYS))])
def test_getitem_gradient_is_scatter_add(key, rng):
    x = fg.tensor(A.copy(), requires_grad=True)
    y = x[key]
    w = rng.standard_normal(y.shape)
    fg.sum(y * fg.tensor(w)).backward()
    want = np.zeros_like(A)
    np.add.at(want, key, w)  # duplicate indices accumulate
    np.testing.assert_allclose(np.asarray(x.grad), want, rtol=1e-14)


def test_duplicate_indices_accumulate():
    x = fg.tensor(np.zeros(4), requires_grad=True)
    fg.sum(x[[1, 1, 1, 3]]).backward()
    np.testing.assert_array_equal(np.asarray(x.grad), [0, 3, 0, 1])


def test_index_errors():
    x = fg.ones(3, 4)
    with pytest.raises(IndexError, match=r"out of bounds.*\(3, 4\)"):
        x[3]
    with pytest.raises(IndexError, match="too many indices"):
        x[0, 0, 0]
    with pytest.raises(IndexError, match="out of bounds"):
        x[[0, 5]]
    with pytest.raises(IndexError, match="boolean index"):
        x[np.array([True, False])]


def test_setitem_and_inplace_ops():
    x = fg.tensor(np.zeros((2, 3)))
    v0 = x._version
    x[0, 1] = 5.0
    x[1] = fg.tensor(np.array([1.0, 2.0, 3.0]))
    x[:, 2] = 9
    assert x._version > v0
    np.testing.assert_array_equal(np.asarray(x), [[0, 5, 9], [1, 2, 9]])
    x.add_(1.0).mul_(2.0)
    np.testing.assert_array_equal(np.asarray(x), [[2, 12, 20], [4, 6, 20]])
    x.sub_(fg.tensor(np.array([2.0, 2.0, 2.0]))).div_(2.0)
    np.testing.assert_array_equal(np.asarray(x), [[0, 5, 9], [1, 2, 9]])
    x.zero_()
    assert not np.asarray(x).any()
    x.fill_(3)
    np.testing.assert_array_equal(np.asarray(x), np.full((2, 3), 3.0))
    x.copy_(fg.tensor(np.array([1.0, 2.0, 3.0])))  # broadcasting copy
    np.testing.assert_array_equal(np.asarray(x), [[1, 2, 3], [1, 2, 3]])
    t = x.T
    t.copy_(fg.tensor(np.arange(6.0).reshape(3, 2)))  # strided destination
    np.testing.assert_array_equal(np.asarray(x), np.arange(6.0).reshape(3, 2).T)
    with pytest.raises(ValueError, match=r"\(2, 3\)"):
        x.add_(fg.ones(4, 2, 3, dtype=fg.float64))


def test_repr_and_scalars():
    assert "tensor(" in repr(fg.tensor([1.0, 2.0]))
    assert "requires_grad=True" in repr(fg.tensor([1.0], requires_grad=True))
    assert float(fg.tensor(2.5)) == 2.5 and int(fg.tensor(3)) == 3 and bool(fg.tensor(1.0))
    assert [float(v) for v in fg.tensor([1.0, 2.0])] == [1.0, 2.0]
    assert list(range(10))[fg.tensor(3)] == 3


def test_numpy_scalars_keep_their_dtype_as_torch():
    # np.float64(x) is a 0-d NumPy value, not a Python float: float64, as torch.tensor gives
    assert fg.tensor(np.float64(1.5)).dtype == fg.float64
    assert fg.tensor(np.float32(1.5)).dtype == fg.float32
    assert fg.tensor(1.5).dtype == fg.float32
