"""Classifiers of the cheat sheet: a binary classifier trained with BCE on logits, and a
CNN (conv → ReLU → pool blocks + classifier head) on scikit-learn's 8×8 digits."""

from __future__ import annotations

import os
from typing import Any, Optional

import numpy as np

import fastgrad as fg
from fastgrad import nn, optim
from fastgrad.data import DataLoader, TensorDataset
from fastgrad.io import save
from fastgrad.train import EarlyStopping, fit

from .common import (
    Result,
    Standardizer,
    Timer,
    confusion_matrix,
    out_dir,
    plot_confusion,
    plot_history,
    split,
)


def _logits(model: Any, x: np.ndarray, bs: int = 512) -> np.ndarray:
    model.eval()
    outs = []
    with fg.no_grad():
        for a in range(0, len(x), bs):
            outs.append(np.asarray(model(fg.tensor(x[a : a + bs]))))
    model.train()
    return np.concatenate(outs)


def _save(name: str, model: Any, opt: Any, hist: dict, out: str) -> list:
    d = out_dir(out, name)
    files = [plot_history(hist, os.path.join(d, "loss.png"), f"{name}: loss")]
    ck = os.path.join(d, "model.fg")
    save({"model": model.state_dict(), "optimizer": opt.state_dict(), "history": hist}, ck)
    return files + [ck]


def binary(epochs: Optional[int] = None, out: str = "runs", seed: int = 0, progress: bool = True) -> Result:
    """Two interleaved noisy spirals (one arm per class, 3000 points, noise σ = 0.25 on
    radius 0.5–5), MLP 2 → 32 → 32 → 1 (SiLU) producing one logit, trained with
    binary_cross_entropy_with_logits (softplus(z) − y z)."""
    epochs = epochs or 60
    fg.manual_seed(seed)
    rng = np.random.default_rng(seed)
    n = 3000
    y = rng.integers(0, 2, n)
    r = rng.uniform(0.5, 5.0, n)
    th = r * 1.2 + np.pi * y
    x = np.stack([r * np.cos(th), r * np.sin(th)], 1) + rng.normal(0, 0.25, (n, 2))
    idx = split(n, rng)
    X = Standardizer(x[idx[0]])(x)
    Y = y.astype(np.float32)[:, None]
    model = nn.Sequential(nn.Linear(2, 32), nn.SiLU(), nn.Linear(32, 32), nn.SiLU(), nn.Linear(32, 1))
    opt = optim.Adam(model.parameters(), lr=5e-3)
    sched = optim.lr_scheduler.CosineAnnealingLR(opt, epochs, 1e-4)
    tr = DataLoader(TensorDataset(X[idx[0]], Y[idx[0]]), 64, shuffle=True, seed=seed)
    va = DataLoader(TensorDataset(X[idx[1]], Y[idx[1]]), 1024)
    with Timer() as tm:
        hist = fit(
            model,
            nn.F.binary_cross_entropy_with_logits,
            opt,
            tr,
            va,
            epochs=epochs,
            scheduler=sched,
            metrics={"acc": "accuracy"},
            progress=progress,
            desc="binary",
        )
    te = idx[2]
    z = _logits(model, X[te])[:, 0]
    pred = (z > 0).astype(np.int64)
    acc = float(np.mean(pred == y[te]))
    files, d = _save_with_confusion(
        "binary", model, opt, hist, out, pred, y[te], 2, f"spirals: test accuracy {acc:.3f}"
    )
    files.append(_decision_plot(model, X, y, os.path.join(d, "decision.png")))
    return Result(
        "binary",
        "test accuracy",
        acc,
        model.num_parameters(),
        len(hist["epoch"]),
        tm.seconds,
        {},
        [f for f in files if f],
    )


def _save_with_confusion(
    name: str, model: Any, opt: Any, hist: dict, out: str, pred: np.ndarray, y: np.ndarray, k: int, title: str
) -> tuple[list, str]:
    """``_save`` plus a confusion plot of pred, y: (N,) in [0, k); returns the files and the run dir."""
    files = _save(name, model, opt, hist, out)
    d = out_dir(out, name)
    files.append(plot_confusion(confusion_matrix(pred, y, k), os.path.join(d, "confusion.png"), title))
    return files, d


