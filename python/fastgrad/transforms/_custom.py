"""JAX's ``custom_vjp`` and ``custom_jvp``: functions with user-given derivative rules,
recorded as one ``custom_function`` node (the primitive under ``fg.autograd.Function``).

``custom_vjp``: under reverse mode ``fwd`` runs (recorded on the tape, so residuals keep
their dependence on the inputs and higher derivatives flow through ``bwd``'s ops) and
``bwd(*nondiff, res, g)`` is the node's VJP; forward mode raises, as in JAX.
``custom_jvp``: the rule gives the tangents under forward mode; reverse mode transposes it
(the VJP of the rule's tangent map, which is linear in the tangents), as JAX does.
Without a transform (no input requiring grad under grad mode, no live tangent) the plain
function runs.
"""

from __future__ import annotations

import functools
import inspect
import threading
from typing import Any, Callable, Optional

from .. import ops
from .._tensor import zeros
from ..autograd import _OffTheTape, enable_grad, grad
from ..ops import Tensor
from ..pytree import tree_flatten
from ._levels import detached, state


class _Active(threading.local):
    def __init__(self) -> None:
        self.fwd: set[int] = set()  # custom_vjp objects whose fwd runs in this thread


_active = _Active()


def _bind(fun: Callable[..., Any], args: tuple, kwargs: dict) -> tuple:
    if not kwargs:
        return args
    bound = inspect.signature(fun).bind(*args, **kwargs)
    bound.apply_defaults()
    if bound.kwargs:
        raise TypeError(f"{fun.__name__}: keyword-only arguments are not supported by custom_vjp/custom_jvp")
    return tuple(bound.args)


def _split(args: tuple, nondiff: tuple[int, ...], who: str) -> tuple[list, list]:
    for i in nondiff:
        if not -len(args) <= i < len(args):
            raise ValueError(f"{who}: nondiff_argnums {nondiff} out of range for {len(args)} arguments")
    nd = {i % len(args) for i in nondiff}
    return [args[i] for i in sorted(nd)], [a for i, a in enumerate(args) if i not in nd]


def _transformed(leaves: list) -> bool:
    """Whether a transform differentiates any of these values (tape or tangent)."""
    rec = ops.grad_enabled()
    for x in leaves:
        if isinstance(x, Tensor):
            if rec and x.requires_grad:
                return True
            if any(x._tangent(level) is not None for level in state.levels):
                return True
    return False


def _record(
    name: str, in_leaves: list, out: Any, vjp: Optional[Callable[..., Any]], jvp: Optional[Callable[..., Any]]
) -> Any:
    """One node from the tensor leaves of the differentiable inputs to the leaves of ``out``."""
    out_leaves, out_td = tree_flatten(out)
    t_out = [k for k, o in enumerate(out_leaves) if isinstance(o, Tensor)]
    if not t_out:
        raise TypeError(f"{name}: the function must return tensors (or a pytree of them)")
    t_in = [x for x in in_leaves if isinstance(x, Tensor)]
    raw = [out_leaves[k].detach() for k in t_out]
    new = ops.custom_function(t_in, raw, [], name, vjp, jvp)
    for k, t in zip(t_out, new):
        out_leaves[k] = t
    return out_td.unflatten(out_leaves)


def _leaf_like(g: Any, x: Tensor, who: str, what: str) -> Optional[Tensor]:
    if g is None:
        return None
    if not isinstance(g, Tensor):
        raise TypeError(f"{who}: {what} is a {type(g).__name__}, expected a Tensor or None")
    if tuple(g.shape) != tuple(x.shape):
        raise ValueError(
            f"{who}: {what} has shape {tuple(g.shape)} but its primal has shape {tuple(x.shape)}"
        )
    return g


def _no_forward_mode(_saved: list, _tans: list) -> list:
    raise TypeError("can't apply forward-mode autodiff (jvp) to a custom_vjp function.")


