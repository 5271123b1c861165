"""Normalisation layers: BatchNorm1d/2d/3d (running statistics, momentum, eval mode), LayerNorm,
GroupNorm and InstanceNorm1d/2d/3d (PyTorch's signatures and state-dict names)."""

from __future__ import annotations

from typing import Any, Optional

from .._device import check_device
from .._tensor import as_dtype, float32, full, int64
from ..autograd import no_grad
from ..ops import Tensor
from . import functional as F
from .module import Module, Parameter


class _BatchNorm(Module):
    """Batch normalisation over the channel axis (cheat sheet "BATCH NORMALISATION"):
    batch statistics in training (running mean/var updated with ``momentum``), the running
    statistics in eval mode; ``data_format`` puts the channels first (default) or last."""

    _valid_ndims: tuple[int, ...] = ()
    _default_format = "NCHW"
    weight: Optional[Parameter]
    bias: Optional[Parameter]
    running_mean: Optional[Tensor]
    running_var: Optional[Tensor]
    num_batches_tracked: Optional[Tensor]

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: Optional[float] = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        data_format: Optional[str] = None,
        dtype: Any = float32,
        *,
        device: Any = None,
    ) -> None:
        super().__init__()
        check_device(device, f"nn.{type(self).__name__}")
        data_format = data_format or self._default_format
        self.num_features = int(num_features)
        self.eps = float(eps)
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        self.data_format = data_format
        self.channels_last = F._channels_last(data_format, 2, type(self).__name__)
        dt = as_dtype(dtype) or float32  # dtype=None: the default dtype, as PyTorch
        if affine:
            self.weight = Parameter(full([num_features], 1.0, dt))
            self.bias = Parameter(full([num_features], 0.0, dt))
        else:
            self.weight = None
            self.bias = None
        if track_running_stats:
            self.register_buffer("running_mean", full([num_features], 0.0, dt))
            self.register_buffer("running_var", full([num_features], 1.0, dt))
            self.register_buffer("num_batches_tracked", full([], 0.0, int64))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self) -> None:
        """Running mean 0, running variance 1, no batches tracked."""
        rm, rv, nb = self.running_mean, self.running_var, self.num_batches_tracked
        if rm is not None and rv is not None and nb is not None:
            with no_grad():
                rm.copy_(0.0)
                rv.copy_(1.0)
                nb.copy_(0)

    def forward(self, x: Tensor) -> Tensor:
        """x: (N, C, ...) (or channels-last) -> the same shape, normalised per channel."""
        name = type(self).__name__
        if x.ndim not in self._valid_ndims:
            raise ValueError(
                f"{name}: expected a {' or '.join(map(str, self._valid_ndims))}-D input, got shape {x.shape}"
            )
        cax = x.ndim - 1 if (self.channels_last and x.ndim > 2) else 1
        if x.shape[cax] != self.num_features:
            raise ValueError(
                f"{name}({self.num_features}): input of shape {x.shape} has {x.shape[cax]} channels "
                f"on axis {cax}"
            )
        use_batch = self.training or not self.track_running_stats
        return F.batch_norm(
            x,
            self.running_mean if self.track_running_stats else None,
            self.running_var if self.track_running_stats else None,
            self.weight,
            self.bias,
            training=use_batch,
            momentum=self.momentum,
            eps=self.eps,
            channel_axis=cax,
            num_batches_tracked=self.num_batches_tracked if self.track_running_stats else None,
        )

    def extra_repr(self) -> str:
        """The constructor arguments."""
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
            f"track_running_stats={self.track_running_stats}"
        )


class BatchNorm1d(_BatchNorm):
    """Over (N, C) or (N, C, L) inputs (channels-last (N, L, C) with data_format="NLC")."""

    _valid_ndims = (2, 3)
    _default_format = "NCL"


class BatchNorm2d(_BatchNorm):
    """Over (N, C, H, W) inputs (or (N, H, W, C) with data_format="NHWC")."""

    _valid_ndims = (4,)


class BatchNorm3d(_BatchNorm):
    """Over (N, C, D, H, W) inputs (or (N, D, H, W, C) with data_format="NDHWC")."""

    _valid_ndims = (5,)
    _default_format = "NCDHW"


