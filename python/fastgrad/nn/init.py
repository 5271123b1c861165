"""Weight initialisers with PyTorch's formulas, drawing from fastgrad's RNG
(``fg.rand``/``fg.randn``, reproducible with ``fg.manual_seed``).

All work in place on a tensor and return it. Fans follow ``torch.nn.init``:
for a tensor of shape (out, in, *k) fan_in = in·∏k and fan_out = out·∏k. Layers whose
weights use another layout (JAX-style Linear, channels-last Conv) pass ``fan_in`` /
``fan_out`` explicitly.
"""

from __future__ import annotations

import math
from typing import Optional

import numpy as np

from .._tensor import eye, rand, randn
from ..autograd import no_grad
from ..ops import Tensor


def _write(t: Tensor, values: Tensor) -> Tensor:
    with no_grad():
        t.copy_(values)
    return t


def calculate_gain(nonlinearity: str, param: Optional[float] = None) -> float:
    """PyTorch's recommended gain for ``nonlinearity`` (``param``: leaky_relu's slope)."""
    linear = (
        "linear",
        "conv1d",
        "conv2d",
        "conv3d",
        "conv_transpose1d",
        "conv_transpose2d",
        "conv_transpose3d",
        "sigmoid",
        "identity",
    )
    if nonlinearity in linear:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else float(param)
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def _calculate_fan_in_and_fan_out(t: Tensor) -> tuple[int, int]:
    if t.ndim < 2:
        raise ValueError(f"fan in and fan out need a tensor with at least 2 dims, got shape {t.shape}")
    rf = int(np.prod(t.shape[2:])) if t.ndim > 2 else 1
    return t.shape[1] * rf, t.shape[0] * rf


def _fans(t: Tensor, fan_in: Optional[int], fan_out: Optional[int]) -> tuple[int, int]:
    if fan_in is not None and fan_out is not None:
        return fan_in, fan_out
    fi, fo = _calculate_fan_in_and_fan_out(t)
    return (fan_in if fan_in is not None else fi), (fan_out if fan_out is not None else fo)


def _fan(t: Tensor, fan: int, name: str) -> int:
    if fan <= 0:
        raise ValueError(f"{name}: the fan of a tensor of shape {t.shape} is {fan}; it must be positive")
    return fan


def uniform_(t: Tensor, a: float = 0.0, b: float = 1.0) -> Tensor:
    """Fills ``t`` (any shape) with U(a, b) draws; returns ``t``."""
    r = rand(*t.shape, dtype=t.dtype)
    return _write(t, r * float(b - a) + float(a))


def normal_(t: Tensor, mean: float = 0.0, std: float = 1.0) -> Tensor:
    """Fills ``t`` (any shape) with N(mean, std²) draws; returns ``t``."""
    r = randn(*t.shape, dtype=t.dtype)
    return _write(t, r * float(std) + float(mean))


def constant_(t: Tensor, val: float) -> Tensor:
    """Fills ``t`` (any shape) with ``val``; returns ``t``."""
    with no_grad():
        t.copy_(float(val))
    return t


def zeros_(t: Tensor) -> Tensor:
    """Fills ``t`` with 0; returns ``t``."""
    return constant_(t, 0.0)


def ones_(t: Tensor) -> Tensor:
    """Fills ``t`` with 1; returns ``t``."""
    return constant_(t, 1.0)


def eye_(t: Tensor) -> Tensor:
    """Fills a 2-D ``t`` (n, m) with the identity; returns ``t``."""
    if t.ndim != 2:
        raise ValueError(f"eye_: expected a 2-D tensor, got shape {t.shape}")
    return _write(t, eye(t.shape[0], t.shape[1], dtype=t.dtype))


def _kaiming_std(
    t: Tensor,
    a: float,
    mode: str,
    nonlinearity: str,
    fan_in: Optional[int],
    fan_out: Optional[int],
    name: str,
) -> float:
    """gain / √fan: the standard deviation both Kaiming initialisers target."""
    fi, fo = _fans(t, fan_in, fan_out)
    fan = _fan(t, fi if mode == "fan_in" else fo, name)
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(
    t: Tensor,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    fan_in: Optional[int] = None,
    fan_out: Optional[int] = None,
) -> Tensor:
    """He uniform: U(±√3·gain/√fan) with fan = fan_in or fan_out (``mode``); ``t``: (out, in, *k)
    unless ``fan_in``/``fan_out`` are given. Returns ``t``."""
    if t.numel() == 0:  # nothing to fill (PyTorch: "Initializing zero-element tensors is a no-op")
        return t
    bound = math.sqrt(3.0) * _kaiming_std(t, a, mode, nonlinearity, fan_in, fan_out, "kaiming_uniform_")
    return uniform_(t, -bound, bound)


def kaiming_normal_(
    t: Tensor,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    fan_in: Optional[int] = None,
    fan_out: Optional[int] = None,
) -> Tensor:
    """He normal: N(0, (gain/√fan)²), fans as in ``kaiming_uniform_``. Returns ``t``."""
    if t.numel() == 0:
        return t
    return normal_(t, 0.0, _kaiming_std(t, a, mode, nonlinearity, fan_in, fan_out, "kaiming_normal_"))


def _xavier_std(t: Tensor, gain: float, fan_in: Optional[int], fan_out: Optional[int], name: str) -> float:
    fi, fo = _fans(t, fan_in, fan_out)
    _fan(t, fi + fo, name)
    return gain * math.sqrt(2.0 / (fi + fo))


def xavier_uniform_(
    t: Tensor, gain: float = 1.0, fan_in: Optional[int] = None, fan_out: Optional[int] = None
) -> Tensor:
    """Glorot uniform: U(±gain·√(6/(fan_in + fan_out))); ``t``: (out, in, *k). Returns ``t``."""
    if t.numel() == 0:
        return t
    bound = math.sqrt(3.0) * _xavier_std(t, gain, fan_in, fan_out, "xavier_uniform_")
    return uniform_(t, -bound, bound)


def xavier_normal_(
    t: Tensor, gain: float = 1.0, fan_in: Optional[int] = None, fan_out: Optional[int] = None
) -> Tensor:
    """Glorot normal: N(0, gain²·2/(fan_in + fan_out)); ``t``: (out, in, *k). Returns ``t``."""
    if t.numel() == 0:
        return t
    return normal_(t, 0.0, _xavier_std(t, gain, fan_in, fan_out, "xavier_normal_"))


def layer_default_(weight: Tensor, bias: Optional[Tensor], fan_in: int, fan_out: int) -> None:
    """PyTorch's default for Linear and Conv: W ~ kaiming_uniform(a=√5) = U(±1/√fan_in),
    b ~ U(±1/√fan_in) (b: (out,), or None)."""
    kaiming_uniform_(weight, a=math.sqrt(5), fan_in=fan_in, fan_out=fan_out)
    if bias is not None:
        bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
        uniform_(bias, -bound, bound)


# PyTorch-compatible aliases without the trailing underscore
uniform = uniform_
normal = normal_
