"""x[key] and x[key] = value (bound in C++, cpp/src/ops/index.cpp): values against NumPy,
gradients against torch, over a table of keys of every kind."""

import numpy as np
import pytest
import torch

import fastgrad as fg

SHAPE = (4, 5, 6)
A = np.arange(np.prod(SHAPE), dtype=np.float64).reshape(SHAPE) / 7.0
MASK2 = (A[:, :, 0] * 7).astype(np.int64) % 3 == 0


def _idx(*v):
    return np.array(v, dtype=np.int64)


# (key as fastgrad sees it, the same key for NumPy and torch)
KEYS = [
    1,
    -1,
    np.int64(2),
    (1, 2),
    (-4, -5, -6),
    slice(1, 3),
    slice(None, None, 2),
    slice(-3, None),
    slice(5, 1),
    slice(-100, 100),
    (slice(None), slice(1, 4, 2), 3),
    None,
    (None, 0, None),
    Ellipsis,
    (Ellipsis, 1),
    (0, Ellipsis, slice(2, 5)),
    (Ellipsis, None),
    [0, 2, 3],
    [-1, 0, -1],
    _idx(3, 1),
    (slice(None), _idx(0, 4, 4)),
    (_idx(0, 1), _idx(2, 3)),
    (_idx(0, 1)[:, None], _idx(2, 3, 4)),
    (slice(None), _idx(1, 2), _idx(0, 5)),
    (_idx(0, 3), slice(None), _idx(1, 2)),
    (_idx(1, 2), 0, slice(None)),
    np.array([True, False, True, True]),
    [True, False, False, True],
    MASK2,
    (slice(1, 3), np.array([True, False, True, False, True])),
    (np.array([True, False, True, False]), _idx(1, 4)),
    (Ellipsis, np.array([False] * 6)),
    np.zeros(0, dtype=np.int64),
    np.array(True),
]


def _fg_key(k, as_tensor):
    """The key with its arrays as fg Tensors (as_tensor) or as given (NumPy / lists)."""
    if isinstance(k, tuple):
        return tuple(_fg_key(i, as_tensor) for i in k)
    if as_tensor and isinstance(k, np.ndarray):
        return fg.tensor(k)
    return k


def _torch_key(k):
    if isinstance(k, tuple):
        return tuple(_torch_key(i) for i in k)
    if isinstance(k, (np.ndarray, list)):
        return torch.tensor(np.asarray(k))
    if isinstance(k, np.integer):
        return int(k)
    return k


@pytest.mark.parametrize("as_tensor", [False, True])
@pytest.mark.parametrize("key", KEYS, ids=repr)
def test_getitem_values_match_numpy(key, as_tensor):
    x = fg.tensor(A)
    np.testing.assert_array_equal(np.asarray(x[_fg_key(key, as_tensor)]), A[key])


