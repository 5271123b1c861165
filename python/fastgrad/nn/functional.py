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
    "pdist",
    "rms_norm",
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
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
    "max_unpool1d",
    "max_unpool2d",
    "max_unpool3d",
    "pad",
    "interpolate",
    "upsample",
    "upsample_nearest",
    "upsample_bilinear",
    "group_norm",
    "instance_norm",
    "dropout1d",
    "dropout2d",
    "dropout3d",
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
    "pixel_shuffle",
    "pixel_unshuffle",
    "channel_shuffle",
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


def softmax(x: Tensor, dim: Optional[int] = -1, _stacklevel: int = 3, dtype: Any = None) -> Tensor:
    """exp(x) / Σ exp(x) along ``dim`` (stable; None: PyTorch's implicit dim); x: any shape -> the same."""
    x = _t(x)
    return ops.softmax(x, _softmax_dim(x, dim), dtype)


def softmin(x: Tensor, dim: Optional[int] = None, _stacklevel: int = 3, dtype: Any = None) -> Tensor:
    """softmax(−x) along ``dim`` (None: PyTorch's implicit dim); x: any shape -> the same shape."""
    x = _t(x)
    return ops.softmax(-x, _softmax_dim(x, dim), dtype)


def log_softmax(x: Tensor, dim: Optional[int] = -1, _stacklevel: int = 3, dtype: Any = None) -> Tensor:
    """x − logsumexp(x) along ``dim`` (None: PyTorch's implicit dim); x: any shape -> the same shape."""
    x = _t(x)
    return ops.log_softmax(x, _softmax_dim(x, dim), dtype)


def one_hot(target: Any, num_classes: int = -1, dtype: Any = float32) -> Tensor:
    """Integer ``target`` of shape (...) -> (..., num_classes) of 0/1 in ``dtype``
    (float32 or float64); ``num_classes=-1``: max(target) + 1."""
    if dtype not in (float32, float64):
        raise TypeError(f"one_hot: dtype must be fastgrad.float32 or fastgrad.float64, got {dtype!r}")
    if isinstance(target, Tensor) and target._is_batched:  # inside vmap: no values to read
        if num_classes < 0:
            raise ValueError(
                "one_hot: inside vmap num_classes must be given (it cannot be read off the target)"
            )
        classes = tensor(np.arange(num_classes, dtype=np.int64), int64)
        return ops.eq(ops.unsqueeze(target.astype(int64), target.ndim), classes).astype(dtype)
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


def _conv_transpose(
    x: Any,
    weight: Any,
    bias: Any,
    stride: Any,
    padding: Any,
    output_padding: Any,
    groups: int,
    dilation: Any,
    data_format: str,
    nd: int,
) -> Tensor:
    layer = f"conv_transpose{nd}d"
    x = tensor_arg(x, layer, "input")
    weight = tensor_arg(weight, layer, "weight")
    bias = None if bias is None else tensor_arg(bias, layer, "bias")
    cl = _channels_last(data_format, nd, layer)
    x, unbatched = _batched(x, nd, layer)
    if isinstance(padding, str):
        raise ValueError(f"{layer}: padding must be an int or a tuple of {nd} ints, got {padding!r}")
    # Channels, groups, output_padding and sizes are checked by the C++ op (named conv_transposeNd).
    y = ops.conv_transpose(
        x,
        weight,
        bias,
        list(_ptuple(stride, nd, "stride", layer)),
        list(_ptuple(padding, nd, "padding", layer)),
        list(_ptuple(output_padding, nd, "output_padding", layer)),
        list(_ptuple(dilation, nd, "dilation", layer)),
        int(groups),
        cl,
    )
    return ops.squeeze(y, 0) if unbatched else y


def conv_transpose1d(
    input: Any,
    weight: Any,
    bias: Any = None,
    stride: Any = 1,
    padding: Any = 0,
    output_padding: Any = 0,
    groups: int = 1,
    dilation: Any = 1,
    data_format: str = "NCL",
) -> Tensor:
    """Transposed 1-D convolution: input (N, C_in, L) (or (C_in, L)), weight (C_in,
    C_out/groups, k), bias (C_out,) -> (N, C_out, (L-1)*stride - 2*padding +
    dilation*(k-1) + output_padding + 1). The input adjoint of conv1d."""
    return _conv_transpose(
        input, weight, bias, stride, padding, output_padding, groups, dilation, data_format, 1
    )


def conv_transpose2d(
    input: Any,
    weight: Any,
    bias: Any = None,
    stride: Any = 1,
    padding: Any = 0,
    output_padding: Any = 0,
    groups: int = 1,
    dilation: Any = 1,
    data_format: str = "NCHW",
) -> Tensor:
    """Transposed 2-D convolution: input (N, C_in, H, W), weight (C_in, C_out/groups, kh, kw)
    (channels-last: (C_in, kh, kw, C_out/groups)), bias (C_out,) -> (N, C_out, H_out, W_out),
    sizes as torch.nn.functional.conv_transpose2d."""
    return _conv_transpose(
        input, weight, bias, stride, padding, output_padding, groups, dilation, data_format, 2
    )


def conv_transpose3d(
    input: Any,
    weight: Any,
    bias: Any = None,
    stride: Any = 1,
    padding: Any = 0,
    output_padding: Any = 0,
    groups: int = 1,
    dilation: Any = 1,
    data_format: str = "NCDHW",
) -> Tensor:
    """Transposed 3-D convolution: input (N, C_in, D, H, W), weight (C_in, C_out/groups, kd,
    kh, kw), bias (C_out,) -> (N, C_out, D_out, H_out, W_out)."""
    return _conv_transpose(
        input, weight, bias, stride, padding, output_padding, groups, dilation, data_format, 3
    )


# ------------------------------------------------------------------ pooling
def _ptuple(v: Any, nd: int, name: str, layer: str) -> tuple[int, ...]:
    """An int or a tuple of 1 or nd ints (PyTorch accepts a 1-tuple for every rank)."""
    if not isinstance(v, (int, np.integer)) and len(tuple(v)) == 1:
        v = tuple(v)[0]
    return _tuple(v, nd, name, layer)


