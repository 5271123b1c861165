"""Gradient clipping (cheat sheet "PRACTICAL EXTRAS": clip the global norm)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._tensor import float32, full
from ..ops import Tensor


def _grads(parameters: Any) -> list[Tensor]:
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad for p in parameters if p.grad is not None]


def clip_grad_norm_(
    parameters: Any,
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
    foreach: bool | None = None,
) -> Tensor:
    """Scales all gradients together so their global norm is at most ``max_norm``
    (coefficient max_norm / (norm + 1e-6), as PyTorch). Returns the norm before clipping.

    parameters: a Tensor or an iterable of Tensors (any shapes; those without ``.grad`` are
    skipped), their gradients scaled in place. Returns a 0-d Tensor (the gradients' dtype).
    ``foreach`` (PyTorch's kernel choice) is accepted and has no effect here.
    """
    if isinstance(max_norm, bool) or not isinstance(max_norm, (int, float)):
        raise TypeError(f"clip_grad_norm_: max_norm must be a number, got {type(max_norm).__name__}")
    grads = _grads(parameters)
    if not grads:
        return full((), 0.0, dtype=float32)
    # the norm in float64 on the host: one pass over contiguous buffers, no graph
    arrs = [np.asarray(g) for g in grads]
    norm_type = float(norm_type)  # PyTorch accepts "inf" too
    if norm_type == math.inf:
        total = max(float(np.max(np.abs(a))) if a.size else 0.0 for a in arrs)
    else:
        nt = float(norm_type)
        if nt == 2.0:
            total = math.sqrt(
                sum(float(np.vdot(a.ravel().astype(np.float64), a.ravel().astype(np.float64))) for a in arrs)
            )
        else:
            total = sum(float(np.sum(np.abs(a.astype(np.float64)) ** nt)) for a in arrs) ** (1.0 / nt)
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(f"clip_grad_norm_: the total norm of order {norm_type} is non-finite ({total})")
    coef = float(max_norm) / (total + 1e-6)
    if coef < 1.0:
        for g, a in zip(grads, arrs):
            a *= a.dtype.type(coef)
            g._bump_version()
    return full((), total, dtype=grads[0].dtype)


def clip_grad_value_(parameters: Any, clip_value: float, foreach: bool | None = None) -> None:
    """Clamps every gradient entry to [−clip_value, clip_value], in place.

    parameters: a Tensor or an iterable of Tensors (any shapes; those without ``.grad`` are
    skipped). ``foreach`` is accepted (PyTorch's kernel choice) and has no effect.
    """
    for g in _grads(parameters):
        a = np.asarray(g)
        np.clip(a, -clip_value, clip_value, out=a)
        g._bump_version()
