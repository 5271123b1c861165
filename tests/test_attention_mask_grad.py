"""A float attention mask that is a Tensor stays on the tape (issue 10, item 8): its
gradient and tangent against PyTorch, for F.scaled_dot_product_attention and
nn.MultiheadAttention (attn_mask 2-D/3-D, key_padding_mask), float32 and float64.
It used to go through NumPy: gradient silently 0, tangent dropped."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import fastgrad as fg
import fastgrad.nn as nn
import fastgrad.nn.functional as F

DT = [(fg.float32, np.float32, torch.float32, 2e-5), (fg.float64, np.float64, torch.float64, 1e-12)]


@pytest.mark.parametrize("mask_shape", [(5, 4), (2, 1, 5, 4), (2, 3, 5, 4)])
@pytest.mark.parametrize("dt", DT, ids=["f32", "f64"])
def test_sdpa_float_mask_gradient_and_tangent_vs_torch(dt, mask_shape):
    fdt, npdt, tdt, tol = dt
    rng = np.random.default_rng(0)
    q, k, v = (rng.standard_normal(s).astype(npdt) for s in [(2, 3, 5, 6), (2, 3, 4, 6), (2, 3, 4, 6)])
    m = rng.standard_normal(mask_shape).astype(npdt)
    w = rng.standard_normal((2, 3, 5, 6)).astype(npdt)
    tq, tk, tv, tm = (torch.tensor(a, requires_grad=True) for a in (q, k, v, m))
    to = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, attn_mask=tm)
    (to * torch.as_tensor(w)).sum().backward()
    fq, fk, fv, fm = (fg.tensor(a, dtype=fdt, requires_grad=True) for a in (q, k, v, m))
    fo = F.scaled_dot_product_attention(fq, fk, fv, attn_mask=fm)
    (fo * fg.tensor(w, dtype=fdt)).sum().backward()
    np.testing.assert_allclose(np.asarray(fo.detach()), to.detach().numpy(), rtol=tol, atol=tol)
    assert fm.grad is not None and np.abs(np.asarray(fm.grad)).max() > 0
    for f, t in ((fm, tm), (fq, tq), (fk, tk), (fv, tv)):
        np.testing.assert_allclose(np.asarray(f.grad), t.grad.numpy(), rtol=tol, atol=tol)
    # forward mode: the tangent of the mask is not dropped
    dm = rng.standard_normal(mask_shape).astype(npdt)
    _, tan = fg.jvp(
        lambda mm: F.scaled_dot_product_attention(
            fg.tensor(q, dtype=fdt), fg.tensor(k, dtype=fdt), fg.tensor(v, dtype=fdt), attn_mask=mm
        ),
        (fg.tensor(m, dtype=fdt),),
        (fg.tensor(dm, dtype=fdt),),
    )

    def ref(mm):  # PyTorch's sdpa math, spelled out (its fused CPU kernel has no forward AD)
        tq_, tk_, tv_ = (torch.as_tensor(a) for a in (q, k, v))
        return torch.softmax(tq_ @ tk_.transpose(-2, -1) / np.sqrt(q.shape[-1]) + mm, -1) @ tv_

    _, ttan = torch.func.jvp(ref, (torch.as_tensor(m),), (torch.as_tensor(dm),))
    np.testing.assert_allclose(np.asarray(tan), ttan.numpy(), rtol=tol, atol=tol)


def test_sdpa_mask_other_dtype_is_cast_on_the_tape_and_bool_mask_constant():
    rng = np.random.default_rng(1)
    q = fg.tensor(rng.standard_normal((3, 4)), dtype=fg.float64)
    m = fg.tensor(rng.standard_normal((3, 3)), dtype=fg.float32, requires_grad=True)
    F.scaled_dot_product_attention(q, q, q, attn_mask=m).sum().backward()
    assert m.grad is not None and m.grad.dtype == fg.float32 and np.abs(np.asarray(m.grad)).max() > 0
    bm = np.tril(np.ones((3, 3), bool))
    o = F.scaled_dot_product_attention(q, q, q, attn_mask=fg.tensor(bm))
    to = torch.nn.functional.scaled_dot_product_attention(
        *(torch.as_tensor(np.asarray(q)),) * 3, attn_mask=torch.as_tensor(bm)
    )
    np.testing.assert_allclose(np.asarray(o), to.numpy(), rtol=1e-12)
    with pytest.raises(TypeError, match="mask"):
        F.scaled_dot_product_attention(q, q, q, attn_mask=fg.tensor(np.ones((3, 3), np.int64)))


@pytest.mark.parametrize("mask_kind", ["attn2d", "attn3d", "key_padding"])
@pytest.mark.parametrize("dt", DT, ids=["f32", "f64"])
def test_multihead_attention_float_mask_gradient_vs_torch(dt, mask_kind):
    fdt, npdt, tdt, tol = dt
    torch.manual_seed(0)
    tmod = torch.nn.MultiheadAttention(8, 2, batch_first=True).to(tdt)
    fmod = nn.MultiheadAttention(8, 2, batch_first=True, dtype=fdt)
    fmod.load_state_dict(tmod.state_dict())
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 5, 8)).astype(npdt)
    shape = {"attn2d": (5, 5), "attn3d": (3 * 2, 5, 5), "key_padding": (3, 5)}[mask_kind]
    m = rng.standard_normal(shape).astype(npdt)
    key = "key_padding_mask" if mask_kind == "key_padding" else "attn_mask"
    tx, tm = torch.tensor(x), torch.tensor(m, requires_grad=True)
    to, _ = tmod(tx, tx, tx, **{key: tm})
    to.sum().backward()
    fx, fm = fg.tensor(x, dtype=fdt), fg.tensor(m, dtype=fdt, requires_grad=True)
    fo, _ = fmod(fx, fx, fx, **{key: fm})
    fo.sum().backward()
    np.testing.assert_allclose(np.asarray(fo.detach()), to.detach().numpy(), rtol=10 * tol, atol=10 * tol)
    np.testing.assert_allclose(np.asarray(fm.grad), tm.grad.numpy(), rtol=10 * tol, atol=10 * tol)


@pytest.mark.parametrize("how", ["float-mask", "bool-mask", "float-mask-3d"])
@pytest.mark.parametrize("dt", DT, ids=["f32", "f64"])
def test_sdpa_fully_masked_query_rows_are_zero_like_torch(dt, how):
    """A query whose every key is masked gets zero weights (PyTorch's safe softmax), and no
    NaN reaches the output or any gradient (q, k, v, the float mask); it was NaN everywhere."""
    fdt, npdt, tdt, tol = dt
    rng = np.random.default_rng(3)
    q, k, v = (rng.standard_normal(s).astype(npdt) for s in [(2, 3, 5, 6), (2, 3, 4, 6), (2, 3, 4, 6)])
    m = rng.standard_normal((2, 3, 5, 4) if how == "float-mask-3d" else (5, 4)).astype(npdt)
    dead = (Ellipsis, 1, slice(None)) if how != "float-mask-3d" else (0, 2, 3, slice(None))
    m[dead] = -np.inf
    w = rng.standard_normal((2, 3, 5, 6)).astype(npdt)
    tq, tk, tv = (torch.tensor(a, requires_grad=True) for a in (q, k, v))
    fq, fk, fv = (fg.tensor(a, dtype=fdt, requires_grad=True) for a in (q, k, v))
    if how == "bool-mask":
        tm, fm = torch.tensor(np.isfinite(m)), fg.tensor(np.isfinite(m))
    else:
        tm, fm = torch.tensor(m, requires_grad=True), fg.tensor(m, dtype=fdt, requires_grad=True)
    to = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, attn_mask=tm)
    (to * torch.as_tensor(w)).sum().backward()
    fo = F.scaled_dot_product_attention(fq, fk, fv, attn_mask=fm)
    (fo * fg.tensor(w, dtype=fdt)).sum().backward()
    pairs = [(fo.detach(), to.detach()), (fq.grad, tq.grad), (fk.grad, tk.grad), (fv.grad, tv.grad)]
    if how != "bool-mask":
        pairs.append((fm.grad, tm.grad))
    for f, t in pairs:
        got = np.asarray(f)
        assert not np.isnan(got).any()
        np.testing.assert_allclose(got, t.numpy(), rtol=20 * tol, atol=20 * tol)
