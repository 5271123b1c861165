"""Every layer as a function (``import fastgrad.nn.functional as F``), plus the losses.

Conventions follow PyTorch (channels-first by default, weight layouts, argument
names); ``data_format="NHWC"`` (or "NLC"/"NDHWC"/"channels_last") selects the
channels-last layout of the cheat sheet, whose convolution weight is
``(C_out, k..., C_in/groups)``. Shapes are validated in Python so errors name the
layer and the shapes involved instead of surfacing from a kernel.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Optional

import numpy as np

from .. import ops
from .._tensor import bool_, float32, float64, int64, rand, tensor, tensor_arg, zeros_like
from ..autograd import no_grad
from ..ops import Tensor
from .interop import check_layout, convert_linear_weight
from .losses import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cosine_embedding_loss,
    cosine_similarity,
    cross_entropy,
    ctc_loss,
    gaussian_nll_loss,
    hinge_embedding_loss,
    huber_loss,
    kl_div,
    l1_loss,
    margin_ranking_loss,
    mse_loss,
    multi_margin_loss,
    multilabel_margin_loss,
    multilabel_soft_margin_loss,
    nll_loss,
    normalize,
    pairwise_distance,
    poisson_nll_loss,
    smooth_l1_loss,
    soft_margin_loss,
    triplet_margin_loss,
    triplet_margin_with_distance_loss,
)

__all__ = [
    "linear",
    "conv1d",
    "conv2d",
    "conv3d",
    "max_pool1d",
    "max_pool2d",
    "max_pool3d",
    "avg_pool1d",
    "avg_pool2d",
    "avg_pool3d",
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "adaptive_avg_pool3d",
    "global_avg_pool",
    "dropout",
    "batch_norm",
    "layer_norm",
    "embedding",
    "one_hot",
    "relu",
    "tanh",
    "sigmoid",
    "gelu",
    "silu",
    "softplus",
    "leaky_relu",
    "softmax",
    "log_softmax",
    "scaled_dot_product_attention",
    "pad_same",
    "convert_linear_weight",
    "mse_loss",
    "l1_loss",
    "huber_loss",
    "smooth_l1_loss",
    "binary_cross_entropy_with_logits",
    "binary_cross_entropy",
    "cross_entropy",
    "nll_loss",
    "kl_div",
    "cosine_embedding_loss",
    "margin_ranking_loss",
    "poisson_nll_loss",
    "gaussian_nll_loss",
    "triplet_margin_loss",
    "triplet_margin_with_distance_loss",
    "soft_margin_loss",
    "multilabel_soft_margin_loss",
    "hinge_embedding_loss",
    "multi_margin_loss",
    "multilabel_margin_loss",
    "cosine_similarity",
    "pairwise_distance",
    "normalize",
    "ctc_loss",
]


def _t(x: Any) -> Tensor:
    if isinstance(x, Tensor):
        return x
    import sys  # the calling function (relu, conv2d, ...) names the op in the error

    return tensor_arg(x, sys._getframe(1).f_code.co_name, "input")


# ------------------------------------------------------------------ activations
# PyTorch's signatures. ``inplace=True`` is accepted (PyTorch code passes it) and the result is
# computed out of place and returned: fastgrad's tape keeps the input these rules read.
def relu(x: Tensor, inplace: bool = False) -> Tensor:
    """max(x, 0) elementwise; x: any shape -> the same shape."""
    return ops.relu(_t(x))


def relu6(x: Tensor, inplace: bool = False) -> Tensor:
    """min(max(x, 0), 6) elementwise; x: any shape -> the same shape."""
    return ops.relu6(_t(x))


def tanh(x: Tensor) -> Tensor:
    """tanh(x) elementwise; x: any shape -> the same shape."""
    return ops.tanh(_t(x))


def sigmoid(x: Tensor) -> Tensor:
    """1 / (1 + exp(−x)) elementwise; x: any shape -> the same shape."""
    return ops.sigmoid(_t(x))


def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    """x·Φ(x) (``approximate="tanh"``: its tanh form); x: any shape -> the same shape."""
    return ops.gelu(x, approximate)


def silu(x: Tensor, inplace: bool = False) -> Tensor:
    """x·sigmoid(x) elementwise; x: any shape -> the same shape."""
    return ops.silu(_t(x))


def mish(x: Tensor, inplace: bool = False) -> Tensor:
    """x·tanh(softplus(x)) elementwise; x: any shape -> the same shape."""
    return ops.mish(_t(x))


def softplus(x: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + exp(βx)) / β, and x itself where βx > ``threshold`` (as PyTorch)."""
    return ops.softplus(_t(x), float(beta), float(threshold))


