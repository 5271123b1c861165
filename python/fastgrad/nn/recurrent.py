"""RNN, LSTM and GRU (and their single-step cells) with PyTorch's parameter names
(weight_ih_l0, weight_hh_l0, bias_ih_l0, bias_hh_l0, ..._reverse; the cells: weight_ih,
weight_hh, bias_ih, bias_hh), gate orders (LSTM i, f, g, o; GRU r, z, n) and shapes.

The input projection for all time steps is one matmul; the recurrence then does one
(N, H) @ (H, G·H) matmul per step (a loop over time steps, as PyTorch's own).
LSTM's ``proj_size`` is not supported (NotImplementedError).
"""

from __future__ import annotations

import math
from typing import Any, Optional

from .. import ops
from .._device import check_device
from .._tensor import as_dtype, float32, full, tensor
from ..ops import Tensor
from . import functional as F
from . import init
from .module import Module, Parameter


class _RNNBase(Module):
    gates = 0
    nonlinearity = "tanh"

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        check_device(device, f"nn.{name}")
        if proj_size and self.gates != 4:
            raise ValueError(f"nn.{name}: proj_size is only supported for LSTM, not RNN or GRU")
        if proj_size:
            raise NotImplementedError(f"nn.{name}: proj_size is not supported by fastgrad")
        if isinstance(dropout, bool) or not 0.0 <= float(dropout) <= 1.0:
            raise ValueError(f"nn.{name}: dropout must be a number in [0, 1], got {dropout!r}")
        if int(input_size) < 0 or int(hidden_size) < 1 or int(num_layers) < 1:
            raise ValueError(
                f"nn.{name}: input_size={input_size} must be >= 0, hidden_size={hidden_size} and "
                f"num_layers={num_layers} >= 1"
            )
        self.proj_size = 0
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
        if self.gates == 4:
            return _lstm_step(gi + gh, c, self.hidden_size)  # type: ignore[arg-type]
        if self.gates == 3:
            return _gru_step(gi, gh, h, self.hidden_size), None
        return _rnn_step(gi + gh, self.nonlinearity), None

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
                if self.gates != 3 and b_hh is not None:
                    # b_hh is added before any nonlinearity (not GRU's r·(W_hn h + b_hn)): fold it in
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


def _lstm_step(g: Tensor, c: Tensor, H: int) -> tuple[Tensor, Tensor]:
    """g: (N, 4H) summed gate pre-activations (i, f, g, o), c: (N, H) -> (h', c')."""
    i, f, gg, o = ops.split(g, [H] * 4, g.ndim - 1)
    c = ops.sigmoid(f) * c + ops.sigmoid(i) * ops.tanh(gg)
    return ops.sigmoid(o) * ops.tanh(c), c


def _gru_step(gi: Tensor, gh: Tensor, h: Tensor, H: int) -> Tensor:
    """gi, gh: (N, 3H) input / hidden projections (r, z, n), h: (N, H) -> h'."""
    ir, iz, inn = ops.split(gi, [H, H, H], gi.ndim - 1)
    hr, hz, hn = ops.split(gh, [H, H, H], gh.ndim - 1)
    r = ops.sigmoid(ir + hr)
    z = ops.sigmoid(iz + hz)
    n = ops.tanh(inn + r * hn)
    return n + z * (h - n)


def _rnn_step(g: Tensor, nonlinearity: str) -> Tensor:
    return ops.tanh(g) if nonlinearity == "tanh" else ops.relu(g)


def _check_nonlinearity(nonlinearity: str, name: str) -> str:
    if nonlinearity not in ("tanh", "relu"):
        raise ValueError(f"nn.{name}: unknown nonlinearity {nonlinearity!r}; select 'tanh' or 'relu'")
    return nonlinearity


class RNN(_RNNBase):
    """``rnn(x, h0=None) -> (output, h_n)``: h' = act(W_ih x + b_ih + W_hh h + b_hh) with
    act = tanh or relu (``nonlinearity``); options and shapes as LSTM/GRU."""

    gates = 1

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        self.nonlinearity = _check_nonlinearity(nonlinearity, "RNN")
        super().__init__(
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            device=device,
            dtype=dtype,
        )

    def extra_repr(self) -> str:
        """``input_size, hidden_size`` and the non-default options."""
        s = super().extra_repr()
        return s + (", nonlinearity='relu'" if self.nonlinearity == "relu" else "")


class LSTM(_RNNBase):
    """``lstm(x, (h0, c0)=None) -> (output, (h_n, c_n))``; gates i, f, g, o:
    c' = σ(f)·c + σ(i)·tanh(g), h' = σ(o)·tanh(c')."""

    gates = 4


class GRU(_RNNBase):
    """``gru(x, h0=None) -> (output, h_n)``; gates r, z, n:
    r = σ(W_ir x + b_ir + W_hr h + b_hr), z likewise, n = tanh(W_in x + b_in + r·(W_hn h + b_hn)),
    h' = (1 − z)·n + z·h."""

    gates = 3


