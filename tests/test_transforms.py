"""Function transforms on pytrees (issue 5): grad, vjp, jvp, Jacobians, Hessians, sharp, gradcheck.

References are central finite differences in float64 (everywhere), closed forms from
the cheat sheet's worked examples, and JAX (x64) as an oracle when importable.
"""

from __future__ import annotations

import gc

import numpy as np
import pytest

import fastgrad as fg
from fastgrad.transforms import (
    GradcheckError,
    grad,
    gradcheck,
    hessian,
    hvp,
    jacfwd,
    jacobian,
    jacrev,
    jvp,
    sharp,
    value_and_grad,
    vjp,
)

C = fg._C
EPS = 1e-6
RTOL, ATOL = 1e-6, 1e-8


def t64(a, requires_grad=False):
    return fg.tensor(np.asarray(a, dtype=np.float64), requires_grad=requires_grad)


def npy(t):
    return np.array(t.detach().numpy())


def close(a, b, rtol=RTOL, atol=ATOL):
    np.testing.assert_allclose(
        npy(a) if isinstance(a, fg.Tensor) else a,
        npy(b) if isinstance(b, fg.Tensor) else b,
        rtol=rtol,
        atol=atol,
    )


def fd_grad(f, x, eps=EPS):
    """Central differences of a scalar function of one float64 array."""
    x = np.array(x, dtype=np.float64)
    g = np.zeros_like(x)
    for i in range(x.size):
        xp, xm = x.copy(), x.copy()
        xp.reshape(-1)[i] += eps
        xm.reshape(-1)[i] -= eps
        g.reshape(-1)[i] = (f(xp) - f(xm)) / (2 * eps)
    return g


def fd_jac(f, x, eps=EPS):
    """Central-difference Jacobian of an array function: shape out.shape + x.shape."""
    x = np.array(x, dtype=np.float64)
    out0 = np.asarray(f(x))
    J = np.zeros(out0.shape + x.shape)
    Jf = J.reshape(out0.size, x.size)
    for i in range(x.size):
        xp, xm = x.copy(), x.copy()
        xp.reshape(-1)[i] += eps
        xm.reshape(-1)[i] -= eps
        Jf[:, i] = ((np.asarray(f(xp)) - np.asarray(f(xm))) / (2 * eps)).reshape(-1)
    return J


def via_fg(f):
    """Wraps a function of fg tensors into a NumPy function (for finite differences)."""

    def g(*arrays):
        with fg.no_grad():
            return npy(f(*[t64(a) for a in arrays]))

    return g


def smooth(x):  # a generic nonlinear tensor -> tensor map
    return fg.tanh(x) * fg.sin(x) + x * x * 0.3


@pytest.fixture
def X(rng):
    return t64(rng.standard_normal((3, 4)))


# ============================================================================ grad
def test_half_squared_norm_has_gradient_X(X):
    g = grad(lambda X: 0.5 * fg.sum(X * X))(X)
    assert g.shape == X.shape
    close(g, X)


def test_gradient_shape_follows_the_primal(rng):
    for shape in [(), (5,), (1, 5), (5, 1), (2, 3, 4)]:
        x = t64(rng.standard_normal(shape))
        g = grad(lambda x: fg.sum(fg.sin(x)))(x)
        assert g.shape == shape
        close(g, np.cos(npy(x)))


def test_grad_matches_finite_differences(X):
    f = lambda x: fg.sum(smooth(x) ** 2) / 7.0
    close(grad(f)(X), fd_grad(via_fg(f), npy(X)), rtol=1e-6, atol=1e-8)


def test_grad_float32_stays_float32(rng):
    x = fg.tensor(rng.standard_normal((4,)).astype(np.float32))
    g = grad(lambda x: fg.sum(x * x))(x)
    assert g.dtype == fg.float32
    close(g, 2 * npy(x), rtol=1e-6)


def test_grad_accepts_numbers_and_arrays():
    g = grad(lambda x: x * x * x)(2.0)
    np.testing.assert_allclose(g.item(), 12.0, rtol=1e-6)
    g = grad(lambda x: fg.sum(x * x))(np.array([1.0, 2.0]))
    assert g.dtype == fg.float64
    close(g, [2.0, 4.0])


def test_grad_does_not_touch_user_tensors(X):
    g = grad(lambda x: fg.sum(x * x))(X)
    assert not X.requires_grad and X.grad is None and X.is_leaf
    assert not g.requires_grad


def test_argnums_tuple_and_unused_inputs_get_zeros(rng):
    x, y, z = (t64(rng.standard_normal(s)) for s in [(3,), (3,), (2, 2)])
    f = lambda x, y, z: fg.sum(x * fg.exp(y))
    gx, gz = grad(f, argnums=(0, 2))(x, y, z)
    close(gx, np.exp(npy(y)))
    assert gz.shape == (2, 2)
    close(gz, np.zeros((2, 2)))
    gy = grad(f, argnums=-2)(x, y, z)
    close(gy, npy(x) * np.exp(npy(y)))
    # same tensor passed twice: each position gets its own gradient
    a, b = grad(lambda u, v: fg.sum(u * v * v), argnums=(0, 1))(x, x)
    close(a, npy(x) ** 2)
    close(b, 2 * npy(x) ** 2)


def test_output_independent_of_input_gives_zero_gradient(X):
    c = t64(3.0)
    g = grad(lambda x: c * 2.0)(X)
    close(g, np.zeros((3, 4)))


def test_value_and_grad_and_has_aux(X):
    f = lambda x: (fg.sum(x**3), {"sq": x * x})
    (v, aux), g = value_and_grad(f, has_aux=True)(X)
    close(v, np.sum(npy(X) ** 3))
    close(aux["sq"], npy(X) ** 2)
    close(g, 3 * npy(X) ** 2)
    assert not v.requires_grad
    g2, aux2 = grad(f, has_aux=True)(X)
    close(g2, g)
    close(aux2["sq"], aux["sq"])


