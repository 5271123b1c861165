"""Dropout (inverted: active in train mode, identity in eval mode)."""

from __future__ import annotations

from ..ops import Tensor
from . import functional as F
from .module import Module


class Dropout(Module):
    """Zeroes each element with probability ``p`` in training and scales the rest by
    1/(1 − p) (inverted dropout); the identity in eval mode. Any shape."""

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: p must be in [0, 1], got {p}")
        self.p = float(p)

    def forward(self, x: Tensor) -> Tensor:
        """x: any shape -> the same shape."""
        return F.dropout(x, self.p, self.training)

    def extra_repr(self) -> str:
        """``p=...``."""
        return f"p={self.p}"
