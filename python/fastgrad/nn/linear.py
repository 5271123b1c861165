"""Dense layers (cheat sheet "DENSE (FULLY CONNECTED) LAYER", both storage conventions)."""

from __future__ import annotations

import math
from typing import Any

from .. import ops
from .._device import check_device
from .._tensor import as_dtype, as_tensor, float32, full
from ..autograd import no_grad
from ..ops import Tensor
from . import init
from .interop import check_layout, convert_linear_weight
from .module import Module, Parameter


class Linear(Module):
    """``y = x @ W.T + b`` with W of shape (out, in) (layout="torch", PyTorch's), or
    ``y = x @ W + b`` with W of shape (in, out) (layout="jax", transpose-free for rows).

    Signature as PyTorch's: ``Linear(in_features, out_features, bias=True, device=None,
    dtype=None)``; ``layout`` and ``activation`` are keyword-only. Inputs may be a vector (in,), a row (1, in) or a batch (..., in); the output is
    (..., out). ``activation`` ("none", "relu", "tanh", "sigmoid") runs in the GEMM
    epilogue of the same primitive: ``Linear(i, o, activation="relu")`` is one tape node
    with the values and gradients of ``Sequential(Linear(i, o), ReLU())`` (see
    ``nn.fuse``). Initialisation is PyTorch's for both layouts: W ~ U(±1/√in)
    (kaiming_uniform a=√5), b ~ U(±1/√in).
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
        *,
        layout: str = "torch",
        activation: str = "none",
    ) -> None:
        super().__init__()
        check_device(device, "nn.Linear")
        check_layout(layout, "Linear")
        if int(in_features) < 0 or int(out_features) < 0:
            raise ValueError(
                f"Linear: in_features and out_features must be >= 0, got ({in_features}, {out_features})"
            )
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        self.layout = layout
        self.activation = activation  # checked by the linear op
        shape = [out_features, in_features] if layout == "torch" else [in_features, out_features]
        dt = as_dtype(dtype) or float32  # dtype=None: the default dtype, as PyTorch
        self.weight = Parameter(full(shape, 0.0, dt))
        self.bias = Parameter(full([out_features], 0.0, dt)) if bias else None
        self.reset_parameters()

    weight_layout_kind = "linear"  # see nn.interop

    @property
    def weight_layout(self) -> str:
        """The weight's layout, "torch" (out, in) or "jax" (in, out) (``nn.interop``)."""
        return self.layout

    def reset_parameters(self) -> None:
        """Re-draws W and b from PyTorch's default initialisation (see the class docstring)."""
        init.layer_default_(self.weight, self.bias, self.in_features, self.out_features)

    def forward(self, x: Tensor, activation: str | None = None) -> Tensor:
        """x: (in,) or (..., in) -> (out,) or (..., out). ``activation`` overrides the
        layer's own for this call."""
        if not isinstance(x, Tensor):
            x = as_tensor(x)
        # One fused primitive: x Wᵀ + b (torch) or x W + b (jax), bias and activation in the
        # GEMM epilogue; the op checks the shapes and the activation name.
        act = self.activation if activation is None else activation
        return ops.linear(x, self.weight, self.bias, self.layout == "torch", act)

    def weight_as(self, layout: str) -> Tensor:
        """The weight in the requested layout ("torch" (out, in) or "jax" (in, out)), as a copy."""
        return convert_linear_weight(self.weight.detach(), self.layout, layout)

    def load_weight(self, w: Any, layout: str) -> None:
        """Copies a weight given in ``layout`` into this layer (transposing if needed)."""
        import numpy as np

        a = np.asarray(w.detach() if isinstance(w, Tensor) else w)
        a = convert_linear_weight(a, layout, self.layout)
        if tuple(a.shape) != tuple(self.weight.shape):
            raise ValueError(
                f"Linear.load_weight: weight of shape {a.shape} (after conversion to layout "
                f"{self.layout!r}) does not match {self.weight.shape}"
            )
        with no_grad():
            np.asarray(self.weight)[...] = a
            self.weight._bump_version()

    def extra_repr(self) -> str:
        """``in_features=..., out_features=..., bias=...`` (and layout/activation if set)."""
        s = f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"
        s += ", layout='jax'" if self.layout == "jax" else ""
        return s + (f", activation={self.activation!r}" if self.activation != "none" else "")


