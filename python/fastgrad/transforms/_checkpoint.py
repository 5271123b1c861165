"""``fg.checkpoint`` (``jax.checkpoint``, ``torch.utils.checkpoint``): rematerialisation.

A checkpointed function keeps only its inputs on the tape. Its forward pass runs once to
give the value; the intermediates it made are dropped at once, and the backward pass runs
the function again (with the random state it first saw) to differentiate it. Memory for a
chain of k checkpointed blocks is then one block's intermediates plus k block inputs,
instead of every block's intermediates: compute for memory.

The checkpoint is one ``custom_function`` node whose inputs are the function's tensor
arguments and the parameters it closes over (found on the tape of the first run), so
``grad``, ``.backward()``, higher derivatives (the recomputation is recorded under
``create_graph``) and module parameters captured by a closure all see their gradients.
Under forward mode (``jvp``, ``jacfwd``, ``hvp``), where a live tangent reaches the
function, it runs unchanged: forward mode keeps no tape for a checkpoint to shrink.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Callable, Optional

from .. import ops
from .._tensor import default_generator
from ..autograd import enable_grad, grad
from ..ops import Tensor
from ..pytree import tree_flatten
from ._args import check_callable
from ._levels import state


@contextmanager
def _rng_state(saved: Optional[bytes]) -> Iterator[None]:
    """Runs the block with the global random stream at `saved`, then puts it back."""
    if saved is None:
        yield
        return
    now = default_generator.get_state()
    default_generator.set_state(saved)
    try:
        yield
    finally:
        default_generator.set_state(now)


def _live_tangent(xs: list[Tensor]) -> bool:
    return any(x._tangent(level) is not None for x in xs for level in state.levels)


def _call_with(fun: Callable[..., Any], leaves: list, td: Any, pos: list[int], xs: list) -> Any:
    new = list(leaves)
    for i, x in zip(pos, xs):
        new[i] = x
    args, kwargs = td.unflatten(new)
    return fun(*args, **kwargs)


def _checkpointed(fun: Callable[..., Any], args: tuple, kwargs: dict, preserve_rng_state: bool) -> Any:
    leaves, td = tree_flatten((args, kwargs))
    pos = [i for i, x in enumerate(leaves) if isinstance(x, Tensor)]
    tensors = [leaves[i] for i in pos]
    if not ops.grad_enabled() or _live_tangent(tensors):
        return fun(*args, **kwargs)
    rng = default_generator.get_state() if preserve_rng_state else None
    # The first run is recorded only to find what the outputs depend on: fresh leaves stand
    # for the arguments, and any other leaf the tape reaches is a closed-over parameter.
    stand_ins = [x.detach().requires_grad_(x.requires_grad) for x in tensors]
    out = _call_with(fun, leaves, td, pos, stand_ins)
    out_leaves, out_td = tree_flatten(out)
    t_out = [k for k, o in enumerate(out_leaves) if isinstance(o, Tensor)]
    tracked = [out_leaves[k] for k in t_out if out_leaves[k].requires_grad]
    if not tracked:
        return out
    mine = {id(s) for s in stand_ins}
    closed = [p for p in ops.graph_leaves(tracked) if id(p) not in mine]
    inputs = tensors + closed
    n_args = len(tensors)
    raw = [out_leaves[k].detach() for k in t_out]
    differentiable = [out_leaves[k].requires_grad for k in t_out]
    del out, tracked, stand_ins  # the first run's intermediates go here

    def vjp_rule(saved: list, cots: list) -> list:
        create_graph = ops.grad_enabled()
        with _rng_state(rng), enable_grad():
            # Under create_graph the saved inputs are the originals, so the recomputation
            # joins their history (higher derivatives); otherwise it is a graph of its own.
            xs = (
                list(saved[:n_args])
                if create_graph
                else [s.detach().requires_grad_(s.requires_grad) for s in saved[:n_args]]
            )
            again, _ = tree_flatten(_call_with(fun, leaves, td, pos, xs))
        outs = [again[k] for k in t_out]
        pairs = [
            (o, g) for o, g, d in zip(outs, cots, differentiable) if d and g is not None and o.requires_grad
        ]
        wrt = xs + list(saved[n_args:])
        need = [i for i, x in enumerate(wrt) if x.requires_grad]
        res: list[Optional[Tensor]] = [None] * len(wrt)
        if pairs and need:
            gs = grad(
                [o for o, _ in pairs],
                [wrt[i] for i in need],
                [g for _, g in pairs],
                create_graph=create_graph,
                allow_unused=True,
            )
            for i, g in zip(need, gs):
                res[i] = g
        return res

    new = ops.custom_function(inputs, raw, inputs, "checkpoint", vjp_rule, None)
    for j, k in enumerate(t_out):
        out_leaves[k] = new[j] if differentiable[j] else raw[j]
    return out_td.unflatten(out_leaves)


def checkpoint(
    fun: Optional[Callable[..., Any]] = None,
    *,
    preserve_rng_state: bool = True,
    prevent_cse: bool = True,
    policy: Any = None,
    static_argnums: tuple[int, ...] = (),
) -> Any:
    """``fg.checkpoint(f)`` (``jax.checkpoint``/``jax.remat``): ``f`` with its intermediates
    recomputed in the backward pass instead of kept; same values and gradients.

    ``f`` takes and returns pytrees of tensors (any shapes); as a decorator,
    ``@fg.checkpoint`` or ``@fg.checkpoint(preserve_rng_state=False)``. With
    ``preserve_rng_state`` (default) the recomputation draws the same random numbers
    (dropout masks) as the first run. ``prevent_cse`` and ``static_argnums`` are accepted
    for JAX compatibility (fastgrad has no compiler to merge the two runs, and non-tensor
    arguments pass through as they are); a saving ``policy`` is not supported.
    """
    if policy is not None:
        raise NotImplementedError("checkpoint: saving policies are not supported; everything is recomputed")
    if fun is None:
        return functools.partial(checkpoint, preserve_rng_state=preserve_rng_state)
    check_callable(fun, "checkpoint")

    @functools.wraps(fun)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return _checkpointed(fun, args, kwargs, preserve_rng_state)

    return wrapper


remat = checkpoint