def leaky_relu(x: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x if x > 0 else ``negative_slope``·x (gradient ``negative_slope`` at 0, as PyTorch); any shape."""
    x = _t(x)
    return ops.where(x > 0, x, x * float(negative_slope))


def elu(x: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x if x > 0 else α(exp(x) − 1); x: any shape -> the same shape."""
    return ops.elu(_t(x), float(alpha))


def selu(x: Tensor, inplace: bool = False) -> Tensor:
    """scale·elu(x, α) with Klambauer et al.'s constants; x: any shape -> the same shape."""
    return ops.selu(_t(x))


def celu(x: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """max(0, x) + min(0, α(exp(x/α) − 1)); x: any shape -> the same shape."""
    return ops.celu(_t(x), float(alpha))


def hardtanh(x: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    """x clamped to [min_val, max_val] (gradient 1 strictly inside); x: any shape -> the same shape."""
    return ops.hardtanh(_t(x), float(min_val), float(max_val))


def hardswish(x: Tensor, inplace: bool = False) -> Tensor:
    """x·relu6(x + 3)/6; x: any shape -> the same shape."""
    return ops.hardswish(_t(x))


def hardsigmoid(x: Tensor, inplace: bool = False) -> Tensor:
    """relu6(x + 3)/6; x: any shape -> the same shape."""
    return ops.hardsigmoid(_t(x))


def softsign(x: Tensor) -> Tensor:
    """x / (1 + |x|); x: any shape -> the same shape."""
    return ops.softsign(_t(x))


def logsigmoid(x: Tensor) -> Tensor:
    """log(sigmoid(x)), computed stably; x: any shape -> the same shape."""
    return ops.logsigmoid(_t(x))


def threshold(x: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """x where x > threshold, else value; x: any shape -> the same shape."""
    return ops.threshold(_t(x), float(threshold), float(value))


def tanhshrink(x: Tensor) -> Tensor:
    """x − tanh(x); x: any shape -> the same shape."""
    return ops.tanhshrink(_t(x))


def softshrink(x: Tensor, lambd: float = 0.5) -> Tensor:
    """x ∓ λ outside [−λ, λ], 0 inside; x: any shape -> the same shape."""
    return ops.softshrink(_t(x), float(lambd))


def hardshrink(x: Tensor, lambd: float = 0.5) -> Tensor:
    """x outside [−λ, λ], 0 inside; x: any shape -> the same shape."""
    return ops.hardshrink(_t(x), float(lambd))


def prelu(x: Tensor, weight: Tensor) -> Tensor:
    """x if x > 0 else weight·x, weight (1,) or (C,) broadcast along axis 1 (axis 0 of a 1-d x).

    x: (N, C, *) or (C,) or any shape when weight has one element -> the same shape.
    """
    x, w = _t(x), _t(weight)
    if w.ndim > 1:
        raise ValueError(f"prelu: weight must be 0-d or 1-d, got shape {tuple(w.shape)}")
    if w.numel() != 1:
        if x.ndim == 0:
            raise ValueError("prelu: a 0-d input needs a weight with one element")
        c = x.shape[1] if x.ndim >= 2 else 1
        if w.numel() != c:
            raise ValueError(
                f"prelu: weight has {w.numel()} elements but input of shape {tuple(x.shape)} has {c} channels"
            )
        w = w.reshape([c] + [1] * (x.ndim - 2)) if x.ndim >= 2 else w
    elif w.ndim == 1 and x.ndim == 0:
        w = w.reshape([])
    return ops.where(x > 0, x, x * w)


def glu(x: Tensor, dim: int = -1) -> Tensor:
    """a·sigmoid(b) with a, b the two halves of x along ``dim``; (…, 2n, …) -> (…, n, …)."""
    x = _t(x)
    if x.ndim == 0:
        raise ValueError("glu: does not support 0-d (scalar) tensors")
    n = x.shape[dim]
    if n % 2:
        raise ValueError(
            f"glu: halving dimension {dim} of shape {tuple(x.shape)} needs an even size, got {n}"
        )
    a, b = ops.split(x, [n // 2, n // 2], dim)
    return a * ops.sigmoid(b)


def _softmax_dim(x: Tensor, dim: Optional[int]) -> int:
    # PyTorch's implicit choice for dim=None (_get_softmax_dim): 0 for 0-, 1- and 3-d input, else 1.
    if dim is not None:
        return dim
    return 0 if x.ndim in (0, 1, 3) else 1


def _cast_to(x: Tensor, dtype: Any) -> Tensor:
    return x if dtype is None else ops.cast(x, dtype)


def softmax(x: Tensor, dim: Optional[int] = -1, _stacklevel: int = 3, dtype: Any = None) -> Tensor:
    """exp(x) / Σ exp(x) along ``dim`` (stable; None: PyTorch's implicit dim); x: any shape -> the same."""
    x = _cast_to(_t(x), dtype)
    return ops.softmax(x, _softmax_dim(x, dim))


def softmin(x: Tensor, dim: Optional[int] = None, _stacklevel: int = 3, dtype: Any = None) -> Tensor:
    """softmax(−x) along ``dim`` (None: PyTorch's implicit dim); x: any shape -> the same shape."""
    x = _cast_to(_t(x), dtype)
    return ops.softmax(-x, _softmax_dim(x, dim))


def log_softmax(x: Tensor, dim: Optional[int] = -1, _stacklevel: int = 3, dtype: Any = None) -> Tensor:
    """x − logsumexp(x) along ``dim`` (None: PyTorch's implicit dim); x: any shape -> the same shape."""
    x = _cast_to(_t(x), dtype)
    return ops.log_softmax(x, _softmax_dim(x, dim))


def one_hot(target: Any, num_classes: int = -1, dtype: Any = float32) -> Tensor:
    """Integer ``target`` of shape (...) -> (..., num_classes) of 0/1 in ``dtype``
    (float32 or float64); ``num_classes=-1``: max(target) + 1."""
    if dtype not in (float32, float64):
        raise TypeError(f"one_hot: dtype must be fastgrad.float32 or fastgrad.float64, got {dtype!r}")
    idx = np.asarray(target).astype(np.int64)
    if num_classes < 0:
        num_classes = int(idx.max()) + 1 if idx.size else 0
    if idx.size and (idx.min() < 0 or idx.max() >= num_classes):
        raise ValueError(
            f"one_hot: class values must be in [0, {num_classes}), got range [{idx.min()}, {idx.max()}]"
        )
    out = np.zeros(idx.shape + (num_classes,), dtype=np.float64 if dtype == float64 else np.float32)
    np.put_along_axis(out, idx[..., None], 1.0, axis=-1)
    return tensor(out, dtype)


# ------------------------------------------------------------------ linear
def linear(
    x: Tensor, weight: Tensor, bias: Optional[Tensor] = None, layout: str = "torch", activation: str = "none"
) -> Tensor:
    """``x @ W.T + b`` for a (out, in) weight, or ``x @ W + b`` for layout="jax" (in, out).

    ``x`` may be a single vector (in,), a row (1, in) or a batch (..., in).
    ``activation`` = "relu" | "tanh" | "sigmoid" is fused into the GEMM epilogue.
    """
    check_layout(layout, "linear")
    return ops.linear(_t(x), weight, bias, layout == "torch", activation)


# ------------------------------------------------------------------ layout helpers
# The channels-first data_format of each rank: what conv and pooling layers default to.
_DEFAULT_FORMAT = {1: "NCL", 2: "NCHW", 3: "NCDHW"}


def _channels_last(data_format: str, nd: int, layer: str) -> bool:
    f = str(data_format).upper()
    if f in ("CHANNELS_LAST",):
        return True
    if f in ("CHANNELS_FIRST",):
        return False
    # "NCHW"/"NHWC" name the layout for any rank (API.md); rank-specific spellings must list
    # the spatial axes in order: NCL/NLC (or W, H), NCDHW/NDHWC. Anything else (e.g. "NWHC") is an error.
    spatial = f[2:] if len(f) >= 2 and f[1] == "C" else f[1:-1]
    if f[:1] == "N" and "C" in (f[1:2], f[-1:]) and spatial in ("L", "W", "H", "HW", "DHW"):
        return f[1] != "C"
    raise ValueError(
        f"{layer}: data_format must be like 'NCHW' (channels first) or 'NHWC' (channels last), "
        f"got {data_format!r}"
    )


def _batched(x: Tensor, nd: int, layer: str) -> tuple[Tensor, bool]:
    """(N, ...) input for an nd-dimensional conv/pool: an unbatched (C, *spatial) input
    gains a batch axis (returned flag: squeeze it off the result)."""
    unbatched = x.ndim == nd + 1
    if unbatched:
        x = ops.unsqueeze(x, 0)
    if x.ndim != nd + 2:
        raise ValueError(
            f"{layer}: expected a {nd + 2}-D input (batch, channels, {nd} spatial dims) "
            f"or an unbatched {nd + 1}-D one, got shape {x.shape}"
        )
    return x, unbatched


def _tuple(v: Any, nd: int, name: str, layer: str) -> tuple[int, ...]:
    if isinstance(v, (int, np.integer)):
        return (int(v),) * nd
    v = tuple(int(a) for a in v)
    if len(v) != nd:
        raise ValueError(f"{layer}: {name} must be an int or a tuple of {nd} ints, got {v}")
    return v


def pad_same(n: int, k: int, s: int, d: int = 1) -> tuple[int, int]:
    """TensorFlow's "same" padding at any stride: out = ceil(n/s), odd pixel at the end."""
    if s < 1 or d < 1:
        raise ValueError(f"pad_same: stride and dilation must be >= 1, got stride={s}, dilation={d}")
    out = -(-n // s)
    total = max((out - 1) * s + (k - 1) * d + 1 - n, 0)
    return total // 2, total - total // 2


def _conv_pads(
    padding: Any, spatial: Sequence[int], k: Sequence[int], s: Sequence[int], d: Sequence[int], layer: str
) -> tuple[list, list]:
    nd = len(spatial)
    if isinstance(padding, str):
        p = padding.lower()
        if p == "valid":
            return [0] * nd, [0] * nd
        if p == "same":
            pads = [pad_same(spatial[i], k[i], s[i], d[i]) for i in range(nd)]
            return [a for a, _ in pads], [b for _, b in pads]
        raise ValueError(f"{layer}: padding must be an int, a tuple, 'valid' or 'same', got {padding!r}")
    if isinstance(padding, (int, np.integer)):
        return [int(padding)] * nd, [int(padding)] * nd
    padding = tuple(padding)
    if len(padding) != nd:
        raise ValueError(f"{layer}: padding needs {nd} entries, got {padding}")
    lo, hi = [], []
    for p in padding:
        if isinstance(p, (tuple, list)):
            lo.append(int(p[0]))
            hi.append(int(p[1]))
        else:
            lo.append(int(p))
            hi.append(int(p))
    if min(lo + hi) < 0:
        raise ValueError(f"{layer}: negative padding {padding}")
    return lo, hi


def _conv(
    x: Tensor,
    weight: Tensor,
    bias: Optional[Tensor],
    stride: Any,
    padding: Any,
    dilation: Any,
    groups: int,
    data_format: str,
    nd: int,
    activation: str = "none",
) -> Tensor:
    layer = f"conv{nd}d"
    x = tensor_arg(x, layer, "input")
    weight = tensor_arg(weight, layer, "weight")
    bias = None if bias is None else tensor_arg(bias, layer, "bias")
    cl = _channels_last(data_format, nd, layer)
    if weight.ndim != nd + 2:
        raise ValueError(f"{layer}: weight must have {nd + 2} dims, got shape {weight.shape}")
    x, unbatched = _batched(x, nd, layer)
    # Channels, groups, bias, zero-sized axes, stride/dilation and "kernel larger than the
    # padded input" are checked by the conv op (C++, named conv1d/2d/3d); Python only needs
    # the kernel and spatial sizes to resolve the padding.
    k = tuple(weight.shape[1:-1]) if cl else tuple(weight.shape[2:])
    spatial = tuple(x.shape[1:-1]) if cl else tuple(x.shape[2:])
    s = _tuple(stride, nd, "stride", layer)
    d = _tuple(dilation, nd, "dilation", layer)
    lo, hi = _conv_pads(padding, spatial, k, s, d, layer)
    y = ops.conv(x, weight, bias, list(s), lo, hi, list(d), int(groups), cl, activation)
    return ops.squeeze(y, 0) if unbatched else y


def conv1d(
    x: Tensor,
    weight: Tensor,
    bias: Optional[Tensor] = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
    data_format: str = "NCL",
) -> Tensor:
    """x: (N, C_in, L) (or (C_in, L); data_format="NLC": channels last), weight:
    (C_out, C_in/groups, k) (channels-last: (C_out, k, C_in/groups)), bias: (C_out,) ->
    (N, C_out, L_out). ``padding``: int, tuple, "valid" or "same"."""
    return _conv(x, weight, bias, stride, padding, dilation, groups, data_format, 1)


def conv2d(
    x: Tensor,
    weight: Tensor,
    bias: Optional[Tensor] = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
    data_format: str = "NCHW",
) -> Tensor:
    """x: (N, C_in, H, W) (or without N; data_format="NHWC": channels last), weight:
    (C_out, C_in/groups, kh, kw) (channels-last: (C_out, kh, kw, C_in/groups)), bias:
    (C_out,) -> (N, C_out, H_out, W_out). ``padding``: int, tuple, "valid" or "same"."""
    return _conv(x, weight, bias, stride, padding, dilation, groups, data_format, 2)


def conv3d(
    x: Tensor,
    weight: Tensor,
    bias: Optional[Tensor] = None,
    stride: Any = 1,
    padding: Any = 0,
    dilation: Any = 1,
    groups: int = 1,
    data_format: str = "NCDHW",
) -> Tensor:
    """x: (N, C_in, D, H, W) (or without N; "NDHWC": channels last), weight:
    (C_out, C_in/groups, kd, kh, kw) (channels-last: (C_out, kd, kh, kw, C_in/groups)),
    bias: (C_out,) -> (N, C_out, D_out, H_out, W_out)."""
    return _conv(x, weight, bias, stride, padding, dilation, groups, data_format, 3)


# ------------------------------------------------------------------ pooling
def _pool_args(
    x: Tensor, kernel_size: Any, stride: Any, padding: Any, data_format: str, nd: int, layer: str
) -> tuple[Tensor, bool, bool, list, list, list]:
    x = _t(x)
    cl = _channels_last(data_format, nd, layer)
    x, unbatched = _batched(x, nd, layer)
    k = _tuple(kernel_size, nd, "kernel_size", layer)
    s = k if stride is None else _tuple(stride, nd, "stride", layer)
    if isinstance(padding, str):
        if padding.lower() != "valid":
            raise ValueError(f"{layer}: padding must be an int, a tuple or 'valid', got {padding!r}")
        padding = 0
    p = _tuple(padding, nd, "padding", layer)
    spatial = x.shape[1:-1] if cl else x.shape[2:]
    _check_pool_input(x, cl, layer)
    if min(k) < 1 or min(s) < 1:
        raise ValueError(f"{layer}: kernel_size and stride must be >= 1, got kernel_size={k}, stride={s}")
    for i in range(nd):
        if p[i] * 2 > k[i]:
            raise ValueError(f"{layer}: padding {p} must be at most half the kernel size {k}")
        if spatial[i] + 2 * p[i] < k[i]:
            raise ValueError(
                f"{layer}: input of shape {x.shape} is smaller than the kernel {k} (padding {p})"
            )
    return x, cl, unbatched, list(k), list(s), list(p)


def _check_pool_input(x: Tensor, cl: bool, layer: str) -> None:
    spatial = x.shape[1:-1] if cl else x.shape[2:]
    if min(spatial) < 1:
        raise ValueError(
            f"{layer}: input of shape {x.shape} has a zero-sized spatial axis "
            "(only the batch and channel axes may be empty)"
        )


def _max_pool(x: Tensor, kernel_size: Any, stride: Any, padding: Any, data_format: str, nd: int) -> Tensor:
    x, cl, ub, k, s, p = _pool_args(x, kernel_size, stride, padding, data_format, nd, f"max_pool{nd}d")
    y = ops.max_pool(x, k, s, p, cl)
    return ops.squeeze(y, 0) if ub else y


def _avg_pool(
    x: Tensor, kernel_size: Any, stride: Any, padding: Any, count_include_pad: bool, data_format: str, nd: int
) -> Tensor:
    x, cl, ub, k, s, p = _pool_args(x, kernel_size, stride, padding, data_format, nd, f"avg_pool{nd}d")
    y = ops.avg_pool(x, k, s, p, bool(count_include_pad), cl)
    return ops.squeeze(y, 0) if ub else y


def max_pool1d(
    x: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, data_format: str = "NCL"
) -> Tensor:
    """Max over windows: x (N, C, L) (or (C, L), or "NLC") -> (N, C, L_out);
    ``stride`` defaults to ``kernel_size``."""
    return _max_pool(x, kernel_size, stride, padding, data_format, 1)


def max_pool2d(
    x: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, data_format: str = "NCHW"
) -> Tensor:
    """Max over windows: x (N, C, H, W) (or without N, or "NHWC") -> (N, C, H_out, W_out);
    ``stride`` defaults to ``kernel_size``."""
    return _max_pool(x, kernel_size, stride, padding, data_format, 2)


def max_pool3d(
    x: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, data_format: str = "NCDHW"
) -> Tensor:
    """Max over windows: x (N, C, D, H, W) (or without N, or "NDHWC") -> (N, C, D_out,
    H_out, W_out); ``stride`` defaults to ``kernel_size``."""
    return _max_pool(x, kernel_size, stride, padding, data_format, 3)


def avg_pool1d(
    x: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    count_include_pad: bool = True,
    data_format: str = "NCL",
) -> Tensor:
    """Mean over windows: x (N, C, L) (or (C, L), or "NLC") -> (N, C, L_out);
    ``count_include_pad=False`` divides by the number of real (unpadded) elements."""
    return _avg_pool(x, kernel_size, stride, padding, count_include_pad, data_format, 1)


def avg_pool2d(
    x: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    count_include_pad: bool = True,
    data_format: str = "NCHW",
) -> Tensor:
    """Mean over windows: x (N, C, H, W) (or without N, or "NHWC") -> (N, C, H_out, W_out);
    ``count_include_pad=False`` divides by the number of real (unpadded) elements."""
    return _avg_pool(x, kernel_size, stride, padding, count_include_pad, data_format, 2)


def avg_pool3d(
    x: Tensor,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    count_include_pad: bool = True,
    data_format: str = "NCDHW",
) -> Tensor:
    """Mean over windows: x (N, C, D, H, W) (or without N, or "NDHWC") -> (N, C, D_out,
    H_out, W_out); ``count_include_pad`` as in avg_pool2d."""
    return _avg_pool(x, kernel_size, stride, padding, count_include_pad, data_format, 3)


def _adaptive(x: Tensor, output_size: Any, data_format: str, nd: int) -> Tensor:
    layer = f"adaptive_avg_pool{nd}d"
    x = _t(x)
    cl = _channels_last(data_format, nd, layer)
    x, ub = _batched(x, nd, layer)
    spatial = x.shape[1:-1] if cl else x.shape[2:]
    _check_pool_input(x, cl, layer)
    if isinstance(output_size, (int, np.integer)) or output_size is None:
        output_size = (output_size,) * nd
    out = [spatial[i] if o is None else int(o) for i, o in enumerate(output_size)]
    if len(out) != nd or min(out) < 1:
        raise ValueError(f"{layer}: output_size must be {nd} positive ints (or None), got {output_size}")
    y = ops.adaptive_avg_pool(x, out, cl)
    return ops.squeeze(y, 0) if ub else y


def adaptive_avg_pool1d(x: Tensor, output_size: Any, data_format: str = "NCL") -> Tensor:
    """x (N, C, L) (or (C, L), or "NLC") -> (N, C, output_size), PyTorch's bins."""
    return _adaptive(x, output_size, data_format, 1)


def adaptive_avg_pool2d(x: Tensor, output_size: Any, data_format: str = "NCHW") -> Tensor:
    """x (N, C, H, W) (or without N, or "NHWC") -> (N, C, *output_size) (an int: square;
    None keeps that axis), PyTorch's bins."""
    return _adaptive(x, output_size, data_format, 2)


def adaptive_avg_pool3d(x: Tensor, output_size: Any, data_format: str = "NCDHW") -> Tensor:
    """x (N, C, D, H, W) (or without N, or "NDHWC") -> (N, C, *output_size), PyTorch's bins."""
    return _adaptive(x, output_size, data_format, 3)


def global_avg_pool(x: Tensor, data_format: str = "NCHW", keepdims: bool = False) -> Tensor:
    """Mean over all spatial dims: (N, C, *spatial) -> (N, C) (or (N, *spatial, C) -> (N, C))."""
    x = _t(x)
    if x.ndim < 3:
        raise ValueError(f"global_avg_pool: expected (N, C, *spatial) input, got shape {x.shape}")
    cl = _channels_last(data_format, x.ndim - 2, "global_avg_pool")
    axes = tuple(range(1, x.ndim - 1)) if cl else tuple(range(2, x.ndim))
    return ops.mean(x, axes, keepdims)


# ------------------------------------------------------------------ regularisation & normalisation
def dropout(x: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """Inverted dropout: zeroes entries with probability p and scales the rest by 1/(1-p)."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: p must be in [0, 1], got {p}")
    x = _t(x)
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * 0.0
    keep = (rand(*x.shape, dtype=x.dtype) >= float(p)).astype(x.dtype)
    return x * (keep * (1.0 / (1.0 - p)))


def _bn_axes(x: Tensor, channel_axis: int) -> tuple[tuple, list]:
    if not isinstance(channel_axis, int) or not -x.ndim <= channel_axis < x.ndim:
        raise IndexError(
            f"batch_norm: channel_axis {channel_axis!r} is out of range for an input of shape {x.shape}"
        )
    ca = channel_axis % x.ndim
    axes = tuple(i for i in range(x.ndim) if i != ca)
    shape = [1] * x.ndim
    shape[ca] = x.shape[ca]
    return axes, shape


def batch_norm(
    x: Tensor,
    running_mean: Optional[Tensor],
    running_var: Optional[Tensor],
    weight: Optional[Tensor] = None,
    bias: Optional[Tensor] = None,
    training: bool = False,
    momentum: Optional[float] = 0.1,
    eps: float = 1e-5,
    channel_axis: int = 1,
    num_batches_tracked: Optional[Tensor] = None,
) -> Tensor:
    """Batch normalisation over every axis except ``channel_axis`` (PyTorch semantics:
    biased variance to normalise, unbiased variance in the running estimate;
    ``momentum=None`` keeps a cumulative average)."""
    x = _t(x)
    running_mean, running_var, weight, bias = (
        None if a is None else tensor_arg(a, "batch_norm", n)
        for a, n in (
            (running_mean, "running_mean"),
            (running_var, "running_var"),
            (weight, "weight"),
            (bias, "bias"),
        )
    )
    if x.ndim < 2 or not -x.ndim <= channel_axis < x.ndim:
        if x.numel() == 0 and x.ndim < 2:  # PyTorch: an empty 1-D input gives an empty result
            return x * 0.0
        raise ValueError(
            f"batch_norm: expected an input of shape (N, C, ...) with channel axis {channel_axis}, "
            f"got shape {x.shape}"
        )
    axes, shape = _bn_axes(x, channel_axis)
    if x.numel() == 0:
        # PyTorch: an empty batch normalises to an empty result; the running statistics
        # stay as they are (only the batch counter moves). No 0/0 statistics are formed.
        if training and num_batches_tracked is not None and running_mean is not None:
            with no_grad():
                num_batches_tracked.add_(1)
        y = x * 0.0
        if weight is not None:
            y = y * ops.reshape(weight, shape)
        if bias is not None:
            y = y + ops.reshape(bias, shape)
        return y
    if training or running_mean is None:
        n = x.numel() // x.shape[channel_axis]
        if n <= 1 and training:
            raise ValueError(
                f"batch_norm: expected more than 1 value per channel when training, got input shape {x.shape}"
            )
        mean = ops.mean(x, axes, True)
        xc = x - mean
        var = ops.mean(xc * xc, axes, True)
        if training and running_mean is not None and running_var is not None:
            with no_grad():
                if num_batches_tracked is not None:
                    num_batches_tracked.add_(1)
                m = momentum
                if m is None:
                    m = (
                        1.0 / float(np.asarray(num_batches_tracked).item())
                        if num_batches_tracked is not None
                        else 0.0
                    )
                bm = ops.reshape(mean.detach(), [-1])
                bv = ops.reshape(var.detach(), [-1]) * (n / (n - 1))
                running_mean.copy_(running_mean * (1.0 - m) + bm.astype(running_mean.dtype) * m)
                running_var.copy_(running_var * (1.0 - m) + bv.astype(running_var.dtype) * m)
        y = xc / ops.sqrt(var + float(eps))
    else:
        rm = ops.reshape(running_mean, shape)
        rv = ops.reshape(running_var, shape)
        y = (x - rm) / ops.sqrt(rv + float(eps))
    if weight is not None:
        y = y * ops.reshape(weight, shape)
    if bias is not None:
        y = y + ops.reshape(bias, shape)
    return y


def layer_norm(
    x: Tensor,
    normalized_shape: Any,
    weight: Optional[Tensor] = None,
    bias: Optional[Tensor] = None,
    eps: float = 1e-5,
) -> Tensor:
    """(x − mean) / √(var + eps) over the trailing ``normalized_shape`` dims, then ·weight
    + bias (both of shape normalized_shape, optional); x: (..., *normalized_shape) -> the same shape."""
    x = _t(x)
    ns = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) else tuple(normalized_shape)
    k = len(ns)
    if tuple(x.shape[x.ndim - k :]) != tuple(ns):
        raise ValueError(f"layer_norm: input of shape {x.shape} does not end with normalized_shape {ns}")
    axes = tuple(range(x.ndim - k, x.ndim))
    mean = ops.mean(x, axes, True)
    xc = x - mean
    var = ops.mean(xc * xc, axes, True)
    y = xc / ops.sqrt(var + float(eps))
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y


def embedding(idx: Any, weight: Tensor, padding_idx: Optional[int] = None) -> Tensor:
    """Rows of ``weight`` picked by integer ``idx`` (any shape) -> idx.shape + (dim,)."""
    weight = tensor_arg(weight, "embedding", "weight")
    if not isinstance(idx, Tensor) or idx.dtype != int64:
        a = np.asarray(idx)
        if not np.issubdtype(a.dtype, np.integer):
            raise TypeError(f"embedding: indices must be integers, got {a.dtype}")
        idx = tensor(a.astype(np.int64), int64)
    if weight.ndim != 2:
        raise ValueError(
            f"embedding: weight must be a 2-D (num_embeddings, embedding_dim) tensor, got shape "
            f"{tuple(weight.shape)}"
        )
    n = weight.shape[0]
    a = np.asarray(idx)
    # Indices are 0 <= i < n (as PyTorch: -1 is out of range, not the last row).
    if a.size and (a.min() < 0 or a.max() >= n):
        raise IndexError(
            f"embedding: index out of range for {n} embeddings (got range [{a.min()}, {a.max()}])"
        )
    flat = ops.reshape(idx, [-1])
    out = ops.reshape(ops.index_select(weight, 0, flat), list(idx.shape) + [weight.shape[1]])
    if padding_idx is not None:
        if not -n <= padding_idx < n:
            raise ValueError(f"embedding: padding_idx {padding_idx} out of range for {n} embeddings")
        pi = padding_idx % n
        # PyTorch: the padding row's value is returned as it is, but gets no gradient.
        keep = tensor((a != pi).astype(np.float64)[..., None], weight.dtype)
        out = out * keep + out.detach() * (1.0 - keep)
    return out


# ------------------------------------------------------------------ attention
def _additive_mask(mask: Any, like: Tensor, true_means_masked: bool) -> Tensor:
    """A mask as the tensor added to the attention scores `like`: a bool mask becomes
    0 / -inf (a constant); a float mask is added as it is and, when it is a Tensor, stays
    on the tape (cast to the scores' dtype), so learned additive biases get gradients and
    tangents, as in PyTorch."""
    if isinstance(mask, Tensor) and mask.dtype != bool_:
        if not mask.dtype.is_floating_point:
            raise TypeError(f"attention mask must be bool or floating point, got {mask.dtype}")
        return mask if mask.dtype == like.dtype else mask.astype(like.dtype)
    m = np.asarray(mask)
    if m.dtype == np.bool_:
        m = np.where(m, -np.inf, 0.0) if true_means_masked else np.where(m, 0.0, -np.inf)
    return tensor(np.asarray(m, dtype=np.float64), like.dtype)


def scaled_dot_product_attention(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    attn_mask: Optional[Tensor] = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: Optional[float] = None,
    training: bool = True,
    return_weights: bool = False,
) -> Any:
    """softmax(q kᵀ · scale + mask) v over the last two dims (PyTorch semantics: a bool
    mask is True where attention is allowed; a float mask is added to the scores)."""
    op = "scaled_dot_product_attention"
    q, k, v = tensor_arg(q, op, "query"), tensor_arg(k, op, "key"), tensor_arg(v, op, "value")
    if min(q.ndim, k.ndim, v.ndim) < 2:
        raise ValueError(
            f"{op}: query, key and value need (..., L, E) shapes, got {q.shape}, {k.shape}, {v.shape}"
        )
    L, S = q.shape[-2], k.shape[-2]
    sc = (1.0 / math.sqrt(q.shape[-1])) if scale is None else float(scale)
    scores = ops.matmul(q, ops.transpose(k, -2, -1)) * sc
    if is_causal:
        causal = np.triu(np.full((L, S), -np.inf), 1)
        scores = scores + tensor(causal, scores.dtype)
    if attn_mask is not None:
        scores = scores + _additive_mask(attn_mask, scores, False)
    if S > 0 and (is_causal or attn_mask is not None):
        # A query whose every key is masked (-inf) attends to nothing: its weights are 0,
        # as PyTorch's safe softmax. Plain softmax gives NaN there, and the NaN spread into
        # every gradient of q, k, v and the mask through the matmuls; those rows are taken
        # out of the softmax (scores 0) so its backward sees no NaN, and get no gradient.
        dead = ops.amax(scores.detach(), -1, True) == -math.inf
        zero = zeros_like(scores)
        w = ops.where(dead, zero, ops.softmax(ops.where(dead, zero, scores), -1))
    else:
        w = ops.softmax(scores, -1)
    if dropout_p > 0.0 and training:
        w = dropout(w, dropout_p, True)
    out = ops.matmul(w, v)
    return (out, w) if return_weights else out


from .linear import bilinear as bilinear  # noqa: E402  (lives with nn.Bilinear)
