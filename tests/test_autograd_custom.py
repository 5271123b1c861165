"""fg.custom_vjp / fg.custom_jvp (JAX's semantics) against jax: residuals, nondiff_argnums,
pytrees, higher derivatives through the rules, forward mode, transposed JVP rules, errors."""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import fastgrad as fg

jax.config.update("jax_enable_x64", True)

X = np.array([0.3, -1.2, 2.0])
Y = np.array([1.5, 0.4, -0.7])


def t64(a):
    return fg.tensor(np.asarray(a, np.float64))


def n(t):
    return np.asarray(t.detach())


# ------------------------------------------------------------------ custom_vjp
def _sin_mul(lib):
    """sin(x)·y with a hand-written VJP; residuals (cos x, sin x, y)."""
    m = fg if lib == "fg" else jnp
    cv = fg.custom_vjp if lib == "fg" else jax.custom_vjp
    calls = {"fun": 0, "fwd": 0, "bwd": 0}

    @cv
    def f(x, y):
        calls["fun"] += 1
        return m.sin(x) * y

    def f_fwd(x, y):
        calls["fwd"] += 1
        return f(x, y), (m.cos(x), m.sin(x), y)

    def f_bwd(res, g):
        calls["bwd"] += 1
        c, s, y = res
        return (c * g * y, s * g)

    f.defvjp(f_fwd, f_bwd)
    return f, calls


def test_custom_vjp_gradients_match_jax():
    f, calls = _sin_mul("fg")
    jf, _ = _sin_mul("jax")
    gx, gy = fg.grad(lambda x, y: f(x, y).sum(), argnums=(0, 1))(t64(X), t64(Y))
    jx, jy = jax.grad(lambda x, y: jf(x, y).sum(), argnums=(0, 1))(X, Y)
    np.testing.assert_allclose(n(gx), jx, rtol=1e-14)
    np.testing.assert_allclose(n(gy), jy, rtol=1e-14)
    assert calls["fwd"] == 1 and calls["bwd"] == 1
    calls["fun"] = 0
    np.testing.assert_allclose(n(f(t64(X), t64(Y))), np.sin(X) * Y, rtol=1e-15)  # no transform: fun
    assert calls == {"fun": 1, "fwd": 1, "bwd": 1}


def test_custom_vjp_second_derivative_flows_through_residuals_like_jax():
    f, _ = _sin_mul("fg")
    jf, _ = _sin_mul("jax")
    y = t64(Y)
    h = fg.grad(lambda x: fg.grad(lambda z: f(z, y).sum())(x).sum())(t64(X))
    jh = jax.grad(lambda x: jax.grad(lambda z: jf(z, Y).sum())(x).sum())(X)
    np.testing.assert_allclose(n(h), jh, rtol=1e-14)
    H = fg.jacrev(fg.grad(lambda x: f(x, y).sum()))(t64(X))
    np.testing.assert_allclose(n(H), jax.jacrev(jax.grad(lambda x: jf(x, Y).sum()))(X), rtol=1e-14)


def test_custom_vjp_clip_gradient_with_nondiff_argnums_like_jax():
    """JAX's documented clip_gradient: identity forward, cotangent clipped to [lo, hi]."""
    results = []
    for lib in ("fg", "jax"):
        m = fg if lib == "fg" else jnp
        cv = fg.custom_vjp if lib == "fg" else jax.custom_vjp

        @partial(cv, nondiff_argnums=(0, 1))
        def clip_gradient(lo, hi, x):
            return x

        def fwd(lo, hi, x):
            return x, None

        def bwd(lo, hi, _, g):
            return (m.clip(g, lo, hi),)

        clip_gradient.defvjp(fwd, bwd)
        gfun = fg.grad if lib == "fg" else jax.grad
        x = t64(X) if lib == "fg" else X
        g = gfun(lambda x: (clip_gradient(-0.5, 1.0, x) * m.asarray([3.0, -2.0, 0.25])).sum())(x)
        results.append(np.asarray(n(g) if lib == "fg" else g))
    np.testing.assert_array_equal(results[0], results[1])
    np.testing.assert_array_equal(results[0], [1.0, -0.5, 0.25])


