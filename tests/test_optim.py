"""fg.optim: trajectories equal to torch.optim step for step, schedulers, clipping, EMA."""

import math
import re

import numpy as np
import pytest

import fastgrad as fg
import fastgrad.nn as nn
import fastgrad.optim as optim
from fastgrad.optim import lr_scheduler as fls

try:
    import torch
except Exception:  # pragma: no cover
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="torch not importable")


def A(t):
    return np.asarray(t.detach())


def _trajectory(fg_cls, t_cls, steps=8, dtype=np.float32, groups=True, **kw):
    """Same gradients fed to both optimizers; max deviation of every parameter."""
    rng = np.random.default_rng(0)
    shapes = [(4, 3), (4,), (2, 2, 3)]
    init = [rng.standard_normal(s).astype(dtype) for s in shapes]
    fps = [nn.Parameter(fg.tensor(a)) for a in init]
    tps = [torch.tensor(a, requires_grad=True) for a in init]
    if groups:
        fo = fg_cls([{"params": fps[:1]}, {"params": fps[1:], "lr": 0.05, "weight_decay": 0.0}], **kw)
        to = t_cls([{"params": tps[:1]}, {"params": tps[1:], "lr": 0.05, "weight_decay": 0.0}], **kw)
    else:
        fo, to = fg_cls(fps, **kw), t_cls(tps, **kw)
    dev = 0.0
    for _ in range(steps):
        for fp, tp, s in zip(fps, tps, shapes):
            g = rng.standard_normal(s).astype(dtype)
            fp.grad = fg.tensor(g)
            tp.grad = torch.tensor(g)
        fo.step()
        to.step()
        for fp, tp in zip(fps, tps):
            dev = max(dev, float(np.abs(A(fp) - tp.detach().numpy()).max()))
    return dev, fo, to


CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("SGD", dict(lr=0.1, momentum=0.5, dampening=0.3, weight_decay=0.1, maximize=True)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.05)),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6)),
    ("AdamW", dict(lr=0.01, weight_decay=0.1)),
    ("AdamW", dict(lr=0.01, weight_decay=0.1, amsgrad=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, momentum=0.9, centered=True, weight_decay=0.01)),
]


@needs_torch
@pytest.mark.parametrize("name,kw", CASES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_trajectories_match_torch(name, kw, dtype):
    dev, _, _ = _trajectory(getattr(optim, name), getattr(torch.optim, name), dtype=dtype, **kw)
    assert dev < (2e-6 if dtype == np.float32 else 1e-12), dev


@needs_torch
def test_state_dict_round_trip_continues_identically():
    dev, fo, to = _trajectory(optim.Adam, torch.optim.Adam, steps=3, lr=0.01, amsgrad=True)
    sd = fo.state_dict()
    assert sd["param_groups"][1]["params"] == [1, 2] and sd["state"][0]["step"] == 3
    assert set(sd["state"][0]) == set(to.state_dict()["state"][0])
    ps = [nn.Parameter(fg.tensor(A(p))) for g in fo.param_groups for p in g["params"]]
    fo2 = optim.Adam([{"params": ps[:1]}, {"params": ps[1:]}], lr=0.01, amsgrad=True)
    fo2.load_state_dict(sd)
    assert fo2.param_groups[1]["lr"] == 0.05
    old = [p for g in fo.param_groups for p in g["params"]]
    for p, q in zip(old, ps):
        g = fg.tensor(np.ones(p.shape, dtype=np.float32))
        p.grad = g
        q.grad = g
    fo.step()
    fo2.step()
    for p, q in zip(old, ps):
        np.testing.assert_array_equal(A(p), A(q))
    with pytest.raises(ValueError, match="groups"):
        optim.Adam(ps, lr=0.1).load_state_dict(sd)


def test_param_groups_helper_no_decay_on_bias_and_norm():
    m = nn.Sequential(nn.Linear(3, 4), nn.LayerNorm(4), nn.Linear(4, 2))
    groups = optim.param_groups(m, 1e-4)
    assert [len(g["params"]) for g in groups] == [2, 4]
    assert groups[0]["weight_decay"] == 1e-4 and groups[1]["weight_decay"] == 0.0
    opt = optim.AdamW(groups, lr=1e-3)
    assert len(opt.param_groups) == 2
    with pytest.raises(ValueError, match="more than one"):
        optim.SGD([{"params": [m[0].weight]}, {"params": [m[0].weight]}], lr=0.1)


def test_params_without_grad_are_skipped():
    a, b = nn.Parameter(fg.ones(2)), nn.Parameter(fg.ones(2))
    opt = optim.SGD([a, b], lr=0.5, momentum=0.9)
    a.grad = fg.ones(2)
    opt.step()
    np.testing.assert_allclose(A(a), [0.5, 0.5])
    np.testing.assert_allclose(A(b), [1.0, 1.0])
    assert b not in opt.state


def test_clip_grad_norm():
    a, b = nn.Parameter(fg.zeros(2)), nn.Parameter(fg.zeros(1))
    a.grad = fg.tensor([3.0, 0.0])
    b.grad = fg.tensor([4.0])
    n = optim.clip_grad_norm_([a, b], 1.0)
    assert abs(float(n) - 5.0) < 1e-6
    np.testing.assert_allclose(A(a.grad), [0.6, 0.0], rtol=1e-5)
    np.testing.assert_allclose(A(b.grad), [0.8], rtol=1e-5)
    n2 = optim.clip_grad_norm_([a, b], 10.0)  # no change below the threshold
    assert abs(float(n2) - 1.0) < 1e-5
    np.testing.assert_allclose(A(b.grad), [0.8], rtol=1e-5)


@needs_torch
def test_schedulers_match_torch():
    def pair():
        p = nn.Parameter(fg.zeros(1))
        tp = torch.zeros(1, requires_grad=True)
        return optim.SGD([p], lr=0.1), torch.optim.SGD([tp], lr=0.1)

    makers = [
        (lambda o: fls.StepLR(o, 3, 0.5), lambda o: torch.optim.lr_scheduler.StepLR(o, 3, 0.5)),
        (
            lambda o: fls.CosineAnnealingLR(o, 10, 1e-3),
            lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, 10, 1e-3),
        ),
        (
            lambda o: fls.LinearLR(o, 0.25, 1.0, 4),
            lambda o: torch.optim.lr_scheduler.LinearLR(o, 0.25, 1.0, 4),
        ),
        (
            lambda o: fls.SequentialLR(o, [fls.LinearLR(o, 0.1, 1.0, 3), fls.CosineAnnealingLR(o, 8)], [3]),
            lambda o: torch.optim.lr_scheduler.SequentialLR(
                o,
                [
                    torch.optim.lr_scheduler.LinearLR(o, 0.1, 1.0, 3),
                    torch.optim.lr_scheduler.CosineAnnealingLR(o, 8),
                ],
                [3],
            ),
        ),
    ]
    for fm, tm in makers:
        fo, to = pair()
        fs, ts = fm(fo), tm(to)
        for _ in range(12):
            assert math.isclose(
                fo.param_groups[0]["lr"], to.param_groups[0]["lr"], rel_tol=1e-9, abs_tol=1e-12
            )
            fo.step()
            to.step()
            fs.step()
            ts.step()
    fo, to = pair()
    fs = fls.ReduceLROnPlateau(fo, patience=2, factor=0.5, cooldown=1)
    ts = torch.optim.lr_scheduler.ReduceLROnPlateau(to, patience=2, factor=0.5, cooldown=1)
    for v in [1.0, 0.9, 0.95, 0.93, 0.92, 0.99, 0.98, 0.97, 0.5, 0.6, 0.7, 0.8, 0.9]:
        fs.step(v)
        ts.step(v)
        assert math.isclose(fo.param_groups[0]["lr"], to.param_groups[0]["lr"], rel_tol=1e-12)


