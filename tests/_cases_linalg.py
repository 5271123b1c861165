"""Registry cases of the linear-algebra primitives (cpp/src/ops/linalg_decomp.cpp, linalg_norm.cpp): VJP, JVP and
both second orders against finite differences, with samplers that keep each decomposition
well-conditioned (eigen/singular values separated, matrices far from singular). Inputs of
the symmetric factorizations are symmetrised inside the case, since the kernels read one
triangle and finite differences must see the function the rules differentiate."""

from __future__ import annotations

import numpy as np

import fastgrad as fg
from _primitive_helpers import Case, In, away0, normal


def wellcond(rng, shape):
    """Diagonally dominant square matrices: far from singular, pivots O(1)."""
    n = shape[-1]
    return rng.standard_normal(shape) * 0.3 + 2.0 * np.eye(n)


def wellcond_wide(rng, shape):
    """(m, n) with m < n whose leading (m, m) block is diagonally dominant."""
    m = shape[-2]
    return rng.standard_normal(shape) * 0.3 + 2.0 * np.eye(m, shape[-1])


def spectrum(values):
    """Random orthogonal conjugates of diag(values): fixed, separated eigen/singular values."""

    def sample(rng, shape):
        m, n = shape[-2], shape[-1]
        batch = shape[:-2]
        k = min(m, n)
        out = np.empty(shape)
        for i in np.ndindex(batch):
            u, _ = np.linalg.qr(rng.standard_normal((m, m)))
            v, _ = np.linalg.qr(rng.standard_normal((n, n)))
            out[i] = u[:, :k] @ np.diag(values[:k]) @ v[:, :k].T
        return out

    return sample


def sym(a):
    return (a + a.transpose(-1, -2)) * 0.5


def tri_lower(rng, shape):
    return np.tril(wellcond(rng, shape))


def distinct_abs(rng, shape):
    """Distinct magnitudes in [0.3, 2] with random signs: max/min |x| has no tie within FD reach."""
    n = int(np.prod(shape))
    mags = np.linspace(0.3, 2.0, n)[rng.permutation(n)]
    return (mags * rng.choice([-1.0, 1.0], n)).reshape(shape)


SQ = [((3, 3), "c"), ((2, 3, 3), "t"), ((3, 3), "s")]
L = fg.linalg

