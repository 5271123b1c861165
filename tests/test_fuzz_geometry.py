"""Property-based fuzz of zero-sized kernel/channel/spatial/batch geometry (issue 10,
item 13) for conv1d/2d/3d × NCHW/NHWC × forward/backward and for max/avg/adaptive
pooling: every case is either a result equal to PyTorch's (values and gradients) or a
clear ValueError naming the op and the shapes — never a crash (a 0-sized kernel axis
or 0 input channels used to kill the interpreter with SIGFPE).

The validation lives in C++ (before any kernel runs), so the properties call both the
Python functions and the raw ``_C`` entry points in-process; one test additionally
drives the raw entry points over the whole zero-size matrix in a child process, so a
crash is reported as a failure instead of killing pytest.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import fastgrad as fg
import fastgrad.nn.functional as F
from fuzz_profiles import BASE, COUNTER

C = fg._C
NP_DT = {"float32": np.float32, "float64": np.float64}
FG_DT = {"float32": fg.float32, "float64": fg.float64}
TOL = {"float32": 2e-4, "float64": 1e-10}


def _to_cl(a: np.ndarray) -> np.ndarray:
    """(N, C, *S) -> (N, *S, C)."""
    return np.ascontiguousarray(np.moveaxis(a, 1, -1))


def _from_cl(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.moveaxis(a, -1, 1))


def _close(got, want, dtype, what):
    np.testing.assert_allclose(
        np.asarray(got, np.float64),
        np.asarray(want, np.float64),
        rtol=TOL[dtype],
        atol=TOL[dtype] * max(1.0, float(np.max(np.abs(want), initial=0.0))),
        err_msg=what,
    )


def _torch_outcome(fn):
    try:
        return fn(), None
    except (RuntimeError, ValueError, IndexError) as e:
        return None, e


@st.composite
def conv_case(draw):
    nd = draw(st.sampled_from([1, 2, 3]), label="nd")
    groups = draw(st.sampled_from([1, 1, 2]), label="groups")
    cin_g = draw(st.sampled_from([0, 1, 2]), label="cin_g")
    cout = groups * draw(st.sampled_from([0, 1, 2]), label="cout_g")
    N = draw(st.sampled_from([0, 1, 2]), label="N")
    k = tuple(draw(st.lists(st.sampled_from([0, 1, 2, 3]), min_size=nd, max_size=nd), label="k"))
    S = tuple(draw(st.lists(st.sampled_from([0, 1, 3, 5]), min_size=nd, max_size=nd), label="S"))
    stride = draw(st.sampled_from([1, 2]), label="stride")
    pad = draw(st.sampled_from([0, 1]), label="pad")
    dil = draw(st.sampled_from([1, 2]), label="dil")
    return dict(
        nd=nd,
        groups=groups,
        cin=cin_g * groups,
        cin_g=cin_g,
        cout=cout,
        N=N,
        k=k,
        S=S,
        stride=stride,
        pad=pad,
        dil=dil,
    )


@settings(parent=BASE, max_examples=BASE.max_examples * 4)
@given(
    case=conv_case(),
    cl=st.booleans(),
    raw=st.booleans(),
    bias=st.booleans(),
    dtype=st.sampled_from(["float32", "float64"]),
    seed=st.integers(0, 2**16),
)
def test_conv_zero_geometry_torch_or_value_error(case, cl, raw, bias, dtype, seed):
    nd, N, cin, cout, k, S = case["nd"], case["N"], case["cin"], case["cout"], case["k"], case["S"]
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, cin) + S)
    w = rng.standard_normal((cout, case["cin_g"]) + k)
    b = rng.standard_normal((cout,)) if bias else None
    s, p, d, g = case["stride"], case["pad"], case["dil"], case["groups"]
    tconv = getattr(torch.nn.functional, f"conv{nd}d")
    tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    tb = torch.tensor(b, requires_grad=True) if bias else None
    ty, terr = _torch_outcome(lambda: tconv(tx, tw, tb, s, p, d, g))
    npdt = NP_DT[dtype]
    fx = fg.tensor((_to_cl(x) if cl else x).astype(npdt), dtype=FG_DT[dtype], requires_grad=True)
    fw = fg.tensor((_to_cl(w) if cl else w).astype(npdt), dtype=FG_DT[dtype], requires_grad=True)
    fb = fg.tensor(b.astype(npdt), dtype=FG_DT[dtype], requires_grad=True) if bias else None
    try:
        if raw:
            fy = C.conv(fx, fw, fb, [s] * nd, [p] * nd, [p] * nd, [d] * nd, g, cl, "none")
        else:
            fy = getattr(F, f"conv{nd}d")(
                fx, fw, fb, s, p, d, g, data_format="channels_last" if cl else "NCHW"
            )
    except ValueError as e:
        msg = str(e)
        assert "conv" in msg and "(" in msg, msg  # names the op and a shape
        # refusing is right only where PyTorch refuses too or an axis other than the batch is empty
        assert terr is not None or min((cin, cout) + k + S) == 0, (
            f"fastgrad refused a case PyTorch computes: {msg}"
        )
        COUNTER.hit("error", f"conv{nd}d")
        return
    assert terr is None, f"fastgrad computed a case PyTorch refuses ({terr})"
    want = ty.detach().numpy()
    got = np.asarray(fy.detach())
    assert (_from_cl(got) if cl else got).shape == want.shape
    _close(_from_cl(got) if cl else got, want, dtype, "conv forward")
    COUNTER.hit("forward", f"conv{nd}d")
    gy = rng.standard_normal(want.shape)
    (ty * torch.as_tensor(gy)).sum().backward()
    (fy * fg.tensor((_to_cl(gy) if cl else gy).astype(npdt), dtype=FG_DT[dtype])).sum().backward()
    gx, gw = np.asarray(fx.grad), np.asarray(fw.grad)
    _close(_from_cl(gx) if cl else gx, tx.grad.numpy(), dtype, "conv grad x")
    _close(_from_cl(gw) if cl else gw, tw.grad.numpy(), dtype, "conv grad w")  # zeros for an empty batch
    if bias:
        _close(np.asarray(fb.grad), tb.grad.numpy(), dtype, "conv grad b")
    COUNTER.hit("backward", f"conv{nd}d")


@st.composite
def pool_case(draw):
    nd = draw(st.sampled_from([1, 2, 3]), label="nd")
    kind = draw(st.sampled_from(["max", "avg", "adaptive"]), label="kind")
    N = draw(st.sampled_from([0, 1, 2]), label="N")
    Cc = draw(st.sampled_from([0, 1, 2]), label="C")
    S = tuple(draw(st.lists(st.sampled_from([0, 1, 2, 4, 5]), min_size=nd, max_size=nd), label="S"))
    k = tuple(draw(st.lists(st.sampled_from([0, 1, 2, 3]), min_size=nd, max_size=nd), label="k"))
    stride = draw(st.sampled_from([None, 1, 2]), label="stride")
    pad = draw(st.sampled_from([0, 1]), label="pad")
    out = tuple(draw(st.lists(st.sampled_from([1, 2, 3]), min_size=nd, max_size=nd), label="out"))
    return dict(nd=nd, kind=kind, N=N, C=Cc, S=S, k=k, stride=stride, pad=pad, out=out)


@settings(parent=BASE, max_examples=BASE.max_examples * 4)
@given(
    case=pool_case(),
    cl=st.booleans(),
    dtype=st.sampled_from(["float32", "float64"]),
    seed=st.integers(0, 2**16),
)
def test_pool_zero_geometry_torch_or_value_error(case, cl, dtype, seed):
    nd, kind, N, Cc, S, k = case["nd"], case["kind"], case["N"], case["C"], case["S"], case["k"]
    stride, pad = case["stride"], case["pad"]
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, Cc) + S)
    tF = torch.nn.functional
    tx = torch.tensor(x, requires_grad=True)
    if kind == "max":
        tfn = lambda: getattr(tF, f"max_pool{nd}d")(tx, k, stride, pad)  # noqa: E731
        ffn = lambda t, fmt: getattr(F, f"max_pool{nd}d")(t, k, stride, pad, data_format=fmt)  # noqa: E731
    elif kind == "avg":
        tfn = lambda: getattr(tF, f"avg_pool{nd}d")(tx, k, stride, pad)  # noqa: E731
        ffn = lambda t, fmt: getattr(F, f"avg_pool{nd}d")(t, k, stride, pad, data_format=fmt)  # noqa: E731
    else:
        tfn = lambda: getattr(tF, f"adaptive_avg_pool{nd}d")(tx, case["out"])  # noqa: E731
        ffn = lambda t, fmt: getattr(F, f"adaptive_avg_pool{nd}d")(t, case["out"], data_format=fmt)  # noqa: E731
    ty, terr = _torch_outcome(tfn)
    if kind == "avg" and terr is not None and "smaller than kernel size" in str(terr):
        # avg_pool3d alone refuses an unpadded input smaller than the window even when the
        # padded one fits; with count_include_pad its result is the pool of the zero-padded input
        p2 = [pad] * (2 * nd)
        ty, terr = _torch_outcome(lambda: getattr(tF, f"avg_pool{nd}d")(tF.pad(tx, p2), k, stride, 0))
    npdt = NP_DT[dtype]
    fx = fg.tensor((_to_cl(x) if cl else x).astype(npdt), dtype=FG_DT[dtype], requires_grad=True)
    try:
        fy = ffn(fx, "channels_last" if cl else "NCHW")
    except ValueError as e:
        msg = str(e)
        assert "pool" in msg and "(" in msg, msg
        assert terr is not None or min(S + k) == 0, f"fastgrad refused a case PyTorch computes: {msg}"
        COUNTER.hit("error", f"{kind}_pool{nd}d")
        return
    if terr is not None:
        # PyTorch refuses some empty-channel pools (max_pool: "non-zero size for non-batch
        # dimensions"); fastgrad's answer there is the empty result of the right shape.
        assert Cc == 0 and fy.numel() == 0, f"fastgrad computed a case PyTorch refuses ({terr})"
        COUNTER.hit("forward", f"{kind}_pool{nd}d")
        return
    want = ty.detach().numpy()
    got = np.asarray(fy.detach())
    _close(_from_cl(got) if cl else got, want, dtype, f"{kind} pool forward")
    COUNTER.hit("forward", f"{kind}_pool{nd}d")
    gy = rng.standard_normal(want.shape)
    (fy * fg.tensor((_to_cl(gy) if cl else gy).astype(npdt), dtype=FG_DT[dtype])).sum().backward()
    gx = np.asarray(fx.grad)
    if want.size == 0:  # PyTorch's backward refuses some empty grads; the gradient is the empty/zero one
        np.testing.assert_array_equal(gx, np.zeros(fx.shape))
        COUNTER.hit("backward", f"{kind}_pool{nd}d")
        return
    (ty * torch.as_tensor(gy)).sum().backward()
    _close(_from_cl(gx) if cl else gx, tx.grad.numpy(), dtype, f"{kind} pool grad")
    COUNTER.hit("backward", f"{kind}_pool{nd}d")


CHILD = r"""
import itertools, sys
import numpy as np
import fastgrad as fg
C = fg._C
n = 0
for nd, cl in itertools.product((1, 2, 3), (False, True)):
    for N, cin, cout, k0, s0 in itertools.product((0, 1), (0, 2), (0, 2), (0, 2), (0, 3)):
        xs = (N,) + (s0,) * nd + (cin,) if cl else (N, cin) + (s0,) * nd
        ws = (cout,) + (k0,) * nd + (cin,) if cl else (cout, cin) + (k0,) * nd
        x = fg.randn(*xs, requires_grad=True)
        w = fg.randn(*ws, requires_grad=True)
        for args in (([1] * nd, [0] * nd, [0] * nd), ([2] * nd, [1] * nd, [1] * nd)):
            try:
                y = C.conv(x, w, None, args[0], args[1], args[2], [1] * nd, 1, cl, "none")
                y.sum().backward()
            except ValueError:
                pass
            n += 1
        for kk in (0, 1, 2):
            for fn in (lambda: C.max_pool(x, [kk] * nd, [1] * nd, [0] * nd, cl),
                       lambda: C.avg_pool(x, [kk] * nd, [1] * nd, [0] * nd, True, cl),
                       lambda: C.adaptive_avg_pool(x, [max(kk, 1)] * nd, cl)):
                try:
                    fn().sum().backward()
                except ValueError:
                    pass
                n += 1
