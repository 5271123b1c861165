"""Functional forms of fastgrad's ops: ``fg.exp(x)``, ``fg.sum(x, axis=0)``, ...

Each accepts Tensors and array-likes; the work happens in C++ (``_C``), where every
op is a primitive with its forward, VJP and JVP rules.
"""

from __future__ import annotations

import operator
import sys
from collections.abc import Sequence
from typing import Any

from . import _C
from ._C import Tensor
from ._tensor import _approx, as_tensor, tensor_arg

Axis = "int | tuple[int, ...] | None"


def _t(x: Any) -> Tensor:
    if isinstance(x, Tensor):
        return x
    # Only on the conversion path: the calling function (exp, sum, ...) is the op name.
    return tensor_arg(x, sys._getframe(1).f_code.co_name, "x")


def _pair(a: Any, b: Any) -> tuple[Tensor, Tensor]:
    if isinstance(a, Tensor):
        return a, as_tensor(b, a)
    if isinstance(b, Tensor):
        return as_tensor(a, b), b
    return as_tensor(a), as_tensor(b)


# elementwise
def exp(x):
    return _C.exp(_t(x))


def log(x):
    return _C.log(_t(x))


def log1p(x):
    return _C.log1p(_t(x))


def sqrt(x):
    return _C.sqrt(_t(x))


def abs(x):
    return _C.abs(_t(x))  # noqa: A001


def sin(x):
    return _C.sin(_t(x))


def cos(x):
    return _C.cos(_t(x))


def tanh(x):
    return _C.tanh(_t(x))


def sigmoid(x):
    return _C.sigmoid(_t(x))


def relu(x):
    return _C.relu(_t(x))


def silu(x):
    return _C.silu(_t(x))


def erf(x):
    return _C.erf(_t(x))


def sign(x):
    return _C.sign(_t(x))


def isnan(x):
    return _C.isnan(_t(x))


def isfinite(x):
    return _C.isfinite(_t(x))


def gelu(x, approximate: str = "none") -> Tensor:
    """x·Φ(x), or its tanh approximation when ``approximate="tanh"``."""
    return _C.gelu(_t(x), _approx(approximate))