def test_pytree_params_dict(rng):
    params = {
        "W": t64(rng.standard_normal((4, 3))),
        "b": t64(rng.standard_normal(4)),
        "extra": [t64(rng.standard_normal(2)), None],
    }
    x = t64(rng.standard_normal(3))

    def loss(p, x):
        h = fg.tanh(p["W"] @ x + p["b"])
        return fg.sum(h * h) + fg.sum(p["extra"][0] ** 2)

    g = grad(loss)(params, x)
    assert set(g) == {"W", "b", "extra"} and g["extra"][1] is None
    for key, shape in [("W", (4, 3)), ("b", (4,))]:
        assert g[key].shape == shape

        def f_np(a, key=key):
            p = dict(params)
            p[key] = t64(a)
            with fg.no_grad():
                return loss(p, x).item()

        close(g[key], fd_grad(f_np, npy(params[key])))
    close(g["extra"][0], 2 * npy(params["extra"][0]))


def test_grad_error_cases(X):
    with pytest.raises(ValueError, match="scalar"):
        grad(lambda x: x * 2.0)(X)
    with pytest.raises(TypeError, match="has_aux"):
        grad(lambda x: (fg.sum(x), x))(X)
    with pytest.raises(ValueError, match="out of range"):
        grad(lambda x: fg.sum(x), argnums=1)(X)
    with pytest.raises(TypeError, match="argnums"):
        grad(lambda x: fg.sum(x), argnums="0")(X)
    with pytest.raises(ValueError, match="repeats"):
        grad(lambda x, y: fg.sum(x), argnums=(0, 0))(X, X)
    with pytest.raises(TypeError, match="floating"):
        grad(lambda x: fg.sum(x.astype(fg.float64)))(fg.tensor([1, 2]))
    with pytest.raises(TypeError, match="pair"):
        grad(lambda x: fg.sum(x), has_aux=True)(X)
    with pytest.raises(TypeError, match="callable"):
        grad(5)


def test_grad_under_no_grad_still_differentiates(X):
    with fg.no_grad():
        g = grad(lambda x: fg.sum(x * x))(X)
        assert not C.grad_enabled()
    close(g, 2 * npy(X))
    assert not g.requires_grad


# -------------------------------------------------- cheat sheet worked examples
def test_dense_layer_delta_form_torch_and_jax_layouts(rng):
    d_in, d_out = 5, 3
    x = t64(rng.standard_normal(d_in))
    c = t64(rng.standard_normal(d_out))
    phi = lambda y: fg.sum(fg.tanh(y) * c)  # any readout; δ = c ⊙ tanh'(y)
    # PyTorch layout: W is (out, in), y = W x + b  ->  ∂L/∂W = δ xᵀ, ∂L/∂b = δ
    W = t64(rng.standard_normal((d_out, d_in)))
    b = t64(rng.standard_normal(d_out))
    gW, gb = grad(lambda W, b: phi(W @ x + b), argnums=(0, 1))(W, b)
    y = npy(W) @ npy(x) + npy(b)
    delta = npy(c) * (1 - np.tanh(y) ** 2)
    close(gW, np.outer(delta, npy(x)))
    close(gb, delta)
    gx = grad(lambda x: phi(W @ x + b))(x)
    close(gx, npy(W).T @ delta)  # ∂Φ/∂x = Wᵀ δ
    # JAX layout: W is (in, out), y = x W + b  ->  ∂L/∂W = x δᵀ
    Wj = t64(npy(W).T.copy())
    gWj, gbj = grad(lambda W, b: phi(x @ W + b), argnums=(0, 1))(Wj, b)
    close(gWj, np.outer(npy(x), delta))
    close(gbj, delta)
    # batch of rows (torch layout): Z = X Wᵀ + b, ∂L/∂W = Δᵀ X, ∂L/∂b = Σ_rows Δ
    Xb = t64(rng.standard_normal((6, d_in)))
    gW, gb = grad(lambda W, b: phi(Xb @ fg.transpose(W, 0, 1) + b), argnums=(0, 1))(W, b)
    Z = npy(Xb) @ npy(W).T + npy(b)
    D = npy(c) * (1 - np.tanh(Z) ** 2)
    close(gW, D.T @ npy(Xb))
    close(gb, D.sum(0))


def test_softmax_cross_entropy_delta(rng):
    K = 5
    a = t64(rng.standard_normal(K))
    y = np.zeros(K)
    y[2] = 1.0
    yt = t64(y)
    g = grad(lambda a: -fg.sum(yt * fg.log_softmax(a)))(a)
    p = np.exp(npy(a) - npy(a).max())
    p /= p.sum()
    close(g, p - y)
    # batch of rows with soft labels: δ_i = softmax(a_i) − y_i
    A = t64(rng.standard_normal((4, K)))
    Yl = rng.dirichlet(np.ones(K), size=4)
    g = grad(lambda A: -fg.sum(t64(Yl) * fg.log_softmax(A, axis=-1)))(A)
    P = np.exp(npy(A))
    P /= P.sum(1, keepdims=True)
    close(g, P - Yl)


def test_weighted_batch_gradient_is_weighted_sum_of_pullbacks(rng):
    B, d_in, d_out = 5, 3, 2
    Xb = rng.standard_normal((B, d_in))
    Yb = rng.standard_normal((B, d_out))
    om = np.array([1.0, 0.0, 2.0, 0.5, 3.0])  # ω_i >= 0; 0 masks example 1
    theta = {"W": t64(rng.standard_normal((d_out, d_in))), "b": t64(rng.standard_normal(d_out))}
    F = lambda th, x: fg.tanh(th["W"] @ x + th["b"])
    psi = lambda yhat, y: 0.5 * fg.sum((yhat - y) ** 2)
    LB = lambda th: sum(om[i] * psi(F(th, t64(Xb[i])), t64(Yb[i])) for i in range(B)) / om.sum()
    g = grad(LB)(theta)
    acc = {"W": np.zeros((d_out, d_in)), "b": np.zeros(d_out)}
    for i in range(B):
        yhat, pull = vjp(lambda th: F(th, t64(Xb[i])), theta)
        lam = yhat - t64(Yb[i])  # λ_i = ∂ψ/∂ŷ_i
        (tb,) = pull(lam)  # J_θᵀ λ_i
        for k in acc:
            acc[k] += om[i] / om.sum() * npy(tb[k])
    close(g["W"], acc["W"])
    close(g["b"], acc["b"])


