"""Reverse mode on the tape: ``grad``, ``value_and_grad``, ``vjp``.

Gradients have their primal's shape (cheat sheet §1.3); a VJP returns one cotangent
per primal (§4.2).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any, Callable, Optional, Union

from .. import _trace, autograd, ops
from ..ops import Tensor
from ..pytree import PyTreeDef, tree_flatten
from ._args import (
    Primals,
    check_callable,
    check_scalar,
    norm_argnums,
    output_leaves,
    split_aux,
    strip,
    to_tensor,
)
from ._levels import reverse_alias, running_reverse, state, zeros
from ._metric import Metric, prepare_metric

Argnums = Union[int, Sequence[int]]


def pull(
    roots: Sequence[Tensor], cots: Sequence[Optional[Tensor]], inputs: Sequence[Tensor], create: bool
) -> list[Tensor]:
    """``Jᵀ w`` for every input, shaped like it (zeros for inputs the roots do not reach).

    ``roots[i]`` and ``cots[i]`` have the same shape (a None cotangent: ones, for a
    scalar root); non-floating roots and roots off the tape contribute nothing.
    """
    rs, ws = [], []
    for o, w in zip(roots, cots):
        if o.requires_grad and o.dtype.is_floating_point:
            rs.append(o)
            ws.append(w)
    if not rs:
        return [zeros(x) for x in inputs]
    # retain_graph: the pullback may be called again (vjp_fn, jacrev rows), and the
    # walk may reach a closure's graph that is not ours to free.
    # ops.grad is the engine's entry point (positional: roots, cotangents, inputs,
    # retain_graph, create_graph, allow_unused): fg.autograd.grad's argument handling
    # adds about a quarter to a small backward pass, and jacrev runs one per row.
    gs = ops.grad(rs, ws, list(inputs), True, create, True)
    return [g if g is not None else zeros(x) for g, x in zip(gs, inputs)]


def needs_create(aliases: Sequence[Tensor], extra: Sequence[Any] = ()) -> bool:
    """Whether a backward pass must record itself: something may differentiate it again
    (an enclosing reverse transform, an input on a tape, a cotangent that requires grad)."""
    if not autograd.is_grad_enabled():
        return False
    return (
        state.depth > 0
        or any(not a.is_leaf for a in aliases)
        or any(isinstance(w, Tensor) and w.requires_grad for w in extra)
    )


def value_and_grad(
    f: Callable[..., Any], argnums: Argnums = 0, has_aux: bool = False, metric: Any = None
) -> Callable[..., Any]:
    """Returns ``g(*args) -> (value, grads)`` (``((value, aux), grads)`` with ``has_aux``).

    ``f`` returns a scalar (any shape with one element); ``value`` is it. ``grads`` has
    the structure of ``args[argnums]`` (a tuple of them for tuple ``argnums``), every
    leaf shaped like its primal (cheat sheet §1.3); inputs ``f`` does not use get zeros.
    With ``metric`` the gradients are the sharps ``g⁻¹ x̄`` (see :func:`sharp`; the
    metric is over all differentiated leaves, flattened in pytree order and concatenated).
    """
    return _value_and_grad(f, argnums, has_aux, metric, "value_and_grad")


def _value_and_grad(
    f: Callable[..., Any], argnums: Any, has_aux: bool, metric: Any, who: str
) -> Callable[..., Any]:
    check_callable(f, "grad")
    prepared = prepare_metric(metric) if metric is not None else None

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return value_and_grad_call(f, args, kwargs, argnums, has_aux, prepared, who)

    return wrapper


def value_and_grad_call(
    f: Callable[..., Any],
    args: Sequence[Any],
    kwargs: dict[str, Any],
    argnums: Any,
    has_aux: bool,
    prepared: Optional[Metric] = None,
    who: str = "grad",
) -> tuple[Any, Any]:
    """One call of ``value_and_grad(f, argnums, has_aux)`` on ``args``: ``(value, grads)``,
    each gradient shaped like its primal; ``who`` names the transform in errors."""
    nums, single = norm_argnums(argnums, len(args), "grad")
    with running_reverse():
        pr = Primals(args, nums, "grad", reverse_alias)
        with _trace.tracing(who, aliases=pr.aliases):
            res = f(*pr.new_args, **kwargs)
    out, aux = split_aux(res, "grad") if has_aux else (res, None)
    out = check_scalar(out, who)
    create = needs_create(pr.aliases)
    root = out if out.shape == () else ops.reshape(out, [])
    gs = pull([root], [None], pr.aliases, create)  # None: the engine seeds a scalar root with 1
    per = pr.per_arg(gs)
    grads = per[0] if single else tuple(per)
    if prepared is not None:
        grads = prepared.apply(grads, "grad")
    value = strip(out, create)
    if has_aux:
        value = (value, strip(aux, create))
    return value, grads


def grad(
    f: Callable[..., Any], argnums: Argnums = 0, has_aux: bool = False, metric: Any = None
) -> Callable[..., Any]:
    """``grad(f)(x)`` = ∇f(x), shaped like ``x`` (JAX semantics; ``f`` returns a scalar).

    ``argnums`` may be a tuple (a tuple of gradients, each shaped like its argument);
    ``has_aux=True`` returns ``(grads, aux)``; ``metric`` returns metric gradients
    (:func:`sharp`).
    """
    vg = _value_and_grad(f, argnums, has_aux, metric, "grad")

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        value, g = vg(*args, **kwargs)
        return (g, value[1]) if has_aux else g

    return wrapper


def trace_reverse(
    f: Callable[..., Any],
    args: Sequence[Any],
    nums: tuple[int, ...],
    has_aux: bool,
    who: str,
    kwargs: Optional[dict[str, Any]] = None,
) -> tuple[Primals, Any, list[Tensor], PyTreeDef, Any]:
    """Evaluates ``f`` on reverse aliases of ``args[nums]``, for pullbacks to follow.

    Returns ``(primals, out, out_leaves, out_treedef, aux)``.
    """
    with running_reverse():
        pr = Primals(args, nums, who, reverse_alias)
        with _trace.tracing(who, aliases=pr.aliases):
            res = f(*pr.new_args, **(kwargs or {}))
    out, aux = split_aux(res, who) if has_aux else (res, None)
    out_leaves, out_td = output_leaves(out, who)
    return pr, out, out_leaves, out_td, aux


def vjp(f: Callable[..., Any], *primals: Any, has_aux: bool = False) -> tuple[Any, ...]:
    """``out, vjp_fn = fg.vjp(f, x, θ)``; ``vjp_fn(w) -> (x̄, θ̄)`` = (J_xᵀw, J_θᵀw).

    ``w`` has the structure and shapes of ``out``; the result has one cotangent per
    primal (a tuple, even for one primal), each shaped like its primal (cheat sheet
    §4.2). ``vjp_fn`` may be called many times. With ``has_aux``: ``(out, vjp_fn, aux)``.
    """
    check_callable(f, "vjp")
    if not primals:
        raise TypeError("vjp: at least one primal is required")
    pr, out, out_leaves, out_td, aux = trace_reverse(f, primals, tuple(range(len(primals))), has_aux, "vjp")

    def vjp_fn(w: Any) -> tuple[Any, ...]:
        """``Jᵀ w``: ``w`` shaped like ``out``; one cotangent per primal, shaped like it."""
        wl, wtd = tree_flatten(w)
        if wtd != out_td:
            raise ValueError(
                f"vjp_fn: the cotangent has structure {wtd} but the output has structure {out_td}"
            )
        ws = []
        for i, (wi, o) in enumerate(zip(wl, out_leaves)):
            wi = to_tensor(wi, "vjp_fn: cotangent")
            if tuple(wi.shape) != tuple(o.shape):
                raise ValueError(
                    f"vjp_fn: cotangent {i} has shape {tuple(wi.shape)} but output {i} has shape "
                    f"{tuple(o.shape)}"
                )
            if wi.dtype != o.dtype and o.dtype.is_floating_point:
                wi = wi.astype(o.dtype)
            ws.append(wi)
        create = needs_create(pr.aliases, ws)
        gs = pull(out_leaves, ws, pr.aliases, create)
        return tuple(pr.per_arg(gs))

    out = strip(out, any(not a.is_leaf for a in pr.aliases) or state.depth > 0)
    if has_aux:
        return out, vjp_fn, aux
    return out, vjp_fn


def stop_gradient(x: Any) -> Any:
    """``jax.lax.stop_gradient``: the same values (a pytree of tensors, each its own shape)
    as constants for every transform: no reverse-mode gradient and no forward-mode tangent
    flows through them. Non-tensor leaves pass through."""
    leaves, td = tree_flatten(x)
    out = []
    for v in leaves:
        if isinstance(v, Tensor):
            v = v.detach()
            for level in state.levels:
                v._clear_tangent(level)
        out.append(v)
    return td.unflatten(out)


def linear_transpose(f: Callable[..., Any], *primals: Any) -> Callable[..., tuple[Any, ...]]:
    """``f_t = fg.linear_transpose(f, x, θ)`` (JAX's): for ``f`` linear in its inputs,
    ``f_t(w)`` is ``Jᵀ w`` — one cotangent per primal, shaped like it, for ``w`` shaped
    like ``f``'s output. The primals fix shapes and dtypes only (a linear map's transpose
    does not depend on the point); ``f`` is traced once and its tape reused per call."""
    check_callable(f, "linear_transpose")
    if not primals:
        raise TypeError("linear_transpose: at least one primal is required")
    _, vjp_fn = vjp(f, *primals)
    return vjp_fn
