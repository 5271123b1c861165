"""The Tensor's Python protocols that PyTorch code relies on: pickle, copy, deepcopy, and
the dtype class (python/fastgrad/_tensor.py, cpp/bindings/module.cpp)."""

import copy
import pickle

import numpy as np
import pytest

import fastgrad as fg
from fastgrad import nn

LAYOUTS = {
    "c": lambda a: fg.tensor(a),
    "transposed": lambda a: fg.tensor(a).T,
    "sliced": lambda a: fg.tensor(a)[::2],
}


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.bool_])
def test_pickle_round_trip_keeps_values_dtype_and_shape(layout, dtype):
    a = np.arange(12).reshape(4, 3).astype(dtype)
    t = LAYOUTS[layout](a)
    r = pickle.loads(pickle.dumps(t))
    assert r.dtype == t.dtype and r.shape == t.shape
    np.testing.assert_array_equal(r.numpy(), t.numpy())
    r.numpy()[...] = 0 if dtype is not np.bool_ else False  # a copy: the original is untouched
    np.testing.assert_array_equal(t.numpy(), LAYOUTS[layout](a).numpy())


def test_pickle_of_a_non_leaf_is_a_leaf_that_requires_grad():
    x = fg.randn(3, requires_grad=True)
    y = pickle.loads(pickle.dumps(x * 2))
    assert y.is_leaf and y.requires_grad and y.grad_fn is None
    np.testing.assert_allclose(y.numpy(), 2 * x.numpy())


def test_deepcopy_copies_values_and_grad_and_refuses_non_leaves():
    x = fg.randn(3, 2, dtype=fg.float64, requires_grad=True)
    (x * x).sum().backward()
    d = copy.deepcopy(x)
    assert d.is_leaf and d.requires_grad
    np.testing.assert_array_equal(d.numpy(), x.numpy())
    np.testing.assert_array_equal(d.grad.numpy(), 2 * x.numpy())
    d.numpy()[0, 0] = 7.0
    assert x.numpy()[0, 0] != 7.0
    with pytest.raises(RuntimeError, match=r"deepcopy: only graph leaves.*\(3, 2\)"):
        copy.deepcopy(x * 2)


def test_copy_shares_storage_as_torch():
    x = fg.zeros(3, requires_grad=True)
    c = copy.copy(x)
    c.data[0] = 5.0
    assert x.numpy()[0] == 5.0 and c.requires_grad and c.is_leaf


def test_module_pickle_and_deepcopy_keep_parameters_and_ties():
    shared = nn.Linear(3, 3)
    m = nn.Sequential(shared, nn.ReLU(), shared)
    x = fg.randn(2, 3)
    for clone in (pickle.loads(pickle.dumps(m)), copy.deepcopy(m)):
        assert isinstance(clone[0].weight, nn.Parameter)
        assert clone[0].weight is clone[2].weight, "a tied weight stays tied"
        assert clone[0].weight is not shared.weight
        np.testing.assert_array_equal(clone(x).numpy(), m(x).numpy())
        assert [n for n, _ in clone.named_parameters()] == [n for n, _ in m.named_parameters()]
        clone(x).sum().backward()  # trains on its own parameters
        assert clone[0].weight.grad is not None and shared.weight.grad is None


def test_parameter_subclass_attributes_survive_pickle():
    p = nn.Parameter(fg.ones(2))
    p.tag = "w"
    q = pickle.loads(pickle.dumps(p))
    assert type(q) is nn.Parameter and q.tag == "w" and q.requires_grad


@pytest.mark.parametrize(
    "spelling, want",
    [("float32", fg.float32), (np.float64, fg.float64), (np.dtype("int64"), fg.int64), (fg.bool, fg.bool)],
)
def test_dtype_constructor_converts_names_and_numpy_dtypes(spelling, want):
    assert fg.dtype(spelling) == want


@pytest.mark.parametrize("args", [(), (None,), ("complex64",), (object(),), ("float32", "float64")])
def test_dtype_constructor_refuses_with_a_clear_message(args):
    with pytest.raises(TypeError, match=r"^dtype\(\): "):
        fg.dtype(*args)


def test_dtype_repr_and_str_as_torch():
    assert repr(fg.float32) == str(fg.float32) == "fastgrad.float32"
    assert f"{fg.int64}" == "fastgrad.int64"
