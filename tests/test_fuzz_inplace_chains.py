"""Property fuzz: random chains of in-place ops (methods, augmented operators, copy_,
fill_, zero_, clamp_, __setitem__) on a tracked float64 tensor, with consumers recorded
between them, give torch's values and gradients -- or both libraries raise."""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import fastgrad as fg
from fuzz_profiles import BASE, COUNTER

OPS = ["add_", "sub_", "mul_", "div_", "+=", "-=", "*=", "/=", "copy_", "fill_", "zero_", "clamp_", "setitem"]


def _apply(lib, b, op, operand, num):
    if op in ("add_", "sub_", "mul_", "div_"):
        getattr(b, op)(operand if operand is not None else num)
    elif op in ("+=", "-=", "*=", "/="):
        o = operand if operand is not None else num
        before = b
        if op == "+=":
            b += o
        elif op == "-=":
            b -= o
        elif op == "*=":
            b *= o
        else:
            b /= o
        assert b is before
    elif op == "copy_":
        b.copy_(operand if operand is not None else lib.zeros(b.shape, dtype=b.dtype) + num)
    elif op == "fill_":
        b.fill_(num)
    elif op == "zero_":
        b.zero_()
    elif op == "clamp_":
        b.clamp_(-abs(num), abs(num))
    else:
        b[0] = operand[0] if operand is not None else num
    return b


@settings(parent=BASE)
@given(
    steps=st.lists(
        st.tuples(st.sampled_from(OPS), st.booleans(), st.booleans(), st.floats(0.5, 2.0), st.booleans()),
        min_size=1,
        max_size=6,
    ),
    seed=st.integers(0, 2**16),
)
def test_random_inplace_chains_match_torch(steps, seed):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.5, 1.5, size=(2, 3))
    ws = [rng.uniform(0.5, 1.5, size=(3,) if bcast else (2, 3)) for _, _, bcast, _, _ in steps]
    results = []
    for lib in (fg, torch):
        X = lib.tensor(x, requires_grad=True)
        W = [lib.tensor(w, requires_grad=True) for w in ws]
        b = X * 1.5
        consumers = []
        for (op, tensor_operand, _bcast, num, consume), w in zip(steps, W):
            if consume:
                consumers.append(b * 0.5 + 1.0)  # recorded before the next in-place op
            operand = w if tensor_operand else None
            if op == "setitem" and operand is not None and operand.ndim == 1:
                operand = operand.reshape(1, 3)
            _apply(lib, b, op, operand, num)
            COUNTER.hit("inplace", op)
        L = (b * b).sum() + sum((c * c).sum() for c in consumers) if consumers else (b * b).sum()
        L.backward()
        grads = [
            None if t.grad is None else np.asarray(t.grad.detach() if lib is torch else t.grad)
            for t in [X] + W
        ]
        results.append((float(L.detach()), grads))
    (fl, fgr), (tl, tgr) = results
    np.testing.assert_allclose(fl, tl, rtol=1e-10)
    for i, (a, b_) in enumerate(zip(fgr, tgr)):
        if b_ is None:
            assert a is None or not np.any(a), f"input {i}: fastgrad has a gradient where torch has none"
        else:
            assert a is not None, f"input {i}: missing gradient"
            np.testing.assert_allclose(a, b_, rtol=1e-9, atol=1e-12, err_msg=f"input {i}")