CASES: dict[str, list[Case]] = {
    "linalg_inv": [Case(lambda a: L.inv(a), [In(s, lay, wellcond)], id=f"{lay}{s}") for s, lay in SQ],
    "linalg_solve": [
        Case(lambda a, b: L.solve(a, b), [In((3, 3), "c", wellcond), In((3, 2))], id="mat"),
        Case(lambda a, b: L.solve(a, b), [In((2, 3, 3), "t", wellcond), In((2, 3, 2), "s")], id="batch-ts"),
        Case(lambda a, b: L.solve(a, b), [In((3, 3), "s", wellcond), In((3,))], id="vec", node=None),
    ],
    "linalg_solve_triangular": [
        Case(
            lambda a, b: L.solve_triangular(a, b, upper=False),
            [In((3, 3), "c", tri_lower), In((3, 2))],
            id="lower",
        ),
        Case(
            lambda a, b: L.solve_triangular(a, b, upper=True, unitriangular=True),
            [In((2, 3, 3), "t", wellcond), In((2, 3, 2), "s")],
            id="upper-unit",
        ),
        Case(
            lambda a, b: L.solve_triangular(a, b, upper=True, left=False),
            [In((3, 3), "s", wellcond), In((2, 3))],
            id="right",
            node=None,
        ),
    ],
    "linalg_cholesky": [
        Case(lambda a: L.cholesky(sym(a)), [In(s, lay, wellcond)], id=f"{lay}{s}", node=None) for s, lay in SQ
    ],
    "linalg_slogdet": [
        Case(lambda a: L.slogdet(a)[1], [In(s, lay, wellcond)], id=f"{lay}{s}") for s, lay in SQ
    ]
    + [Case(lambda a: L.det(a), [In((3, 3), "t", wellcond)], id="det", node=None)],
    "linalg_eigh": [
        Case(
            lambda a: L.eigh(sym(a))[0],
            [In((3, 3), "c", spectrum([-1.0, 0.5, 2.0]))],
            id="values",
            node=None,
        ),
        # V∘V is invariant under each eigenvector's sign (the gauge), so FD sees a function.
        Case(
            lambda a: L.eigh(sym(a))[1] ** 2,
            [In((2, 3, 3), "t", spectrum([-1.0, 0.5, 2.0]))],
            id="vectors",
            node=None,
        ),
    ],
    "linalg_qr": [
        Case(lambda a: L.qr(a)[0], [In((4, 3), "c")], id="Q-tall"),
        Case(lambda a: L.qr(a)[1], [In((2, 3, 3), "t", wellcond)], id="R-square"),
        Case(lambda a: L.qr(a, mode="complete")[0], [In((3, 3), "s", wellcond)], id="Q-complete"),
        # Wide: the first m columns are well-conditioned (diagonally dominant), so R's square block is.
        Case(lambda a: L.qr(a)[0], [In((3, 5), "t", wellcond_wide)], id="Q-wide"),
        Case(lambda a: L.qr(a, mode="complete")[1], [In((2, 3, 5), "s", wellcond_wide)], id="R-wide"),
    ],
    "linalg_svd": [
        Case(
            lambda a: L.svd(a, full_matrices=False)[1], [In((4, 3), "c", spectrum([3.0, 2.0, 1.0]))], id="S"
        ),
        # U diag(S) is gauge-invariant up to column signs: square it (as eigh's vectors).
        Case(
            lambda a: L.svd(a, full_matrices=False)[0] ** 2,
            [In((2, 4, 3), "t", spectrum([3.0, 2.0, 1.0]))],
            id="U-tall",
            node=None,
        ),
        Case(
            lambda a: L.svd(a, full_matrices=False)[2] ** 2,
            [In((3, 4), "s", spectrum([3.0, 2.0, 1.0]))],
            id="Vh-wide",
            node=None,
        ),
    ],
    # Away from the kinks (x = 0 for p <= 1, ties of |x| for ±inf); the subgradients at 0
    # are checked against torch in tests/test_linalg.py.
    "linalg_vector_norm": [
        Case(lambda x: L.vector_norm(x), [In((3, 4), "c", normal)], id="2-all"),
        Case(lambda x: L.vector_norm(x, dim=1, keepdim=True), [In((3, 4), "t", normal)], id="2-dim1-keep"),
        Case(lambda x: L.vector_norm(x, 1, dim=0), [In((3, 4), "s", away0)], id="1-dim0"),
        Case(lambda x: L.vector_norm(x, float("inf"), dim=-1), [In((3, 4), "c", distinct_abs)], id="inf"),
        Case(
            lambda x: L.vector_norm(x, -float("inf"), dim=(0, 2)),
            [In((2, 3, 4), "t", distinct_abs)],
            id="-inf",
        ),
        Case(lambda x: L.vector_norm(x, 0.5, dim=(0, 2)), [In((2, 3, 4), "s", away0)], id="0.5"),
        Case(lambda x: L.vector_norm(x, 1.5, dim=1), [In((3, 4), "c", away0)], id="1.5"),
        Case(lambda x: L.vector_norm(x, 3.5), [In((3, 4), "t", away0)], id="3.5"),
        Case(lambda x: L.vector_norm(x, -1.5, dim=0, keepdim=True), [In((3, 4), "s", away0)], id="-1.5"),
        Case(lambda x: L.vector_norm(x, 0, dim=1), [In((3, 4), "c", away0)], id="0"),
        Case(lambda x: L.vector_norm(x, 3), [In((), "c", lambda r, s: np.asarray(away0(r, s)))], id="0-d"),
        Case(lambda x: L.matrix_norm(x), [In((2, 3, 4), "t", normal)], id="fro"),
    ],
}
