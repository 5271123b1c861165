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
from ._levels import forward_alias, jvp_level
from ._reverse import Argnums, needs_create, trace_reverse, value_and_grad_call


class _batch_level:
    """``with _batch_level(n) as level:`` a vmap level of ``n`` elements for one batched
    pass (the rows of a jacrev or the columns of a jacfwd)."""

    __slots__ = ("n", "level")

    def __init__(self, n: int) -> None:
        self.n = n

    def __enter__(self) -> int:
        self.level: int = ops.vmap_push(self.n)
        return self.level

    def __exit__(self, *exc: object) -> None:
        ops.vmap_pop(self.level)


def _identity(n: int, shape: Sequence[int], dtype: Any) -> Tensor:
    """The ``n`` one-hot tensors of ``shape`` (n elements in all) stacked: ``(n, *shape)``."""
    eye = ops.eye(n, n, dtype)  # a fourth of NumPy's eye + from_numpy on these small problems
    return eye if len(shape) == 1 else ops.reshape(eye, [n, *shape])


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
    """Reverse-mode Jacobian: one forward pass, then one backward pass per output leaf
    with the whole one-hot basis of cotangents batched (``vmap`` of the VJP).

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
        rows: list[list[Optional[Tensor]]] = []  # rows[k][j]: d out_k / d in_j, (m_k, *in_j.shape)
        for o in out_leaves:
            m = o.numel()
            per_in: list[Optional[Tensor]] = [None] * len(inputs)
            if m == 1 and o.dtype.is_floating_point and o.requires_grad:
                # One row is the gradient itself: no batch level of one (a hessian's inner
                # jacrev), whose batched backward pass would only add dispatch.
                seed = ops.full(list(o.shape), 1.0, o.dtype)
                per_in = list(ops.grad([o], [seed], inputs, True, create, True))
            elif m > 1 and o.dtype.is_floating_point and o.requires_grad:
                with _batch_level(m) as level:
                    w = ops.vmap_wrap(_identity(m, o.shape, o.dtype), 0, level)
                    gs = ops.grad([o], [w], inputs, True, create, True)  # retain, create, allow unused
                    per_in = [None if g is None else ops.vmap_unwrap(g, level, 0, m) for g in gs]
            rows.append(per_in)

        def block(k: int, j: int) -> Tensor:
            o, x = out_leaves[k], pr.leaves[j]
            shape = list(o.shape) + list(x.shape)
            r = rows[k][j]
            return full(shape, 0.0, x.dtype) if r is None else ops.reshape(r, shape)

        jac = _assemble(out_leaves, out_td, pr, single, block)
        return (jac, aux) if has_aux else jac

    return wrapper


def jacfwd(f: Callable[..., Any], argnums: Argnums = 0, has_aux: bool = False) -> Callable[..., Any]:
    """Forward-mode Jacobian: one evaluation of ``f`` with the tangents of every input
    direction batched (``vmap`` of the JVP over the one-hot basis of all inputs).

    Same shapes and structure as :func:`jacrev`: each block ``out.shape + in.shape``.
    With ``has_aux``: ``(jac, aux)``.
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
        sizes = [x.numel() for x in pr.leaves]
        n = sum(sizes)
        with jvp_level() as level, _batch_level(max(n, 1)) as blevel:
            start = 0
            for x, a, nx in zip(pr.leaves, aliases, sizes):
                if nx == n > 0:  # the only input with elements: the identity itself
                    t = _identity(n, x.shape, x.dtype)
                else:
                    # Columns start..start+nx of the joint identity: this input's one-hot
                    # directions, zeros for the other inputs' directions.
                    basis = np.zeros((max(n, 1), nx), dtype=np.dtype(x.dtype.name))
                    basis[start : start + nx] = np.eye(nx, dtype=basis.dtype)
                    t = from_numpy(np.ascontiguousarray(basis.reshape((max(n, 1),) + tuple(x.shape))))
                a._set_tangent(level, ops.vmap_wrap(t, 0, blevel))
                start += nx
            with _trace.tracing(who, level=level):
                res = f(*call, **kwargs)
            out, aux = split_aux(res, "jacfwd") if has_aux else (res, None)
            out_leaves, out_td = output_leaves(out, who)
            tans = [ops.vmap_unwrap(t, blevel, 0, max(n, 1)) for t in take_tangents(level, out_leaves)]
            for a in aliases:
                a._clear_tangent(level)

        def block(k: int, j: int) -> Tensor:
            o, x = out_leaves[k], pr.leaves[j]
            shape = list(o.shape) + list(x.shape)
            if not sizes[j] or not o.numel():
                return full(shape, 0.0, o.dtype)
            lo = sum(sizes[:j])
            cols = tans[k]
            if sizes[j] != n:
                cols = ops.slice(cols, [(lo, lo + sizes[j], 1)] + [(0, d, 1) for d in o.shape])
            # (n_j, *out.shape) -> (*out.shape, n_j) -> out.shape + in.shape
            perm = list(range(1, o.ndim + 1)) + [0]
            return ops.reshape(ops.permute(cols, perm), shape)

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