# ============================================================================ vjp
def test_vjp_shapes_and_values(rng):
    Xv = t64(rng.standard_normal((3, 4)))
    th = t64(rng.standard_normal(4))
    F = lambda X, th: fg.sin(X) @ th  # R^{3x4} x R^4 -> R^3
    out, pull = vjp(F, Xv, th)
    close(out, np.sin(npy(Xv)) @ npy(th))
    w = t64(rng.standard_normal(3))
    xb, tb = pull(w)
    assert xb.shape == (3, 4) and tb.shape == (4,)
    JX = fd_jac(lambda a: np.sin(a) @ npy(th), npy(Xv))
    Jt = fd_jac(lambda a: np.sin(npy(Xv)) @ a, npy(th))
    close(xb, np.tensordot(npy(w), JX, axes=1), rtol=1e-6, atol=1e-8)
    close(tb, npy(w) @ Jt, rtol=1e-6, atol=1e-8)
    # callable again (graph kept), linear in w
    xb2, tb2 = pull(w * 2.0)
    close(xb2, 2 * npy(xb))
    close(tb2, 2 * npy(tb))


def test_vjp_pytree_output_and_aux(rng):
    x = t64(rng.standard_normal(3))
    out, pull, aux = vjp(lambda x: ({"a": x * 2.0, "b": (fg.sum(x),)}, "note"), x, has_aux=True)
    assert aux == "note"
    (xb,) = pull({"a": t64([1.0, 2.0, 3.0]), "b": (t64(10.0),)})
    close(xb, [12.0, 14.0, 16.0])
    with pytest.raises(ValueError, match="structure"):
        pull({"a": t64([1.0, 2.0, 3.0])})
    with pytest.raises(ValueError, match="shape"):
        pull({"a": t64([1.0, 2.0]), "b": (t64(1.0),)})


def test_vjp_requires_a_primal():
    with pytest.raises(TypeError):
        vjp(lambda: fg.zeros(1))


# ============================================================================ jvp
def test_jvp_matches_finite_differences(rng):
    x = t64(rng.standard_normal((2, 3)))
    u = t64(rng.standard_normal((2, 3)))
    out, tan = jvp(smooth, (x,), (u,))
    fx = via_fg(smooth)
    fd = (fx(npy(x) + EPS * npy(u)) - fx(npy(x) - EPS * npy(u))) / (2 * EPS)
    close(out, fx(npy(x)))
    close(tan, fd, rtol=1e-6, atol=1e-8)


def test_jvp_is_sum_of_partial_jvps(rng):
    Xv, th = t64(rng.standard_normal((3, 4))), t64(rng.standard_normal(4))
    uX, ut = t64(rng.standard_normal((3, 4))), t64(rng.standard_normal(4))
    F = lambda X, th: fg.tanh(X @ th)
    _, both = jvp(F, (Xv, th), (uX, ut))
    _, onlyX = jvp(F, (Xv, th), (uX, fg.zeros_like(ut)))
    _, onlyt = jvp(F, (Xv, th), (fg.zeros_like(uX), ut))
    close(both, npy(onlyX) + npy(onlyt))


def test_jvp_is_forward_mode_single_pass(rng):
    """One evaluation of f per jvp (no VJP-of-VJP trick), and no tape needed."""
    calls = []
    x = t64(rng.standard_normal(4))

    def f(x):
        calls.append(1)
        assert not x.requires_grad
        return fg.exp(x)

    with fg.no_grad():
        _, t = jvp(f, (x,), (fg.ones_like(x),))
    assert len(calls) == 1
    close(t, np.exp(npy(x)))


def test_jvp_pytrees_aux_and_zero_tangents(rng):
    p = {"a": t64(rng.standard_normal(2)), "b": [t64(rng.standard_normal(2))]}
    v = {"a": t64([1.0, 0.0]), "b": [t64([0.0, 1.0])]}
    c = t64([5.0, 6.0])
    out, tan, aux = jvp(lambda p: ((p["a"] * p["b"][0], c), 7), (p,), (v,), has_aux=True)
    assert aux == 7
    close(tan[0], npy(v["a"]) * npy(p["b"][0]) + npy(p["a"]) * npy(v["b"][0]))
    close(tan[1], [0.0, 0.0])  # output independent of the input
    assert isinstance(out, tuple) and isinstance(tan, tuple)


def test_jvp_leaves_user_tensors_alone(rng):
    x = t64(rng.standard_normal(3))
    _, t = jvp(lambda x: x * 3.0, (x,), (fg.ones_like(x),))
    close(t, [3.0, 3.0, 3.0])
    out, t2 = jvp(lambda x: x, (x,), (fg.ones_like(x) * 2.0,))  # identity
    close(t2, [2.0, 2.0, 2.0])
    # the user's tensor carries no tangent afterwards and is still a plain leaf
    _, t3 = jvp(lambda y: y * x, (x,), (fg.ones_like(x),))
    close(t3, npy(x))


def test_jvp_error_cases(rng):
    x = t64(rng.standard_normal(3))
    with pytest.raises(ValueError, match="shape"):
        jvp(fg.sin, (x,), (t64([1.0, 2.0]),))
    with pytest.raises(ValueError, match="2 primals but 1 tangents"):
        jvp(lambda a, b: a * b, (x, x), (x,))
    with pytest.raises(ValueError, match="structure"):
        jvp(lambda p: p[0], ((x, x),), ([x, x],))
    with pytest.raises(TypeError, match="tuple"):
        jvp(fg.sin, {"x": x}, {"x": x})


