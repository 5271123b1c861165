"""LSTM and GRU with PyTorch's parameter names (weight_ih_l0, weight_hh_l0, bias_ih_l0,
bias_hh_l0, ..._reverse), gate orders (LSTM i, f, g, o; GRU r, z, n) and shapes.

The input projection for all time steps is one matmul; the recurrence then does one
(N, H) @ (H, G·H) matmul per step.
"""

from __future__ import annotations

import math
from typing import Any, Optional

from .. import ops
from .._tensor import as_dtype, float32, full
from ..ops import Tensor
from . import functional as F
from . import init
from .module import Module, Parameter


class _RNNBase(Module):
    gates = 0

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        dtype: Any = float32,
    ) -> None:
        super().__init__()
        self.input_size = int(input_size)
        self.hidden_size = int(hidden_size)
        self.num_layers = int(num_layers)
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        dt = as_dtype(dtype) or float32  # dtype=None: the default dtype, as PyTorch
        G, H = self.gates, hidden_size
        dirs = 2 if bidirectional else 1
        for layer in range(num_layers):
            n_in = input_size if layer == 0 else H * dirs
            for d in range(dirs):
                sfx = f"_l{layer}" + ("_reverse" if d else "")
                setattr(self, "weight_ih" + sfx, Parameter(full([G * H, n_in], 0.0, dt)))
                setattr(self, "weight_hh" + sfx, Parameter(full([G * H, H], 0.0, dt)))
                if bias:
                    setattr(self, "bias_ih" + sfx, Parameter(full([G * H], 0.0, dt)))
                    setattr(self, "bias_hh" + sfx, Parameter(full([G * H], 0.0, dt)))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Every weight and bias ~ U(±1/√hidden_size), as PyTorch."""
        bound = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0.0
        for p in self.parameters():
            init.uniform_(p, -bound, bound)

    def _weights(self, layer: int, d: int) -> tuple:
        sfx = f"_l{layer}" + ("_reverse" if d else "")
        g = self.__dict__
        return g["weight_ih" + sfx], g["weight_hh" + sfx], g.get("bias_ih" + sfx), g.get("bias_hh" + sfx)

    def _cell_seq(
        self,
        gi: list[Tensor],
        h: Tensor,
        c: Optional[Tensor],
        w_hh: Tensor,
        b_hh: Optional[Tensor],
        reverse: bool,
    ) -> tuple[list[Tensor], Tensor, Optional[Tensor]]:
        """Runs the cell over the T steps ``gi`` (each (N, G·H): the input projections),
        forwards or reversed, from h, c: (N, H); returns the T outputs and the last h, c."""
        whT = ops.transpose(w_hh, 0, 1)
        seq: list[Tensor] = list(gi)
        for t in range(len(gi) - 1, -1, -1) if reverse else range(len(gi)):
            gh = ops.matmul(h, whT)
            if b_hh is not None:
                gh = gh + b_hh
            h, c = self._cell(gi[t], gh, h, c)
            seq[t] = h
        return seq, h, c

    def _cell(
        self, gi: Tensor, gh: Tensor, h: Tensor, c: Optional[Tensor]
    ) -> tuple[Tensor, Optional[Tensor]]:
        """One step: gi, gh: (N, G·H) input and hidden projections -> the new h (and c)."""
        raise NotImplementedError

    def forward(self, input: Tensor, hx: Any = None) -> tuple[Tensor, Any]:
        """input: (L, N, input_size) ((N, L, input_size) with batch_first, (L, input_size)
        unbatched); hx: h0 (LSTM: (h0, c0)), each (num_layers·dirs, N, H) or None (zeros).
        Returns output (L, N, dirs·H) and h_n (LSTM: (h_n, c_n)), in the input's layout."""
        name = type(self).__name__
        H, dirs = self.hidden_size, (2 if self.bidirectional else 1)
        unbatched = input.ndim == 2
        if input.ndim not in (2, 3):
            raise ValueError(
                f"{name}: expected input (L, N, {self.input_size}) (or batch-first/unbatched), "
                f"got shape {input.shape}"
            )
        x = (
            ops.unsqueeze(input, 1)
            if unbatched
            else (ops.transpose(input, 0, 1) if self.batch_first else input)
        )
        if x.shape[-1] != self.input_size:
            raise ValueError(
                f"{name}(input_size={self.input_size}): input of shape {input.shape} has "
                f"{x.shape[-1]} features"
            )
        T, N = x.shape[0], x.shape[1]
        lstm = self.gates == 4
        if hx is None:
            h0 = full([self.num_layers * dirs, N, H], 0.0, x.dtype)
            c0 = h0 if lstm else None
        else:
            h0, c0 = hx if lstm else (hx, None)
            if unbatched:
                h0 = ops.unsqueeze(h0, 1)
                c0 = ops.unsqueeze(c0, 1) if c0 is not None else None
            if tuple(h0.shape) != (self.num_layers * dirs, N, H):
                raise ValueError(
                    f"{name}: initial hidden state must have shape "
                    f"({self.num_layers * dirs}, {N}, {H}), got {h0.shape}"
                )
        h0s = ops.split(h0, [1] * (self.num_layers * dirs), 0)
        c0s = ops.split(c0, [1] * (self.num_layers * dirs), 0) if lstm else None
        hn, cn = [], []
        for layer in range(self.num_layers):
            outs = []
            for d in range(dirs):
                w_ih, w_hh, b_ih, b_hh = self._weights(layer, d)
                gi_all = F.linear(x, w_ih, b_ih)  # (T, N, G·H)
                if lstm and b_hh is not None:  # outside every nonlinearity: fold into the projection
                    gi_all = gi_all + b_hh
                    b_hh = None
                gi = [ops.reshape(t, [N, self.gates * H]) for t in ops.split(gi_all, [1] * T, 0)]
                k = layer * dirs + d
                h = ops.reshape(h0s[k], [N, H])
                c = ops.reshape(c0s[k], [N, H]) if c0s is not None else None
                seq, h, c = self._cell_seq(gi, h, c, w_hh, b_hh, reverse=bool(d))
                outs.append(ops.stack(seq, 0))
                hn.append(h)
                if lstm:
                    cn.append(c)
            x = outs[0] if dirs == 1 else ops.concat(outs, 2)
            if self.dropout > 0 and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, True)
        out = x
        h_n = ops.stack(hn, 0)
        c_n = ops.stack(cn, 0) if lstm else None
        if unbatched:
            out = ops.squeeze(out, 1)
            h_n = ops.squeeze(h_n, 1)
            c_n = ops.squeeze(c_n, 1) if lstm else None
        elif self.batch_first:
            out = ops.transpose(out, 0, 1)
        return (out, (h_n, c_n)) if lstm else (out, h_n)

    def extra_repr(self) -> str:
        """``input_size, hidden_size`` and the non-default options."""
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.batch_first:
            s += ", batch_first=True"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s


