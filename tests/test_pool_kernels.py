"""Max / average pooling kernels on every ISA path this machine supports (FASTGRAD_ISA is
read at load time, so the non-default paths run in subprocesses) against PyTorch as the
oracle: NCHW and NHWC, float32 and float64, windows that overlap, leave edge columns
partly in the padding, use dilation / ceil_mode / count_include_pad / divisor_override,
rows longer than the kernels' column chunk, ties (the first maximum wins, as in PyTorch)
and NaN (a NaN wins); values, PyTorch's return_indices and gradients. Float64 finite
differences of both layouts check the VJP and JVP (the max_pool_backward primitive)."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import fastgrad as fg

torch = pytest.importorskip("torch")
C = fg._C

# (input NCHW shape, kernel, stride, pad, dilation, ceil_mode)
GEOMS = [
    ((2, 3, 8, 8), 2, 2, 0, 1, False),
    ((2, 3, 7, 9), 3, 2, 1, 1, False),
    ((1, 4, 6, 11), 3, 1, 1, 1, False),
    ((1, 2, 5, 10), 2, 1, 0, 1, True),
    ((2, 2, 9, 7), 3, 3, 1, 1, True),
    ((1, 3, 9, 13), 3, 2, 1, 2, True),
    ((1, 2, 7, 8), (2, 3), (1, 2), (1, 0), (2, 1), False),
    ((1, 2, 4, 5), 1, 1, 0, 1, False),
    # dilated windows that overlap although kernel <= stride (the channels-last backward
    # once walked them undilated and lost the gradient of the shared cells)
    ((2, 3, 8, 8), 2, 2, 0, 2, False),
    ((1, 2, 9, 11), (2, 3), (3, 3), (0, 1), (2, 2), True),
    ((1, 2, 10, 10), 4, 3, 2, 1, True),
    ((1, 1, 3, 600), (1, 3), (1, 1), (0, 1), 1, False),  # interior longer than the column chunk
    ((1, 1, 2, 1100), (2, 2), (1, 2), (0, 1), 1, True),
]


def _pair(v):
    return list(v) if isinstance(v, tuple) else [v, v]


def _values(kind, shape, dtype, rng):
    if kind == "ties":
        return rng.integers(0, 3, shape).astype(dtype)
    x = rng.standard_normal(shape).astype(dtype)
    if kind == "nan":
        x[rng.random(shape) < 0.1] = np.nan
    return x


def _to_fg(a, nhwc):
    return fg.tensor(np.ascontiguousarray(a.transpose(0, 2, 3, 1)) if nhwc else a, requires_grad=True)


def _from_fg(t, nhwc):
    a = np.asarray(t.detach())
    return a.transpose(0, 3, 1, 2) if nhwc else a


def _torch(a, nhwc):
    t = torch.from_numpy(a.copy())
    if nhwc:
        t = t.to(memory_format=torch.channels_last)
    return t.requires_grad_()


def check_all() -> int:
    """Compares every case with PyTorch; raises on the first mismatch, returns the count."""
    rng = np.random.default_rng(7)
    count = 0
    for dtype in (np.float32, np.float64):
        tol = 2e-6 if dtype == np.float32 else 1e-13
        for shape, k, s, p, d, cm in GEOMS:
            ks, ss, ps, ds = _pair(k), _pair(s), _pair(p), _pair(d)
            for nhwc in (False, True):
                # max pooling: values, indices, gradients
                for kind in ("normal", "ties", "nan"):
                    x = _values(kind, shape, dtype, rng)
                    fx, tx = _to_fg(x, nhwc), _torch(x, nhwc)
                    y, idx = C.max_pool_with_indices(fx, ks, ss, ps, nhwc, ds, cm)
                    ty, ti = torch.nn.functional.max_pool2d(tx, ks, ss, ps, ds, cm, return_indices=True)
                    what = (dtype.__name__, shape, k, s, p, d, cm, nhwc, kind)
                    np.testing.assert_array_equal(_from_fg(y, nhwc), ty.detach().numpy(), err_msg=str(what))
                    np.testing.assert_array_equal(_from_fg(idx, nhwc), ti.numpy(), err_msg=str(what))
                    g = rng.standard_normal(tuple(ty.shape)).astype(dtype)
                    gf = np.ascontiguousarray(g.transpose(0, 2, 3, 1)) if nhwc else g
                    y.backward(fg.tensor(gf))
                    ty.backward(torch.from_numpy(g))
                    np.testing.assert_allclose(
                        _from_fg(fx.grad, nhwc), tx.grad.numpy(), rtol=tol, atol=tol, err_msg=str(what)
                    )
                    count += 1
                if ds != [1, 1]:
                    continue
                # average pooling (no dilation): both count_include_pad, a divisor_override
                for cip, dv in ((True, None), (False, None), (True, 3)):
                    if any(2 * pp > kk for pp, kk in zip(ps, ks)):
                        continue
                    x = _values("normal", shape, dtype, rng)
                    fx, tx = _to_fg(x, nhwc), _torch(x, nhwc)
                    y = C.avg_pool(fx, ks, ss, ps, cip, nhwc, cm, dv)
                    ty = torch.nn.functional.avg_pool2d(tx, ks, ss, ps, cm, cip, dv)
                    what = (dtype.__name__, shape, k, s, p, cm, nhwc, cip, dv)
                    np.testing.assert_allclose(
                        _from_fg(y, nhwc), ty.detach().numpy(), rtol=tol, atol=tol, err_msg=str(what)
                    )
                    g = rng.standard_normal(tuple(ty.shape)).astype(dtype)
                    gf = np.ascontiguousarray(g.transpose(0, 2, 3, 1)) if nhwc else g
                    y.backward(fg.tensor(gf))
                    ty.backward(torch.from_numpy(g))
                    np.testing.assert_allclose(
                        _from_fg(fx.grad, nhwc), tx.grad.numpy(), rtol=tol, atol=tol, err_msg=str(what)
                    )
                    count += 1
    return count


def test_pool_kernels_default_isa():
    assert check_all() >= 240


@pytest.mark.parametrize("isa", ["scalar", "avx2", "avx512"])
def test_pool_kernels_every_isa(isa):
    if isa not in C.supported_isas():
        pytest.skip(f"{isa} not supported on this CPU")
    if isa == C.isa():
        pytest.skip("the in-process test covers the active path")
    env = dict(os.environ, FASTGRAD_ISA=isa, OMP_NUM_THREADS="2")
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import fastgrad as fg; "
        "assert fg._C.isa() == sys.argv[2], fg._C.isa(); "
        "import test_pool_kernels as t; print('ok', t.check_all())"
    )
    here = os.path.dirname(os.path.abspath(__file__))
    p = subprocess.run(
        [sys.executable, "-c", code, here, isa], capture_output=True, text=True, env=env, timeout=900
    )
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    assert "ok" in p.stdout


def _fd(f, x, rng, eps=1e-6):
    """float64: VJP <J^T w, u>, JVP <w, J u> and central differences of <w, f(x + t u)> agree."""
    u = rng.standard_normal(x.shape)
    leaf = fg.tensor(x, requires_grad=True)
    y = f(leaf)
    w = rng.standard_normal(tuple(y.shape))
    (gx,) = fg.autograd.grad((y * fg.tensor(w)).sum(), [leaf])
    vjp = float(np.sum(np.asarray(gx) * u))
    _, t = fg.jvp(lambda v: f(v), (fg.tensor(x),), (fg.tensor(u),))
    jvp = float(np.sum(np.asarray(t) * w))
    fd = (
        float(np.sum(np.asarray(f(fg.tensor(x + eps * u))) * w))
        - float(np.sum(np.asarray(f(fg.tensor(x - eps * u))) * w))
    ) / (2 * eps)
    np.testing.assert_allclose([vjp, jvp], [fd, fd], rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("nhwc", [False, True])
@pytest.mark.parametrize("k,s,p", [(2, 2, 0), (3, 2, 1), (3, 1, 1)])
def test_pool_finite_differences_float64(nhwc, k, s, p):
    rng = np.random.default_rng(3)
    shape = (2, 9, 10, 3) if nhwc else (2, 3, 9, 10)
    n = int(np.prod(shape))
    # well separated values: no ties within the finite-difference step
    x = (np.linspace(-2.0, 2.0, n) + 0.1)[rng.permutation(n)].reshape(shape)
    _fd(lambda v: C.max_pool(v, [k, k], [s, s], [p, p], nhwc), x, rng)
    _fd(lambda v: C.avg_pool(v, [k, k], [s, s], [p, p], True, nhwc), x, rng)
    _fd(lambda v: C.avg_pool(v, [k, k], [s, s], [p, p], False, nhwc, True), x, rng)
