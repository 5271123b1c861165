"""Weight layouts shared with PyTorch and JAX/Flax, in one place.

Two conventions exist for each layer kind with a layout-dependent weight:

* dense ("linear"): "torch" stores W as (out, in), "jax" as (in, out);
* convolution ("conv"): "torch" is channels-first (C_out, C_in/g, k...), "jax" is
  channels-last (C_out, k..., C_in/g) (cheat sheet NHWC).

A layer declares its kind with the class attribute ``weight_layout_kind`` ("linear" or
"conv") and its current convention with the attribute ``weight_layout`` ("torch" or
"jax"); ``Linear`` and ``Conv1d/2d/3d`` do, and so can a user's layer. The model-level
helpers below find layers by these attributes, so this module imports no layer class.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..ops import Tensor

LAYOUTS = ("torch", "jax")


def check_layout(layout: Any, op: str) -> str:
    """Returns ``layout`` if it is "torch" or "jax"; ValueError naming ``op`` otherwise."""
    if layout not in LAYOUTS:
        raise ValueError(f"{op}: layout must be 'torch' or 'jax', got {layout!r}")
    return layout


def convert_linear_weight(w: Any, src: str, dst: str) -> Any:
    """Converts a dense weight between layouts: "torch" (out, in) <-> "jax" (in, out).

    Works on fg Tensors (returns a contiguous fg Tensor) and NumPy arrays; ``w`` itself
    when ``src == dst``.
    """
    check_layout(src, "convert_linear_weight")
    check_layout(dst, "convert_linear_weight")
    if src == dst:
        return w
    if isinstance(w, Tensor):
        return w.transpose(0, 1).contiguous()
    return np.ascontiguousarray(np.asarray(w).T)


def _permute(w: Any, perm: list[int]) -> Any:
    if isinstance(w, Tensor):
        return w.permute(perm).contiguous()
    return np.ascontiguousarray(np.transpose(np.asarray(w), perm))


def conv_weight_to_channels_last(w: Any) -> Any:
    """A conv weight from channels-first to channels-last: (C_out, C_in/g, k...) -> (C_out, k..., C_in/g); fg Tensors or NumPy arrays."""
    nd = len(w.shape)
    return _permute(w, [0, *range(2, nd), 1])


def conv_weight_to_channels_first(w: Any) -> Any:
    """A conv weight from channels-last to channels-first: (C_out, k..., C_in/g) -> (C_out, C_in/g, k...); fg Tensors or NumPy arrays."""
    nd = len(w.shape)
    return _permute(w, [0, nd - 1, *range(1, nd - 1)])


def convert_weight(w: Any, kind: str, src: str, dst: str) -> Any:
    """Converts the weight of a ``kind`` ("linear" or "conv") layer from layout ``src`` to
    ``dst`` (see the module docstring for the shapes); ``w`` itself when they agree."""
    check_layout(src, "convert_weight")
    check_layout(dst, "convert_weight")
    if src == dst:
        return w
    if kind == "linear":
        return convert_linear_weight(w, src, dst)
    if kind == "conv":
        return conv_weight_to_channels_last(w) if dst == "jax" else conv_weight_to_channels_first(w)
    raise ValueError(f"convert_weight: kind must be 'linear' or 'conv', got {kind!r}")


def weight_layouts(model: Any) -> dict[str, tuple[str, str]]:
    """``{"<module path>.weight": (kind, layout)}`` for every layer of ``model`` that declares
    ``weight_layout_kind`` (Linear: "linear", Conv: "conv") — its current layout."""
    out = {}
    for name, m in model.named_modules():
        kind = getattr(type(m), "weight_layout_kind", None)
        if kind is not None:
            out[(name + "." if name else "") + "weight"] = (kind, m.weight_layout)
    return out


def to_numpy(x: Any) -> np.ndarray:
    """NumPy view of array-likes, including torch tensors (without importing torch)."""
    if isinstance(x, Tensor):
        return np.asarray(x.detach())
    if hasattr(x, "detach") and hasattr(x, "cpu") and hasattr(x, "numpy"):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def state_dict_to_model_layout(
    model: Any, state_dict: dict[str, Any], layout: str = "torch"
) -> dict[str, Any]:
    """A state dict written in ``layout`` (torch tensors, fg Tensors or NumPy arrays)
    rewritten into ``model``'s own layouts, as NumPy arrays (keys unchanged)."""
    check_layout(layout, "state_dict_to_model_layout")
    lay = weight_layouts(model)
    out = {}
    for k, v in state_dict.items():
        a = to_numpy(v)
        if k in lay:
            kind, own = lay[k]
            a = convert_weight(a, kind, layout, own)
        out[k] = a
    return out


def state_dict_in_layout(model: Any, layout: str = "torch") -> dict[str, np.ndarray]:
    """``model.state_dict()`` as NumPy copies with every layout-dependent weight in
    ``layout`` ("torch": Linear (out, in), conv channels-first; "jax": (in, out), channels-last)."""
    check_layout(layout, "export_state_dict")
    lay = weight_layouts(model)
    sd = {k: np.array(np.asarray(v), copy=True) for k, v in model.state_dict().items()}
    for k, (kind, own) in lay.items():
        if k in sd:
            sd[k] = convert_weight(sd[k], kind, own, layout)
    return sd


def load_pytorch_state_dict(model: Any, state_dict: dict[str, Any], strict: bool = True) -> Any:
    """Loads a PyTorch state dict (torch tensors or NumPy arrays, PyTorch layouts) into
    ``model``, transposing Linear weights of layout="jax" layers and permuting
    channels-last convolution weights. Returns ``model.load_state_dict``'s result."""
    return model.load_state_dict(state_dict_to_model_layout(model, state_dict, "torch"), strict=strict)
