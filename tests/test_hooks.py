"""Tensor.register_hook / retain_grad and Module backward hooks, against torch."""

import threading

import numpy as np
import pytest
import torch

import fastgrad as fg


def _pair(shape=(3,), seed=0):
    a = np.random.default_rng(seed).standard_normal(shape)
    return fg.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)


def _np(t):
    return t.detach().numpy() if isinstance(t, torch.Tensor) else np.asarray(t.detach().numpy())


def test_leaf_hook_sees_total_grad_and_replaces_it():
    seen = {}
    for lib, x in zip(("fg", "torch"), _pair()):
        got = []
        x.register_hook(lambda g, got=got: got.append(_np(g)) or g * 3)
        y = (x * x).sum() + (x * 2).sum()  # two paths: the hook sees their sum once
        y.backward()
        seen[lib] = (got, _np(x.grad))
    assert len(seen["fg"][0]) == len(seen["torch"][0]) == 1
    np.testing.assert_allclose(seen["fg"][0][0], seen["torch"][0][0])
    np.testing.assert_allclose(seen["fg"][1], seen["torch"][1])


def test_nonleaf_hook_replaces_flowing_grad_and_retain_grad():
    res = {}
    for lib, x in zip(("fg", "torch"), _pair()):
        y = x * 2
        y.retain_grad()
        got = []
        h = y.register_hook(lambda g, got=got: got.append(_np(g)) or g + 1)
        (y * y).sum().backward(retain_graph=True)
        g1 = _np(x.grad).copy()
        h.remove()
        x.grad = None
        (y * y).sum().backward()
        res[lib] = (got, g1, _np(x.grad), _np(y.grad), y.retains_grad, x.retains_grad)
    f, t = res["fg"], res["torch"]
    assert len(f[0]) == len(t[0]) == 1
    np.testing.assert_allclose(f[0][0], t[0][0])
    for a, b in zip(f[1:4], t[1:4]):
        np.testing.assert_allclose(a, b)
    assert f[4:] == t[4:] == (True, False)


def test_hooks_in_autograd_grad():
    res = {}
    for lib, x in zip(("fg", "torch"), _pair()):
        mod = fg if lib == "fg" else torch
        y = x.sin()
        y.register_hook(lambda g: g * 10)
        x.register_hook(lambda g: g - 1)
        z = (y * y).sum()
        (gx,) = mod.autograd.grad(z, x, retain_graph=True)
        (gy,) = mod.autograd.grad(z, y)
        res[lib] = (_np(gx), _np(gy))
    for a, b in zip(res["fg"], res["torch"]):
        np.testing.assert_allclose(a, b)


def test_hook_with_create_graph_is_differentiable():
    res = {}
    for lib, x in zip(("fg", "torch"), _pair()):
        mod = fg if lib == "fg" else torch
        x.register_hook(lambda g: g * g)
        (g,) = mod.autograd.grad((x**3).sum(), x, create_graph=True)
        (gg,) = mod.autograd.grad(g.sum(), x)
        res[lib] = (_np(g), _np(gg))
    for a, b in zip(res["fg"], res["torch"]):
        np.testing.assert_allclose(a, b)


def test_hook_exception_propagates_unchanged():
    x, _ = _pair()

    class Boom(Exception):
        pass

    def hook(g):
        raise Boom("from the hook")

    x.register_hook(hook)
    with pytest.raises(Boom, match="from the hook"):
        (x * 2).sum().backward()
    assert x.grad is None


def test_hook_errors():
    with pytest.raises(RuntimeError, match="register_hook"):
        fg.ones(3).register_hook(lambda g: g)
    x, _ = _pair()
    x.register_hook(lambda g: fg.ones(5))
    with pytest.raises(RuntimeError, match="shape"):
        (x * 2).sum().backward()
    y, _ = _pair()
    y.register_hook(lambda g: "nope")
    with pytest.raises(TypeError, match="register_hook"):
        (y * 2).sum().backward()


def test_hook_from_non_main_thread():
    # backward releases the GIL; the hook takes it back on the worker thread.
    out = {}

    def work(k):
        x, _ = _pair((300, 300), seed=k)
        calls = []
        x.register_hook(lambda g: calls.append(threading.get_ident()) or g * 2)
        (x.exp() * x).sum().backward()
        out[k] = (calls, _np(x.grad), _np(x))

    ts = [threading.Thread(target=work, args=(k,)) for k in range(3)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert sorted(out) == [0, 1, 2]
    for calls, g, a in out.values():
        assert len(calls) == 1 and calls[0] != threading.main_thread().ident
        t = torch.tensor(a, requires_grad=True)
        t.register_hook(lambda g: g * 2)
        (t.exp() * t).sum().backward()
        np.testing.assert_allclose(g, t.grad.numpy(), rtol=1e-12, atol=1e-15)
