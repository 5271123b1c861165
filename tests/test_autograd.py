"""Reverse mode on the tape: accumulation, retain/create_graph, grad modes, errors,
memory, and the cheat sheet's worked examples."""

from __future__ import annotations

import gc

import numpy as np
import pytest

import fastgrad as fg

C = fg._C


def t64(a, requires_grad=False):
    return fg.tensor(np.asarray(a, np.float64), requires_grad=requires_grad)


# ------------------------------------------------------------------ cheat sheet examples
def test_half_squared_norm_gradient_is_x(rng):
    """F(X) = ½‖X‖²  ⇒  ∇_X F = X, same shape as X (cheat sheet §1)."""
    X = rng.standard_normal((3, 4, 2))
    x = t64(X, True)
    (0.5 * fg.sum(x * x)).backward()
    assert x.grad.shape == X.shape
    np.testing.assert_allclose(np.asarray(x.grad), X, rtol=1e-15)


def test_inner_product_jacobian_rows_are_A(rng):
    """G_p(X) = <A_p, X>  ⇒  ∇_X G_p = A_p (cheat sheet §2.2): each VJP with e_p gives A_p."""
    A = rng.standard_normal((3, 2, 4))
    X = rng.standard_normal((2, 4))
    x = t64(X, True)
    G = fg.sum(t64(A) * x, axis=(1, 2))
    np.testing.assert_allclose(np.asarray(G), np.einsum("pij,ij->p", A, X), rtol=1e-13)
    for p in range(3):
        e = np.zeros(3)
        e[p] = 1
        (g,) = fg.autograd.grad(G, x, t64(e), retain_graph=True)
        np.testing.assert_allclose(np.asarray(g), A[p], rtol=1e-15)


def test_vjp_is_jacobian_transpose_times_w(rng):
    """x̄ = J^T w for F(x) = tanh(M x) (cheat sheet §3), J written out by hand."""
    M = rng.standard_normal((3, 4))
    xv = rng.standard_normal(4)
    w = rng.standard_normal(3)
    x = t64(xv, True)
    y = fg.tanh(t64(M) @ x)
    (g,) = fg.autograd.grad(y, x, t64(w))
    J = (1 - np.tanh(M @ xv) ** 2)[:, None] * M
    np.testing.assert_allclose(np.asarray(g), J.T @ w, rtol=1e-12)


def test_mse_regression_gradient(rng):
    """L = 1/N Σ (Xθ - y)²  ⇒  ∇_θ L = 2/N Xᵀ(Xθ - y)."""
    X = rng.standard_normal((8, 3))
    y = rng.standard_normal(8)
    th = rng.standard_normal(3)
    theta = t64(th, True)
    L = fg.mean((t64(X) @ theta - t64(y)) ** 2)
    L.backward()
    np.testing.assert_allclose(np.asarray(theta.grad), 2 / 8 * X.T @ (X @ th - y), rtol=1e-12)


def test_softmax_cross_entropy_gradient_is_p_minus_onehot(rng):
    """L = -Σ_i log softmax(z_i)[y_i] / N  ⇒  ∂L/∂z = (softmax(z) - onehot(y)) / N."""
    Z = rng.standard_normal((5, 4))
    labels = np.array([0, 3, 1, 1, 2])
    z = t64(Z, True)
    lp = fg.log_softmax(z, axis=1)
    L = -fg.sum(lp[np.arange(5), labels]) / 5.0
    L.backward()
    P = np.exp(Z - Z.max(1, keepdims=True))
    P /= P.sum(1, keepdims=True)
    np.testing.assert_allclose(np.asarray(z.grad), (P - np.eye(4)[labels]) / 5, rtol=1e-12, atol=1e-15)


