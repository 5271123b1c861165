"""A function that leaves the graph inside a transform is an error, not zeros (issue 10, item 9).

Before: ``fg.grad(lambda x: fg.tensor(fg.sum(x * x).item()))`` returned zeros,
``fg.jacrev(lambda x: None)`` returned None. Now, as in torch.func/JAX:

* converting a tensor that carries the derivative of a tracing transform to a Python
  or NumPy value (``.item()``, ``float()``, ``int()``, ``bool()``, ``.numpy()``,
  ``.tolist()``, ``np.asarray``, ``np.array``, ``fg.tensor(t)``, ``memoryview``) raises a
  RuntimeError naming the transform and the conversion — for every transform;
* an output that is not a tensor (None, a float, an array) raises TypeError naming the
  transform;
* a genuinely constant output (a function that ignores its input) still gives zeros,
  and constants, index arrays, closed-over tensors the transform does not
  differentiate, detached values and printing all keep working.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

import fastgrad as fg

F64 = fg.float64
X0 = np.array([0.5, -1.25, 2.0])


def _x():
    return fg.tensor(X0, dtype=F64)


# conversion name (as the error says it) -> t -> a constant fg tensor built from t's value
CONVERSIONS = {
    ".item()": lambda t: fg.tensor(fg.sum(t).item(), dtype=F64),
    "float()": lambda t: fg.tensor(float(fg.sum(t)), dtype=F64),
    "int()": lambda t: fg.tensor(float(int(fg.sum(t))), dtype=F64),
    "bool()": lambda t: fg.tensor(1.0 if bool(fg.sum(t)) else 0.0, dtype=F64),
    ".numpy()": lambda t: fg.tensor(np.sin(t.numpy())),
    ".tolist()": lambda t: fg.tensor(t.tolist(), dtype=F64),
    "np.asarray": lambda t: fg.tensor(np.asarray(t) * 2.0),
    "np.array": lambda t: fg.tensor(np.array(t, dtype=np.float64)),
    "fg.tensor(t)": lambda t: fg.tensor(t),
    "memoryview": lambda t: fg.tensor(np.frombuffer(memoryview(t.contiguous()), dtype=np.float64).copy()),
    # DLPack shares the memory off the tape like the buffer protocol (these returned zeros)
    "np.from_dlpack": lambda t: fg.tensor(np.from_dlpack(t) * 1.0),
    "torch.from_dlpack": lambda t: fg.tensor(torch.from_dlpack(t).numpy() * 1.0),
    "fg.from_dlpack": lambda t: fg.from_dlpack(t) * 1.0,
    "fg.from_dlpack(capsule)": lambda t: fg.from_dlpack(t.__dlpack__()) * 1.0,
    "torch.tensor": lambda t: fg.tensor(torch.tensor(t).numpy()),
}
DLPACK = {"np.from_dlpack", "torch.from_dlpack", "fg.from_dlpack", "fg.from_dlpack(capsule)"}


def _scalar_leak(conv):
    # x * 0 keeps x on the graph: the transform would otherwise see a constant output
    return lambda x: fg.sum(x * 0.0) + fg.sum(conv(x * x))


def _vector_leak(conv):
    return lambda x: x * 0.0 + conv(x * x).reshape(-1)[:1] * fg.ones(3, dtype=F64)


# transform name -> (conv -> call), each call evaluating the transform at X0
TRANSFORMS = {
    "grad": lambda c: fg.grad(_scalar_leak(c))(_x()),
    "value_and_grad": lambda c: fg.value_and_grad(_scalar_leak(c))(_x()),
    "vjp": lambda c: fg.vjp(_vector_leak(c), _x()),
    "jvp": lambda c: fg.jvp(_vector_leak(c), (_x(),), (fg.ones(3, dtype=F64),)),
    "jacrev": lambda c: fg.jacrev(_vector_leak(c))(_x()),
    "jacfwd": lambda c: fg.jacfwd(_vector_leak(c))(_x()),
    "jacobian": lambda c: fg.jacobian(_vector_leak(c))(_x()),
    "jacobian-fwd": lambda c: fg.jacobian(_vector_leak(c), mode="fwd")(_x()),
    "hessian": lambda c: fg.hessian(_scalar_leak(c))(_x()),
    "hvp": lambda c: fg.hvp(_scalar_leak(c), (_x(),), (fg.ones(3, dtype=F64),)),
}


@pytest.mark.parametrize("conv", sorted(CONVERSIONS))
@pytest.mark.parametrize("tr", sorted(TRANSFORMS))
def test_conversion_inside_a_transform_raises(tr, conv):
    who = tr.split("-")[0]
    with pytest.raises((RuntimeError, BufferError)) as ei:
        TRANSFORMS[tr](CONVERSIONS[conv])
    e = ei.value
    if isinstance(e, BufferError):  # memoryview: Python reports BufferError, ours is the cause
        assert conv == "memoryview"
        e = e.__cause__
        assert isinstance(e, RuntimeError)
    msg = str(e)
    assert msg.startswith(f"{who}: ") and "depends on the differentiated inputs" in msg, msg
    if conv in DLPACK:
        assert "__dlpack__" in msg, msg
    elif conv == "torch.tensor":
        assert "__dlpack__" in msg or "np.asarray" in msg, msg
    elif conv not in ("memoryview", "np.array"):
        assert conv in msg, msg
    else:
        assert "np.asarray" in msg, msg


@pytest.mark.parametrize(
    "out", [None, 1.5, 2, np.float64(0.5), np.ones(3)], ids=["None", "float", "int", "np.float64", "ndarray"]
)
@pytest.mark.parametrize("tr", ["grad", "value_and_grad", "vjp", "jvp", "jacrev", "jacfwd", "hessian", "hvp"])
def test_non_tensor_output_is_a_type_error(tr, out):
    f = lambda x: out  # noqa: E731
    calls = {
        "grad": lambda: fg.grad(f)(_x()),
        "value_and_grad": lambda: fg.value_and_grad(f)(_x()),
        "vjp": lambda: fg.vjp(f, _x()),
        "jvp": lambda: fg.jvp(f, (_x(),), (fg.ones(3, dtype=F64),)),
        "jacrev": lambda: fg.jacrev(f)(_x()),
        "jacfwd": lambda: fg.jacfwd(f)(_x()),
        "hessian": lambda: fg.hessian(f)(_x()),
        "hvp": lambda: fg.hvp(f, (_x(),), (fg.ones(3, dtype=F64),)),
    }
    with pytest.raises(TypeError, match=rf"^{tr}: f (must return|returned None)"):
        calls[tr]()


def test_constant_output_is_still_zero():
    """A function that truly ignores its input has zero derivatives (JAX/torch.func)."""
    c = lambda x: fg.tensor([1.0, 2.0, 3.0], dtype=F64)  # noqa: E731
    s = lambda x: fg.sum(fg.tensor([1.0, 2.0], dtype=F64))  # noqa: E731
    u = fg.ones(3, dtype=F64)
    np.testing.assert_array_equal(np.asarray(fg.grad(s)(_x())), np.zeros(3))
    v, g = fg.value_and_grad(s)(_x())
    assert float(v) == 3.0
    np.testing.assert_array_equal(np.asarray(g), np.zeros(3))
    out, vjp_fn = fg.vjp(c, _x())
    np.testing.assert_array_equal(np.asarray(vjp_fn(u)[0]), np.zeros(3))
    np.testing.assert_array_equal(np.asarray(fg.jvp(c, (_x(),), (u,))[1]), np.zeros(3))
    np.testing.assert_array_equal(np.asarray(fg.jacrev(c)(_x())), np.zeros((3, 3)))
    np.testing.assert_array_equal(np.asarray(fg.jacfwd(c)(_x())), np.zeros((3, 3)))
    np.testing.assert_array_equal(np.asarray(fg.hessian(s)(_x())), np.zeros((3, 3)))
    np.testing.assert_array_equal(np.asarray(fg.hvp(s, (_x(),), (u,))), np.zeros(3))


def test_conversions_that_do_not_carry_the_derivative_still_work():
    W = fg.tensor([1.0, 2.0, 3.0], dtype=F64, requires_grad=True)  # closed over, not differentiated
    idx = fg.tensor(np.array([2, 0]))

    def f(x):
        repr(x), str(x * 2.0)  # printing is not a conversion off the graph
        k = float(fg.sum(W))  # closure the transform does not differentiate
        c = float(fg.tensor(0.5, dtype=F64))  # a constant
        d = float(fg.sum(x).detach())  # detached on purpose: a constant
        y = x[idx] * k + x[x > 0.0].sum() * c  # int64 and bool index tensors
        return fg.sum(y) + fg.sum(x) * d

    x = _x()
    d = float(X0.sum())
    want = np.array([6.0, 0.0, 6.0]) + 2 * 0.5 * (X0 > 0) + d  # y has 2 entries
    np.testing.assert_allclose(np.asarray(fg.grad(f)(x)), want, rtol=1e-15)
    np.testing.assert_allclose(np.asarray(fg.jacfwd(f)(x)), want, rtol=1e-15)
    np.testing.assert_allclose(
        np.asarray(fg.jvp(f, (x,), (fg.ones(3, dtype=F64),))[1]), want.sum(), rtol=1e-15
    )
    # outside any transform the same conversions of tensors that require grad are fine
    y = fg.sum(W * W)
    assert float(y) == 14.0 and y.item() == 14.0 and np.asarray(W).tolist() == [1.0, 2.0, 3.0]


def test_nested_transform_names_the_one_whose_input_leaks():
    x0 = _x()

    def outer(y):
        # the inner grad differentiates x; the conversion cuts y (the outer input) off
        inner = fg.grad(lambda x: fg.sum(x * x) * float(fg.sum(y)))(x0)
        return fg.sum(inner * y)

    with pytest.raises(RuntimeError, match=r"^jacrev: .*float\(\)"):
        fg.jacrev(outer)(_x())
    # a conversion of the outer input's value, detached, is a constant: no error
    ok = fg.jacrev(lambda y: fg.grad(lambda x: fg.sum(x * x) * float(fg.sum(y).detach()))(x0) * y)(_x())
    assert ok.shape == (3, 3)


def test_tracing_is_per_thread():
    """A transform tracing in one thread does not affect conversions in another."""
    entered, release = threading.Event(), threading.Event()
    errors = []

    def f(x):
        entered.set()
        release.wait(10)
        return fg.sum(x * x)

    def run():
        try:
            np.testing.assert_allclose(np.asarray(fg.grad(f)(_x())), 2 * X0)
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    t = threading.Thread(target=run)
    t.start()
    try:
        assert entered.wait(10)
        W = fg.tensor(X0, requires_grad=True)
        L = fg.sum(W * 3.0)
        assert L.item() == pytest.approx(3 * X0.sum()) and np.asarray(L * W).shape == (3,)
    finally:
        release.set()
        t.join()
    assert not errors, errors


def test_the_issue_examples():
    x = _x()
    with pytest.raises(RuntimeError, match=r"^grad: .*\.item\(\)"):
        fg.grad(lambda x: fg.tensor(fg.sum(x * x).item(), dtype=F64))(x)
    with pytest.raises(RuntimeError, match=r"^grad: .*\.numpy\(\)"):
        fg.grad(lambda x: fg.sum(fg.tensor(np.exp(x.numpy()))))(x)
    with pytest.raises(TypeError, match=r"^jacrev: f returned None"):
        fg.jacrev(lambda x: None)(x)


def test_dlpack_of_constants_and_detached_values_inside_a_transform_works():
    c = fg.tensor(np.arange(3.0), dtype=F64)

    def f(x):
        a = np.from_dlpack(c) + np.from_dlpack(x.detach())  # neither carries the derivative
        b = torch.from_dlpack(fg.ones(3, dtype=F64)).numpy()
        return fg.sum(x * fg.tensor(a + b))

    np.testing.assert_allclose(np.asarray(fg.grad(f)(_x())), np.arange(3.0) + X0 + 1.0)