def _pool_args(
    x: Any, kernel_size: Any, stride: Any, padding: Any, data_format: str, nd: int, layer: str
) -> tuple[Tensor, bool, bool, list, list, list]:
    # Geometry (kernel/stride/padding ranges, padding <= kernel/2, the output size) is
    # checked once, by the C++ op, whose messages name max_poolNd/avg_poolNd and the shapes.
    x = _t(x)
    cl = _channels_last(data_format, nd, layer)
    x, unbatched = _batched(x, nd, layer)
    k = _ptuple(kernel_size, nd, "kernel_size", layer)
    empty_stride = stride is None or (not isinstance(stride, (int, np.integer)) and len(tuple(stride)) == 0)
    s = k if empty_stride else _ptuple(stride, nd, "stride", layer)
    if isinstance(padding, str):
        if padding.lower() != "valid":
            raise ValueError(f"{layer}: padding must be an int, a tuple or 'valid', got {padding!r}")
        padding = 0
    p = _ptuple(padding, nd, "padding", layer)
    return x, cl, unbatched, list(k), list(s), list(p)


def _max_pool(
    x: Any,
    kernel_size: Any,
    stride: Any,
    padding: Any,
    dilation: Any,
    ceil_mode: bool,
    return_indices: bool,
    data_format: str,
    nd: int,
) -> Any:
    layer = f"max_pool{nd}d"
    x, cl, ub, k, s, p = _pool_args(x, kernel_size, stride, padding, data_format, nd, layer)
    d = list(_ptuple(dilation, nd, "dilation", layer))
    if not return_indices:
        y = ops.max_pool(x, k, s, p, cl, d, bool(ceil_mode))
        return ops.squeeze(y, 0) if ub else y
    y, idx = ops.max_pool_with_indices(x, k, s, p, cl, d, bool(ceil_mode))
    return (ops.squeeze(y, 0), ops.squeeze(idx, 0)) if ub else (y, idx)


def _avg_pool(
    x: Any,
    kernel_size: Any,
    stride: Any,
    padding: Any,
    ceil_mode: bool,
    count_include_pad: bool,
    divisor_override: Optional[int],
    data_format: str,
    nd: int,
) -> Tensor:
    layer = f"avg_pool{nd}d"
    x, cl, ub, k, s, p = _pool_args(x, kernel_size, stride, padding, data_format, nd, layer)
    div = None if divisor_override is None else int(divisor_override)
    y = ops.avg_pool(x, k, s, p, bool(count_include_pad), cl, bool(ceil_mode), div)
    return ops.squeeze(y, 0) if ub else y


def max_pool1d(
    input: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
    data_format: str = "NCL",
) -> Any:
    """Max over windows: input (N, C, L) (or (C, L), or "NLC") -> (N, C, L_out), and with
    ``return_indices`` also the int64 position of each maximum within L (PyTorch's
    indices). ``stride`` defaults to ``kernel_size``; ``dilation`` spaces the window taps;
    ``ceil_mode`` rounds L_out up."""
    return _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, data_format, 1)


def max_pool2d(
    input: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
    data_format: str = "NCHW",
) -> Any:
    """Max over windows: input (N, C, H, W) (or without N, or "NHWC") -> (N, C, H_out, W_out),
    and with ``return_indices`` the int64 flat index h*W + w of each maximum within its
    plane. Arguments as torch.nn.functional.max_pool2d."""
    return _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, data_format, 2)


def max_pool3d(
    input: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    dilation: Any = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
    data_format: str = "NCDHW",
) -> Any:
    """Max over windows: input (N, C, D, H, W) (or without N, or "NDHWC") -> (N, C, D_out,
    H_out, W_out) (+ per-plane flat indices with ``return_indices``), as torch's max_pool3d."""
    return _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices, data_format, 3)


def avg_pool1d(
    input: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    data_format: str = "NCL",
) -> Tensor:
    """Mean over windows: input (N, C, L) (or (C, L), or "NLC") -> (N, C, L_out);
    ``count_include_pad=False`` divides by the number of real (unpadded) elements."""
    return _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad, None, data_format, 1)


def avg_pool2d(
    input: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: Optional[int] = None,
    data_format: str = "NCHW",
) -> Tensor:
    """Mean over windows: input (N, C, H, W) (or without N, or "NHWC") -> (N, C, H_out, W_out);
    ``divisor_override`` replaces the window size as divisor. As torch's avg_pool2d."""
    return _avg_pool(
        input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override, data_format, 2
    )


def avg_pool3d(
    input: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: Optional[int] = None,
    data_format: str = "NCDHW",
) -> Tensor:
    """Mean over windows: input (N, C, D, H, W) (or without N, or "NDHWC") -> (N, C, D_out,
    H_out, W_out); arguments as avg_pool2d."""
    return _avg_pool(
        input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override, data_format, 3
    )


