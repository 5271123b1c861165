"""fg.nn.functional: layer functions, padding rules, shape validation."""

import numpy as np
import pytest

import fastgrad as fg
import fastgrad.nn.functional as F

try:
    import torch
    import torch.nn.functional as TF
except Exception:  # pragma: no cover
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="torch not importable")


def A(t):
    return np.asarray(t.detach())


def test_linear_functional_layouts():
    x = np.random.default_rng(0).standard_normal((3, 4))
    w = np.random.default_rng(1).standard_normal((5, 4))
    b = np.arange(5.0)
    np.testing.assert_allclose(A(F.linear(fg.tensor(x), fg.tensor(w), fg.tensor(b))), x @ w.T + b, rtol=1e-12)
    np.testing.assert_allclose(
        A(F.linear(fg.tensor(x), fg.tensor(w.T.copy()), fg.tensor(b), layout="jax")), x @ w.T + b, rtol=1e-12
    )
    with pytest.raises(ValueError, match="linear"):
        F.linear(fg.tensor(x), fg.tensor(w.T.copy()))


@needs_torch
@pytest.mark.parametrize("n,k,s,d", [(7, 3, 1, 1), (8, 3, 2, 1), (9, 4, 3, 1), (10, 3, 1, 2), (5, 5, 2, 1)])
def test_same_padding_output_size_and_values(n, k, s, d):
    # "same": ceil(n/s) outputs; at stride 1 this equals torch's padding="same"
    x = np.random.default_rng(0).standard_normal((1, 2, n, n)).astype(np.float32)
    w = np.random.default_rng(1).standard_normal((3, 2, k, k)).astype(np.float32)
    y = A(F.conv2d(fg.tensor(x), fg.tensor(w), None, stride=s, padding="same", dilation=d))
    assert y.shape == (1, 3, -(-n // s), -(-n // s))
    lo, hi = F.pad_same(n, k, s, d)
    xp = np.pad(x, ((0, 0), (0, 0), (lo, hi), (lo, hi)))
    ref = TF.conv2d(torch.tensor(xp), torch.tensor(w), stride=s, dilation=d).numpy()
    np.testing.assert_allclose(y, ref, rtol=1e-4, atol=1e-5)


def test_conv_validation_messages():
    x = fg.randn(1, 3, 5, 5)
    with pytest.raises(ValueError, match="conv2d: weight must have 4 dims"):
        F.conv2d(x, fg.randn(2, 3, 3))
    with pytest.raises(ValueError, match="smaller than the"):
        F.conv2d(x, fg.randn(2, 3, 7, 7))
    with pytest.raises(ValueError, match="bias"):
        F.conv2d(x, fg.randn(2, 3, 3, 3), fg.randn(3))
    assert F.conv2d(fg.randn(3, 5, 5), fg.randn(2, 3, 3, 3)).shape == (2, 3, 3)  # unbatched
    assert F.conv1d(fg.randn(2, 5, 3), fg.randn(4, 3, 3), data_format="NLC").shape == (2, 3, 4)
    assert F.conv3d(fg.randn(1, 4, 4, 4, 2), fg.randn(3, 2, 2, 2, 2), data_format="NDHWC").shape == (
        1,
        3,
        3,
        3,
        3,
    )


def test_scaled_dot_product_attention_and_misc():
    rng = np.random.default_rng(0)
    q, k, v = (rng.standard_normal((2, 3, 4)) for _ in range(3))
    out = A(F.scaled_dot_product_attention(fg.tensor(q), fg.tensor(k), fg.tensor(v), is_causal=True))
    s = q @ k.transpose(0, 2, 1) / 2.0 + np.triu(np.full((3, 3), -np.inf), 1)
    p = np.exp(s - s.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    np.testing.assert_allclose(out, p @ v, rtol=1e-12)
    oh = A(F.one_hot([0, 2, 1], 3))
    np.testing.assert_array_equal(oh, np.eye(3)[[0, 2, 1]])
    x = fg.tensor(np.array([-2.0, 3.0]))
    np.testing.assert_allclose(A(F.leaky_relu(x, 0.1)), [-0.2, 3.0])
    np.testing.assert_allclose(A(F.global_avg_pool(fg.ones(2, 3, 4, 4))), np.ones((2, 3)))
