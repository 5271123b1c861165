"""fg.optim.lr_scheduler against torch.optim.lr_scheduler as the oracle: the same
schedule built on both, the groups' lr (and momentum/betas where cycled),
get_last_lr() and last_epoch compared after construction and every step for 60+ steps;
closed forms via step(epoch); state_dict round trips."""

import math
import warnings

import numpy as np
import pytest
import torch
from torch.optim import lr_scheduler as tls

import fastgrad as fg
import fastgrad.nn as nn
import fastgrad.optim as optim
from fastgrad.optim import lr_scheduler as fls

STEPS = 64


def _opts(kind="SGD", n_groups=2, **kw):
    fps = [nn.Parameter(fg.zeros(2)) for _ in range(n_groups)]
    tps = [torch.zeros(2, requires_grad=True) for _ in range(n_groups)]
    lrs = [0.1, 0.03, 0.5][:n_groups]
    fo = getattr(optim, kind)([{"params": [p], "lr": lr} for p, lr in zip(fps, lrs)], **kw)
    to = getattr(torch.optim, kind)([{"params": [p], "lr": lr} for p, lr in zip(tps, lrs)], **kw)
    return fo, to


def _same(fo, to, fs, ts, keys=("lr",)):
    for fg_g, tg in zip(fo.param_groups, to.param_groups):
        for k in keys:
            a, b = fg_g[k], tg[k]
            if isinstance(b, tuple):
                assert len(a) == len(b) and all(
                    math.isclose(x, y, rel_tol=1e-12, abs_tol=1e-15) for x, y in zip(a, b)
                )
            else:
                assert math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-15), (k, a, b)
    assert all(
        math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-15) for a, b in zip(fs.get_last_lr(), ts.get_last_lr())
    )
    if hasattr(ts, "last_epoch"):  # (torch's ChainedScheduler has none)
        assert fs.last_epoch == ts.last_epoch


SCHEDULES = {
    "StepLR": lambda m, o: m.StepLR(o, 7, 0.5),
    "MultiStepLR": lambda m, o: m.MultiStepLR(o, [5, 12, 12, 30], 0.3),
    "ExponentialLR": lambda m, o: m.ExponentialLR(o, 0.93),
    "LambdaLR": lambda m, o: m.LambdaLR(o, lambda e: 1.0 / (1 + e)),
    "LambdaLR-per-group": lambda m, o: m.LambdaLR(o, [lambda e: 0.95**e, lambda e: 1 + math.sin(e)]),
    "MultiplicativeLR": lambda m, o: m.MultiplicativeLR(o, lambda e: 0.97),
    "ConstantLR": lambda m, o: m.ConstantLR(o, 0.25, 10),
    "LinearLR": lambda m, o: m.LinearLR(o, 0.2, 0.9, 20),
    "PolynomialLR": lambda m, o: m.PolynomialLR(o, 40, 2.0),
    "CosineAnnealingLR": lambda m, o: m.CosineAnnealingLR(o, 10, 1e-3),  # past T_max: continues the cosine
    "CosineAnnealingWarmRestarts": lambda m, o: m.CosineAnnealingWarmRestarts(o, 5, 2, 1e-3),
    "CosineAnnealingWarmRestarts-1": lambda m, o: m.CosineAnnealingWarmRestarts(o, 7),
    "CyclicLR-triangular": lambda m, o: m.CyclicLR(o, 0.01, 0.1, step_size_up=5, step_size_down=8),
    "CyclicLR-triangular2": lambda m, o: m.CyclicLR(o, [0.01, 0.02], 0.1, 6, mode="triangular2"),
    "CyclicLR-exp_range": lambda m, o: m.CyclicLR(o, 0.01, 0.2, 4, mode="exp_range", gamma=0.97),
    "CyclicLR-scale_fn": lambda m, o: m.CyclicLR(
        o, 0.01, 0.2, 4, scale_fn=lambda x: 1 / (1 + 0.1 * x), scale_mode="iterations", cycle_momentum=False
    ),
    "OneCycleLR-cos": lambda m, o: m.OneCycleLR(o, 0.5, total_steps=STEPS + 1),
    "OneCycleLR-linear-3phase": lambda m, o: m.OneCycleLR(
        o,
        [0.4, 0.2],
        epochs=5,
        steps_per_epoch=13,
        anneal_strategy="linear",
        three_phase=True,
        pct_start=0.25,
    ),
    "OneCycleLR-no-momentum": lambda m, o: m.OneCycleLR(
        o, 0.3, total_steps=70, cycle_momentum=False, div_factor=10.0, final_div_factor=100.0
    ),
    "SequentialLR": lambda m, o: m.SequentialLR(
        o, [m.LinearLR(o, 0.1, 1.0, 5), m.ExponentialLR(o, 0.9), m.CosineAnnealingLR(o, 20)], [5, 25]
    ),
    "ChainedScheduler": lambda m, o: m.ChainedScheduler(
        [m.ConstantLR(o, 0.5, 4), m.ExponentialLR(o, 0.95), m.MultiStepLR(o, [10, 30], 0.5)]
    ),
}


