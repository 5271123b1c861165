"""Losses (cheat sheet "LOSS FUNCTIONS", "LOSS REDUCTIONS & WEIGHTING", "CLASSIFIERS").

The rule: ``weight=`` means exactly what PyTorch documents for that loss, everywhere
(functions, module constructors); fastgrad's own weights have their own keywords.

* ``weight`` (PyTorch's): per class ``(K,)`` in ``cross_entropy``/``nll_loss`` (and
  their modules; "mean" = Σ w_{y_i} ℓ_i / Σ w_{y_i}); an elementwise rescaling
  broadcast to the input in ``binary_cross_entropy(_with_logits)`` (plain mean of w·ℓ);
  an elementwise weight of the input's shape in ``mse_loss``/``l1_loss`` ("mean" =
  Σ wℓ / Σ w) and ``huber_loss`` (plain mean of w·ℓ), as torch 2.13. Never guessed
  from its shape.
* ``sample_weight`` — the cheat sheet's per-example weights ω ("LOSS REDUCTIONS &
  WEIGHTING"): shape ``(B,)``, along the batch axis 0. ``"mean"`` is the weighted mean
  Σ_i ω_i ℓ_i / Σ_i ω_i (ℓ_i the example's mean loss), so zeros act as a mask; ``"sum"``
  and ``"none"`` multiply the losses by ω. Keyword-only, on the functions and on the
  ``forward`` of their modules (``loss(pred, y, sample_weight=ω)``, as ``fit`` calls it).
* ``dim_weight`` — the cheat sheet's per-output-dimension weights α (shape ``(d,)``, the
  last axis) of the regression/BCE losses: ℓ_i = Σ_j α_j ℓ_ij / Σ_j α_j.

Combining them: in cross-entropy/NLL, ω and the per-class weight multiply, "mean" =
Σ ω_i w_{y_i} ℓ_i / Σ ω_i w_{y_i}; in the BCE losses PyTorch's weight rescales each
element first and ω/α then reduce the rescaled losses; ``mse_loss``/``l1_loss``/
``huber_loss`` reject PyTorch's elementwise weight together with ω or α (its "mean"
already normalises by Σ w; give one kind). Without weights "mean" averages over every
element, as PyTorch.

The loss *modules* take PyTorch's constructor arguments, including its ``weight`` (kept
as a buffer, as torch) and the deprecated ``size_average``/``reduce`` pair.
"""

from __future__ import annotations

import warnings
from typing import Any, Optional

import numpy as np

from .. import ops
from .._tensor import as_tensor, float64, int64, ones_like, tensor, zeros_like
from ..ops import Tensor
from .module import Module

_REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(reduction: str, name: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{name}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _legacy_reduction(size_average: Optional[bool], reduce: Optional[bool], reduction: str, name: str) -> str:
    """PyTorch's deprecated ``size_average``/``reduce`` pair, when given, overrides ``reduction``
    (torch's ``_Reduction.legacy_get_string``)."""
    if size_average is None and reduce is None:
        _check_reduction(reduction, name)
        return reduction
    if isinstance(size_average, str) or isinstance(reduce, str):
        # a reduction passed positionally into PyTorch's deprecated slots
        raise TypeError(
            f"{name}: size_average/reduce are PyTorch's deprecated bool flags; pass "
            f"reduction={size_average if isinstance(size_average, str) else reduce!r} by keyword"
        )
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    if not reduce:
        return "none"
    return "mean" if size_average else "sum"


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


def _pair(input: Any, target: Any, name: str, rule: str = "broadcast") -> tuple:
    """``input`` and ``target`` as tensors whose shapes follow PyTorch's rule for that loss:

    * "broadcast" — they broadcast (torch's poisson_nll, hinge_embedding,
      multilabel_soft_margin);
    * "warn" — they broadcast with PyTorch's UserWarning (mse, l1, huber, smooth_l1: a
      target of another shape is usually a bug there, so torch warns but computes);
    * "to_input" — the target broadcasts to the input's shape (soft_margin: torch writes
      into an output of the input's shape);
    * "same" — the shapes must be equal (the BCE losses refuse, as torch).

    Shapes that do not broadcast raise a ValueError naming the loss and both shapes."""
    if not isinstance(input, Tensor):
        input = as_tensor(input)
    target = _as(target, input)
    xs, ts = tuple(input.shape), tuple(target.shape)
    if xs == ts:
        return input, target
    if rule == "same":
        raise ValueError(f"{name}: target shape {target.shape} must be the same as input shape {input.shape}")
    try:
        out = np.broadcast_shapes(xs, ts)
    except ValueError:
        out = None
    if out is None or (rule == "to_input" and out != xs):
        want = "broadcast to the input's shape" if rule == "to_input" else "broadcast together"
        raise ValueError(f"{name}: input shape {input.shape} and target shape {target.shape} do not {want}")
    if rule == "warn":
        warnings.warn(
            f"{name}: using a target size {target.shape} that is different to the input size "
            f"{input.shape}. This will likely lead to incorrect results due to broadcasting. "
            "Please ensure they have the same size.",
            UserWarning,
            stacklevel=3,
        )
    return input, target


def _shape_of(x: Any) -> tuple:
    return tuple(x.shape if isinstance(x, Tensor) else np.shape(x))


def _example_weight(sample_weight: Any, like: Tensor, n: int, ndim: int, name: str) -> Tensor:
    w = _as(sample_weight, like)
    if w.ndim != 1 or w.numel() != n:
        raise ValueError(
            f"{name}: sample_weight (per-example ω) must have shape ({n},) (the batch size), "
            f"got shape {w.shape}"
        )
    return ops.reshape(w, [n] + [1] * (ndim - 1))


def _elementwise_weight(el: Tensor, weight: Any, mode: str, name: str) -> Tensor:
    """PyTorch's elementwise ``weight`` times the elementwise losses: "same" — it must have
    the input's shape (torch 2.13's mse/l1/huber); "broadcast" — it broadcasts to it (BCE)."""
    wshape, shape = _shape_of(weight), tuple(el.shape)
    if mode == "same" and wshape != shape:
        raise ValueError(f"{name}: weight must have the input's shape {shape}, got {wshape}")
    if mode == "broadcast":
        try:
            ok = np.broadcast_shapes(wshape, shape) == shape
        except ValueError:
            ok = False
        if not ok:
            raise ValueError(
                f"{name}: weight of shape {wshape} does not broadcast to the input's shape {shape}"
            )
    return el * _as(weight, el)


def _torch_weighted(el: Tensor, weight: Any, reduction: str, ratio: bool, name: str, extra: bool) -> Tensor:
    """mse/l1 ("mean" = Σ wℓ / Σ w, ``ratio``) and huber ("mean" = mean(wℓ)) with torch's weight."""
    if extra:
        raise ValueError(
            f"{name}: PyTorch's elementwise weight= cannot be combined with sample_weight/dim_weight "
            "(its 'mean' already normalises by the weights); give one kind"
        )
    we = _as(weight, el)
    out = _elementwise_weight(el, we, "same", name)
    if reduction == "none":
        return out
    if reduction == "mean" and not ratio:
        return ops.mean(out, None, False)
    total = ops.sum(out, None, False)
    return total if reduction == "sum" else total / ops.sum(we, None, False)


def _reduce(el: Tensor, reduction: str, sample_weight: Any, dim_weight: Any, name: str) -> Tensor:
    """Reduces elementwise losses ``el`` (batch on axis 0, output dims on the last axis) with
    the cheat sheet's ω (``sample_weight``) and α (``dim_weight``)."""
    if sample_weight is None and dim_weight is None:
        if reduction == "mean":
            return ops.mean(el, None, False)
        if reduction == "sum":
            return ops.sum(el, None, False)
        return el
    nd = el.ndim
    if nd == 0:
        raise ValueError(f"{name}: sample_weight/dim_weight need a batched input, got a 0-d loss")
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
    w = _example_weight(sample_weight, el, el.shape[0], nd, name) if sample_weight is not None else None
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
    input: Tensor,
    target: Any,
    size_average: Optional[bool] = None,
    reduce: Optional[bool] = None,
    reduction: str = "mean",
    weight: Any = None,
    *,
    sample_weight: Any = None,
    dim_weight: Any = None,
) -> Tensor:
    """Mean squared error (ŷ − y)²; input, target: the same shape -> a scalar (or that shape
    with reduction "none"; other shapes broadcast with PyTorch's warning); ``weight``: PyTorch's elementwise weight (the input's shape),
    ``sample_weight`` ω (B,), ``dim_weight`` α (d,) (see the module docstring)."""
    if size_average is not None or reduce is not None:
        reduction = _legacy_reduction(size_average, reduce, reduction, "mse_loss")
    if (
        reduction == "mean"
        and weight is None
        and sample_weight is None
        and dim_weight is None
        and input.__class__ is Tensor
        and target.__class__ is Tensor
        and input.dtype == target.dtype
        and input.shape == target.shape
    ):
        d = input - target  # the common training-loop case, with the least Python overhead
        return ops.mean(d * d, None, False)
    _check_reduction(reduction, "mse_loss")
    input, target = _pair(input, target, "mse_loss", "warn")
    d = input - target
    if weight is not None:
        extra = sample_weight is not None or dim_weight is not None
        return _torch_weighted(d * d, weight, reduction, True, "mse_loss", extra)
    return _reduce(d * d, reduction, sample_weight, dim_weight, "mse_loss")