print("GEOMETRY ok", n)
"""


def test_zero_geometry_raw_entry_points_never_crash(tmp_path):
    """The raw C++ entry points (no Python-side checks) over the zero-size matrix, forward
    and backward, in a child process: a SIGFPE/abort shows as a failure with its signal."""
    script = tmp_path / "geometry_child.py"
    script.write_text(CHILD)
    env = dict(os.environ, OMP_NUM_THREADS="2")
    p = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=600, env=env)
    tail = (p.stdout + p.stderr)[-3000:]
    assert p.returncode == 0, f"child died with return code {p.returncode} (signal if negative):\n{tail}"
    assert "GEOMETRY ok" in p.stdout
    COUNTER.hit("crash-matrix", "geometry", int(p.stdout.split()[-1]))


@pytest.mark.parametrize(
    "layer,args",
    [
        ("Conv1d", (2, 3, 0)),
        ("Conv2d", (2, 3, (0, 3))),
        ("Conv3d", (2, 3, (1, 0, 1))),
        ("Conv2d", (0, 3, 3)),
        ("Conv2d", (2, 0, 3)),
    ],
)
def test_conv_layer_zero_geometry_value_error(layer, args):
    with pytest.raises(ValueError, match=layer):
        getattr(fg.nn, layer)(*args)


def test_linear_zero_features_like_torch():
    """nn.Linear(0, 3) is PyTorch's empty matmul: the bias (init 0 bound) broadcast."""
    lin = fg.nn.Linear(0, 3)
    tl = torch.nn.Linear(0, 3)
    assert tuple(lin.weight.shape) == tuple(tl.weight.shape) == (3, 0)
    x = fg.zeros(2, 0, requires_grad=True)
    y = lin(x)
    np.testing.assert_array_equal(np.asarray(y.detach()), np.zeros((2, 3)))
    y.sum().backward()
    assert tuple(x.grad.shape) == (2, 0)
    np.testing.assert_array_equal(np.asarray(lin.bias.grad), [2.0, 2.0, 2.0])
    assert tuple(fg.nn.Linear(3, 0)(fg.zeros(2, 3)).shape) == (2, 0)
