"""Pooling layers (max, average, adaptive average, global average)."""

from __future__ import annotations

from typing import Any

from ..ops import Tensor
from . import functional as F
from .module import Module


class _MaxPoolNd(Module):
    nd = 0

    def __init__(
        self, kernel_size: Any, stride: Any = None, padding: Any = 0, data_format: str | None = None
    ) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.data_format = data_format or F._DEFAULT_FORMAT[self.nd]
        F._channels_last(self.data_format, self.nd, type(self).__name__)

    def forward(self, x: Tensor) -> Tensor:
        """x: (N, C, *spatial) (or channels-last, or without N) -> pooled, same layout."""
        return F._max_pool(x, self.kernel_size, self.stride, self.padding, self.data_format, self.nd)

    def extra_repr(self) -> str:
        """``kernel_size=..., stride=..., padding=...``."""
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxPool1d(_MaxPoolNd):
    """Max over windows of L: (N, C, L) -> (N, C, L_out) (data_format="NLC": (N, L, C))."""

    nd = 1


class MaxPool2d(_MaxPoolNd):
    """Max over windows of H, W: (N, C, H, W) -> (N, C, H_out, W_out) (or NHWC)."""

    nd = 2


class MaxPool3d(_MaxPoolNd):
    """Max over windows of D, H, W: (N, C, D, H, W) -> (N, C, D_out, H_out, W_out) (or NDHWC)."""

    nd = 3


class _AvgPoolNd(_MaxPoolNd):
    def __init__(
        self,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        count_include_pad: bool = True,
        data_format: str | None = None,
    ) -> None:
        super().__init__(kernel_size, stride, padding, data_format)
        self.count_include_pad = count_include_pad

    def forward(self, x: Tensor) -> Tensor:
        """x: (N, C, *spatial) (or channels-last, or without N) -> pooled, same layout."""
        return F._avg_pool(
            x, self.kernel_size, self.stride, self.padding, self.count_include_pad, self.data_format, self.nd
        )


class AvgPool1d(_AvgPoolNd):
    """Mean over windows of L: (N, C, L) -> (N, C, L_out) (data_format="NLC": (N, L, C))."""

    nd = 1


class AvgPool2d(_AvgPoolNd):
    """Mean over windows of H, W: (N, C, H, W) -> (N, C, H_out, W_out) (or NHWC)."""

    nd = 2


class AvgPool3d(_AvgPoolNd):
    """Mean over windows of D, H, W: (N, C, D, H, W) -> (N, C, D_out, H_out, W_out) (or NDHWC)."""

    nd = 3


class _AdaptiveAvgPoolNd(Module):
    nd = 0

    def __init__(self, output_size: Any, data_format: str | None = None) -> None:
        super().__init__()
        self.output_size = output_size
        self.data_format = data_format or F._DEFAULT_FORMAT[self.nd]

    def forward(self, x: Tensor) -> Tensor:
        """x: (N, C, *spatial) (or channels-last) -> (N, C, *output_size), same layout."""
        return F._adaptive(x, self.output_size, self.data_format, self.nd)

    def extra_repr(self) -> str:
        """``output_size=...``."""
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(_AdaptiveAvgPoolNd):
    """Mean over L bins chosen to give ``output_size``: (N, C, L) -> (N, C, L_out)."""

    nd = 1


class AdaptiveAvgPool2d(_AdaptiveAvgPoolNd):
    """Mean over H×W bins chosen to give ``output_size``: (N, C, H, W) -> (N, C, H_out, W_out)."""

    nd = 2


class AdaptiveAvgPool3d(_AdaptiveAvgPoolNd):
    """Mean over D×H×W bins chosen to give ``output_size``: (N, C, D, H, W) -> (N, C, *output_size)."""

    nd = 3


class GlobalAvgPool(Module):
    """Mean over all spatial dims: (N, C, *spatial) -> (N, C); NHWC-style input with
    ``data_format="NHWC"``."""

    def __init__(self, data_format: str = "NCHW", keepdims: bool = False) -> None:
        super().__init__()
        self.data_format = data_format
        self.keepdims = keepdims

    def forward(self, x: Tensor) -> Tensor:
        """x: (N, C, *spatial) -> (N, C) (``keepdims``: (N, C, 1, ...)); channels-last likewise."""
        return F.global_avg_pool(x, self.data_format, self.keepdims)