def l1_loss(
    input: Tensor,
    target: Any,
    size_average: Optional[bool] = None,
    reduce: Optional[bool] = None,
    reduction: str = "mean",
    weight: Any = None,
    *,
    sample_weight: Any = None,
    dim_weight: Any = None,
) -> Tensor:
    """Mean absolute error |ŷ − y|; input, target: the same shape (other shapes broadcast
    with PyTorch's warning); weights as ``mse_loss``."""
    reduction = _legacy_reduction(size_average, reduce, reduction, "l1_loss")
    input, target = _pair(input, target, "l1_loss", "warn")
    el = ops.abs(input - target)
    if weight is not None:
        extra = sample_weight is not None or dim_weight is not None
        return _torch_weighted(el, weight, reduction, True, "l1_loss", extra)
    return _reduce(el, reduction, sample_weight, dim_weight, "l1_loss")


def huber_loss(
    input: Tensor,
    target: Any,
    reduction: str = "mean",
    delta: float = 1.0,
    weight: Any = None,
    *,
    sample_weight: Any = None,
    dim_weight: Any = None,
) -> Tensor:
    """0.5 d² if |d| < δ else δ(|d| − 0.5 δ), written as 0.5 q² + δ(|d| − q) with q = min(|d|, δ);
    input, target: the same shape (other shapes broadcast with PyTorch's warning);
    ``weight``: PyTorch's elementwise weight (mean(w·ℓ))."""
    _check_reduction(reduction, "huber_loss")
    if delta <= 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta}")
    input, target = _pair(input, target, "huber_loss", "warn")
    el = _huber(ops.abs(input - target), delta)
    if weight is not None:
        extra = sample_weight is not None or dim_weight is not None
        return _torch_weighted(el, weight, reduction, False, "huber_loss", extra)
    return _reduce(el, reduction, sample_weight, dim_weight, "huber_loss")


def _huber(a: Tensor, delta: float) -> Tensor:
    """Elementwise Huber of |d| = ``a``: 0.5 q² + δ(|d| − q), q = min(|d|, δ)."""
    q = ops.clip(a, None, float(delta))
    return q * q * 0.5 + (a - q) * float(delta)


def smooth_l1_loss(
    input: Tensor,
    target: Any,
    size_average: Optional[bool] = None,
    reduce: Optional[bool] = None,
    reduction: str = "mean",
    beta: float = 1.0,
    *,
    sample_weight: Any = None,
    dim_weight: Any = None,
) -> Tensor:
    """PyTorch's smooth L1: huber_loss(δ=β) / β, and the L1 loss |d| for β = 0; input,
    target: the same shape (other shapes broadcast with PyTorch's warning; PyTorch's has
    no ``weight``)."""
    reduction = _legacy_reduction(size_average, reduce, reduction, "smooth_l1_loss")
    if not beta >= 0:
        raise ValueError(f"smooth_l1_loss: beta must be >= 0, got {beta}")
    input, target = _pair(input, target, "smooth_l1_loss", "warn")
    a = ops.abs(input - target)
    if beta == 0:
        return _reduce(a, reduction, sample_weight, dim_weight, "smooth_l1_loss")
    return _reduce(_huber(a, beta) * (1.0 / beta), reduction, sample_weight, dim_weight, "smooth_l1_loss")


# ------------------------------------------------------------------ binary classification
def binary_cross_entropy_with_logits(
    input: Tensor,
    target: Any,
    weight: Any = None,
    size_average: Optional[bool] = None,
    reduce: Optional[bool] = None,
    reduction: str = "mean",
    pos_weight: Any = None,
    *,
    sample_weight: Any = None,
    dim_weight: Any = None,
) -> Tensor:
    """softplus(z) − y·z (stable for any logit z); with ``pos_weight`` p (per class, last
    axis): (1 − y)·z + (1 + (p − 1)·y)·softplus(−z), as PyTorch. input, target: the same
    shape; ``weight`` (PyTorch's) rescales each element, broadcast to the input."""
    name = "binary_cross_entropy_with_logits"
    reduction = _legacy_reduction(size_average, reduce, reduction, name)
    z, y = _pair(input, target, name, "same")
    if pos_weight is None:
        el = ops.softplus(z, 1.0) - y * z
    else:
        p = _as(pos_weight, z)
        el = (1.0 - y) * z + (y * (p - 1.0) + 1.0) * ops.softplus(-z, 1.0)
    if weight is not None:
        el = _elementwise_weight(el, weight, "broadcast", name)
    return _reduce(el, reduction, sample_weight, dim_weight, name)


def binary_cross_entropy(
    input: Tensor,
    target: Any,
    weight: Any = None,
    size_average: Optional[bool] = None,
    reduce: Optional[bool] = None,
    reduction: str = "mean",
    *,
    sample_weight: Any = None,
    dim_weight: Any = None,
) -> Tensor:
    """−[y log p + (1 − y) log(1 − p)] on probabilities, logs clamped at −100 (PyTorch);
    input, target: the same shape; ``weight`` (PyTorch's) rescales each element, broadcast
    to the input."""
    name = "binary_cross_entropy"
    reduction = _legacy_reduction(size_average, reduce, reduction, name)
    p, y = _pair(input, target, name, "same")
    a = np.asarray(p.detach()) if not p._is_batched else np.zeros(0)  # vmap: no values to check
    if a.size and (np.nanmin(a) < 0 or np.nanmax(a) > 1):
        raise ValueError(
            "binary_cross_entropy: input probabilities must lie in [0, 1] "
            "(use binary_cross_entropy_with_logits on logits)"
        )
    lp = ops.clip(ops.log(p), -100.0, None)
    lq = ops.clip(ops.log(1.0 - p), -100.0, None)
    el = -(y * lp + (1.0 - y) * lq)
    if weight is not None:
        el = _elementwise_weight(el, weight, "broadcast", name)
    return _reduce(el, reduction, sample_weight, dim_weight, name)


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


def _class_index_targets(target: Any) -> Optional[Tensor]:
    """Class-index targets as an int64 Tensor (kept as it is when it is one: inside vmap a
    per-example target is a batched tensor, whose values cannot be read), else None."""
    if isinstance(target, Tensor):
        return target if target.dtype == int64 else None
    t = _int_targets(target, "")
    return None if t is None else tensor(t, int64)


