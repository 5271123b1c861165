"""Pytree flatten/unflatten/tree_map/tree_ravel (issue 5, item 1)."""

from __future__ import annotations

from collections import namedtuple

import numpy as np
import pytest

import fastgrad as fg
from fastgrad.pytree import (
    PyTreeDef,
    flatten,
    tree_flatten,
    tree_leaves,
    tree_map,
    tree_ravel,
    tree_structure,
    tree_unflatten,
    unflatten,
)


def test_leaf_order_is_depth_first_with_sorted_dict_keys():
    tree = {"w": [1, (2, 3)], "b": 4, "a": {"z": 5, "y": None, "x": 6}}
    leaves, td = tree_flatten(tree)
    # a -> {x, y(None), z}, then b, then w
    assert leaves == [6, 5, 4, 1, 2, 3]
    assert td.num_leaves == 6
    back = tree_unflatten(td, leaves)
    assert back == tree
    assert list(back.keys()) == ["a", "b", "w"]  # rebuilt dicts have sorted keys


def test_insertion_order_does_not_matter():
    a = {"w": 1, "b": 2}
    b = {"b": 2, "w": 1}
    assert tree_flatten(a) == tree_flatten(b)
    assert tree_structure(a) == tree_structure(b)
    assert hash(tree_structure(a)) == hash(tree_structure(b))


def test_none_is_an_empty_node():
    leaves, td = tree_flatten((None, 1, [None]))
    assert leaves == [1]
    assert td.unflatten([7]) == (None, 7, [None])
    assert tree_flatten(None)[0] == []
    assert tree_unflatten(tree_structure(None), []) is None


def test_tuple_list_and_namedtuple_kinds_are_kept():
    P = namedtuple("P", ["w", "b"])
    tree = (P(1, 2), [3], (4,))
    leaves, td = flatten(tree)
    back = unflatten(td, [10, 20, 30, 40])
    assert isinstance(back[0], P) and back[0].w == 10 and back[0].b == 20
    assert isinstance(back[1], list) and back[1] == [30]
    assert isinstance(back[2], tuple) and back[2] == (40,)
    assert tree_structure([1, 2]) != tree_structure((1, 2))
    assert repr(td) == "(P(*, *), [*], (*,))"


def test_tensor_leaves():
    x = fg.tensor([1.0, 2.0])
    y = fg.zeros(2, 3)
    leaves, td = tree_flatten({"x": x, "y": [y]})
    assert leaves[0] is x and leaves[1] is y
    assert td == tree_structure({"x": 0, "y": [0]})


def test_tree_map_single_and_multiple_trees():
    a = {"p": fg.tensor([1.0, 2.0]), "q": (fg.tensor(3.0),)}
    b = {"p": fg.tensor([10.0, 20.0]), "q": (fg.tensor(30.0),)}
    s = tree_map(lambda u, v: u + v, a, b)
    np.testing.assert_allclose(s["p"].numpy(), [11.0, 22.0])
    np.testing.assert_allclose(s["q"][0].numpy(), 33.0)
    d = tree_map(lambda u: u * 2.0, a)
    np.testing.assert_allclose(d["p"].numpy(), [2.0, 4.0])
    assert tree_leaves(tree_map(lambda u: None, [1, 2])) == []


def test_tree_map_structure_mismatch():
    with pytest.raises(ValueError, match="structure"):
        tree_map(lambda u, v: u, {"a": 1}, {"b": 1})
    with pytest.raises(ValueError, match="structure"):
        tree_map(lambda u, v: u, (1, 2), [1, 2])


def test_unflatten_wrong_leaf_count():
    td = tree_structure((1, 2))
    with pytest.raises(ValueError, match="2 leaves"):
        td.unflatten([1])


def test_unsortable_keys():
    with pytest.raises(TypeError, match="sortable"):
        tree_flatten({1: "a", "b": 2})


def test_tree_ravel_row_major_and_unravel():
    X = fg.tensor(np.arange(6.0).reshape(2, 3))
    th = fg.tensor(np.array([10.0, 11.0]))
    vec, unravel = tree_ravel({"X": X, "theta": th})
    np.testing.assert_array_equal(vec.numpy(), [0, 1, 2, 3, 4, 5, 10, 11])
    back = unravel(vec * 2.0)
    assert back["X"].shape == (2, 3)
    np.testing.assert_array_equal(back["X"].numpy(), 2 * np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(back["theta"].numpy(), [20.0, 22.0])
    with pytest.raises(ValueError, match="size 8"):
        unravel(fg.zeros(3))


def test_tree_ravel_is_differentiable():
    X = fg.tensor(np.arange(4.0).reshape(2, 2), requires_grad=True)
    vec, _ = tree_ravel((X,))
    fg.sum(vec * vec).backward()
    np.testing.assert_allclose(X.grad.numpy(), 2 * np.arange(4.0).reshape(2, 2))


def test_pytreedef_equality_and_type():
    assert isinstance(tree_structure([1]), PyTreeDef)
    assert tree_structure({"a": (1, None)}) == tree_structure({"a": (5, None)})
    assert tree_structure({"a": (1, None)}) != tree_structure({"a": (1, 2)})