def test_linear_warmup():
    p = nn.Parameter(fg.zeros(1))
    o = optim.SGD([p], lr=1.0)
    s = fls.LinearWarmup(o, 4)
    lrs = []
    for _ in range(6):
        lrs.append(o.param_groups[0]["lr"])
        s.step()
    np.testing.assert_allclose(lrs, [0.25, 0.5, 0.75, 1.0, 1.0, 1.0])


def test_ema_of_weights():
    m = nn.Linear(2, 1)
    w0 = A(m.weight).copy()
    ema = optim.EMA(m, decay=0.9)
    with fg.no_grad():
        m.weight.copy_(fg.tensor(w0 + 1.0))
    ema.update()
    np.testing.assert_allclose(ema.shadow["weight"], w0 + 0.1, rtol=1e-6)
    with ema.average_parameters():
        np.testing.assert_allclose(A(m.weight), w0 + 0.1, rtol=1e-6)
    np.testing.assert_allclose(A(m.weight), w0 + 1.0, rtol=1e-6)
    ema.copy_to()
    np.testing.assert_allclose(A(m.weight), w0 + 0.1, rtol=1e-6)


# Hyperparameter values are checked once, by the C++ options' validate() (fastgrad/optim.h):
# at construction, for the defaults and every group (named by the optimizer). As in torch,
# a value changed afterwards is used as given.
@pytest.mark.parametrize(
    "cls,kw,needle",
    [
        ("SGD", {"lr": -0.1}, "lr"),
        ("SGD", {"momentum": 0.0, "nesterov": True}, "nesterov"),
        ("Adam", {"betas": (0.9, 1.0)}, "betas[1]"),
        ("AdamW", {"eps": -1.0}, "eps"),
        ("RMSprop", {"alpha": -0.5}, "alpha"),
    ],
)
def test_group_values_checked_like_the_constructor(cls, kw, needle):
    p = nn.Parameter(fg.ones(3))
    C = getattr(optim, cls)
    with pytest.raises(ValueError, match=rf"^{cls}: .*{re.escape(needle)}"):
        C([{"params": [p], **kw}], lr=0.1)
    with pytest.raises(ValueError, match=rf"^{cls}: .*{re.escape(needle)}"):
        C([p], **{"lr": 0.1, **kw})


def test_step_ops_are_engine_hooks_with_cpp_options():
    p, g = fg.ones(2, dtype=fg.float64), fg.full((2,), 0.5, dtype=fg.float64)
    v = p._version
    fg.ops.sgd_step([p], [g], [], fg.ops.SgdOptions(lr=0.1))
    np.testing.assert_allclose(A(p), [0.95, 0.95])
    assert p._version == v + 1
    with pytest.raises(ValueError, match="one gradient per parameter"):
        fg.ops.sgd_step([p], [], [], fg.ops.SgdOptions())
