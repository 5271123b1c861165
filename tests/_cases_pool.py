"""Registry cases of max_pool_backward (the scatter of max pooling's cotangent through the
winners' flat indices): reached as the create_graph VJP of max_pool at a fixed point, so
its own VJP (a gather) and JVP (itself) are checked against finite differences in float64,
NCHW with overlapping padded windows, NHWC, and 1-d channels-last with stride 1."""

from __future__ import annotations

import numpy as np

import fastgrad as fg
from _primitive_helpers import C, Case, In

_RNG = np.random.default_rng(13)
X_NCHW = _RNG.standard_normal((2, 2, 5, 6))
X_NHWC = _RNG.standard_normal((2, 4, 6, 3))
X_NLC = _RNG.standard_normal((2, 7, 3))


def _max_pool_vjp(x0, g, kernel, stride, pad, channels_last):
    with fg.enable_grad():
        x = fg.tensor(x0).requires_grad_()
        y = C.max_pool(x, kernel, stride, pad, channels_last)
        return fg.autograd.grad(y, x, g, create_graph=True)[0]


CASES: dict[str, list[Case]] = {
    "max_pool_backward": [
        Case(
            lambda g: _max_pool_vjp(X_NCHW, g, [3, 3], [2, 2], [1, 1], False),
            [In((2, 2, 3, 3), "t")],
            id="nchw-3x3-s2-p1",
        ),
        Case(
            lambda g: _max_pool_vjp(X_NHWC, g, [2, 2], [2, 2], [0, 0], True),
            [In((2, 2, 3, 3), "s")],
            id="nhwc-2x2-s2",
        ),
        Case(lambda g: _max_pool_vjp(X_NLC, g, [3], [1], [1], True), [In((2, 7, 3))], id="1d-nlc-s1"),
    ],
}
