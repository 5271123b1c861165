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


# ------------------------------------------------------------------ full backward hooks
def _linears(seed=0):
    """The same Linear(3, 2) in fastgrad and torch."""
    rng = np.random.default_rng(seed)
    w, b = rng.standard_normal((2, 3)), rng.standard_normal(2)
    fl, tl = fg.nn.Linear(3, 2), torch.nn.Linear(3, 2).double()
    fl.weight = fg.nn.Parameter(fg.tensor(w))
    fl.bias = fg.nn.Parameter(fg.tensor(b))
    with torch.no_grad():
        tl.weight.copy_(torch.tensor(w))
        tl.bias.copy_(torch.tensor(b))
    return fl, tl


def _grads_np(gs):
    return [None if g is None else _np(g) for g in gs]


def _same(a, b):
    assert len(a) == len(b)
    for u, v in zip(a, b):
        assert (u is None) == (v is None), (a, b)
        if u is not None:
            np.testing.assert_allclose(u, v, rtol=1e-12)


def test_full_backward_hook_sees_and_replaces_grad_input_like_torch():
    res = {}
    for lib, mod, (x, _) in zip(("fg", "torch"), _linears(), [_pair((4, 3), 1)] * 2):
        if lib == "torch":
            x = _pair((4, 3), 1)[1]
        calls = []

        def hook(m, gi, go, calls=calls, mod=mod):
            assert m is mod and isinstance(gi, tuple) and isinstance(go, tuple)
            calls.append((_grads_np(gi), _grads_np(go)))
            return tuple(g * 2 for g in gi)

        mod.register_full_backward_hook(hook)
        h = x * 1.5  # a non-leaf input: the replaced grad_input flows on to x
        y = mod(h)
        (y * y).sum().backward()
        res[lib] = (calls, _np(x.grad), _np(mod.weight.grad), _np(mod.bias.grad))
    (fc, fx, fw, fb), (tc, tx, tw, tb) = res["fg"], res["torch"]
    assert len(fc) == len(tc) == 1
    _same(fc[0][0], tc[0][0])
    _same(fc[0][1], tc[0][1])
    for a, b in ((fx, tx), (fw, tw), (fb, tb)):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_full_backward_pre_hook_replaces_grad_output_like_torch():
    res = {}
    for lib, mod in zip(("fg", "torch"), _linears(2)):
        x = _pair((4, 3), 3)[0 if lib == "fg" else 1]
        order = []
        mod.register_full_backward_pre_hook(
            lambda m, go, order=order: order.append(("pre", _grads_np(go))) or (go[0] * 3,)
        )
        mod.register_full_backward_hook(lambda m, gi, go, order=order: order.append(("hook", _grads_np(go))))
        mod(x).sum().backward()
        res[lib] = (order, _np(x.grad), _np(mod.weight.grad))
    (fo, fx, fw), (to, tx, tw) = res["fg"], res["torch"]
    assert [k for k, _ in fo] == [k for k, _ in to] == ["pre", "hook"]
    _same(fo[0][1], to[0][1])
    _same(fo[1][1], to[1][1])  # the hook sees the replaced grad_output
    np.testing.assert_allclose(fx, tx, rtol=1e-12)
    np.testing.assert_allclose(fw, tw, rtol=1e-12)


class _FgTwo(fg.nn.Module):
    def forward(self, x, k, y, z):
        return x * y * k + z, (x * x).sum()


class _TorchTwo(torch.nn.Module):
    def forward(self, x, k, y, z):
        return x * y * k + z, (x * x).sum()


@pytest.mark.parametrize("use_second", [True, False])
def test_grad_input_has_none_for_non_tensors_and_constants_like_torch(use_second):
    rng = np.random.default_rng(4)
    a, b, c = (rng.standard_normal(3) for _ in range(3))
    res = {}
    for lib, mod, T in (("fg", _FgTwo(), fg.tensor), ("torch", _TorchTwo(), torch.tensor)):
        x, y, z = T(a, requires_grad=True), T(b), T(c, requires_grad=True)
        seen = []
        mod.register_full_backward_hook(
            lambda m, gi, go, seen=seen: seen.append((_grads_np(gi), _grads_np(go)))
        )
        u, v = mod(x, 2.0, y, z)
        loss = (u * u).sum() + (3 * v if use_second else 0)
        loss.backward()
        res[lib] = (seen, _np(x.grad), _np(z.grad))
    (fs, fx, fz), (ts, tx, tz) = res["fg"], res["torch"]
    assert len(fs) == len(ts) == 1
    _same(fs[0][0], ts[0][0])  # (grad x, None for 2.0, None for y, grad z)
    _same(fs[0][1], ts[0][1])  # (grad u, grad v or None when v is unused)
    assert fs[0][0][1] is None  # the number; y, not requiring grad, gets zeros (torch's identity backward)
    np.testing.assert_allclose(fx, tx, rtol=1e-12)
    np.testing.assert_allclose(fz, tz, rtol=1e-12)


