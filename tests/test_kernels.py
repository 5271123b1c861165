"""Every kernel path this machine supports (FASTGRAD_ISA=scalar|avx2|avx512, chosen at
load time, so each runs in its own process) against NumPy, and PyTorch when installed:
GEMM with odd, transposed and strided operands; conv forward/backward in both layouts;
the vectorised unary functions and the fused GELU backward."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

import fastgrad as fg

CHECK = textwrap.dedent(r"""
    import sys
    import numpy as np
    import fastgrad as fg
    from math import erf
    expected = sys.argv[1]
    assert fg._C.isa() == expected, (fg._C.isa(), expected)
    rng = np.random.default_rng(0)
    # GEMM: odd sizes, transposed and strided operands, both float types
    for dt, tol in ((np.float32, 2e-5), (np.float64, 1e-12)):
        for m, k, n in ((1, 1, 1), (7, 13, 5), (33, 67, 17), (64, 64, 64), (130, 257, 71)):
            a = rng.standard_normal((m, k)).astype(dt)
            b = rng.standard_normal((k, n)).astype(dt)
            ref = a.astype(np.float64) @ b.astype(np.float64)
            scale = np.abs(a).astype(np.float64) @ np.abs(b).astype(np.float64) + 1e-30
            for fa, fb in ((fg.tensor(a), fg.tensor(b)),
                           (fg.tensor(np.ascontiguousarray(a.T)).T, fg.tensor(np.ascontiguousarray(b.T)).T),
                           (fg.tensor(np.pad(a, ((0, 0), (0, 3))))[:, :k], fg.tensor(np.pad(b, ((0, 2), (0, 0))))[:k])):
                out = np.asarray(fg.matmul(fa, fb), dtype=np.float64)
                assert np.all(np.abs(out - ref) <= tol * k * scale), (dt, m, k, n)
    # unary kernels vs float64 references
    x = np.concatenate([rng.standard_normal(4099) * 3, [0.0, -0.0, 1e-30, -20.0, 20.0]]).astype(np.float32)
    xd = x.astype(np.float64)
    verf = np.vectorize(erf)
    phi = 0.5 * (1 + verf(xd / np.sqrt(2)))
    refs = {"exp": np.exp(xd), "tanh": np.tanh(xd), "sigmoid": 1 / (1 + np.exp(-xd)), "erf": verf(xd),
            "gelu": xd * phi}
    for name, ref in refs.items():
        fn = getattr(fg, name)
        got = np.asarray(fn(fg.tensor(x)), dtype=np.float64)
        assert np.allclose(got, ref, rtol=2e-6, atol=2e-7), name
    g = rng.standard_normal(x.shape).astype(np.float32)
    xt = fg.tensor(x, requires_grad=True)
    fg.gelu(xt).backward(fg.tensor(g))
    dref = phi + xd * np.exp(-xd * xd / 2) / np.sqrt(2 * np.pi)
    assert np.allclose(np.asarray(xt.grad, dtype=np.float64), g * dref, rtol=5e-6, atol=5e-7)
    # conv forward + backward, both layouts, against an explicit float64 im2col reference
    xs = rng.standard_normal((2, 3, 9, 8))
    ws = rng.standard_normal((5, 3, 3, 3))
    def conv_ref(x, w):
        n, c, h, wd = x.shape
        xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
        out = np.zeros((n, w.shape[0], h, wd))
        for i in range(3):
            for j in range(3):
                out += np.einsum("nchw,oc->nohw", xp[:, :, i:i + h, j:j + wd], w[:, :, i, j])
        return out
    ref = conv_ref(xs, ws)
    for cl in (False, True):
        xin = xs.transpose(0, 2, 3, 1) if cl else xs
        win = ws.transpose(0, 2, 3, 1) if cl else ws
        y = fg._C.conv(fg.tensor(np.ascontiguousarray(xin), dtype=fg.float32),
                       fg.tensor(np.ascontiguousarray(win), dtype=fg.float32), None, [1, 1], [1, 1], [1, 1], [1, 1], 1, cl)
        out = np.asarray(y, dtype=np.float64)
        out = out.transpose(0, 3, 1, 2) if cl else out
        assert np.allclose(out, ref, rtol=1e-4, atol=1e-4), cl
    print("ok", expected)
""")


@pytest.mark.parametrize("isa", ["scalar", "avx2", "avx512"])
def test_kernel_path(isa):
    if isa not in fg._C.supported_isas():
        pytest.skip(f"{isa} not supported on this CPU")
    env = dict(os.environ, FASTGRAD_ISA=isa, OMP_NUM_THREADS="2")
    p = subprocess.run(
        [sys.executable, "-c", CHECK, isa], capture_output=True, text=True, env=env, timeout=600
    )
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    assert f"ok {isa}" in p.stdout


def test_default_isa_is_the_best_supported():
    if "FASTGRAD_ISA" in os.environ:
        pytest.skip("FASTGRAD_ISA is set")
    assert fg._C.isa() == fg._C.supported_isas()[-1]


def test_threads_follow_set_num_threads():
    n = fg.get_num_threads()
    try:
        fg.set_num_threads(1)
        assert fg.get_num_threads() == 1
        a = fg.randn(200, 300)
        b = fg.randn(300, 100)
        one = (a @ b).numpy().copy()
        fg.set_num_threads(2)
        assert fg.get_num_threads() == 2
        np_two = (a @ b).numpy()
        import numpy as np

        np.testing.assert_allclose(one, np_two, rtol=1e-5, atol=1e-5)
    finally:
        fg.set_num_threads(n)
    with pytest.raises(ValueError, match="set_num_threads"):
        fg.set_num_threads(0)
