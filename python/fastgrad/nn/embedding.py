"""Embedding tables (row lookup; the backward pass scatter-adds into the rows used)."""

from __future__ import annotations

from typing import Any, Optional

from .._tensor import as_dtype, float32, full
from ..autograd import no_grad
from ..ops import Tensor
from . import functional as F
from . import init
from .module import Module, Parameter


class Embedding(Module):
    """``num_embeddings`` vectors of size ``embedding_dim``, initialised N(0, 1) as PyTorch;
    the ``padding_idx`` row starts at zero and receives no gradient."""

    def __init__(
        self, num_embeddings: int, embedding_dim: int, padding_idx: Optional[int] = None, dtype: Any = float32
    ) -> None:
        super().__init__()
        self.num_embeddings = int(num_embeddings)
        self.embedding_dim = int(embedding_dim)
        if padding_idx is not None and not -num_embeddings <= padding_idx < num_embeddings:
            raise ValueError(
                f"Embedding: padding_idx {padding_idx} out of range for {num_embeddings} embeddings"
            )
        self.padding_idx = None if padding_idx is None else padding_idx % num_embeddings
        self.weight = Parameter(full([num_embeddings, embedding_dim], 0.0, as_dtype(dtype) or float32))
        self.reset_parameters()

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
        return F.embedding(idx, self.weight, self.padding_idx)

    def extra_repr(self) -> str:
        """``num_embeddings, embedding_dim`` (and padding_idx if set)."""
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        return s + (f", padding_idx={self.padding_idx}" if self.padding_idx is not None else "")
