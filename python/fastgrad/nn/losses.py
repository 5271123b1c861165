"""Losses (cheat sheet "LOSS FUNCTIONS", "LOSS REDUCTIONS & WEIGHTING", "CLASSIFIERS").

Every loss takes ``reduction="mean"|"sum"|"none"`` and optional weights:

* ``weight`` — per-example weights ω (shape ``(B,)``, applied along the batch axis 0).
  ``"mean"`` is the weighted mean Σ_i ω_i ℓ_i / Σ_i ω_i, so zeros act as a mask.
  (This is the cheat sheet's ω, *not* PyTorch's elementwise ``weight`` of the BCE losses,
  nor its per-class ``weight`` of cross-entropy — that one is ``class_weight=`` here.)
* ``dim_weight`` — per-output-dimension weights α (shape ``(d,)``, the last axis) for
  regression-style losses: ℓ_i = Σ_j α_j ℓ_ij / Σ_j α_j.

Without weights, ``"mean"`` averages over every element (as PyTorch); with ``"sum"``
and ``"none"`` the weights multiply the elementwise losses (unnormalised).
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from .. import ops
from .._tensor import as_tensor, float64, int64, tensor
from ..ops import Tensor
from .module import Module

_REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(reduction: str, name: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{name}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _as(x: Any, like: Tensor) -> Tensor:
    """``x`` as a tensor of ``like``'s float dtype (tensors of another float dtype are cast)."""
    if isinstance(x, Tensor):
        if x.dtype != like.dtype and x.dtype.is_floating_point and like.dtype.is_floating_point:
            return x.astype(like.dtype)
        if not x.dtype.is_floating_point and like.dtype.is_floating_point:
            return x.astype(like.dtype)
        return x
    dt = np.float64 if like.dtype == float64 else np.float32
    return tensor(np.asarray(x, dtype=dt), like.dtype)


def _pair(input: Any, target: Any, name: str) -> tuple:
    if not isinstance(input, Tensor):
        input = as_tensor(input)
    target = _as(target, input)
    if tuple(input.shape) != tuple(target.shape):
        raise ValueError(
            f"{name}: input shape {input.shape} and target shape {target.shape} differ "
            f"(reshape one of them; implicit broadcasting here is usually a bug)"
        )
    return input, target


def _example_weight(weight: Any, like: Tensor, n: int, ndim: int, name: str) -> Tensor:
    w = _as(weight, like)
    if w.numel() != n:
        raise ValueError(
            f"{name}: weight (per-example ω) must have {n} entries (batch size), got shape {w.shape}"
        )
    return ops.reshape(w, [n] + [1] * (ndim - 1))


def _reduce(el: Tensor, reduction: str, weight: Any, dim_weight: Any, name: str) -> Tensor:
    """Reduces elementwise losses ``el`` (batch on axis 0, output dims on the last axis)."""
    if weight is None and dim_weight is None:
        if reduction == "mean":
            return ops.mean(el, None, False)
        if reduction == "sum":
            return ops.sum(el, None, False)
        return el
    nd = el.ndim
    if nd == 0:
        raise ValueError(f"{name}: weights need a batched input, got a 0-d loss")
    a = None
    if dim_weight is not None:
        if nd < 2:
            raise ValueError(
                f"{name}: dim_weight (per-dimension α) needs input of shape (B, ..., d), got {el.shape}"
            )
        a = _as(dim_weight, el)
        if a.numel() != el.shape[-1]:
            raise ValueError(
                f"{name}: dim_weight must have {el.shape[-1]} entries (last dim of {el.shape}), "
                f"got shape {a.shape}"
            )
        a = ops.reshape(a, [el.shape[-1]])
    w = _example_weight(weight, el, el.shape[0], nd, name) if weight is not None else None
    if reduction != "mean":
        out = el
        if a is not None:
            out = out * a
        if w is not None:
            out = out * w
        return out if reduction == "none" else ops.sum(out, None, False)
    # per-example loss: α-weighted mean over the last axis, plain mean over the middle axes
    if a is not None:
        per = ops.sum(el * (a / ops.sum(a, None, False)), [nd - 1], False)
    else:
        per = el if nd == 1 else ops.mean(el, [nd - 1], False)
    if per.ndim > 1:
        per = ops.mean(per, list(range(1, per.ndim)), False)
    if w is None:
        return ops.mean(per, None, False)
    w = ops.reshape(w, [-1])
    return ops.sum(per * w, None, False) / ops.sum(w, None, False)


