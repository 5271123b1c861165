"""Forward mode proper: ``jvp`` (cheat sheet §4.1).

The tangents travel with the primals through every primitive's JVP rule in a single
evaluation of ``f``, at a forward-mode level of their own.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Callable, Optional

from .. import _trace
from ..ops import Tensor
from ..pytree import PyTreeDef, tree_flatten
from ._args import Primals, as_args, check_callable, output_leaves, split_aux, to_tensor
from ._levels import forward_alias, jvp_level, zeros


def tangent_leaves(pr: Primals, tangents: Sequence[Any], who: str) -> list[Tensor]:
    """The tangents as one tensor per primal leaf, each shaped (and typed) like its leaf."""
    out = []
    for k in range(len(pr.argnums)):
        tl, ttd = tree_flatten(tangents[k])
        if ttd != pr.treedefs[k]:
            raise ValueError(
                f"{who}: tangent {k} has structure {ttd} but primal {k} has structure {pr.treedefs[k]}"
            )
        a, _ = pr.bounds[k]
        for j, t in enumerate(tl):
            x = pr.leaves[a + j]
            t = to_tensor(t, f"{who}: tangent {k}")
            if tuple(t.shape) != tuple(x.shape):
                raise ValueError(
                    f"{who}: tangent {k} (leaf {j}) has shape {tuple(t.shape)} but its primal has "
                    f"shape {tuple(x.shape)}"
                )
            if t.dtype != x.dtype:
                t = t.astype(x.dtype)
            out.append(t)
    return out


def take_tangents(level: int, leaves: Sequence[Tensor]) -> list[Tensor]:
    """Each output's tangent at ``level`` (zeros, same shape, where it has none); the
    tangents are then cleared from the outputs, which outlive the level."""
    res = []
    for o in leaves:
        t = o._tangent(level)
        res.append(t if t is not None else zeros(o))
    for o in leaves:
        o._clear_tangent(level)
    return res


def forward_run(
    f: Callable[..., Any],
    pr: Primals,
    tangents: Sequence[Optional[Tensor]],
    level: int,
    has_aux: bool,
    who: str,
    kwargs: Optional[dict[str, Any]] = None,
) -> tuple[list[Tensor], PyTreeDef, list[Tensor], Any]:
    """Runs ``f`` on fresh aliases with ``tangents`` attached at ``level`` (None = no tangent).

    Returns ``(out_leaves, out_treedef, out_tangents, aux)``, each tangent shaped like its
    output leaf.
    """
    aliases = [forward_alias(x) for x in pr.leaves]
    for a, t in zip(aliases, tangents):
        if t is not None:
            a._set_tangent(level, t)
    with _trace.tracing(who, level=level):
        res = f(*pr.call_args(aliases), **(kwargs or {}))
    out, aux = split_aux(res, who) if has_aux else (res, None)
    out_leaves, out_td = output_leaves(out, who)
    tans = take_tangents(level, out_leaves)
    if has_aux:
        for x in tree_flatten(aux)[0]:
            if isinstance(x, Tensor):
                x._clear_tangent(level)
    return out_leaves, out_td, tans, aux


def jvp(
    f: Callable[..., Any], primals: Sequence[Any], tangents: Sequence[Any], has_aux: bool = False
) -> tuple[Any, ...]:
    """``(out, out_tangent) = fg.jvp(f, (x, θ), (u_x, u_θ))``: J_x u_x + J_θ u_θ (cheat sheet §4.1).

    Forward mode proper: the tangents travel with the primals through every primitive's
    JVP rule in a single evaluation of ``f``. ``tangents`` mirrors ``primals`` (same
    structure and shapes); ``out_tangent`` mirrors ``out``. With ``has_aux``:
    ``(out, out_tangent, aux)``.
    """
    return jvp_call(f, primals, tangents, has_aux, "jvp")


def jvp_call(
    f: Callable[..., Any], primals: Sequence[Any], tangents: Sequence[Any], has_aux: bool, who: str
) -> tuple[Any, ...]:
    """:func:`jvp` with ``who`` naming the transform in errors raised while tracing ``f``."""
    check_callable(f, "jvp")
    primals = as_args(primals, "jvp", "primals")
    tangents = as_args(tangents, "jvp", "tangents")
    if len(primals) != len(tangents):
        raise ValueError(f"jvp: got {len(primals)} primals but {len(tangents)} tangents")
    pr = Primals(primals, tuple(range(len(primals))), "jvp", lambda x: x)
    tl = tangent_leaves(pr, tangents, "jvp")
    with jvp_level() as level:
        out_leaves, out_td, tans, aux = forward_run(f, pr, tl, level, has_aux, who)
    out = out_td.unflatten(out_leaves)
    out_t = out_td.unflatten(tans)
    if has_aux:
        return out, out_t, aux
    return out, out_t


def linearize(f: Callable[..., Any], *primals: Any) -> tuple[Any, Callable[..., Any]]:
    """``out, f_jvp = fg.linearize(f, x, θ)`` (JAX's): ``f_jvp(u_x, u_θ)`` is the JVP
    ``J u`` at the given primals (each tangent shaped like its primal; the result shaped
    like ``out``), callable many times. fastgrad has no symbolic linear map to keep, so each
    call is one forward-mode pass of ``f`` at the saved primals (a JAX linearize keeps the
    linearized program instead: less compute per call, more memory)."""
    check_callable(f, "linearize")
    if not primals:
        raise TypeError("linearize: at least one primal is required")
    out = f(*primals)

    def f_jvp(*tangents: Any) -> Any:
        """``J u``: one tangent per primal (its shape); the result has the output's shape."""
        if len(tangents) != len(primals):
            raise TypeError(
                f"linearize: f_jvp takes {len(primals)} tangents (one per primal), got {len(tangents)}"
            )
        return jvp_call(f, primals, tangents, False, "linearize")[1]

    return out, f_jvp