class LSTM(_RNNBase):
    """``lstm(x, (h0, c0)=None) -> (output, (h_n, c_n))``; gates i, f, g, o:
    c' = σ(f)·c + σ(i)·tanh(g), h' = σ(o)·tanh(c')."""

    gates = 4

    def _cell(
        self, gi: Tensor, gh: Tensor, h: Tensor, c: Optional[Tensor]
    ) -> tuple[Tensor, Optional[Tensor]]:
        i, f, gg, o = ops.split(gi + gh, [self.hidden_size] * 4, 1)
        c = ops.sigmoid(f) * c + ops.sigmoid(i) * ops.tanh(gg)
        return ops.sigmoid(o) * ops.tanh(c), c


class GRU(_RNNBase):
    """``gru(x, h0=None) -> (output, h_n)``; gates r, z, n:
    r = σ(W_ir x + b_ir + W_hr h + b_hr), z likewise, n = tanh(W_in x + b_in + r·(W_hn h + b_hn)),
    h' = (1 − z)·n + z·h."""

    gates = 3

    def _cell(
        self, gi: Tensor, gh: Tensor, h: Tensor, c: Optional[Tensor]
    ) -> tuple[Tensor, Optional[Tensor]]:
        H = self.hidden_size
        ir, iz, inn = ops.split(gi, [H, H, H], 1)
        hr, hz, hn = ops.split(gh, [H, H, H], 1)
        r = ops.sigmoid(ir + hr)
        z = ops.sigmoid(iz + hz)
        n = ops.tanh(inn + r * hn)
        return n + z * (h - n), None