def test_hook_runs_with_no_input_requiring_grad_like_torch():
    res = {}
    for lib, mod in zip(("fg", "torch"), _linears(5)):
        x = _pair((2, 3), 6)[0 if lib == "fg" else 1].detach()
        seen = []
        mod.register_full_backward_hook(
            lambda m, gi, go, seen=seen: seen.append((_grads_np(gi), _grads_np(go)))
        )
        mod(x).sum().backward()
        res[lib] = (seen, _np(mod.weight.grad))
    (fs, fw), (ts, tw) = res["fg"], res["torch"]
    assert len(fs) == len(ts) == 1
    assert fs[0][0] == [None] and ts[0][0] == [None]
    _same(fs[0][1], ts[0][1])
    np.testing.assert_allclose(fw, tw, rtol=1e-12)
    for lib, mod in zip(("fg", "torch"), _linears(5)):
        x = _pair((2, 3), 6)[0 if lib == "fg" else 1].detach()
        mod.register_full_backward_hook(lambda m, gi, go: (gi[0],) if gi[0] is not None else (go[0],))
        with pytest.raises(RuntimeError, match="no input requires gradient should always return None"):
            mod(x).sum().backward()


def test_hooks_of_nested_modules_run_in_torch_order_and_remove():
    res = {}
    for lib, nn in (("fg", fg.nn), ("torch", torch.nn)):
        seq = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
        a = np.random.default_rng(7).standard_normal((5, 3)).astype(np.float32)
        x = fg.tensor(a, requires_grad=True) if lib == "fg" else torch.tensor(a, requires_grad=True)
        order, handles = [], []
        for name, m in [("seq", seq), ("l0", seq[0]), ("tanh", seq[1]), ("l2", seq[2])]:
            handles.append(m.register_full_backward_hook(lambda m, gi, go, name=name: order.append(name)))
            handles.append(
                m.register_full_backward_pre_hook(lambda m, go, name=name: order.append("pre-" + name))
            )
        seq(x).sum().backward()
        handles[2].remove()  # l0's hook
        seq(x).sum().backward()
        res[lib] = order
    assert res["fg"] == res["torch"]
    assert res["fg"][:8] == ["pre-seq", "pre-l2", "l2", "pre-tanh", "tanh", "pre-l0", "l0", "seq"]


def test_backward_hook_errors_like_torch():
    for lib, mod in zip(("fg", "torch"), _linears(8)):
        x = _pair((2, 3), 9)[0 if lib == "fg" else 1]
        h = mod.register_full_backward_hook(lambda m, gi, go: (gi[0], gi[0]))
        with pytest.raises(
            RuntimeError,
            match="Backward hook returned an invalid number of grad_input, got 2, but expected 1",
        ):
            mod(x).sum().backward()
        h.remove()
        mod.register_full_backward_pre_hook(lambda m, go: (go[0], go[0]))
        with pytest.raises(
            RuntimeError,
            match="Backward pre hook returned an invalid number of grad_output, got 2, but expected 1",
        ):
            mod(x).sum().backward()


def test_backward_hook_exception_propagates_unchanged():
    class Stop(Exception):
        pass

    fl, _ = _linears(10)

    def hook(m, gi, go):
        raise Stop("from the hook")

    fl.register_full_backward_hook(hook)
    x = fg.tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(Stop, match="from the hook"):
        fl(x).sum().backward()


# ------------------------------------------------------------------ leaf hooks during the pass
def _chain_events(lib):
    """A chain w0 -> w1 -> w2 (y = w2·tanh(w1·tanh(w0·x))): a non-leaf hook on each layer's
    input records when the engine reaches it; leaf hooks record when each weight is final."""
    mod = fg if lib == "fg" else torch
    rng = np.random.default_rng(3)
    ws = [rng.standard_normal((3, 3)) for _ in range(3)]
    ws = [
        fg.tensor(w, requires_grad=True) if lib == "fg" else torch.tensor(w, requires_grad=True) for w in ws
    ]
    x = mod.ones(3, dtype=mod.float64)
    events = []
    h = x
    acts = []
    for i, w in enumerate(ws):
        h = w @ h
        if i < 2:
            h = h.tanh()
            acts.append(h)
            h.register_hook(lambda g, i=i: events.append(f"act{i}"))
    for i, w in enumerate(ws):
        w.register_post_accumulate_grad_hook(lambda p, i=i: events.append((f"post{i}", _np(p.grad).copy())))
        w.register_hook(lambda g, i=i: events.append(f"leaf{i}"))
    h.sum().backward()
    return events, [_np(w.grad) for w in ws]