class LayerNorm(Module):
    """Normalises over the trailing ``normalized_shape`` dims, then scales and shifts."""

    weight: Optional[Parameter]
    bias: Optional[Parameter]

    def __init__(
        self,
        normalized_shape: Any,
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        dtype: Any = float32,
        *,
        device: Any = None,
    ) -> None:
        super().__init__()
        check_device(device, "nn.LayerNorm")
        ns = (
            (int(normalized_shape),)
            if isinstance(normalized_shape, int)
            else tuple(int(v) for v in normalized_shape)
        )
        self.normalized_shape = ns
        self.eps = float(eps)
        self.elementwise_affine = elementwise_affine
        dt = as_dtype(dtype) or float32  # dtype=None: the default dtype, as PyTorch
        if elementwise_affine:
            self.weight = Parameter(full(list(ns), 1.0, dt))
            self.bias = Parameter(full(list(ns), 0.0, dt)) if bias else None
        else:
            self.weight = None
            self.bias = None

    def forward(self, x: Tensor) -> Tensor:
        """x: (..., *normalized_shape) -> the same shape."""
        ns = tuple(self.normalized_shape)
        if not isinstance(x, Tensor) or tuple(x.shape[x.ndim - len(ns) :]) != ns:
            shape = getattr(x, "shape", type(x).__name__)
            raise ValueError(f"LayerNorm({ns}): input of shape {shape} does not end with {ns}")
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        """``normalized_shape, eps=..., elementwise_affine=...``."""
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class GroupNorm(Module):
    """Group normalisation (Wu & He 2018): input (N, C, *) -> the same shape, each sample's
    ``num_groups`` channel groups normalised, then a per-channel affine (weight 1, bias 0)."""

    weight: Optional[Parameter]
    bias: Optional[Parameter]

    def __init__(
        self,
        num_groups: int,
        num_channels: int,
        eps: float = 1e-5,
        affine: bool = True,
        device: Any = None,
        dtype: Any = float32,
    ) -> None:
        super().__init__()
        check_device(device, "nn.GroupNorm")
        if num_groups < 1 or num_channels % num_groups:
            raise ValueError(
                f"GroupNorm: num_channels={num_channels} must be divisible by num_groups={num_groups}"
            )
        self.num_groups = int(num_groups)
        self.num_channels = int(num_channels)
        self.eps = float(eps)
        self.affine = affine
        dt = as_dtype(dtype) or float32
        self.weight = Parameter(full([num_channels], 1.0, dt)) if affine else None
        self.bias = Parameter(full([num_channels], 0.0, dt)) if affine else None

    def forward(self, input: Tensor) -> Tensor:
        """input (N, C, *) -> the same shape."""
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        """``num_groups, num_channels, eps=..., affine=...``."""
        return f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}"


class _InstanceNorm(Module):
    """Instance normalisation (Ulyanov et al. 2016): every (n, c) plane normalised over its
    spatial axes; PyTorch's defaults (affine=False, track_running_stats=False). With
    track_running_stats the running mean/var are updated in training and used in eval."""

    nd = 0
    weight: Optional[Parameter]
    bias: Optional[Parameter]
    running_mean: Optional[Tensor]
    running_var: Optional[Tensor]
    num_batches_tracked: Optional[Tensor]

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float = 0.1,
        affine: bool = False,
        track_running_stats: bool = False,
        device: Any = None,
        dtype: Any = float32,
    ) -> None:
        super().__init__()
        check_device(device, f"nn.{type(self).__name__}")
        self.num_features = int(num_features)
        self.eps = float(eps)
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        dt = as_dtype(dtype) or float32
        self.weight = Parameter(full([num_features], 1.0, dt)) if affine else None
        self.bias = Parameter(full([num_features], 0.0, dt)) if affine else None
        if track_running_stats:
            self.register_buffer("running_mean", full([num_features], 0.0, dt))
            self.register_buffer("running_var", full([num_features], 1.0, dt))
            self.register_buffer("num_batches_tracked", full([], 0.0, int64))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def forward(self, input: Tensor) -> Tensor:
        """input (N, C, *spatial) or unbatched (C, *spatial) -> the same shape."""
        name, nd = type(self).__name__, self.nd
        if input.ndim not in (nd + 1, nd + 2):
            raise ValueError(f"{name}: expected a {nd + 1}-D or {nd + 2}-D input, got shape {input.shape}")
        unbatched = input.ndim == nd + 1
        x = input.unsqueeze(0) if unbatched else input
        if x.shape[1] != self.num_features:
            raise ValueError(
                f"{name}({self.num_features}): input of shape {input.shape} has {x.shape[1]} channels"
            )
        use_input_stats = self.training or not self.track_running_stats
        if self.training and self.num_batches_tracked is not None:
            with no_grad():
                self.num_batches_tracked.add_(1)
        y = F.instance_norm(
            x,
            self.running_mean,
            self.running_var,
            self.weight,
            self.bias,
            use_input_stats,
            0.1 if self.momentum is None else self.momentum,
            self.eps,
        )
        return y.squeeze(0) if unbatched else y

    def extra_repr(self) -> str:
        """The constructor arguments."""
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
            f"track_running_stats={self.track_running_stats}"
        )


class InstanceNorm1d(_InstanceNorm):
    """Over (N, C, L) (or (C, L)) inputs."""

    nd = 1


class InstanceNorm2d(_InstanceNorm):
    """Over (N, C, H, W) (or (C, H, W)) inputs."""

    nd = 2


class InstanceNorm3d(_InstanceNorm):
    """Over (N, C, D, H, W) (or (C, D, H, W)) inputs."""

    nd = 3
