"""The cheat sheet's three regression examples (housing, oscillator in both options,
experiment model), each trained with fg.train.fit on synthetic data whose generating
formula is written out below."""

from __future__ import annotations

import os
from typing import Any, Optional

import numpy as np

import fastgrad as fg
from fastgrad import nn, optim
from fastgrad.data import DataLoader, TensorDataset
from fastgrad.io import save
from fastgrad.train import fit

from .common import (
    Result,
    Standardizer,
    Timer,
    out_dir,
    plot_curves,
    plot_history,
    plot_scatter,
    r2_score,
    split,
)


def _predict(model: Any, x: np.ndarray) -> np.ndarray:
    model.eval()
    with fg.no_grad():
        out = np.asarray(model(fg.tensor(x.astype(np.float32))))
    model.train()
    return out


def _loaders(x: np.ndarray, y: np.ndarray, idx: list, bs: int, seed: int, w: Optional[np.ndarray] = None):
    tr, va = idx[0], idx[1]
    tr_cols = [x[tr], y[tr]] + ([w[tr]] if w is not None else [])
    va_cols = [x[va], y[va]] + ([w[va]] if w is not None else [])
    return (
        DataLoader(TensorDataset(*tr_cols), bs, shuffle=True, seed=seed),
        DataLoader(TensorDataset(*va_cols), 1024),
    )


def _finish(
    name: str,
    model: Any,
    opt: Any,
    hist: dict,
    out: str,
    metric: str,
    value: float,
    epochs: int,
    seconds: float,
    files: list,
    extra: dict,
) -> Result:
    d = out_dir(out, name)
    files.append(plot_history(hist, os.path.join(d, "loss.png"), f"{name}: loss"))
    ck = os.path.join(d, "model.fg")
    save({"model": model.state_dict(), "optimizer": opt.state_dict(), "history": hist}, ck)
    files.append(ck)
    return Result(
        name,
        metric,
        value,
        model.num_parameters(),
        len(hist["epoch"]),
        seconds,
        extra,
        [f for f in files if f],
    )


# ---------------------------------------------------------------------------------------------
def housing(epochs: Optional[int] = None, out: str = "runs", seed: int = 0, progress: bool = True) -> Result:
    """x = [square_footage, num_bedrooms, year_built] -> price (k$), MLP 3 → 64 → 1 (ReLU).

    Synthetic prices (k$): 40 + 0.11·sqft + 12·bedrooms + 0.8·(year − 1950)
    + 25·[year > 2000] − 0.000012·(sqft − 2000)² + N(0, 10²), with sqft ~ U(500, 4000),
    bedrooms = clip(round(sqft/700 + N(0, 0.7)), 1, 6), year ~ U(1900, 2023).
    """
    epochs = epochs or 60
    fg.manual_seed(seed)
    rng = np.random.default_rng(seed)
    n = 3000
    sqft = rng.uniform(500, 4000, n)
    beds = np.clip(np.round(sqft / 700 + rng.normal(0, 0.7, n)), 1, 6)
    year = rng.integers(1900, 2024, n).astype(np.float64)
    price = (
        40
        + 0.11 * sqft
        + 12 * beds
        + 0.8 * (year - 1950)
        + 25 * (year > 2000)
        - 0.000012 * (sqft - 2000) ** 2
        + rng.normal(0, 10, n)
    )
    x = np.stack([sqft, beds, year], 1)
    y = price[:, None]
    idx = split(n, rng)
    sx, sy = Standardizer(x[idx[0]]), Standardizer(y[idx[0]])
    X, Y = sx(x), sy(y)
    # fuse: the activation runs in the GEMM epilogue (one tape node per pair)
    model = nn.fuse(nn.Sequential(nn.Linear(3, 64), nn.ReLU(), nn.Linear(64, 1)))
    opt = optim.AdamW(optim.param_groups(model, 1e-4), lr=3e-3)
    sched = optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
    tr, va = _loaders(X, Y, idx, 32, seed)
    with Timer() as tm:
        hist = fit(
            model,
            nn.F.mse_loss,
            opt,
            tr,
            va,
            epochs=epochs,
            scheduler=sched,
            progress=progress,
            desc="housing",
        )
    te = idx[2]
    pred = sy.inverse(_predict(model, X[te]))
    rmse = float(np.sqrt(np.mean((pred - y[te]) ** 2)))
    r2 = r2_score(pred, y[te])
    d = out_dir(out, "housing")
    files = [
        plot_scatter(
            pred[:, 0],
            y[te][:, 0],
            os.path.join(d, "pred_vs_truth.png"),
            f"housing: test R²={r2:.3f}",
            "(k$)",
        )
    ]
    return _finish(
        "housing",
        model,
        opt,
        hist,
        out,
        "test R²",
        r2,
        epochs,
        tm.seconds,
        files,
        {"test RMSE (k$)": rmse, "noise σ (k$)": 10.0},
    )