class custom_vjp:
    """``fg.custom_vjp(fun, nondiff_argnums=())`` (JAX's): ``fun`` with a VJP of your own.

    ``f.defvjp(fwd, bwd)``: ``fwd(*args) -> (out, residuals)`` (same signature as fun;
    ``residuals`` any pytree), ``bwd(*nondiff_args, residuals, g) -> tuple`` with one
    cotangent per differentiable argument (its structure and shapes; None = zero), ``g``
    mirroring ``out``. Reverse mode only: forward mode (``jvp``, ``jacfwd``) raises.
    """

    def __init__(self, fun: Callable[..., Any], nondiff_argnums: tuple[int, ...] = ()) -> None:
        if not callable(fun):
            raise TypeError(f"custom_vjp: expected a function, got {type(fun).__name__}")
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.nondiff_argnums = tuple(int(i) for i in nondiff_argnums)
        self.fwd: Optional[Callable[..., Any]] = None
        self.bwd: Optional[Callable[..., Any]] = None

    def defvjp(self, fwd: Callable[..., Any], bwd: Callable[..., Any], symbolic_zeros: bool = False) -> None:
        """Sets the rules: ``fwd(*args) -> (out, res)`` and ``bwd(*nondiff, res, g) -> cotangents``."""
        if symbolic_zeros:
            raise NotImplementedError("custom_vjp.defvjp: symbolic_zeros=True is not supported")
        self.fwd, self.bwd = fwd, bwd

    def __get__(self, obj: Any, objtype: Any = None) -> Any:
        return self if obj is None else functools.partial(self, obj)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        name = getattr(self.fun, "__name__", "custom_vjp")
        if self.fwd is None or self.bwd is None:
            raise AttributeError(f"No VJP defined for custom_vjp function {name} using defvjp.")
        args = _bind(self.fun, args, kwargs)
        nd_args, d_args = _split(args, self.nondiff_argnums, f"custom_vjp {name}")
        in_leaves, in_td = tree_flatten(tuple(d_args))
        if id(self) in _active.fwd or not _transformed(in_leaves):
            return self.fun(*args)  # untransformed, or fwd calling the function itself
        hidden = ops.hide_jvp_levels()
        _active.fwd.add(id(self))
        try:
            res = self.fwd(*args)
        finally:
            _active.fwd.discard(id(self))
            ops.restore_jvp_levels(hidden)
        if not (isinstance(res, (tuple, list)) and len(res) == 2):
            raise TypeError(
                f"Custom VJP fwd rule {name} must produce a pair (list or tuple of length two) representing primal "
                f"outputs and residuals (values stored from the forward pass for use on the backward pass), got "
                f"{type(res).__name__}"
            )
        out, residuals = res
        bwd, (out_leaves, out_td) = self.bwd, tree_flatten(out)
        t_out = [k for k, o in enumerate(out_leaves) if isinstance(o, Tensor)]
        t_in = [i for i, x in enumerate(in_leaves) if isinstance(x, Tensor)]
        metas: list = []

        def vjp_rule(_saved: list, cots: list) -> list:
            leaves: list[Any] = [None] * out_td.num_leaves
            for k, c, (shape, dtype) in zip(t_out, cots, metas):
                leaves[k] = c if c is not None else zeros(shape, dtype=dtype)
            ct = bwd(*nd_args, residuals, out_td.unflatten(leaves))
            if not isinstance(ct, (tuple, list)) or len(ct) != len(d_args):
                raise TypeError(
                    f"Custom VJP bwd rule {name} must produce a tuple of length equal to the number of "
                    f"differentiable arguments ({len(d_args)}), got "
                    f"{type(ct).__name__}{f' of length {len(ct)}' if isinstance(ct, (tuple, list)) else ''}"
                )
            flat: list[Any] = []
            for a, c in zip(d_args, ct):
                al, atd = tree_flatten(a)
                if c is None:
                    flat.extend([None] * len(al))
                    continue
                cl, ctd = tree_flatten(c)
                if ctd != atd:
                    raise TypeError(
                        f"Custom VJP bwd rule {name} must produce an output with the same container (pytree) "
                        f"structure as the args tuple of the primal function: got {ctd} for an argument of "
                        f"structure {atd}"
                    )
                flat.extend(cl)
            return [
                _leaf_like(flat[i], in_leaves[i], f"custom_vjp {name}", f"the cotangent of input leaf {i}")
                for i in t_in
            ]

        metas.extend((out_leaves[k].shape, out_leaves[k].dtype) for k in t_out)
        new_out = _record(name, in_leaves, out, vjp_rule, _no_forward_mode)
        return new_out