def _max_unpool(
    x: Any, indices: Any, kernel_size: Any, stride: Any, padding: Any, output_size: Any, nd: int
) -> Tensor:
    # An honest composite: every pooled value is added at its plane offset into zeros
    # (index_add, whose adjoint gathers the gradient back, as PyTorch's backward does).
    layer = f"max_unpool{nd}d"
    x = _t(x)
    idx = tensor_arg(indices, layer, "indices")
    if idx.dtype != int64:
        raise TypeError(f"{layer}: indices must be int64, got {idx.dtype}")
    if tuple(idx.shape) != tuple(x.shape):
        raise ValueError(f"{layer}: indices of shape {idx.shape} must match the input's shape {x.shape}")
    x, ub = _batched(x, nd, layer)
    k = _ptuple(kernel_size, nd, "kernel_size", layer)
    empty_stride = stride is None or (not isinstance(stride, (int, np.integer)) and len(tuple(stride)) == 0)
    s = k if empty_stride else _ptuple(stride, nd, "stride", layer)
    p = _ptuple(padding, nd, "padding", layer)
    spatial = tuple(x.shape[2:])
    out = [(spatial[i] - 1) * s[i] - 2 * p[i] + k[i] for i in range(nd)]
    if output_size is not None:
        o = [int(v) for v in ((output_size,) if isinstance(output_size, (int, np.integer)) else output_size)]
        if len(o) == nd + 2:
            o = o[2:]
        if len(o) != nd:
            raise ValueError(f"{layer}: output_size must have {nd} or {nd + 2} entries, got {output_size}")
        for i in range(nd):  # PyTorch: within one stride of the default size
            if not out[i] - s[i] < o[i] < out[i] + s[i]:
                raise ValueError(
                    f'{layer}: invalid output_size "{tuple(o)}" (dim {i} must be between '
                    f"{out[i] - s[i]} and {out[i] + s[i]}; input {x.shape})"
                )
        out = o
    if min(out) < 1:
        raise ValueError(f"{layer}: input of shape {x.shape} gives a non-positive output size {out}")
    n, c = x.shape[0], x.shape[1]
    plane = int(np.prod(out))
    ii = np.asarray(idx).reshape(n * c, -1)
    if ii.size and (ii.min() < 0 or ii.max() >= plane):
        raise ValueError(
            f"{layer}: an index is out of range for output size {tuple(out)} (indices span "
            f"[{ii.min()}, {ii.max()}], input shape {x.shape})"
        )
    flat = (ii + np.arange(n * c, dtype=np.int64)[:, None] * plane).reshape(-1)
    size, xf = [n * c * plane], ops.reshape(x, [-1])
    y = ops.index_add(xf, size, 0, tensor(flat, dtype=int64))
    # Overlapping pooling windows repeat an index; PyTorch's unpooling writes (the last write
    # wins) where index_add would sum, while its backward still gathers the gradient at every
    # index. So: the sum's derivative, the last write's value.
    _, first_rev = np.unique(flat[::-1], return_index=True)
    if first_rev.size != flat.size:
        keep = np.sort(flat.size - 1 - first_rev)
        y_keep = ops.index_add(
            ops.index_select(xf, 0, tensor(keep, dtype=int64)), size, 0, tensor(flat[keep], dtype=int64)
        )
        y = y - (y - y_keep).detach()
    y = ops.reshape(y, [n, c, *out])
    return ops.squeeze(y, 0) if ub else y


def max_unpool1d(
    input: Any, indices: Any, kernel_size: Any, stride: Any = None, padding: Any = 0, output_size: Any = None
) -> Tensor:
    """The partial inverse of max_pool1d: input and indices (N, C, L) (from return_indices)
    -> zeros (N, C, L_out) with each value at its index; L_out = (L-1)*stride - 2*padding
    + kernel_size unless ``output_size`` is given."""
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 1)


def max_unpool2d(
    input: Any, indices: Any, kernel_size: Any, stride: Any = None, padding: Any = 0, output_size: Any = None
) -> Tensor:
    """The partial inverse of max_pool2d: input and indices (N, C, H, W) -> (N, C, H_out,
    W_out) zeros with each value at its flat per-plane index. As torch's max_unpool2d."""
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 2)


def max_unpool3d(
    input: Any, indices: Any, kernel_size: Any, stride: Any = None, padding: Any = 0, output_size: Any = None
) -> Tensor:
    """The partial inverse of max_pool3d: input and indices (N, C, D, H, W) -> (N, C, D_out,
    H_out, W_out). As torch's max_unpool3d."""
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 3)


# ------------------------------------------------------------------ padding
def _pad_index(n: int, lo: int, hi: int, mode: str) -> np.ndarray:
    """Source positions along an axis of size n for output positions -lo .. n+hi-1."""
    j = np.arange(-lo, n + hi, dtype=np.int64)
    if mode == "reflect":  # the edge is not repeated: -1 -> 1, n -> n-2
        j = np.abs(j)
        return np.where(j >= n, 2 * (n - 1) - j, j)
    if mode == "replicate":
        return np.clip(j, 0, n - 1)
    return np.mod(j, n)  # circular


