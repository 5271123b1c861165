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


def _seq(x: Tensor | Sequence[Tensor] | None, what: str, op: str) -> list:
    if x is None:
        return []
    if isinstance(x, Tensor):
        return [x]
    try:
        return list(x)
    except TypeError:
        raise TypeError(
            f"autograd.{op}: {what} must be a Tensor or a sequence of Tensors, got {type(x).__name__}"
        ) from None


def _grad_list(grads: Tensor | Sequence[Tensor | None] | None, n: int, op: str) -> list[Tensor | None]:
    if grads is None:
        return [None] * n
    gl: list[Tensor | None] = [grads] if isinstance(grads, Tensor) else list(grads)
    if len(gl) != n:
        raise RuntimeError(f"autograd.{op}: got {len(gl)} gradients for {n} outputs (the counts must match)")
    return gl


def backward(
    tensors: Tensor | Sequence[Tensor],
    grad_tensors: Tensor | Sequence[Tensor | None] | None = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    grad_variables: Tensor | Sequence[Tensor | None] | None = None,
    inputs: Tensor | Sequence[Tensor] | None = None,
) -> None:
    """``torch.autograd.backward``: accumulates Σ_k d(tensors[k])/d(leaf) · grad_tensors[k]
    into each leaf's ``.grad`` (shape of the leaf).

    tensors: a Tensor or a sequence; grad_tensors: one per tensor (its shape; None = 1
    for a one-element tensor). ``retain_graph`` defaults to ``create_graph``. ``inputs``:
    accumulate only into these tensors (leaves or not), leaving every other ``.grad`` alone.
    """
    outs = _seq(tensors, "tensors", "backward")
    if grad_tensors is None:
        grad_tensors = grad_variables  # PyTorch's deprecated spelling
    grads = _grad_list(grad_tensors, len(outs), "backward")
    retain = create_graph if retain_graph is None else bool(retain_graph)
    if inputs is None:
        ops.backward(outs, grads, retain, create_graph)
        return
    ins = _seq(inputs, "inputs", "backward")
    if not ins:
        raise RuntimeError("autograd.backward: 'inputs' argument to backward() cannot be empty")
    gs = ops.grad(outs, grads, ins, retain, create_graph, True)
    for x, g in zip(ins, gs):
        if g is None:
            continue
        if not create_graph:
            g = g.detach()
        if x.grad is None:
            x.grad = g if create_graph else g.clone()
        elif create_graph:
            x.grad = x.grad + g
        else:
            x.grad.add_(g)


def grad(
    outputs: Tensor | Sequence[Tensor],
    inputs: Tensor | Sequence[Tensor],
    grad_outputs: Tensor | Sequence[Tensor | None] | None = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    only_inputs: bool = True,
    allow_unused: bool | None = None,
    is_grads_batched: bool = False,
    materialize_grads: bool = False,
) -> tuple[Tensor | None, ...]:
    """``torch.autograd.grad``: the tuple (Σ_k d(outputs[k])/d(inputs[i]) · grad_outputs[k])_i,
    each of inputs[i]'s shape, without touching any ``.grad``.

    ``retain_graph`` defaults to ``create_graph`` (True: the result is differentiable).
    An input the outputs do not depend on raises RuntimeError unless ``allow_unused``
    (then its entry is None, or zeros of its shape with ``materialize_grads``).
    """
    if is_grads_batched:
        raise NotImplementedError(
            "autograd.grad: is_grads_batched=True is not supported (call grad once per grad_outputs)"
        )
    outs = _seq(outputs, "outputs", "grad")
    ins = _seq(inputs, "inputs", "grad")
    if not ins:
        raise RuntimeError("autograd.grad: grad requires non-empty inputs.")
    grads = _grad_list(grad_outputs, len(outs), "grad")
    if allow_unused is None:
        allow_unused = materialize_grads
    elif materialize_grads and not allow_unused:
        raise ValueError(
            "autograd.grad: expected allow_unused to be True or not passed when materialize_grads=True"
        )
    retain = create_graph if retain_graph is None else bool(retain_graph)
    res = ops.grad(outs, grads, ins, retain, create_graph, bool(allow_unused))
    if materialize_grads:
        from ._tensor import zeros_like

        res = [zeros_like(x) if g is None else g for x, g in zip(ins, res)]
    return tuple(res)
