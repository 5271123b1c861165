"""fg.autograd.Function (PyTorch's custom functions): user rules for backward, double
backward and forward mode, ctx's saving/marking API, the errors torch raises, threads and
exceptions raised inside a user's backward. torch is the oracle where it has the case."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

import fastgrad as fg
from fastgrad.autograd import Function, once_differentiable


def t64(a, requires_grad=False):
    return fg.tensor(np.asarray(a, np.float64), requires_grad=requires_grad)


def n(t):
    return np.asarray(t.detach())


X = np.array([[0.3, -0.7, 1.2], [0.9, -1.4, 0.05]])


# ------------------------------------------------------------------ the functions
class LegendrePolynomial3(Function):
    """The PyTorch custom-function tutorial's P3(x) = ½(5x³ − 3x)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return 0.5 * (5 * x**3 - 3 * x)

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * 1.5 * (5 * x**2 - 1)

    @staticmethod
    def jvp(ctx, t):
        (x,) = ctx.saved_tensors
        return t * 1.5 * (5 * x**2 - 1)


class TorchP3(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return 0.5 * (5 * x**3 - 3 * x)

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * 1.5 * (5 * x**2 - 1)


class Exp(Function):
    @staticmethod
    def forward(ctx, x):
        y = fg.exp(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * y

    @staticmethod
    def jvp(ctx, t):
        (y,) = ctx.saved_tensors
        return t * y


class StraightThrough(Function):
    """round(x) forward, identity gradient clipped to |x| ≤ 1 (a straight-through estimator)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return fg.round(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * (fg.abs(x) <= 1).astype(g.dtype)


class TorchStraightThrough(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.round(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * (x.abs() <= 1).to(g.dtype)


class SumProd(Function):
    """Two outputs: (x + y, x * y)."""

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return x + y, x * y

    @staticmethod
    def backward(ctx, gs, gp):
        x, y = ctx.saved_tensors
        return gs + gp * y, gs + gp * x

    @staticmethod
    def jvp(ctx, tx, ty):
        x, y = ctx.saved_tensors
        return tx + ty, tx * y + x * ty


# ------------------------------------------------------------------ values and gradients
def test_legendre_matches_torch_and_its_formula():
    x = t64(X, True)
    y = LegendrePolynomial3.apply(x)
    assert y.grad_fn == "LegendrePolynomial3" and y.requires_grad and not x.grad
    w = np.random.default_rng(0).standard_normal(X.shape)
    y.backward(t64(w))
    xt = torch.tensor(X, requires_grad=True)
    yt = TorchP3.apply(xt)
    yt.backward(torch.tensor(w))
    np.testing.assert_allclose(n(y), yt.detach().numpy(), rtol=1e-15)
    np.testing.assert_allclose(n(x.grad), xt.grad.numpy(), rtol=1e-15)
    np.testing.assert_allclose(n(x.grad), w * 1.5 * (5 * X**2 - 1), rtol=1e-14)


def test_legendre_in_a_training_step_like_the_tutorial():
    """The tutorial fits a + b·P3(c + d·x) to sin(x); one step of it, against torch."""
    xs = np.linspace(-np.pi, np.pi, 50)
    params = [0.1, -0.9, 0.2, 0.35]
    fa, fb, fc, fd = (t64(p, True) for p in params)
    ta, tb, tc, td = (torch.tensor(p, dtype=torch.float64, requires_grad=True) for p in params)
    xf, xt = t64(xs), torch.tensor(xs)
    lf = ((fa + fb * LegendrePolynomial3.apply(fc + fd * xf) - fg.sin(xf)) ** 2).sum()
    lt = ((ta + tb * TorchP3.apply(tc + td * xt) - torch.sin(xt)) ** 2).sum()
    lf.backward()
    lt.backward()
    np.testing.assert_allclose(float(lf), float(lt.detach()), rtol=1e-13)
    for f, t in zip((fa, fb, fc, fd), (ta, tb, tc, td)):
        np.testing.assert_allclose(float(f.grad), float(t.grad), rtol=1e-12)


def test_exp_saving_its_output_double_backward():
    x = t64(X, True)
    y = Exp.apply(x)
    (g,) = fg.autograd.grad(y.sum(), x, create_graph=True)
    np.testing.assert_allclose(n(g), np.exp(X), rtol=1e-15)
    assert g.requires_grad
    (h,) = fg.autograd.grad((g * g).sum(), x)
    np.testing.assert_allclose(n(h), 2 * np.exp(2 * X), rtol=1e-14)


def test_legendre_double_backward_and_hvp():
    x = t64(X, True)
    (g,) = fg.autograd.grad(LegendrePolynomial3.apply(x).sum(), x, create_graph=True)
    (h,) = fg.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(n(h), 15 * X, rtol=1e-14)
    v = np.random.default_rng(1).standard_normal(X.shape)
    hv = fg.hvp(lambda z: LegendrePolynomial3.apply(z).sum(), (t64(X),), (t64(v),))
    np.testing.assert_allclose(n(hv), 15 * X * v, rtol=1e-14)


def test_straight_through_matches_torch():
    xs = np.array([-1.7, -0.6, -0.2, 0.4, 0.5001, 1.3, 2.6])
    x = t64(xs, True)
    y = StraightThrough.apply(x)
    (y * t64(np.arange(7.0))).sum().backward()
    xt = torch.tensor(xs, requires_grad=True)
    (TorchStraightThrough.apply(xt) * torch.arange(7.0, dtype=torch.float64)).sum().backward()
    np.testing.assert_array_equal(n(y), np.round(xs))
    np.testing.assert_array_equal(n(x.grad), xt.grad.numpy())
    np.testing.assert_array_equal(n(x.grad), np.arange(7.0) * (np.abs(xs) <= 1))


def test_multiple_outputs_and_an_unused_one_gets_zeros():
    a, b = np.array([1.0, 2.0, -3.0]), np.array([0.5, -4.0, 2.0])
    x, y = t64(a, True), t64(b, True)
    s, p = SumProd.apply(x, y)
    assert s.grad_fn == p.grad_fn == "SumProd"
    (2 * s + 3 * p).sum().backward()
    np.testing.assert_allclose(n(x.grad), 2 + 3 * b)
    np.testing.assert_allclose(n(y.grad), 2 + 3 * a)
    x.grad = y.grad = None
    seen = []

    class Record(SumProd):
        @staticmethod
        def backward(ctx, gs, gp):
            seen.append((gs, gp))
            return SumProd.backward(ctx, gs, gp)

    _, p = Record.apply(x, y)
    p.sum().backward()  # the sum output got no gradient: zeros of its shape
    gs, gp = seen[0]
    np.testing.assert_array_equal(n(gs), np.zeros(3))
    np.testing.assert_array_equal(n(gp), np.ones(3))
    np.testing.assert_allclose(n(x.grad), b)


def test_set_materialize_grads_false_passes_none():
    seen = []

    class Two(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.set_materialize_grads(False)
            return x * 2, x * 3

        @staticmethod
        def backward(ctx, g1, g2):
            seen.append((g1, g2))
            return g1 * 2 if g1 is not None else g2 * 3

    x = t64([1.0, 2.0], True)
    a, b = Two.apply(x)
    b.sum().backward()
    assert seen[0][0] is None and n(seen[0][1]).tolist() == [1.0, 1.0]
    np.testing.assert_array_equal(n(x.grad), [3.0, 3.0])


def test_non_tensor_arguments_and_needs_input_grad():
    got = {}

    class Scale(Function):
        @staticmethod
        def forward(ctx, x, k, y, name):
            got["needs"] = ctx.needs_input_grad
            ctx.k = k
            ctx.name = name
            return x * k + y

        @staticmethod
        def backward(ctx, g):
            assert ctx.name == "scale"
            return g * ctx.k, None, g, None

    x, y = t64([1.0, 2.0], True), t64([3.0, 4.0])
    out = Scale.apply(x, 2.5, y, "scale")
    assert got["needs"] == (True, False, False, False)
    out.sum().backward()
    np.testing.assert_array_equal(n(x.grad), [2.5, 2.5])
    assert y.grad is None
    with fg.no_grad():
        r = Scale.apply(x, 2.0, y, "scale")
    assert got["needs"] == (False, False, False, False) and not r.requires_grad


def test_setup_context_style_with_keywords():
    class MulAdd(Function):
        @staticmethod
        def forward(x, y, alpha=1.0):
            return x * y + alpha * x

        @staticmethod
        def setup_context(ctx, inputs, output):
            x, y, alpha = inputs
            ctx.save_for_backward(x, y)
            ctx.alpha = alpha

        @staticmethod
        def backward(ctx, g):
            x, y = ctx.saved_tensors
            return g * (y + ctx.alpha), g * x, None

    a, b = np.array([1.0, -2.0]), np.array([3.0, 0.5])
    x, y = t64(a, True), t64(b, True)
    out = MulAdd.apply(x, y=y, alpha=4.0)
    np.testing.assert_allclose(n(out), a * b + 4 * a)
    out.sum().backward()
    np.testing.assert_allclose(n(x.grad), b + 4)
    np.testing.assert_allclose(n(y.grad), a)
    x.grad = None
    MulAdd.apply(x, y).sum().backward()  # the default alpha is an input too (torch binds it)
    np.testing.assert_allclose(n(x.grad), b + 1)


def test_mark_non_differentiable_output():
    class SortWithRank(Function):
        @staticmethod
        def forward(ctx, x):
            v, i = x.sort()
            r = i.astype(x.dtype)
            ctx.mark_non_differentiable(r)
            ctx.save_for_backward(i)
            return v, r

        @staticmethod
        def backward(ctx, gv, gr):
            (i,) = ctx.saved_tensors
            np.testing.assert_array_equal(n(gr), np.zeros(3))  # materialized for the marked output
            return gv[i.argsort()]  # undoes the permutation

    x = t64([3.0, 1.0, 2.0], True)
    v, r = SortWithRank.apply(x)
    assert v.requires_grad and not r.requires_grad and r.grad_fn is None
    (v * t64([10.0, 20.0, 30.0])).sum().backward()
    np.testing.assert_array_equal(n(x.grad), [30.0, 10.0, 20.0])


def test_broadcast_gradient_is_summed_to_the_input_shape():
    class AddRow(Function):
        @staticmethod
        def forward(ctx, x, b):
            return x + b

        @staticmethod
        def backward(ctx, g):
            return g, g  # b's gradient has x's shape; torch sums it down too

    x, b = t64(np.ones((2, 3)), True), t64([1.0, 2.0, 3.0], True)
    AddRow.apply(x, b).sum().backward()
    np.testing.assert_array_equal(n(b.grad), [2.0, 2.0, 2.0])


def test_returning_an_input_gives_a_new_tensor_on_the_tape():
    class Identity(Function):
        @staticmethod
        def forward(ctx, x):
            return x

        @staticmethod
        def backward(ctx, g):
            return 2 * g

    x = t64([1.0, 2.0], True)
    y = Identity.apply(x)
    assert y is not x and y.grad_fn == "Identity" and x.is_leaf
    y.sum().backward()
    np.testing.assert_array_equal(n(x.grad), [2.0, 2.0])


def test_forward_may_use_numpy_inside_transforms():
    class NpSin(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return fg.tensor(np.sin(x.numpy()))

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * fg.cos(x)

        @staticmethod
        def jvp(ctx, t):
            (x,) = ctx.saved_tensors
            return t * fg.cos(x)

    g = fg.grad(lambda z: NpSin.apply(z).sum())(t64(X))
    np.testing.assert_allclose(n(g), np.cos(X), rtol=1e-15)
    _, t = fg.jvp(NpSin.apply, (t64(X),), (t64(np.ones_like(X)),))
    np.testing.assert_allclose(n(t), np.cos(X), rtol=1e-15)


# ------------------------------------------------------------------ forward mode
def test_jvp_and_jacfwd_use_the_jvp_rule():
    v = np.random.default_rng(2).standard_normal(X.shape)
    out, t = fg.jvp(LegendrePolynomial3.apply, (t64(X),), (t64(v),))
    np.testing.assert_allclose(n(out), 0.5 * (5 * X**3 - 3 * X), rtol=1e-15)
    np.testing.assert_allclose(n(t), v * 1.5 * (5 * X**2 - 1), rtol=1e-14)
    a, b = np.array([1.0, 2.0]), np.array([-3.0, 0.5])
    (s, p), (ts, tp) = fg.jvp(SumProd.apply, (t64(a), t64(b)), (t64([1.0, 0.0]), t64([0.0, 1.0])))
    np.testing.assert_allclose(n(ts), [1.0, 1.0])
    np.testing.assert_allclose(n(tp), [b[0], a[1]])
    J = fg.jacfwd(Exp.apply)(t64([0.5, -1.0]))
    np.testing.assert_allclose(n(J), np.diag(np.exp([0.5, -1.0])), rtol=1e-15)


def test_jvp_rule_not_the_forward_ops_gives_the_tangent():
    """Forward mode must use jvp even where forward's ops would differentiate: a deliberately
    different rule shows which one ran."""

    class Twice(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1.0

        @staticmethod
        def backward(ctx, g):
            return g

        @staticmethod
        def jvp(ctx, t):
            return 2 * t

    _, t = fg.jvp(Twice.apply, (t64([1.0, 2.0]),), (t64([1.0, 1.0]),))
    np.testing.assert_array_equal(n(t), [2.0, 2.0])


def test_forward_mode_without_jvp_raises_naming_the_function():
    with pytest.raises(RuntimeError, match="StraightThrough: forward-mode AD .* without a jvp rule"):
        fg.jvp(StraightThrough.apply, (t64([0.2]),), (t64([1.0]),))


@pytest.mark.parametrize("fn", [LegendrePolynomial3, Exp])
def test_gradcheck_against_finite_differences(fn):
    assert fg.gradcheck(fn.apply, t64(X))
    assert fg.gradcheck(lambda a, b: SumProd.apply(a, b), t64(X), t64(X[::-1].copy()))


# ------------------------------------------------------------------ errors
def test_modified_saved_input_raises_before_backward_runs():
    x = t64(X, True)
    with fg.no_grad():
        h = x * 1.0
    h.requires_grad = True
    y = LegendrePolynomial3.apply(h)
    with fg.no_grad():
        h.mul_(2.0)
    with pytest.raises(
        RuntimeError, match="input 0 of LegendrePolynomial3 .* modified by an in-place operation"
    ):
        y.sum().backward()


def test_modified_saved_intermediate_raises():
    W = t64([2.0, 3.0])

    class ScaleByW(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(W)  # neither an input nor an output
            return x * W

        @staticmethod
        def backward(ctx, g):
            (w,) = ctx.saved_tensors
            return g * w

    x = t64([1.0, 1.0], True)
    ScaleByW.apply(x).sum().backward()
    np.testing.assert_array_equal(n(x.grad), [2.0, 3.0])
    y = ScaleByW.apply(x)
    W.mul_(2.0)
    with pytest.raises(
        RuntimeError,
        match=r"ScaleByWBackward: one of the variables needed for gradient computation has been modified by an "
        r"inplace operation: saved tensor 0 \(shape \(2,\)\) is at version 1; expected version 0",
    ):
        y.sum().backward()


def test_saved_inputs_are_released_by_backward():
    """After a backward without retain_graph the node keeps no saved input alive: the
    graph left behind y holds as many tensors as for a Function that saves nothing."""

    class Double(Function):
        @staticmethod
        def forward(ctx, x):
            return 2 * x

        @staticmethod
        def backward(ctx, g):
            return 2 * g

    def live_after_backward(fn):
        import gc

        x = t64(np.ones(1000), True)
        z = fn.apply(x * 2.0)  # x * 2 lives only on the tape (and as a saved input)
        z.sum().backward()
        gc.collect()
        live = fg._C.live_tensors()  # z, and the node behind it, still alive here
        del z
        return live

    assert live_after_backward(LegendrePolynomial3) == live_after_backward(Double)


def test_modified_saved_output_raises():
    x = t64(X, True)
    y = Exp.apply(x)
    with fg.no_grad():
        y.mul_(2.0)
    with pytest.raises(RuntimeError, match="output 0 of Exp .* modified by an in-place operation"):
        y.sum().backward()


def test_unsaved_input_may_change_in_place():
    class Double(Function):
        @staticmethod
        def forward(ctx, x):
            return 2 * x

        @staticmethod
        def backward(ctx, g):
            return 2 * g

    x = t64([1.0, 2.0], True)
    with fg.no_grad():
        h = x * 1.0
    h.requires_grad = True
    y = Double.apply(h)
    with fg.no_grad():
        h.add_(1.0)
    y.sum().backward()
    np.testing.assert_array_equal(n(h.grad), [2.0, 2.0])


def _fn(backward):
    return type(
        "Broken", (Function,), {"forward": staticmethod(lambda ctx, x, k: x * k), "backward": backward}
    )


def test_wrong_number_of_gradients_names_the_function():
    bad = _fn(staticmethod(lambda ctx, g: g))
    with pytest.raises(
        RuntimeError,
        match=r"function BrokenBackward returned an incorrect number of gradients \(expected 2, got 1\)",
    ):
        bad.apply(t64([1.0], True), 2.0).sum().backward()
    extra = _fn(staticmethod(lambda ctx, g: (g, None, None)))  # trailing Nones are dropped (torch)
    x = t64([1.0], True)
    extra.apply(x, 2.0).sum().backward()
    np.testing.assert_array_equal(n(x.grad), [1.0])


def test_wrong_gradient_shape_names_the_function():
    bad = _fn(staticmethod(lambda ctx, g: (fg.ones(3, dtype=fg.float64), None)))
    with pytest.raises(
        RuntimeError,
        match=r"BrokenBackward returned an invalid gradient at index 0 - got \(3,\) but expected shape compatible with \(2,\)",
    ):
        bad.apply(t64([1.0, 2.0], True), 2.0).sum().backward()


def test_gradient_for_a_non_tensor_input_raises():
    bad = _fn(staticmethod(lambda ctx, g: (g, g)))
    with pytest.raises(
        RuntimeError,
        match="gradient different than None at position 1, but the corresponding forward input was not a Tensor",
    ):
        bad.apply(t64([1.0], True), 2.0).sum().backward()
    bad = _fn(staticmethod(lambda ctx, g: (3.0, None)))
    with pytest.raises(TypeError, match="BrokenBackward returned a float at position 0"):
        bad.apply(t64([1.0], True), 2.0).sum().backward()


def test_save_for_backward_refuses_non_tensors():
    class SaveNumber(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x, 3)
            return x

    with pytest.raises(TypeError, match="SaveNumber: save_for_backward can only save tensors"):
        SaveNumber.apply(t64([1.0], True))


def test_missing_backward_and_both_backward_and_vjp():
    class NoBackward(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

    with pytest.raises(NotImplementedError, match="must implement either the backward or vjp"):
        NoBackward.apply(t64([1.0], True)).sum().backward()

    class Both(NoBackward):
        @staticmethod
        def backward(ctx, g):
            return g

        @staticmethod
        def vjp(ctx, g):
            return g

    with pytest.raises(RuntimeError, match="implementing both 'backward' and 'vjp'"):
        Both.apply(t64([1.0], True))


def test_second_backward_through_a_freed_function_raises():
    x = t64(X, True)
    y = LegendrePolynomial3.apply(x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward()


# ------------------------------------------------------------------ exceptions, threads
class Boom(Exception):
    pass


def test_exception_in_backward_comes_out_unchanged_and_the_graph_survives():
    calls = []

    class Flaky(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 3

        @staticmethod
        def backward(ctx, g):
            calls.append(1)
            if len(calls) == 1:
                raise Boom("first call fails")
            return g * 3

    x = t64([1.0, 2.0], True)
    y = Flaky.apply(x).sum()
    with pytest.raises(Boom, match="first call fails"):
        y.backward()
    assert x.grad is None  # nothing accumulated by the failed call
    Flaky.apply(x).sum().backward()  # the next call works
    np.testing.assert_array_equal(n(x.grad), [3.0, 3.0])

    class KeyErr(Function):
        @staticmethod
        def forward(ctx, x):
            return x

        @staticmethod
        def backward(ctx, g):
            return {}["missing"]

    z = t64([1.0], True)
    with pytest.raises(KeyError, match="missing"):
        fg.autograd.grad(KeyErr.apply(z).sum(), z)


def test_two_threads_backward_through_functions_at_once():
    errors, results = [], {}
    barrier = threading.Barrier(2)
    w = np.random.default_rng(3).uniform(-0.6, 0.6, (64, 64))
    shared_x = t64(w, True)
    shared = LegendrePolynomial3.apply(shared_x * 1.0).sum()

    def work(k):
        try:
            barrier.wait()
            for _ in range(20):
                x = t64(w * (k + 1), True)
                (g,) = fg.autograd.grad(Exp.apply(LegendrePolynomial3.apply(x)).sum(), x)
                z = (k + 1) * w
                np.testing.assert_allclose(
                    n(g), np.exp(0.5 * (5 * z**3 - 3 * z)) * 1.5 * (5 * z**2 - 1), rtol=1e-12
                )
                (gs,) = fg.autograd.grad(shared, shared_x, retain_graph=True)
                results.setdefault(k, []).append(n(gs).copy())
        except BaseException as e:  # reported below
            errors.append(e)

    ts = [threading.Thread(target=work, args=(k,)) for k in range(2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert not errors, errors
    for k in range(2):
        for gs in results[k]:
            np.testing.assert_allclose(gs, 1.5 * (5 * w**2 - 1), rtol=1e-13)


def test_exception_in_backward_on_another_thread():
    class Fails(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1.0

        @staticmethod
        def backward(ctx, g):
            raise Boom(threading.current_thread().name)

    got = []

    def work():
        try:
            Fails.apply(t64([1.0], True)).sum().backward()
        except Boom as e:
            got.append(str(e))

    t = threading.Thread(target=work, name="worker-7")
    t.start()
    t.join()
    assert got == ["worker-7"]


# ------------------------------------------------------------------ once_differentiable
def test_once_differentiable_backward_may_use_numpy_but_not_twice():
    class NpCube(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x**3

        @staticmethod
        @once_differentiable
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return fg.tensor(3 * x.numpy() ** 2 * g.numpy())

    x = t64([1.0, -2.0], True)
    NpCube.apply(x).sum().backward()
    np.testing.assert_array_equal(n(x.grad), [3.0, 12.0])
    # x * NpCube(x): NpCube's backward gets the cotangent x, which requires grad under
    # create_graph, so its result must refuse a second differentiation (torch's rule).
    (g,) = fg.autograd.grad((x * NpCube.apply(x)).sum(), x, create_graph=True)
    np.testing.assert_array_equal(n(g), [4.0, -32.0])
    with pytest.raises(
        RuntimeError,
        match="trying to differentiate twice a function that was marked with @once_differentiable",
    ):
        fg.autograd.grad(g.sum(), x)


# ------------------------------------------------------------------ memory
def _counts():
    import gc

    gc.collect()
    return fg._C.live_tensors(), fg._C.live_nodes()


def test_graphs_through_functions_are_freed():
    """The node owns the rules, the rules own ctx: nothing may point back at the node."""
    base = _counts()
    for _ in range(3):
        x = t64(X, True)
        s, p = SumProd.apply(Exp.apply(x), LegendrePolynomial3.apply(x))
        (g,) = fg.autograd.grad((s * p).sum(), x, create_graph=True)
        fg.autograd.grad(g.sum(), x)
        lin = fg.nn.Linear(3, 2).double()
        lin.register_full_backward_hook(lambda m, gi, go: None)
        lin(x).sum().backward()
        del x, s, p, g, lin
    assert _counts() == base