def pad(input: Any, pad: Sequence[int], mode: str = "constant", value: Optional[float] = None) -> Tensor:
    """torch.nn.functional.pad: ``pad`` = (last_lo, last_hi, second_last_lo, ...) pads the
    trailing len(pad)//2 axes; negative entries crop. ``mode``: "constant" (``value``, default
    0), "reflect", "replicate" or "circular" (these on the last 1-3 axes of a 2-D to 5-D
    input). input (*S) -> (*S') with S'[d] = S[d] + lo + hi. Differentiable: constant padding
    is the pad primitive, cropping is slicing, the other modes gather with index_select."""
    x = _t(input)
    pads = [int(v) for v in pad]
    if len(pads) % 2:
        raise ValueError(f"pad: the pad tuple must have an even length, got {tuple(pads)}")
    k = len(pads) // 2
    if k > x.ndim:
        raise ValueError(
            f"pad: pad {tuple(pads)} pads {k} axes but the input of shape {x.shape} has only {x.ndim}"
        )
    if mode not in ("constant", "reflect", "replicate", "circular"):
        raise ValueError(f"pad: mode must be 'constant', 'reflect', 'replicate' or 'circular', got {mode!r}")
    if mode != "constant":
        if value not in (None, 0):
            raise ValueError(f"pad: padding mode {mode!r} doesn't take in value argument")
        if not 1 <= k <= 3 or x.ndim not in (k + 1, k + 2):
            raise NotImplementedError(
                f"pad: mode {mode!r} pads the last 1-3 axes of a 2-D to 5-D input ((N,) C, *spatial); "
                f"got pad {tuple(pads)} for shape {x.shape}"
            )
    # pad[2i], pad[2i+1] belong to axis ndim-1-i.
    per_axis = {x.ndim - 1 - i: (pads[2 * i], pads[2 * i + 1]) for i in range(k)}
    for ax, (lo, hi) in per_axis.items():
        n = x.shape[ax]
        if n + lo + hi < 0:
            raise ValueError(
                f"pad: pad {tuple(pads)} gives a negative size {n + lo + hi} along axis {ax} of shape {x.shape}"
            )
        if mode == "reflect" and (lo >= n or hi >= n):
            raise ValueError(
                f"pad: reflect padding ({lo}, {hi}) must be smaller than the size {n} of axis {ax} "
                f"(input {x.shape})"
            )
        if mode == "circular" and (lo > n or hi > n):
            raise ValueError(
                f"pad: circular padding ({lo}, {hi}) wraps around more than once along axis {ax} "
                f"of size {n} (input {x.shape})"
            )
        if mode == "replicate" and n == 0 and (lo > 0 or hi > 0):
            raise ValueError(f"pad: cannot replicate-pad the empty axis {ax} of shape {x.shape}")
    if mode == "constant":
        crop = [
            slice(max(-lo, 0), x.shape[ax] - max(-hi, 0)) if ax in per_axis else slice(None)
            for ax, (lo, hi) in ((a, per_axis.get(a, (0, 0))) for a in range(x.ndim))
        ]
        if any(lo < 0 or hi < 0 for lo, hi in per_axis.values()):
            x = x[tuple(crop)]
        width = [(max(lo, 0), max(hi, 0)) for lo, hi in (per_axis.get(a, (0, 0)) for a in range(x.ndim))]
        if any(lo or hi for lo, hi in width):
            x = ops.pad(x, width, 0 if value is None else value)
        return x
    for ax, (lo, hi) in per_axis.items():
        if lo or hi:
            if mode == "circular":  # as PyTorch: negative entries crop first, then it wraps the rest
                c0, c1 = max(-lo, 0), x.shape[ax] - max(-hi, 0)
                src = c0 + _pad_index(c1 - c0, max(lo, 0), max(hi, 0), mode)
            else:  # reflect/replicate: output position j reads source _pad_index(j)
                src = _pad_index(x.shape[ax], lo, hi, mode)
            x = ops.index_select(x, ax, tensor(src, dtype=int64))
    return x


# ------------------------------------------------------------------ interpolation
def _interp_size(x: Tensor, size: Any, scale_factor: Any, nd: int) -> tuple[list, list]:
    """Output sizes and the scale factors PyTorch hands its kernels (None: in/out)."""
    if size is not None and scale_factor is not None:
        raise ValueError("interpolate: only one of size or scale_factor should be defined")
    spatial = list(x.shape[2:])
    if size is not None:
        sz = [size] * nd if isinstance(size, (int, np.integer)) else list(size)
        if len(sz) != nd:
            raise ValueError(
                f"interpolate: input of shape {x.shape} has {nd} spatial axes but size {size} has {len(sz)}"
            )
        return [int(v) for v in sz], [None] * nd
    if scale_factor is None:
        raise ValueError("interpolate: either size or scale_factor should be defined")
    sf = [scale_factor] * nd if isinstance(scale_factor, (int, float, np.number)) else list(scale_factor)
    if len(sf) != nd:
        raise ValueError(
            f"interpolate: input of shape {x.shape} has {nd} spatial axes but scale_factor "
            f"{scale_factor} has {len(sf)}"
        )
    return [math.floor(float(spatial[i]) * float(sf[i])) for i in range(nd)], [float(f) for f in sf]


def _scale_value(sc: Optional[float], n_in: int, n_out: int, ft: Any) -> Any:
    # ATen's compute_scales_value: 1/scale_factor when given, else in/out, in the opmath type.
    return ft(1.0 / sc) if sc is not None and sc > 0 else ft(n_in) / ft(n_out)


def _nearest_index(n_in: int, n_out: int, sc: Optional[float], exact: bool, ft: Any) -> np.ndarray:
    # ATen's CPU nearest kernels (compute_indices_nearest / HelperInterpNearestExact) in the
    # opmath type: floor(scale * i), resp. round(max(scale * (i + 0.5) - 0.5, 0)).
    scale = _scale_value(sc, n_in, n_out, ft)
    dst = np.arange(n_out).astype(ft)
    if exact:
        src = np.floor(np.maximum(scale * (dst + ft(0.5)) - ft(0.5), ft(0)) + ft(0.5))
    else:
        src = np.floor(scale * dst)
    return np.minimum(src.astype(np.int64), n_in - 1)


def _area_scale(n_in: int, n_out: int, sc: Optional[float], align_corners: bool, ft: Any) -> Any:
    # ATen's area_pixel_compute_scale, in the opmath type.
    if align_corners:
        return ft(n_in - 1) / ft(n_out - 1) if n_out > 1 else ft(0)
    return _scale_value(sc, n_in, n_out, ft)


def _half_pixel_source(scale: Any, n_out: int, ft: Any) -> np.ndarray:
    # scale * (dst + 0.5) - 0.5 rounded once, as ATen's compiled kernel evaluates it (a fused
    # multiply-add): two roundings put float32 source positions, hence the weights, up to half
    # an ulp of the position off, an error the input's slope amplifies. The float32 product is
    # exact in float64, so one rounding of the float64 expression is the FMA.
    d = np.arange(n_out).astype(ft) + ft(0.5)
    return (np.float64(scale) * d.astype(np.float64) - 0.5).astype(ft)


def _linear_taps(
    n_in: int, n_out: int, sc: Optional[float], align_corners: bool, ft: Any
) -> tuple[np.ndarray, np.ndarray]:
    # ATen's compute_source_index_and_lambda: two taps per output; an axis whose size is
    # unchanged is copied whatever the scale factor says.
    if n_in == n_out:
        i = np.arange(n_out)
        return np.stack([i, i], 1), np.stack([np.ones(n_out, ft), np.zeros(n_out, ft)], 1)
    scale = _area_scale(n_in, n_out, sc, align_corners, ft)
    if align_corners:
        src = scale * np.arange(n_out).astype(ft)
    else:
        src = np.maximum(_half_pixel_source(scale, n_out, ft), ft(0))
    i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    lam1 = np.clip(src - i0.astype(ft), ft(0), ft(1)).astype(ft)
    i1 = i0 + (i0 < n_in - 1)
    lam0 = (ft(1) - lam1).astype(ft)
    return np.stack([i0, i1], 1), np.stack([lam0, (ft(1) - lam0).astype(ft)], 1)


