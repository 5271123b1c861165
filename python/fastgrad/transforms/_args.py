"""What every transform checks and flattens on the way in and out of ``f``.

The differentiated arguments (pytrees of tensors, numbers or arrays) become flat lists
of floating tensors and their aliases (:class:`Primals`); ``f``'s outputs must be
tensors, because a Python or NumPy value is off the graph and its derivative would
silently be zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Callable

import numpy as np

from .._tensor import tensor
from ..ops import Tensor
from ..pytree import PyTreeDef, tree_flatten
from ._levels import detached

OFF_GRAPH = (
    "a Python/NumPy value is not on the graph, so its derivative would silently be zero; return "
    "fastgrad ops of the inputs (or fg.tensor(...) for a genuine constant)"
)
_PLAIN = (bool, int, float, np.ndarray, np.number)


def to_tensor(x: Any, what: str) -> Tensor:
    """A differentiated leaf as a floating tensor of ``x``'s shape (numbers and arrays are
    converted); TypeError naming ``what`` for anything else or an integer/bool dtype."""
    if isinstance(x, Tensor):
        t = x
    elif isinstance(x, _PLAIN):
        t = tensor(x)
    else:
        raise TypeError(f"{what}: expected an fg.Tensor (or number/array), got {type(x).__name__}")
    if not t.dtype.is_floating_point:
        raise TypeError(
            f"{what}: only floating-point tensors can be differentiated, got dtype {t.dtype} "
            f"(shape {tuple(t.shape)}); cast it with .astype(fg.float32) or leave it out of argnums"
        )
    return t


def c_array(a: Any) -> np.ndarray:
    """A C-contiguous copy of ``a``, same shape (np.ascontiguousarray makes 0-d arrays 1-d)."""
    return np.array(a, order="C", copy=True)


def check_callable(f: Any, who: str) -> None:
    """TypeError naming the transform ``who`` unless ``f`` is callable."""
    if not callable(f):
        raise TypeError(f"{who}: f must be callable, got {type(f).__name__}")


def norm_argnums(argnums: Any, nargs: int, who: str) -> tuple[tuple[int, ...], bool]:
    """``(positions, single)``: ``argnums`` as non-negative positions into ``nargs``
    arguments, and whether it was a single int (one result) rather than a tuple."""
    single = not isinstance(argnums, (tuple, list))
    nums = (argnums,) if single else tuple(argnums)
    if not single and len(nums) == 0:
        raise ValueError(f"{who}: argnums must not be empty")
    out = []
    for a in nums:
        if isinstance(a, bool) or not isinstance(a, (int, np.integer)):
            raise TypeError(f"{who}: argnums must be an int or a tuple of ints, got {argnums!r}")
        a = int(a)
        if not -nargs <= a < nargs:
            raise ValueError(
                f"{who}: argnums {a} is out of range for a function called with {nargs} "
                f"positional argument{'s' if nargs != 1 else ''}"
            )
        out.append(a % nargs)
    if len(set(out)) != len(out):
        raise ValueError(f"{who}: argnums {argnums!r} repeats an argument")
    return tuple(out), single


def split_aux(res: Any, who: str) -> tuple[Any, Any]:
    """``(output, aux)`` from what a ``has_aux=True`` function returned."""
    if not (isinstance(res, (tuple, list)) and len(res) == 2):
        raise TypeError(
            f"{who}: with has_aux=True, f must return a pair (output, aux), got {type(res).__name__}"
        )
    return res[0], res[1]


def as_args(primals: Any, who: str, what: str) -> tuple[Any, ...]:
    """``primals`` (or ``tangents``) of ``jvp``/``hvp`` as a tuple, one entry per argument
    of ``f``; a bare tensor is one argument."""
    if isinstance(primals, Tensor):
        return (primals,)
    if not isinstance(primals, (tuple, list)):
        raise TypeError(
            f"{who}: {what} must be a tuple (or list) with one entry per argument of f, got "
            f"{type(primals).__name__}"
        )
    return tuple(primals)


def output_leaves(out: Any, who: str) -> tuple[list[Tensor], PyTreeDef]:
    """The tensors of ``f``'s output pytree (any shapes) and its structure."""
    if out is None:
        raise TypeError(f"{who}: f returned None; it must return a tensor (or a pytree of tensors)")
    leaves, td = tree_flatten(out)
    for i, o in enumerate(leaves):
        if not isinstance(o, Tensor):
            extra = f" ({OFF_GRAPH})" if isinstance(o, _PLAIN) else ""
            raise TypeError(
                f"{who}: f must return tensors (or a pytree of them); output leaf {i} is a "
                f"{type(o).__name__}{extra}"
            )
    return list(leaves), td


