"""Activation modules (cheat sheet "COMMON ACTIVATION FUNCTIONS"), with PyTorch's signatures.

``inplace=`` is accepted wherever PyTorch has it (its code passes ``inplace=True``); the result
is computed out of place and returned.
"""

from __future__ import annotations

from typing import Any, Optional

from .. import ops
from .._tensor import as_dtype, float32, full
from ..ops import Tensor
from . import functional as F
from .module import Module, Parameter


class _Inplace(Module):
    """Base of the activations that take PyTorch's ``inplace`` flag."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def extra_repr(self) -> str:
        """``inplace=True`` when set."""
        return "inplace=True" if self.inplace else ""


class ReLU(_Inplace):
    """max(x, 0), elementwise; any shape."""

    def forward(self, x: Tensor) -> Tensor:
        """x: any shape -> the same shape."""
        return ops.relu(x)


class ReLU6(_Inplace):
    """min(max(x, 0), 6), elementwise; any shape."""

    def forward(self, x: Tensor) -> Tensor:
        """x: any shape -> the same shape."""
        return ops.relu6(x)


class Tanh(Module):
    """tanh(x), elementwise; any shape."""

    def forward(self, x: Tensor) -> Tensor:
        """x: any shape -> the same shape."""
        return ops.tanh(x)


class Sigmoid(Module):
    """1 / (1 + exp(−x)), elementwise; any shape."""

    def forward(self, x: Tensor) -> Tensor:
        """x: any shape -> the same shape."""
        return ops.sigmoid(x)


class GELU(Module):
    """x·Φ(x); ``approximate="tanh"`` uses 0.5x(1 + tanh(√(2/π)(x + 0.044715x³)))."""

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        self.approximate = approximate  # checked by the gelu op on the first call

    def forward(self, x: Tensor) -> Tensor:
        """x: any shape -> the same shape."""
        return ops.gelu(x, self.approximate)

    def extra_repr(self) -> str:
        """``approximate='...'``."""
        return f"approximate={self.approximate!r}"


class SiLU(_Inplace):
    """Swish: x·sigmoid(x)."""

    def forward(self, x: Tensor) -> Tensor:
        """x: any shape -> the same shape."""
        return ops.silu(x)


class Mish(_Inplace):
    """x·tanh(softplus(x)) (Misra 2019); any shape."""

    def forward(self, x: Tensor) -> Tensor:
        """x: any shape -> the same shape."""
        return ops.mish(x)


class Softplus(Module):
    """log(1 + exp(βx)) / β, x itself where βx > ``threshold``; any shape."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta = float(beta)
        self.threshold = float(threshold)

    def forward(self, x: Tensor) -> Tensor:
        """x: any shape -> the same shape."""
        return ops.softplus(x, self.beta, self.threshold)

    def extra_repr(self) -> str:
        """``beta=..., threshold=...``."""
        return f"beta={self.beta}, threshold={self.threshold}"


