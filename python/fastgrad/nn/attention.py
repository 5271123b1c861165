"""Multi-head attention with PyTorch's parameter names and semantics
(``in_proj_weight`` (3E, E), ``in_proj_bias`` (3E,), ``out_proj`` Linear(E, E))."""

from __future__ import annotations

import math
from typing import Any, Optional

import numpy as np

from .. import ops
from .._device import check_device
from .._tensor import as_dtype, float32, full, tensor
from ..ops import Tensor
from . import functional as F
from . import init
from .linear import Linear
from .module import Module, Parameter


class MultiheadAttention(Module):
    """``attn(query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
    average_attn_weights=True, is_causal=False) -> (output, weights)``.

    Inputs are (L, N, E) (or (N, L, E) with ``batch_first=True``, or unbatched (L, E));
    key/value have ``kdim``/``vdim`` features (then separate ``q_proj_weight`` (E, E),
    ``k_proj_weight`` (E, kdim), ``v_proj_weight`` (E, vdim) replace ``in_proj_weight``, as
    PyTorch). ``add_bias_kv`` appends learned ``bias_k``/``bias_v`` (1, 1, E) to the keys and
    values, ``add_zero_attn`` a zero key/value per head. Masks follow
    ``torch.nn.MultiheadAttention``: in a bool ``key_padding_mask`` (N, S) or ``attn_mask``
    (L, S) / (N·H, L, S), True marks positions that may NOT be attended; float masks are
    added to the scores. ``is_causal=True`` without ``attn_mask`` applies the causal mask.
    """

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        dropout: float = 0.0,
        bias: bool = True,
        add_bias_kv: bool = False,
        add_zero_attn: bool = False,
        kdim: Optional[int] = None,
        vdim: Optional[int] = None,
        batch_first: bool = False,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        check_device(device, "nn.MultiheadAttention")
        if int(num_heads) < 1 or int(embed_dim) < 1:
            raise ValueError(
                f"MultiheadAttention: embed_dim={embed_dim} and num_heads={num_heads} must be >= 1"
            )
        if embed_dim % num_heads:
            raise ValueError(
                f"MultiheadAttention: embed_dim={embed_dim} must be divisible by num_heads={num_heads}"
            )
        if not 0.0 <= float(dropout) <= 1.0:
            raise ValueError(f"MultiheadAttention: dropout must be in [0, 1], got {dropout}")
        E = int(embed_dim)
        self.embed_dim = E
        self.kdim = E if kdim is None else int(kdim)
        self.vdim = E if vdim is None else int(vdim)
        self._qkv_same_embed_dim = self.kdim == E and self.vdim == E
        self.num_heads = int(num_heads)
        self.head_dim = E // self.num_heads
        self.dropout = float(dropout)
        self.batch_first = batch_first
        self.add_zero_attn = bool(add_zero_attn)
        dt = as_dtype(dtype) or float32  # dtype=None: the default dtype, as PyTorch
        self.in_proj_weight: Optional[Parameter] = None
        self.q_proj_weight: Optional[Parameter] = None
        self.k_proj_weight: Optional[Parameter] = None
        self.v_proj_weight: Optional[Parameter] = None
        if self._qkv_same_embed_dim:
            self.in_proj_weight = Parameter(full([3 * E, E], 0.0, dt))
        else:
            self.q_proj_weight = Parameter(full([E, E], 0.0, dt))
            self.k_proj_weight = Parameter(full([E, self.kdim], 0.0, dt))
            self.v_proj_weight = Parameter(full([E, self.vdim], 0.0, dt))
        self.in_proj_bias = Parameter(full([3 * E], 0.0, dt)) if bias else None
        self.out_proj = Linear(E, E, bias=bias, dtype=dt)
        self.bias_k: Optional[Parameter] = None
        self.bias_v: Optional[Parameter] = None
        if add_bias_kv:
            self.bias_k = Parameter(full([1, 1, E], 0.0, dt))
            self.bias_v = Parameter(full([1, 1, E], 0.0, dt))
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        # PyTorch's initialisation: Xavier-uniform projections, zero biases, Xavier-normal bias_k/v
        for w in (self.in_proj_weight, self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
            if w is not None:
                init.xavier_uniform_(w)
        if self.in_proj_bias is not None and self.out_proj.bias is not None:
            init.zeros_(self.in_proj_bias)
            init.zeros_(self.out_proj.bias)
        for b in (self.bias_k, self.bias_v):
            if b is not None:
                init.xavier_normal_(b)

    def _project(self, query: Tensor, key: Tensor, value: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        E = self.embed_dim
        b = self.in_proj_bias
        bs = ops.split(b, [E, E, E], 0) if b is not None else [None, None, None]
        if self.in_proj_weight is None:
            assert self.q_proj_weight is not None and self.k_proj_weight is not None
            assert self.v_proj_weight is not None
            return (
                F.linear(query, self.q_proj_weight, bs[0]),
                F.linear(key, self.k_proj_weight, bs[1]),
                F.linear(value, self.v_proj_weight, bs[2]),
            )
        W = self.in_proj_weight
        if query is key and key is value:
            qkv = F.linear(query, W, b)
            return tuple(ops.split(qkv, [E, E, E], qkv.ndim - 1))  # type: ignore[return-value]
        Ws = ops.split(W, [E, E, E], 0)
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
            if key_padding_mask is not None:
                key_padding_mask = (
                    ops.unsqueeze(key_padding_mask, 0)
                    if isinstance(key_padding_mask, Tensor)
                    else np.asarray(key_padding_mask)[None]
                )
        elif self.batch_first:
            if query is key and key is value:
                query = key = value = ops.transpose(query, 0, 1)
            else:
                query, key, value = (ops.transpose(t, 0, 1) for t in (query, key, value))
        # now (L, N, E)
        for nm, t, d in (("query", query, E), ("key", key, self.kdim), ("value", value, self.vdim)):
            if t.ndim != 3 or t.shape[-1] != d:
                raise ValueError(
                    f"MultiheadAttention(embed_dim={E}): {nm} must be (L, N, {d}) "
                    f"(or batch-first/unbatched), got shape {t.shape}"
                )
        L, N = query.shape[0], query.shape[1]
        S = key.shape[0]
        if key.shape[:2] != value.shape[:2] or key.shape[1] != N:
            raise ValueError(
                f"MultiheadAttention: key {key.shape} and value {value.shape} must share (S, N) "
                f"with N = {N} of the query"
            )
        q, k, v = self._project(query, key, value)
        if self.bias_k is not None and self.bias_v is not None:
            k = ops.concat([k, ops.broadcast_to(self.bias_k, [1, N, E])], 0)
            v = ops.concat([v, ops.broadcast_to(self.bias_v, [1, N, E])], 0)

        def heads(t: Tensor, n: int) -> Tensor:  # (n, N, E) -> (N, H, n, hd)
            return ops.permute(ops.reshape(t, [n, N, H, hd]), [1, 2, 0, 3])

        Sk = k.shape[0]
        q, k, v = heads(q, L), heads(k, Sk), heads(v, Sk)
        if self.add_zero_attn:
            z = full([N, H, 1, hd], 0.0, k.dtype)
            k, v = ops.concat([k, z], 2), ops.concat([v, z], 2)
        extra = k.shape[2] - S  # keys appended by bias_k / add_zero_attn: never masked
        scores = ops.matmul(q, ops.transpose(k, -2, -1)) * (1.0 / math.sqrt(hd))
        # Masks are added as tensors (F._additive_mask): a float mask that is a Tensor
        # stays on the tape, as in PyTorch.
        if attn_mask is not None:
            m = F._additive_mask(attn_mask, scores, True)
            if m.ndim not in (2, 3) or tuple(m.shape[-2:]) != (L, S) or (m.ndim == 3 and m.shape[0] != N * H):
                raise ValueError(
                    f"MultiheadAttention: attn_mask must have shape ({L}, {S}) or "
                    f"({N * H}, {L}, {S}), got {m.shape}"
                )
            if m.ndim == 3:
                m = ops.reshape(m, [N, H, L, S])
            scores = scores + _pad_keys(m, extra)
        elif is_causal:
            scores = scores + _pad_keys(tensor(np.triu(np.full((L, S), -np.inf), 1), scores.dtype), extra)
        if key_padding_mask is not None:
            if tuple(np.shape(key_padding_mask)) != (N, S):
                raise ValueError(
                    f"MultiheadAttention: key_padding_mask must have shape ({N}, {S}), "
                    f"got {tuple(np.shape(key_padding_mask))}"
                )
            kp = F._additive_mask(key_padding_mask, scores, True)
            scores = scores + _pad_keys(ops.reshape(kp, [N, 1, 1, S]), extra)
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


def _pad_keys(m: Tensor, extra: int) -> Tensor:
    """An additive mask (..., S) with ``extra`` zero columns (the appended bias/zero keys)."""
    if not extra:
        return m
    return ops.concat([m, full(list(m.shape[:-1]) + [extra], 0.0, m.dtype)], m.ndim - 1)