def check_scalar(out: Any, who: str) -> Tensor:
    """``out`` if it is a floating tensor with one element (any shape, e.g. () or (1, 1))."""
    if isinstance(out, (tuple, list, dict)):
        raise TypeError(
            f"{who}: f must return a scalar tensor, got a {type(out).__name__}"
            f"{' (did you mean has_aux=True?)' if isinstance(out, tuple) and len(out) == 2 else ''}; "
            "use fg.vjp or fg.jacrev for vector outputs"
        )
    if not isinstance(out, Tensor):
        extra = f" ({OFF_GRAPH})" if isinstance(out, _PLAIN) else ""
        raise TypeError(f"{who}: f must return a scalar tensor, got {type(out).__name__}{extra}")
    if out.numel() != 1:
        raise ValueError(
            f"{who}: f must return a scalar (a tensor with one element), got shape "
            f"{tuple(out.shape)}; use fg.vjp, fg.jacrev or fg.jacfwd for non-scalar outputs"
        )
    if not out.dtype.is_floating_point:
        raise TypeError(f"{who}: f must return a floating-point scalar, got dtype {out.dtype}")
    return out


def strip(tree: Any, keep_graph: bool) -> Any:
    """Returned primal values, same structure and shapes: detached (tangents kept) unless
    an outer transform needs the graph; the graph then dies with the transform instead
    of with the value."""
    if keep_graph:
        return tree
    leaves, td = tree_flatten(tree)
    return td.unflatten([detached(x) if isinstance(x, Tensor) and x.requires_grad else x for x in leaves])


class Primals:
    """The differentiated arguments of one call: flattened, converted, aliased.

    ``leaves`` are the caller's tensors (converted to floating tensors), ``aliases`` the
    same-shaped tensors ``f`` sees (``alias(leaf)``), ``bounds[k]`` the slice of both
    lists that belongs to ``argnums[k]``, and ``new_args`` the call's arguments with the
    aliases in place.
    """

    def __init__(
        self, args: Sequence[Any], argnums: tuple[int, ...], who: str, alias: Callable[[Tensor], Tensor]
    ) -> None:
        self.args = list(args)
        self.argnums = argnums
        self.treedefs: list[PyTreeDef] = []
        self.leaves: list[Tensor] = []
        self.aliases: list[Tensor] = []
        self.bounds: list[tuple[int, int]] = []
        new_args = list(args)
        for pos in argnums:
            raw, td = tree_flatten(args[pos])
            lv = [to_tensor(x, f"{who}: argument {pos}") for x in raw]
            start = len(self.leaves)
            al = [alias(x) for x in lv]
            self.leaves.extend(lv)
            self.aliases.extend(al)
            self.treedefs.append(td)
            self.bounds.append((start, len(self.leaves)))
            new_args[pos] = td.unflatten(al)
        self.new_args = new_args

    def per_arg(self, flat: Sequence[Any]) -> list[Any]:
        """Splits a per-leaf list into one pytree per differentiated argument."""
        return [td.unflatten(flat[a:b]) for td, (a, b) in zip(self.treedefs, self.bounds)]

    def call_args(self, leaves: Sequence[Any]) -> list[Any]:
        """The call's arguments with the differentiated ones rebuilt from ``leaves`` (one
        per leaf, in order)."""
        args = list(self.args)
        for k, pos in enumerate(self.argnums):
            a, b = self.bounds[k]
            args[pos] = self.treedefs[k].unflatten(leaves[a:b])
        return args