def test_logistic_regression_gradient(rng):
    """Binary cross-entropy of sigmoid(Xθ)  ⇒  ∇_θ = Xᵀ(σ(Xθ) - y) / N."""
    X = rng.standard_normal((6, 3))
    y = np.array([0, 1, 1, 0, 1, 0], np.float64)
    th = rng.standard_normal(3)
    theta = t64(th, True)
    p = fg.sigmoid(t64(X) @ theta)
    L = -fg.mean(t64(y) * fg.log(p) + (1.0 - t64(y)) * fg.log(1.0 - p))
    L.backward()
    s = 1 / (1 + np.exp(-(X @ th)))
    np.testing.assert_allclose(np.asarray(theta.grad), X.T @ (s - y) / 6, rtol=1e-12)


# ------------------------------------------------------------------ accumulation and shapes
def test_grad_accumulates_with_primal_shape(rng):
    b = t64(rng.standard_normal(4), True)
    x = t64(rng.standard_normal((3, 4)))
    fg.sum(x + b).backward()  # b broadcast over 3 rows: gradient 3 per entry
    assert b.grad.shape == (4,)
    np.testing.assert_array_equal(np.asarray(b.grad), np.full(4, 3.0))
    fg.sum(2.0 * b).backward()
    np.testing.assert_array_equal(np.asarray(b.grad), np.full(4, 5.0))
    s = t64(2.0, True)
    fg.sum(x * s).backward()  # 0-d parameter broadcast against (3, 4)
    assert s.grad.shape == ()
    np.testing.assert_allclose(float(s.grad), x.numpy().sum(), rtol=1e-14)


def test_grad_shape_keeps_size1_axes(rng):
    w = t64(rng.standard_normal((1, 4, 1)), True)
    fg.sum(w * t64(rng.standard_normal((3, 4, 5)))).backward()
    assert w.grad.shape == (1, 4, 1)


def test_same_tensor_used_twice_sums_paths():
    x = t64([1.0, -2.0, 3.0], True)
    fg.sum(x * x + x).backward()
    np.testing.assert_array_equal(np.asarray(x.grad), 2 * np.array([1.0, -2.0, 3.0]) + 1)


def test_grad_does_not_touch_dot_grad_and_allow_unused():
    x, y = t64([1.0, 2.0], True), t64([3.0, 4.0], True)
    gx, gy = fg.autograd.grad(fg.sum(x * 3.0), [x, y], allow_unused=True)
    np.testing.assert_array_equal(np.asarray(gx), [3.0, 3.0])
    assert gy is None and x.grad is None
    with pytest.raises(RuntimeError, match="not used"):
        fg.autograd.grad(fg.sum(x * 3.0), [x, y])


def test_grad_with_respect_to_intermediate():
    x = t64([1.0, 2.0], True)
    h = x * x
    (gh,) = fg.autograd.grad(fg.sum(fg.exp(h)), h)
    np.testing.assert_allclose(np.asarray(gh), np.exp([1.0, 4.0]))


def test_backward_with_explicit_grad(rng):
    x = t64(rng.standard_normal((2, 3)), True)
    G = rng.standard_normal((2, 3))
    (x * 4.0).backward(t64(G))
    np.testing.assert_allclose(np.asarray(x.grad), 4 * G)
    with pytest.raises(ValueError, match=r"\(2, 3\)"):
        (x * 4.0).backward(t64(np.ones(3)))


def test_create_graph_grad_does_not_alias_user_tensors():
    """.grad must not share memory with the cotangent the caller passed in."""
    x = t64([1.0, 2.0, 3.0], True)
    G = t64([1.0, 1.0, 1.0])
    x.clone().backward(G, create_graph=True)
    x.clone().backward(G)
    np.testing.assert_array_equal(np.asarray(x.grad), [2.0, 2.0, 2.0])
    np.testing.assert_array_equal(np.asarray(G), [1.0, 1.0, 1.0])


def test_accumulation_does_not_write_into_graph_tensors():
    x = t64([1.0, 2.0], True)
    y = x * 1.0
    (g,) = fg.autograd.grad(fg.sum(y), y, retain_graph=True)
    fg.sum(y).backward(retain_graph=True)
    fg.sum(y * 2.0).backward()
    np.testing.assert_array_equal(np.asarray(g), [1.0, 1.0])
    np.testing.assert_array_equal(np.asarray(x.grad), [3.0, 3.0])


