"""fg.nn.utils against torch.nn.utils: clip_grad_norm_ (norm types, inf, non-finite),
clip_grad_value_, parameters_to_vector / vector_to_parameters."""

import math

import numpy as np
import pytest
import torch

import fastgrad as fg
import fastgrad.nn as nn
import fastgrad.optim as optim
from fastgrad.nn.utils import clip_grad_norm_, clip_grad_value_, parameters_to_vector, vector_to_parameters


def pair(shapes, scale=1.0, seed=0):
    rng = np.random.default_rng(seed)
    grads = [np.asarray(rng.normal(size=s) * scale) for s in shapes]
    fp, tp = [], []
    for g in grads:
        a = fg.tensor(np.zeros(g.shape), requires_grad=True)
        a.grad = fg.tensor(g.copy())
        fp.append(a)
        b = torch.zeros(g.shape, dtype=torch.float64, requires_grad=True)
        b.grad = torch.tensor(g.copy())
        tp.append(b)
    return fp, tp


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf, "inf", 0.5])
@pytest.mark.parametrize("max_norm", [0.1, 1e6])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    fp, tp = pair([(3, 4), (5,), ()])
    fn = clip_grad_norm_(fp, max_norm, norm_type=norm_type)
    tn = torch.nn.utils.clip_grad_norm_(tp, max_norm, norm_type=norm_type)
    assert fn.shape == () and fn.dtype == fg.float64
    np.testing.assert_allclose(float(fn), float(tn), rtol=1e-12)
    for a, b in zip(fp, tp):
        np.testing.assert_allclose(np.asarray(a.grad), b.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_clip_grad_norm_single_tensor_none_grads_and_nonfinite():
    fp, tp = pair([(4,)])
    fp.append(fg.zeros([2]))  # no grad: skipped
    np.testing.assert_allclose(
        float(clip_grad_norm_(fp[0], 0.5)), float(torch.nn.utils.clip_grad_norm_(tp[0], 0.5))
    )
    np.testing.assert_allclose(np.asarray(fp[0].grad), tp[0].grad.numpy(), rtol=1e-12)
    fp, tp = pair([(2,)])
    fp[0].grad = fg.tensor([np.nan, 1.0], fg.float64)
    tp[0].grad = torch.tensor([np.nan, 1.0], dtype=torch.float64)
    with pytest.raises(RuntimeError):
        torch.nn.utils.clip_grad_norm_(tp, 1.0, error_if_nonfinite=True)
    with pytest.raises(RuntimeError, match="non-finite"):
        clip_grad_norm_(fp, 1.0, error_if_nonfinite=True)
    assert math.isnan(float(clip_grad_norm_(fp, 1.0, foreach=None)))
    assert float(clip_grad_norm_([], 1.0)) == float(torch.nn.utils.clip_grad_norm_([], 1.0)) == 0.0


def test_clip_grad_value_matches_torch():
    fp, tp = pair([(3, 4), (6,)], scale=3.0)
    clip_grad_value_(fp, 1.5)
    torch.nn.utils.clip_grad_value_(tp, 1.5)
    for a, b in zip(fp, tp):
        np.testing.assert_array_equal(np.asarray(a.grad), b.grad.numpy())


def test_one_implementation_two_paths():
    assert nn.utils.clip_grad_norm_ is optim.clip_grad_norm_
    assert nn.utils.clip_grad_value_ is optim.clip_grad_value_


def test_parameters_to_vector_and_back_like_torch():
    f, t = nn.Linear(3, 2), torch.nn.Linear(3, 2)
    f.load_state_dict({k: v.detach().numpy() for k, v in t.state_dict().items()})
    fv, tv = parameters_to_vector(f.parameters()), torch.nn.utils.parameters_to_vector(t.parameters())
    assert fv.shape == tuple(tv.shape) == (8,)
    np.testing.assert_array_equal(np.asarray(fv.detach()), tv.detach().numpy())
    new = np.arange(8, dtype=np.float32)
    vector_to_parameters(fg.tensor(new), f.parameters())
    torch.nn.utils.vector_to_parameters(torch.from_numpy(new), t.parameters())
    for a, b in zip(f.parameters(), t.parameters()):
        np.testing.assert_array_equal(np.asarray(a.detach()), b.detach().numpy())
    assert f.weight.requires_grad and f.weight.is_leaf
    with pytest.raises(TypeError):
        torch.nn.utils.vector_to_parameters(new, t.parameters())
    with pytest.raises(TypeError, match="vector_to_parameters"):
        vector_to_parameters(new, f.parameters())
    with pytest.raises(ValueError, match="8 entries"):
        vector_to_parameters(fg.zeros([7]), f.parameters())


def test_parameters_to_vector_is_differentiable():
    w = fg.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    b = fg.tensor(np.ones(2), requires_grad=True)
    (parameters_to_vector([w, b]) ** 2).sum().backward()
    np.testing.assert_array_equal(np.asarray(w.grad), 2 * np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(np.asarray(b.grad), [2.0, 2.0])
    assert fg.gradcheck(lambda a, c: parameters_to_vector([a, c]), np.ones((2, 2)), np.ones(3))
