"""Jacobians and Hessians: ``jacrev``, ``jacfwd``, ``jacobian``, ``hessian``, ``hvp``.

A Jacobian block has shape ``out.shape + in.shape`` (cheat sheet §2.2); a tuple
``argnums`` gives one block per argument (§2.3); pytree outputs give the output's
structure with the per-argument blocks as leaves.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any, Callable, Optional

import numpy as np

from .. import _trace, ops
from .._tensor import from_numpy, full
from ..ops import Tensor
from ..pytree import PyTreeDef, tree_flatten
from ._args import Primals, as_args, check_callable, norm_argnums, output_leaves, split_aux
from ._forward import jvp_call, take_tangents
from ._levels import forward_alias, is_constant, jvp_level, zeros
from ._reverse import Argnums, needs_create, trace_reverse, value_and_grad_call


def _basis(n: int, shape: Sequence[int], dtype: Any) -> list[Tensor]:
    """The ``n`` one-hot tensors of ``shape`` (n elements in all), in ``dtype``; views of
    one identity matrix."""
    eye = np.eye(n, dtype=np.dtype(dtype.name))
    if not shape:  # a row of a 0-d shape would be a NumPy scalar, not an array
        return [from_numpy(eye.reshape(()))]
    rows = eye.reshape((n,) + tuple(shape))
    return [from_numpy(rows[e]) for e in range(n)]


def _stack_block(ts: list[Tensor], axis: int, shape: list[int]) -> Tensor:
    """Stacks Jacobian rows/columns into a block of ``shape``. Through NumPy when the
    pieces are constants (cheap), through fastgrad ops when they may be differentiated
    again (jacfwd of jacrev, grad of jacrev, ...)."""
    if all(is_constant(t) for t in ts):
        block = np.stack([t.numpy() for t in ts], axis).reshape(shape)
        return from_numpy(block if block.flags.c_contiguous else block.copy(order="C"))
    st = ops.stack(ts, axis) if len(ts) > 1 else ops.unsqueeze(ts[0], axis)
    return ops.reshape(st, shape)


def _assemble(
    out_leaves: Sequence[Tensor],
    out_td: PyTreeDef,
    pr: Primals,
    single: bool,
    block: Callable[[int, int], Tensor],
) -> Any:
    """Jacobian pytree: the output's structure, each leaf holding the argnums structure."""
    per_out = []
    for k in range(len(out_leaves)):
        per = pr.per_arg([block(k, j) for j in range(len(pr.leaves))])
        per_out.append(per[0] if single else tuple(per))
    return out_td.unflatten(per_out)


def jacrev(f: Callable[..., Any], argnums: Argnums = 0, has_aux: bool = False) -> Callable[..., Any]:
    """Reverse-mode Jacobian: one VJP per output element, sharing one forward pass.

    Each block has shape ``out.shape + in.shape`` (cheat sheet §2.2); a tuple
    ``argnums`` gives a tuple of blocks (§2.3); pytree outputs give the same structure
    with the per-argument blocks as leaves. With ``has_aux``: ``(jac, aux)``.
    """
    return _jacrev(f, argnums, has_aux, "jacrev")


def _jacrev(f: Callable[..., Any], argnums: Any, has_aux: bool, who: str) -> Callable[..., Any]:
    check_callable(f, "jacrev")

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        nums, single = norm_argnums(argnums, len(args), "jacrev")
        pr, out, out_leaves, out_td, aux = trace_reverse(f, args, nums, has_aux, who, kwargs)
        create = needs_create(pr.aliases)
        inputs = pr.aliases
        rows: list[list[list[Tensor]]] = []  # rows[k][j] -> one cotangent per output element
        for o in out_leaves:
            per_in: list[list[Tensor]] = [[] for _ in inputs]
            m = o.numel()
            if m and o.dtype.is_floating_point and o.requires_grad:
                for w in _basis(m, o.shape, o.dtype):
                    gs = ops.grad([o], [w], inputs, True, create, True)  # retain, create, allow unused
                    for j, g in enumerate(gs):
                        per_in[j].append(g if g is not None else zeros(inputs[j]))
            rows.append(per_in)

        def block(k: int, j: int) -> Tensor:
            o, x = out_leaves[k], pr.leaves[j]
            shape = list(o.shape) + list(x.shape)
            r = rows[k][j]
            if not r:
                return full(shape, 0.0, x.dtype)
            return _stack_block(r, 0, shape)

        jac = _assemble(out_leaves, out_td, pr, single, block)
        return (jac, aux) if has_aux else jac

    return wrapper


def jacfwd(f: Callable[..., Any], argnums: Argnums = 0, has_aux: bool = False) -> Callable[..., Any]:
    """Forward-mode Jacobian: one JVP (one evaluation of f) per input basis direction.

    Same shapes and structure as :func:`jacrev`: each block ``out.shape + in.shape``.
    All directions share one forward-mode level and one set of input aliases; only the
    tangent of the active leaf changes. With ``has_aux``: ``(jac, aux)``.
    """
    return _jacfwd(f, argnums, has_aux, "jacfwd")