# ============================================================================ composition
def test_grad_of_grad_and_third_order(rng):
    s = t64(0.7)
    sin = lambda x: fg.sin(x)
    close(grad(sin)(s), np.cos(0.7))
    close(grad(grad(sin))(s), -np.sin(0.7))
    close(grad(grad(grad(sin)))(s), -np.cos(0.7))
    x = t64(rng.standard_normal(3))
    # d/dx Σ d/dx_i f  for f = Σ x_i^3 x_{i+1}
    f = lambda x: fg.sum(x[:-1] ** 3 * x[1:])
    g2 = grad(lambda x: fg.sum(grad(f)(x)))(x)
    H = fd_jac(lambda a: fd_grad(via_fg(f), a, 1e-4), npy(x), 1e-4)
    close(g2, H.sum(0), rtol=1e-5, atol=1e-6)


def test_grad_of_closure_over_outer_input(rng):
    """Mixed partial ∂²f/∂y∂x through a closure (the inner grad does not differentiate y)."""
    x, y = t64(rng.standard_normal(2)), t64(rng.standard_normal(2))
    f = lambda x, y: fg.sum(fg.sin(x * y))
    mixed = grad(lambda y: fg.sum(grad(lambda x: f(x, y))(x)))(y)
    # Σ_i ∂/∂y_j ∂f/∂x_i = ∂/∂y_j [y_j cos(x_j y_j)]
    a, b = npy(x), npy(y)
    close(mixed, np.cos(a * b) - a * b * np.sin(a * b))


def test_jvp_of_grad_forward_over_reverse(rng):
    x = t64(rng.standard_normal(4))
    v = t64(rng.standard_normal(4))
    f = lambda x: fg.sum(fg.exp(x) * fg.sin(x))
    g, hv = jvp(grad(f), (x,), (v,))
    a = npy(x)
    close(g, np.exp(a) * (np.sin(a) + np.cos(a)))
    close(hv, 2 * np.exp(a) * np.cos(a) * npy(v))  # f'' = 2 e^x cos x (diagonal)


def test_grad_of_jvp(rng):
    x = t64(rng.standard_normal(3))
    v = t64(rng.standard_normal(3))
    # g(x) = <∇f(x), v> with f = Σ x^4;  ∇g = H v = 12 x^2 v
    gj = grad(lambda x: jvp(lambda y: fg.sum(y**4), (x,), (v,))[1])(x)
    close(gj, 12 * npy(x) ** 2 * npy(v))
    # gradient w.r.t. the tangent itself: ∂/∂v <∇f, v> = ∇f
    gv = grad(lambda v: jvp(lambda y: fg.sum(y**4), (x,), (v,))[1])(v)
    close(gv, 4 * npy(x) ** 3)


def test_jvp_of_jvp(rng):
    s = t64(0.3)
    one = t64(1.0)
    d2 = jvp(lambda y: jvp(fg.exp, (y,), (one,))[1] * fg.sin(y), (s,), (one,))[1]
    # d/dy [e^y sin y] = e^y (sin y + cos y)
    close(d2, np.exp(0.3) * (np.sin(0.3) + np.cos(0.3)))
    third = jvp(lambda y: jvp(lambda z: jvp(fg.sin, (z,), (one,))[1], (y,), (one,))[1], (s,), (one,))[1]
    close(third, -np.cos(0.3))


def test_grad_of_hvp_matches_finite_differences(rng):
    x = t64(rng.standard_normal(3))
    v = t64(rng.standard_normal(3))
    f = lambda x: fg.sum(fg.sin(x) * x[0] * x)
    phi = lambda x: fg.sum(hvp(f, (x,), (v,)) ** 2)
    g = grad(phi)(x)
    close(g, fd_grad(via_fg(phi), npy(x), 1e-5), rtol=1e-6, atol=1e-7)


def test_torch_style_leaf_requiring_grad_keeps_graph(rng):
    x = t64(rng.standard_normal(3), requires_grad=True)
    g = grad(lambda x: fg.sum(x**3))(x)
    assert g.requires_grad  # differentiable w.r.t. the outer tape
    fg.sum(g).backward()
    close(x.grad, 6 * npy(x))


# ============================================================================ Jacobians
def test_linear_functional_jacobian_rows_are_A_p(rng):
    """G_p(X) = <A_p, X>: J has shape (m,) + X.shape with J[p] = A_p; flatten gives vec(A_p) rows."""
    m = 5
    Xv = t64(rng.standard_normal((3, 4)))
    A = t64(rng.standard_normal((m, 3, 4)))
    G = lambda X: fg.sum(A * X, axis=(1, 2))
    for J in (jacrev(G)(Xv), jacfwd(G)(Xv), jacobian(G)(Xv), jacobian(G, mode="fwd")(Xv)):
        assert J.shape == (m, 3, 4)
        close(J, A)
    for mode in ("rev", "fwd"):
        Jf = jacobian(G, flatten=True, mode=mode)(Xv)
        assert Jf.shape == (m, 12)
        close(Jf, npy(A).reshape(m, 12))
        for p in range(m):
            close(Jf[p], npy(A[p]).reshape(-1))  # row-major vec(∇G_p)


def test_multi_argument_blocks_and_flattened_concatenation(rng):
    Xv = t64(rng.standard_normal((2, 3)))
    th = t64(rng.standard_normal((3, 2)))
    G = lambda X, th: fg.reshape(fg.tanh(X @ th), [-1])  # R^{2x3} x R^{3x2} -> R^4
    JX_fd = fd_jac(lambda a: np.tanh(a @ npy(th)).reshape(-1), npy(Xv))
    Jt_fd = fd_jac(lambda a: np.tanh(npy(Xv) @ a).reshape(-1), npy(th))
    for jac in (jacrev, jacfwd):
        JX, Jt = jac(G, argnums=(0, 1))(Xv, th)
        assert JX.shape == (4, 2, 3) and Jt.shape == (4, 3, 2)
        close(JX, JX_fd, rtol=1e-6, atol=1e-8)
        close(Jt, Jt_fd, rtol=1e-6, atol=1e-8)
    for mode in ("rev", "fwd"):
        J = jacobian(G, argnums=(0, 1), flatten=True, mode=mode)(Xv, th)
        assert J.shape == (4, 6 + 6)
        close(J, np.concatenate([JX_fd.reshape(4, 6), Jt_fd.reshape(4, 6)], axis=1), rtol=1e-6, atol=1e-8)
    # argnums order decides the column order
    J10 = jacobian(G, argnums=(1, 0), flatten=True)(Xv, th)
    close(J10, np.concatenate([Jt_fd.reshape(4, 6), JX_fd.reshape(4, 6)], axis=1), rtol=1e-6, atol=1e-8)