class LeakyReLU(_Inplace):
    """x if x > 0 else ``negative_slope``·x; any shape."""

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False) -> None:
        super().__init__(inplace)
        self.negative_slope = negative_slope

    def forward(self, x: Tensor) -> Tensor:
        """x: any shape -> the same shape."""
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        """``negative_slope=...``."""
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class ELU(_Inplace):
    """x if x > 0 else α(exp(x) − 1); any shape."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__(inplace)
        self.alpha = float(alpha)

    def forward(self, x: Tensor) -> Tensor:
        """x: any shape -> the same shape."""
        return ops.elu(x, self.alpha)

    def extra_repr(self) -> str:
        """``alpha=...``."""
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class CELU(ELU):
    """max(0, x) + min(0, α(exp(x/α) − 1)); any shape."""

    def forward(self, x: Tensor) -> Tensor:
        """x: any shape -> the same shape."""
        return ops.celu(x, self.alpha)


class SELU(_Inplace):
    """scale·elu(x, α) with the self-normalising constants (Klambauer et al. 2017); any shape."""

    def forward(self, x: Tensor) -> Tensor:
        """x: any shape -> the same shape."""
        return ops.selu(x)


class Hardtanh(_Inplace):
    """x clamped to [``min_val``, ``max_val``]; any shape."""

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> None:
        super().__init__(inplace)
        self.min_val = float(min_val)
        self.max_val = float(max_val)

    def forward(self, x: Tensor) -> Tensor:
        """x: any shape -> the same shape."""
        return ops.hardtanh(x, self.min_val, self.max_val)

    def extra_repr(self) -> str:
        """``min_val=..., max_val=...``."""
        return f"min_val={self.min_val}, max_val={self.max_val}" + (", inplace=True" if self.inplace else "")


class Hardswish(_Inplace):
    """x·relu6(x + 3)/6 (Howard et al. 2019); any shape."""

    def forward(self, x: Tensor) -> Tensor:
        """x: any shape -> the same shape."""
        return ops.hardswish(x)


class Hardsigmoid(_Inplace):
    """relu6(x + 3)/6; any shape."""

    def forward(self, x: Tensor) -> Tensor:
        """x: any shape -> the same shape."""
        return ops.hardsigmoid(x)


class Softsign(Module):
    """x / (1 + |x|); any shape."""

    def forward(self, x: Tensor) -> Tensor:
        """x: any shape -> the same shape."""
        return ops.softsign(x)


class LogSigmoid(Module):
    """log(sigmoid(x)), computed stably; any shape."""

    def forward(self, x: Tensor) -> Tensor:
        """x: any shape -> the same shape."""
        return ops.logsigmoid(x)


class Tanhshrink(Module):
    """x − tanh(x); any shape."""

    def forward(self, x: Tensor) -> Tensor:
        """x: any shape -> the same shape."""
        return ops.tanhshrink(x)


class Threshold(_Inplace):
    """x where x > ``threshold``, else ``value``; any shape."""

    def __init__(self, threshold: float, value: float, inplace: bool = False) -> None:
        super().__init__(inplace)
        self.threshold = float(threshold)
        self.value = float(value)

    def forward(self, x: Tensor) -> Tensor:
        """x: any shape -> the same shape."""
        return ops.threshold(x, self.threshold, self.value)

    def extra_repr(self) -> str:
        """``threshold=..., value=...``."""
        return f"threshold={self.threshold}, value={self.value}" + (", inplace=True" if self.inplace else "")


class Softshrink(Module):
    """x ∓ λ outside [−λ, λ], 0 inside; any shape."""

    def __init__(self, lambd: float = 0.5) -> None:
        super().__init__()
        self.lambd = float(lambd)

    def forward(self, x: Tensor) -> Tensor:
        """x: any shape -> the same shape."""
        return ops.softshrink(x, self.lambd)

    def extra_repr(self) -> str:
        """``lambd``."""
        return str(self.lambd)


class Hardshrink(Softshrink):
    """x outside [−λ, λ], 0 inside; any shape."""

    def forward(self, x: Tensor) -> Tensor:
        """x: any shape -> the same shape."""
        return ops.hardshrink(x, self.lambd)


class GLU(Module):
    """a·sigmoid(b), a and b the halves of the input along ``dim``."""

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, x: Tensor) -> Tensor:
        """x: (…, 2n, …) along ``dim`` -> (…, n, …)."""
        return F.glu(x, self.dim)

    def extra_repr(self) -> str:
        """``dim=...``."""
        return f"dim={self.dim}"


class PReLU(Module):
    """x if x > 0 else a·x with a learnable ``weight`` a of shape (num_parameters,), one per channel.

    Input (N, C, *) with C == num_parameters (or any shape when num_parameters is 1).
    """

    def __init__(
        self, num_parameters: int = 1, init: float = 0.25, device: Any = None, dtype: Any = None
    ) -> None:
        super().__init__()
        from .._device import check_device

        check_device(device, "PReLU")
        # (no num_parameters attribute: Module.num_parameters() is the parameter count)
        self.init = init
        self.weight = Parameter(full([num_parameters], float(init), as_dtype(dtype) or float32))

    def forward(self, x: Tensor) -> Tensor:
        """x: (N, C, *) -> the same shape."""
        return F.prelu(x, self.weight)

    def extra_repr(self) -> str:
        """``num_parameters=...``."""
        return f"num_parameters={self.weight.shape[0]}"


class Softmax(Module):
    """Softmax along ``dim`` (default: the last axis; None: PyTorch's implicit dim)."""

    def __init__(self, dim: Optional[int] = -1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, x: Tensor) -> Tensor:
        """x: any shape -> the same shape (sums to 1 along ``dim``)."""
        return F.softmax(x, self.dim)

    def extra_repr(self) -> str:
        """``dim=...``."""
        return f"dim={self.dim}"


class Softmin(Softmax):
    """softmax(−x) along ``dim`` (None: PyTorch's implicit dim)."""

    def __init__(self, dim: Optional[int] = None) -> None:
        super().__init__(dim)

    def forward(self, x: Tensor) -> Tensor:
        """x: any shape -> the same shape (sums to 1 along ``dim``)."""
        return F.softmin(x, self.dim)


class LogSoftmax(Softmax):
    """log(softmax(x)) along ``dim`` (default: the last axis), computed stably."""

    def forward(self, x: Tensor) -> Tensor:
        """x: any shape -> the same shape."""
        return F.log_softmax(x, self.dim)
