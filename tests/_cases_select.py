"""Registry cases of the selection, sorting and scan primitives (gather, scatter_add,
scatter, scatter_reduce_prod, cumsum, cumprod, logcumsumexp): VJP, JVP and second orders against finite
differences in float64, on contiguous, transposed and strided layouts."""

from __future__ import annotations

import fastgrad as fg
from _primitive_helpers import C, Case, In, away0, idx, normal

I34 = [[0, 2, 1, 2], [2, 0, 0, 1], [1, 1, 2, 0]]  # into axis 0 of a (3, 4)
I32 = [[3, 0], [1, 1], [0, 2]]  # into axis 1 of a (3, 4), dups in row 1

CASES: dict[str, list[Case]] = {
    "gather": [
        Case(lambda x: fg.gather(x, 0, idx(I34)), [In((3, 4), lay)], id=f"dim0-{lay}") for lay in "cts"
    ]
    + [
        Case(lambda x: fg.gather(x, -1, idx(I32)), [In((3, 4), "t")], id="dim-1-smaller"),
        Case(lambda x: x.gather(1, idx([[[1], [0]], [[2], [2]]])), [In((2, 3, 2), "s")], id="3d-method"),
    ],
    "scatter_add": [
        Case(lambda s: C.scatter_add_into(s, [3, 4], 0, idx(I34)), [In((3, 4), lay)], id=f"dim0-{lay}")
        for lay in "cts"
    ]
    + [Case(lambda s: C.scatter_add_into(s, [3, 4], 1, idx(I32)), [In((3, 2), "t")], id="dim1-dups")],
    "scatter": [
        Case(
            lambda x, s: fg.scatter(x, 1, idx([[3, 0], [1, 2], [0, 2]]), s),
            [In((3, 4), la), In((3, 2), lb)],
            id=f"{la}{lb}",
            node="scatter",
        )
        for la, lb in ("cc", "ts", "st")
    ]
    + [
        Case(
            lambda x, s: x.scatter(0, idx([[0, 2, 1, 2]]), s),
            [In((3, 4), "c"), In((2, 5), "t")],
            id="src-corner",
            node="scatter",
        )
    ],
    "scatter_reduce_prod": [
        Case(
            lambda x, s: fg.scatter_reduce(x, 0, idx(I34), s, "prod"),
            [In((3, 4), la, away0), In((3, 4), lb, away0)],
            id=f"dim0-{la}{lb}",
            node="scatter_reduce_prod",
        )
        for la, lb in ("cc", "ts", "st")
    ]
    + [
        Case(
            lambda x, s: fg.scatter_reduce(x, 1, idx(I32), s, "prod", include_self=False),
            [In((3, 4), "t", away0), In((3, 2), "c", away0)],
            id="dim1-dups-exclude-self",
            node=None,  # self's untouched entries pass through a where first
        )
    ],
    "cumsum": [Case(lambda x: fg.cumsum(x, 1), [In((3, 4), lay)], id=f"dim1-{lay}") for lay in "cts"]
    + [Case(lambda x: x.cumsum(-3), [In((3, 2, 4), "s")], id="dim-3")],
    "cumprod": [Case(lambda x: fg.cumprod(x, 1), [In((3, 4), lay, away0)], id=f"dim1-{lay}") for lay in "cts"]
    + [Case(lambda x: x.cumprod(0), [In((4, 3), "t", away0)], id="dim0")],
    "logcumsumexp": [
        Case(lambda x: fg.logcumsumexp(x, 1), [In((3, 4), lay, normal)], id=f"dim1-{lay}") for lay in "cts"
    ]
    + [Case(lambda x: x.logcumsumexp(0), [In((4, 3), "t")], id="dim0")],
}