def test_jacobian_of_matrix_output_and_scalar_output(rng):
    x = t64(rng.standard_normal((2, 3)))
    for jac in (jacrev, jacfwd):
        J = jac(smooth)(x)
        assert J.shape == (2, 3, 2, 3)
        close(J, fd_jac(via_fg(smooth), npy(x)), rtol=1e-6, atol=1e-8)
        g = jac(lambda x: fg.sum(smooth(x)))(x)
        assert g.shape == (2, 3)
        close(g, grad(lambda x: fg.sum(smooth(x)))(x))


def test_jacobian_pytree_in_and_out(rng):
    p = {"w": t64(rng.standard_normal(3)), "b": t64(rng.standard_normal(()))}
    x = t64(rng.standard_normal(3))
    F = lambda p: {"y": fg.tanh(p["w"] * x + p["b"]), "s": (fg.sum(p["w"] ** 2),)}
    for jac in (jacrev, jacfwd):
        J = jac(F)(p)
        assert set(J) == {"y", "s"} and set(J["y"]) == {"w", "b"}
        assert J["y"]["w"].shape == (3, 3) and J["y"]["b"].shape == (3,)
        assert J["s"][0]["w"].shape == (3,) and J["s"][0]["b"].shape == ()
        z = npy(p["w"]) * npy(x) + npy(p["b"])
        close(J["y"]["w"], np.diag((1 - np.tanh(z) ** 2) * npy(x)))
        close(J["y"]["b"], 1 - np.tanh(z) ** 2)
        close(J["s"][0]["w"], 2 * npy(p["w"]))
        close(J["s"][0]["b"], 0.0)
    # flattened: rows = outputs in pytree order ("s" then "y"), columns = leaves ("b" then "w")
    Jf = jacobian(F, flatten=True)(p)
    assert Jf.shape == (4, 4)
    J = jacrev(F)(p)
    top = np.concatenate([[npy(J["s"][0]["b"])], npy(J["s"][0]["w"])])
    close(Jf[0], top)
    close(Jf[1:, 0], npy(J["y"]["b"]))
    close(Jf[1:, 1:], npy(J["y"]["w"]))


def test_jacobian_has_aux_and_bad_mode(rng):
    x = t64(rng.standard_normal(2))
    J, aux = jacrev(lambda x: (x * 2.0, "a"), has_aux=True)(x)
    assert aux == "a"
    close(J, 2 * np.eye(2))
    J, aux = jacfwd(lambda x: (x * 2.0, "b"), has_aux=True)(x)
    assert aux == "b"
    close(J, 2 * np.eye(2))
    with pytest.raises(ValueError, match="mode"):
        jacobian(fg.sin, mode="sideways")


def test_jacobians_of_constant_and_scalar_outputs(rng):
    x = t64(rng.standard_normal(3))
    c = t64([1.0, 2.0])
    for jac in (jacrev, jacfwd):
        J = jac(lambda x: c * 1.0)(x)
        assert J.shape == (2, 3)
        close(J, np.zeros((2, 3)))
        Jf = jacobian(lambda x: fg.sum(x * x), flatten=True, mode="rev" if jac is jacrev else "fwd")(x)
        assert Jf.shape == (1, 3)
        close(Jf, 2 * npy(x)[None])
    s = t64(0.4)
    close(jacfwd(fg.sin)(s), np.cos(0.4))
    close(jacrev(fg.sin)(s), np.cos(0.4))
    assert jacrev(fg.sin)(s).shape == ()


def test_values_returned_by_grad_keep_forward_and_reverse_derivatives(rng):
    x = t64(rng.standard_normal(3))
    u = t64(rng.standard_normal(3))
    f = lambda x: fg.sum(fg.sin(x) * x)
    # the value of value_and_grad carries the tangent of an enclosing jvp ...
    _, dv = jvp(lambda x: value_and_grad(f)(x)[0], (x,), (u,))
    a = npy(x)
    close(dv, np.dot(np.sin(a) + a * np.cos(a), npy(u)))
    # ... and is differentiable by an enclosing grad
    g = grad(lambda x: value_and_grad(f)(x)[0] * 2.0)(x)
    close(g, 2 * (np.sin(a) + a * np.cos(a)))
    # vjp inside grad: the primal output and the cotangents stay on the outer tape
    g2 = grad(lambda x: fg.sum(vjp(fg.sin, x)[1](x)[0]))(x)  # d/dx Σ cos(x) x
    close(g2, np.cos(a) - a * np.sin(a))


def test_jvp_inside_grad_with_user_leaf_requiring_grad(rng):
    x = t64(rng.standard_normal(3), requires_grad=True)
    v = t64(rng.standard_normal(3))
    _, t = jvp(lambda y: y**3, (x,), (v,))
    assert t.requires_grad  # recorded on the user's tape
    fg.sum(t).backward()
    close(x.grad, 6 * npy(x) * npy(v))


# ============================================================================ Hessians
def test_hessian_compositions_agree(rng):
    x = t64(rng.standard_normal(4))
    f = lambda x: fg.sum(fg.sin(x) ** 3) + fg.sum(x[:-1] * x[1:] ** 2)
    H = hessian(f)(x)
    assert H.shape == (4, 4)
    close(H, jacfwd(jacrev(f))(x))
    close(H, jacrev(jacrev(f))(x))
    close(H, jacrev(jacfwd(f))(x))
    close(H, jacfwd(jacfwd(f))(x))
    Hfd = fd_jac(lambda a: npy(grad(f)(t64(a))), npy(x))
    close(H, Hfd, rtol=1e-6, atol=1e-7)
    close(H, npy(H).T, rtol=1e-12, atol=1e-12)


def test_hessian_matrix_input_shape(rng):
    W = t64(rng.standard_normal((2, 3)))
    f = lambda W: fg.sum(fg.tanh(W) ** 2)
    H = hessian(f)(W)
    assert H.shape == (2, 3, 2, 3)
    close(H, fd_jac(lambda a: npy(grad(f)(t64(a))), npy(W)), rtol=1e-6, atol=1e-7)


