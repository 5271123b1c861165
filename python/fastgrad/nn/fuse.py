"""``fuse(model)``: opt-in epilogue fusion of Linear/Conv + activation pairs.

``Sequential`` only chains its modules. A Linear or Conv whose next module in a
Sequential is an exact ``ReLU``, ``Tanh`` or ``Sigmoid`` can instead run that activation
in the epilogue of its own primitive (one tape node and one buffer fewer, the same values
and gradients); ``fuse`` makes that rewrite explicit. The same is available per layer as
``Linear(..., activation="relu")`` / ``Conv2d(..., activation="relu")``.
"""

from __future__ import annotations

from typing import TypeVar

from .activation import ReLU, Sigmoid, Tanh
from .conv import _ConvNd
from .linear import Identity, Linear
from .module import Module, Sequential

M = TypeVar("M", bound=Module)

# Exact types only: a subclass may override forward, so it is not the plain activation.
_FUSABLE = {ReLU: "relu", Tanh: "tanh", Sigmoid: "sigmoid"}


def fuse(model: M) -> M:
    """Fuses every (Linear | Conv1d/2d/3d, ReLU | Tanh | Sigmoid) pair of consecutive modules
    inside each ``Sequential`` of ``model``, in place, and returns ``model``.

    The layer gets ``activation=<name>`` and the activation module is replaced by an
    ``Identity`` at the same position, so parameter names, ``state_dict`` keys and indexing
    are unchanged. A layer that already has an activation is left alone. Shapes are not
    affected: each fused layer maps its input to the same output as the unfused pair.
    """
    for m in list(model.modules()):
        if not isinstance(m, Sequential):
            continue
        items = [(k, v) for k, v in m._modules.items() if v is not None]
        for (_, layer), (name, act) in zip(items, items[1:]):
            kind = _FUSABLE.get(type(act))
            if kind is None or not isinstance(layer, (Linear, _ConvNd)) or layer.activation != "none":
                continue
            layer.activation = kind
            m.register_module(name, Identity())
    return model