def softplus(x, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + exp(βx)) / β, computed stably; x itself where βx > ``threshold`` (as PyTorch)."""
    return _C.softplus(_t(x), float(beta), float(threshold))


def clip(x, min: float | None = None, max: float | None = None) -> Tensor:  # noqa: A002
    """Integer bounds keep an int64 tensor int64 (exact); a float bound makes it float."""
    return _C.clip(_t(x), min, max)


clamp = clip


def maximum(a, b) -> Tensor:
    return _C.maximum(*_pair(a, b))


def minimum(a, b) -> Tensor:
    return _C.minimum(*_pair(a, b))


def add(a, b) -> Tensor:
    return _C.add(*_pair(a, b))


def sub(a, b) -> Tensor:
    return _C.sub(*_pair(a, b))


def mul(a, b) -> Tensor:
    return _C.mul(*_pair(a, b))


def div(a, b) -> Tensor:
    return _C.div(*_pair(a, b))


def matmul(a, b) -> Tensor:
    return _C.matmul(*_pair(a, b))


def pow(a, b) -> Tensor:  # noqa: A001
    if isinstance(a, Tensor) and isinstance(b, (int, float)):
        return a**b
    return _C.pow(*_pair(a, b))


def where(cond, a, b) -> Tensor:
    """Elementwise ``a if cond else b`` with broadcasting; no gradient flows to ``cond``."""
    a, b = _pair(a, b)
    return _C.where(_t(cond), a, b)


# reductions
def sum(x, axis=None, keepdims: bool = False) -> Tensor:
    return _C.sum(_t(x), axis, keepdims)  # noqa: A001


def mean(x, axis=None, keepdims: bool = False) -> Tensor:
    return _C.mean(_t(x), axis, keepdims)


def max(x, axis=None, keepdims: bool = False) -> Tensor:
    return _C.amax(_t(x), axis, keepdims)  # noqa: A001


def min(x, axis=None, keepdims: bool = False) -> Tensor:
    return _C.amin(_t(x), axis, keepdims)  # noqa: A001


amax, amin = max, min  # values only (the method form x.max(dim) also gives the indices)


def prod(x, axis=None, keepdims: bool = False) -> Tensor:
    return _C.prod(_t(x), axis, keepdims)


def logsumexp(x, axis=None, keepdims: bool = False) -> Tensor:
    return _C.logsumexp(_t(x), axis, keepdims)


def argmax(x, axis=None, keepdims: bool = False) -> Tensor:
    return _C.argmax(_t(x), axis, keepdims)


def argmin(x, axis=None, keepdims: bool = False) -> Tensor:
    return _C.argmin(_t(x), axis, keepdims)


def var(x, axis=None, correction: float = 1, keepdims: bool = False) -> Tensor:
    """Variance with Bessel's ``correction`` (1 = unbiased, as PyTorch; 0 = NumPy's default)."""
    return _C.var(_t(x), axis, float(correction), keepdims)


def std(x, axis=None, correction: float = 1, keepdims: bool = False) -> Tensor:
    return _C.std(_t(x), axis, float(correction), keepdims)


def softmax(x, axis: int = -1) -> Tensor:
    """exp(x - logsumexp(x)) along ``axis`` (numerically stable)."""
    return _C.softmax(_t(x), axis)


def log_softmax(x, axis: int = -1) -> Tensor:
    return _C.log_softmax(_t(x), axis)


# shapes
def reshape(x, shape: Sequence[int]) -> Tensor:
    return _C.reshape(_t(x), list(shape))


def transpose(x, a: int = -2, b: int = -1) -> Tensor:
    return _C.transpose(_t(x), a, b)


def permute(x, dims: Sequence[int]) -> Tensor:
    return _C.permute(_t(x), list(dims))


def flatten(x, start: int = 0, end: int = -1) -> Tensor:
    return _C.flatten(_t(x), start, end)


def squeeze(x, axis=None) -> Tensor:
    return _C.squeeze(_t(x), axis)


def unsqueeze(x, axis: int) -> Tensor:
    return _C.unsqueeze(_t(x), axis)


def broadcast_to(x, shape: Sequence[int]) -> Tensor:
    return _C.expand(_t(x), list(shape))


expand = broadcast_to


def _same_dtype(xs: Sequence[Any]) -> list[Tensor]:
    ts = [_t(x) for x in xs]
    if not ts:
        raise ValueError("expected a non-empty sequence of tensors")
    return ts


def concat(xs: Sequence[Any], axis: int = 0) -> Tensor:
    return _C.concat(_same_dtype(xs), axis)


cat = concatenate = concat


def stack(xs: Sequence[Any], axis: int = 0) -> Tensor:
    return _C.stack(_same_dtype(xs), axis)


def split(x, split_size_or_sections, axis: int = 0) -> list[Tensor]:
    """PyTorch semantics: an int is a chunk size; a list gives the section sizes."""
    x = _t(x)
    if x.ndim == 0:
        raise ValueError("split: cannot split a 0-d tensor")
    if not -x.ndim <= axis < x.ndim:
        raise IndexError(f"split: axis {axis} is out of bounds for a tensor of shape {x.shape}")
    n = x.shape[axis]
    if isinstance(split_size_or_sections, int):
        k = split_size_or_sections
        if k <= 0:
            raise ValueError(f"split: chunk size must be positive, got {k}")
        sizes = [k] * (n // k) + ([n % k] if n % k else [])
    else:
        sizes = list(split_size_or_sections)
    return _C.split(x, sizes, axis)


def _exact_number(v: Any) -> Any:
    """Integers (Python, NumPy, int64 0-d tensors) as int, anything else as float."""
    if not isinstance(v, float):
        try:
            return operator.index(v)
        except TypeError:
            pass
    return float(v)


def pad(x, pad_width, value: float = 0.0) -> Tensor:
    """Constant padding, NumPy style: ``pad_width`` is ((before, after), ...) per axis,
    or a single int / (before, after) pair applied to every axis."""
    x = _t(x)
    if isinstance(pad_width, int):
        widths = [(pad_width, pad_width)] * x.ndim
    else:
        pw = list(pad_width)
        if len(pw) == 2 and all(isinstance(v, int) for v in pw):
            widths = [tuple(pw)] * x.ndim
        else:
            widths = [tuple(p) for p in pw]
    if len(widths) != x.ndim:
        raise ValueError(f"pad: got {len(widths)} (before, after) pairs for a tensor of shape {x.shape}")
    return _C.pad(x, widths, _exact_number(value))  # ints stay exact for int64 tensors


def detach(x: Tensor) -> Tensor:
    return tensor_arg(x, "detach", "x").detach()


# ---- engine hooks
# Extension functions that fastgrad's own modules need and that have no public form of
# their own. ops.py is the only module that touches _C; one name per line.
push_jvp_level = _C.push_jvp_level
pop_jvp_level = _C.pop_jvp_level
set_grad_enabled = _C.set_grad_enabled
grad = _C.grad
