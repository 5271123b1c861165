"""Multi-head attention with PyTorch's parameter names and semantics
(``in_proj_weight`` (3E, E), ``in_proj_bias`` (3E,), ``out_proj`` Linear(E, E))."""

from __future__ import annotations

import math
from typing import Any, Optional

import numpy as np

from .. import ops
from .._tensor import as_dtype, float32, full, tensor
from ..ops import Tensor
from . import functional as F
from . import init
from .linear import Linear
from .module import Module, Parameter


class MultiheadAttention(Module):
    """``attn(query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
    average_attn_weights=True, is_causal=False) -> (output, weights)``.

    Inputs are (L, N, E) (or (N, L, E) with ``batch_first=True``, or unbatched (L, E)).
    Masks follow ``torch.nn.MultiheadAttention``: in a bool ``key_padding_mask`` (N, S)
    or ``attn_mask`` (L, S) / (N·H, L, S), True marks positions that may NOT be
    attended; float masks are added to the scores.
    """

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        dropout: float = 0.0,
        bias: bool = True,
        batch_first: bool = False,
        kdim: Optional[int] = None,
        vdim: Optional[int] = None,
        dtype: Any = float32,
    ) -> None:
        super().__init__()
        if int(num_heads) < 1 or int(embed_dim) < 1:
            raise ValueError(
                f"MultiheadAttention: embed_dim={embed_dim} and num_heads={num_heads} must be >= 1"
            )
        if embed_dim % num_heads:
            raise ValueError(
                f"MultiheadAttention: embed_dim={embed_dim} must be divisible by num_heads={num_heads}"
            )
        if (kdim not in (None, embed_dim)) or (vdim not in (None, embed_dim)):
            raise NotImplementedError(
                "MultiheadAttention: kdim/vdim different from embed_dim are not supported"
            )
        self.embed_dim = int(embed_dim)
        self.num_heads = int(num_heads)
        self.head_dim = embed_dim // num_heads
        self.dropout = float(dropout)
        self.batch_first = batch_first
        dt = as_dtype(dtype) or float32  # dtype=None: the default dtype, as PyTorch
        self.in_proj_weight = Parameter(full([3 * embed_dim, embed_dim], 0.0, dt))
        self.in_proj_bias = Parameter(full([3 * embed_dim], 0.0, dt)) if bias else None
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, dtype=dt)
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        init.xavier_uniform_(self.in_proj_weight)
        if self.in_proj_bias is not None and self.out_proj.bias is not None:
            init.zeros_(self.in_proj_bias)
            init.zeros_(self.out_proj.bias)

    def _project(self, query: Tensor, key: Tensor, value: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        E = self.embed_dim
        W, b = self.in_proj_weight, self.in_proj_bias
        if query is key and key is value:
            qkv = F.linear(query, W, b)
            return tuple(ops.split(qkv, [E, E, E], qkv.ndim - 1))  # type: ignore[return-value]
        Ws = ops.split(W, [E, E, E], 0)
        bs = ops.split(b, [E, E, E], 0) if b is not None else [None, None, None]
        return F.linear(query, Ws[0], bs[0]), F.linear(key, Ws[1], bs[1]), F.linear(value, Ws[2], bs[2])

    def forward(
        self,
        query: Tensor,
        key: Tensor,
        value: Tensor,
        key_padding_mask: Any = None,
        need_weights: bool = True,
        attn_mask: Any = None,
        average_attn_weights: bool = True,
        is_causal: bool = False,
    ) -> tuple[Tensor, Optional[Tensor]]:
        """query: (L, N, E) ((N, L, E) with batch_first, (L, E) unbatched), key: (S, N, kdim),
        value: (S, N, vdim) -> (output (L, N, E), weights (N, L, S) averaged over heads, or
        (N, H, L, S) with ``average_attn_weights=False``; None unless ``need_weights``)."""
        E, H, hd = self.embed_dim, self.num_heads, self.head_dim
        unbatched = query.ndim == 2
        if unbatched:
            query, key, value = (
                (ops.unsqueeze(t, 1) for t in (query, key, value))
                if not (query is key is value)
                else (ops.unsqueeze(query, 1),) * 3
            )
        elif self.batch_first:
            if query is key and key is value:
                query = key = value = ops.transpose(query, 0, 1)
            else:
                query, key, value = (ops.transpose(t, 0, 1) for t in (query, key, value))
        # now (L, N, E)
        for nm, t in (("query", query), ("key", key), ("value", value)):
            if t.ndim != 3 or t.shape[-1] != E:
                raise ValueError(
                    f"MultiheadAttention(embed_dim={E}): {nm} must be (L, N, {E}) "
                    f"(or batch-first/unbatched), got shape {t.shape}"
                )
        L, N = query.shape[0], query.shape[1]
        S = key.shape[0]
        q, k, v = self._project(query, key, value)

        def heads(t: Tensor, n: int) -> Tensor:  # (n, N, E) -> (N, H, n, hd)
            return ops.permute(ops.reshape(t, [n, N, H, hd]), [1, 2, 0, 3])

        q, k, v = heads(q, L), heads(k, S), heads(v, S)
        scores = ops.matmul(q, ops.transpose(k, -2, -1)) * (1.0 / math.sqrt(hd))
        # Masks are added as tensors (F._additive_mask): a float mask that is a Tensor
        # stays on the tape, as in PyTorch.
        if attn_mask is not None:
            m = F._additive_mask(attn_mask, scores, True)
            if m.ndim == 3:
                m = ops.reshape(m, [N, H, L, S])
            scores = scores + m
        if is_causal and attn_mask is None:
            scores = scores + tensor(np.triu(np.full((L, S), -np.inf), 1), scores.dtype)
        if key_padding_mask is not None:
            if tuple(np.shape(key_padding_mask)) != (N, S):
                raise ValueError(
                    f"MultiheadAttention: key_padding_mask must have shape ({N}, {S}), "
                    f"got {tuple(np.shape(key_padding_mask))}"
                )
            kp = F._additive_mask(key_padding_mask, scores, True)
            scores = scores + ops.reshape(kp, [N, 1, 1, S])
        w = ops.softmax(scores, -1)
        wd = F.dropout(w, self.dropout, self.training) if self.dropout > 0 else w
        o = ops.matmul(wd, v)  # (N, H, L, hd)
        o = ops.reshape(ops.permute(o, [2, 0, 1, 3]), [L, N, E])  # (L, N, E)
        o = self.out_proj(o)
        if unbatched:
            o = ops.squeeze(o, 1)
        elif self.batch_first:
            o = ops.transpose(o, 0, 1)
        if not need_weights:
            return o, None
        if average_attn_weights:
            w = ops.mean(w, [1], False)
        if unbatched:
            w = ops.squeeze(w, 0)
        return o, w

    def extra_repr(self) -> str:
        """``embed_dim, num_heads`` and the non-default options."""
        return f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, batch_first={self.batch_first}"