def test_hessian_tuple_argnums_blocks(rng):
    x, y = t64(rng.standard_normal(2)), t64(rng.standard_normal(3))
    f = lambda x, y: fg.sum(fg.sin(x)) * fg.sum(y**2)
    H = hessian(f, argnums=(0, 1))(x, y)
    assert H[0][0].shape == (2, 2) and H[0][1].shape == (2, 3)
    assert H[1][0].shape == (3, 2) and H[1][1].shape == (3, 3)
    a, b = npy(x), npy(y)
    close(H[0][1], 2 * np.outer(np.cos(a), b))
    close(H[1][0], 2 * np.outer(b, np.cos(a)))
    close(H[0][0], np.diag(-np.sin(a)) * np.sum(b**2))
    close(H[1][1], 2 * np.eye(3) * np.sum(np.sin(a)))


def test_hvp_equals_hessian_times_vector(rng):
    W = t64(rng.standard_normal((3, 2)))
    V = t64(rng.standard_normal((3, 2)))
    f = lambda W: fg.mean(fg.tanh(t64(np.arange(6.0).reshape(2, 3) / 6) @ W) ** 2)
    hv = hvp(f, (W,), (V,))
    assert hv.shape == (3, 2)
    H = npy(hessian(f)(W)).reshape(6, 6)
    close(hv, (H @ npy(V).reshape(-1)).reshape(3, 2))
    # several primals: tuple of blocks of the joint Hessian applied to the joint tangent
    x, y = t64(rng.standard_normal(2)), t64(rng.standard_normal(2))
    u, v = t64(rng.standard_normal(2)), t64(rng.standard_normal(2))
    g = lambda x, y: fg.sum(x * x * y)
    hx, hy = hvp(g, (x, y), (u, v))
    Hj = np.block([[np.diag(2 * npy(y)), np.diag(2 * npy(x))], [np.diag(2 * npy(x)), np.zeros((2, 2))]])
    hv_all = Hj @ np.concatenate([npy(u), npy(v)])
    close(hx, hv_all[:2])
    close(hy, hv_all[2:])


def test_hvp_does_not_form_the_hessian(rng):
    """One evaluation of f (one forward, one backward) per HVP."""
    calls = []
    x = t64(rng.standard_normal(50))

    def f(x):
        calls.append(1)
        return fg.sum(fg.sin(x) ** 2)

    hv = hvp(f, (x,), (fg.ones_like(x),))
    assert len(calls) == 1
    close(hv, 2 * np.cos(2 * npy(x)))


# ============================================================================ sharp
def spd(rng, n):
    A = rng.standard_normal((n, n))
    return A @ A.T + n * np.eye(n)


def test_sharp_identity_metric_is_the_cotangent(rng):
    c = t64(rng.standard_normal((2, 3)))
    close(sharp(c, np.eye(6)), c)


def test_sharp_matrix_metric(rng):
    c = {"W": t64(rng.standard_normal((2, 2))), "b": t64(rng.standard_normal(3))}
    G = spd(rng, 7)
    s = sharp(c, fg.tensor(G))
    assert s["W"].shape == (2, 2) and s["b"].shape == (3,)
    # documented order: sorted keys, and "W" < "b" (uppercase sorts first)
    flat = np.concatenate([npy(c["W"]).reshape(-1), npy(c["b"])])
    want = np.linalg.solve(G, flat)
    close(s["W"], want[:4].reshape(2, 2), rtol=1e-10, atol=1e-12)
    close(s["b"], want[4:], rtol=1e-10, atol=1e-12)


def test_sharp_matrix_errors(rng):
    c = t64(rng.standard_normal(3))
    with pytest.raises(ValueError, match="not symmetric positive definite"):
        sharp(c, np.diag([1.0, -1.0, 1.0]))
    bad = spd(rng, 3)
    bad[0, 1] += 1.0
    with pytest.raises(ValueError, match="not symmetric positive definite"):
        sharp(c, bad)
    with pytest.raises(ValueError, match=r"\(4, 4\).*3 entries"):
        sharp(c, np.eye(4))
    with pytest.raises(ValueError, match=r"\(2, 2\).*3 entries"):  # size is checked before factoring
        sharp(c, np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"\(4, 4\).*3 entries"):  # a prepared metric checks at use
        grad(lambda x: fg.sum(x * x), metric=np.eye(4))(c)
    with pytest.raises(ValueError, match="square"):
        sharp(c, np.ones((3, 2)))


def test_sharp_callable_metric_by_cg(rng):
    G = spd(rng, 6)
    c = (t64(rng.standard_normal(2)), t64(rng.standard_normal((2, 2))))

    def Gv(v):  # pytree in, pytree out
        flat = np.concatenate([npy(v[0]), npy(v[1]).reshape(-1)])
        r = G @ flat
        return (t64(r[:2]), t64(r[2:].reshape(2, 2)))

    s = sharp(c, Gv, tol=1e-12)
    want = np.linalg.solve(G, np.concatenate([npy(c[0]), npy(c[1]).reshape(-1)]))
    close(s[0], want[:2], rtol=1e-8, atol=1e-10)
    close(s[1], want[2:].reshape(2, 2), rtol=1e-8, atol=1e-10)
    # a metric given by fastgrad ops, e.g. G = diag(d) + a aᵀ
    d = t64(rng.uniform(1, 2, 4))
    a = t64(rng.standard_normal(4))
    x = t64(rng.standard_normal(4))
    s = sharp(x, lambda v: d * v + a * fg.sum(a * v))
    Gm = np.diag(npy(d)) + np.outer(npy(a), npy(a))
    close(s, np.linalg.solve(Gm, npy(x)), rtol=1e-8, atol=1e-10)


def test_sharp_callable_errors(rng):
    x = t64(rng.standard_normal(3))
    with pytest.raises(ValueError, match="not positive definite"):
        sharp(x, lambda v: -v)
    G = np.diag(np.logspace(0, 8, 3))
    with pytest.raises(RuntimeError, match="did not converge in 1 iterations"):
        sharp(x, lambda v: t64(G @ npy(v)), maxiter=1)


