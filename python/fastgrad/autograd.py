"""Gradient-recording switches and the low-level reverse-mode entry points."""

from __future__ import annotations

import functools
from collections.abc import Sequence

from . import ops
from .ops import Tensor


class _GradMode:
    """Context manager and decorator setting whether ops are recorded on the tape."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._prev: list[bool] = []

    def __enter__(self) -> None:
        self._prev.append(ops.grad_enabled())
        ops.set_grad_enabled(self.enabled)

    def __exit__(self, *exc) -> None:
        ops.set_grad_enabled(self._prev.pop())

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with _GradMode(self.enabled):
                return fn(*args, **kwargs)

        return wrapper


def no_grad() -> _GradMode:
    """``with fg.no_grad():`` — ops inside are not recorded (inference, optimizer steps)."""
    return _GradMode(False)


def enable_grad() -> _GradMode:
    """``with fg.enable_grad():`` — re-enables recording inside a no_grad block."""
    return _GradMode(True)


def is_grad_enabled() -> bool:
    """Whether ops are recorded on the tape in this thread (False inside ``no_grad``)."""
    return ops.grad_enabled()


def backward(
    outputs: Sequence[Tensor],
    grad_outputs: Sequence[Tensor | None] | None = None,
    retain_graph: bool = False,
    create_graph: bool = False,
) -> None:
    """Accumulates d(outputs)/d(leaf) · grad_outputs into each leaf's ``.grad``."""
    outputs = list(outputs)
    grads = list(grad_outputs) if grad_outputs is not None else [None] * len(outputs)
    ops.backward(outputs, grads, retain_graph, create_graph)


def grad(
    outputs,
    inputs,
    grad_outputs=None,
    retain_graph: bool = False,
    create_graph: bool = False,
    allow_unused: bool = False,
) -> tuple:
    """Like ``torch.autograd.grad``: returns gradients without touching ``.grad``."""
    single_out = isinstance(outputs, Tensor)
    outputs = [outputs] if single_out else list(outputs)
    inputs_l = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if grad_outputs is None:
        grads: list[Tensor | None] = [None] * len(outputs)
    else:
        grads = [grad_outputs] if isinstance(grad_outputs, Tensor) else list(grad_outputs)
    return tuple(ops.grad(outputs, grads, inputs_l, retain_graph, create_graph, allow_unused))