# ---------------------------------------------------------------------------------------------
OSC = dict(A=1.0, beta=0.25, omega=2.0, delta=0.4)


def _osc(t: np.ndarray, A: Any, beta: Any, omega: Any, delta: Any) -> np.ndarray:
    return A * np.exp(-beta * t) * np.cos(omega * t + delta)


def oscillator(
    epochs: Optional[int] = None, out: str = "runs", seed: int = 0, progress: bool = True
) -> Result:
    """Option A: t -> x(t) = A e^{−βt} cos(ωt + δ) (A=1, β=0.25, ω=2, δ=0.4, t ∈ [0, 8]),
    MLP 1 → 32 → 1 with tanh, 2000 noisy samples (σ = 0.01)."""
    epochs = epochs or 300
    fg.manual_seed(seed)
    rng = np.random.default_rng(seed)
    n = 2000
    t = rng.uniform(0, 8, n)
    y = _osc(t, **OSC) + rng.normal(0, 0.01, n)
    idx = split(n, rng)
    st = Standardizer(t[idx[0]][:, None])
    X = st(t[:, None])
    Y = y[:, None].astype(np.float32)
    # fuse: the activation runs in the GEMM epilogue (one tape node per pair)
    model = nn.fuse(nn.Sequential(nn.Linear(1, 32), nn.Tanh(), nn.Linear(32, 1)))
    opt = optim.Adam(model.parameters(), lr=1e-2)
    sched = optim.lr_scheduler.SequentialLR(
        opt,
        [
            optim.lr_scheduler.LinearWarmup(opt, 5),
            optim.lr_scheduler.CosineAnnealingLR(opt, epochs - 5, 1e-4),
        ],
        [5],
    )
    tr, va = _loaders(X, Y, idx, 64, seed)
    with Timer() as tm:
        hist = fit(
            model,
            nn.F.mse_loss,
            opt,
            tr,
            va,
            epochs=epochs,
            scheduler=sched,
            progress=progress,
            desc="oscillator",
        )
    te = idx[2]
    pred = _predict(model, X[te])
    rmse = float(np.sqrt(np.mean((pred - Y[te]) ** 2)))
    r2 = r2_score(pred, Y[te])
    tt = np.linspace(0, 8, 400)
    curve = _predict(model, st(tt[:, None]))[:, 0]
    d = out_dir(out, "oscillator")
    files = [
        plot_curves(
            tt,
            _osc(tt, **OSC)[None],
            curve[None],
            os.path.join(d, "pred_vs_truth.png"),
            f"oscillator x(t): test R²={r2:.4f}",
        )
    ]
    return _finish(
        "oscillator", model, opt, hist, out, "test R²", r2, epochs, tm.seconds, files, {"test RMSE": rmse}
    )


# ---------------------------------------------------------------------------------------------
def waveform(epochs: Optional[int] = None, out: str = "runs", seed: int = 0, progress: bool = True) -> Result:
    """Option B: [A, β, ω, δ] -> x(t_k) at T = 50 times t_k ∈ [0, 5], MLP 4 → 64 → T (tanh).
    A ~ U(0.5, 1.5), β ~ U(0.1, 0.6), ω ~ U(1, 3), δ ~ U(−π/2, π/2); 6000 waveforms."""
    epochs = epochs or 80
    fg.manual_seed(seed)
    rng = np.random.default_rng(seed)
    n, T = 6000, 50
    tk = np.linspace(0, 5, T)
    P = np.stack(
        [
            rng.uniform(0.5, 1.5, n),
            rng.uniform(0.1, 0.6, n),
            rng.uniform(1, 3, n),
            rng.uniform(-np.pi / 2, np.pi / 2, n),
        ],
        1,
    )
    Yw = _osc(tk[None, :], P[:, :1], P[:, 1:2], P[:, 2:3], P[:, 3:4]).astype(np.float32)
    idx = split(n, rng)
    sp = Standardizer(P[idx[0]])
    X = sp(P)
    # fuse: the activation runs in the GEMM epilogue (one tape node per pair)
    model = nn.fuse(nn.Sequential(nn.Linear(4, 64), nn.Tanh(), nn.Linear(64, T)))
    opt = optim.Adam(model.parameters(), lr=3e-3)
    sched = optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=4)
    tr, va = _loaders(X, Yw, idx, 64, seed)
    with Timer() as tm:
        hist = fit(
            model,
            nn.F.mse_loss,
            opt,
            tr,
            va,
            epochs=epochs,
            scheduler=sched,
            progress=progress,
            desc="waveform",
        )
    te = idx[2]
    pred = _predict(model, X[te])
    r2 = r2_score(pred.ravel(), Yw[te].ravel())
    d = out_dir(out, "waveform")
    sel = te[:4]
    files = [
        plot_curves(
            tk,
            Yw[sel],
            _predict(model, X[sel]),
            os.path.join(d, "pred_vs_truth.png"),
            f"[A,β,ω,δ] → x(t): test R²={r2:.3f}",
            [f"A={a:.2f} β={b:.2f} ω={w:.2f} δ={dl:.2f}" for a, b, w, dl in P[sel]],
        )
    ]
    return _finish(
        "waveform",
        model,
        opt,
        hist,
        out,
        "test R²",
        r2,
        epochs,
        tm.seconds,
        files,
        {"test RMSE": float(np.sqrt(np.mean((pred - Yw[te]) ** 2)))},
    )