# ------------------------------------------------------------------ regression
def mse_loss(
    input: Tensor, target: Any, reduction: str = "mean", weight: Any = None, dim_weight: Any = None
) -> Tensor:
    """Mean squared error (ŷ − y)²."""
    if (
        reduction == "mean"
        and weight is None
        and dim_weight is None
        and input.__class__ is Tensor
        and target.__class__ is Tensor
        and input.dtype == target.dtype
        and input.shape == target.shape
    ):
        d = input - target  # the common training-loop case, with the least Python overhead
        return ops.mean(d * d, None, False)
    _check_reduction(reduction, "mse_loss")
    input, target = _pair(input, target, "mse_loss")
    d = input - target
    return _reduce(d * d, reduction, weight, dim_weight, "mse_loss")


def l1_loss(
    input: Tensor, target: Any, reduction: str = "mean", weight: Any = None, dim_weight: Any = None
) -> Tensor:
    """Mean absolute error |ŷ − y|."""
    _check_reduction(reduction, "l1_loss")
    input, target = _pair(input, target, "l1_loss")
    return _reduce(ops.abs(input - target), reduction, weight, dim_weight, "l1_loss")


def huber_loss(
    input: Tensor,
    target: Any,
    reduction: str = "mean",
    delta: float = 1.0,
    weight: Any = None,
    dim_weight: Any = None,
) -> Tensor:
    """0.5 d² if |d| < δ else δ(|d| − 0.5 δ), written as 0.5 q² + δ(|d| − q) with q = min(|d|, δ)."""
    _check_reduction(reduction, "huber_loss")
    if delta <= 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta}")
    input, target = _pair(input, target, "huber_loss")
    return _reduce(_huber(ops.abs(input - target), delta), reduction, weight, dim_weight, "huber_loss")


def _huber(a: Tensor, delta: float) -> Tensor:
    """Elementwise Huber of |d| = ``a``: 0.5 q² + δ(|d| − q), q = min(|d|, δ)."""
    q = ops.clip(a, None, float(delta))
    return q * q * 0.5 + (a - q) * float(delta)


def smooth_l1_loss(
    input: Tensor,
    target: Any,
    reduction: str = "mean",
    beta: float = 1.0,
    weight: Any = None,
    dim_weight: Any = None,
) -> Tensor:
    """PyTorch's smooth L1: huber_loss(δ=β) / β, and the L1 loss |d| for β = 0."""
    _check_reduction(reduction, "smooth_l1_loss")
    if not beta >= 0:
        raise ValueError(f"smooth_l1_loss: beta must be >= 0, got {beta}")
    input, target = _pair(input, target, "smooth_l1_loss")
    a = ops.abs(input - target)
    if beta == 0:
        return _reduce(a, reduction, weight, dim_weight, "smooth_l1_loss")
    return _reduce(_huber(a, beta) * (1.0 / beta), reduction, weight, dim_weight, "smooth_l1_loss")


# ------------------------------------------------------------------ binary classification
def binary_cross_entropy_with_logits(
    input: Tensor,
    target: Any,
    weight: Any = None,
    reduction: str = "mean",
    pos_weight: Any = None,
    dim_weight: Any = None,
) -> Tensor:
    """softplus(z) − y·z (stable for any logit z); with ``pos_weight`` p (per class, last
    axis): (1 − y)·z + (1 + (p − 1)·y)·softplus(−z), as PyTorch."""
    _check_reduction(reduction, "binary_cross_entropy_with_logits")
    z, y = _pair(input, target, "binary_cross_entropy_with_logits")
    if pos_weight is None:
        el = ops.softplus(z, 1.0) - y * z
    else:
        p = _as(pos_weight, z)
        el = (1.0 - y) * z + (y * (p - 1.0) + 1.0) * ops.softplus(-z, 1.0)
    return _reduce(el, reduction, weight, dim_weight, "binary_cross_entropy_with_logits")


def binary_cross_entropy(
    input: Tensor, target: Any, weight: Any = None, reduction: str = "mean", dim_weight: Any = None
) -> Tensor:
    """−[y log p + (1 − y) log(1 − p)] on probabilities, logs clamped at −100 (PyTorch)."""
    _check_reduction(reduction, "binary_cross_entropy")
    p, y = _pair(input, target, "binary_cross_entropy")
    a = np.asarray(p.detach())
    if a.size and (np.nanmin(a) < 0 or np.nanmax(a) > 1):
        raise ValueError(
            "binary_cross_entropy: input probabilities must lie in [0, 1] "
            "(use binary_cross_entropy_with_logits on logits)"
        )
    lp = ops.clip(ops.log(p), -100.0, None)
    lq = ops.clip(ops.log(1.0 - p), -100.0, None)
    el = -(y * lp + (1.0 - y) * lq)
    return _reduce(el, reduction, weight, dim_weight, "binary_cross_entropy")


