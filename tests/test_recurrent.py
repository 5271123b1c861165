"""nn.RNN/LSTM/GRU and RNNCell/LSTMCell/GRUCell against torch.nn in float64: the torch
module's state dict loads into the fastgrad one, then outputs, final states and the
gradients of every input and parameter must agree."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import fastgrad as fg
import fastgrad.nn as nn

A = np.asarray
TOL = dict(rtol=1e-10, atol=1e-12)


def _load(fg_mod: nn.Module, t_mod: torch.nn.Module) -> None:
    sd = {k: v.detach().numpy() for k, v in t_mod.state_dict().items()}
    assert set(sd) == set(fg_mod.state_dict())
    fg_mod.load_state_dict(sd)


def _pair(x: np.ndarray) -> tuple[fg.Tensor, torch.Tensor]:
    return fg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)


def _flat(out: object) -> list:
    if isinstance(out, (tuple, list)):
        return [y for o in out for y in _flat(o)]
    return [out]


def _compare(fg_mod, t_mod, fg_args, t_args) -> None:
    fo, to = _flat(fg_mod(*fg_args)), _flat(t_mod(*t_args))
    assert len(fo) == len(to)
    rng = np.random.default_rng(7)
    loss_f, loss_t = 0.0, 0.0
    for a, b in zip(fo, to):
        assert tuple(a.shape) == tuple(b.shape)
        np.testing.assert_allclose(A(a), b.detach().numpy(), **TOL)
        w = rng.standard_normal(tuple(b.shape))
        loss_f = loss_f + fg.sum(a * fg.tensor(w))
        loss_t = loss_t + (b * torch.tensor(w)).sum()
    loss_f.backward()
    loss_t.backward()
    for a, b in zip(_flat(fg_args), _flat(t_args)):
        if isinstance(b, torch.Tensor) and b.requires_grad:
            np.testing.assert_allclose(A(a.grad), b.grad.numpy(), **TOL)
    tp = dict(t_mod.named_parameters())
    for k, p in fg_mod.named_parameters():
        np.testing.assert_allclose(A(p.grad), tp[k].grad.numpy(), **TOL, err_msg=k)


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize(
    "opts",
    [
        {},
        {"num_layers": 2, "bidirectional": True},
        {"bias": False, "batch_first": True},
        {"num_layers": 3, "batch_first": True, "bidirectional": True},
    ],
)
@pytest.mark.parametrize("with_state", [False, True])
def test_sequence_models_match_torch(kind, opts, with_state):
    kw = dict(opts)
    if kind == "RNN":
        kw["nonlinearity"] = "relu" if opts.get("bias", True) is False else "tanh"
    torch.manual_seed(0)
    t_mod = getattr(torch.nn, kind)(3, 4, dtype=torch.float64, **kw)
    f_mod = getattr(nn, kind)(3, 4, dtype=fg.float64, **kw)
    _load(f_mod, t_mod)
    rng = np.random.default_rng(1)
    T, N = 5, 2
    x = rng.standard_normal((N, T, 3) if opts.get("batch_first") else (T, N, 3))
    xf, xt = _pair(x)
    fa, ta = [xf], [xt]
    if with_state:
        L = opts.get("num_layers", 1) * (2 if opts.get("bidirectional") else 1)
        hf, ht = _pair(rng.standard_normal((L, N, 4)))
        if kind == "LSTM":
            cf, ct = _pair(rng.standard_normal((L, N, 4)))
            fa.append((hf, cf))
            ta.append((ht, ct))
        else:
            fa.append(hf)
            ta.append(ht)
    _compare(f_mod, t_mod, fa, ta)


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_sequence_models_unbatched_match_torch(kind):
    torch.manual_seed(0)
    t_mod = getattr(torch.nn, kind)(3, 4, num_layers=2, dtype=torch.float64)
    f_mod = getattr(nn, kind)(3, 4, num_layers=2, dtype=fg.float64)
    _load(f_mod, t_mod)
    rng = np.random.default_rng(2)
    xf, xt = _pair(rng.standard_normal((6, 3)))
    hf, ht = _pair(rng.standard_normal((2, 4)))
    if kind == "LSTM":
        cf, ct = _pair(rng.standard_normal((2, 4)))
        _compare(f_mod, t_mod, [xf, (hf, cf)], [xt, (ht, ct)])
    else:
        _compare(f_mod, t_mod, [xf, hf], [xt, ht])


def test_rnn_positional_nonlinearity_and_parameter_names():
    t_mod = torch.nn.RNN(3, 4, 2, "relu", False)
    f_mod = nn.RNN(3, 4, 2, "relu", False)
    assert f_mod.nonlinearity == "relu" and not f_mod.bias
    assert list(f_mod.state_dict()) == list(t_mod.state_dict())
    assert list(nn.LSTM(3, 4, bidirectional=True).state_dict()) == list(
        torch.nn.LSTM(3, 4, bidirectional=True).state_dict()
    )


@pytest.mark.parametrize("kind", ["RNNCell", "LSTMCell", "GRUCell"])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("state", ["none", "batched", "unbatched"])
def test_cells_match_torch(kind, bias, state):
    torch.manual_seed(0)
    kw = {"nonlinearity": "relu"} if kind == "RNNCell" and not bias else {}
    t_mod = getattr(torch.nn, kind)(3, 4, bias, dtype=torch.float64, **kw)
    f_mod = getattr(nn, kind)(3, 4, bias, dtype=fg.float64, **kw)
    _load(f_mod, t_mod)
    rng = np.random.default_rng(3)
    batch = () if state == "unbatched" else (5,)
    xf, xt = _pair(rng.standard_normal(batch + (3,)))
    fa, ta = [xf], [xt]
    if state != "none":
        hf, ht = _pair(rng.standard_normal(batch + (4,)))
        if kind == "LSTMCell":
            cf, ct = _pair(rng.standard_normal(batch + (4,)))
            fa.append((hf, cf))
            ta.append((ht, ct))
        else:
            fa.append(hf)
            ta.append(ht)
    _compare(f_mod, t_mod, fa, ta)


def test_cell_sequence_equals_layer():
    """An LSTMCell stepped over time with nn.LSTM's weights gives nn.LSTM's output."""
    lstm = nn.LSTM(3, 4, dtype=fg.float64)
    cell = nn.LSTMCell(3, 4, dtype=fg.float64)
    cell.load_state_dict({k[:-3]: v for k, v in lstm.state_dict().items()})
    x = fg.tensor(np.random.default_rng(4).standard_normal((5, 2, 3)))
    out, (h, c) = lstm(x)
    hc = None
    for t in range(5):
        hc = cell(x[t], hc)
    np.testing.assert_allclose(A(hc[0]), A(h)[0], rtol=1e-12)
    np.testing.assert_allclose(A(hc[1]), A(c)[0], rtol=1e-12)


def test_device_dtype_and_errors():
    for cls in (nn.RNN, nn.LSTM, nn.GRU, nn.RNNCell, nn.LSTMCell, nn.GRUCell):
        m = cls(2, 3, device="cpu", dtype=fg.float64)
        assert all(p.dtype == fg.float64 for p in m.parameters())
        assert all(p.dtype == fg.float32 for p in cls(2, 3).parameters())
        with pytest.raises(ValueError, match="CPU only"):
            cls(2, 3, device="cuda")
    with pytest.raises(ValueError, match="nonlinearity"):
        nn.RNN(2, 3, nonlinearity="gelu")
    with pytest.raises(ValueError, match="nonlinearity"):
        nn.RNNCell(2, 3, nonlinearity="sigmoid")
    with pytest.raises(NotImplementedError, match="proj_size"):
        nn.LSTM(2, 3, proj_size=2)
    with pytest.raises(ValueError, match="dropout"):
        nn.GRU(2, 3, dropout=1.5)
    with pytest.raises(ValueError, match="input_size=2"):
        nn.GRUCell(2, 3)(fg.zeros(4, 5))
    with pytest.raises(ValueError, match="hidden state"):
        nn.RNNCell(2, 3)(fg.zeros(4, 2), fg.zeros(4, 2))
    with pytest.raises(ValueError, match="hidden state"):
        nn.RNN(2, 3)(fg.zeros(5, 4, 2), fg.zeros(2, 4, 3))


def test_dropout_between_layers_only_in_training():
    m = nn.GRU(3, 4, num_layers=2, dropout=0.5, dtype=fg.float64)
    x = fg.tensor(np.random.default_rng(5).standard_normal((4, 2, 3)))
    m.eval()
    a, b = A(m(x)[0]), A(m(x)[0])
    np.testing.assert_array_equal(a, b)
    m.train()
    assert not np.allclose(A(m(x)[0]), a)