# ---------------------------------------------------------------------------------------------
def experiment(
    epochs: Optional[int] = None, out: str = "runs", seed: int = 0, progress: bool = True
) -> Result:
    """Environment variables -> measured signal: x = [temperature, pressure, field_strength,
    humidity, bias_voltage, angle] (p = 6) -> signal(t_k) at m = 32 times, MLP
    p → 128 → 64 → m with GELU.

    Signal: s(t) = g·(1 − e^{−t/τ})·cos(ω t) + c, with gain g = 1 + 0.5 tanh(field)·cos(angle),
    τ = 0.3 + 0.2 σ(temperature), ω = 4 + 2·pressure + 0.5·bias, c = 0.3·humidity·bias.
    The noise is heteroskedastic, σ_i = 0.02·(1 + 2 σ(temperature_i)), so each example is
    weighted by ω_i = 1/σ_i² (the cheat sheet's inverse-variance weighting), and the
    first 4 samples (the detector's dead time) get dimension weight α = 0.
    """
    epochs = epochs or 60
    fg.manual_seed(seed)
    rng = np.random.default_rng(seed)
    n, m = 5000, 32
    tk = np.linspace(0, 2, m)
    X = rng.standard_normal((n, 6))
    temp, pres, field, hum, bias, ang = X.T
    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    g = 1 + 0.5 * np.tanh(field) * np.cos(ang)
    tau = 0.3 + 0.2 * sig(temp)
    om = 4 + 2 * 0.5 * pres + 0.5 * bias
    c = 0.3 * hum * bias
    clean = g[:, None] * (1 - np.exp(-tk[None] / tau[:, None])) * np.cos(om[:, None] * tk[None]) + c[:, None]
    noise_sd = 0.02 * (1 + 2 * sig(temp))
    Y = (clean + rng.standard_normal((n, m)) * noise_sd[:, None]).astype(np.float32)
    W = (1.0 / noise_sd**2).astype(np.float32)
    W /= W.mean()
    alpha = np.ones(m, dtype=np.float32)
    alpha[:4] = 0.0
    idx = split(n, rng)
    Xs = Standardizer(X[idx[0]])(X)
    model = nn.Sequential(nn.Linear(6, 128), nn.GELU(), nn.Linear(128, 64), nn.GELU(), nn.Linear(64, m))
    opt = optim.AdamW(optim.param_groups(model, 1e-4), lr=2e-3)
    sched = optim.lr_scheduler.CosineAnnealingLR(opt, epochs, 1e-5)
    loss = nn.MSELoss(dim_weight=alpha)
    tr, va = _loaders(Xs, Y, idx, 64, seed, W)
    with Timer() as tm:
        hist = fit(
            model, loss, opt, tr, va, epochs=epochs, scheduler=sched, progress=progress, desc="experiment"
        )
    te = idx[2]
    pred = _predict(model, Xs[te])
    r2 = r2_score(pred[:, 4:].ravel(), clean[te][:, 4:].ravel())
    d = out_dir(out, "experiment")
    sel = te[:3]
    files = [
        plot_curves(
            tk,
            Y[sel],
            _predict(model, Xs[sel]),
            os.path.join(d, "pred_vs_truth.png"),
            f"experiment model: R² vs clean signal={r2:.3f}",
        )
    ]
    return _finish(
        "experiment",
        model,
        opt,
        hist,
        out,
        "test R² (clean)",
        r2,
        epochs,
        tm.seconds,
        files,
        {"test RMSE vs clean": float(np.sqrt(np.mean((pred[:, 4:] - clean[te][:, 4:]) ** 2)))},
    )