# ------------------------------------------------------------------ multi-class
def _int_targets(target: Any, name: str) -> Optional[np.ndarray]:
    """The targets as an int64 array if they are class indices, else None (probabilities)."""
    if isinstance(target, Tensor):
        return np.asarray(target).astype(np.int64, copy=False) if target.dtype == int64 else None
    a = np.asarray(target)
    if np.issubdtype(a.dtype, np.integer):
        return a.astype(np.int64, copy=False)
    return None


def _class_last(x: Tensor) -> Tensor:
    """(B, K, d...) -> (B·d..., K); (K,) -> (1, K); (B, K) unchanged."""
    if x.ndim == 1:
        return ops.reshape(x, [1, x.shape[0]])
    if x.ndim == 2:
        return x
    perm = [0] + list(range(2, x.ndim)) + [1]
    return ops.reshape(ops.permute(x, perm), [-1, x.shape[1]])


def _nll_core(
    logp: Tensor,
    target: np.ndarray,
    weight: Any,
    class_weight: Any,
    ignore_index: int,
    reduction: str,
    label_smoothing: float,
    name: str,
    logits: bool = False,
) -> Tensor:
    K = logp.shape[1] if logp.ndim >= 2 else logp.shape[0]
    exp_shape = (logp.shape[0],) + tuple(logp.shape[2:]) if logp.ndim >= 2 else ()
    if tuple(target.shape) != exp_shape:
        raise ValueError(
            f"{name}: class-index target of shape {target.shape} does not match input of shape "
            f"{logp.shape} (expected target shape {exp_shape}; class axis is 1)"
        )
    lp = _class_last(logp)  # (M, K)
    M = lp.shape[0]
    y = target.reshape(-1)
    valid = y != ignore_index
    yv = np.where(valid, y, 0)
    if yv.size and (yv.min() < 0 or yv.max() >= K):
        raise IndexError(f"{name}: target class out of range [0, {K}) (got {yv.min()}..{yv.max()})")
    if logits:  # lp holds logits: -log_softmax(z)[y] per row as one primitive
        nll = ops.softmax_cross_entropy(lp, tensor(yv, int64))
    else:
        flat = ops.reshape(lp, [-1])
        nll = -ops.index_select(flat, 0, tensor(np.arange(M, dtype=np.int64) * K + yv, int64))
    simple = weight is None and class_weight is None and label_smoothing == 0.0 and bool(valid.all())
    if simple:
        if reduction == "mean":
            return ops.mean(nll, None, False)
        if reduction == "sum":
            return ops.sum(nll, None, False)
        return ops.reshape(nll, list(target.shape))
    np_dt = np.float64 if lp.dtype == float64 else np.float32
    if class_weight is not None:
        if isinstance(class_weight, Tensor) and class_weight.requires_grad and ops.grad_enabled():
            # it is read as a constant: refuse rather than give it a silent zero gradient (as PyTorch)
            raise RuntimeError(
                f"{name}: class_weight is not differentiable; it cannot have requires_grad=True "
                "(pass class_weight.detach())"
            )
        cw = np.asarray(
            class_weight.detach() if isinstance(class_weight, Tensor) else class_weight, dtype=np.float64
        )
        if cw.shape != (K,):
            raise ValueError(f"{name}: class_weight must have shape ({K},), got {cw.shape}")
        den = cw[yv] * valid
    else:
        cw = None
        den = valid.astype(np.float64)
    num = nll * tensor(den.astype(np_dt), lp.dtype)
    if label_smoothing:
        eps = float(label_smoothing)
        if cw is None:
            sm = -ops.sum(lp, [1], False)
        else:
            sm = -ops.sum(lp * tensor(cw.astype(np_dt), lp.dtype), [1], False)
        num = num * (1.0 - eps) + sm * tensor((valid * (eps / K)).astype(np_dt), lp.dtype)
    if reduction == "mean" and weight is None and M and not valid.any():
        # Every target is ignore_index: the mean is 0/0 = NaN with zero gradients, as PyTorch
        # (its backward skips ignored targets); total / 0 sent inf * 0 = NaN into every gradient.
        return ops.sum(num, None, False) * 0.0 + float("nan")
    return _finish_weighted(num, den, weight, reduction, tuple(target.shape), lp, name)