def test_grad_with_metric_returns_sharps(rng):
    x = t64(rng.standard_normal(4))
    G = spd(rng, 4)
    f = lambda x: fg.sum(fg.sin(x) * x)
    gs = grad(f, metric=G)(x)
    close(gs, np.linalg.solve(G, np.sin(npy(x)) + npy(x) * np.cos(npy(x))), rtol=1e-10, atol=1e-12)
    # callable metric and several argnums (metric over the concatenation)
    y = t64(rng.standard_normal(2))
    G6 = spd(rng, 6)
    gx, gy = grad(
        lambda x, y: fg.sum(x**2) + fg.sum(y**3),
        argnums=(0, 1),
        metric=lambda v: (
            t64((G6 @ np.concatenate([npy(v[0]), npy(v[1])]))[:4]),
            t64((G6 @ np.concatenate([npy(v[0]), npy(v[1])]))[4:]),
        ),
    )(x, y)
    want = np.linalg.solve(G6, np.concatenate([2 * npy(x), 3 * npy(y) ** 2]))
    close(gx, want[:4], rtol=1e-8, atol=1e-10)
    close(gy, want[4:], rtol=1e-8, atol=1e-10)


def test_matrix_sharp_is_differentiable(rng):
    x = t64(rng.standard_normal(3))
    G = spd(rng, 3)
    # d/dx Σ (G⁻¹ ∇f)  with f = Σ x^3  ->  diag(6x) G⁻¹ 1
    g = grad(lambda x: fg.sum(grad(lambda y: fg.sum(y**3), metric=G)(x)))(x)
    close(g, 6 * npy(x) * np.linalg.solve(G, np.ones(3)), rtol=1e-9, atol=1e-11)


# ============================================================================ gradcheck
def test_gradcheck_passes_on_correct_derivatives(rng):
    x = fg.tensor(rng.standard_normal((3, 2)).astype(np.float32))  # cast to float64 inside
    W = rng.standard_normal((2, 4))
    assert gradcheck(lambda x, W: fg.tanh(x @ W), x, W)
    assert gradcheck(
        lambda p: {"a": fg.sum(fg.exp(p["u"])), "b": p["u"] * p["v"]},
        {"u": rng.standard_normal(3), "v": rng.standard_normal(3)},
    )


def test_gradcheck_reports_wrong_derivatives(rng):
    x = t64(rng.uniform(0.5, 1.5, (2, 2)))
    # x.detach() * x: the value is x², the recorded derivative only x
    with pytest.raises(GradcheckError, match=r"input 0 element \(0, 0\)") as e:
        gradcheck(lambda x: x.detach() * x, x)
    assert isinstance(e.value, AssertionError)
    assert "analytic" in str(e.value) and "numeric" in str(e.value)
    y = t64([0.5])
    with pytest.raises(GradcheckError, match="input 1"):
        gradcheck(lambda x, y: fg.sum(x) * y.detach() * y, x, y)


# ============================================================================ JAX oracle
@pytest.fixture
def jax_x64():
    jax = pytest.importorskip("jax")
    prev = jax.config.jax_enable_x64  # restored, not reset: other modules enable it for good
    jax.config.update("jax_enable_x64", True)
    yield jax
    jax.config.update("jax_enable_x64", prev)


def _mlp_params(rng):
    return {
        "W1": rng.standard_normal((5, 3)),
        "b1": rng.standard_normal(5),
        "W2": rng.standard_normal((2, 5)),
        "b2": rng.standard_normal(2),
    }


def test_against_jax_grad_jacobians_hessian(rng, jax_x64):
    jax = jax_x64
    jnp = jax.numpy
    P = _mlp_params(rng)
    x = rng.standard_normal(3)

    def mlp_fg(p, x):
        return fg.softmax(p["W2"] @ fg.tanh(p["W1"] @ x + p["b1"]) + p["b2"])

    def mlp_jax(p, x):
        return jax.nn.softmax(p["W2"] @ jnp.tanh(p["W1"] @ x + p["b1"]) + p["b2"])

    pf = {k: t64(v) for k, v in P.items()}
    pj = {k: jnp.asarray(v) for k, v in P.items()}
    xf, xj = t64(x), jnp.asarray(x)
    loss_fg = lambda p, x: -fg.sum(fg.log(mlp_fg(p, x)) * t64([0.3, 0.7]))
    loss_jax = lambda p, x: -jnp.sum(jnp.log(mlp_jax(p, x)) * jnp.array([0.3, 0.7]))

    g_f = grad(loss_fg)(pf, xf)
    g_j = jax.grad(loss_jax)(pj, xj)
    for k in P:
        close(g_f[k], np.asarray(g_j[k]), rtol=1e-10, atol=1e-12)

    for jf, jj in ((jacrev, jax.jacrev), (jacfwd, jax.jacfwd)):
        Jf = jf(mlp_fg, argnums=(0, 1))(pf, xf)
        Jj = jj(mlp_jax, argnums=(0, 1))(pj, xj)
        for k in P:
            close(Jf[0][k], np.asarray(Jj[0][k]), rtol=1e-10, atol=1e-12)
        close(Jf[1], np.asarray(Jj[1]), rtol=1e-10, atol=1e-12)

    Hf = hessian(loss_fg, argnums=1)(pf, xf)
    Hj = jax.hessian(loss_jax, argnums=1)(pj, xj)
    close(Hf, np.asarray(Hj), rtol=1e-9, atol=1e-11)

    v = rng.standard_normal(3)
    hv_f = hvp(lambda x: loss_fg(pf, x), (xf,), (t64(v),))
    hv_j = jax.jvp(jax.grad(lambda x: loss_jax(pj, x)), (xj,), (jnp.asarray(v),))[1]
    close(hv_f, np.asarray(hv_j), rtol=1e-9, atol=1e-11)

    out_f, pull = vjp(mlp_fg, pf, xf)
    out_j, pull_j = jax.vjp(mlp_jax, pj, xj)
    w = rng.standard_normal(2)
    cf, cj = pull(t64(w)), pull_j(jnp.asarray(w))
    for k in P:
        close(cf[0][k], np.asarray(cj[0][k]), rtol=1e-10, atol=1e-12)
    close(cf[1], np.asarray(cj[1]), rtol=1e-10, atol=1e-12)

    tp = {k: rng.standard_normal(np.shape(v)) for k, v in P.items()}
    _, tf = jvp(mlp_fg, (pf, xf), ({k: t64(v) for k, v in tp.items()}, t64(x * 0 + 1)))
    _, tj = jax.jvp(mlp_jax, (pj, xj), ({k: jnp.asarray(v) for k, v in tp.items()}, jnp.ones(3)))
    close(tf, np.asarray(tj), rtol=1e-10, atol=1e-12)


