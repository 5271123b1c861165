"""nn.MultiheadAttention and the nn.Transformer family against torch.nn in float64: the
torch module's state dict loads into the fastgrad one (same names and shapes), then
outputs and the gradients of inputs and every parameter must agree, for the layer
options and PyTorch's mask conventions."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import fastgrad as fg
import fastgrad.nn as nn

# torch's own notices about its mask types and nested-tensor fast path
pytestmark = [
    pytest.mark.filterwarnings("ignore:Support for mismatched"),
    pytest.mark.filterwarnings("ignore:enable_nested_tensor is True"),
]

A = np.asarray
TOL = dict(rtol=1e-9, atol=1e-11)


def _load(fg_mod: nn.Module, t_mod: torch.nn.Module) -> None:
    sd = {k: v.detach().numpy() for k, v in t_mod.state_dict().items()}
    assert set(sd) == set(fg_mod.state_dict())
    fg_mod.load_state_dict(sd)


def _pair(x: np.ndarray) -> tuple[fg.Tensor, torch.Tensor]:
    return fg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)


def _check(fo, to, fg_mod, t_mod, inputs) -> None:
    """Outputs equal; a random projection of them back-propagates to equal gradients."""
    assert tuple(fo.shape) == tuple(to.shape)
    np.testing.assert_allclose(A(fo), to.detach().numpy(), **TOL)
    w = np.random.default_rng(9).standard_normal(tuple(to.shape))
    fg.sum(fo * fg.tensor(w)).backward()
    (to * torch.tensor(w)).sum().backward()
    for a, b in inputs:
        np.testing.assert_allclose(A(a.grad), b.grad.numpy(), **TOL)
    tp = dict(t_mod.named_parameters())
    for k, p in fg_mod.named_parameters():
        if tp[k].grad is None:
            assert p.grad is None or not np.any(A(p.grad)), k
        else:
            np.testing.assert_allclose(A(p.grad), tp[k].grad.numpy(), **TOL, err_msg=k)


def _rand(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed + sum(shape)).standard_normal(shape)


# ------------------------------------------------------------------ MultiheadAttention
@pytest.mark.parametrize(
    "opts",
    [
        {},
        {"batch_first": True},
        {"bias": False},
        {"kdim": 3, "vdim": 5},
        {"add_bias_kv": True},
        {"add_zero_attn": True, "add_bias_kv": True, "kdim": 3, "vdim": 5},
    ],
)
@pytest.mark.parametrize("mask", ["none", "bool", "float", "kpm", "both3d"])
@pytest.mark.parametrize("average", [True, False])
def test_multihead_attention_matches_torch(opts, mask, average):
    E, H, L, S, N = 4, 2, 3, 5, 2
    torch.manual_seed(0)
    t_mod = torch.nn.MultiheadAttention(E, H, dtype=torch.float64, **opts)
    f_mod = nn.MultiheadAttention(E, H, dtype=fg.float64, **opts)
    _load(f_mod, t_mod)
    kd, vd = opts.get("kdim", E), opts.get("vdim", E)
    bf = opts.get("batch_first", False)

    def shp(n: int, d: int) -> tuple:
        return (N, n, d) if bf else (n, N, d)

    q, k, v = _pair(_rand(*shp(L, E))), _pair(_rand(*shp(S, kd), seed=1)), _pair(_rand(*shp(S, vd), seed=2))
    kw_f: dict = {"average_attn_weights": average}
    kw_t: dict = {"average_attn_weights": average}
    rng = np.random.default_rng(3)
    if mask in ("bool", "both3d"):
        m = rng.random((N * H, L, S) if mask == "both3d" else (L, S)) < 0.3
        m[..., 0] = False  # every query keeps a key (a fully masked row is NaN in torch)
        kw_f["attn_mask"], kw_t["attn_mask"] = m, torch.tensor(m)
    if mask == "float":
        m = rng.standard_normal((L, S))
        kw_f["attn_mask"], kw_t["attn_mask"] = fg.tensor(m), torch.tensor(m)
    if mask in ("kpm", "both3d"):
        p = np.zeros((N, S), dtype=bool)
        p[0, -2:] = True
        kw_f["key_padding_mask"], kw_t["key_padding_mask"] = fg.tensor(p), torch.tensor(p)
    fo, fw = f_mod(q[0], k[0], v[0], **kw_f)
    to, tw = t_mod(q[1], k[1], v[1], **kw_t)
    np.testing.assert_allclose(A(fw), tw.detach().numpy(), **TOL)
    _check(fo, to, f_mod, t_mod, [q, k, v])


def test_multihead_attention_self_unbatched_need_weights_and_causal():
    torch.manual_seed(0)
    t_mod = torch.nn.MultiheadAttention(6, 3, dtype=torch.float64)
    f_mod = nn.MultiheadAttention(6, 3, dtype=fg.float64)
    _load(f_mod, t_mod)
    x = _pair(_rand(4, 6))
    p = np.array([False, False, True, False])
    fo, fw = f_mod(x[0], x[0], x[0], key_padding_mask=p, need_weights=False)
    to, tw = t_mod(x[1], x[1], x[1], key_padding_mask=torch.tensor(p), need_weights=False)
    assert fw is None and tw is None
    _check(fo, to, f_mod, t_mod, [x])
    causal = torch.nn.Transformer.generate_square_subsequent_mask(4, dtype=torch.float64)
    xb = fg.tensor(_rand(4, 2, 6))
    a = f_mod(xb, xb, xb, is_causal=True)[0]
    b = t_mod(*(torch.tensor(A(xb)),) * 3, attn_mask=causal, is_causal=True)[0]
    np.testing.assert_allclose(A(a), b.detach().numpy(), **TOL)


def test_multihead_attention_signature_and_errors():
    t_sd = torch.nn.MultiheadAttention(4, 2, 0.0, True, True, False, 3, 5).state_dict()
    f_mod = nn.MultiheadAttention(4, 2, 0.0, True, True, False, 3, 5, device="cpu")
    assert list(f_mod.state_dict()) == list(t_sd)
    assert f_mod.in_proj_weight is None and f_mod.q_proj_weight is not None
    with pytest.raises(ValueError, match="CPU only"):
        nn.MultiheadAttention(4, 2, device="cuda")
    with pytest.raises(ValueError, match=r"key must be \(L, N, 3\)"):
        f_mod(fg.zeros(2, 1, 4), fg.zeros(2, 1, 4), fg.zeros(2, 1, 5))
    with pytest.raises(ValueError, match="attn_mask must have shape"):
        nn.MultiheadAttention(4, 2)(
            fg.zeros(2, 1, 4), fg.zeros(3, 1, 4), fg.zeros(3, 1, 4), attn_mask=np.zeros((2, 2))
        )


# ------------------------------------------------------------------ layers
LAYER_OPTS = [
    {},
    {"norm_first": True, "activation": "gelu"},
    {"batch_first": True, "bias": False},
    {"activation": torch.nn.functional.silu, "layer_norm_eps": 1e-3},
]


def _fg_opts(opts: dict) -> dict:
    o = dict(opts)
    if callable(o.get("activation")):
        o["activation"] = fg.nn.functional.silu
    return o


@pytest.mark.parametrize("opts", LAYER_OPTS)
@pytest.mark.parametrize("masks", [False, True])
def test_encoder_layer_matches_torch(opts, masks):
    E, H, S, N = 8, 2, 5, 3
    torch.manual_seed(0)
    t_mod = torch.nn.TransformerEncoderLayer(E, H, 16, 0.0, dtype=torch.float64, **opts)
    f_mod = nn.TransformerEncoderLayer(E, H, 16, 0.0, dtype=fg.float64, **_fg_opts(opts))
    _load(f_mod, t_mod)
    bf = opts.get("batch_first", False)
    x = _pair(_rand(*((N, S, E) if bf else (S, N, E))))
    kf: dict = {}
    kt: dict = {}
    if masks:
        m = nn.Transformer.generate_square_subsequent_mask(S, dtype=fg.float64)
        p = np.zeros((N, S), dtype=bool)
        p[1, -1] = True
        kf = {"src_mask": m, "src_key_padding_mask": p}
        kt = {"src_mask": torch.tensor(A(m)), "src_key_padding_mask": torch.tensor(p)}
    _check(f_mod(x[0], **kf), t_mod(x[1], **kt), f_mod, t_mod, [x])


@pytest.mark.parametrize("opts", LAYER_OPTS)
@pytest.mark.parametrize("masks", [False, True])
def test_decoder_layer_matches_torch(opts, masks):
    E, H, T, S, N = 8, 2, 4, 5, 3
    torch.manual_seed(0)
    t_mod = torch.nn.TransformerDecoderLayer(E, H, 16, 0.0, dtype=torch.float64, **opts)
    f_mod = nn.TransformerDecoderLayer(E, H, 16, 0.0, dtype=fg.float64, **_fg_opts(opts))
    _load(f_mod, t_mod)
    bf = opts.get("batch_first", False)
    x = _pair(_rand(*((N, T, E) if bf else (T, N, E))))
    mem = _pair(_rand(*((N, S, E) if bf else (S, N, E)), seed=4))
    kf: dict = {}
    kt: dict = {}
    if masks:
        tm = np.triu(np.ones((T, T), dtype=bool), 1)
        mm = np.random.default_rng(0).standard_normal((T, S))
        tp = np.zeros((N, T), dtype=bool)
        tp[0, -1] = True
        mp = np.zeros((N, S), dtype=bool)
        mp[2, :2] = True
        kf = dict(tgt_mask=tm, memory_mask=fg.tensor(mm), tgt_key_padding_mask=tp, memory_key_padding_mask=mp)
        kt = {k: torch.tensor(A(v)) for k, v in kf.items()}
    _check(f_mod(x[0], mem[0], **kf), t_mod(x[1], mem[1], **kt), f_mod, t_mod, [x, mem])


@pytest.mark.parametrize("opts", [{}, {"batch_first": True, "norm_first": True}])
def test_transformer_matches_torch(opts):
    E, H, S, T, N = 8, 2, 5, 4, 2
    torch.manual_seed(0)
    t_mod = torch.nn.Transformer(E, H, 2, 2, 16, 0.0, dtype=torch.float64, **opts)
    f_mod = nn.Transformer(E, H, 2, 2, 16, 0.0, dtype=fg.float64, **opts)
    assert list(f_mod.state_dict()) == list(t_mod.state_dict())
    _load(f_mod, t_mod)
    bf = opts.get("batch_first", False)
    src = _pair(_rand(*((N, S, E) if bf else (S, N, E))))
    tgt = _pair(_rand(*((N, T, E) if bf else (T, N, E)), seed=5))
    tm = nn.Transformer.generate_square_subsequent_mask(T, dtype=fg.float64)
    sp = np.zeros((N, S), dtype=bool)
    sp[1, -2:] = True
    fo = f_mod(src[0], tgt[0], tgt_mask=tm, src_key_padding_mask=sp, memory_key_padding_mask=sp)
    to = t_mod(
        src[1],
        tgt[1],
        tgt_mask=torch.tensor(A(tm)),
        src_key_padding_mask=torch.tensor(sp),
        memory_key_padding_mask=torch.tensor(sp),
    )
    _check(fo, to, f_mod, t_mod, [src, tgt])


def test_encoder_stack_unbatched_and_causal_flag():
    torch.manual_seed(0)
    t_layer = torch.nn.TransformerEncoderLayer(4, 2, 8, 0.0, dtype=torch.float64)
    t_mod = torch.nn.TransformerEncoder(t_layer, 3, torch.nn.LayerNorm(4, dtype=torch.float64))
    f_layer = nn.TransformerEncoderLayer(4, 2, 8, 0.0, dtype=fg.float64)
    f_mod = nn.TransformerEncoder(f_layer, 3, nn.LayerNorm(4, dtype=fg.float64), enable_nested_tensor=False)
    _load(f_mod, t_mod)
    x = _pair(_rand(5, 4))
    m = nn.Transformer.generate_square_subsequent_mask(5, dtype=fg.float64)
    _check(f_mod(x[0], m, is_causal=True), t_mod(x[1], torch.tensor(A(m)), is_causal=True), f_mod, t_mod, [x])
    # is_causal=True without a mask applies the causal mask
    xb = fg.tensor(_rand(5, 2, 4))
    np.testing.assert_allclose(A(f_mod(xb, is_causal=True)), A(f_mod(xb, m)), rtol=1e-12)


def test_clones_start_equal_and_are_independent():
    layer = nn.TransformerEncoderLayer(4, 2, 8)
    enc = nn.TransformerEncoder(layer, 2)
    a, b = enc.layers[0], enc.layers[1]
    assert a is not layer and a is not b
    np.testing.assert_array_equal(A(a.linear1.weight), A(layer.linear1.weight))
    np.asarray(a.linear1.weight)[...] = 0.0
    assert np.any(A(b.linear1.weight)) and np.any(A(layer.linear1.weight))


def test_square_subsequent_mask_and_errors():
    m = nn.Transformer.generate_square_subsequent_mask(4)
    np.testing.assert_array_equal(A(m), torch.nn.Transformer.generate_square_subsequent_mask(4).numpy())
    assert m.dtype == fg.float32
    with pytest.raises(ValueError, match="activation"):
        nn.TransformerEncoderLayer(4, 2, activation="tanh")
    with pytest.raises(ValueError, match="CPU only"):
        nn.TransformerDecoderLayer(4, 2, device="cuda")
    with pytest.raises(ValueError, match="CPU only"):
        nn.Transformer(4, 2, 1, 1, 8, device="cuda")
    t = nn.Transformer(4, 2, 1, 1, 8)
    with pytest.raises(RuntimeError, match="batch number"):
        t(fg.zeros(3, 2, 4), fg.zeros(3, 1, 4))
    with pytest.raises(RuntimeError, match="d_model=4"):
        t(fg.zeros(3, 2, 5), fg.zeros(3, 2, 5))
    assert all(p.dtype == fg.float64 for p in nn.Transformer(4, 2, 1, 1, 8, dtype=fg.float64).parameters())


def test_dropout_is_active_only_in_training():
    layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.5, dtype=fg.float64)
    x = fg.tensor(_rand(3, 2, 8))
    layer.eval()
    a = A(layer(x))
    np.testing.assert_array_equal(a, A(layer(x)))
    layer.train()
    assert not np.allclose(A(layer(x)), a)