@pytest.mark.parametrize("key", KEYS, ids=repr)
def test_getitem_gradient_matches_torch(key):
    x = fg.tensor(A, dtype=fg.float64, requires_grad=True)
    xt = torch.tensor(A, requires_grad=True)
    y, yt = x[_fg_key(key, True)], xt[_torch_key(key)]
    assert tuple(y.shape) == tuple(yt.shape)
    w = np.cos(np.arange(yt.numel(), dtype=np.float64)).reshape(tuple(yt.shape))
    (y * fg.tensor(w)).sum().backward()
    (yt * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(np.asarray(x.grad), xt.grad.numpy(), rtol=1e-12, atol=0)


# Keys without repeated positions (torch's index_put_ leaves the winner of a repeat unspecified).
def _no_repeats(k):
    pos = np.arange(A.size).reshape(SHAPE)[k]
    return np.unique(pos).size == np.size(pos)


SET_KEYS = [k for k in KEYS if _no_repeats(k)]


@pytest.mark.parametrize("key", SET_KEYS, ids=repr)
def test_setitem_values_match_numpy(key):
    x = fg.tensor(A)
    ref = A.copy()
    v = -np.arange(ref[key].size, dtype=np.float64).reshape(ref[key].shape)
    x[_fg_key(key, True)] = fg.tensor(v)
    ref[key] = v
    np.testing.assert_array_equal(np.asarray(x), ref)
    y = fg.tensor(A)
    y[_fg_key(key, False)] = 2.5  # a number broadcasts
    ref2 = A.copy()
    ref2[key] = 2.5
    np.testing.assert_array_equal(np.asarray(y), ref2)


@pytest.mark.parametrize("key", SET_KEYS, ids=repr)
def test_setitem_into_non_leaf_gradient_matches_torch(key):
    vshape = A[key].shape
    v0 = np.sin(np.arange(int(np.prod(vshape)), dtype=np.float64)).reshape(vshape)
    x = fg.tensor(A, dtype=fg.float64, requires_grad=True)
    v = fg.tensor(v0, dtype=fg.float64, requires_grad=True)
    xt, vt = torch.tensor(A, requires_grad=True), torch.tensor(v0, requires_grad=True)
    y, yt = x * 2.0, xt * 2.0
    v_before = y._version
    y[_fg_key(key, True)] = v * 3.0
    yt[_torch_key(key)] = vt * 3.0
    assert y._version > v_before
    w = np.cos(np.arange(A.size, dtype=np.float64)).reshape(SHAPE)
    (y * fg.tensor(w)).sum().backward()
    (yt * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(np.asarray(y.detach()), yt.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(np.asarray(x.grad), xt.grad.numpy(), rtol=1e-12, atol=0)
    np.testing.assert_allclose(np.asarray(v.grad), vt.grad.numpy(), rtol=1e-12, atol=0)


def test_setitem_repeated_positions_last_write_wins():
    x = fg.zeros(4)
    x[[1, 1, 2]] = fg.tensor([5.0, 6.0, 7.0])
    np.testing.assert_array_equal(np.asarray(x), [0, 6, 7, 0])


def test_setitem_negative_step_and_cast():
    x = fg.zeros(5, dtype=fg.int64)
    x[::-2] = 1.9  # a float into int64 is truncated, as NumPy
    np.testing.assert_array_equal(np.asarray(x), [1, 0, 1, 0, 1])
    x[1] = fg.tensor([float("nan")])[0]  # fastgrad's cast: NaN -> 0
    assert x[1].item() == 0


def test_setitem_into_a_view_writes_the_base():
    base = fg.zeros(3, 4)
    view = base[1:, ::2]
    view[0, 1] = 9.0
    assert base[1, 2].item() == 9.0


def test_zero_d_int_tensor_acts_as_an_int():
    x = fg.tensor(A)
    np.testing.assert_array_equal(np.asarray(x[fg.tensor(2)]), A[2])
    np.testing.assert_array_equal(np.asarray(x[fg.tensor(-1), 1:3]), A[-1, 1:3])


@pytest.mark.parametrize(
    "key, exc, match",
    [
        (4, IndexError, "index 4 is out of bounds for axis 0 with size 4"),
        ((0, -6), IndexError, "index -6 is out of bounds for axis . with size 5"),
        ((0, 0, 0, 0), IndexError, "too many indices for tensor of shape \\(4, 5, 6\\): 4 given"),
        ((Ellipsis, Ellipsis), IndexError, "single ellipsis"),
        (slice(None, None, -1), IndexError, "negative slice steps are not supported"),
        (slice(None, None, 0), ValueError, "slice step cannot be zero"),
        (1.5, IndexError, "unsupported index type float"),
        ("a", IndexError, "unsupported index type str"),
        (np.array([0.5]), IndexError, "arrays used as indices must be integer or bool"),
        (fg.tensor([0.5]), IndexError, "tensors used as indices must be int64 or bool"),
        (np.array([4]), IndexError, "index out of bounds for axis 0 with size 4"),
        ((_idx(0, 1), _idx(0, 1, 2)), IndexError, "shape mismatch"),
        (np.array([True, False]), IndexError, "boolean index of shape \\(2,\\) does not match"),
        ((MASK2, _idx(0)), IndexError, "mixing boolean masks"),
    ],
)
def test_bad_keys(key, exc, match):
    x = fg.tensor(A)
    with pytest.raises(exc, match=match):
        x[key]


def test_indexing_is_bound_in_cpp_not_patched():
    # The methods are the extension's own (no Python function assigned onto the class).
    assert type(fg.Tensor.__dict__["__getitem__"]).__name__ == "instancemethod" or not hasattr(
        fg.Tensor.__getitem__, "__code__"
    )
    assert not hasattr(fg.Tensor.__setitem__, "__code__")