# ------------------------------------------------------------------ retain/create graph
def test_retain_graph_allows_second_backward():
    x = t64([0.5, -1.0], True)
    y = fg.sum(fg.exp(x))
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(np.asarray(x.grad), 2 * np.exp([0.5, -1.0]))


def test_second_backward_through_freed_graph_raises():
    x = t64([0.5, -1.0], True)
    y = fg.sum(fg.exp(x))
    y.backward()
    with pytest.raises(RuntimeError, match="graph a second time"):
        y.backward()


def test_higher_order_x_cubed():
    x = t64(1.5, True)
    y = x**3
    (d1,) = fg.autograd.grad(y, x, create_graph=True)
    (d2,) = fg.autograd.grad(d1, x, create_graph=True)
    (d3,) = fg.autograd.grad(d2, x, create_graph=True)
    assert float(d1) == pytest.approx(3 * 1.5**2, rel=1e-15)
    assert float(d2) == pytest.approx(6 * 1.5, rel=1e-15)
    assert float(d3) == pytest.approx(6.0, rel=1e-15)
    # d3 no longer depends on x: either a constant, or a graph whose gradient is 0
    if d3.requires_grad:
        (d4,) = fg.autograd.grad(d3, x, allow_unused=True)
        assert d4 is None or float(d4) == 0.0


def test_higher_order_sin_and_mixed_partials():
    x, y = t64(0.7, True), t64(-0.3, True)
    f = fg.sin(x) * fg.exp(y)
    fx, fy = fg.autograd.grad(f, [x, y], create_graph=True)
    (fxx,) = fg.autograd.grad(fx, x, retain_graph=True)
    (fxy,) = fg.autograd.grad(fx, y, retain_graph=True)
    (fyx,) = fg.autograd.grad(fy, x)
    assert float(fxx) == pytest.approx(-np.sin(0.7) * np.exp(-0.3), rel=1e-14)
    assert float(fxy) == pytest.approx(np.cos(0.7) * np.exp(-0.3), rel=1e-14)
    assert float(fyx) == pytest.approx(float(fxy), rel=1e-15)


def test_backward_create_graph_then_grad_of_grad(rng):
    """x.grad from backward(create_graph=True) is differentiable: ∇(‖∇f‖²)."""
    X = rng.standard_normal(3)
    x = t64(X, True)
    fg.sum(x**3).backward(create_graph=True)  # grad = 3x²
    g = x.grad
    assert g.requires_grad
    x.grad = None
    fg.sum(g * g).backward()  # d/dx Σ 9x⁴ = 36x³
    np.testing.assert_allclose(np.asarray(x.grad), 36 * X**3, rtol=1e-13)


# ------------------------------------------------------------------ grad modes
def test_no_grad_records_nothing():
    x = t64([1.0, 2.0], True)
    with fg.no_grad():
        y = x * 2.0
        assert not fg.is_grad_enabled()
        with fg.enable_grad():
            z = x * 3.0
    assert fg.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None
    assert z.requires_grad and z.grad_fn == "mul_scalar"


def test_no_grad_as_decorator_restores_mode():
    @fg.no_grad()
    def f(x):
        return x * 2.0

    x = t64([1.0], True)
    assert not f(x).requires_grad
    assert fg.is_grad_enabled()


def test_no_grad_restores_after_exception():
    with pytest.raises(ZeroDivisionError):
        with fg.no_grad():
            1 / 0
    assert fg.is_grad_enabled()


def test_detach_shares_memory_and_stops_gradient():
    x = t64([1.0, 2.0], True)
    d = x.detach()
    assert not d.requires_grad and d.grad_fn is None
    assert d._data_ptr == x._data_ptr
    y = fg.sum(x * d)  # d is a constant: gradient is d, not 2x
    y.backward()
    np.testing.assert_array_equal(np.asarray(x.grad), [1.0, 2.0])


def test_requires_grad_only_for_float_and_leaves():
    with pytest.raises(TypeError, match="float"):
        fg.tensor([1, 2]).requires_grad = True
    x = t64([1.0], True)
    with pytest.raises(RuntimeError, match="non-leaf"):
        (x * 2.0).requires_grad = False