# ------------------------------------------------------------------ single-step cells
class _CellBase(Module):
    gates = 1

    def __init__(self, input_size: int, hidden_size: int, bias: bool, device: Any, dtype: Any) -> None:
        super().__init__()
        name = type(self).__name__
        check_device(device, f"nn.{name}")
        if int(input_size) < 0 or int(hidden_size) < 1:
            raise ValueError(
                f"nn.{name}: input_size={input_size} must be >= 0 and hidden_size={hidden_size} >= 1"
            )
        self.input_size = int(input_size)
        self.hidden_size = int(hidden_size)
        self.bias = bool(bias)
        dt = as_dtype(dtype) or float32  # dtype=None: the default dtype, as PyTorch
        G, H = self.gates, self.hidden_size
        self.weight_ih = Parameter(full([G * H, self.input_size], 0.0, dt))
        self.weight_hh = Parameter(full([G * H, H], 0.0, dt))
        if bias:
            self.bias_ih: Optional[Parameter] = Parameter(full([G * H], 0.0, dt))
            self.bias_hh: Optional[Parameter] = Parameter(full([G * H], 0.0, dt))
        else:
            self.bias_ih = None
            self.bias_hh = None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Every weight and bias ~ U(±1/√hidden_size), as PyTorch."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            init.uniform_(p, -bound, bound)

    def _prep(self, input: Any, hx: Any) -> tuple[Tensor, Tensor, bool]:
        """input (N, in) or (in,) and one state (N, H) / (H,) or None -> batched (x, h, unbatched)."""
        name = type(self).__name__
        if not isinstance(input, Tensor):
            input = tensor(input)
        if input.ndim not in (1, 2) or input.shape[-1] != self.input_size:
            raise ValueError(
                f"nn.{name}(input_size={self.input_size}): expected input (N, {self.input_size}) or "
                f"({self.input_size},), got shape {input.shape}"
            )
        unbatched = input.ndim == 1
        x = ops.unsqueeze(input, 0) if unbatched else input
        N, H = x.shape[0], self.hidden_size
        if hx is None:
            h = full([N, H], 0.0, x.dtype)
        else:
            exp = (H,) if unbatched else (N, H)
            if tuple(hx.shape) != exp:
                raise ValueError(f"nn.{name}: hidden state must have shape {exp}, got {hx.shape}")
            h = ops.unsqueeze(hx, 0) if unbatched else hx
        return x, h, unbatched

    def _proj(self, x: Tensor, h: Tensor) -> tuple[Tensor, Tensor]:
        return F.linear(x, self.weight_ih, self.bias_ih), F.linear(h, self.weight_hh, self.bias_hh)

    def extra_repr(self) -> str:
        """``input_size, hidden_size`` and ``bias=False`` when so."""
        return f"{self.input_size}, {self.hidden_size}" + ("" if self.bias else ", bias=False")


class RNNCell(_CellBase):
    """One Elman step ``cell(x, h=None) -> h'`` = act(W_ih x + b_ih + W_hh h + b_hh),
    act = tanh or relu; x: (N, input_size) or (input_size,), h: (N, H) or (H,) (zeros if None)."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        nonlinearity: str = "tanh",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        self.nonlinearity = _check_nonlinearity(nonlinearity, "RNNCell")
        super().__init__(input_size, hidden_size, bias, device, dtype)

    def forward(self, input: Tensor, hx: Optional[Tensor] = None) -> Tensor:
        """input: (N, input_size) or (input_size,), hx: (N, H) / (H,) or None -> h' of hx's shape."""
        x, h, ub = self._prep(input, hx)
        gi, gh = self._proj(x, h)
        out = _rnn_step(gi + gh, self.nonlinearity)
        return ops.squeeze(out, 0) if ub else out


class LSTMCell(_CellBase):
    """One LSTM step ``cell(x, (h, c)=None) -> (h', c')``; gates i, f, g, o as nn.LSTM."""

    gates = 4

    def __init__(
        self, input_size: int, hidden_size: int, bias: bool = True, device: Any = None, dtype: Any = None
    ) -> None:
        super().__init__(input_size, hidden_size, bias, device, dtype)

    def forward(self, input: Tensor, hx: Optional[tuple] = None) -> tuple[Tensor, Tensor]:
        """input: (N, input_size) or (input_size,), hx: (h, c) each (N, H) / (H,), or None
        (zeros) -> (h', c') of the same shapes."""
        x, h, ub = self._prep(input, None if hx is None else hx[0])
        c = h if hx is None else self._prep(input, hx[1])[1]
        gi, gh = self._proj(x, h)
        h, c = _lstm_step(gi + gh, c, self.hidden_size)
        return (ops.squeeze(h, 0), ops.squeeze(c, 0)) if ub else (h, c)


class GRUCell(_CellBase):
    """One GRU step ``cell(x, h=None) -> h'``; gates r, z, n as nn.GRU."""

    gates = 3

    def __init__(
        self, input_size: int, hidden_size: int, bias: bool = True, device: Any = None, dtype: Any = None
    ) -> None:
        super().__init__(input_size, hidden_size, bias, device, dtype)

    def forward(self, input: Tensor, hx: Optional[Tensor] = None) -> Tensor:
        """input: (N, input_size) or (input_size,), hx: (N, H) / (H,) or None -> h' of hx's shape."""
        x, h, ub = self._prep(input, hx)
        gi, gh = self._proj(x, h)
        out = _gru_step(gi, gh, h, self.hidden_size)
        return ops.squeeze(out, 0) if ub else out