def _jacfwd(f: Callable[..., Any], argnums: Any, has_aux: bool, who: str) -> Callable[..., Any]:
    check_callable(f, "jacfwd")

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        nums, single = norm_argnums(argnums, len(args), "jacfwd")
        pr = Primals(args, nums, "jacfwd", lambda x: x)
        aliases = [forward_alias(x) for x in pr.leaves]
        call = pr.call_args(aliases)
        cols: list[list[list[Tensor]]] = []  # cols[j][e] -> out tangents (one per output leaf)
        first: Optional[tuple[list[Tensor], PyTreeDef, Any]] = None  # (out_leaves, out_td, aux)

        def run(level: int) -> tuple[list[Tensor], PyTreeDef, list[Tensor], Any]:
            with _trace.tracing(who, level=level):
                res = f(*call, **kwargs)
            out, ax = split_aux(res, "jacfwd") if has_aux else (res, None)
            ol, otd = output_leaves(out, who)
            return ol, otd, take_tangents(level, ol), ax

        with jvp_level() as level:
            for j, x in enumerate(pr.leaves):
                n = x.numel()
                cj = []
                if n:
                    for u in _basis(n, x.shape, x.dtype):
                        aliases[j]._set_tangent(level, u)
                        ol, otd, ts, ax = run(level)
                        if first is None:
                            first = (ol, otd, ax)
                        cj.append(ts)
                    aliases[j]._clear_tangent(level)
                cols.append(cj)
            if first is None:  # every input is empty: still need the output's shape
                ol, otd, _, ax = run(level)
                first = (ol, otd, ax)
        out_leaves, out_td, aux = first

        def block(k: int, j: int) -> Tensor:
            o, x = out_leaves[k], pr.leaves[j]
            shape = list(o.shape) + list(x.shape)
            cj = cols[j]
            if not cj:
                return full(shape, 0.0, o.dtype)
            return _stack_block([c[k] for c in cj], o.ndim, shape)

        jac = _assemble(out_leaves, out_td, pr, single, block)
        return (jac, aux) if has_aux else jac

    return wrapper


def jacobian(
    f: Callable[..., Any],
    argnums: Argnums = 0,
    flatten: bool = False,
    mode: str = "rev",
    has_aux: bool = False,
) -> Callable[..., Any]:
    """``jacrev`` (``mode="rev"``) or ``jacfwd`` (``mode="fwd"``).

    With ``flatten=True`` the result is the single ``m × (Px + Pθ)`` matrix of cheat sheet
    §2.3: ``m`` is the total number of output elements (pytree outputs flattened in
    pytree order and concatenated), the columns are the row-major ``vec`` of each
    differentiated leaf, blocks concatenated in ``argnums`` order (and pytree order
    inside an argument). Row ``p`` is ``vec(∇G_p)``.
    """
    if mode not in ("rev", "fwd"):
        raise ValueError(f"jacobian: mode must be 'rev' or 'fwd', got {mode!r}")
    inner = (_jacrev if mode == "rev" else _jacfwd)(f, argnums, has_aux, "jacobian")
    if not flatten:
        return inner

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        res = inner(*args, **kwargs)
        jac, aux = res if has_aux else (res, None)
        nums, _ = norm_argnums(argnums, len(args), "jacobian")
        out_blocks, _ = tree_flatten(jac)
        in_shapes = []
        for pos in nums:
            for x in tree_flatten(args[pos])[0]:
                in_shapes.append(tuple(x.shape) if isinstance(x, Tensor) else np.shape(x))
        nin = len(in_shapes)
        rows = []
        for k in range(len(out_blocks) // nin):
            mats = []
            for b, s in zip(out_blocks[k * nin : (k + 1) * nin], in_shapes):
                m = math.prod(b.shape[: b.ndim - len(s)])  # the block is out.shape + in.shape
                mats.append(ops.reshape(b, [m, math.prod(s)]))
            rows.append(mats[0] if len(mats) == 1 else ops.concat(mats, 1))
        mat = rows[0] if len(rows) == 1 else ops.concat(rows, 0)
        return (mat, aux) if has_aux else mat

    return wrapper


def hessian(f: Callable[..., Any], argnums: Argnums = 0, has_aux: bool = False) -> Callable[..., Any]:
    """``jacfwd(jacrev(f))`` (forward-over-reverse): shape ``in.shape + in.shape``.

    A tuple ``argnums`` gives the nested tuple of blocks ``H[i][j]`` of shape
    ``args[i].shape + args[j].shape``.
    """
    inner = _jacrev(f, argnums, has_aux, "hessian")
    return _jacfwd(inner, argnums, has_aux, "hessian")


def hvp(f: Callable[..., Any], primals: Sequence[Any], tangents: Sequence[Any]) -> Any:
    """Hessian-vector product H·v by forward-over-reverse, never forming H.

    Follows JAX's ``jax.jvp(jax.grad(f), primals, tangents)[1]``, with the gradient taken
    w.r.t. *all* primals: for one primal ``(x,)`` it returns ``H v`` shaped like ``x``;
    for several it returns a tuple shaped like ``primals`` (the blocks of the joint
    Hessian applied to the joint tangent). ``f`` must return a scalar.
    """
    check_callable(f, "hvp")
    primals = as_args(primals, "hvp", "primals")
    tangents = as_args(tangents, "hvp", "tangents")
    if len(primals) != len(tangents):
        raise ValueError(f"hvp: got {len(primals)} primals but {len(tangents)} tangents")
    nums = 0 if len(primals) == 1 else tuple(range(len(primals)))
    return jvp_call(
        lambda *a: value_and_grad_call(f, a, {}, nums, False, None, "hvp")[1],
        primals,
        tangents,
        False,
        "hvp",
    )[1]
