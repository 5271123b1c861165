"""In-place mutation after every primitive that saves its output or inputs (issue 10, item 3).

A node's VJP may read the primitive's inputs (mul, matmul, pow, ...) or its outputs
(exp, tanh, sigmoid, sqrt, softmax, fused linear/conv activations, ...). Changing any
of those in place under ``no_grad`` between the forward and the backward pass must be
detected: backward either raises a RuntimeError naming the primitive and "in-place",
or returns exactly (bitwise) the gradient of the unmutated run. A different number is
a silent wrong result (before the fix: ``y = exp(x); y.mul_(2)`` doubled the gradient).

The cases are test_primitives.TABLE, which covers every registered primitive (and the
public ops built on them); test_every_primitive_has_cases there keeps it complete.

* ``test_mutation_every_case``: every case × every input and the output, one mutation;
* ``test_fuzz_inplace_mutation``: a hypothesis property drawing the case, the target,
  the kind of mutation (add_, mul_, copy_, fill_, __setitem__, a write through a view)
  and its value.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fastgrad as fg
from fuzz_profiles import BASE, COUNTER
from test_primitives import TABLE, make, points

C = fg._C
PRIMS = set(C.primitives())
FLAT = [(name, i, case) for name, cases in TABLE.items() for i, case in enumerate(cases)]


def _seed(name, case, extra=0):
    return np.random.default_rng([ord(c) for c in f"inplace/{name}/{case.id}"] + [extra])


def _run(case, arrs, w, mutate=None):
    """Gradients of <w, f(x)> w.r.t. the leaves; `mutate(leaves, y)` runs between the
    forward and the backward pass under no_grad."""
    leaves = [make(a, s.layout, True) for a, s in zip(arrs, case.inputs)]
    y = case.fn(*leaves)
    if mutate is not None:
        with fg.no_grad():
            mutate(leaves, y)
    gs = fg.autograd.grad(y, leaves, grad_outputs=fg.tensor(w), allow_unused=True)
    return [None if g is None else np.array(g) for g in gs]


def _mutations(value):
    """name -> in-place change of a tensor (all change every element's value)."""
    return {
        "add_": lambda t: t.add_(value),
        "mul_": lambda t: t.mul_(1.0 + abs(value)),
        "copy_": lambda t: t.copy_(fg.full(tuple(t.shape), value + 7.0, dtype=t.dtype)),
        "fill_": lambda t: t.fill_(value + 7.0),
        "setitem": lambda t: t.__setitem__(..., value + 7.0),
        "view": lambda t: t.reshape(-1).add_(value) if t.is_contiguous() else t[...].add_(value),
    }


MUTATIONS = sorted(_mutations(0.0))


def _check(name, case, arrs, w, target, mutation, value):
    """target: input index, or -1 for the output."""
    ref = _run(case, arrs, w)
    mut = _mutations(value)[mutation]

    refused = []

    def mutate(leaves, y):
        t = y if target < 0 else leaves[target]
        if t.numel() == 0:
            return
        try:
            mut(t)
        except (ValueError, TypeError, RuntimeError) as e:
            # the mutation itself may be refused (e.g. writing into an expanded view, a
            # RuntimeError as in PyTorch);
            # the backward must then still be an error or exact
            assert str(e), name
            refused.append(e)

    try:
        got = _run(case, arrs, w, mutate)
    except RuntimeError as e:
        msg = str(e)
        if "in-place" not in msg:
            raise
        # A custom_function node is named after the user's Function class (case.node)
        names = PRIMS | ({case.node} if name == "custom_function" else set())
        named = [p for p in names if f" of {p} " in msg]
        assert named, f"{name}: the in-place error names no primitive: {msg}"
        if case.node == "__name__" and len(case.inputs) and target < 0:
            # the output of the case is the primitive's own output: its node detects it
            assert f" of {name} " in msg, msg
        COUNTER.hit("inplace-error", name)
        return "error"
    for i, (g, r) in enumerate(zip(got, ref)):
        if r is None:
            assert g is None
            continue
        np.testing.assert_array_equal(
            g,
            r,
            err_msg=f"{name} ({case.id}): gradient {i} changed after an in-place {mutation} of "
            f"{'the output' if target < 0 else f'input {target}'} (no error raised)",
        )
    COUNTER.hit("inplace-refused" if refused else "inplace-exact", name)
    return "exact"


@pytest.mark.parametrize("name,i,case", [pytest.param(n, i, c, id=f"{n}-{c.id or i}") for n, i, c in FLAT])
def test_mutation_every_case(name, i, case):
    rng = _seed(name, case)
    arrs = points(case, rng)
    with fg.no_grad():
        y0 = case.fn(*[make(a, s.layout) for a, s in zip(arrs, case.inputs)])
    w = rng.standard_normal(tuple(y0.shape))
    for target in [-1] + list(range(len(case.inputs))):
        _check(name, case, arrs, w, target, "mul_", 0.5)


@settings(parent=BASE, max_examples=max(BASE.max_examples, 60))
@given(
    k=st.integers(0, len(FLAT) - 1),
    target=st.integers(-1, 3),
    mutation=st.sampled_from(MUTATIONS),
    value=st.floats(-2.0, 2.0, allow_nan=False).filter(lambda v: abs(v) > 1e-3),
    seed=st.integers(0, 2**16),
)
def test_fuzz_inplace_mutation(k, target, mutation, value, seed):
    name, _, case = FLAT[k]
    rng = _seed(name, case, seed)
    arrs = points(case, rng)
    with fg.no_grad():
        y0 = case.fn(*[make(a, s.layout) for a, s in zip(arrs, case.inputs)])
    w = rng.standard_normal(tuple(y0.shape))
    target = target if target < len(case.inputs) else -1
    _check(name, case, arrs, w, target, mutation, value)


def test_exp_output_mutation_is_an_error():
    """The issue's example: exp saves its output; doubling it used to double the gradient."""
    x = fg.tensor([0.5, 1.0, -2.0], dtype=fg.float64, requires_grad=True)
    y = fg.exp(x)
    with fg.no_grad():
        y.mul_(2)
    with pytest.raises(RuntimeError, match=r"output 0 of exp .*in-place"):
        y.sum().backward()
    assert x.grad is None


@pytest.mark.parametrize(
    "fn",
    [
        fg.exp,
        fg.tanh,
        fg.sigmoid,
        fg.sqrt,
        lambda x: fg.softmax(x, -1),
        lambda x: C.linear(x, fg.ones(3, 3, dtype=fg.float64), None, True, "tanh"),
    ],
    ids=["exp", "tanh", "sigmoid", "sqrt", "softmax", "linear-tanh"],
)
def test_saved_output_mutation_through_a_view(fn):
    """A write into a view of the output changes the saved output's storage too."""
    x = fg.tensor(np.linspace(0.1, 1.2, 6).reshape(2, 3), requires_grad=True)
    y = fn(x)
    with fg.no_grad():
        y[0].add_(1.0)
    with pytest.raises(RuntimeError, match="in-place"):
        y.sum().backward()
    # retain-free second attempt is the same error, not a gradient
    with pytest.raises(RuntimeError, match="in-place"):
        fg.autograd.grad(y.sum(), [x])


def test_unrelated_inplace_after_backward_is_fine():
    """The version is checked at backward time only for nodes that run: mutating the output
    after backward, or a tensor that no node saved, is not an error."""
    x = fg.tensor([0.5, 1.0], dtype=fg.float64, requires_grad=True)
    y = fg.exp(x)
    y.sum().backward(retain_graph=True)
    g = np.array(x.grad)
    z = x * 3.0  # mul by a constant: saves x, not z
    with fg.no_grad():
        z.mul_(2.0)
    x.grad = None
    z.sum().backward()
    np.testing.assert_array_equal(np.array(x.grad), [3.0, 3.0])
    np.testing.assert_allclose(g, np.exp([0.5, 1.0]), rtol=1e-15)
