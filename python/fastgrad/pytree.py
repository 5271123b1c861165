"""Pytrees: nested tuples, lists and dicts whose leaves are tensors.

The function transforms (``fg.grad``, ``fg.jvp``, ``fg.jacrev``, ...) accept and return
pytrees, as in JAX. A pytree is

* a ``tuple`` (namedtuples keep their type), ``list`` or ``dict`` of pytrees,
* ``None``, an empty node: it holds no leaf and comes back as ``None``,
* anything else, a *leaf* (normally an ``fg.Tensor``; the transforms turn numbers and
  NumPy arrays in differentiated positions into tensors).

Leaf order (the "documented order" used wherever a pytree is flattened into one
vector, e.g. ``fg.jacobian(..., flatten=True)`` or ``fg.sharp``): depth first, tuples and
lists in index order, dicts in **sorted key order** (so ``{"w": .., "b": ..}`` visits
``"b"`` first, whatever the insertion order). Rebuilt dicts have sorted keys too.
``tree_ravel`` concatenates the row-major ``vec`` of every leaf in that order
(cheat sheet §2.3: ``[vec(X), vec(θ)]``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Callable

import numpy as np

from .ops import Tensor

__all__ = [
    "PyTreeDef",
    "tree_flatten",
    "tree_unflatten",
    "tree_leaves",
    "tree_structure",
    "tree_map",
    "tree_ravel",
    "flatten",
    "unflatten",
]


def _is_namedtuple(x: Any) -> bool:
    return isinstance(x, tuple) and hasattr(type(x), "_fields")


def _sorted_keys(d: dict) -> list:
    try:
        return sorted(d)
    except TypeError as e:
        raise TypeError(f"pytree dict keys must be mutually sortable; got keys {list(d)!r}") from e


class PyTreeDef:
    """The structure of a pytree with its leaves taken out.

    ``kind`` is one of "leaf", "none", "tuple", "namedtuple", "list", "dict"; ``meta`` holds
    the namedtuple type or the sorted dict keys; ``children`` the sub-structures.
    """

    __slots__ = ("kind", "meta", "children", "num_leaves")

    def __init__(self, kind: str, meta: Any = None, children: tuple = ()) -> None:
        self.kind = kind
        self.meta = meta
        self.children = tuple(children)
        if kind == "leaf":
            self.num_leaves = 1
        else:
            n = 0
            for c in self.children:
                n += c.num_leaves
            self.num_leaves = n

    def unflatten(self, leaves: Sequence[Any]) -> Any:
        """The tree of this structure with ``leaves`` (in flatten order) at its leaves."""
        if self.kind == "leaf" and len(leaves) == 1:  # the common single-tensor case
            return leaves[0]
        leaves = list(leaves)
        if len(leaves) != self.num_leaves:
            raise ValueError(f"unflatten: structure {self} has {self.num_leaves} leaves, got {len(leaves)}")
        it = iter(leaves)
        return self._build(it)

    def _build(self, it) -> Any:
        k = self.kind
        if k == "leaf":
            return next(it)
        if k == "none":
            return None
        kids = [c._build(it) for c in self.children]
        if k == "tuple":
            return tuple(kids)
        if k == "namedtuple":
            return self.meta(*kids)
        if k == "list":
            return kids
        return dict(zip(self.meta, kids))

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, PyTreeDef)
            and self.kind == other.kind
            and self.meta == other.meta
            and self.children == other.children
        )

    def __hash__(self) -> int:
        meta = tuple(self.meta) if isinstance(self.meta, list) else self.meta
        return hash((self.kind, meta, self.children))

    def __repr__(self) -> str:
        k = self.kind
        if k == "leaf":
            return "*"
        if k == "none":
            return "None"
        inner = ", ".join(repr(c) for c in self.children)
        if k == "tuple":
            return f"({inner}{',' if len(self.children) == 1 else ''})"
        if k == "namedtuple":
            return f"{self.meta.__name__}({inner})"
        if k == "list":
            return f"[{inner}]"
        return "{" + ", ".join(f"{key!r}: {c!r}" for key, c in zip(self.meta, self.children)) + "}"


_LEAF = PyTreeDef("leaf")
_NONE = PyTreeDef("none")


def _flatten(tree: Any, leaves: list) -> PyTreeDef:
    # Tensors first: most nodes are leaves (transforms flatten their arguments every call).
    if isinstance(tree, Tensor):
        leaves.append(tree)
        return _LEAF
    if tree is None:
        return _NONE
    if isinstance(tree, (tuple, list)):
        kids = tuple([_flatten(c, leaves) for c in tree])
        if isinstance(tree, list):
            return PyTreeDef("list", None, kids)
        if _is_namedtuple(tree):
            return PyTreeDef("namedtuple", type(tree), kids)
        return PyTreeDef("tuple", None, kids)
    if isinstance(tree, dict):
        keys = _sorted_keys(tree)
        kids = tuple([_flatten(tree[k], leaves) for k in keys])
        return PyTreeDef("dict", keys, kids)
    leaves.append(tree)
    return _LEAF


def tree_flatten(tree: Any) -> tuple[list, PyTreeDef]:
    """Returns ``(leaves, treedef)``; leaves in the documented order (dict keys sorted)."""
    if isinstance(tree, Tensor):
        return [tree], _LEAF
    leaves: list = []
    return leaves, _flatten(tree, leaves)


def tree_unflatten(treedef: PyTreeDef, leaves: Sequence[Any]) -> Any:
    """Inverse of :func:`tree_flatten`."""
    if not isinstance(treedef, PyTreeDef):
        raise TypeError(
            f"tree_unflatten: treedef must be a PyTreeDef (from tree_flatten), got {type(treedef).__name__}"
        )
    return treedef.unflatten(leaves)


def tree_leaves(tree: Any) -> list:
    """The leaves of ``tree`` in flatten order (depth first, dict keys sorted)."""
    return tree_flatten(tree)[0]


def tree_structure(tree: Any) -> PyTreeDef:
    """The structure of ``tree`` without its leaves."""
    return tree_flatten(tree)[1]


# Names used in the task description / API text.
flatten = tree_flatten


def unflatten(treedef: PyTreeDef, leaves: Sequence[Any]) -> Any:
    """``treedef.unflatten(leaves)``: the inverse of ``tree_flatten``."""
    return treedef.unflatten(leaves)


def tree_map(f: Callable, tree: Any, *rest: Any) -> Any:
    """Applies ``f`` leafwise; ``rest`` must have the same structure as ``tree``."""
    leaves, td = tree_flatten(tree)
    others = []
    for i, r in enumerate(rest):
        rl, rtd = tree_flatten(r)
        if rtd != td:
            raise ValueError(f"tree_map: argument {i + 1} has structure {rtd}, expected {td}")
        others.append(rl)
    return td.unflatten([f(*xs) for xs in zip(leaves, *others)])


def tree_ravel(tree: Any) -> tuple[Tensor, Callable[[Tensor], Any]]:
    """Concatenates the row-major ``vec`` of every tensor leaf (documented order).

    Returns ``(vector, unravel)`` where ``unravel(v)`` rebuilds a pytree of tensors with
    the original shapes. The vector uses fastgrad ops, so it stays differentiable.
    """
    from . import ops

    leaves, td = tree_flatten(tree)
    shapes = []
    flat = []
    for x in leaves:
        if not isinstance(x, Tensor):
            raise TypeError(f"tree_ravel: leaves must be fg.Tensor, got {type(x).__name__}")
        shapes.append(tuple(x.shape))
        flat.append(ops.reshape(x, [-1]) if x.ndim != 1 else x)
    sizes = [int(np.prod(s, dtype=np.int64)) for s in shapes]
    if not flat:
        raise ValueError("tree_ravel: the pytree has no leaves")
    vec = flat[0] if len(flat) == 1 else ops.concat(flat, 0)

    def unravel(v: Tensor) -> Any:
        if tuple(v.shape) != (sum(sizes),):
            raise ValueError(f"unravel: expected a vector of size {sum(sizes)}, got shape {tuple(v.shape)}")
        parts = [v] if len(sizes) == 1 else ops.split(v, sizes, 0)
        return td.unflatten([ops.reshape(p, list(s)) for p, s in zip(parts, shapes)])

    return vec, unravel