def test_leaf_hooks_fire_when_the_leaf_gradient_is_final_like_torch():
    fe, fgrads = _chain_events("fg")
    te, tgrads = _chain_events("torch")
    names = lambda ev: [e if isinstance(e, str) else e[0] for e in ev]  # noqa: E731
    # w2 is final before act1's hook runs, w1 before act0's: not at the end of the pass
    assert names(fe) == names(te) == ["leaf2", "post2", "act1", "leaf1", "post1", "act0", "leaf0", "post0"]
    for a, b in zip([e for e in fe if not isinstance(e, str)], [e for e in te if not isinstance(e, str)]):
        np.testing.assert_allclose(a[1], b[1], rtol=1e-12)  # the hook sees the accumulated .grad
    for a, b in zip(fgrads, tgrads):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_post_accumulate_hook_sees_total_grad_once_per_backward():
    res = {}
    for lib, x in zip(("fg", "torch"), _pair((4,), 11)):
        calls = []
        h = x.register_post_accumulate_grad_hook(lambda p, calls=calls: calls.append((p, _np(p.grad).copy())))
        x.register_hook(lambda g: g * 2)  # runs before accumulation, replaces the gradient
        y = x * x
        z = (y * 3 + y.sin() + x).sum()  # several paths into x: one call with their sum
        z.backward(retain_graph=True)
        z.backward()  # accumulates onto the first: the hook sees the running .grad
        h.remove()
        (x * 5).sum().backward()
        res[lib] = ([c[1] for c in calls], _np(x.grad), [c[0] is x for c in calls])
    f, t = res["fg"], res["torch"]
    assert len(f[0]) == len(t[0]) == 2
    assert f[2] == [True, True]
    for a, b in zip(f[0], t[0]):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    np.testing.assert_allclose(f[1], t[1], rtol=1e-12)


def test_post_accumulate_hook_rules():
    x = fg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="non-leaf"):
        (x * 2).register_post_accumulate_grad_hook(lambda p: None)
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        fg.tensor([1.0]).register_post_accumulate_grad_hook(lambda p: None)
    with pytest.raises(TypeError, match="callable"):
        x.register_post_accumulate_grad_hook(3)
    # not run by autograd.grad (nothing is accumulated), as torch
    calls = []
    x.register_post_accumulate_grad_hook(lambda p: calls.append(1))
    fg.autograd.grad((x * x).sum(), x)
    assert calls == [] and x.grad is None
    x.sum().backward()
    x.backward(fg.ones_like(x))  # a root that is itself the leaf
    assert calls == [1, 1]
    np.testing.assert_array_equal(_np(x.grad), [2.0, 2.0])

    class Stop(Exception):
        pass

    w = fg.tensor([1.0], requires_grad=True)

    def boom(p):
        raise Stop("post hook")

    w.register_post_accumulate_grad_hook(boom)
    with pytest.raises(Stop, match="post hook"):
        (w * 2).sum().backward()


def test_post_accumulate_hooks_thread_safe_on_a_shared_leaf():
    w = fg.tensor(np.ones(8), requires_grad=True)
    calls = []
    lock = threading.Lock()

    def hook(p):
        with lock:
            calls.append(threading.get_ident())

    w.register_post_accumulate_grad_hook(hook)
    n_threads, reps = 4, 25

    def work(k):
        for _ in range(reps):
            ((w * (k + 1)).tanh() * w).sum().backward()

    ts = [threading.Thread(target=work, args=(k,)) for k in range(n_threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert len(calls) == n_threads * reps  # once per backward, none lost
    ref = sum(
        reps
        * (np.tanh(np.ones(8) * (k + 1)) + np.ones(8) * (k + 1) * (1 - np.tanh(np.ones(8) * (k + 1)) ** 2))
        for k in range(n_threads)
    )
    np.testing.assert_allclose(_np(w.grad), ref, rtol=1e-10)
