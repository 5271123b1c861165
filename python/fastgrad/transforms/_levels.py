"""Per-thread transform state and the aliases every transform works on.

Two pieces of state, both per thread: the forward-mode levels pushed by ``jvp`` /
``jacfwd`` (oldest first), and how many reverse transforms are evaluating their
function right now. The aliases are what a transform hands to ``f`` instead of the
caller's tensors, so that nesting composes (see the package docstring).
"""

from __future__ import annotations

import threading

from .. import ops
from .._tensor import full
from ..autograd import is_grad_enabled
from ..ops import Tensor


class _State(threading.local):
    def __init__(self) -> None:
        self.levels: list[int] = []  # forward-mode levels pushed by jvp/jacfwd, oldest first
        self.depth = 0  # reverse transforms currently running their function


state = _State()


class running_reverse:
    """``with running_reverse():`` marks that a reverse transform is evaluating ``f``,
    with grad mode on.

    Whatever ``f`` differentiates inside may be differentiated again by the enclosing
    transform, so inner backward passes must record (see ``needs_create``). A class,
    not a generator: it runs on every transform call.
    """

    __slots__ = ("_prev",)

    def __enter__(self) -> None:
        state.depth += 1
        self._prev = is_grad_enabled()
        ops.set_grad_enabled(True)

    def __exit__(self, *exc: object) -> None:
        ops.set_grad_enabled(self._prev)
        state.depth -= 1


class jvp_level:
    """``with jvp_level() as level:`` pushes one forward-mode level for the block."""

    __slots__ = ("level",)

    def __enter__(self) -> int:
        self.level: int = ops.push_jvp_level()
        state.levels.append(self.level)
        return self.level

    def __exit__(self, *exc: object) -> None:
        state.levels.remove(self.level)
        ops.pop_jvp_level(self.level)


def zeros(x: Tensor) -> Tensor:
    """A zero derivative for ``x``: a new tensor of ``x``'s shape and dtype."""
    return full(x.shape, 0.0, x.dtype)


def keep_tangents(src: Tensor, dst: Tensor) -> Tensor:
    """Copies ``src``'s tangents of every enclosing jvp level onto ``dst`` (same shape)."""
    for level in state.levels:
        t = src._tangent(level)
        if t is not None:
            dst._set_tangent(level, t)
    return dst


def detached(x: Tensor) -> Tensor:
    """``x`` off the tape (zero copy, same shape), keeping the tangents of enclosing jvp levels."""
    return keep_tangents(x, x.detach())


def _tape_alias(x: Tensor) -> Tensor:
    # Two reshapes, because the engine returns x itself for an identity reshape.
    return ops.reshape(ops.unsqueeze(x, 0), x.shape)


def on_tape(x: Tensor) -> bool:
    """True when ops on ``x`` are recorded on a tape (it requires grad, grad mode is on)."""
    return x.requires_grad and is_grad_enabled()


def reverse_alias(x: Tensor) -> Tensor:
    """The input a reverse transform differentiates, shaped like ``x``.

    A zero-copy view recorded on ``x``'s tape when ``x`` is on one (so an enclosing
    transform can differentiate the result), else a fresh detached leaf that requires
    grad. Either way it carries ``x``'s tangents.
    """
    if on_tape(x):
        return _tape_alias(x)
    a = detached(x)
    a.requires_grad = True
    return a


def forward_alias(x: Tensor) -> Tensor:
    """The input a forward transform attaches its tangent to, shaped like ``x``: a view
    on ``x``'s tape when ``x`` is on one, else detached; it carries ``x``'s tangents."""
    return _tape_alias(x) if on_tape(x) else detached(x)


def is_constant(t: Tensor) -> bool:
    """True when nothing can differentiate ``t`` any more (no tape, no live tangent)."""
    if t.requires_grad:
        return False
    return all(t._tangent(level) is None for level in state.levels)
