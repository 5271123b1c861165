"""The transformer of "Attention Is All You Need" (Vaswani et al., 2017) as ``torch.nn``
builds it: TransformerEncoderLayer, TransformerEncoder, TransformerDecoderLayer,
TransformerDecoder and Transformer, with PyTorch's constructor arguments, forward
signatures, mask conventions (bool True = may not attend, float masks are added to the
scores) and parameter names (``self_attn.in_proj_weight``, ``linear1``, ``norm1``,
``multihead_attn``, ``layers.0...``), so a torch state dict loads.

Post-norm (``norm_first=False``, the paper's): x = norm(x + sublayer(x)); pre-norm
(``norm_first=True``, Xiong et al., 2020): x = x + sublayer(norm(x)).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, Optional, Union

import numpy as np

from .._device import check_device
from .._tensor import as_dtype, float32, tensor
from ..ops import Tensor
from . import functional as F
from .attention import MultiheadAttention
from .dropout import Dropout
from .linear import Linear
from .module import Module, ModuleList
from .norm import LayerNorm

_Activation = Union[str, Callable[[Tensor], Tensor]]


def _activation(activation: _Activation, where: str) -> Callable[[Tensor], Tensor]:
    if isinstance(activation, str):
        if activation == "relu":
            return F.relu
        if activation == "gelu":
            return F.gelu
        raise ValueError(
            f"{where}: activation should be 'relu' or 'gelu' (or a callable), got {activation!r}"
        )
    if not callable(activation):
        raise TypeError(f"{where}: activation must be 'relu', 'gelu' or a callable, got {activation!r}")
    return activation


class _Layer(Module):
    """What the encoder and decoder layers share: their constructor, kept for cloning."""

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int,
        dropout: float,
        activation: _Activation,
        layer_norm_eps: float,
        batch_first: bool,
        norm_first: bool,
        bias: bool,
        device: Any,
        dtype: Any,
        cross: bool,
    ) -> None:
        super().__init__()
        name = f"nn.{type(self).__name__}"
        check_device(device, name)
        self._ctor = (
            d_model,
            nhead,
            dim_feedforward,
            dropout,
            activation,
            layer_norm_eps,
            batch_first,
            norm_first,
            bias,
            None,
            dtype,
        )
        dt = as_dtype(dtype) or float32  # dtype=None: the default dtype, as PyTorch
        self.self_attn = MultiheadAttention(d_model, nhead, dropout, bias, batch_first=batch_first, dtype=dt)
        if cross:
            self.multihead_attn = MultiheadAttention(
                d_model, nhead, dropout, bias, batch_first=batch_first, dtype=dt
            )
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, dtype=dt)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, dtype=dt)
        self.norm_first = bool(norm_first)
        self.batch_first = bool(batch_first)
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dt)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dt)
        if cross:
            self.norm3 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dt)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        if cross:
            self.dropout3 = Dropout(dropout)
        self.activation = _activation(activation, name)

    def _sa_block(self, x: Tensor, attn_mask: Any, key_padding_mask: Any, is_causal: bool) -> Tensor:
        y = self.self_attn(
            x,
            x,
            x,
            attn_mask=attn_mask,
            key_padding_mask=key_padding_mask,
            need_weights=False,
            is_causal=is_causal,
        )[0]
        return self.dropout1(y)

    def _ff_block(self, x: Tensor, drop: Dropout) -> Tensor:
        return drop(self.linear2(self.dropout(self.activation(self.linear1(x)))))

    def _clone(self) -> _Layer:
        """A fresh layer with this one's constructor arguments and a copy of its weights
        (PyTorch deep-copies the layer it is given into every slot)."""
        try:
            return copy.deepcopy(self)
        except TypeError:  # a Module holding Parameters does not pickle: rebuild and load
            cls: Any = type(self)  # a subclass with the public constructor's arguments
            new = cls(*self._ctor)
            new.load_state_dict(self.state_dict())
            new.train(self.training)
            return new


class TransformerEncoderLayer(_Layer):
    """Self-attention then a feed-forward block (``linear2(dropout(act(linear1(x))))``),
    each with a residual connection, dropout and LayerNorm. ``src``: (S, N, E)
    ((N, S, E) with ``batch_first``, (S, E) unbatched) -> the same shape."""

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: _Activation = "relu",
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(
            d_model,
            nhead,
            dim_feedforward,
            dropout,
            activation,
            layer_norm_eps,
            batch_first,
            norm_first,
            bias,
            device,
            dtype,
            cross=False,
        )

    def forward(
        self,
        src: Tensor,
        src_mask: Any = None,
        src_key_padding_mask: Any = None,
        is_causal: bool = False,
    ) -> Tensor:
        """src: (S, N, E) (batch_first: (N, S, E)); src_mask: (S, S) or (N·nhead, S, S);
        src_key_padding_mask: (N, S) -> (S, N, E)."""
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            x = x + self._ff_block(self.norm2(x), self.dropout2)
        else:
            x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
            x = self.norm2(x + self._ff_block(x, self.dropout2))
        return x


class TransformerDecoderLayer(_Layer):
    """Self-attention over ``tgt``, attention to ``memory`` (``multihead_attn``) and a
    feed-forward block, each with a residual connection, dropout and LayerNorm
    (``norm1``..``norm3``). ``tgt``: (T, N, E), ``memory``: (S, N, E) -> (T, N, E)."""

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: _Activation = "relu",
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(
            d_model,
            nhead,
            dim_feedforward,
            dropout,
            activation,
            layer_norm_eps,
            batch_first,
            norm_first,
            bias,
            device,
            dtype,
            cross=True,
        )

    def _mha_block(
        self, x: Tensor, mem: Tensor, attn_mask: Any, key_padding_mask: Any, is_causal: bool
    ) -> Tensor:
        y = self.multihead_attn(
            x,
            mem,
            mem,
            attn_mask=attn_mask,
            key_padding_mask=key_padding_mask,
            need_weights=False,
            is_causal=is_causal,
        )[0]
        return self.dropout2(y)

    def forward(
        self,
        tgt: Tensor,
        memory: Tensor,
        tgt_mask: Any = None,
        memory_mask: Any = None,
        tgt_key_padding_mask: Any = None,
        memory_key_padding_mask: Any = None,
        tgt_is_causal: bool = False,
        memory_is_causal: bool = False,
    ) -> Tensor:
        """tgt: (T, N, E), memory: (S, N, E) (batch_first: N first); tgt_mask: (T, T),
        memory_mask: (T, S), key padding masks (N, T) / (N, S) -> (T, N, E)."""
        x = tgt
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), tgt_mask, tgt_key_padding_mask, tgt_is_causal)
            x = x + self._mha_block(
                self.norm2(x), memory, memory_mask, memory_key_padding_mask, memory_is_causal
            )
            x = x + self._ff_block(self.norm3(x), self.dropout3)
        else:
            x = self.norm1(x + self._sa_block(x, tgt_mask, tgt_key_padding_mask, tgt_is_causal))
            x = self.norm2(
                x + self._mha_block(x, memory, memory_mask, memory_key_padding_mask, memory_is_causal)
            )
            x = self.norm3(x + self._ff_block(x, self.dropout3))
        return x


def _clones(layer: Module, n: int, where: str) -> ModuleList:
    if not isinstance(layer, Module):
        raise TypeError(f"{where}: the layer to stack must be a Module, got {type(layer).__name__}")
    if int(n) < 0:
        raise ValueError(f"{where}: num_layers must be >= 0, got {n}")
    if isinstance(layer, _Layer):
        return ModuleList([layer._clone() for _ in range(int(n))])
    return ModuleList([copy.deepcopy(layer) for _ in range(int(n))])


def _causal_hint(mask: Any, is_causal: Optional[bool], n: int) -> bool:
    """PyTorch's ``_detect_is_causal_mask``: None means "is ``mask`` the causal mask?"."""
    if is_causal is not None or mask is None:
        return bool(is_causal)
    m = np.asarray(mask.detach() if isinstance(mask, Tensor) else mask)
    if m.shape != (n, n):
        return False
    causal = np.triu(np.ones((n, n), dtype=bool), 1)
    if m.dtype == np.bool_:
        return bool((m == causal).all())
    return bool((np.where(causal, -np.inf, 0.0) == m).all())


