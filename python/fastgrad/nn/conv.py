"""Convolution layers, channels-first (PyTorch) or channels-last (cheat sheet NHWC).

Weights: (C_out, C_in/groups, k...) for channels-first, (C_out, k..., C_in/groups) for
channels-last. Initialisation is PyTorch's (kaiming_uniform a=√5 -> U(±1/√fan_in),
bias U(±1/√fan_in), fan_in = C_in/groups · ∏k) in both layouts.
"""

from __future__ import annotations

from typing import Any, Union

import numpy as np

from .._tensor import as_dtype, float32, full
from ..ops import Tensor
from . import functional as F
from . import init
from .module import Module, Parameter


class _ConvNd(Module):
    nd = 0

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Union[int, tuple, str] = 0,
        dilation: Any = 1,
        groups: int = 1,
        bias: bool = True,
        data_format: str | None = None,
        dtype: Any = float32,
        activation: str = "none",
    ) -> None:
        super().__init__()
        nd = self.nd
        name = type(self).__name__
        if groups < 1 or in_channels % groups or out_channels % groups:
            raise ValueError(
                f"{name}: in_channels={in_channels} and out_channels={out_channels} must be divisible "
                f"by groups={groups}"
            )
        self.in_channels = int(in_channels)
        self.out_channels = int(out_channels)
        self.kernel_size = F._tuple(kernel_size, nd, "kernel_size", name)
        self.stride = F._tuple(stride, nd, "stride", name)
        self.dilation = F._tuple(dilation, nd, "dilation", name)
        if min(self.kernel_size) < 1 or int(in_channels) < 1 or int(out_channels) < 1:
            raise ValueError(
                f"{name}({in_channels}, {out_channels}, kernel_size={self.kernel_size}): channels and "
                "kernel sizes must be >= 1"
            )
        if min(self.stride) < 1 or min(self.dilation) < 1:
            raise ValueError(
                f"{name}: stride and dilation must be >= 1, got stride={self.stride}, "
                f"dilation={self.dilation}"
            )
        if isinstance(padding, str):
            if padding.lower() not in ("same", "valid"):
                raise ValueError(
                    f"{name}: padding must be an int, a tuple, 'valid' or 'same', got {padding!r}"
                )
            self.padding: Any = padding.lower()
        else:
            self.padding = padding if isinstance(padding, tuple) else F._tuple(padding, nd, "padding", name)
        self.groups = int(groups)
        self.activation = activation  # checked by the conv op
        self.data_format = data_format or F._DEFAULT_FORMAT[nd]
        self.channels_last = F._channels_last(self.data_format, nd, name)
        cin_g = in_channels // groups
        if self.channels_last:
            shape = [out_channels, *self.kernel_size, cin_g]
        else:
            shape = [out_channels, cin_g, *self.kernel_size]
        dt = as_dtype(dtype) or float32  # dtype=None: the default dtype, as PyTorch
        self.weight = Parameter(full(shape, 0.0, dt))
        self.bias = Parameter(full([out_channels], 0.0, dt)) if bias else None
        self.reset_parameters()

    weight_layout_kind = "conv"  # see nn.interop

    @property
    def weight_layout(self) -> str:
        """ "torch" for a channels-first weight (C_out, C_in/g, k...), "jax" for channels-last
        (C_out, k..., C_in/g) (``nn.interop``)."""
        return "jax" if self.channels_last else "torch"

    @property
    def fan_in(self) -> int:
        """C_in/groups · ∏kernel_size: the fan PyTorch's initialisation uses."""
        return (self.in_channels // self.groups) * int(np.prod(self.kernel_size))

    def reset_parameters(self) -> None:
        """Re-draws W and b from PyTorch's default initialisation (module docstring)."""
        fo = (self.out_channels // self.groups) * int(np.prod(self.kernel_size))
        init.layer_default_(self.weight, self.bias, self.fan_in, fo)

    def forward(self, x: Tensor, activation: str | None = None) -> Tensor:
        """x: (N, C_in, *spatial) channels-first or (N, *spatial, C_in) channels-last (or
        without N) -> the same layout with C_out channels. ``activation`` overrides the
        layer's own for this call."""
        return F._conv(
            x,
            self.weight,
            self.bias,
            self.stride,
            self.padding,
            self.dilation,
            self.groups,
            self.data_format,
            self.nd,
            self.activation if activation is None else activation,
        )

    def extra_repr(self) -> str:
        """The constructor arguments that differ from the defaults."""
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding not in ((0,) * self.nd, "valid"):
            s += (
                f", padding={self.padding!r}"
                if isinstance(self.padding, str)
                else f", padding={self.padding}"
            )
        if self.dilation != (1,) * self.nd:
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.channels_last:
            s += f", data_format={self.data_format!r}"
        if self.activation != "none":
            s += f", activation={self.activation!r}"
        return s


class Conv1d(_ConvNd):
    """1-D convolution: (N, C_in, L) -> (N, C_out, L_out) (data_format="NLC": (N, L, C))."""

    nd = 1


class Conv2d(_ConvNd):
    """2-D convolution: (N, C_in, H, W) -> (N, C_out, H_out, W_out) (data_format="NHWC": channels last)."""

    nd = 2


class Conv3d(_ConvNd):
    """3-D convolution: (N, C_in, D, H, W) -> (N, C_out, D_out, H_out, W_out) (or NDHWC)."""

    nd = 3