def bilinear(input1: Tensor, input2: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """``y_k = x1ᵀ W_k x2 + b_k``, as ``torch.nn.functional.bilinear``.

    input1: (..., in1), input2: (..., in2) with the same leading dims, weight:
    (out, in1, in2), bias: (out,) or None -> (..., out). Composite: one GEMM of x1 with W
    laid out (in1, out·in2), then a product with x2 summed over in2 (so the gradients are
    those of matmul, mul and sum).
    """
    x1, x2, w = as_tensor(input1), as_tensor(input2), as_tensor(weight)
    if w.ndim != 3:
        raise ValueError(f"bilinear: weight must be 3-D (out, in1, in2), got shape {tuple(w.shape)}")
    out, in1, in2 = w.shape
    if x1.ndim < 1 or x2.ndim < 1 or x1.shape[-1] != in1 or x2.shape[-1] != in2:
        raise ValueError(
            f"bilinear: input1 {tuple(x1.shape)} and input2 {tuple(x2.shape)} must end in in1={in1} and "
            f"in2={in2} (weight {tuple(w.shape)})"
        )
    if tuple(x1.shape[:-1]) != tuple(x2.shape[:-1]):
        raise ValueError(
            f"bilinear: input1 {tuple(x1.shape)} and input2 {tuple(x2.shape)} must have the same leading dims"
        )
    if bias is not None and tuple(bias.shape) != (out,):
        raise ValueError(f"bilinear: bias must have shape ({out},), got {tuple(bias.shape)}")
    lead = list(x1.shape[:-1])
    w2 = ops.reshape(ops.permute(w, [1, 0, 2]), [in1, out * in2])
    t = ops.reshape(ops.matmul(x1, w2), lead + [out, in2])
    y = ops.sum(t * ops.unsqueeze(x2, -2), -1)
    return y if bias is None else y + bias


class Bilinear(Module):
    """``y = x1ᵀ W x2 + b`` per output: ``Bilinear(in1_features, in2_features,
    out_features, bias=True, device=None, dtype=None)`` as ``torch.nn.Bilinear``;
    weight (out, in1, in2) and bias (out,) drawn from U(±1/√in1) as PyTorch.
    Inputs (..., in1) and (..., in2) -> (..., out)."""

    def __init__(
        self,
        in1_features: int,
        in2_features: int,
        out_features: int,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        check_device(device, "nn.Bilinear")
        sizes = (int(in1_features), int(in2_features), int(out_features))
        if min(sizes) < 0:
            raise ValueError(f"Bilinear: feature sizes must be >= 0, got {sizes}")
        self.in1_features, self.in2_features, self.out_features = sizes
        dt = as_dtype(dtype) or float32
        self.weight = Parameter(full([sizes[2], sizes[0], sizes[1]], 0.0, dt))
        self.bias = Parameter(full([sizes[2]], 0.0, dt)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """W, b ~ U(-1/√in1, 1/√in1) (PyTorch's Bilinear.reset_parameters)."""
        bound = 1.0 / math.sqrt(self.in1_features) if self.in1_features else 0.0
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1: Tensor, input2: Tensor) -> Tensor:
        """input1 (..., in1), input2 (..., in2) -> (..., out)."""
        return bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self) -> str:
        """``in1_features=..., in2_features=..., out_features=..., bias=...`` (as PyTorch)."""
        return (
            f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
            f"out_features={self.out_features}, bias={self.bias is not None}"
        )


class Identity(Module):
    """Returns its input unchanged (constructor arguments are ignored, as PyTorch); any shape."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, x: Any) -> Any:
        """x: anything -> x itself."""
        return x


class Flatten(Module):
    """Flattens dims start_dim..end_dim (default: all but the batch axis)."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1, device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        check_device(device, "nn.Flatten")  # no parameters: dtype is accepted and unused
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, x: Tensor) -> Tensor:
        """x: (N, d1, ..., dk) -> (N, d1·...·dk) for the defaults (dims start..end merged)."""
        return ops.flatten(x, self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        """``start_dim=..., end_dim=...``."""
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