def _cubic1(x: np.ndarray, a: Any) -> np.ndarray:
    # Keys' cubic convolution kernel on |x| <= 1 (ATen's cubic_convolution1)
    return ((a + 2) * x - (a + 3)) * x * x + 1


def _cubic2(x: np.ndarray, a: Any) -> np.ndarray:
    # ... and on 1 < |x| < 2 (cubic_convolution2)
    return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a


def _cubic_taps(
    n_in: int, n_out: int, sc: Optional[float], align_corners: bool, ft: Any
) -> tuple[np.ndarray, np.ndarray]:
    # ATen's HelperInterpCubic: the source index is not clamped at 0 (cubic), four taps
    # floor(src) - 1 .. floor(src) + 2 clamped to the border, weights of Keys' kernel with
    # A = -0.75 (get_cubic_upsample_coefficients).
    scale = _area_scale(n_in, n_out, sc, align_corners, ft)
    src = scale * np.arange(n_out).astype(ft) if align_corners else _half_pixel_source(scale, n_out, ft)
    i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    t = np.clip(src - i0.astype(ft), ft(0), ft(1)).astype(ft)
    a, one = ft(-0.75), ft(1)
    w = np.stack([_cubic2(t + one, a), _cubic1(t, a), _cubic1(one - t, a), _cubic2((one - t) + one, a)], 1)
    idx = np.clip(i0[:, None] + np.arange(-1, 3)[None, :], 0, n_in - 1)
    return idx, w.astype(ft)


def _aa_filter(mode: str, x: np.ndarray, ft: Any) -> np.ndarray:
    # ATen's aa_filter: the triangle for bilinear, Keys' kernel with a = -0.5 (as PIL) for bicubic.
    x = np.abs(x)
    if mode == "bilinear":
        return np.where(x < 1, ft(1) - x, ft(0)).astype(ft)
    a = ft(-0.5)
    return np.where(x < 1, _cubic1(x, a), np.where(x < 2, _cubic2(x, a), ft(0))).astype(ft)


def _antialias_taps(
    n_in: int, n_out: int, sc: Optional[float], align_corners: bool, mode: str, ft: Any
) -> tuple[np.ndarray, np.ndarray]:
    # ATen's _compute_indices_min_size_weights_aa: when downsampling (scale >= 1) the filter
    # is stretched by the scale, so every output averages the whole input interval it covers;
    # the taps inside the input are renormalised to sum to 1.
    scale = _area_scale(n_in, n_out, sc, align_corners, ft)
    half = ft(2 if mode == "bicubic" else 1)
    support = half * scale if scale >= 1 else half
    invscale = ft(1) / scale if scale >= 1 else ft(1)
    k = int(math.ceil(support)) * 2 + 1
    center = scale * (np.arange(n_out).astype(ft) + ft(0.5))
    xmin = np.maximum((center - support + ft(0.5)).astype(np.int64), 0)  # C++ casts truncate
    xsize = np.minimum((center + support + ft(0.5)).astype(np.int64), n_in) - xmin
    j = np.arange(k)[None, :]
    pos = ((j + xmin[:, None]).astype(ft) - center[:, None] + ft(0.5)) * invscale
    w = np.where(j < xsize[:, None], _aa_filter(mode, pos.astype(ft), ft), ft(0)).astype(ft)
    total = w.sum(1, dtype=ft, keepdims=True)
    w = np.where(total != 0, w / np.where(total != 0, total, ft(1)), w).astype(ft)
    return np.minimum(xmin[:, None] + j, n_in - 1), w


_INTERP_RANK = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}


def interpolate(
    input: Any,
    size: Any = None,
    scale_factor: Any = None,
    mode: str = "nearest",
    align_corners: Optional[bool] = None,
    recompute_scale_factor: Optional[bool] = None,
    antialias: bool = False,
) -> Tensor:
    """torch.nn.functional.interpolate: input (N, C, *S) with 1-3 spatial axes -> (N, C,
    *size) (or floor(S * scale_factor)). Modes "nearest", "nearest-exact", "linear" (3-D
    input), "bilinear" and "bicubic" (4-D; Keys' cubic convolution with A = -0.75 and the
    border clamped, as torch), "trilinear" (5-D) with ``align_corners``, and "area"
    (adaptive average pooling). ``antialias=True`` (bilinear/bicubic): torch's separable
    filter, whose support is stretched by the downsampling factor. PyTorch's source-index
    arithmetic (ATen's UpSample.h), as a separable composite: along each axis a gather
    (index_select) of each tap and a weighted sum of the taps — linear in the input, so
    VJP (the adjoint scatter) and JVP come from index_select's rules."""
    x = _t(input)
    if x.ndim < 3 or x.ndim > 5:
        raise ValueError(f"interpolate: expected a 3-D to 5-D input (N, C, *spatial), got shape {x.shape}")
    nd = x.ndim - 2
    linear_mode = mode in _INTERP_RANK
    if mode not in ("nearest", "nearest-exact", "area") and not linear_mode:
        raise ValueError(
            f"interpolate: mode must be 'nearest', 'nearest-exact', 'linear', 'bilinear', 'bicubic', "
            f"'trilinear' or 'area', got {mode!r}"
        )
    if antialias and (mode not in ("bilinear", "bicubic") or x.ndim != 4):
        raise ValueError(
            "interpolate: anti-alias option is restricted to bilinear and bicubic modes and requires "
            f"a 4-D tensor as input, got mode {mode!r} and shape {x.shape}"
        )
    if align_corners is not None and not linear_mode:
        raise ValueError(
            "interpolate: align_corners option can only be set with the interpolating modes: "
            "linear | bilinear | bicubic | trilinear"
        )
    if linear_mode and _INTERP_RANK[mode] != nd:
        raise ValueError(
            f"interpolate: got a {x.ndim}-D input, but {mode} mode needs a {_INTERP_RANK[mode] + 2}-D input"
        )
    out, scales = _interp_size(x, size, scale_factor, nd)
    if min(out) < 1:
        raise ValueError(f"interpolate: input of shape {x.shape} gives the empty output size {out}")
    if recompute_scale_factor:
        scales = [None] * nd
    if mode == "area":
        return _adaptive(x, out, _DEFAULT_FORMAT[nd], nd)
    ft = np.float64 if x.dtype == float64 else np.float32
    ac = bool(align_corners)
    # The innermost axis first: ATen's nested loop applies the outer axes' weights last.
    for i in reversed(range(nd)):
        ax, n_in = i + 2, x.shape[i + 2]
        if not linear_mode:
            idx = _nearest_index(n_in, out[i], scales[i], mode == "nearest-exact", ft)
            x = ops.index_select(x, ax, tensor(idx, dtype=int64))
            continue
        if antialias:
            if n_in == out[i]:
                continue  # ATen's separable kernel skips the axes whose size is unchanged
            taps, w = _antialias_taps(n_in, out[i], scales[i], ac, mode, ft)
        elif mode == "bicubic":
            taps, w = _cubic_taps(n_in, out[i], scales[i], ac, ft)
        else:
            taps, w = _linear_taps(n_in, out[i], scales[i], ac, ft)
        bshape = [1] * x.ndim
        bshape[ax] = out[i]
        terms = [  # a handful of taps; each one a vectorised gather, summed in ATen's order
            ops.index_select(x, ax, tensor(taps[:, k], dtype=int64))
            * tensor(np.ascontiguousarray(w[:, k]).reshape(bshape), dtype=x.dtype)
            for k in range(taps.shape[1])
        ]
        x = terms[0]
        for term in terms[1:]:
            x = x + term
    return x


