"""fg.checkpoint / fg.utils.checkpoint (rematerialisation) and fg.stop_gradient.

A checkpointed function must give the plain function's values and derivatives in every
mode (grad, .backward() on closed-over module parameters, second order, forward mode,
finite differences in float64), redraw the same random numbers when it recomputes, keep
only its inputs on the tape, and refuse a backward after its inputs changed in place."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import fastgrad as fg
from fastgrad import _C

RNG = np.random.default_rng(7)


def t64(*shape, requires_grad=False):
    return fg.tensor(RNG.standard_normal(shape), dtype=fg.float64, requires_grad=requires_grad)


def mlp(x, w1, w2):
    """(B, 4) -> (B, 3): tanh(x w1) w2, then a softplus so second derivatives are rich."""
    return fg.nn.functional.softplus(fg.tanh(x @ w1) @ w2)


def loss(x, w1, w2):
    return (mlp(x, w1, w2) ** 2).sum()


def close(a, b, tol=1e-12):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=tol, atol=tol)


@pytest.fixture
def args():
    return t64(5, 4), t64(4, 6), t64(6, 3)


def test_grad_equals_plain_for_every_argument(args):
    ck = fg.checkpoint(loss)
    g_plain = fg.grad(loss, argnums=(0, 1, 2))(*args)
    g_ck = fg.grad(ck, argnums=(0, 1, 2))(*args)
    for a, b in zip(g_ck, g_plain):
        close(a, b)
    close(ck(*args), loss(*args))


def test_matches_central_finite_differences(args):
    assert fg.gradcheck(fg.checkpoint(mlp), *args)


def test_recomputes_in_backward_and_keeps_only_inputs_on_tape(args):
    calls = []

    def block(x, w):
        calls.append(1)
        return fg.tanh(fg.tanh(x @ w) * 2.0 + 1.0)

    x = t64(5, 4, requires_grad=True)
    ws = [t64(4, 4, requires_grad=True) for _ in range(6)]
    nodes0 = _C.live_nodes()
    h = x
    for w in ws:
        h = fg.checkpoint(block)(h, w)
    on_tape = _C.live_nodes() - nodes0
    assert on_tape == len(ws), f"a checkpointed block keeps one node, {on_tape} for {len(ws)} blocks"
    assert len(calls) == len(ws)
    h.sum().backward()
    assert len(calls) == 2 * len(ws)
    grads = [w.grad.numpy().copy() for w in ws]
    for w in ws:
        w.grad = None
    h = x
    for w in ws:
        h = block(h, w)
    h.sum().backward()
    for a, w in zip(grads, ws):
        close(a, w.grad.numpy())


def test_closed_over_module_parameters_get_gradients():
    fg.manual_seed(0)
    lin1, lin2 = fg.nn.Linear(4, 8, dtype=fg.float64), fg.nn.Linear(8, 2, dtype=fg.float64)
    x = t64(3, 4)

    def block(h):
        return lin2(fg.tanh(lin1(h)))

    fg.checkpoint(block)(x).pow(2).sum().backward()
    ck = [p.grad.numpy().copy() for p in (*lin1.parameters(), *lin2.parameters())]
    for p in (*lin1.parameters(), *lin2.parameters()):
        p.grad = None
    block(x).pow(2).sum().backward()
    plain = [p.grad.numpy() for p in (*lin1.parameters(), *lin2.parameters())]
    for a, b in zip(ck, plain):
        close(a, b)
    # autograd.grad (no accumulation into .grad) reaches them too
    g = fg.autograd.grad(fg.checkpoint(block)(x).pow(2).sum(), [lin1.weight])[0]
    close(g, plain[0])
    assert lin1.weight.grad is not None and np.array_equal(lin1.weight.grad.numpy(), plain[0])


def test_dropout_mask_is_redrawn_identically():
    x = t64(64, 16, requires_grad=True)

    def block(h):
        return fg.nn.functional.dropout(fg.tanh(h), p=0.5, training=True) * 3.0

    fg.manual_seed(123)
    y = fg.checkpoint(block)(x)
    fg.manual_seed(99)  # the backward must not depend on the stream's state by then
    fg.rand(10)
    (y * y).sum().backward()
    g_ck = x.grad.numpy().copy()
    x.grad = None
    fg.manual_seed(123)
    y2 = block(x)
    (y2 * y2).sum().backward()
    close(y.detach().numpy(), y2.detach().numpy())
    close(g_ck, x.grad.numpy())
    assert (g_ck == 0).any() and (g_ck != 0).any()


def test_second_order_and_hessian(args):
    x, w1, w2 = args
    f_plain = lambda w: loss(x, w, w2)
    f_ck = lambda w: fg.checkpoint(loss)(x, w, w2)
    close(fg.hessian(f_ck)(w1), fg.hessian(f_plain)(w1), 1e-10)
    gg = fg.grad(lambda w: (fg.grad(f_ck)(w) ** 2).sum())(w1)
    close(gg, fg.grad(lambda w: (fg.grad(f_plain)(w) ** 2).sum())(w1), 1e-10)
    # double backward through .backward(create_graph=True)
    w = w1.detach().requires_grad_()
    (g,) = fg.autograd.grad(fg.checkpoint(loss)(x, w, w2), [w], create_graph=True)
    (g * g).sum().backward()
    wp = w1.detach().requires_grad_()
    (gp,) = fg.autograd.grad(loss(x, wp, w2), [wp], create_graph=True)
    (gp * gp).sum().backward()
    close(w.grad, wp.grad, 1e-10)


def test_forward_mode_and_hvp(args):
    x, w1, w2 = args
    v = t64(4, 6)
    out_ck, tan_ck = fg.jvp(lambda w: fg.checkpoint(mlp)(x, w, w2), (w1,), (v,))
    out, tan = fg.jvp(lambda w: mlp(x, w, w2), (w1,), (v,))
    close(out_ck, out)
    close(tan_ck, tan)
    h_ck = fg.hvp(lambda w: fg.checkpoint(loss)(x, w, w2), (w1,), (v,))[1]
    close(h_ck, fg.hvp(lambda w: loss(x, w, w2), (w1,), (v,))[1], 1e-10)
    close(fg.jacfwd(fg.checkpoint(mlp), argnums=1)(*args), fg.jacrev(mlp, argnums=1)(*args), 1e-10)


def test_pytree_and_non_differentiable_outputs(args):
    x, w1, w2 = args

    def f(inp):
        h = fg.tanh(inp["x"] @ inp["w"])
        return {"h": h, "sq": (h * h, 2.0), "arg": h.argmax(1)}

    w = w1.detach().requires_grad_()
    out = fg.checkpoint(f)({"x": x, "w": w})
    assert out["arg"].dtype == fg.int64 and not out["arg"].requires_grad
    assert out["sq"][1] == 2.0
    (out["h"].sum() + out["sq"][0].sum()).backward()
    wp = w1.detach().requires_grad_()
    ref = f({"x": x, "w": wp})
    (ref["h"].sum() + ref["sq"][0].sum()).backward()
    close(w.grad, wp.grad)
    np.testing.assert_array_equal(out["arg"].numpy(), ref["arg"].numpy())


def test_in_place_change_of_an_input_is_caught(args):
    x, w1, w2 = args
    w = w1.detach().requires_grad_()
    h = w * 1.0
    y = fg.checkpoint(mlp)(x, h, w2)
    with fg.no_grad():
        h.mul_(2.0)
    with pytest.raises(RuntimeError, match="input 1 of checkpoint .* modified by an in-place operation"):
        y.sum().backward()


def test_without_grad_it_is_the_plain_function(args):
    with fg.no_grad():
        close(fg.checkpoint(mlp)(*args), mlp(*args))
    assert not fg.checkpoint(mlp)(*args).requires_grad


def test_bad_arguments():
    with pytest.raises(TypeError, match="checkpoint"):
        fg.checkpoint(3)
    with pytest.raises(NotImplementedError, match="polic"):
        fg.checkpoint(mlp, policy=lambda *a: True)
    with pytest.raises(ValueError, match="segments"):
        fg.utils.checkpoint.checkpoint_sequential([fg.tanh], 0, t64(2))


def test_decorator_forms(args):
    @fg.checkpoint
    def a(x, w1, w2):
        return loss(x, w1, w2)

    @fg.checkpoint(preserve_rng_state=False)
    def b(x, w1, w2):
        return loss(x, w1, w2)

    assert a.__name__ == "a"
    close(fg.grad(a, 1)(*args), fg.grad(loss, 1)(*args))
    close(fg.grad(b, 1)(*args), fg.grad(loss, 1)(*args))
    assert fg.remat is fg.checkpoint


def test_torch_spellings_match_plain():
    fg.manual_seed(1)
    layers = [fg.nn.Linear(6, 6, dtype=fg.float64) for _ in range(5)]
    seq = fg.nn.Sequential(*[m for lin in layers for m in (lin, fg.nn.Tanh())])
    x = t64(4, 6, requires_grad=True)

    def grads():
        out = [x.grad.numpy().copy()] + [p.grad.numpy().copy() for p in seq.parameters()]
        x.grad = None
        seq.zero_grad()
        return out

    seq(x).sum().backward()
    plain = grads()
    for segments in (1, 2, 3, 10, 20):
        fg.utils.checkpoint.checkpoint_sequential(seq, segments, x, use_reentrant=False).sum().backward()
        for a, b in zip(grads(), plain):
            close(a, b)
    fg.utils.checkpoint.checkpoint(seq, x, use_reentrant=False).sum().backward()
    for a, b in zip(grads(), plain):
        close(a, b)


def test_threads_share_parameters():
    w = t64(8, 8, requires_grad=True)
    xs = [t64(4, 8) for _ in range(4)]
    ref = [fg.grad(lambda w, x=x: (fg.tanh(x @ w) ** 2).sum())(w).numpy() for x in xs]
    got: list = [None] * len(xs)

    def work(i):
        got[i] = fg.grad(lambda w: fg.checkpoint(lambda x, w: (fg.tanh(x @ w) ** 2).sum())(xs[i], w))(w)

    ts = [threading.Thread(target=work, args=(i,)) for i in range(len(xs))]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    for a, b in zip(got, ref):
        close(a, b)


def test_stop_gradient_blocks_both_modes():
    x = t64(3)
    f = lambda x: (fg.stop_gradient(x) * x).sum()
    close(fg.grad(f)(x), x.numpy())  # d/dx (c * x) with c = x held constant
    _, tan = fg.jvp(lambda x: fg.stop_gradient(x * 2.0) + x, (x,), (fg.ones_like(x),))
    close(tan, np.ones(3))
    tree = fg.stop_gradient({"a": x.detach().requires_grad_(), "b": 3})
    assert not tree["a"].requires_grad and tree["b"] == 3


def test_linearize_and_linear_transpose(args):
    x, w1, w2 = args
    u = t64(4, 6)
    out, f_jvp = fg.linearize(lambda w: mlp(x, w, w2), w1)
    close(out, mlp(x, w1, w2))
    close(f_jvp(u), fg.jvp(lambda w: mlp(x, w, w2), (w1,), (u,))[1])
    close(f_jvp(2.0 * u), 2.0 * f_jvp(u).numpy())
    # the transpose of a linear map A u is Aᵀ w: <A u, w> = <u, Aᵀ w>
    a = t64(3, 4, 6)
    lin = lambda v: (a * v).sum(-1)
    w = t64(3, 4)
    (ut,) = fg.linear_transpose(lin, u)(w)
    assert ut.shape == u.shape
    close((lin(u) * w).sum(), (u * ut).sum())
    close(ut, (a * w.reshape(3, 4, 1)).sum(0))
