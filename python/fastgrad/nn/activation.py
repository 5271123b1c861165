"""Activation modules (cheat sheet "COMMON ACTIVATION FUNCTIONS")."""

from __future__ import annotations

from .. import _C
from .._C import Tensor
from . import functional as F
from .module import Module


class ReLU(Module):
    def forward(self, x: Tensor) -> Tensor:
        return _C.relu(x)


class Tanh(Module):
    def forward(self, x: Tensor) -> Tensor:
        return _C.tanh(x)


class Sigmoid(Module):
    def forward(self, x: Tensor) -> Tensor:
        return _C.sigmoid(x)


class GELU(Module):
    """x·Φ(x); ``approximate="tanh"`` uses 0.5x(1 + tanh(√(2/π)(x + 0.044715x³)))."""

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate
        self._tanh = approximate == "tanh"

    def forward(self, x: Tensor) -> Tensor:
        return _C.gelu(x, self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class SiLU(Module):
    """Swish: x·sigmoid(x)."""

    def forward(self, x: Tensor) -> Tensor:
        return _C.silu(x)


class Softplus(Module):
    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta = float(beta)
        self.threshold = float(threshold)

    def forward(self, x: Tensor) -> Tensor:
        return _C.softplus(x, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class LeakyReLU(Module):
    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x: Tensor) -> Tensor:
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class Softmax(Module):
    """Softmax along ``dim`` (default: the last axis)."""

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, x: Tensor) -> Tensor:
        return _C.softmax(x, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    def forward(self, x: Tensor) -> Tensor:
        return _C.log_softmax(x, self.dim)