def upsample(
    input: Any,
    size: Any = None,
    scale_factor: Any = None,
    mode: str = "nearest",
    align_corners: Optional[bool] = None,
) -> Tensor:
    """Deprecated PyTorch alias of interpolate: (N, C, *S) -> (N, C, *S_out)."""
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input: Any, size: Any = None, scale_factor: Any = None) -> Tensor:
    """interpolate(mode="nearest"): (N, C, *S) -> (N, C, *S_out)."""
    return interpolate(input, size, scale_factor, "nearest")


def upsample_bilinear(input: Any, size: Any = None, scale_factor: Any = None) -> Tensor:
    """interpolate(mode="bilinear", align_corners=True), as PyTorch's deprecated alias:
    (N, C, H, W) -> (N, C, H_out, W_out)."""
    return interpolate(input, size, scale_factor, "bilinear", True)


def _adaptive(x: Tensor, output_size: Any, data_format: str, nd: int) -> Tensor:
    layer = f"adaptive_avg_pool{nd}d"
    x = _t(x)
    cl = _channels_last(data_format, nd, layer)
    x, ub = _batched(x, nd, layer)
    spatial = x.shape[1:-1] if cl else x.shape[2:]
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
def dropout(x: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Inverted dropout: zeroes entries with probability p and scales the rest by 1/(1-p).
    Any shape. (``inplace`` is accepted for PyTorch's signature; a new tensor is returned.)"""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: p must be in [0, 1], got {p}")
    x = _t(x)
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * 0.0
    keep = (rand(*x.shape, dtype=x.dtype) >= float(p)).astype(x.dtype)
    return x * (keep * (1.0 / (1.0 - p)))


def _channel_dropout(x: Any, p: float, training: bool, nd: int, layer: str) -> Tensor:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{layer}: p must be in [0, 1], got {p}")
    x = _t(x)
    if x.ndim not in (nd + 1, nd + 2):
        raise ValueError(
            f"{layer}: expected a {nd + 1}-D (C, *spatial) or {nd + 2}-D (N, C, *spatial) input, got shape {x.shape}"
        )
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * 0.0
    # One Bernoulli draw per (n, c) channel, broadcast over the spatial axes (Tompson et al.
    # 2015, "Efficient Object Localization Using Convolutional Networks": SpatialDropout).
    lead = x.ndim - nd
    mshape = [*x.shape[:lead], *([1] * nd)]
    keep = (rand(*mshape, dtype=x.dtype) >= float(p)).astype(x.dtype)
    return x * (keep * (1.0 / (1.0 - p)))


def dropout1d(input: Any, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Channel dropout: zeroes whole channels of input (N, C, L) or (C, L) with probability
    p, scales the rest by 1/(1-p). Same shape. (``inplace`` is accepted; a new tensor is returned.)"""
    return _channel_dropout(input, p, training, 1, "dropout1d")


def dropout2d(input: Any, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Channel dropout of input (N, C, H, W) or (C, H, W): whole channels zeroed with
    probability p, the rest scaled by 1/(1-p). Same shape."""
    return _channel_dropout(input, p, training, 2, "dropout2d")


def dropout3d(input: Any, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Channel dropout of input (N, C, D, H, W) or (C, D, H, W). Same shape."""
    return _channel_dropout(input, p, training, 3, "dropout3d")


def group_norm(
    input: Any,
    num_groups: int,
    weight: Optional[Tensor] = None,
    bias: Optional[Tensor] = None,
    eps: float = 1e-5,
) -> Tensor:
    """Group normalisation (Wu & He 2018): input (N, C, *) with C divisible by num_groups;
    each sample's C/num_groups-channel groups are normalised with their own biased mean and
    variance, then scaled by weight (C,) and shifted by bias (C,). Same shape."""
    x = _t(input)
    if x.ndim < 2:
        raise ValueError(f"group_norm: expected an input of shape (N, C, *), got shape {x.shape}")
    n, c = x.shape[0], x.shape[1]
    g = int(num_groups)
    if g < 1 or c % g:
        raise ValueError(
            f"group_norm: expected the {c} channels of input {x.shape} to be divisible by num_groups={g}"
        )
    for t, name in ((weight, "weight"), (bias, "bias")):
        if t is not None and tuple(t.shape) != (c,):
            raise ValueError(
                f"group_norm: {name} must have shape ({c},), got {tuple(t.shape)} (input {x.shape})"
            )
    xg = ops.reshape(x, [n, g, x.numel() // max(n * g, 1)])
    mean = ops.mean(xg, [2], True)
    xc = xg - mean
    var = ops.mean(xc * xc, [2], True)
    y = ops.reshape(xc / ops.sqrt(var + float(eps)), list(x.shape))
    shape = [1, c] + [1] * (x.ndim - 2)
    if weight is not None:
        y = y * ops.reshape(weight, shape)
    if bias is not None:
        y = y + ops.reshape(bias, shape)
    return y


def instance_norm(
    input: Any,
    running_mean: Optional[Tensor] = None,
    running_var: Optional[Tensor] = None,
    weight: Optional[Tensor] = None,
    bias: Optional[Tensor] = None,
    use_input_stats: bool = True,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Instance normalisation (Ulyanov et al. 2016): each (n, c) plane of input (N, C, *)
    normalised over its spatial axes; with ``use_input_stats=False`` the running statistics
    (C,) are used instead, and in use_input_stats mode they are updated with the batch mean
    of the per-instance statistics (unbiased variance), as PyTorch. Same shape."""
    x = _t(input)
    running_mean, running_var = (
        None if a is None else tensor_arg(a, "instance_norm", n)
        for a, n in ((running_mean, "running_mean"), (running_var, "running_var"))
    )
    if x.ndim < 3:
        raise ValueError(f"instance_norm: expected an input of shape (N, C, *spatial), got shape {x.shape}")
    n, c = x.shape[0], x.shape[1]
    shape = [1, c] + [1] * (x.ndim - 2)
    axes = list(range(2, x.ndim))
    if use_input_stats:
        m = int(np.prod(x.shape[2:]))
        if m <= 1:
            raise ValueError(
                f"instance_norm: expected more than 1 spatial element when training, got input shape {x.shape}"
            )
        mean = ops.mean(x, axes, True)
        xc = x - mean
        var = ops.mean(xc * xc, axes, True)
        if running_mean is not None and running_var is not None:
            with no_grad():
                bm = ops.mean(ops.reshape(mean.detach(), [n, c]), [0], False)
                bv = ops.mean(ops.reshape(var.detach(), [n, c]), [0], False) * (m / (m - 1))
                running_mean.copy_(running_mean * (1.0 - momentum) + bm.astype(running_mean.dtype) * momentum)
                running_var.copy_(running_var * (1.0 - momentum) + bv.astype(running_var.dtype) * momentum)
        y = xc / ops.sqrt(var + float(eps))
    else:
        if running_mean is None or running_var is None:
            raise ValueError(
                "instance_norm: expected running_mean and running_var when use_input_stats=False"
            )
        y = (x - ops.reshape(running_mean, shape)) / ops.sqrt(ops.reshape(running_var, shape) + float(eps))
    if weight is not None:
        y = y * ops.reshape(weight, shape)
    if bias is not None:
        y = y + ops.reshape(bias, shape)
    return y


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


def _embedding_renorm_(weight: Tensor, rows: np.ndarray, max_norm: float, norm_type: float) -> None:
    # torch.embedding_renorm_: every looked-up row whose norm exceeds max_norm is scaled in
    # place (no_grad, outside the tape) to max_norm / (norm + 1e-7) of itself.
    rows = np.unique(rows)
    if rows.size == 0:
        return
    sel = tensor(rows, dtype=int64)
    vals = np.asarray(ops.index_select(weight.detach(), 0, sel))
    norm = np.linalg.norm(vals, ord=float(norm_type), axis=1).astype(np.float64)
    big = norm > max_norm
    if not big.any():
        return
    scale = (max_norm / (norm[big] + 1e-7)).astype(vals.dtype)
    with no_grad():
        weight[tensor(rows[big], dtype=int64)] = tensor(vals[big] * scale[:, None], weight.dtype)


def embedding(
    idx: Any,
    weight: Tensor,
    padding_idx: Optional[int] = None,
    max_norm: Optional[float] = None,
    norm_type: float = 2.0,
    scale_grad_by_freq: bool = False,
    sparse: bool = False,
) -> Tensor:
    """Rows of ``weight`` (num_embeddings, dim) picked by integer ``idx`` (any shape) ->
    idx.shape + (dim,), as torch.nn.functional.embedding:

    * ``padding_idx``: that row is returned as it is but gets no gradient;
    * ``max_norm``: before the lookup, the looked-up rows whose ``norm_type``-norm exceeds
      it are rescaled to norm max_norm **in place in weight** (under no_grad: no gradient
      flows through the renormalisation), as torch;
    * ``scale_grad_by_freq``: the gradient of each row is divided by the number of times
      its index occurs in ``idx`` (forward values unchanged);
    * ``sparse``: fastgrad has no sparse tensors, so ``sparse=True`` gives the dense
      gradient — the same values as torch's sparse gradient densified. Optimizers that need
      torch's sparse layout (SparseAdam) have no fastgrad counterpart; dense SGD/Adam take it."""
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
    if idx._is_batched:  # inside vmap: per-example indices have no values to read
        return _embedding_batched(idx, weight, padding_idx, max_norm, scale_grad_by_freq)
    a = np.asarray(idx)
    # Indices are 0 <= i < n (as PyTorch: -1 is out of range, not the last row).
    if a.size and (a.min() < 0 or a.max() >= n):
        raise IndexError(
            f"embedding: index out of range for {n} embeddings (got range [{a.min()}, {a.max()}])"
        )
    if max_norm is not None:
        _embedding_renorm_(weight, a.reshape(-1), float(max_norm), norm_type)
    flat = ops.reshape(idx, [-1])
    out = ops.reshape(ops.index_select(weight, 0, flat), list(idx.shape) + [weight.shape[1]])
    if scale_grad_by_freq and a.size:
        # x.detach() + (x − x.detach())·s: the value x exactly, the derivative s = 1 / count
        freq = np.bincount(a.reshape(-1), minlength=n)[a]
        s = tensor((1.0 / freq)[..., None], weight.dtype)
        out = out.detach() + (out - out.detach()) * s
    if padding_idx is not None:
        if not -n <= padding_idx < n:
            raise ValueError(f"embedding: padding_idx {padding_idx} out of range for {n} embeddings")
        pi = padding_idx % n
        # PyTorch: the padding row's value is returned as it is, but gets no gradient.
        keep = tensor((a != pi).astype(np.float64)[..., None], weight.dtype)
        out = out * keep + out.detach() * (1.0 - keep)
    return out


def _embedding_batched(
    idx: Tensor,
    weight: Tensor,
    padding_idx: Optional[int],
    max_norm: Optional[float],
    scale_grad_by_freq: bool,
) -> Tensor:
    """embedding() for indices batched by vmap: the lookup and padding_idx with tensor ops
    (index_select checks the bounds on the whole batch; a negative index there counts from
    the end, where PyTorch's embedding refuses it)."""
    if max_norm is not None or scale_grad_by_freq:
        raise RuntimeError(
            "embedding: max_norm and scale_grad_by_freq read the index values, which per-example "
            "indices inside vmap do not have"
        )
    n = weight.shape[0]
    out = ops.reshape(
        ops.index_select(weight, 0, ops.reshape(idx, [-1])), list(idx.shape) + [weight.shape[1]]
    )
    if padding_idx is None:
        return out
    if not -n <= padding_idx < n:
        raise ValueError(f"embedding: padding_idx {padding_idx} out of range for {n} embeddings")
    keep = ops.unsqueeze(ops.ne(idx, padding_idx % n), idx.ndim).astype(weight.dtype)
    return out * keep + out.detach() * (1.0 - keep)


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


# ---- channel/space rearrangements (issue 12): reshape + permute views, so their gradients
# are those ops' (a permutation of the cotangent).
def pixel_shuffle(input: Any, upscale_factor: int) -> Tensor:
    """(*, C * r**2, H, W) -> (*, C, H * r, W * r) with r = upscale_factor: each group of r**2
    channels becomes an r x r block of pixels (PyTorch's channel order)."""
    x, r = _t(input), int(upscale_factor)
    if x.ndim < 3 or r <= 0 or x.shape[-3] % (r * r):
        raise ValueError(
            f"pixel_shuffle: expects (*, C * r**2, H, W) with r = upscale_factor = {upscale_factor} > 0, "
            f"got shape {tuple(x.shape)}"
        )
    *b, c, h, w = x.shape
    y = x.reshape(*b, c // (r * r), r, r, h, w)
    n = len(b)
    y = y.permute(*range(n), n, n + 3, n + 1, n + 4, n + 2)
    return y.reshape(*b, c // (r * r), h * r, w * r)


def pixel_unshuffle(input: Any, downscale_factor: int) -> Tensor:
    """(*, C, H * r, W * r) -> (*, C * r**2, H, W) with r = downscale_factor: the inverse of
    pixel_shuffle."""
    x, r = _t(input), int(downscale_factor)
    if x.ndim < 3 or r <= 0 or x.shape[-2] % r or x.shape[-1] % r:
        raise ValueError(
            f"pixel_unshuffle: expects (*, C, H * r, W * r) with r = downscale_factor = {downscale_factor} "
            f"> 0, got shape {tuple(x.shape)}"
        )
    *b, c, h, w = x.shape
    y = x.reshape(*b, c, h // r, r, w // r, r)
    n = len(b)
    y = y.permute(*range(n), n, n + 2, n + 4, n + 1, n + 3)
    return y.reshape(*b, c * r * r, h // r, w // r)


def channel_shuffle(input: Any, groups: int) -> Tensor:
    """(N, C, *) -> (N, C, *) with the channels, seen as (groups, C // groups), transposed
    to (C // groups, groups) (ShuffleNet's channel shuffle)."""
    x, g = _t(input), int(groups)
    if x.ndim < 3 or g <= 0 or x.shape[1] % g:
        raise ValueError(
            f"channel_shuffle: expects (N, C, *) with C divisible by groups = {groups} > 0, "
            f"got shape {tuple(x.shape)}"
        )
    n, c, *rest = x.shape
    return x.reshape(n, g, c // g, *rest).transpose(1, 2).reshape(n, c, *rest)


def rms_norm(
    input: Tensor,
    normalized_shape: Any,
    weight: Optional[Tensor] = None,
    eps: Optional[float] = None,
) -> Tensor:
    """x / √(mean(x²) + eps) over the trailing ``normalized_shape`` dims, then ·weight (of
    shape normalized_shape, optional); eps None is the dtype's machine epsilon (torch's
    default). input: (..., *normalized_shape) -> the same shape."""
    x = _t(input)
    ns = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) else tuple(normalized_shape)
    k = len(ns)
    if tuple(x.shape[x.ndim - k :]) != tuple(ns):
        raise ValueError(f"rms_norm: input of shape {x.shape} does not end with normalized_shape {ns}")
    if eps is None:
        eps = float(np.finfo(np.float32 if x.dtype == float32 else np.float64).eps)
    axes = tuple(range(x.ndim - k, x.ndim))
    y = x * ops.rsqrt(ops.mean(x * x, axes, True) + float(eps))
    return y * weight if weight is not None else y


def pdist(input: Tensor, p: float = 2.0) -> Tensor:
    """The p-norm distances between the rows of input (N, M) for every pair i < j, in
    row-major order of the pairs: (N, M) -> (N (N - 1) / 2,)."""
    x = _t(input)
    if x.ndim != 2:
        raise ValueError(f"pdist: input must be (N, M), got shape {x.shape}")
    n = x.shape[0]
    ij = ops.triu_indices(n, n, 1)
    d = ops.index_select(x, 0, ij[0]) - ops.index_select(x, 0, ij[1])
    return ops.linalg_vector_norm(d, p, -1)