class custom_jvp:
    """``fg.custom_jvp(fun, nondiff_argnums=())`` (JAX's): ``fun`` with a JVP of your own.

    ``f.defjvp(rule)``: ``rule(*nondiff_args, primals, tangents) -> (out, tangent_out)``,
    ``primals``/``tangents`` tuples of the differentiable arguments (tangents shaped like
    them), ``tangent_out`` mirroring ``out``. ``f.defjvps(*fs)``: one ``f_i(t_i, ans,
    *primals)`` per argument, summed (None: no dependence). Reverse mode transposes the
    rule (write it with fastgrad ops, linear in the tangents).
    """

    def __init__(self, fun: Callable[..., Any], nondiff_argnums: tuple[int, ...] = ()) -> None:
        if not callable(fun):
            raise TypeError(f"custom_jvp: expected a function, got {type(fun).__name__}")
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.nondiff_argnums = tuple(int(i) for i in nondiff_argnums)
        self.jvp: Optional[Callable[..., Any]] = None

    def defjvp(self, jvp: Callable[..., Any], symbolic_zeros: bool = False) -> Callable[..., Any]:
        """Sets the rule ``jvp(*nondiff, primals, tangents) -> (out, tangent_out)``; returns it
        (so it works as a decorator)."""
        if symbolic_zeros:
            raise NotImplementedError("custom_jvp.defjvp: symbolic_zeros=True is not supported")
        self.jvp = jvp
        return jvp

    def defjvps(self, *jvps: Optional[Callable[..., Any]]) -> None:
        """One rule per differentiable argument: ``tangent_out = Σ_i jvps[i](t_i, out, *primals)``."""

        def rule(*a: Any) -> tuple[Any, Any]:
            primals, tangents = a[-2], a[-1]
            out = self.fun(*a[:-2], *primals)
            tout = None
            for f, t in zip(jvps, tangents):
                if f is None or t is None:
                    continue
                term = f(t, out, *primals)
                tout = term if tout is None else tout + term
            if tout is None:
                tout = zeros(out.shape, dtype=out.dtype)
            return out, tout

        self.jvp = rule

    def __get__(self, obj: Any, objtype: Any = None) -> Any:
        return self if obj is None else functools.partial(self, obj)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        name = getattr(self.fun, "__name__", "custom_jvp")
        if self.jvp is None:
            raise AttributeError(f"No JVP defined for custom_jvp function {name} using defjvp.")
        args = _bind(self.fun, args, kwargs)
        nd_args, d_args = _split(args, self.nondiff_argnums, f"custom_jvp {name}")
        in_leaves, in_td = tree_flatten(tuple(d_args))
        if not _transformed(in_leaves):
            return self.fun(*args)
        with _OffTheTape():
            out = self.fun(*args)
        rule, t_in = self.jvp, [i for i, x in enumerate(in_leaves) if isinstance(x, Tensor)]
        out_leaves, out_td = tree_flatten(out)
        t_out = [k for k, o in enumerate(out_leaves) if isinstance(o, Tensor)]

        def run_rule(primal_leaves: list, tangent_leaves: list) -> list:
            primals = tuple(in_td.unflatten(primal_leaves))
            tangents = tuple(in_td.unflatten(tangent_leaves))
            res = rule(*nd_args, primals, tangents)
            if not (isinstance(res, (tuple, list)) and len(res) == 2):
                raise TypeError(
                    f"Custom JVP rule {name} must produce a pair (list or tuple of length two) representing primal "
                    f"and tangent outputs, got {type(res).__name__}"
                )
            tl, ttd = tree_flatten(res[1])
            if ttd != out_td:
                raise TypeError(
                    f"Custom JVP rule {name} must produce primal and tangent outputs with equal container (pytree) "
                    f"structures, but got {out_td} and {ttd} respectively"
                )
            return [tl[k] for k in t_out]

        def tangents_of(tans: list) -> list:
            leaves = list(in_leaves)
            for i, t in zip(t_in, tans):
                x = in_leaves[i]
                leaves[i] = t if t is not None else zeros(x.shape, dtype=x.dtype)
            return leaves

        def jvp_rule(_saved: list, tans: list) -> list:
            return run_rule(list(in_leaves), tangents_of(tans))

        def vjp_rule(_saved: list, cots: list) -> list:
            # The rule's tangent map is linear: its VJP is the transpose, by reverse mode
            # through the rule with the tangents as leaves. Under create_graph the primals
            # stay on the tape (second derivatives); otherwise they enter off the tape (with
            # their tangents: forward-over-reverse), so the inner pass never walks the outer,
            # already claimed, graph.
            keep = ops.grad_enabled()
            prim = [x if keep or not isinstance(x, Tensor) else detached(x) for x in in_leaves]
            with enable_grad():
                ts = []
                for i in t_in:
                    t = zeros(in_leaves[i].shape, dtype=in_leaves[i].dtype)
                    t.requires_grad = True
                    ts.append(t)
                tl = list(prim)
                for i, t in zip(t_in, ts):
                    tl[i] = t
                touts = run_rule(prim, tl)
                pairs = [(o, c) for o, c in zip(touts, cots) if c is not None and isinstance(o, Tensor)]
                pairs = [(o, c) for o, c in pairs if o.requires_grad]
                if not pairs:
                    return [None] * len(t_in)
                gs = grad(
                    [o for o, _ in pairs], ts, [c for _, c in pairs], create_graph=keep, allow_unused=True
                )
            return list(gs)

        return _record(name, in_leaves, out, vjp_rule, jvp_rule)