def _finish_weighted(
    num: Tensor, den: np.ndarray, weight: Any, reduction: str, shape: tuple, lp: Tensor, name: str
) -> Tensor:
    """Σ ω·num / Σ ω·den over the M flattened positions; ω is per example (axis 0)."""
    M = num.shape[0]
    if weight is not None:
        B = shape[0] if shape else 1
        w = _as(weight, lp)
        if w.numel() != B:
            raise ValueError(
                f"{name}: weight (per-example ω) must have {B} entries (batch size), got shape {w.shape}"
            )
        rep = M // B if B else 1  # an empty batch has M = 0 positions
        wm = (
            ops.reshape(ops.broadcast_to(ops.reshape(w, [B, 1]), [B, rep]), [M])
            if rep > 1
            else ops.reshape(w, [M])
        )
        num = num * wm
    if reduction == "none":
        return ops.reshape(num, list(shape))
    total = ops.sum(num, None, False)
    if reduction == "sum":
        return total
    d = tensor(np.asarray(den, dtype=np.float64), lp.dtype)
    if weight is not None:
        d = d * wm
    return total / ops.sum(d, None, False)


def nll_loss(
    input: Tensor,
    target: Any,
    weight: Any = None,
    reduction: str = "mean",
    class_weight: Any = None,
    ignore_index: int = -100,
) -> Tensor:
    """−log p[y] for log-probabilities ``input`` ((B, K), (B, K, d...) or (K,))."""
    _check_reduction(reduction, "nll_loss")
    if not isinstance(input, Tensor):
        input = as_tensor(input)
    t = _int_targets(target, "nll_loss")
    if t is None:
        raise TypeError("nll_loss: target must hold integer class indices")
    return _nll_core(input, t, weight, class_weight, ignore_index, reduction, 0.0, "nll_loss")


def cross_entropy(
    input: Tensor,
    target: Any,
    weight: Any = None,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
    class_weight: Any = None,
    ignore_index: int = -100,
) -> Tensor:
    """logsumexp(z) − z[y] per example (the softmax_cross_entropy primitive over class axis 1).

    ``target`` holds class indices (int) or class probabilities (float, same shape as
    ``input``). ``label_smoothing`` ε mixes the target with the uniform distribution
    (PyTorch's formula, including with ``class_weight``).
    """
    _check_reduction(reduction, "cross_entropy")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    if not isinstance(input, Tensor):
        input = as_tensor(input)
    if input.ndim == 0:
        raise ValueError("cross_entropy: input must have a class axis, got a 0-d tensor")
    cax = 1 if input.ndim >= 2 else 0

    t = _int_targets(target, "cross_entropy")
    if t is not None and not label_smoothing:
        return _nll_core(input, t, weight, class_weight, ignore_index, reduction, 0.0, "cross_entropy", True)
    if t is not None:
        logp = ops.log_softmax(input, cax)
        return _nll_core(
            logp, t, weight, class_weight, ignore_index, reduction, float(label_smoothing), "cross_entropy"
        )
    q = _as(target, input)
    if tuple(q.shape) != tuple(input.shape):
        raise ValueError(
            f"cross_entropy: probability target of shape {q.shape} must match input of shape {input.shape}"
        )
    K = input.shape[cax]
    if label_smoothing:
        q = q * (1.0 - label_smoothing) + label_smoothing / K
    lp = _class_last(input)  # logits, (M, K)
    ql = _class_last(q)
    if class_weight is not None:
        cw = _as(class_weight, input)
        if cw.numel() != K:
            raise ValueError(f"cross_entropy: class_weight must have {K} entries, got shape {cw.shape}")
        ql = ql * ops.reshape(cw, [K])
    per = ops.softmax_cross_entropy(lp, ql)  # (M,): -sum_k q_k log_softmax(z)_k
    shape = (input.shape[0],) + tuple(input.shape[2:]) if input.ndim >= 2 else ()
    if weight is None:
        if reduction == "mean":
            return ops.mean(per, None, False)
        if reduction == "sum":
            return ops.sum(per, None, False)
        return ops.reshape(per, list(shape))
    return _finish_weighted(per, np.ones(per.shape[0]), weight, reduction, shape, lp, "cross_entropy")