class TransformerEncoder(Module):
    """``num_layers`` copies of ``encoder_layer`` (``layers.0``, ``layers.1``, ...) and an
    optional final ``norm``. ``enable_nested_tensor`` and ``mask_check`` are accepted and
    ignored (fastgrad has no nested tensors). src: (S, N, E) -> (S, N, E)."""

    def __init__(
        self,
        encoder_layer: Module,
        num_layers: int,
        norm: Optional[Module] = None,
        enable_nested_tensor: bool = True,
        mask_check: bool = True,
    ) -> None:
        super().__init__()
        self.layers = _clones(encoder_layer, num_layers, "nn.TransformerEncoder")
        self.num_layers = int(num_layers)
        self.norm = norm

    def forward(
        self,
        src: Tensor,
        mask: Any = None,
        src_key_padding_mask: Any = None,
        is_causal: Optional[bool] = None,
    ) -> Tensor:
        """src: (S, N, E) (batch_first: (N, S, E)); mask: (S, S) or (N·nhead, S, S);
        src_key_padding_mask: (N, S) -> the same shape as src."""
        seq_axis = 1 if getattr(self.layers[0], "batch_first", False) and src.ndim == 3 else 0
        causal = _causal_hint(mask, is_causal, src.shape[seq_axis]) if len(self.layers) else False
        x = src
        for mod in self.layers:
            x = mod(x, src_mask=mask, is_causal=causal, src_key_padding_mask=src_key_padding_mask)
        return self.norm(x) if self.norm is not None else x


