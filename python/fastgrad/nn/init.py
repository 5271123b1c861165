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
from ..ops import Tensor


def _write(t: Tensor, values: Tensor) -> Tensor:
    from ..autograd import no_grad

    with no_grad():
        t.copy_(values)
    return t


def calculate_gain(nonlinearity: str, param: Optional[float] = None) -> float:
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


def uniform_(t: Tensor, a: float = 0.0, b: float = 1.0) -> Tensor:
    r = rand(*t.shape, dtype=t.dtype)
    return _write(t, r * float(b - a) + float(a))


def normal_(t: Tensor, mean: float = 0.0, std: float = 1.0) -> Tensor:
    r = randn(*t.shape, dtype=t.dtype)
    return _write(t, r * float(std) + float(mean))


def constant_(t: Tensor, val: float) -> Tensor:
    from ..autograd import no_grad

    with no_grad():
        t.copy_(float(val))
    return t


def zeros_(t: Tensor) -> Tensor:
    return constant_(t, 0.0)


def ones_(t: Tensor) -> Tensor:
    return constant_(t, 1.0)


def eye_(t: Tensor) -> Tensor:
    if t.ndim != 2:
        raise ValueError(f"eye_: expected a 2-D tensor, got shape {t.shape}")
    return _write(t, eye(t.shape[0], t.shape[1], dtype=t.dtype))


def _fan(t: Tensor, fan: int, name: str) -> int:
    if fan <= 0:
        raise ValueError(f"{name}: the fan of a tensor of shape {t.shape} is {fan}; it must be positive")
    return fan


def kaiming_uniform_(
    t: Tensor,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    fan_in: Optional[int] = None,
    fan_out: Optional[int] = None,
) -> Tensor:
    if t.numel() == 0:  # nothing to fill (PyTorch: "Initializing zero-element tensors is a no-op")
        return t
    fi, fo = _fans(t, fan_in, fan_out)
    fan = _fan(t, fi if mode == "fan_in" else fo, "kaiming_uniform_")
    gain = calculate_gain(nonlinearity, a)
    bound = math.sqrt(3.0) * gain / math.sqrt(fan)
    return uniform_(t, -bound, bound)


def kaiming_normal_(
    t: Tensor,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    fan_in: Optional[int] = None,
    fan_out: Optional[int] = None,
) -> Tensor:
    if t.numel() == 0:
        return t
    fi, fo = _fans(t, fan_in, fan_out)
    fan = _fan(t, fi if mode == "fan_in" else fo, "kaiming_normal_")
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return normal_(t, 0.0, std)


def xavier_uniform_(
    t: Tensor, gain: float = 1.0, fan_in: Optional[int] = None, fan_out: Optional[int] = None
) -> Tensor:
    if t.numel() == 0:
        return t
    fi, fo = _fans(t, fan_in, fan_out)
    _fan(t, fi + fo, "xavier_uniform_")
    bound = gain * math.sqrt(6.0 / (fi + fo))
    return uniform_(t, -bound, bound)


def xavier_normal_(
    t: Tensor, gain: float = 1.0, fan_in: Optional[int] = None, fan_out: Optional[int] = None
) -> Tensor:
    if t.numel() == 0:
        return t
    fi, fo = _fans(t, fan_in, fan_out)
    _fan(t, fi + fo, "xavier_normal_")
    return normal_(t, 0.0, gain * math.sqrt(2.0 / (fi + fo)))


# PyTorch-compatible aliases without the trailing underscore
uniform = uniform_
normal = normal_
