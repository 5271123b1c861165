"""``vmap``: map a function over an axis of its arguments, batched (JAX / torch.func).

Every mapped argument becomes a *batched tensor* inside ``f``: it has the per-example
shape and points at the caller's tensor (the physical value). Each primitive applied to a
batched tensor runs its batching rule (``Primitive::vmap`` in C++, beside its VJP and JVP
rules): the same kernels on the whole batch at once, never a loop over it. The tape and
forward tangents are recorded on the per-example tensors, so ``vmap`` composes with
``grad``, ``vjp``, ``jvp``, ``jacrev``, ``jacfwd`` and with itself in any order.

A tensor ``f`` closes over (not mapped) is the same for every example; its gradient from a
``grad`` taken outside the ``vmap`` is the sum over the batch, as for a broadcast operand.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any, Callable, Optional

import numpy as np

from .. import ops
from .._batching import vmap_state
from .._tensor import tensor
from ..ops import Tensor
from ..pytree import PyTreeDef, tree_flatten
from ._args import check_callable

_RANDOMNESS = ("error", "different", "same")


def _broadcast_prefix(axes: Any, tree: Any, who: str) -> list[Any]:
    """One axis (int or None) per leaf of ``tree``: ``axes`` is an int/None for the whole
    tree or a pytree prefix of it (JAX's in_axes/out_axes rule)."""
    if axes is None or isinstance(axes, int):
        return [axes] * len(tree_flatten(tree)[0])
    if isinstance(axes, (tuple, list)) and isinstance(tree, (tuple, list)):
        if len(axes) != len(tree):
            raise ValueError(
                f"vmap: {who} has {len(axes)} entries but the value has {len(tree)} (shapes must match "
                f"as pytree prefixes)"
            )
        out: list[Any] = []
        for a, t in zip(axes, tree):
            out.extend(_broadcast_prefix(a, t, who))
        return out
    if isinstance(axes, dict) and isinstance(tree, dict):
        if set(axes) != set(tree):
            raise ValueError(f"vmap: {who} keys {sorted(axes)} do not match the value's {sorted(tree)}")
        out = []
        for k in sorted(tree):
            out.extend(_broadcast_prefix(axes[k], tree[k], who))
        return out
    raise ValueError(f"vmap: {who} {axes!r} is not an int, None or a pytree prefix of the value")


def _as_tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else tensor(np.asarray(x))


_UNSET: Any = object()  # a keyword not given (None is a meaningful in_dims/out_dims)


def vmap(
    f: Callable[..., Any],
    in_axes: Any = 0,
    out_axes: Any = 0,
    axis_size: Optional[int] = None,
    randomness: str = "error",
    chunk_size: Optional[int] = None,
    *,
    in_dims: Any = _UNSET,
    out_dims: Any = _UNSET,
) -> Callable[..., Any]:
    """``vmap(f)(xs)`` = ``stack([f(x) for x in xs])``, computed batched.

    ``in_axes``: for each positional argument, the axis mapped over (an int, negative from
    the end, or None for an argument passed whole to every call), as one value for all or a
    pytree prefix of the arguments. ``out_axes``: where the mapped axis goes in each output
    (None: the output must not depend on the mapped axis). ``axis_size``: the batch size when
    no argument is mapped. ``randomness`` (torch.func): what random ops inside ``f`` do —
    "error" (raise), "different" (independent draws per example) or "same" (one draw shared).
    ``chunk_size`` (torch.func): run the batch in pieces of that many examples, one batched
    pass each, to bound the memory of a pass; None runs the whole batch at once.
    Keyword arguments are passed through unmapped (as in JAX). ``in_dims``/``out_dims`` are
    torch.vmap's names for ``in_axes``/``out_axes``.
    """
    check_callable(f, "vmap")
    if in_dims is not _UNSET:
        in_axes = in_dims
    if out_dims is not _UNSET:
        out_axes = out_dims
    if randomness not in _RANDOMNESS:
        raise ValueError(f"vmap: randomness must be one of {_RANDOMNESS}, got {randomness!r}")
    if chunk_size is not None and (not isinstance(chunk_size, int) or chunk_size < 1):
        raise ValueError(f"vmap: chunk_size must be a positive int or None, got {chunk_size!r}")
    if not (in_axes is None or isinstance(in_axes, (int, tuple, list, dict))) or isinstance(in_axes, bool):
        raise TypeError(f"vmap: in_axes must be an int, None, or a tuple/list/dict of them, got {in_axes!r}")

    @functools.wraps(f)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        axes_tree = in_axes
        if isinstance(in_axes, list):
            axes_tree = tuple(in_axes)
        if isinstance(axes_tree, tuple) and len(axes_tree) != len(args):
            raise ValueError(
                f"vmap: in_axes has {len(axes_tree)} entries but the function got {len(args)} positional "
                f"arguments"
            )
        leaves, td = tree_flatten(args)
        axes = _broadcast_prefix(axes_tree, args, "in_axes")
        size = _batch_size(leaves, axes, axis_size)

        def run(xs: list, n: int) -> Any:
            return _call(f, xs, td, axes, n, kwargs, out_axes, randomness)

        if chunk_size is None or size <= chunk_size:
            return run(leaves, size)
        return _chunked(run, leaves, axes, size, out_axes, chunk_size)

    return wrapped


def _chunked(
    run: Callable[[list, int], Any], leaves: list, axes: list, size: int, out_axes: Any, chunk: int
) -> Any:
    """torch.func's ``chunk_size``: ``run(leaves, n)`` (one batched pass of n examples) on
    pieces of ``chunk`` examples, bounding the memory a pass holds; the outputs concatenated
    along their out_axes. randomness="same" draws once per piece."""
    parts = []
    for start in range(0, size, chunk):
        n = min(chunk, size - start)
        parts.append(
            run([x if a is None else ops.narrow(_as_tensor(x), a, start, n) for x, a in zip(leaves, axes)], n)
        )
    first, out_td = tree_flatten(parts[0])
    oaxes = _broadcast_prefix(out_axes, parts[0], "out_axes")
    columns = [tree_flatten(p)[0] for p in parts]
    res = [first[i] if a is None else ops.concat([c[i] for c in columns], a) for i, a in enumerate(oaxes)]
    return out_td.unflatten(res)


def _batch_size(leaves: Sequence[Any], axes: Sequence[Any], axis_size: Optional[int]) -> int:
    sizes = {}
    for i, (x, a) in enumerate(zip(leaves, axes)):
        if a is None:
            continue
        if isinstance(a, bool) or not isinstance(a, int):
            raise TypeError(f"vmap: in_axes entries must be ints or None, got {a!r}")
        shape = tuple(x.shape) if isinstance(x, Tensor) else np.shape(x)
        if not -len(shape) <= a < len(shape):
            raise ValueError(
                f"vmap: in_axes={a} is out of range for argument leaf {i} of shape {shape} (rank {len(shape)})"
            )
        sizes[i] = shape[a]
    if not sizes:
        if axis_size is None:
            raise ValueError("vmap: no argument is mapped (all in_axes are None); pass axis_size")
        return int(axis_size)
    distinct = sorted(set(sizes.values()))
    if len(distinct) > 1:
        detail = ", ".join(f"leaf {i}: {s}" for i, s in sizes.items())
        raise ValueError(f"vmap: mapped axes have different sizes ({detail})")
    if axis_size is not None and axis_size != distinct[0]:
        raise ValueError(f"vmap: axis_size={axis_size} but the mapped axes have size {distinct[0]}")
    return distinct[0]


def _call(
    f: Callable[..., Any],
    leaves: list,
    td: PyTreeDef,
    axes: list,
    size: int,
    kwargs: dict,
    out_axes: Any,
    randomness: str,
) -> Any:
    level = ops.vmap_push(size)
    vmap_state.stack.append((level, size, randomness))
    try:
        new = [x if a is None else ops.vmap_wrap(_as_tensor(x), a, level) for x, a in zip(leaves, axes)]
        out = f(*td.unflatten(new), **kwargs)
        out_leaves, out_td = tree_flatten(out)
        oaxes = _broadcast_prefix(out_axes, out, "out_axes")
        res = []
        for i, (o, a) in enumerate(zip(out_leaves, oaxes)):
            res.append(_unbatch(o, a, level, size, i))
        return out_td.unflatten(res)
    finally:
        vmap_state.stack.pop()
        ops.vmap_pop(level)


def _unbatch(o: Any, axis: Any, level: int, size: int, i: int) -> Any:
    if not isinstance(o, Tensor):
        if axis is None:
            return o
        o = _as_tensor(o)
    if axis is None:
        if ops.vmap_batched_at(o, level):
            raise ValueError(f"vmap: output {i} depends on the mapped axis but its out_axes is None")
        return o
    if isinstance(axis, bool) or not isinstance(axis, int):
        raise TypeError(f"vmap: out_axes entries must be ints or None, got {axis!r}")
    nd = len(o.shape) + 1
    if not -nd <= axis < nd:
        raise ValueError(f"vmap: out_axes={axis} is out of range for output {i} of rank {nd}")
    return ops.vmap_unwrap(o, level, axis, size)