@pytest.mark.parametrize("name", list(SCHEDULES))
@pytest.mark.parametrize("kind", ["SGD", "Adam"])
def test_lr_sequence_equals_torch(name, kind):
    momentum_kw = {"momentum": 0.9} if kind == "SGD" else {}
    fo, to = _opts(kind, **momentum_kw)
    make = SCHEDULES[name]
    fs, ts = make(fls, fo), make(tls, to)
    keys = ("lr", "momentum") if kind == "SGD" else ("lr", "betas")
    _same(fo, to, fs, ts, keys)
    for _ in range(STEPS):
        fo.step()
        to.step()
        fs.step()
        ts.step()
        _same(fo, to, fs, ts, keys)


@pytest.mark.parametrize(
    "name",
    ["StepLR", "MultiStepLR", "ExponentialLR", "ConstantLR", "LinearLR", "PolynomialLR", "CosineAnnealingLR"],
)
def test_step_with_epoch_uses_the_closed_form(name):
    fo, to = _opts()
    fs, ts = SCHEDULES[name](fls, fo), SCHEDULES[name](tls, to)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch deprecates step(epoch)
        for e in [3, 17, 4, 40, 0, 25]:
            fs.step(e)
            ts.step(e)
            _same(fo, to, fs, ts)


@pytest.mark.parametrize("T_mult", [1, 2, 3])
def test_warm_restarts_fractional_epochs(T_mult):  # noqa: N803
    fo, to = _opts()
    fs = fls.CosineAnnealingWarmRestarts(fo, T_0=3, T_mult=T_mult, eta_min=0.001)
    ts = tls.CosineAnnealingWarmRestarts(to, T_0=3, T_mult=T_mult, eta_min=0.001)
    iters = 7
    for epoch in range(20):
        for i in range(iters):
            fs.step(epoch + i / iters)
            ts.step(epoch + i / iters)
            _same(fo, to, fs, ts)
            assert math.isclose(fs.T_cur, ts.T_cur, rel_tol=1e-12, abs_tol=1e-12) and fs.T_i == ts.T_i
    with pytest.raises(ValueError, match="non-negative"):
        fs.step(-1)


def test_state_dict_round_trip_continues_identically():
    for name in [
        "StepLR",
        "CyclicLR-triangular2",
        "OneCycleLR-cos",
        "SequentialLR",
        "CosineAnnealingWarmRestarts",
    ]:
        fo, to = _opts("SGD", momentum=0.9)
        fs, ts = SCHEDULES[name](fls, fo), SCHEDULES[name](tls, to)
        for _ in range(9):
            fo.step()
            to.step()
            fs.step()
            ts.step()
        sd = fs.state_dict()
        assert sorted(sd) == sorted(ts.state_dict()), name
        # a checkpoint's order: build both, then load the optimizer's and the scheduler's state
        fo2, _ = _opts("SGD", momentum=0.9)
        fs2 = SCHEDULES[name](fls, fo2)
        fo2.load_state_dict(fo.state_dict())
        fs2.load_state_dict(sd)
        for _ in range(20):
            for o in (fo, fo2, to):
                o.step()
            for s in (fs, fs2, ts):
                s.step()
            assert fs2.get_last_lr() == fs.get_last_lr()
            _same(fo2, to, fs2, ts, ("lr", "momentum"))