class TransformerDecoder(Module):
    """``num_layers`` copies of ``decoder_layer`` (``layers.0``, ...) and an optional final
    ``norm``. tgt: (T, N, E), memory: (S, N, E) -> (T, N, E)."""

    def __init__(self, decoder_layer: Module, num_layers: int, norm: Optional[Module] = None) -> None:
        super().__init__()
        self.layers = _clones(decoder_layer, num_layers, "nn.TransformerDecoder")
        self.num_layers = int(num_layers)
        self.norm = norm

    def forward(
        self,
        tgt: Tensor,
        memory: Tensor,
        tgt_mask: Any = None,
        memory_mask: Any = None,
        tgt_key_padding_mask: Any = None,
        memory_key_padding_mask: Any = None,
        tgt_is_causal: Optional[bool] = None,
        memory_is_causal: bool = False,
    ) -> Tensor:
        """tgt: (T, N, E), memory: (S, N, E) (batch_first: N first); masks as in
        TransformerDecoderLayer -> (T, N, E)."""
        seq_axis = 1 if getattr(self.layers[0], "batch_first", False) and tgt.ndim == 3 else 0
        causal = _causal_hint(tgt_mask, tgt_is_causal, tgt.shape[seq_axis]) if len(self.layers) else False
        x = tgt
        for mod in self.layers:
            x = mod(
                x,
                memory,
                tgt_mask=tgt_mask,
                memory_mask=memory_mask,
                tgt_key_padding_mask=tgt_key_padding_mask,
                memory_key_padding_mask=memory_key_padding_mask,
                tgt_is_causal=causal,
                memory_is_causal=memory_is_causal,
            )
        return self.norm(x) if self.norm is not None else x


