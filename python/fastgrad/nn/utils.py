"""``fg.nn.utils``: gradient clipping and flattening parameters to one vector, with
``torch.nn.utils``' names and semantics. The clipping functions are the ones in
``fg.optim`` (one implementation, two import paths, as PyTorch)."""

from __future__ import annotations

from collections.abc import Iterable

from .. import ops
from ..autograd import no_grad
from ..ops import Tensor
from ..optim.clip import clip_grad_norm_, clip_grad_value_

__all__ = ["clip_grad_norm_", "clip_grad_value_", "parameters_to_vector", "vector_to_parameters"]


def _param_list(parameters: Tensor | Iterable[Tensor], op: str) -> list[Tensor]:
    ps = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    for p in ps:
        if not isinstance(p, Tensor):
            raise TypeError(f"{op}: expected fastgrad Tensors, but got: {type(p).__name__}")
    return ps


def parameters_to_vector(parameters: Tensor | Iterable[Tensor]) -> Tensor:
    """The parameters flattened and joined: shapes s_i -> one vector (Σ numel(s_i),).

    Differentiable (a concatenation of reshapes), as ``torch.nn.utils.parameters_to_vector``;
    all parameters must share a dtype.
    """
    ps = _param_list(parameters, "parameters_to_vector")
    if not ps:
        raise ValueError("parameters_to_vector: expected at least one parameter")
    return ops.cat([p.reshape([-1]) for p in ps], 0)


def vector_to_parameters(vec: Tensor, parameters: Tensor | Iterable[Tensor]) -> None:
    """Copies consecutive slices of ``vec`` (N,) into the parameters (shapes s_i, with
    Σ numel(s_i) = N), in place and without recording a graph."""
    if not isinstance(vec, Tensor):
        raise TypeError(
            f"vector_to_parameters: expected vec to be a fastgrad Tensor, but got: {type(vec).__name__}"
        )
    ps = _param_list(parameters, "vector_to_parameters")
    total = sum(p.numel() for p in ps)
    if vec.ndim != 1 or vec.shape[0] != total:
        raise ValueError(
            f"vector_to_parameters: vec of shape {tuple(vec.shape)} does not match the {total} "
            f"entries of the parameters"
        )
    at = 0
    with no_grad():
        for p in ps:
            n = p.numel()
            p.copy_(vec[at : at + n].reshape(list(p.shape)))
            at += n
