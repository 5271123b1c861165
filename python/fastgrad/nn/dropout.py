"""Dropout and channel dropout (inverted: active in train mode, identity in eval mode)."""

from __future__ import annotations

from ..ops import Tensor
from . import functional as F
from .module import Module


class Dropout(Module):
    """Zeroes each element with probability ``p`` in training and scales the rest by
    1/(1 − p) (inverted dropout); the identity in eval mode. Any shape."""

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"{type(self).__name__}: p must be in [0, 1], got {p}")
        self.p = float(p)
        self.inplace = inplace

    def forward(self, x: Tensor) -> Tensor:
        """x: any shape -> the same shape."""
        return F.dropout(x, self.p, self.training)

    def extra_repr(self) -> str:
        """``p=...``."""
        return f"p={self.p}"


class Dropout1d(Dropout):
    """Channel dropout (SpatialDropout): zeroes whole channels of (N, C, L) or (C, L) with
    probability ``p`` in training, scaling the rest by 1/(1 − p). Same shape."""

    def forward(self, x: Tensor) -> Tensor:
        """x: (N, C, L) or (C, L) -> the same shape."""
        return F.dropout1d(x, self.p, self.training)


class Dropout2d(Dropout):
    """Channel dropout of (N, C, H, W) or (C, H, W) inputs. Same shape."""

    def forward(self, x: Tensor) -> Tensor:
        """x: (N, C, H, W) or (C, H, W) -> the same shape."""
        return F.dropout2d(x, self.p, self.training)


class Dropout3d(Dropout):
    """Channel dropout of (N, C, D, H, W) or (C, D, H, W) inputs. Same shape."""

    def forward(self, x: Tensor) -> Tensor:
        """x: (N, C, D, H, W) or (C, D, H, W) -> the same shape."""
        return F.dropout3d(x, self.p, self.training)