class Transformer(Module):
    """Encoder-decoder transformer as ``torch.nn.Transformer``: ``encoder`` (a
    TransformerEncoder with a final LayerNorm) and ``decoder`` (likewise); every weight
    matrix Xavier-uniform initialised, as PyTorch. src: (S, N, E), tgt: (T, N, E)
    ((N, ·, E) with ``batch_first``) -> (T, N, E)."""

    def __init__(
        self,
        d_model: int = 512,
        nhead: int = 8,
        num_encoder_layers: int = 6,
        num_decoder_layers: int = 6,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: _Activation = "relu",
        custom_encoder: Optional[Module] = None,
        custom_decoder: Optional[Module] = None,
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        check_device(device, "nn.Transformer")
        dt = as_dtype(dtype) or float32
        args = (dim_feedforward, dropout, activation, layer_norm_eps, batch_first, norm_first, bias)
        if custom_encoder is not None:
            self.encoder = custom_encoder
        else:
            enc = TransformerEncoderLayer(d_model, nhead, *args, dtype=dt)
            norm = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dt)
            self.encoder = TransformerEncoder(enc, num_encoder_layers, norm)
        if custom_decoder is not None:
            self.decoder = custom_decoder
        else:
            dec = TransformerDecoderLayer(d_model, nhead, *args, dtype=dt)
            norm = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dt)
            self.decoder = TransformerDecoder(dec, num_decoder_layers, norm)
        self.d_model = int(d_model)
        self.nhead = int(nhead)
        self.batch_first = bool(batch_first)
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        from . import init

        for p in self.parameters():
            if p.ndim > 1:
                init.xavier_uniform_(p)

    def forward(
        self,
        src: Tensor,
        tgt: Tensor,
        src_mask: Any = None,
        tgt_mask: Any = None,
        memory_mask: Any = None,
        src_key_padding_mask: Any = None,
        tgt_key_padding_mask: Any = None,
        memory_key_padding_mask: Any = None,
        src_is_causal: Optional[bool] = None,
        tgt_is_causal: Optional[bool] = None,
        memory_is_causal: bool = False,
    ) -> Tensor:
        """src: (S, N, E), tgt: (T, N, E) ((N, ·, E) with batch_first; unbatched (·, E));
        src_mask (S, S), tgt_mask (T, T), memory_mask (T, S), key padding masks (N, S) /
        (N, T) / (N, S) -> (T, N, E)."""
        batched = src.ndim == 3
        bax = 0 if self.batch_first else 1
        if batched and src.shape[bax] != tgt.shape[bax]:
            raise RuntimeError(
                f"nn.Transformer: the batch number of src {src.shape} and tgt {tgt.shape} must be equal"
            )
        if not batched and tgt.ndim == 3:
            raise RuntimeError(f"nn.Transformer: src {src.shape} is unbatched but tgt {tgt.shape} is batched")
        if src.shape[-1] != self.d_model or tgt.shape[-1] != self.d_model:
            raise RuntimeError(
                f"nn.Transformer: the feature number of src {src.shape} and tgt {tgt.shape} must "
                f"be equal to d_model={self.d_model}"
            )
        memory = self.encoder(
            src, mask=src_mask, src_key_padding_mask=src_key_padding_mask, is_causal=src_is_causal
        )
        return self.decoder(
            tgt,
            memory,
            tgt_mask=tgt_mask,
            memory_mask=memory_mask,
            tgt_key_padding_mask=tgt_key_padding_mask,
            memory_key_padding_mask=memory_key_padding_mask,
            tgt_is_causal=tgt_is_causal,
            memory_is_causal=memory_is_causal,
        )

    @staticmethod
    def generate_square_subsequent_mask(sz: int, device: Any = None, dtype: Any = None) -> Tensor:
        """The (sz, sz) float causal mask: −inf above the diagonal (future positions), 0
        elsewhere, as ``torch.nn.Transformer.generate_square_subsequent_mask``."""
        check_device(device, "nn.Transformer.generate_square_subsequent_mask")
        dt = as_dtype(dtype) or float32
        return tensor(np.triu(np.full((int(sz), int(sz)), -np.inf), 1), dt)
