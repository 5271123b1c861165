"""Dense layers (cheat sheet "DENSE (FULLY CONNECTED) LAYER", both storage conventions)."""

from __future__ import annotations

import math
from typing import Any

from .. import _C
from .._C import Tensor
from .._tensor import as_dtype, float32
from . import init
from .functional import convert_linear_weight
from .module import Module, Parameter


class Linear(Module):
    """``y = x @ W.T + b`` with W of shape (out, in) (layout="torch", PyTorch's), or
    ``y = x @ W + b`` with W of shape (in, out) (layout="jax", transpose-free for rows).

    Inputs may be a vector (in,), a row (1, in) or a batch (..., in). Initialisation is
    PyTorch's for both layouts: W ~ U(±1/√in) (kaiming_uniform a=√5), b ~ U(±1/√in).
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        layout: str = "torch",
        dtype: Any = float32,
    ) -> None:
        super().__init__()
        if layout not in ("torch", "jax"):
            raise ValueError(f"Linear: layout must be 'torch' or 'jax', got {layout!r}")
        if int(in_features) < 0 or int(out_features) < 0:
            raise ValueError(
                f"Linear: in_features and out_features must be >= 0, got ({in_features}, {out_features})"
            )
        self.in_features = int(in_features)
        self.out_features = int(out_features)
        self.layout = layout
        shape = [out_features, in_features] if layout == "torch" else [in_features, out_features]
        dt = as_dtype(dtype) or float32  # dtype=None: the default dtype, as PyTorch
        self.weight = Parameter(_C.full(shape, 0.0, dt))
        self.bias = Parameter(_C.full([out_features], 0.0, dt)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5), fan_in=self.in_features, fan_out=self.out_features)
        if self.bias is not None:
            bound = 1.0 / math.sqrt(self.in_features) if self.in_features > 0 else 0.0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x: Tensor, activation: str = "none") -> Tensor:
        """``activation`` ("relu", "tanh", "sigmoid") is applied in the GEMM epilogue;
        Sequential passes it when this layer is followed by that activation module."""
        if x.__class__ is not Tensor or not x.ndim or x.shape[-1] != self.in_features:
            x = self._check(x)
        # One fused primitive: x Wᵀ + b (torch) or x W + b (jax), bias in the GEMM epilogue.
        return _C.linear(x, self.weight, self.bias, self.layout == "torch", activation)

    def _check(self, x: Any) -> Tensor:
        from .._tensor import as_tensor

        x = as_tensor(x) if not isinstance(x, Tensor) else x
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ValueError(
                f"Linear({self.in_features}, {self.out_features}): input of shape {x.shape} must end "
                f"with {self.in_features} features"
            )
        return x

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
        from ..autograd import no_grad

        with no_grad():
            np.asarray(self.weight)[...] = a
            self.weight._bump_version()

    def extra_repr(self) -> str:
        s = f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"
        return s + (", layout='jax'" if self.layout == "jax" else "")


class Identity(Module):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, x: Any) -> Any:
        return x


class Flatten(Module):
    """Flattens dims start_dim..end_dim (default: all but the batch axis)."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, x: Tensor) -> Tensor:
        return _C.flatten(x, self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