def _decision_plot(model: Any, X: np.ndarray, y: np.ndarray, path: str) -> Optional[str]:
    from .common import _plt

    plt = _plt()
    if plt is None:
        return None
    g = np.linspace(-2.5, 2.5, 150)
    gx, gy = np.meshgrid(g, g)
    grid = np.stack([gx.ravel(), gy.ravel()], 1).astype(np.float32)
    p = 1 / (1 + np.exp(-_logits(model, grid)[:, 0]))
    fig, ax = plt.subplots(figsize=(4.2, 4))
    ax.contourf(gx, gy, p.reshape(gx.shape), levels=20, cmap="RdBu_r", alpha=0.6)
    ax.scatter(X[:, 0], X[:, 1], c=y, s=3, cmap="RdBu_r")
    ax.set_title("P(y=1|x) = σ(z)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


class DigitsCNN(nn.Module):
    """conv(1→16, 3×3 same) → ReLU → maxpool 2 → conv(16→32, 3×3 same) → ReLU → maxpool 2
    → flatten (32·2·2) → Linear 128 → 64 → ReLU → dropout → Linear 64 → 10 logits."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding="same"),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding="same"),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.head = nn.Sequential(
            nn.Flatten(), nn.Linear(32 * 2 * 2, 64), nn.ReLU(), nn.Dropout(0.1), nn.Linear(64, 10)
        )

    def forward(self, x: Any) -> Any:
        """x: (N, 1, 8, 8) images -> (N, 10) logits."""
        return self.head(self.features(x))


def load_digits_split(seed: int = 0) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """scikit-learn's 8×8 digits as x: (N, 1, 8, 8) float32 in [0, 1], y: (N,) int64 labels,
    and [train, val, test] index arrays (70/10/20 %, shuffled with ``seed``)."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x = (d.images / 16.0).astype(np.float32)[:, None]  # (N, 1, 8, 8)
    y = d.target.astype(np.int64)
    rng = np.random.default_rng(seed)
    idx = split(len(y), rng, (0.7, 0.1, 0.2))
    return x, y, idx


def digits_cnn(
    epochs: Optional[int] = None, out: str = "runs", seed: int = 0, progress: bool = True
) -> Result:
    """CNN on scikit-learn's bundled 8×8 digits (1797 images, 70/10/20 split), AdamW with
    no decay on biases, label smoothing 0.05, early stopping on the validation loss."""
    epochs = epochs or 40
    fg.manual_seed(seed)
    x, y, idx = load_digits_split(seed)
    model = nn.fuse(DigitsCNN())  # conv/Linear + ReLU pairs: one primitive each
    opt = optim.AdamW(optim.param_groups(model, 1e-4), lr=3e-3)
    sched = optim.lr_scheduler.CosineAnnealingLR(opt, epochs, 1e-4)
    tr = DataLoader(TensorDataset(x[idx[0]], y[idx[0]]), 32, shuffle=True, seed=seed)
    va = DataLoader(TensorDataset(x[idx[1]], y[idx[1]]), 512)
    loss = nn.CrossEntropyLoss(label_smoothing=0.05)
    with Timer() as tm:
        hist = fit(
            model,
            loss,
            opt,
            tr,
            va,
            epochs=epochs,
            scheduler=sched,
            metrics={"acc": "accuracy"},
            early_stopping=EarlyStopping(patience=10, monitor="val_loss"),
            progress=progress,
            desc="digits",
        )
    te = idx[2]
    pred = _logits(model, x[te]).argmax(1)
    acc = float(np.mean(pred == y[te]))
    files, _ = _save_with_confusion(
        "digits_cnn", model, opt, hist, out, pred, y[te], 10, f"digits CNN: test accuracy {acc:.3f}"
    )
    return Result(
        "digits_cnn",
        "test accuracy",
        acc,
        model.num_parameters(),
        len(hist["epoch"]),
        tm.seconds,
        {},
        [f for f in files if f],
    )