def test_custom_vjp_pytree_arguments_and_outputs():
    @fg.custom_vjp
    def f(p):
        return {"s": p["a"] * p["b"], "t": fg.exp(p["a"])}

    def fwd(p):
        return f(p), (p["a"], p["b"], fg.exp(p["a"]))

    def bwd(res, g):
        a, b, ea = res
        return ({"a": g["s"] * b + g["t"] * ea, "b": g["s"] * a},)

    f.defvjp(fwd, bwd)

    @jax.custom_vjp
    def jf(p):
        return {"s": p["a"] * p["b"], "t": jnp.exp(p["a"])}

    jf.defvjp(
        lambda p: (jf(p), (p["a"], p["b"], jnp.exp(p["a"]))),
        lambda r, g: ({"a": g["s"] * r[1] + g["t"] * r[2], "b": g["s"] * r[0]},),
    )
    g = fg.grad(lambda p: (f(p)["s"] * 2 + f(p)["t"]).sum())({"a": t64(X), "b": t64(Y)})
    jg = jax.grad(lambda p: (jf(p)["s"] * 2 + jf(p)["t"]).sum())({"a": X, "b": Y})
    for k in ("a", "b"):
        np.testing.assert_allclose(n(g[k]), jg[k], rtol=1e-14)


def test_custom_vjp_forward_mode_raises_like_jax():
    f, _ = _sin_mul("fg")
    with pytest.raises(
        TypeError, match="can't apply forward-mode autodiff \\(jvp\\) to a custom_vjp function"
    ):
        fg.jvp(lambda x: f(x, t64(Y)), (t64(X),), (t64(X),))
    jf, _ = _sin_mul("jax")
    with pytest.raises(
        TypeError, match="can't apply forward-mode autodiff \\(jvp\\) to a custom_vjp function"
    ):
        jax.jvp(lambda x: jf(x, Y), (X,), (X,))


def test_custom_vjp_errors():
    @fg.custom_vjp
    def f(x, y):
        return x * y

    with pytest.raises(AttributeError, match="No VJP defined for custom_vjp function f using defvjp"):
        fg.grad(lambda x: f(x, t64(Y)).sum())(t64(X))
    f.defvjp(lambda x, y: x * y, lambda r, g: (g, g))
    with pytest.raises(TypeError, match="fwd rule f must produce a pair"):
        fg.grad(lambda x: f(x, t64(Y)).sum())(t64(X))
    f.defvjp(lambda x, y: (x * y, None), lambda r, g: (g,))
    with pytest.raises(
        TypeError,
        match="bwd rule f must produce a tuple of length equal to the number of differentiable arguments \\(2\\)",
    ):
        fg.grad(lambda x: f(x, t64(Y)).sum())(t64(X))
    f.defvjp(lambda x, y: (x * y, None), lambda r, g: (g[:2], g))
    with pytest.raises(
        ValueError, match="the cotangent of input leaf 0 has shape \\(2,\\) but its primal has shape \\(3,\\)"
    ):
        fg.grad(lambda x: f(x, t64(Y)).sum())(t64(X))


def test_custom_vjp_with_torch_style_backward():
    f, _ = _sin_mul("fg")
    x, y = t64(X), t64(Y)
    x.requires_grad = True
    f(x, y).sum().backward()
    np.testing.assert_allclose(n(x.grad), np.cos(X) * Y, rtol=1e-15)


# ------------------------------------------------------------------ custom_jvp
def _log1pexp(lib):
    """JAX's documented example: log(1 + eˣ) with a JVP that stays finite for large x."""
    m = fg if lib == "fg" else jnp
    cj = fg.custom_jvp if lib == "fg" else jax.custom_jvp

    @cj
    def log1pexp(x):
        return m.log(1.0 + m.exp(x))

    @log1pexp.defjvp
    def log1pexp_jvp(primals, tangents):
        (x,), (t,) = primals, tangents
        return log1pexp(x), t * (1 - 1 / (1 + m.exp(x)))

    return log1pexp


XL = np.array([0.0, 2.0, -3.0, 100.0])


def test_custom_jvp_forward_mode_matches_jax():
    f, jf = _log1pexp("fg"), _log1pexp("jax")
    v = np.array([1.0, -2.0, 0.5, 3.0])
    out, t = fg.jvp(f, (t64(XL),), (t64(v),))
    jout, jt = jax.jvp(jf, (XL,), (v,))
    np.testing.assert_allclose(n(out), jout, rtol=1e-15)
    np.testing.assert_allclose(n(t), jt, rtol=1e-15)
    assert np.isfinite(n(t)).all()