def _nll_core(
    logp: Tensor,
    target: Tensor,
    sample_weight: Any,
    weight: Any,
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
            f"{name}: class-index target of shape {tuple(target.shape)} does not match input of shape "
            f"{logp.shape} (expected target shape {exp_shape}; class axis is 1)"
        )
    lp = _class_last(logp)  # (M, K)
    M = lp.shape[0]
    y = ops.reshape(target, [-1])
    # The checks and shortcuts that read target values; a batched target (vmap) has none, so
    # its range is checked by the kernels on the whole batch and the general formula runs.
    known = not target._is_batched
    if known:
        ya = np.asarray(y)
        valid_np = ya != ignore_index
        yv_np = np.where(valid_np, ya, 0)
        if yv_np.size and (yv_np.min() < 0 or yv_np.max() >= K):
            raise IndexError(f"{name}: target class out of range [0, {K}) (got {yv_np.min()}..{yv_np.max()})")
    valid = ops.ne(y, ignore_index)
    yv = ops.where(valid, y, tensor(0, int64))
    if logits:  # lp holds logits: -log_softmax(z)[y] per row as one primitive
        nll = ops.softmax_cross_entropy(lp, yv)
    else:
        flat = ops.reshape(lp, [-1])
        nll = -ops.index_select(flat, 0, tensor(np.arange(M, dtype=np.int64) * K, int64) + yv)
    simple = (
        sample_weight is None and weight is None and label_smoothing == 0.0 and known and bool(valid_np.all())
    )
    if simple:
        if reduction == "mean":
            return ops.mean(nll, None, False)
        if reduction == "sum":
            return ops.sum(nll, None, False)
        return ops.reshape(nll, list(target.shape))
    np_dt = np.float64 if lp.dtype == float64 else np.float32
    valid_f = valid.astype(lp.dtype)
    if weight is not None:
        if isinstance(weight, Tensor) and weight.requires_grad and ops.grad_enabled():
            # it is read as a constant: refuse rather than give it a silent zero gradient (as PyTorch)
            raise RuntimeError(
                f"{name}: weight is not differentiable; it cannot have requires_grad=True "
                "(pass weight.detach())"
            )
        cw = np.asarray(weight.detach() if isinstance(weight, Tensor) else weight, dtype=np.float64)
        if cw.shape != (K,):
            raise ValueError(f"{name}: weight (per class) must have shape ({K},), got {cw.shape}")
        den = ops.index_select(tensor(cw.astype(np_dt), lp.dtype), 0, yv) * valid_f
    else:
        cw = None
        den = valid_f
    num = nll * den
    if label_smoothing:
        eps = float(label_smoothing)
        if cw is None:
            sm = -ops.sum(lp, [1], False)
        else:
            sm = -ops.sum(lp * tensor(cw.astype(np_dt), lp.dtype), [1], False)
        num = num * (1.0 - eps) + sm * (valid_f * (eps / K))
    if reduction == "mean" and sample_weight is None and M and known and not valid_np.any():
        # Every target is ignore_index: the mean is 0/0 = NaN with zero gradients, as PyTorch
        # (its backward skips ignored targets); total / 0 sent inf * 0 = NaN into every gradient.
        return ops.sum(num, None, False) * 0.0 + float("nan")
    return _finish_weighted(num, den, sample_weight, reduction, tuple(target.shape), lp, name)


