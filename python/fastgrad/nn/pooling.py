"""Pooling layers (max, average, max unpooling, adaptive average, global average), PyTorch's
signatures."""

from __future__ import annotations

from typing import Any, Optional

from ..ops import Tensor
from . import functional as F
from .module import Module


class _MaxPoolNd(Module):
    nd = 0

    def __init__(
        self,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        dilation: Any = 1,
        return_indices: bool = False,
        ceil_mode: bool = False,
        data_format: str | None = None,
    ) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode
        self.data_format = data_format or F._DEFAULT_FORMAT[self.nd]
        F._channels_last(self.data_format, self.nd, type(self).__name__)

    def forward(self, x: Tensor) -> Any:
        """x: (N, C, *spatial) (or channels-last, or without N) -> pooled, same layout (and
        the per-plane int64 indices with ``return_indices``)."""
        return F._max_pool(
            x,
            self.kernel_size,
            self.stride,
            self.padding,
            self.dilation,
            self.ceil_mode,
            self.return_indices,
            self.data_format,
            self.nd,
        )

    def extra_repr(self) -> str:
        """``kernel_size=..., stride=..., padding=..., dilation=..., ceil_mode=...``."""
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
            f"dilation={self.dilation}, ceil_mode={self.ceil_mode}"
        )


class MaxPool1d(_MaxPoolNd):
    """Max over windows of L: (N, C, L) -> (N, C, L_out) (data_format="NLC": (N, L, C))."""

    nd = 1


class MaxPool2d(_MaxPoolNd):
    """Max over windows of H, W: (N, C, H, W) -> (N, C, H_out, W_out) (or NHWC)."""

    nd = 2


class MaxPool3d(_MaxPoolNd):
    """Max over windows of D, H, W: (N, C, D, H, W) -> (N, C, D_out, H_out, W_out) (or NDHWC)."""

    nd = 3


class _AvgPoolNd(Module):
    nd = 0

    def __init__(
        self,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        divisor_override: Optional[int] = None,
        data_format: str | None = None,
    ) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override
        self.data_format = data_format or F._DEFAULT_FORMAT[self.nd]
        F._channels_last(self.data_format, self.nd, type(self).__name__)

    def forward(self, x: Tensor) -> Tensor:
        """x: (N, C, *spatial) (or channels-last, or without N) -> pooled, same layout."""
        return F._avg_pool(
            x,
            self.kernel_size,
            self.stride,
            self.padding,
            self.ceil_mode,
            self.count_include_pad,
            self.divisor_override,
            self.data_format,
            self.nd,
        )

    def extra_repr(self) -> str:
        """``kernel_size=..., stride=..., padding=...``."""
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool1d(_AvgPoolNd):
    """Mean over windows of L: (N, C, L) -> (N, C, L_out) (data_format="NLC": (N, L, C))."""

    nd = 1

    def __init__(
        self,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        data_format: str | None = None,
    ) -> None:
        super().__init__(kernel_size, stride, padding, ceil_mode, count_include_pad, None, data_format)


class AvgPool2d(_AvgPoolNd):
    """Mean over windows of H, W: (N, C, H, W) -> (N, C, H_out, W_out) (or NHWC)."""

    nd = 2


class AvgPool3d(_AvgPoolNd):
    """Mean over windows of D, H, W: (N, C, D, H, W) -> (N, C, D_out, H_out, W_out) (or NDHWC)."""

    nd = 3


class _MaxUnpoolNd(Module):
    nd = 0

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding

    def forward(self, input: Tensor, indices: Tensor, output_size: Any = None) -> Tensor:
        """input, indices (N, C, *spatial) (from MaxPool with return_indices) -> (N, C,
        *spatial_out) zeros holding each value at its index."""
        return F._max_unpool(
            input, indices, self.kernel_size, self.stride, self.padding, output_size, self.nd
        )

    def extra_repr(self) -> str:
        """``kernel_size=..., stride=..., padding=...``."""
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxUnpool1d(_MaxUnpoolNd):
    """Inverse of MaxPool1d: (N, C, L) values + indices -> (N, C, L_out)."""

    nd = 1


class MaxUnpool2d(_MaxUnpoolNd):
    """Inverse of MaxPool2d: (N, C, H, W) values + indices -> (N, C, H_out, W_out)."""

    nd = 2


class MaxUnpool3d(_MaxUnpoolNd):
    """Inverse of MaxPool3d: (N, C, D, H, W) values + indices -> (N, C, D_out, H_out, W_out)."""

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
