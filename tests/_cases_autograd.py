"""Registry cases of custom_function (fg.autograd.Function): user-written rules checked
like any primitive's (VJP, JVP, both second orders against finite differences in float64,
on contiguous, transposed and strided inputs), one Function saving its input, one saving
its output (the "saves_outputs" variant), one with two inputs and a non-tensor argument."""

from __future__ import annotations

import fastgrad as fg
from _primitive_helpers import Case, In


class Legendre3(fg.autograd.Function):
    """P3(x) = ½(5x³ − 3x), saving its input."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return 0.5 * (5 * x**3 - 3 * x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * 1.5 * (5 * x**2 - 1)

    @staticmethod
    def jvp(ctx, t):
        (x,) = ctx.saved_tensors
        return t * 1.5 * (5 * x**2 - 1)


class SavedExp(fg.autograd.Function):
    """exp(x), saving its output: the rules multiply by the output itself."""

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


class MulAdd(fg.autograd.Function):
    """x·y + alpha·x (setup_context style; alpha is a number)."""

    @staticmethod
    def forward(x, y, alpha):
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

    @staticmethod
    def jvp(ctx, tx, ty, _):
        x, y = ctx.saved_tensors
        return tx * (y + ctx.alpha) + x * ty


CASES: dict[str, list[Case]] = {
    "custom_function": [
        Case(fn.apply, [In((3, 4), lay)], id=f"{node}-{lay}", node=node)
        for fn, node in ((Legendre3, "Legendre3"), (SavedExp, "SavedExp"))
        for lay in "cts"
    ]
    + [
        Case(
            lambda x, y: MulAdd.apply(x, y, 2.0),
            [In((3, 4), la), In((3, 4), lb)],
            id=f"muladd-{la}{lb}",
            node="MulAdd",
        )
        for la, lb in ("cc", "ts", "st")
    ],
}