def test_lambda_state_dict_saves_callable_objects():
    class Decay:
        def __init__(self):
            self.rate = 0.5

        def __call__(self, e):
            return self.rate**e

    fo, _ = _opts(n_groups=1)
    f = Decay()
    s = fls.LambdaLR(fo, f)
    sd = s.state_dict()
    assert sd["lr_lambdas"] == [{"rate": 0.5}]
    f.rate = 0.9
    s.load_state_dict(sd)
    assert f.rate == 0.5
    assert fls.LambdaLR(fo, lambda e: 1.0).state_dict()["lr_lambdas"] == [None]


def test_reduce_on_plateau_equals_torch():
    for kw in [
        dict(patience=2, factor=0.5, cooldown=1),
        dict(mode="max", threshold_mode="abs", threshold=0.05, patience=1, min_lr=[0.02, 0.001]),
        dict(patience=0, factor=0.1, min_lr=0.01, eps=1e-3),
    ]:
        fo, to = _opts()
        fs, ts = fls.ReduceLROnPlateau(fo, **kw), tls.ReduceLROnPlateau(to, **kw)
        rng = np.random.default_rng(0)
        for v in np.cumsum(rng.standard_normal(60)):
            fs.step(fg.tensor(float(v), dtype=fg.float64))
            ts.step(float(v))
            _same(fo, to, fs, ts)
            assert fs.num_bad_epochs == ts.num_bad_epochs and fs.best == ts.best
        assert sorted(fs.state_dict()) == sorted(ts.state_dict())


@pytest.mark.parametrize(
    "make",
    [
        lambda m, o: m.OneCycleLR(o, 0.1),
        lambda m, o: m.OneCycleLR(o, 0.1, total_steps=10, anneal_strategy="exp"),
        lambda m, o: m.OneCycleLR(o, 0.1, total_steps=10, pct_start=1.5),
        lambda m, o: m.CyclicLR(o, 0.1, 1.0, mode="sawtooth"),
        lambda m, o: m.CosineAnnealingWarmRestarts(o, 0),
        lambda m, o: m.CosineAnnealingWarmRestarts(o, 2, T_mult=0),
        lambda m, o: m.ConstantLR(o, factor=2.0),
        lambda m, o: m.LinearLR(o, start_factor=0.0),
        lambda m, o: m.SequentialLR(o, [m.StepLR(o, 2)], [3]),
        lambda m, o: m.ReduceLROnPlateau(o, factor=1.5),
        lambda m, o: m.ReduceLROnPlateau(o, mode="up"),
    ],
)
def test_bad_arguments_raise_value_error_like_torch(make):
    fo, to = _opts()
    with pytest.raises(ValueError):
        make(tls, to)
    with pytest.raises(ValueError):
        make(fls, fo)


def test_one_cycle_past_total_steps_and_cycle_momentum_needs_momentum():
    fo, _ = _opts()
    s = fls.OneCycleLR(fo, 0.1, total_steps=3)
    for _ in range(3):
        s.step()
    with pytest.raises(ValueError, match="total steps"):
        s.step()
    p = nn.Parameter(fg.zeros(2))
    with pytest.raises(ValueError, match="momentum"):
        fls.CyclicLR(optim.Adagrad([p]), 0.01, 0.1)
    with pytest.raises(TypeError, match="not an Optimizer"):
        fls.StepLR(object(), 3)