# ------------------------------------------------------------------ errors
def test_nonscalar_backward_without_grad_raises():
    x = t64([1.0, 2.0], True)
    with pytest.raises(RuntimeError, match=r"scalar.*\(2,\)"):
        (x * 2.0).backward()


def test_backward_of_constant_raises():
    with pytest.raises(RuntimeError, match="does not require grad"):
        fg.sum(t64([1.0])).backward()


def test_inplace_change_of_saved_input_raises():
    x = t64([1.0, 2.0], True)
    w = t64([3.0, 4.0])
    y = fg.sum(x * w)  # mul saves w
    w.mul_(2.0)
    with pytest.raises(RuntimeError, match="mul.*modified by an in-place operation"):
        y.backward()


def test_inplace_change_of_unsaved_input_is_fine():
    x = t64([1.0, 2.0], True)
    w = t64([3.0, 4.0])
    y = fg.sum(x + w)  # add's VJP reads no input values
    w.add_(1.0)
    y.backward()
    np.testing.assert_array_equal(np.asarray(x.grad), [1.0, 1.0])


def test_inplace_through_a_view_is_detected():
    x = t64([1.0, 2.0, 3.0], True)
    base = t64([3.0, 4.0, 5.0])
    y = fg.sum(x * base)  # mul saves base
    view = base[:2]
    view[0] = 10.0  # __setitem__ on a view bumps the shared storage's version
    with pytest.raises(RuntimeError, match="in-place"):
        y.backward()


def test_inplace_on_leaf_requiring_grad_raises():
    x = t64([1.0, 2.0], True)
    with pytest.raises(RuntimeError, match="in-place"):
        x.add_(1.0)
    with pytest.raises(RuntimeError, match="in-place|requires grad"):
        x[0] = 3.0
    with fg.no_grad():
        x.add_(1.0)
    np.testing.assert_array_equal(np.asarray(x), [2.0, 3.0])


def test_failed_backward_leaves_no_stale_cotangents():
    """An error in the middle of backward must not leak half-propagated cotangents into
    a later backward through the part of the graph that was not reached."""
    x = t64([1.0, 2.0], True)
    z = t64([1.0], True)
    w = t64([5.0])
    u = (x * 3.0) * (x * 3.0)  # 9x², gradient 18x
    q = z * w  # saves w
    L = fg.sum(u) + fg.sum(q)
    w.mul_(2.0)
    with pytest.raises(RuntimeError, match="in-place"):
        L.backward()
    x.grad = None
    fg.sum(u).backward()
    np.testing.assert_allclose(np.asarray(x.grad), 18 * np.array([1.0, 2.0]))


# ------------------------------------------------------------------ memory
def _counts():
    gc.collect()
    return C.live_tensors(), C.live_nodes()


def test_graph_is_freed_after_backward(rng):
    base = _counts()
    x = t64(rng.standard_normal((4, 3)), True)
    w = t64(rng.standard_normal((3, 2)), True)
    for _ in range(3):
        h = fg.tanh(x @ w)
        loss = fg.sum(fg.softmax(h, axis=1) * h) + fg.mean(fg.exp(x))
        loss.backward()
        del h, loss
    del x, w
    assert _counts() == base


def test_saved_tensors_released_after_backward():
    x = t64(np.ones(1000), True)
    y = fg.sum(fg.exp(x) * fg.sin(x))
    nodes_before = C.live_nodes()
    y.backward()
    # the graph structure stays reachable from y, but its saved inputs/outputs are dropped
    live_after = C.live_tensors()
    del y
    gc.collect()
    assert C.live_nodes() < nodes_before
    assert C.live_tensors() <= live_after


def test_create_graph_cycle_free():
    base = _counts()
    x = t64([0.3, 0.4], True)
    (g,) = fg.autograd.grad(fg.sum(fg.sigmoid(x) ** 3), x, create_graph=True)
    (h,) = fg.autograd.grad(fg.sum(g), x)
    del x, g, h
    assert _counts() == base


