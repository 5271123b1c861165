"""Activation modules (cheat sheet "COMMON ACTIVATION FUNCTIONS")."""

from __future__ import annotations

from .. import ops
from ..ops import Tensor
from . import functional as F
from .module import Module


class ReLU(Module):
    """max(x, 0), elementwise; any shape."""

    def forward(self, x: Tensor) -> Tensor:
        """x: any shape -> the same shape."""
        return ops.relu(x)


class Tanh(Module):
    """tanh(x), elementwise; any shape."""

    def forward(self, x: Tensor) -> Tensor:
        """x: any shape -> the same shape."""
        return ops.tanh(x)


class Sigmoid(Module):
    """1 / (1 + exp(−x)), elementwise; any shape."""

    def forward(self, x: Tensor) -> Tensor:
        """x: any shape -> the same shape."""
        return ops.sigmoid(x)


class GELU(Module):
    """x·Φ(x); ``approximate="tanh"`` uses 0.5x(1 + tanh(√(2/π)(x + 0.044715x³)))."""

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        self.approximate = approximate  # checked by the gelu op on the first call

    def forward(self, x: Tensor) -> Tensor:
        """x: any shape -> the same shape."""
        return ops.gelu(x, self.approximate)

    def extra_repr(self) -> str:
        """``approximate='...'``."""
        return f"approximate={self.approximate!r}"


class SiLU(Module):
    """Swish: x·sigmoid(x)."""

    def forward(self, x: Tensor) -> Tensor:
        """x: any shape -> the same shape."""
        return ops.silu(x)


class Softplus(Module):
    """log(1 + exp(βx)) / β, x itself where βx > ``threshold``; any shape."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta = float(beta)
        self.threshold = float(threshold)

    def forward(self, x: Tensor) -> Tensor:
        """x: any shape -> the same shape."""
        return ops.softplus(x, self.beta, self.threshold)

    def extra_repr(self) -> str:
        """``beta=..., threshold=...``."""
        return f"beta={self.beta}, threshold={self.threshold}"


class LeakyReLU(Module):
    """x if x > 0 else ``negative_slope``·x; any shape."""

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x: Tensor) -> Tensor:
        """x: any shape -> the same shape."""
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        """``negative_slope=...``."""
        return f"negative_slope={self.negative_slope}"


class Softmax(Module):
    """Softmax along ``dim`` (default: the last axis)."""

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, x: Tensor) -> Tensor:
        """x: any shape -> the same shape (sums to 1 along ``dim``)."""
        return ops.softmax(x, self.dim)

    def extra_repr(self) -> str:
        """``dim=...``."""
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    """log(softmax(x)) along ``dim`` (default: the last axis), computed stably."""

    def forward(self, x: Tensor) -> Tensor:
        """x: any shape -> the same shape."""
        return ops.log_softmax(x, self.dim)
