"""Convolution layers, channels-first (PyTorch) or channels-last (cheat sheet NHWC).

Weights: (C_out, C_in/groups, k...) for channels-first, (C_out, k..., C_in/groups) for
channels-last. Initialisation is PyTorch's (kaiming_uniform a=√5 -> U(±1/√fan_in),
bias U(±1/√fan_in), fan_in = C_in/groups · ∏k) in both layouts.
"""

from __future__ import annotations

from typing import Any, Union

import numpy as np

from .._device import check_device
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
        *,
        padding_mode: str = "zeros",
        device: Any = None,
    ) -> None:
        super().__init__()
        nd = self.nd
        name = type(self).__name__
        check_device(device, f"nn.{name}")
        if padding_mode not in ("zeros", "reflect", "replicate", "circular"):
            raise ValueError(
                f"{name}: padding_mode must be 'zeros', 'reflect', 'replicate' or 'circular', got {padding_mode!r}"
            )
        self.padding_mode = padding_mode
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
        padding: Any = self.padding
        if self.padding_mode != "zeros":
            # PyTorch pads with F.pad in the chosen mode, then convolves unpadded.
            if isinstance(padding, str):
                raise ValueError(
                    f"{type(self).__name__}: padding_mode {self.padding_mode!r} needs numeric padding"
                )
            pairs = [(p, p) if isinstance(p, (int, np.integer)) else tuple(p) for p in padding]
            order = list(reversed(pairs))
            if self.channels_last:
                raise ValueError(
                    f"{type(self).__name__}: padding_mode {self.padding_mode!r} needs channels-first"
                )
            x = F.pad(x, [v for pr in order for v in pr], self.padding_mode)
            padding = 0
        return F._conv(
            x,
            self.weight,
            self.bias,
            self.stride,
            padding,
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


class _ConvTransposeNd(Module):
    """Transposed convolution (the input adjoint of a convolution), PyTorch's signature and
    weight layout (C_in, C_out/groups, k...) (channels-last: (C_in, k..., C_out/groups)).
    Initialisation as PyTorch: kaiming_uniform a=√5 over fan_in = weight.shape[1]·∏k."""

    nd = 0

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Any,
        stride: Any = 1,
        padding: Any = 0,
        output_padding: Any = 0,
        groups: int = 1,
        bias: bool = True,
        dilation: Any = 1,
        padding_mode: str = "zeros",
        device: Any = None,
        dtype: Any = float32,
        data_format: str | None = None,
    ) -> None:
        super().__init__()
        nd = self.nd
        name = type(self).__name__
        check_device(device, f"nn.{name}")
        if padding_mode != "zeros":
            raise ValueError(f'{name}: only "zeros" padding_mode is supported, got {padding_mode!r}')
        if groups < 1 or in_channels % groups or out_channels % groups:
            raise ValueError(
                f"{name}: in_channels={in_channels} and out_channels={out_channels} must be divisible "
                f"by groups={groups}"
            )
        self.in_channels = int(in_channels)
        self.out_channels = int(out_channels)
        self.kernel_size = F._ptuple(kernel_size, nd, "kernel_size", name)
        self.stride = F._ptuple(stride, nd, "stride", name)
        self.padding = F._ptuple(padding, nd, "padding", name)
        self.output_padding = F._ptuple(output_padding, nd, "output_padding", name)
        self.dilation = F._ptuple(dilation, nd, "dilation", name)
        self.groups = int(groups)
        self.padding_mode = padding_mode
        if min(self.kernel_size) < 1 or in_channels < 1 or out_channels < 1:
            raise ValueError(f"{name}: channels and kernel sizes must be >= 1")
        self.data_format = data_format or F._DEFAULT_FORMAT[nd]
        self.channels_last = F._channels_last(self.data_format, nd, name)
        cout_g = out_channels // groups
        shape = (
            [in_channels, *self.kernel_size, cout_g]
            if self.channels_last
            else [in_channels, cout_g, *self.kernel_size]
        )
        dt = as_dtype(dtype) or float32
        self.weight = Parameter(full(shape, 0.0, dt))
        self.bias = Parameter(full([out_channels], 0.0, dt)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Re-draws W and b from PyTorch's default initialisation (class docstring)."""
        k = int(np.prod(self.kernel_size))
        init.layer_default_(
            self.weight, self.bias, (self.out_channels // self.groups) * k, self.in_channels * k
        )

    def _output_padding(self, x: Tensor, output_size: Any) -> tuple[int, ...]:
        # PyTorch's _output_padding: the output_padding that gives the requested size.
        if output_size is None:
            return self.output_padding
        nd, name = self.nd, type(self).__name__
        size = [int(v) for v in output_size]
        if len(size) == nd + 2:
            size = size[2:]
        if len(size) != nd:
            raise ValueError(f"{name}: output_size must have {nd} or {nd + 2} entries, got {output_size}")
        spatial = x.shape[-nd - 1 : -1] if self.channels_last else x.shape[-nd:]
        res = []
        for d in range(nd):
            lo = (
                (spatial[d] - 1) * self.stride[d]
                - 2 * self.padding[d]
                + self.dilation[d] * (self.kernel_size[d] - 1)
                + 1
            )
            if not lo <= size[d] < lo + self.stride[d]:
                raise ValueError(
                    f"{name}: requested an output size of {size}, but valid sizes along dim {d} range from "
                    f"{lo} to {lo + self.stride[d] - 1} (for an input of shape {x.shape})"
                )
            res.append(size[d] - lo)
        return tuple(res)

    def forward(self, input: Tensor, output_size: Any = None) -> Tensor:
        """input (N, C_in, *S) (or without N; channels-last likewise) -> (N, C_out, *S_out),
        S_out = (S-1)·stride − 2·padding + dilation·(k−1) + output_padding + 1 (``output_size``
        picks the output_padding)."""
        return F._conv_transpose(
            input,
            self.weight,
            self.bias,
            self.stride,
            self.padding,
            self._output_padding(input, output_size),
            self.groups,
            self.dilation,
            self.data_format,
            self.nd,
        )

    def extra_repr(self) -> str:
        """The constructor arguments."""
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * self.nd:
            s += f", padding={self.padding}"
        if self.output_padding != (0,) * self.nd:
            s += f", output_padding={self.output_padding}"
        if self.dilation != (1,) * self.nd:
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        return s


class ConvTranspose1d(_ConvTransposeNd):
    """Transposed 1-D convolution: (N, C_in, L) -> (N, C_out, L_out); weight (C_in, C_out/groups, k)."""

    nd = 1


class ConvTranspose2d(_ConvTransposeNd):
    """Transposed 2-D convolution: (N, C_in, H, W) -> (N, C_out, H_out, W_out); weight
    (C_in, C_out/groups, kh, kw)."""

    nd = 2


class ConvTranspose3d(_ConvTransposeNd):
    """Transposed 3-D convolution: (N, C_in, D, H, W) -> (N, C_out, D_out, H_out, W_out)."""

    nd = 3
