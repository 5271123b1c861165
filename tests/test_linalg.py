"""Products (einsum, tensordot, outer, kron, mm, ...) and fg.linalg against torch: values,
gradients (torch.autograd as oracle), batching, shapes, dtypes and errors. Derivatives of the
decomposition primitives against finite differences live in _cases_linalg.py."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import fastgrad as fg

RNG = np.random.default_rng(0)


def arr(*shape, dtype=np.float64):
    return RNG.standard_normal(shape).astype(dtype)


def wellcond(*shape):
    return arr(*shape) * 0.3 + 2.0 * np.eye(shape[-1])


def spd(*shape):
    a = arr(*shape)
    return a @ np.swapaxes(a, -1, -2) + shape[-1] * np.eye(shape[-1])


def close(f, t, tol=1e-10):
    np.testing.assert_allclose(np.asarray(f), t.detach().numpy(), rtol=tol, atol=tol)


def check(fg_fn, torch_fn, *arrays, grad=True, tol=1e-9, gauge=None):
    """Values and (with grad) the gradient of sum(out * w) w.r.t. every input, float64."""
    fx = [fg.tensor(a, requires_grad=grad) for a in arrays]
    tx = [torch.tensor(a, requires_grad=grad) for a in arrays]
    fy, ty = fg_fn(*fx), torch_fn(*tx)
    if gauge is not None:
        fy, ty = gauge(fy), gauge(ty)
    close(fy, ty, tol)
    if not grad:
        return
    w = RNG.standard_normal(tuple(ty.shape))
    (ty * torch.tensor(w)).sum().backward()
    gs = fg.autograd.grad((fy * fg.tensor(w)).sum(), fx)
    for g, t in zip(gs, tx):
        close(g, t.grad, tol)


# ------------------------------------------------------------------ products
EINSUM = [
    ("ij,jk->ik", [(3, 4), (4, 5)]),
    ("ij,jk", [(3, 4), (4, 5)]),
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("i,i->", [(4,), (4,)]),
    ("i,j->ij", [(3,), (4,)]),
    ("ii->i", [(3, 3)]),
    ("ii", [(3, 3)]),
    ("ij->ji", [(3, 4)]),
    ("ij->", [(3, 4)]),
    ("...ij,...jk->...ik", [(2, 3, 4), (4, 5)]),
    ("b...,b...->b", [(2, 3, 4), (2, 3, 4)]),
    ("ijk,ikl,ilm->ijm", [(2, 3, 4), (2, 4, 5), (2, 5, 3)]),
    ("ij,ij->ij", [(3, 4), (3, 4)]),
    ("iij->ij", [(3, 3, 2)]),
    ("abc,cd,db->a", [(2, 3, 4), (4, 5), (5, 3)]),
    ("i,ij,j", [(3,), (3, 4), (4,)]),
    ("ij,kj->ik", [(3, 1), (4, 5)]),
    ("...", [(2, 3)]),
    ("i j , j k -> i k", [(2, 3), (3, 2)]),
    ("Ab,bC->AC", [(2, 3), (3, 2)]),
]


@pytest.mark.parametrize(("eq", "shapes"), EINSUM, ids=[e for e, _ in EINSUM])
def test_einsum_matches_torch(eq, shapes):
    arrays = [arr(*s) for s in shapes]
    check(lambda *x: fg.einsum(eq, *x), lambda *x: torch.einsum(eq, *x), *arrays)


def test_einsum_operands_as_list_and_method_and_float32():
    a, b = arr(3, 4, dtype=np.float32), arr(4, 2, dtype=np.float32)
    y = fg.einsum("ij,jk->ik", [fg.tensor(a), fg.tensor(b)])
    assert y.dtype == fg.float32
    close(y, torch.einsum("ij,jk->ik", torch.tensor(a), torch.tensor(b)), 1e-5)


def test_einsum_reaches_the_gemm():
    a, b = fg.tensor(arr(3, 4), requires_grad=True), fg.tensor(arr(4, 5))
    y = fg.einsum("ij,jk->ik", a, b)
    assert y.grad_fn in ("matmul", "reshape")


@pytest.mark.parametrize(
    ("eq", "shapes", "msg"),
    [
        ("ij,jk->ik", [(3, 4), (5, 2)], "einsum"),
        ("ij->ik", [(3, 4)], "does not appear"),
        ("ij,jk", [(3, 4)], "operands"),
        ("ijk", [(3, 4)], "shape"),
        ("i1", [(3, 4)], "invalid subscript"),
    ],
)
def test_einsum_errors(eq, shapes, msg):
    with pytest.raises(ValueError, match=msg):
        fg.einsum(eq, *[fg.tensor(arr(*s)) for s in shapes])
    with pytest.raises(RuntimeError):
        torch.einsum(eq, *[torch.tensor(arr(*s)) for s in shapes])


@pytest.mark.parametrize(
    ("sa", "sb", "dims"),
    [
        ((3, 4, 5), (4, 5, 2), 2),
        ((3, 4), (4, 2), 1),
        ((3,), (4,), 0),
        ((3, 4, 5), (5, 3), ([0, 2], [1, 0])),
        ((2, 3), (3, 2), ([1], [0])),
        # a size-1 contracted dim broadcasts against the other side (torch's rule)
        ((1, 1, 1), (2, 1, 2), ([0, 1], [2, 1])),
        ((3, 4), (1, 2), ([1], [0])),
    ],
)
def test_tensordot(sa, sb, dims):
    a, b = arr(*sa), arr(*sb)
    check(lambda x, y: fg.tensordot(x, y, dims), lambda x, y: torch.tensordot(x, y, dims), a, b)


@pytest.mark.parametrize(
    ("name", "shapes"),
    [
        ("outer", [(3,), (4,)]),
        ("ger", [(3,), (4,)]),
        ("inner", [(2, 3), (4, 3)]),
        ("inner", [(3,), (3,)]),
        ("inner", [(), (2, 3)]),
        ("dot", [(4,), (4,)]),
        ("vdot", [(4,), (4,)]),
        ("kron", [(2, 3), (3, 2)]),
        ("kron", [(2,), (2, 3, 2)]),
        ("mm", [(3, 4), (4, 2)]),
        ("bmm", [(2, 3, 4), (2, 4, 2)]),
        ("mv", [(3, 4), (4,)]),
        ("matrix_power", None),
        ("cross", [(4, 3), (4, 3)]),
        ("cross", [(3, 5), (3, 1)]),
    ],
)
def test_binary_products(name, shapes):
    if shapes is None:
        return
    arrays = [arr(*s) for s in shapes]
    check(getattr(fg, name), getattr(torch, name), *arrays)
    # The method form is the same function.
    check(lambda x, y: getattr(x, name)(y), lambda x, y: getattr(x, name)(y), *arrays)


@pytest.mark.parametrize("n", [0, 1, 2, 3, 5, -1, -2])
def test_matrix_power(n):
    a = wellcond(2, 3, 3)
    check(lambda x: fg.matrix_power(x, n), lambda x: torch.matrix_power(x, n), a, grad=n != 0)
    check(lambda x: fg.linalg.matrix_power(x, n), lambda x: torch.linalg.matrix_power(x, n), a, grad=n != 0)


def test_linalg_cross_dim_keyword():
    a, b = arr(3, 4), arr(3, 4)
    check(lambda x, y: fg.linalg.cross(x, y, dim=0), lambda x, y: torch.linalg.cross(x, y, dim=0), a, b)
    with pytest.raises(ValueError, match="size 3"):
        fg.linalg.cross(fg.tensor(a), fg.tensor(b))


@pytest.mark.parametrize(
    ("name", "shapes"),
    [
        ("addmm", [(3, 2), (3, 4), (4, 2)]),
        ("addmm", [(2,), (3, 4), (4, 2)]),
        ("baddbmm", [(2, 3, 2), (2, 3, 4), (2, 4, 2)]),
        ("addmv", [(3,), (3, 4), (4,)]),
        ("addr", [(3, 4), (3,), (4,)]),
    ],
)
@pytest.mark.parametrize(("beta", "alpha"), [(1.0, 1.0), (0.5, -2.0), (0.0, 3.0)])
def test_scaled_products(name, shapes, beta, alpha):
    arrays = [arr(*s) for s in shapes]
    check(
        lambda *x: getattr(fg, name)(*x, beta=beta, alpha=alpha),
        lambda *x: getattr(torch, name)(*x, beta=beta, alpha=alpha),
        *arrays,
    )


def test_addmm_beta_zero_ignores_nan():
    i = np.full((2, 2), np.nan)
    y = fg.addmm(fg.tensor(i), fg.tensor(arr(2, 3)), fg.tensor(arr(3, 2)), beta=0.0)
    assert np.isfinite(np.asarray(y)).all()


@pytest.mark.parametrize(
    ("name", "shapes"),
    [
        ("mm", [(3,), (3, 2)]),
        ("mm", [(2, 3), (4, 2)]),
        ("bmm", [(2, 3, 4), (3, 4, 2)]),
        ("mv", [(3, 4), (3,)]),
        ("dot", [(3,), (4,)]),
        ("outer", [(3, 1), (2,)]),
        ("cross", [(4,), (4,)]),
    ],
)
def test_product_errors_name_op_and_shapes(name, shapes):
    with pytest.raises(ValueError, match=name):
        getattr(fg, name)(*[fg.tensor(arr(*s)) for s in shapes])
    with pytest.raises(RuntimeError):
        getattr(torch, name)(*[torch.tensor(arr(*s)) for s in shapes])


# ------------------------------------------------------------------ fg.linalg
def test_inv_det_slogdet_solve():
    a = wellcond(2, 3, 3)
    check(fg.linalg.inv, torch.linalg.inv, a)
    check(fg.inverse, torch.inverse, a)
    check(fg.linalg.det, torch.linalg.det, a)
    check(lambda x: x.det(), lambda x: x.det(), a)
    check(lambda x: fg.linalg.slogdet(x).logabsdet, lambda x: torch.linalg.slogdet(x).logabsdet, a)
    neg = a.copy()
    neg[:, 0] *= -1
    s = fg.linalg.slogdet(fg.tensor(neg))
    close(s.sign, torch.linalg.slogdet(torch.tensor(neg)).sign)
    sign, logabs = fg.slogdet(fg.tensor(neg))
    close(logabs, torch.slogdet(torch.tensor(neg)).logabsdet)
    b = arr(2, 3, 4)
    check(fg.linalg.solve, torch.linalg.solve, a, b)
    check(fg.linalg.solve, torch.linalg.solve, a, arr(2, 3))  # batch of vectors
    check(fg.linalg.solve, torch.linalg.solve, a[0], arr(3))
    check(fg.linalg.solve, torch.linalg.solve, a, arr(3, 2))  # broadcast B
    check(
        lambda x, y: fg.linalg.solve(x, y, left=False),
        lambda x, y: torch.linalg.solve(x, y, left=False),
        a,
        arr(2, 4, 3),
    )


def test_float32_and_empty():
    a = wellcond(3, 3).astype(np.float32)
    y = fg.linalg.inv(fg.tensor(a))
    assert y.dtype == fg.float32
    close(y, torch.linalg.inv(torch.tensor(a)), 1e-5)
    e = fg.linalg.det(fg.tensor(np.zeros((0, 3, 3))))
    assert e.shape == (0,)
    assert float(fg.linalg.det(fg.tensor(np.zeros((0, 0))))) == 1.0


@pytest.mark.parametrize("upper", [False, True])
@pytest.mark.parametrize("left", [True, False])
@pytest.mark.parametrize("unit", [False, True])
def test_solve_triangular(upper, left, unit):
    a = wellcond(2, 3, 3)
    b = arr(2, 3, 2) if left else arr(2, 2, 3)
    check(
        lambda x, y: fg.linalg.solve_triangular(x, y, upper=upper, left=left, unitriangular=unit),
        lambda x, y: torch.linalg.solve_triangular(x, y, upper=upper, left=left, unitriangular=unit),
        a,
        b,
    )


@pytest.mark.parametrize("transpose", [False, True])
def test_triangular_solve_old_signature(transpose):
    a, b = wellcond(3, 3), arr(3, 2)
    check(
        lambda y, x: fg.triangular_solve(y, x, upper=False, transpose=transpose).solution,
        lambda y, x: torch.triangular_solve(y, x, upper=False, transpose=transpose).solution,
        b,
        a,
    )


@pytest.mark.parametrize("upper", [False, True])
def test_cholesky(upper):
    a = spd(2, 3, 3)
    check(lambda x: fg.linalg.cholesky(x, upper=upper), lambda x: torch.linalg.cholesky(x, upper=upper), a)
    check(lambda x: fg.cholesky(x, upper), lambda x: torch.cholesky(x, upper), a)


def test_eigh_and_eigvalsh():
    a = spd(2, 4, 4)
    check(lambda x: fg.linalg.eigh(x).eigenvalues, lambda x: torch.linalg.eigh(x).eigenvalues, a)
    check(lambda x: fg.linalg.eigvalsh(x, UPLO="U"), lambda x: torch.linalg.eigvalsh(x, UPLO="U"), a)
    # Eigenvectors up to sign (the gauge): compare V∘V, gradients included.
    check(
        lambda x: fg.linalg.eigh(x)[1] ** 2,
        lambda x: torch.linalg.eigh(x)[1] ** 2,
        a,
    )


@pytest.mark.parametrize("shape", [(4, 3), (3, 3), (2, 5, 3)])
def test_qr(shape):
    a = arr(*shape)
    check(lambda x: fg.linalg.qr(x).Q, lambda x: torch.linalg.qr(x).Q, a)
    check(lambda x: fg.linalg.qr(x).R, lambda x: torch.linalg.qr(x).R, a)
    w = arr(2, 3, 5)  # wide: Q (3, 3), R (3, 5)
    for mode in ("reduced", "complete"):
        check(lambda x, m=mode: fg.linalg.qr(x, m).Q, lambda x, m=mode: torch.linalg.qr(x, m).Q, w)
        check(lambda x, m=mode: fg.linalg.qr(x, m).R, lambda x, m=mode: torch.linalg.qr(x, m).R, w)
    if shape[-2] > shape[-1]:
        with pytest.raises(ValueError, match="complete"):  # tall complete Q: not unique, as torch
            fg.linalg.qr(fg.tensor(a, requires_grad=True), "complete").Q.sum().backward()
    qc, rc = fg.linalg.qr(fg.tensor(a), mode="complete")
    tq, tr = torch.linalg.qr(torch.tensor(a), mode="complete")
    close(qc, tq)
    close(rc, tr)


@pytest.mark.parametrize("shape", [(4, 3), (3, 4), (2, 3, 3)])
def test_svd(shape):
    a = arr(*shape)
    check(fg.linalg.svdvals, torch.linalg.svdvals, a)
    for i in (0, 2):
        check(
            lambda x, i=i: fg.linalg.svd(x, full_matrices=False)[i] ** 2,
            lambda x, i=i: torch.linalg.svd(x, full_matrices=False)[i] ** 2,
            a,
        )
    u, s, vh = fg.linalg.svd(fg.tensor(a))
    tu, ts, tvh = torch.linalg.svd(torch.tensor(a))
    assert u.shape == tuple(tu.shape) and vh.shape == tuple(tvh.shape)
    rec = (
        np.asarray(u)[..., :, : s.shape[-1]]
        * np.asarray(s)[..., None, :]
        @ np.asarray(vh)[..., : s.shape[-1], :]
    )
    np.testing.assert_allclose(rec, a, atol=1e-10)


@pytest.mark.parametrize("ord", [2, 1, 3.5, math.inf, -math.inf, 0])
@pytest.mark.parametrize("dim", [None, 1, (0, 2)])
@pytest.mark.parametrize("keepdim", [False, True])
def test_vector_norm(ord, dim, keepdim):
    a = arr(2, 3, 4)
    check(
        lambda x: fg.linalg.vector_norm(x, ord, dim, keepdim),
        lambda x: torch.linalg.vector_norm(x, ord, dim, keepdim),
        a,
        grad=ord != 0,
    )


# Rows: all zero (the norm is 0), one zero entry, a tie of the largest |x| (2 and -2), a
# tie of the smallest (two zeros), no zero.
AT_ZERO = np.array(
    [[0.0, 0.0, 0.0, 0.0], [0.0, 1.5, -0.5, 1.0], [2.0, -2.0, 1.0, 0.5], [0.0, 0.0, 1.0, -3.0]]
)


@pytest.mark.parametrize("ord", [2, 1, 0.5, 1.5, 3.5, -1, -2.5, 0, math.inf, -math.inf])
@pytest.mark.parametrize(("x", "dims"), [(AT_ZERO, 1), (AT_ZERO, None), (AT_ZERO[0], None), (AT_ZERO[0], 0)])
def test_vector_norm_subgradients_at_zero_match_torch(ord, x, dims):
    """torch picks the subgradient 0 where |x| has a kink (x = 0, and a zero norm) and shares
    the derivative of max/min |x| equally between ties; the VJP and the JVP both follow it."""
    check(
        lambda t: fg.linalg.vector_norm(t, ord, dims),
        lambda t: torch.linalg.vector_norm(t, ord, dims),
        x,
        grad=ord != 0,  # torch's backward of ord 0 is undefined (a None grad); fastgrad's is 0
        tol=1e-12,
    )
    v = RNG.standard_normal(x.shape)
    _, ft = fg.jvp(lambda t: fg.linalg.vector_norm(t, ord, dims), (fg.tensor(x),), (fg.tensor(v),))
    _, tt = torch.func.jvp(
        lambda t: torch.linalg.vector_norm(t, ord, dims), (torch.tensor(x),), (torch.tensor(v),)
    )
    close(ft, tt, 1e-12)


def test_vector_norm_of_empty_inputs():
    """As torch: a finite ord >= 0 over nothing is 0 (zero gradient and tangent); the max and
    the negative orders have no identity and raise; matrix norms of positive order are 0."""
    e = fg.zeros(0, 3, dtype=fg.float64, requires_grad=True)
    for ord in (2, 1, 0, 0.5, 3.5):
        y = fg.linalg.vector_norm(e, ord)
        assert y.shape == () and float(y) == 0.0
        (g,) = fg.autograd.grad(y, [e])
        assert g.shape == (0, 3)
        _, t = fg.jvp(lambda a, o=ord: fg.linalg.vector_norm(a, o, dim=0), (e.detach(),), (fg.zeros(0, 3),))
        np.testing.assert_array_equal(np.asarray(t), np.zeros(3))
    for ord in (math.inf, -math.inf, -1):
        with pytest.raises(ValueError, match="empty reduction"):
            fg.linalg.vector_norm(e, ord)
        with pytest.raises(RuntimeError):
            torch.linalg.vector_norm(torch.zeros(0, 3), ord)
    assert fg.linalg.vector_norm(e, math.inf, dim=1).shape == (0,)  # nothing reduced over is empty
    for shape in [(0, 0), (5, 0), (0, 5), (2, 0, 3)]:
        for ord in ("fro", "nuc", 1, 2, math.inf):
            want = torch.linalg.matrix_norm(torch.zeros(shape), ord)
            got = fg.linalg.matrix_norm(fg.zeros(*shape), ord)
            assert got.shape == tuple(want.shape) and not np.asarray(got).any()


def test_vector_norm_dim_empty_tuple_reduces_every_dim():
    a = arr(2, 3)
    for keepdim in (False, True):
        close(
            fg.linalg.vector_norm(fg.tensor(a), 3, dim=(), keepdim=keepdim),
            torch.linalg.vector_norm(torch.tensor(a), 3, dim=(), keepdim=keepdim),
        )


def test_norm_dtype_casts_the_input_first():
    a = arr(3, 4, dtype=np.float32)
    for f, t, args in [
        (fg.linalg.vector_norm, torch.linalg.vector_norm, (3,)),
        (fg.linalg.matrix_norm, torch.linalg.matrix_norm, ("nuc",)),
        (fg.linalg.norm, torch.linalg.norm, ()),
        (fg.norm, torch.norm, (1,)),
    ]:
        got, want = f(fg.tensor(a), *args, dtype=fg.float64), t(torch.tensor(a), *args, dtype=torch.float64)
        assert got.dtype == fg.float64
        close(got, want, 1e-12)


def test_norms_go_through_the_vector_norm_primitive():
    """One tape node for every spelling of a vector (or Frobenius) norm, so all get its rules."""
    x = fg.tensor(arr(3, 4), requires_grad=True)
    for y in [
        fg.linalg.vector_norm(x),
        fg.linalg.norm(x),
        fg.linalg.norm(x, 3, dim=1),
        fg.linalg.matrix_norm(x),
        fg.norm(x),
        x.norm(p=1, dim=0),
        x.norm("fro"),
    ]:
        assert y.grad_fn == "linalg_vector_norm"


@pytest.mark.parametrize("ord", ["fro", "nuc", 1, -1, 2, -2, math.inf, -math.inf])
@pytest.mark.parametrize("keepdim", [False, True])
def test_matrix_norm(ord, keepdim):
    a = arr(2, 4, 3)
    check(
        lambda x: fg.linalg.matrix_norm(x, ord, keepdim=keepdim),
        lambda x: torch.linalg.matrix_norm(x, ord, keepdim=keepdim),
        a,
    )
    check(
        lambda x: fg.linalg.matrix_norm(x, ord, dim=(0, 2)),
        lambda x: torch.linalg.matrix_norm(x, ord, dim=(0, 2)),
        a,
    )


@pytest.mark.parametrize(
    ("args", "kwargs", "shape"),
    [
        ((), {}, (3, 4)),
        ((2,), {}, (3, 4)),
        (("fro",), {}, (3, 4)),
        (("nuc",), {}, (3, 4)),
        ((1,), {"dim": 1}, (3, 4)),
        ((None, (0, 1)), {}, (3, 4, 2)),
        ((math.inf,), {}, (5,)),
        ((-1,), {}, (3, 4)),
    ],
)
def test_linalg_norm(args, kwargs, shape):
    a = arr(*shape)
    check(lambda x: fg.linalg.norm(x, *args, **kwargs), lambda x: torch.linalg.norm(x, *args, **kwargs), a)


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        ((), {}),
        ((2,), {}),
        ((1,), {"dim": 1}),
        (("fro",), {"dim": (0, 1)}),
        (("nuc",), {}),
        ((3, 0, True), {}),
    ],
)
def test_torch_norm_and_method(args, kwargs):
    a = arr(3, 4)
    check(lambda x: fg.norm(x, *args, **kwargs), lambda x: torch.norm(x, *args, **kwargs), a)
    check(lambda x: x.norm(*args, **kwargs), lambda x: x.norm(*args, **kwargs), a)


def test_multi_dot():
    arrays = [arr(3), arr(3, 4), arr(4, 2), arr(2, 5)]
    check(lambda *x: fg.linalg.multi_dot(list(x)), lambda *x: torch.linalg.multi_dot(list(x)), *arrays)


@pytest.mark.parametrize(
    ("fn", "tfn"),
    [
        (fg.linalg.inv, torch.linalg.inv),
        (fg.linalg.cholesky, torch.linalg.cholesky),
        (
            lambda a: fg.linalg.solve(a, fg.ones(3, 1, dtype=fg.float64)),
            lambda a: torch.linalg.solve(a, torch.ones(3, 1, dtype=torch.float64)),
        ),
    ],
)
def test_singular_and_not_positive_definite_raise(fn, tfn):
    a = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [0.0, 1.0, 1.0]])
    if fn is fg.linalg.cholesky:
        a = -np.eye(3)
    with pytest.raises(ValueError, match="linalg"):
        fn(fg.tensor(a))
    with pytest.raises(torch.linalg.LinAlgError):
        tfn(torch.tensor(a))
    assert issubclass(fg.linalg.LinAlgError, ValueError)


@pytest.mark.parametrize(
    "fn", [fg.linalg.inv, fg.linalg.det, fg.linalg.cholesky, fg.linalg.eigvalsh, fg.linalg.slogdet]
)
def test_non_square_rejected_naming_shape(fn):
    with pytest.raises(ValueError, match=r"\(2, 3\)"):
        fn(fg.tensor(arr(2, 3)))


def test_integer_input_rejected():
    with pytest.raises(TypeError):
        fg.linalg.inv(fg.tensor(np.eye(2, dtype=np.int64)))


@pytest.mark.parametrize("shape", [(0, 0), (3, 0), (0, 3), (2, 0, 3)])
@pytest.mark.parametrize("full", [False, True])
def test_svd_of_empty_matrices_matches_torch(shape, full):
    """Eigen's SVD refuses empty matrices (it crashed the process): torch's shapes, identity bases."""
    got = fg.linalg.svd(fg.zeros(*shape, dtype=fg.float64), full_matrices=full)
    want = torch.linalg.svd(torch.zeros(*shape, dtype=torch.float64), full_matrices=full)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(np.asarray(g), w.numpy())
    assert float(fg.linalg.matrix_norm(fg.zeros(*shape, dtype=fg.float64), "nuc").sum()) == 0.0


def test_dot_is_torch_dot_in_1d_and_numpy_dot_beyond():
    """torch.dot is 1-D only; JAX/NumPy code means np.dot for other ranks (issue 12)."""
    rng = np.random.default_rng(0)
    a, b, c, v = rng.random((4, 3)), rng.random((3, 5)), rng.random((2, 3, 5)), rng.random(3)
    for x, y in [(a, b), (a, v), (v, b), (a, c), (v, v), (np.array(2.0), a)]:
        np.testing.assert_allclose(np.asarray(fg.dot(fg.tensor(x), fg.tensor(y))), np.dot(x, y))
    np.testing.assert_allclose(
        np.asarray(fg.dot(fg.tensor(v), fg.tensor(v))), torch.dot(torch.tensor(v), torch.tensor(v)).numpy()
    )
    with pytest.raises(ValueError, match="dot"):
        fg.dot(fg.tensor(a), fg.tensor(a))


# ---- torch's spellings over the decompositions: pinv, matrix_rank, cond, logdet, vecdot ----


def test_pinv_rank_deficient_matches_torch_value_and_gradient(rng):
    a = rng.standard_normal((4, 2))
    b = rng.standard_normal((3, 2))
    w = rng.standard_normal((3, 4))
    ta = torch.tensor(a, requires_grad=True)
    tp = torch.linalg.pinv(ta @ torch.tensor(b).mT)
    (tp * torch.tensor(w)).sum().backward()
    x = fg.tensor(a, requires_grad=True)
    p = fg.linalg.pinv(x @ fg.tensor(b).mT)
    (p * fg.tensor(w)).sum().backward()
    np.testing.assert_allclose(p.numpy(), tp.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), ta.grad.numpy(), atol=1e-10)
    assert int(fg.linalg.matrix_rank(fg.tensor(a @ b.T)).numpy()) == 2


def test_cond_logdet_vecdot_match_torch(rng):
    a = rng.standard_normal((2, 3, 3))
    for p in (None, 2, -2, "fro", 1):
        np.testing.assert_allclose(
            fg.linalg.cond(fg.tensor(a), p).numpy(), torch.linalg.cond(torch.tensor(a), p).numpy(), rtol=1e-10
        )
    np.testing.assert_allclose(
        fg.logdet(fg.tensor(a)).numpy(), torch.logdet(torch.tensor(a)).numpy(), rtol=1e-12
    )
    v = rng.standard_normal((2, 3))
    np.testing.assert_allclose(
        fg.linalg.vecdot(fg.tensor(a), fg.tensor(v[0]), dim=-1).numpy(),
        torch.linalg.vecdot(torch.tensor(a), torch.tensor(v[0])).numpy(),
        rtol=1e-13,
    )


def test_composite_linalg_errors_name_op_and_shape():
    with pytest.raises(
        ValueError, match=r"linalg.pinv: A must have at least 2 dims \(\*, m, n\), got shape \(3,\)"
    ):
        fg.linalg.pinv(fg.zeros((3,)))
    with pytest.raises(
        ValueError, match=r"linalg.cond: ord other than 2/-2/None needs square matrices, got shape"
    ):
        fg.linalg.cond(fg.zeros((2, 3)), "fro")
    with pytest.raises(ValueError, match=r"linalg.vecdot: shapes \(2, 3\) and \(4,\) cannot be broadcast"):
        fg.linalg.vecdot(fg.zeros((2, 3)), fg.zeros((4,)))


def test_cdist_matches_torch_and_names_shapes(rng):
    a = rng.standard_normal((2, 4, 3))
    b = rng.standard_normal((5, 3))
    got = fg.cdist(fg.tensor(a), fg.tensor(b), p=1.0).numpy()
    np.testing.assert_allclose(got, torch.cdist(torch.tensor(a), torch.tensor(b), p=1.0).numpy(), rtol=1e-12)
    with pytest.raises(
        ValueError, match=r"cdist: x1 \(\*, P, M\) and x2 \(\*, R, M\) .* \(2, 4, 3\) and \(5, 2\)"
    ):
        fg.cdist(fg.tensor(a), fg.zeros((5, 2)))
