"""Embedding tables (row lookup; the backward pass scatter-adds into the rows used)."""

from __future__ import annotations

from typing import Any, Optional

from .._device import check_device
from .._tensor import as_dtype, float32, full
from ..autograd import no_grad
from ..ops import Tensor
from . import functional as F
from . import init
from .module import Module, Parameter


class Embedding(Module):
    """``num_embeddings`` vectors of size ``embedding_dim``, initialised N(0, 1) as PyTorch;
    the ``padding_idx`` row starts at zero and receives no gradient. ``max_norm``,
    ``norm_type``, ``scale_grad_by_freq`` and ``sparse`` as F.embedding (``max_norm``
    renormalises the looked-up rows of the weight in place; ``sparse=True`` gives the dense
    gradient, fastgrad having no sparse tensors)."""

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        padding_idx: Optional[int] = None,
        max_norm: Optional[float] = None,
        norm_type: float = 2.0,
        scale_grad_by_freq: bool = False,
        sparse: bool = False,
        _weight: Optional[Tensor] = None,
        _freeze: bool = False,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        check_device(device, "nn.Embedding")
        self.num_embeddings = int(num_embeddings)
        self.embedding_dim = int(embedding_dim)
        if padding_idx is not None and not -num_embeddings <= padding_idx < num_embeddings:
            raise ValueError(
                f"Embedding: padding_idx {padding_idx} out of range for {num_embeddings} embeddings"
            )
        self.padding_idx = None if padding_idx is None else padding_idx % num_embeddings
        if _weight is not None:
            if tuple(_weight.shape) != (num_embeddings, embedding_dim):
                raise ValueError(
                    f"nn.Embedding: _weight has shape {tuple(_weight.shape)}, expected "
                    f"({num_embeddings}, {embedding_dim})"
                )
            self.weight = Parameter(_weight, requires_grad=not _freeze)
        else:
            self.weight = Parameter(full([num_embeddings, embedding_dim], 0.0, as_dtype(dtype) or float32))
            self.reset_parameters()
        self.max_norm = max_norm
        self.norm_type = norm_type
        self.scale_grad_by_freq = bool(scale_grad_by_freq)
        self.sparse = bool(sparse)

    @classmethod
    def from_pretrained(
        cls, embeddings: Tensor, freeze: bool = True, padding_idx: Optional[int] = None, **kwargs: Any
    ) -> Embedding:
        """An Embedding whose weight is ``embeddings`` (num_embeddings, embedding_dim),
        frozen (``requires_grad=False``) unless ``freeze=False``, as PyTorch."""
        if embeddings.ndim != 2:
            raise ValueError(
                f"Embedding.from_pretrained: embeddings must be 2-D, got shape {tuple(embeddings.shape)}"
            )
        n, d = embeddings.shape
        return cls(n, d, padding_idx, _weight=embeddings, _freeze=freeze, **kwargs)

    def reset_parameters(self) -> None:
        """W ~ N(0, 1), with the ``padding_idx`` row zeroed (as PyTorch)."""
        init.normal_(self.weight)
        if self.padding_idx is not None:
            import numpy as np

            with no_grad():
                np.asarray(self.weight)[self.padding_idx] = 0
                self.weight._bump_version()

    def forward(self, idx: Any) -> Tensor:
        """idx: int64 indices of any shape (...) -> (..., embedding_dim)."""
        return F.embedding(
            idx,
            self.weight,
            self.padding_idx,
            self.max_norm,
            self.norm_type,
            self.scale_grad_by_freq,
            self.sparse,
        )

    def extra_repr(self) -> str:
        """``num_embeddings, embedding_dim`` (and the options that differ from the defaults)."""
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        s += f", padding_idx={self.padding_idx}" if self.padding_idx is not None else ""
        s += f", max_norm={self.max_norm}" if self.max_norm is not None else ""
        s += f", norm_type={self.norm_type}" if self.norm_type != 2 else ""
        s += ", scale_grad_by_freq=True" if self.scale_grad_by_freq else ""
        return s + (", sparse=True" if self.sparse else "")
