"""Shared helpers of the example models: data splits, scaling, results, plots."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np


@dataclass
class Result:
    """What an example reports: its metric, size, training time and written files."""

    name: str
    metric: str
    value: float
    params: int
    epochs: int
    seconds: float
    extra: dict[str, float] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)


def split(
    n: int, rng: np.random.Generator, fractions: Sequence[float] = (0.7, 0.15, 0.15)
) -> list[np.ndarray]:
    """Random train/val/test index arrays."""
    perm = rng.permutation(n)
    cuts = np.cumsum([int(round(f * n)) for f in fractions[:-1]])
    return np.split(perm, cuts)


class Standardizer:
    """z = (x − μ)/σ per column, fitted on the training rows only."""

    def __init__(self, x: np.ndarray) -> None:
        self.mu = x.mean(0)
        self.sd = x.std(0) + 1e-12

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return ((x - self.mu) / self.sd).astype(np.float32)

    def inverse(self, z: np.ndarray) -> np.ndarray:
        """z (N, D) -> x = z·σ + μ."""
        return z * self.sd + self.mu


def r2_score(pred: np.ndarray, y: np.ndarray) -> float:
    """Coefficient of determination 1 − SS_res/SS_tot for pred, y: (N,) or (N, D)."""
    return float(1.0 - np.sum((pred - y) ** 2) / np.sum((y - y.mean(0)) ** 2))


def out_dir(base: str, name: str) -> str:
    """``base/name``, created if missing."""
    d = os.path.join(base, name)
    os.makedirs(d, exist_ok=True)
    return d


def _plt():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        return plt
    except Exception:  # pragma: no cover - matplotlib is an optional extra
        return None


def plot_history(history: dict[str, list], path: str, title: str) -> Optional[str]:
    """Train/validation loss curves to ``path`` (None when matplotlib is missing)."""
    plt = _plt()
    if plt is None:
        return None
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot(history["epoch"], history["train_loss"], label="train")
    if "val_loss" in history:
        ax.plot(history["epoch"], history["val_loss"], label="validation")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_yscale("log")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_scatter(pred: np.ndarray, y: np.ndarray, path: str, title: str, unit: str = "") -> Optional[str]:
    """Predicted vs true values (pred, y: (N,)) to ``path`` (None without matplotlib)."""
    plt = _plt()
    if plt is None:
        return None
    fig, ax = plt.subplots(figsize=(4.2, 4))
    ax.scatter(y, pred, s=6, alpha=0.5)
    lo, hi = float(min(y.min(), pred.min())), float(max(y.max(), pred.max()))
    ax.plot([lo, hi], [lo, hi], "k--", lw=1)
    ax.set_xlabel(f"truth {unit}")
    ax.set_ylabel(f"prediction {unit}")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_curves(
    t: np.ndarray,
    truths: np.ndarray,
    preds: np.ndarray,
    path: str,
    title: str,
    labels: Optional[Sequence[str]] = None,
) -> Optional[str]:
    """Predicted vs true curves (each (K, T) over t: (T,)) to ``path`` (None without matplotlib)."""
    plt = _plt()
    if plt is None:
        return None
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for i in range(truths.shape[0]):
        c = f"C{i}"
        ax.plot(t, truths[i], color=c, lw=1.5, label=(labels[i] if labels else None))
        ax.plot(t, preds[i], color=c, lw=1.2, ls="--")
    ax.set_xlabel("t")
    ax.set_title(title + "  (solid: truth, dashed: model)")
    if labels:
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_confusion(cm: np.ndarray, path: str, title: str) -> Optional[str]:
    """A (K, K) confusion matrix as an image to ``path`` (None without matplotlib)."""
    plt = _plt()
    if plt is None:
        return None
    k = cm.shape[0]
    fig, ax = plt.subplots(figsize=(4.5, 4))
    ax.imshow(cm, cmap="Blues")
    for i in range(k):
        for j in range(k):
            ax.text(
                j,
                i,
                str(cm[i, j]),
                ha="center",
                va="center",
                fontsize=7,
                color="white" if cm[i, j] > cm.max() / 2 else "black",
            )
    ax.set_xticks(range(k))
    ax.set_yticks(range(k))
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def confusion_matrix(pred: np.ndarray, y: np.ndarray, k: int) -> np.ndarray:
    """counts[i, j] of true class i predicted as j, for pred, y: (N,) in [0, k)."""
    cm = np.zeros((k, k), dtype=np.int64)
    np.add.at(cm, (y.astype(np.int64), pred.astype(np.int64)), 1)
    return cm


class Timer:
    """Context manager measuring wall time in ``seconds``."""

    def __enter__(self) -> Timer:
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.seconds = time.perf_counter() - self.t0