def _finish_weighted(
    num: Tensor, den: Tensor, sample_weight: Any, reduction: str, shape: tuple, lp: Tensor, name: str
) -> Tensor:
    """Σ ω·num / Σ ω·den over the M flattened positions; ω is per example (axis 0)."""
    M = num.shape[0]
    if sample_weight is not None:
        B = shape[0] if shape else 1
        w = _as(sample_weight, lp)
        if w.ndim != 1 or w.numel() != B:
            raise ValueError(
                f"{name}: sample_weight (per-example ω) must have shape ({B},) (the batch size), "
                f"got shape {w.shape}"
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
    d = den
    if sample_weight is not None:
        d = d * wm
    return total / ops.sum(d, None, False)


def nll_loss(
    input: Tensor,
    target: Any,
    weight: Any = None,
    size_average: Optional[bool] = None,
    ignore_index: int = -100,
    reduce: Optional[bool] = None,
    reduction: str = "mean",
    *,
    sample_weight: Any = None,
) -> Tensor:
    """−log p[y] for log-probabilities ``input`` ((B, K), (B, K, d...) or (K,)), integer
    ``target`` (B,) / (B, d...) / (); ``weight``: PyTorch's per-class weight (K,)
    ("mean" = Σ w_{y_i} ℓ_i / Σ w_{y_i}); ``sample_weight``: the per-example ω (B,)."""
    reduction = _legacy_reduction(size_average, reduce, reduction, "nll_loss")
    if not isinstance(input, Tensor):
        input = as_tensor(input)
    t = _class_index_targets(target)
    if t is None:
        raise TypeError("nll_loss: target must hold integer class indices")
    return _nll_core(input, t, sample_weight, weight, ignore_index, reduction, 0.0, "nll_loss")


def cross_entropy(
    input: Tensor,
    target: Any,
    weight: Any = None,
    size_average: Optional[bool] = None,
    ignore_index: int = -100,
    reduce: Optional[bool] = None,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
    *,
    sample_weight: Any = None,
) -> Tensor:
    """logsumexp(z) − z[y] per example (the softmax_cross_entropy primitive over class axis 1).

    ``input``: logits (B, K), (B, K, d...) or (K,). ``target`` holds class indices (int,
    (B,) / (B, d...) / ()) or class probabilities (float, the input's shape).
    ``weight``: PyTorch's per-class weight (K,) (index targets: "mean" = Σ w_{y_i} ℓ_i /
    Σ w_{y_i}; probability targets: ℓ_i = −Σ_k w_k q_ik log p_ik, plain mean).
    ``label_smoothing`` ε mixes the target with the uniform distribution (PyTorch's
    formula, including with ``weight``). ``sample_weight``: the per-example ω (B,).
    """
    reduction = _legacy_reduction(size_average, reduce, reduction, "cross_entropy")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    if not isinstance(input, Tensor):
        input = as_tensor(input)
    if input.ndim == 0:
        raise ValueError("cross_entropy: input must have a class axis, got a 0-d tensor")
    cax = 1 if input.ndim >= 2 else 0

    t = _class_index_targets(target)
    if t is not None and not label_smoothing:
        return _nll_core(input, t, sample_weight, weight, ignore_index, reduction, 0.0, "cross_entropy", True)
    if t is not None:
        logp = ops.log_softmax(input, cax)
        return _nll_core(
            logp, t, sample_weight, weight, ignore_index, reduction, float(label_smoothing), "cross_entropy"
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
    if weight is not None:
        cw = _as(weight, input)
        if cw.numel() != K:
            raise ValueError(f"cross_entropy: weight (per class) must have shape ({K},), got {cw.shape}")
        ql = ql * ops.reshape(cw, [K])
    per = ops.softmax_cross_entropy(lp, ql)  # (M,): -sum_k q_k log_softmax(z)_k
    shape = (input.shape[0],) + tuple(input.shape[2:]) if input.ndim >= 2 else ()
    if sample_weight is None:
        if reduction == "mean":
            return ops.mean(per, None, False)
        if reduction == "sum":
            return ops.sum(per, None, False)
        return ops.reshape(per, list(shape))
    return _finish_weighted(per, ones_like(per), sample_weight, reduction, shape, lp, "cross_entropy")


# ------------------------------------------------------------------ PyTorch's remaining losses
# Each is a composite of differentiable fastgrad ops (gradients and tangents come from the
# primitives); the formulas are those of the torch.nn documentation, with its reductions.
def _plain_reduce(el: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return ops.mean(el, None, False)
    if reduction == "sum":
        return ops.sum(el, None, False)
    return el


def _t(x: Any, like: Optional[Tensor] = None) -> Tensor:
    if like is not None:
        return _as(x, like)
    return x if isinstance(x, Tensor) else as_tensor(x)


def _log1pexp(z: Tensor) -> Tensor:
    """log(1 + exp(z)) = max(z, 0) + log1p(exp(−|z|)), exact for every z (softplus's
    threshold shortcut would cut the gradient's tail)."""
    return ops.relu(z) + ops.log1p(ops.exp(-ops.abs(z)))


def _const(a: np.ndarray, like: Tensor) -> Tensor:
    return tensor(np.asarray(a, dtype=np.float64 if like.dtype == float64 else np.float32), like.dtype)


def kl_div(
    input: Tensor,
    target: Any,
    size_average: Optional[bool] = None,
    reduce: Optional[bool] = None,
    reduction: str = "mean",
    log_target: bool = False,
) -> Tensor:
    """Kullback-Leibler divergence with ``input`` = log q: ℓ = p·(log p − log q) (0 where
    p = 0), or exp(t)·(t − log q) for ``log_target`` t = log p. ``reduction`` also takes
    "batchmean" (sum / batch size, the true KL divergence per example). Any shape."""
    if reduction == "batchmean" and size_average is None and reduce is None:
        red = "batchmean"
    else:
        red = _legacy_reduction(size_average, reduce, reduction, "kl_div")
    x = _t(input)
    t = _as(target, x)
    if log_target:
        el = ops.exp(t) * (t - x)
    else:
        pos = t > 0.0
        safe = ops.where(pos, t, t.detach() * 0.0 + 1.0)  # log of 1 where p = 0: no NaN in the VJP
        el = ops.where(pos, t * ops.log(safe), t * 0.0) - t * x  # xlogy(t, t) − t·x
    if red == "batchmean":
        n = x.shape[0] if x.ndim else 1
        return ops.sum(el, None, False) * (1.0 / n) if n else ops.sum(el, None, False) * float("nan")
    return _plain_reduce(el, red)


def cosine_embedding_loss(
    input1: Tensor,
    input2: Tensor,
    target: Any,
    margin: float = 0.0,
    size_average: Optional[bool] = None,
    reduce: Optional[bool] = None,
    reduction: str = "mean",
) -> Tensor:
    """input1, input2: (N, D) or (D,), target y: (N,) or () of ±1 -> 1 − cos(x1, x2) where
    y = 1, max(0, cos(x1, x2) − margin) where y = −1 (cos with PyTorch's ε = 1e-12 in
    each squared norm)."""
    red = _legacy_reduction(size_average, reduce, reduction, "cosine_embedding_loss")
    a = _t(input1)
    b = _as(input2, a)
    if a.ndim not in (1, 2) or tuple(a.shape) != tuple(b.shape):
        raise ValueError(
            f"cosine_embedding_loss: input1 {a.shape} and input2 {b.shape} must both be (N, D) or (D,)"
        )
    y = _as(target, a)
    exp_t = tuple(a.shape[:-1])
    if tuple(y.shape) != exp_t:
        raise ValueError(f"cosine_embedding_loss: target must have shape {exp_t}, got {y.shape}")
    ax = a.ndim - 1
    dot = ops.sum(a * b, [ax], False)
    m1 = ops.sum(a * a, [ax], False) + 1e-12
    m2 = ops.sum(b * b, [ax], False) + 1e-12
    cos = dot / ops.sqrt(m1 * m2)
    zero = cos * 0.0
    el = ops.where(y == 1.0, 1.0 - cos, zero) + ops.where(
        y == -1.0, ops.maximum(cos - float(margin), zero), zero
    )
    return _plain_reduce(el, red)


def margin_ranking_loss(
    input1: Tensor,
    input2: Tensor,
    target: Any,
    margin: float = 0.0,
    size_average: Optional[bool] = None,
    reduce: Optional[bool] = None,
    reduction: str = "mean",
) -> Tensor:
    """max(0, −y·(x1 − x2) + margin); input1, input2, target y (±1): tensors of one rank
    that broadcast together (as torch), e.g. (N,) or () -> the broadcast shape before the
    reduction."""
    red = _legacy_reduction(size_average, reduce, reduction, "margin_ranking_loss")
    a = _t(input1)
    b, y = _as(input2, a), _as(target, a)
    # As torch: equal ranks, then the three broadcast together.
    try:
        np.broadcast_shapes(*(tuple(t.shape) for t in (a, b, y)))
        ok = a.ndim == b.ndim == y.ndim
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(
            f"margin_ranking_loss: input1 {a.shape}, input2 {b.shape} and target {y.shape} must "
            "have the same number of dimensions and broadcast together"
        )
    return _plain_reduce(ops.relu(-y * (a - b) + float(margin)), red)


def poisson_nll_loss(
    input: Tensor,
    target: Any,
    log_input: bool = True,
    full: bool = False,
    size_average: Optional[bool] = None,
    eps: float = 1e-8,
    reduce: Optional[bool] = None,
    reduction: str = "mean",
) -> Tensor:
    """Poisson negative log-likelihood: exp(x) − y·x (``log_input``) or x − y·log(x + eps);
    ``full`` adds Stirling's y·log y − y + ½·log(2πy) where y > 1. Any shape."""
    red = _legacy_reduction(size_average, reduce, reduction, "poisson_nll_loss")
    x, y = _pair(input, target, "poisson_nll_loss")
    el = ops.exp(x) - y * x if log_input else x - y * ops.log(x + float(eps))
    if full:
        big = y > 1.0
        ys = ops.where(big, y, y * 0.0 + 2.0)  # any value > 1: the masked entries' term is unused
        st = ys * ops.log(ys) - ys + ops.log(ys * (2.0 * np.pi)) * 0.5
        el = el + ops.where(big, st, y * 0.0)
    return _plain_reduce(el, red)


def gaussian_nll_loss(
    input: Tensor, target: Any, var: Any, full: bool = False, eps: float = 1e-6, reduction: str = "mean"
) -> Tensor:
    """½·(log max(var, eps) + (x − y)² / max(var, eps)) (+ ½·log 2π with ``full``).
    input, target: (N, *); var: the same shape, (N, *) with a last axis of 1, or the input's
    shape without its last axis, or a float. The clamp at ``eps`` passes gradients through
    unchanged, as PyTorch's (it clamps a copy under no_grad)."""
    _check_reduction(reduction, "gaussian_nll_loss")
    x = _t(input)
    y = _as(target, x)
    if isinstance(var, (int, float)):
        v = x.detach() * 0.0 + float(var)
    else:
        v = _as(var, x)
    if tuple(v.shape) != tuple(x.shape):
        if tuple(x.shape[:-1]) == tuple(v.shape):
            v = ops.unsqueeze(v, v.ndim)
        elif not (v.ndim == x.ndim and tuple(x.shape[:-1]) == tuple(v.shape[:-1]) and v.shape[-1] == 1):
            raise ValueError(
                f"gaussian_nll_loss: var of shape {v.shape} does not fit input of shape {x.shape}"
            )
    if not v._is_batched and np.any(np.asarray(v.detach()) < 0):  # vmap: no values to check
        raise ValueError("gaussian_nll_loss: var has negative entry/entries")
    vd = v.detach()
    v = v + (ops.clip(vd, float(eps), None) - vd)  # value clamped, gradient of the identity
    d = x - y
    el = (ops.log(v) + d * d / v) * 0.5
    if full:
        el = el + 0.5 * float(np.log(2 * np.pi))
    return _plain_reduce(el, reduction)


def pairwise_distance(
    x1: Tensor, x2: Any, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False
) -> Tensor:
    """‖x1 − x2 + eps‖_p over the last axis (PyTorch adds ``eps`` to the difference);
    x1, x2: broadcastable (..., D) -> (...) (keepdim: (..., 1))."""
    a = _t(x1)
    b = _as(x2, a)
    d = a - b + float(eps)
    return _norm(d, float(p), d.ndim - 1 if d.ndim else None, keepdim)


def _norm(d: Tensor, p: float, axis: Optional[int], keepdim: bool) -> Tensor:
    """The vector p-norm along ``axis`` for any real p, as torch.linalg.vector_norm:
    p = 0 counts the nonzero entries, p = ±inf is max/min |d|, p < 0 is (Σ|d|^p)^(1/p)."""
    axes = None if axis is None else [axis]
    if p == 1.0:
        return ops.sum(ops.abs(d), axes, keepdim)
    if p == float("inf"):
        return ops.amax(ops.abs(d), axes, keepdim)
    if p == float("-inf"):
        return ops.amin(ops.abs(d), axes, keepdim)
    if p == 0.0:
        return ops.sum((d.detach() != 0.0).astype(d.dtype), axes, keepdim)  # piecewise constant
    if p < 0:
        return ops.pow(ops.sum(ops.pow(ops.abs(d), p), axes, keepdim), 1.0 / p)
    s = ops.sum(d * d if p == 2.0 else ops.pow(ops.abs(d), p), axes, keepdim)
    # A zero vector's norm gets the zero subgradient (as torch.linalg.vector_norm), not the
    # NaN of (·)^(1/p)'s infinite slope at 0 times 0.
    pos = s > 0.0
    safe = ops.where(pos, s, s.detach() * 0.0 + 1.0)
    r = ops.sqrt(safe) if p == 2.0 else ops.pow(safe, 1.0 / p)
    return ops.where(pos, r, s * 0.0)


def cosine_similarity(x1: Tensor, x2: Any, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """Σ x1·x2 / (max(‖x1‖, eps)·max(‖x2‖, eps)) along ``dim``; x1, x2 broadcastable ->
    their broadcast shape without ``dim``."""
    a = _t(x1)
    b = _as(x2, a)
    shape = np.broadcast_shapes(tuple(a.shape), tuple(b.shape))
    a, b = ops.broadcast_to(a, list(shape)), ops.broadcast_to(b, list(shape))
    nd = len(shape)
    if not -max(nd, 1) <= dim < max(nd, 1):
        raise IndexError(f"cosine_similarity: dim {dim} out of range for shape {shape}")
    if nd == 0:  # a 0-d pair is a pair of 1-vectors (dim 0 or -1), as PyTorch
        a, b, nd = ops.reshape(a, [1]), ops.reshape(b, [1]), 1
    ax = dim % nd
    na = ops.clip(ops.sqrt(ops.sum(a * a, [ax], False)), float(eps), None)
    nb = ops.clip(ops.sqrt(ops.sum(b * b, [ax], False)), float(eps), None)
    return ops.sum(a * b, [ax], False) / (na * nb)


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12) -> Tensor:
    """x / max(‖x‖_p, eps) along ``dim``; any shape -> the same shape."""
    x = _t(input)
    nd = max(x.ndim, 1)  # a 0-d input is one 1-vector (dim 0 or -1), as PyTorch
    if not -nd <= dim < nd:
        raise IndexError(f"normalize: dim {dim} out of range for shape {x.shape}")
    xv = ops.reshape(x, [1]) if x.ndim == 0 else x
    n = ops.clip(_norm(xv, float(p), dim % nd, True), float(eps), None)
    y = xv / n
    return ops.reshape(y, []) if x.ndim == 0 else y


def triplet_margin_loss(
    anchor: Tensor,
    positive: Any,
    negative: Any,
    margin: float = 1.0,
    p: float = 2,
    eps: float = 1e-6,
    swap: bool = False,
    size_average: Optional[bool] = None,
    reduce: Optional[bool] = None,
    reduction: str = "mean",
) -> Tensor:
    """max(d(a, p) − d(a, n) + margin, 0) with d = pairwise_distance(·, ·, p, eps); ``swap``
    uses min(d(a, n), d(p, n)) (Balntas et al., 2016). (N, D) or (D,) inputs."""
    red = _legacy_reduction(size_average, reduce, reduction, "triplet_margin_loss")
    a = _t(anchor)
    pos, neg = _as(positive, a), _as(negative, a)
    if not (a.ndim == pos.ndim == neg.ndim) or a.ndim not in (1, 2):
        raise ValueError(
            f"triplet_margin_loss: anchor {a.shape}, positive {pos.shape} and negative {neg.shape} "
            "must all be (N, D) or (D,)"
        )
    dp = pairwise_distance(a, pos, p, eps)
    dn = pairwise_distance(a, neg, p, eps)
    if swap:
        dn = ops.minimum(dn, pairwise_distance(pos, neg, p, eps))
    return _plain_reduce(ops.relu(dp - dn + float(margin)), red)


def triplet_margin_with_distance_loss(
    anchor: Tensor,
    positive: Any,
    negative: Any,
    *,
    distance_function: Any = None,
    margin: float = 1.0,
    swap: bool = False,
    reduction: str = "mean",
) -> Tensor:
    """triplet_margin_loss with any ``distance_function(x, y) -> (N,)`` (default
    pairwise_distance); anchor, positive, negative: (N, D) or (D,)."""
    _check_reduction(reduction, "triplet_margin_with_distance_loss")
    if margin <= 0:
        raise ValueError(f"triplet_margin_with_distance_loss: margin must be > 0, got {margin}")
    dist = distance_function if distance_function is not None else pairwise_distance
    a = _t(anchor)
    pos, neg = _as(positive, a), _as(negative, a)
    dp, dn = dist(a, pos), dist(a, neg)
    if swap:
        dn = ops.minimum(dn, dist(pos, neg))
    return _plain_reduce(ops.relu(dp - dn + float(margin)), reduction)


def soft_margin_loss(
    input: Tensor,
    target: Any,
    size_average: Optional[bool] = None,
    reduce: Optional[bool] = None,
    reduction: str = "mean",
) -> Tensor:
    """log(1 + exp(−y·x)) (a stable softplus); input, target (±1): the same shape, or a
    target that broadcasts to the input's shape (as torch)."""
    red = _legacy_reduction(size_average, reduce, reduction, "soft_margin_loss")
    x, y = _pair(input, target, "soft_margin_loss", "to_input")
    return _plain_reduce(_log1pexp(-y * x), red)


def multilabel_soft_margin_loss(
    input: Tensor,
    target: Any,
    weight: Any = None,
    size_average: Optional[bool] = None,
    reduce: Optional[bool] = None,
    reduction: str = "mean",
) -> Tensor:
    """−mean_c [y·log σ(x) + (1 − y)·log σ(−x)] (·weight_c) per example; input, target in
    {0, 1}: (N, C) (or (C,)); weight: (C,) -> (N,) before the reduction."""
    red = _legacy_reduction(size_average, reduce, reduction, "multilabel_soft_margin_loss")
    x, y = _pair(input, target, "multilabel_soft_margin_loss")
    el = y * _log1pexp(-x) + (1.0 - y) * _log1pexp(x)  # −log σ(±x)
    if weight is not None:
        el = el * _as(weight, x)
    C = x.shape[-1] if x.ndim else 1
    per = ops.sum(el, [x.ndim - 1], False) * (1.0 / C) if x.ndim else el
    return _plain_reduce(per, red)


def hinge_embedding_loss(
    input: Tensor,
    target: Any,
    margin: float = 1.0,
    size_average: Optional[bool] = None,
    reduce: Optional[bool] = None,
    reduction: str = "mean",
) -> Tensor:
    """x where y = 1, max(0, margin − x) where y = −1 (PyTorch: the first term for y ≠ −1,
    the second for y ≠ 1); input, target: shapes that broadcast together (as torch) -> the
    broadcast shape before the reduction."""
    red = _legacy_reduction(size_average, reduce, reduction, "hinge_embedding_loss")
    x, y = _pair(input, target, "hinge_embedding_loss")
    zero = zeros_like(x)  # not x * 0.0, which is NaN at x = ±inf (ATen's zeros_like)
    el = ops.where(y != 1.0, ops.relu(float(margin) - x), zero) + ops.where(y != -1.0, x, zero)
    return _plain_reduce(el, red)


def _class_index_target(target: Any, n: int, C: int, batched: bool, name: str) -> np.ndarray:
    t = _int_targets(target, name)
    if t is None:
        raise TypeError(f"{name}: target must hold integer class indices")
    exp = (n,) if batched else ()
    if tuple(t.shape) != exp:
        raise ValueError(f"{name}: target must have shape {exp}, got {tuple(t.shape)}")
    if t.size and (t.min() < 0 or t.max() >= C):
        raise IndexError(f"{name}: target class out of range [0, {C}) (got {t.min()}..{t.max()})")
    return t.reshape(-1)


def multi_margin_loss(
    input: Tensor,
    target: Any,
    p: int = 1,
    margin: float = 1.0,
    weight: Any = None,
    size_average: Optional[bool] = None,
    reduce: Optional[bool] = None,
    reduction: str = "mean",
) -> Tensor:
    """Multi-class hinge: Σ_{i≠y} w_y·max(0, margin − x_y + x_i)^p / C per example;
    input (N, C) (or (C,)), integer target (N,) (or ()), weight (C,), p = 1 or 2."""
    red = _legacy_reduction(size_average, reduce, reduction, "multi_margin_loss")
    if p not in (1, 2):
        raise ValueError(f"multi_margin_loss: only p == 1 and p == 2 are supported, got {p}")
    x = _t(input)
    if x.ndim > 2:
        raise ValueError(f"multi_margin_loss: input must be (N, C) or (C,), got {x.shape}")
    xb = x if x.ndim == 2 else ops.reshape(x, [1, -1])  # a 0-d input is one class
    N, C = xb.shape
    tshape = tuple(np.shape(target))
    if x.ndim < 2 and tshape == (1,):  # PyTorch takes a (1,) target for an unbatched input
        target = np.asarray(target.detach() if isinstance(target, Tensor) else target).reshape(())
    y = _class_index_target(target, N, C, x.ndim == 2, "multi_margin_loss")
    oh = np.zeros((N, C))
    oh[np.arange(N), y] = 1.0
    ohc = _const(oh, x)
    xy = ops.sum(xb * ohc, [1], True)  # (N, 1): the target class's score
    h = ops.relu(xb - xy + float(margin)) * (1.0 - ohc)
    if p == 2:
        h = h * h
    if weight is not None:
        w = np.asarray(weight.detach() if isinstance(weight, Tensor) else weight, dtype=np.float64)
        if w.shape != (C,):
            raise ValueError(f"multi_margin_loss: weight must have shape ({C},), got {w.shape}")
        h = h * _const(w[y][:, None], x)
    per = ops.sum(h, [1], False) * (1.0 / C)
    if x.ndim < 2:
        per = ops.reshape(per, list(tshape))
    return _plain_reduce(per, red)


def multilabel_margin_loss(
    input: Tensor,
    target: Any,
    size_average: Optional[bool] = None,
    reduce: Optional[bool] = None,
    reduction: str = "mean",
) -> Tensor:
    """Σ_{j ∈ targets} Σ_{i ∉ targets} max(0, 1 − (x_j − x_i)) / C per example; input (N, C)
    (or (C,)); integer target of the same shape listing the target classes, ended by −1."""
    red = _legacy_reduction(size_average, reduce, reduction, "multilabel_margin_loss")
    x = _t(input)
    t = _int_targets(target, "multilabel_margin_loss")
    if t is None:
        raise TypeError("multilabel_margin_loss: target must hold integer class indices")
    if x.ndim > 2 or tuple(t.shape) != tuple(x.shape):
        raise ValueError(
            f"multilabel_margin_loss: input (N, C) or (C,) and a target of its shape expected, "
            f"got input {x.shape} and target {tuple(t.shape)}"
        )
    xb = x if x.ndim == 2 else ops.reshape(x, [1, -1])  # a 0-d input is one class
    tb = t.reshape(xb.shape)
    N, C = xb.shape
    if tb.size and (tb.max() >= C or tb.min() < -1):
        raise IndexError(f"multilabel_margin_loss: target class out of range [-1, {C})")
    count = np.zeros((N, C))  # how often class j is listed before the first −1
    for n in range(N):
        for j in tb[n]:
            if j < 0:
                break
            count[n, j] += 1.0
    not_tgt = (count == 0).astype(np.float64)
    pair = _const(count[:, :, None] * not_tgt[:, None, :], x)  # (N, j, i)
    diff = ops.unsqueeze(xb, 2) - ops.unsqueeze(xb, 1)  # x_j − x_i
    per = ops.sum(ops.relu(1.0 - diff) * pair, [1, 2], False) * (1.0 / C)
    if x.ndim < 2:
        per = ops.reshape(per, [])
    return _plain_reduce(per, red)


# ------------------------------------------------------------------ loss modules
# Constructors take PyTorch's arguments in its order (including the deprecated
# size_average/reduce pair); fastgrad's extras are keyword-only.
class _Loss(Module):
    weight: Optional[Tensor]  # the buffer of the losses that take PyTorch's weight=

    def __init__(
        self, size_average: Optional[bool] = None, reduce: Optional[bool] = None, reduction: str = "mean"
    ) -> None:
        super().__init__()
        self.reduction = _legacy_reduction(size_average, reduce, reduction, type(self).__name__)

    def extra_repr(self) -> str:
        """``reduction='...'``."""
        return f"reduction={self.reduction!r}"


def _buffer(mod: Module, name: str, value: Any) -> None:
    """PyTorch keeps a loss's ``weight``/``pos_weight`` as a buffer (it is in state_dict)."""
    mod.register_buffer(name, value if value is None or isinstance(value, Tensor) else as_tensor(value))


class MSELoss(_Loss):
    """Mean squared error (``mse_loss``): input, target: the same shape -> a scalar
    (reduction "mean"/"sum") or per element ("none"). ``dim_weight`` α (d,) is fastgrad's."""

    def __init__(
        self,
        size_average: Optional[bool] = None,
        reduce: Optional[bool] = None,
        reduction: str = "mean",
        *,
        dim_weight: Any = None,
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        self.dim_weight = dim_weight

    def forward(self, input: Tensor, target: Any, *, sample_weight: Any = None) -> Tensor:
        """input, target: (N, ...); sample_weight: optional per-example ω (N,) -> the loss."""
        return mse_loss(
            input, target, reduction=self.reduction, sample_weight=sample_weight, dim_weight=self.dim_weight
        )


class L1Loss(MSELoss):
    """Mean absolute error (``l1_loss``); shapes as MSELoss."""

    def forward(self, input: Tensor, target: Any, *, sample_weight: Any = None) -> Tensor:
        """input, target: (N, ...); sample_weight: optional per-example ω (N,) -> the loss."""
        return l1_loss(
            input, target, reduction=self.reduction, sample_weight=sample_weight, dim_weight=self.dim_weight
        )


class HuberLoss(_Loss):
    """Huber loss with threshold ``delta`` (``huber_loss``); shapes as MSELoss."""

    def __init__(self, reduction: str = "mean", delta: float = 1.0, *, dim_weight: Any = None) -> None:
        super().__init__(reduction=reduction)
        self.delta = delta
        self.dim_weight = dim_weight

    def forward(self, input: Tensor, target: Any, *, sample_weight: Any = None) -> Tensor:
        """input, target: (N, ...); sample_weight: optional per-example ω (N,) -> the loss."""
        return huber_loss(
            input,
            target,
            self.reduction,
            self.delta,
            sample_weight=sample_weight,
            dim_weight=self.dim_weight,
        )


class SmoothL1Loss(_Loss):
    """PyTorch's smooth L1 (``smooth_l1_loss``) with threshold ``beta``; shapes as MSELoss."""

    def __init__(
        self,
        size_average: Optional[bool] = None,
        reduce: Optional[bool] = None,
        reduction: str = "mean",
        beta: float = 1.0,
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        self.beta = beta

    def forward(self, input: Tensor, target: Any, *, sample_weight: Any = None) -> Tensor:
        """input, target: (N, ...); sample_weight: optional per-example ω (N,) -> the loss."""
        return smooth_l1_loss(
            input, target, reduction=self.reduction, beta=self.beta, sample_weight=sample_weight
        )


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy on logits (``binary_cross_entropy_with_logits``): input, target
    in [0, 1] of the same shape; ``weight`` rescales each element (broadcast to the input),
    ``pos_weight`` weighs positives per class (last axis), as PyTorch."""

    pos_weight: Optional[Tensor]

    def __init__(
        self,
        weight: Any = None,
        size_average: Optional[bool] = None,
        reduce: Optional[bool] = None,
        reduction: str = "mean",
        pos_weight: Any = None,
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        _buffer(self, "weight", weight)
        _buffer(self, "pos_weight", pos_weight)

    def forward(self, input: Tensor, target: Any, *, sample_weight: Any = None) -> Tensor:
        """input: logits (N, ...), target: (N, ...); sample_weight: optional per-example ω (N,)
        -> the loss."""
        return binary_cross_entropy_with_logits(
            input,
            target,
            self.weight,
            reduction=self.reduction,
            pos_weight=self.pos_weight,
            sample_weight=sample_weight,
        )


class BCELoss(_Loss):
    """Binary cross-entropy on probabilities (``binary_cross_entropy``); log terms clamped at
    −100; ``weight`` rescales each element (broadcast to the input), as PyTorch."""

    def __init__(
        self,
        weight: Any = None,
        size_average: Optional[bool] = None,
        reduce: Optional[bool] = None,
        reduction: str = "mean",
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        _buffer(self, "weight", weight)

    def forward(self, input: Tensor, target: Any, *, sample_weight: Any = None) -> Tensor:
        """input: probabilities (N, ...), target: (N, ...); sample_weight: optional per-example
        ω (N,) -> the loss."""
        return binary_cross_entropy(
            input, target, self.weight, reduction=self.reduction, sample_weight=sample_weight
        )


class CrossEntropyLoss(_Loss):
    """Softmax cross-entropy (``cross_entropy``): logits (N, K) or (N, K, d...) with integer
    class targets (N,) / (N, d...) or class probabilities of the logits' shape; ``weight``
    (K,) per class, ``ignore_index``, ``label_smoothing`` as PyTorch."""

    def __init__(
        self,
        weight: Any = None,
        size_average: Optional[bool] = None,
        ignore_index: int = -100,
        reduce: Optional[bool] = None,
        reduction: str = "mean",
        label_smoothing: float = 0.0,
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        _buffer(self, "weight", weight)
        self.label_smoothing = label_smoothing
        self.ignore_index = ignore_index

    def forward(self, input: Tensor, target: Any, *, sample_weight: Any = None) -> Tensor:
        """input: logits (N, K, ...), target: classes (N, ...) or probabilities;
        sample_weight: optional per-example ω (N,) -> the loss."""
        return cross_entropy(
            input,
            target,
            self.weight,
            ignore_index=self.ignore_index,
            reduction=self.reduction,
            label_smoothing=self.label_smoothing,
            sample_weight=sample_weight,
        )


class NLLLoss(_Loss):
    """Negative log-likelihood of log-probabilities (``nll_loss``): input (N, K, ...),
    integer target (N, ...); ``weight`` (K,) per class, ``ignore_index`` as PyTorch."""

    def __init__(
        self,
        weight: Any = None,
        size_average: Optional[bool] = None,
        ignore_index: int = -100,
        reduce: Optional[bool] = None,
        reduction: str = "mean",
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        _buffer(self, "weight", weight)
        self.ignore_index = ignore_index

    def forward(self, input: Tensor, target: Any, *, sample_weight: Any = None) -> Tensor:
        """input: log-probabilities (N, K, ...), target: (N, ...); sample_weight: optional
        per-example ω (N,) -> the loss."""
        return nll_loss(
            input,
            target,
            self.weight,
            ignore_index=self.ignore_index,
            reduction=self.reduction,
            sample_weight=sample_weight,
        )


class KLDivLoss(_Loss):
    """``kl_div``: input log q, target p (or log p with ``log_target``), the same shape;
    ``reduction`` "mean" | "sum" | "none" | "batchmean" (the mathematically correct KL)."""

    def __init__(
        self,
        size_average: Optional[bool] = None,
        reduce: Optional[bool] = None,
        reduction: str = "mean",
        log_target: bool = False,
    ) -> None:
        if reduction == "batchmean" and size_average is None and reduce is None:
            super().__init__()
            self.reduction = "batchmean"
        else:
            super().__init__(size_average, reduce, reduction)
        self.log_target = log_target

    def forward(self, input: Tensor, target: Any) -> Tensor:
        """input, target: any (equal) shape -> the loss."""
        return kl_div(input, target, reduction=self.reduction, log_target=self.log_target)


class CosineEmbeddingLoss(_Loss):
    """``cosine_embedding_loss``: input1, input2 (N, D), target ±1 (N,)."""

    def __init__(
        self,
        margin: float = 0.0,
        size_average: Optional[bool] = None,
        reduce: Optional[bool] = None,
        reduction: str = "mean",
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        self.margin = margin

    def forward(self, input1: Tensor, input2: Tensor, target: Any) -> Tensor:
        """input1, input2: (N, D) or (D,), target: (N,) or () -> the loss."""
        return cosine_embedding_loss(input1, input2, target, self.margin, reduction=self.reduction)


class MarginRankingLoss(_Loss):
    """``margin_ranking_loss``: input1, input2, target ±1 of one shape (N,)."""

    def __init__(
        self,
        margin: float = 0.0,
        size_average: Optional[bool] = None,
        reduce: Optional[bool] = None,
        reduction: str = "mean",
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        self.margin = margin

    def forward(self, input1: Tensor, input2: Tensor, target: Any) -> Tensor:
        """input1, input2, target: (N,) or () -> the loss."""
        return margin_ranking_loss(input1, input2, target, self.margin, reduction=self.reduction)


class PoissonNLLLoss(_Loss):
    """``poisson_nll_loss`` (``log_input``, ``full``, ``eps``); input, target: one shape."""

    def __init__(
        self,
        log_input: bool = True,
        full: bool = False,
        size_average: Optional[bool] = None,
        eps: float = 1e-8,
        reduce: Optional[bool] = None,
        reduction: str = "mean",
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        self.log_input, self.full, self.eps = log_input, full, eps

    def forward(self, log_input: Tensor, target: Any) -> Tensor:
        """log_input (the rate's log, or the rate without ``log_input``), target: one shape."""
        return poisson_nll_loss(
            log_input, target, self.log_input, self.full, eps=self.eps, reduction=self.reduction
        )


class GaussianNLLLoss(_Loss):
    """``gaussian_nll_loss`` (``full``, ``eps``): input (mean), target, var."""

    def __init__(self, *, full: bool = False, eps: float = 1e-6, reduction: str = "mean") -> None:
        super().__init__(reduction=reduction)
        self.full, self.eps = full, eps

    def forward(self, input: Tensor, target: Any, var: Any) -> Tensor:
        """input, target: (N, *); var: (N, *), (N, *, 1)-compatible or a float -> the loss."""
        return gaussian_nll_loss(input, target, var, self.full, self.eps, self.reduction)


class TripletMarginLoss(_Loss):
    """``triplet_margin_loss`` (margin, p, eps, swap): anchor, positive, negative (N, D)."""

    def __init__(
        self,
        margin: float = 1.0,
        p: float = 2.0,
        eps: float = 1e-6,
        swap: bool = False,
        size_average: Optional[bool] = None,
        reduce: Optional[bool] = None,
        reduction: str = "mean",
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        if margin <= 0:
            raise ValueError(f"TripletMarginLoss: margin must be greater than 0, got {margin}")
        self.margin, self.p, self.eps, self.swap = margin, p, eps, swap

    def forward(self, anchor: Tensor, positive: Tensor, negative: Tensor) -> Tensor:
        """anchor, positive, negative: (N, D) or (D,) -> the loss."""
        return triplet_margin_loss(
            anchor, positive, negative, self.margin, self.p, self.eps, self.swap, reduction=self.reduction
        )


class TripletMarginWithDistanceLoss(_Loss):
    """``triplet_margin_with_distance_loss`` with a ``distance_function`` (default
    pairwise_distance)."""

    def __init__(
        self,
        *,
        distance_function: Any = None,
        margin: float = 1.0,
        swap: bool = False,
        reduction: str = "mean",
    ) -> None:
        super().__init__(reduction=reduction)
        if margin <= 0:
            raise ValueError(f"TripletMarginWithDistanceLoss: margin must be greater than 0, got {margin}")
        self.distance_function = distance_function
        self.margin, self.swap = margin, swap

    def forward(self, anchor: Tensor, positive: Tensor, negative: Tensor) -> Tensor:
        """anchor, positive, negative: (N, D) or (D,) -> the loss."""
        return triplet_margin_with_distance_loss(
            anchor,
            positive,
            negative,
            distance_function=self.distance_function,
            margin=self.margin,
            swap=self.swap,
            reduction=self.reduction,
        )


class SoftMarginLoss(_Loss):
    """``soft_margin_loss``: input, target ±1 of one shape."""

    def forward(self, input: Tensor, target: Any) -> Tensor:
        """input, target: one shape -> the loss."""
        return soft_margin_loss(input, target, reduction=self.reduction)


class MultiLabelSoftMarginLoss(_Loss):
    """``multilabel_soft_margin_loss``: input, target {0, 1} (N, C); ``weight`` (C,)."""

    def __init__(
        self,
        weight: Any = None,
        size_average: Optional[bool] = None,
        reduce: Optional[bool] = None,
        reduction: str = "mean",
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        _buffer(self, "weight", weight)

    def forward(self, input: Tensor, target: Any) -> Tensor:
        """input, target: (N, C) -> the loss."""
        return multilabel_soft_margin_loss(input, target, self.weight, reduction=self.reduction)


class HingeEmbeddingLoss(_Loss):
    """``hinge_embedding_loss`` (margin): input, target ±1 of one shape."""

    def __init__(
        self,
        margin: float = 1.0,
        size_average: Optional[bool] = None,
        reduce: Optional[bool] = None,
        reduction: str = "mean",
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        self.margin = margin

    def forward(self, input: Tensor, target: Any) -> Tensor:
        """input, target: one shape -> the loss."""
        return hinge_embedding_loss(input, target, self.margin, reduction=self.reduction)


class MultiMarginLoss(_Loss):
    """``multi_margin_loss`` (p, margin, weight (C,)): input (N, C), target (N,) classes."""

    def __init__(
        self,
        p: int = 1,
        margin: float = 1.0,
        weight: Any = None,
        size_average: Optional[bool] = None,
        reduce: Optional[bool] = None,
        reduction: str = "mean",
    ) -> None:
        super().__init__(size_average, reduce, reduction)
        if p not in (1, 2):
            raise ValueError(f"MultiMarginLoss: only p == 1 and p == 2 supported, got {p}")
        _buffer(self, "weight", weight)
        self.p, self.margin = p, margin

    def forward(self, input: Tensor, target: Any) -> Tensor:
        """input: (N, C) or (C,), target: (N,) or () -> the loss."""
        return multi_margin_loss(input, target, self.p, self.margin, self.weight, reduction=self.reduction)


class MultiLabelMarginLoss(_Loss):
    """``multilabel_margin_loss``: input (N, C), integer target (N, C) ended by −1."""

    def forward(self, input: Tensor, target: Any) -> Tensor:
        """input, target: (N, C) or (C,) -> the loss."""
        return multilabel_margin_loss(input, target, reduction=self.reduction)


class CosineSimilarity(Module):
    """``cosine_similarity(x1, x2, dim, eps)`` as a module."""

    def __init__(self, dim: int = 1, eps: float = 1e-8) -> None:
        super().__init__()
        self.dim, self.eps = dim, eps

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        """x1, x2: broadcastable -> their shape without ``dim``."""
        return cosine_similarity(x1, x2, self.dim, self.eps)


class PairwiseDistance(Module):
    """``pairwise_distance(x1, x2, p, eps, keepdim)`` as a module."""

    def __init__(self, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> None:
        super().__init__()
        self.norm, self.eps, self.keepdim = p, eps, keepdim

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        """x1, x2: broadcastable (..., D) -> (...)."""
        return pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)


# ------------------------------------------------------------------ CTC
_CTC_NEG = -1e30  # "log 0" that keeps logsumexp's VJP finite (exp(−inf − −inf) would be NaN)


def _ctc_labels(targets: Any, tl: np.ndarray, N: int, name: str) -> list[np.ndarray]:
    tg = np.asarray(targets.detach() if isinstance(targets, Tensor) else targets)
    if not np.issubdtype(tg.dtype, np.integer):
        raise TypeError(f"{name}: targets must hold integer class indices, got {tg.dtype}")
    tg = tg.astype(np.int64)
    if tg.ndim == 2:
        if tg.shape[0] != N or (tl.size and tl.max() > tg.shape[1]):
            raise ValueError(
                f"{name}: padded targets of shape {tg.shape} do not fit batch {N} and "
                f"target_lengths {tl.tolist()}"
            )
        return [tg[n, : tl[n]] for n in range(N)]
    if tg.ndim != 1 or tg.size < tl.sum():
        raise ValueError(f"{name}: targets of shape {tg.shape} hold fewer labels than sum(target_lengths)")
    if N == 1 and tg.size == tl.sum():
        return [tg]
    off = np.concatenate([[0], np.cumsum(tl)])
    return [tg[off[n] : off[n + 1]] for n in range(N)]


def ctc_loss(
    log_probs: Tensor,
    targets: Any,
    input_lengths: Any,
    target_lengths: Any,
    blank: int = 0,
    reduction: str = "mean",
    zero_infinity: bool = False,
) -> Tensor:
    """Connectionist temporal classification (Graves et al., 2006): −log Σ over the
    alignments of each target of Π_t p_t(label), by the forward (α) recursion in log space
    over the blank-extended label sequence, one step per frame.

    log_probs: (T, N, C) log-softmax outputs (or (T, C) unbatched); targets: (N, S) padded
    or the 1-D concatenation of the targets; input_lengths, target_lengths: (N,). "mean"
    divides each loss by its target length, then averages over the batch (as PyTorch).
    The gradient is that of the loss itself (PyTorch's ctc_loss returns exp(log_probs) − γ
    instead, which equals it only after a log_softmax; compose with one, as CTC models do).
    """
    name = "ctc_loss"
    _check_reduction(reduction, name)
    lp = _t(log_probs)
    unbatched = lp.ndim == 2
    if unbatched:
        lp = ops.unsqueeze(lp, 1)
    if lp.ndim != 3:
        raise ValueError(f"{name}: log_probs must be (T, N, C) or (T, C), got shape {log_probs.shape}")
    T, N, C = lp.shape
    il = np.asarray(input_lengths.detach() if isinstance(input_lengths, Tensor) else input_lengths)
    tl = np.asarray(target_lengths.detach() if isinstance(target_lengths, Tensor) else target_lengths)
    il, tl = il.astype(np.int64).reshape(-1), tl.astype(np.int64).reshape(-1)
    if il.shape != (N,) or tl.shape != (N,):
        raise ValueError(
            f"{name}: input_lengths {il.shape} and target_lengths {tl.shape} must have {N} entries"
        )
    if N and (il.min() < 0 or il.max() > T or tl.min() < 0):
        raise ValueError(f"{name}: input_lengths must lie in [0, {T}], got {il.tolist()}")
    if not 0 <= blank < C:
        raise ValueError(f"{name}: blank {blank} out of range for {C} classes")
    labels = _ctc_labels(targets, tl, N, name)
    for lab in labels:
        if lab.size and (lab.min() < 0 or lab.max() >= C or (lab == blank).any()):
            raise ValueError(f"{name}: target labels must be in [0, {C}) and differ from blank={blank}")
    S2 = 2 * (int(tl.max()) if N else 0) + 1
    ext = np.full((N, S2), blank, dtype=np.int64)
    for n, lab in enumerate(labels):
        ext[n, 1 : 2 * lab.size : 2] = lab
    onehot = np.zeros((N, C, S2))
    onehot[np.arange(N)[:, None], ext, np.arange(S2)[None, :]] = 1.0
    # log p_t(l'_s) for every frame and extended position: (N, T, S')
    lpe = ops.matmul(ops.permute(lp, [1, 0, 2]), _const(onehot, lp))
    skip = np.zeros((N, S2), dtype=bool)  # the s − 2 transition: l'_s is a label unlike l'_{s−2}
    skip[:, 2:] = (ext[:, 2:] != blank) & (ext[:, 2:] != ext[:, :-2])
    skip_add = _const(np.where(skip, 0.0, _CTC_NEG), lp)
    start = np.full((N, S2), _CTC_NEG)
    start[:, :2] = 0.0
    steps = [ops.reshape(t, [N, S2]) for t in ops.split(lpe, [1] * T, 1)] if T else []
    if not steps:
        alpha = _const(np.where(np.arange(S2) == 0, 0.0, _CTC_NEG)[None].repeat(N, 0), lp)
    else:
        alpha = steps[0] + _const(start, lp)
    pad1 = _const(np.full((N, 1), _CTC_NEG), lp)
    pad2 = _const(np.full((N, 2), _CTC_NEG), lp)
    for t in range(1, T):
        a1 = ops.concat([pad1, alpha[:, : S2 - 1]], 1) if S2 > 1 else pad1
        a2 = ops.concat([pad2, alpha[:, : S2 - 2]], 1) + skip_add if S2 > 2 else a1 * 0.0 + _CTC_NEG
        new = ops.logsumexp(ops.stack([alpha, a1, a2], 0), 0, False) + steps[t]
        alpha = ops.where(tensor((il > t)[:, None]), new, alpha)  # frames past a sequence's end: frozen
    end = np.full((N, S2), _CTC_NEG)
    for n in range(N):
        end[n, 2 * tl[n]] = 0.0
        if tl[n]:
            end[n, 2 * tl[n] - 1] = 0.0
    if N and (il == 0).any():  # no frames: only the empty target has an alignment (probability 1)
        zero_frames = _const(np.where((il == 0)[:, None] & (np.arange(S2) == 0)[None], 0.0, _CTC_NEG), lp)
        alpha = ops.where(tensor((il == 0)[:, None]), zero_frames, alpha)
    loss = -ops.logsumexp(alpha + _const(end, lp), 1, False)  # (N,)
    impossible = loss.detach() > -_CTC_NEG / 10
    if zero_infinity:
        loss = ops.where(impossible, loss * 0.0, loss)
    else:
        loss = ops.where(impossible, loss * 0.0 + float("inf"), loss)
    if unbatched:
        loss = ops.reshape(loss, [])
    if reduction == "none":
        return loss
    if reduction == "sum":
        return ops.sum(loss, None, False)
    return ops.mean(loss / _const(np.maximum(tl, 1).astype(np.float64).reshape(loss.shape), lp), None, False)


class CTCLoss(_Loss):
    """``ctc_loss`` (blank, zero_infinity) as a module."""

    def __init__(self, blank: int = 0, reduction: str = "mean", zero_infinity: bool = False) -> None:
        super().__init__(reduction=reduction)
        self.blank, self.zero_infinity = blank, zero_infinity

    def forward(self, log_probs: Tensor, targets: Any, input_lengths: Any, target_lengths: Any) -> Tensor:
        """log_probs (T, N, C), targets (N, S) or concatenated, lengths (N,) -> the loss."""
        return ctc_loss(
            log_probs, targets, input_lengths, target_lengths, self.blank, self.reduction, self.zero_infinity
        )