def test_custom_jvp_reverse_mode_transposes_the_rule_like_jax():
    f, jf = _log1pexp("fg"), _log1pexp("jax")
    g = fg.grad(lambda x: f(x).sum())(t64(XL))
    jg = jax.grad(lambda x: jf(x).sum())(XL)
    np.testing.assert_allclose(n(g), jg, rtol=1e-15)
    assert n(g)[-1] == 1.0  # the plain formula would give nan at x = 100
    x = t64(XL)
    x.requires_grad = True
    f(x).sum().backward()
    np.testing.assert_allclose(n(x.grad), jg, rtol=1e-15)


def test_custom_jvp_second_derivatives_match_jax():
    f, jf = _log1pexp("fg"), _log1pexp("jax")
    xs = XL[:3]
    h = fg.grad(lambda x: fg.grad(lambda z: f(z).sum())(x).sum())(t64(xs))
    jh = jax.grad(lambda x: jax.grad(lambda z: jf(z).sum())(x).sum())(xs)
    np.testing.assert_allclose(n(h), jh, rtol=1e-13)
    H = fg.hessian(lambda x: f(x).sum())(t64(xs))
    np.testing.assert_allclose(n(H), jax.hessian(lambda x: jf(x).sum())(xs), rtol=1e-13)


def test_custom_jvp_nondiff_argnums_and_defjvps_like_jax():
    res = []
    for lib in ("fg", "jax"):
        m = fg if lib == "fg" else jnp
        cj = fg.custom_jvp if lib == "fg" else jax.custom_jvp

        @partial(cj, nondiff_argnums=(0,))
        def scaled_sin(k, x, y):
            return k * m.sin(x) * y

        @scaled_sin.defjvp
        def _(k, primals, tangents):
            (x, y), (tx, ty) = primals, tangents
            return scaled_sin(k, x, y), k * (m.cos(x) * y * tx + m.sin(x) * ty)

        @cj
        def mul(x, y):
            return x * y

        mul.defjvps(lambda tx, ans, x, y: tx * y, lambda ty, ans, x, y: x * ty)
        a, b = (t64(X), t64(Y)) if lib == "fg" else (X, Y)
        jvp = fg.jvp if lib == "fg" else jax.jvp
        gr = fg.grad if lib == "fg" else jax.grad
        _, t1 = jvp(lambda x, y: scaled_sin(2.5, x, y), (a, b), (a, b))
        g1 = gr(lambda x, y: scaled_sin(2.5, x, y).sum(), argnums=(0, 1))(a, b)
        _, t2 = jvp(mul, (a, b), (b, a))
        g2 = gr(lambda x, y: mul(x, y).sum(), argnums=(0, 1))(a, b)
        res.append([np.asarray(n(v) if lib == "fg" else v) for v in (t1, *g1, t2, *g2)])
    for u, v in zip(*res):
        np.testing.assert_allclose(u, v, rtol=1e-14)


def test_custom_jvp_gradcheck_and_untransformed_call():
    calls = []

    @fg.custom_jvp
    def cube(x):
        calls.append(1)
        return x * x * x

    cube.defjvp(lambda p, t: (cube(p[0]), 3 * p[0] * p[0] * t[0]))
    assert fg.gradcheck(cube, t64(X))
    calls.clear()
    np.testing.assert_allclose(n(cube(t64(X))), X**3, rtol=1e-15)
    assert calls == [1]
    with pytest.raises(AttributeError, match="No JVP defined for custom_jvp function g using defjvp"):

        @fg.custom_jvp
        def g(x):
            return x

        fg.jvp(g, (t64(X),), (t64(X),))


def test_graphs_through_custom_rules_are_freed():
    import gc

    def counts():
        gc.collect()
        return fg._C.live_tensors(), fg._C.live_nodes()

    f, _ = _sin_mul("fg")
    g = _log1pexp("fg")
    base = counts()
    yc = [t64(Y)]
    for _ in range(3):
        fg.grad(lambda x: fg.grad(lambda z: (f(z, yc[0]) * g(z)).sum())(x).sum())(t64(X))
        fg.hessian(lambda x: g(x).sum())(t64(X))
    del yc[0]
    assert counts() == base