# ------------------------------------------------------------------ loss modules
class _Loss(Module):
    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        _check_reduction(reduction, type(self).__name__)
        self.reduction = reduction

    def extra_repr(self) -> str:
        """``reduction='...'``."""
        return f"reduction={self.reduction!r}"


class MSELoss(_Loss):
    """Mean squared error (``mse_loss``): input, target: the same (broadcastable) shape
    -> a scalar (reduction "mean"/"sum") or per element ("none")."""

    def __init__(self, reduction: str = "mean", dim_weight: Any = None) -> None:
        super().__init__(reduction)
        self.dim_weight = dim_weight

    def forward(self, input: Tensor, target: Any, weight: Any = None) -> Tensor:
        """input, target: (N, ...); weight: optional per-example (N,) weights -> the loss."""
        return mse_loss(input, target, self.reduction, weight, self.dim_weight)


class L1Loss(MSELoss):
    """Mean absolute error (``l1_loss``); shapes as MSELoss."""

    def forward(self, input: Tensor, target: Any, weight: Any = None) -> Tensor:
        """input, target: (N, ...); weight: optional per-example (N,) weights -> the loss."""
        return l1_loss(input, target, self.reduction, weight, self.dim_weight)


class HuberLoss(_Loss):
    """Huber loss with threshold ``delta`` (``huber_loss``); shapes as MSELoss."""

    def __init__(self, reduction: str = "mean", delta: float = 1.0, dim_weight: Any = None) -> None:
        super().__init__(reduction)
        self.delta = delta
        self.dim_weight = dim_weight

    def forward(self, input: Tensor, target: Any, weight: Any = None) -> Tensor:
        """input, target: (N, ...); weight: optional per-example (N,) weights -> the loss."""
        return huber_loss(input, target, self.reduction, self.delta, weight, self.dim_weight)


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy on logits (``binary_cross_entropy_with_logits``): input,
    target in [0, 1] of the same shape; ``pos_weight`` per class (last axis)."""

    def __init__(self, reduction: str = "mean", pos_weight: Any = None) -> None:
        super().__init__(reduction)
        self.pos_weight = pos_weight

    def forward(self, input: Tensor, target: Any, weight: Any = None) -> Tensor:
        """input: logits (N, ...), target: (N, ...); weight: optional (N,) -> the loss."""
        return binary_cross_entropy_with_logits(input, target, weight, self.reduction, self.pos_weight)


class BCELoss(_Loss):
    """Binary cross-entropy on probabilities (``binary_cross_entropy``); log terms clamped at −100."""

    def forward(self, input: Tensor, target: Any, weight: Any = None) -> Tensor:
        """input: probabilities (N, ...), target: (N, ...); weight: optional (N,) -> the loss."""
        return binary_cross_entropy(input, target, weight, self.reduction)


class CrossEntropyLoss(_Loss):
    """Softmax cross-entropy (``cross_entropy``): logits (N, K) or (N, K, d...) with integer
    class targets (N,) / (N, d...) or class probabilities of the logits' shape;
    ``label_smoothing``, ``class_weight`` (K,), ``ignore_index`` as PyTorch."""

    def __init__(
        self,
        reduction: str = "mean",
        label_smoothing: float = 0.0,
        class_weight: Any = None,
        ignore_index: int = -100,
    ) -> None:
        super().__init__(reduction)
        self.label_smoothing = label_smoothing
        self.class_weight = class_weight
        self.ignore_index = ignore_index

    def forward(self, input: Tensor, target: Any, weight: Any = None) -> Tensor:
        """input: logits (N, K, ...), target: classes (N, ...) or probabilities; weight:
        optional per-example (N,) -> the loss."""
        return cross_entropy(
            input, target, weight, self.reduction, self.label_smoothing, self.class_weight, self.ignore_index
        )


class NLLLoss(_Loss):
    """Negative log-likelihood of log-probabilities (``nll_loss``): input (N, K, ...),
    integer target (N, ...); ``class_weight`` (K,), ``ignore_index`` as PyTorch."""

    def __init__(self, reduction: str = "mean", class_weight: Any = None, ignore_index: int = -100) -> None:
        super().__init__(reduction)
        self.class_weight = class_weight
        self.ignore_index = ignore_index

    def forward(self, input: Tensor, target: Any, weight: Any = None) -> Tensor:
        """input: log-probabilities (N, K, ...), target: (N, ...); weight: optional (N,) -> the loss."""
        return nll_loss(input, target, weight, self.reduction, self.class_weight, self.ignore_index)