def test_against_jax_higher_order_compositions(rng, jax_x64):
    jax = jax_x64
    jnp = jax.numpy
    x = rng.standard_normal(3)
    v = rng.standard_normal(3)
    f_fg = lambda x: fg.sum(fg.exp(x[:2] * x[1:]) * fg.sin(x[0]))
    f_j = lambda x: jnp.sum(jnp.exp(x[:2] * x[1:]) * jnp.sin(x[0]))
    c = jvp(grad(lambda x: fg.sum(grad(f_fg)(x) ** 2)), (t64(x),), (t64(v),))[1]
    d = jax.jvp(jax.grad(lambda x: jnp.sum(jax.grad(f_j)(x) ** 2)), (jnp.asarray(x),), (jnp.asarray(v),))[1]
    close(c, np.asarray(d), rtol=1e-9, atol=1e-11)
    e = jacfwd(jacrev(jacrev(f_fg)))(t64(x))
    g = jax.jacfwd(jax.jacrev(jax.jacrev(f_j)))(jnp.asarray(x))
    close(e, np.asarray(g), rtol=1e-9, atol=1e-11)


# ============================================================================ reverse-over-forward
# grad of jvp / hvp through primitives whose JVP rule reads the primitive's output (exp,
# tanh, sigmoid, softmax, sqrt): d(tangent)/d(primal) must include the path through
# that output.
@pytest.mark.parametrize("fn", ["exp", "tanh", "sigmoid", "softmax", "sqrt"])
def test_grad_of_jvp_through_rules_reading_outputs(rng, fn):
    x = t64(rng.uniform(0.5, 1.5, 4))
    v = t64(rng.standard_normal(4))
    op = getattr(fg, fn)
    w = t64(rng.standard_normal(4))
    chi = lambda x: fg.sum(jvp(op, (x,), (v,))[1] * w)  # <w, J(x) v>
    close(grad(chi)(x), fd_grad(via_fg(chi), npy(x)), rtol=1e-6, atol=1e-8)


def test_grad_of_hvp_against_jax(rng, jax_x64):
    jax = jax_x64
    jnp = jax.numpy
    x = rng.standard_normal(3)
    v = rng.standard_normal(3)
    f_fg = lambda x: fg.sum(fg.exp(x[:2] * x[1:]) * fg.sin(x[0]))
    f_j = lambda x: jnp.sum(jnp.exp(x[:2] * x[1:]) * jnp.sin(x[0]))
    a = grad(lambda x: fg.sum(hvp(f_fg, (x,), (t64(v),)) ** 2))(t64(x))
    b = jax.grad(lambda x: jnp.sum(jax.jvp(jax.grad(f_j), (x,), (jnp.asarray(v),))[1] ** 2))(jnp.asarray(x))
    close(a, np.asarray(b), rtol=1e-9, atol=1e-11)


def _leaks(fn, n=10):
    fn()
    gc.collect()
    t0, n0 = C.live_tensors(), C.live_nodes()
    for _ in range(n):
        fn()
    gc.collect()
    return C.live_tensors() - t0, C.live_nodes() - n0


def test_transforms_free_everything(rng):
    x = t64(rng.standard_normal(3))
    v = t64(rng.standard_normal(3))
    f = lambda x: fg.sum(fg.exp(x) * fg.sin(x))
    for fn in (
        lambda: grad(f)(x),
        lambda: jvp(f, (x,), (v,)),
        lambda: hvp(f, (x,), (v,)),
        lambda: grad(lambda x: fg.sum(grad(f)(x)))(x),
        lambda: jacrev(fg.exp)(x),
        lambda: jacfwd(fg.exp)(x),
        lambda: hessian(f)(x),
        lambda: vjp(fg.exp, x)[1](v),
    ):
        assert _leaks(fn) == (0, 0)


def test_grad_through_tangent_frees_everything(rng):
    """grad w.r.t. a jvp tangent records rules that hold the outputs: tangents must be
    dropped when the level is popped, or out -> tangent -> node -> out cycles leak."""
    x = t64(rng.standard_normal(3))
    v = t64(rng.standard_normal(3))
    f = lambda x: fg.sum(fg.exp(x))
    assert _leaks(lambda: grad(lambda v: jvp(f, (x,), (v,))[1])(v)) == (0, 0)
    assert _leaks(lambda: grad(lambda x: jvp(f, (x,), (v,))[1])(x)) == (0, 0)


def test_grad_at_a_point_whose_producing_graph_was_freed(rng):
    """A tensor on a tape whose graph was already consumed by backward(): the inner
    backward only needs the path to the input, not the graph behind it."""
    x = t64(rng.standard_normal(3), requires_grad=True)
    y = fg.sin(x)
    fg.sum(y).backward()
    close(grad(lambda y: fg.sum(y * y))(y), 2 * np.sin(npy(x)))


def test_jit_returns_the_function_and_accepts_jax_options():
    def f(x):
        return fg.sum(fg.tanh(x) ** 2)

    assert fg.jit(f) is f
    assert fg.jit(static_argnums=0)(f) is f
    x = fg.tensor([0.5, -1.0])
    np.testing.assert_allclose(np.asarray(fg.jit(fg.grad(f))(x)), np.asarray(fg.grad(f)(x)))
    with pytest.raises(TypeError, match="jit"):
        fg.jit(3)