def test_jvp_levels_nest_without_perturbation_confusion():
    """d/dx [x · d/dy (x + y)] at any point = 1 (the classic perturbation-confusion check)."""
    outer = C.push_jvp_level()
    try:
        x = t64(2.0)
        x._set_tangent(outer, t64(1.0))
        inner = C.push_jvp_level()
        try:
            y = t64(3.0)
            y._set_tangent(inner, t64(1.0))
            dy = (x + y)._tangent(inner)
        finally:
            C.pop_jvp_level(inner)
        r = x * dy
        assert float(r._tangent(outer)) == 1.0
    finally:
        C.pop_jvp_level(outer)


# ------------------------------------------------------------------ torch.autograd's API
def test_autograd_grad_and_backward_match_torch():
    import torch

    def run(lib, tensor):
        a = tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
        b = tensor(np.array([0.5, -1.0, 2.0]), requires_grad=True)
        out = []
        y = (a * a * b).sum()
        (ga,) = lib.grad(y, a, create_graph=True)  # retain_graph defaults to create_graph
        out.append(np.asarray(ga.detach()).tolist())
        gga, ggb = lib.grad(ga.sum(), [a, b])
        out += [np.asarray(gga).tolist(), np.asarray(ggb).tolist()]
        z = a * b
        (gz,) = lib.grad([z], [a], grad_outputs=[tensor(np.array([1.0, 0.0, 2.0]))])
        out.append(np.asarray(gz).tolist())
        u = lib.grad((a * 2).sum(), [a, b], allow_unused=True)
        out.append([None if g is None else np.asarray(g).tolist() for g in u])
        m = lib.grad((a * 2).sum(), [a, b], materialize_grads=True)
        out.append([np.asarray(g).tolist() for g in m])
        lib.backward((a * b).sum(), inputs=[a])
        out += [np.asarray(a.grad).tolist(), b.grad is None]
        lib.backward([(a * 3).sum(), (b * a).sum()], [tensor(np.array(2.0)), None], inputs=a)
        out.append(np.asarray(a.grad).tolist())
        lib.backward((a * b).sum())
        out += [np.asarray(a.grad).tolist(), np.asarray(b.grad).tolist()]
        return out

    f = run(fg.autograd, lambda x, requires_grad=False: fg.tensor(x, requires_grad=requires_grad))
    t = run(torch.autograd, lambda x, requires_grad=False: torch.tensor(x, requires_grad=requires_grad))
    assert f == t


def test_autograd_errors_match_torch():
    import torch

    def cases(lib, tensor):
        a = tensor(np.ones(3), requires_grad=True)
        b = tensor(np.ones(3), requires_grad=True)
        return [
            lambda: lib.grad((a * 2).sum(), [a, b]),  # unused input
            lambda: lib.grad(a * 2, [a]),  # non-scalar without grad_outputs
            lambda: lib.grad(tensor(np.ones(2)).sum(), [a]),  # no graph
            lambda: lib.grad((a * 2).sum(), []),
            lambda: lib.backward((a * 2).sum(), inputs=[]),
        ]

    fcs = cases(fg.autograd, lambda x, requires_grad=False: fg.tensor(x, requires_grad=requires_grad))
    tcs = cases(torch.autograd, lambda x, requires_grad=False: torch.tensor(x, requires_grad=requires_grad))
    for fc, tc in zip(fcs, tcs):
        with pytest.raises(Exception) as te:
            tc()
        with pytest.raises(te.type):
            fc()


def test_autograd_grad_default_frees_graph_and_create_graph_retains():
    a = t64([1.0, 2.0], requires_grad=True)
    y = (a * a).sum()
    fg.autograd.grad(y, a)
    with pytest.raises(RuntimeError):
        fg.autograd.grad(y, a)
    y = (a * a).sum()
    fg.autograd.grad(y, a, create_graph=True)
    (g,) = fg.autograd.grad(y, a)  # retained by create_graph
    np.testing.assert_array_equal(np.asarray(g), [2.0, 4.0])
    with pytest.raises(NotImplementedError):
        fg.autograd.grad((a * a).sum(), a, is_grads_batched=True)
