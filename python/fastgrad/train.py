"""The cheat sheet's training loop as one function: ``fg.train.fit``.

for epoch in range(E): shuffle, split into M = ceil(N/B) batches, and for each batch
forward → loss → backward → (every ``accumulate`` batches) clip → optimizer step →
EMA update; at the epoch end evaluate on the validation set without updating
(no_grad, eval mode), step the scheduler, and check early stopping.
"""

from __future__ import annotations

import math
import sys
import time
from typing import Any, Callable, Optional, Union

import numpy as np

from ._C import Tensor
from .autograd import no_grad
from .optim.clip import clip_grad_norm_
from .optim.lr_scheduler import ReduceLROnPlateau


class EarlyStopping:
    """Stops when ``monitor`` has not improved by more than ``min_delta`` for ``patience``
    epochs; with ``restore_best`` the model gets the best epoch's weights back."""

    def __init__(
        self,
        patience: int = 5,
        min_delta: float = 0.0,
        monitor: str = "val_loss",
        mode: str = "min",
        restore_best: bool = True,
    ) -> None:
        if mode not in ("min", "max"):
            raise ValueError(f"EarlyStopping: mode must be 'min' or 'max', got {mode!r}")
        self.patience = int(patience)
        self.min_delta = float(min_delta)
        self.monitor = monitor
        self.mode = mode
        self.restore_best = restore_best
        self.best = math.inf if mode == "min" else -math.inf
        self.best_epoch = -1
        self.bad_epochs = 0
        self.best_state: Optional[dict[str, np.ndarray]] = None

    def improved(self, value: float) -> bool:
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def update(self, value: float, epoch: int, model: Any) -> bool:
        """Records ``value``; returns True when training should stop."""
        if self.improved(value):
            self.best = value
            self.best_epoch = epoch
            self.bad_epochs = 0
            if self.restore_best:
                self.best_state = {
                    k: np.array(np.asarray(v), copy=True) for k, v in model.state_dict().items()
                }
            return False
        self.bad_epochs += 1
        return self.bad_epochs >= self.patience


def accuracy(pred: Tensor, target: Any) -> float:
    """Fraction of correct predictions: argmax over classes for (B, K) logits, or
    logit > 0 for binary (B,)/(B, 1) logits."""
    p = np.asarray(pred.detach())
    t = np.asarray(target.detach() if isinstance(target, Tensor) else target)
    if p.ndim >= 2 and p.shape[1] > 1:
        return float(np.mean(p.argmax(1) == t.reshape(p.shape[:1] + p.shape[2:])))
    return float(np.mean((p.reshape(-1) > 0) == (t.reshape(-1) > 0.5)))


_BUILTIN_METRICS = {"accuracy": accuracy, "acc": accuracy}


def _split(batch: Any) -> tuple:
    if isinstance(batch, (tuple, list)):
        if len(batch) == 2:
            return batch[0], batch[1], None
        if len(batch) == 3:
            return batch[0], batch[1], batch[2]
        if len(batch) == 1:
            return batch[0], None, None
    if isinstance(batch, dict):
        return batch["x"], batch.get("y"), batch.get("weight")
    raise TypeError("fit: batches must be (x, y) or (x, y, weight) tuples or dicts with 'x', 'y'[, 'weight']")


def _size(x: Any, w: Any) -> float:
    if w is not None:
        return float(np.sum(np.asarray(w.detach() if isinstance(w, Tensor) else w)))
    return float(x.shape[0] if hasattr(x, "shape") and len(x.shape) else 1)


def _call_loss(loss_fn: Callable, pred: Any, y: Any, w: Any) -> Tensor:
    return loss_fn(pred, y) if w is None else loss_fn(pred, y, weight=w)


def evaluate(
    model: Any, loss_fn: Callable, loader: Any, metrics: Optional[dict[str, Callable]] = None
) -> dict[str, float]:
    """Mean loss (weighted by batch size, or by Σω with per-example weights) and metrics
    over ``loader``, in eval mode without recording gradients; restores the mode."""
    was_training = model.training
    model.eval()
    total, n = 0.0, 0.0
    msum: dict[str, float] = {k: 0.0 for k in (metrics or {})}
    mcount = 0.0
    try:
        with no_grad():
            for batch in loader:
                x, y, w = _split(batch)
                pred = model(x)
                nb = _size(x, w)
                total += float(_call_loss(loss_fn, pred, y, w).item()) * nb
                n += nb
                rows = float(x.shape[0])
                for k, f in (metrics or {}).items():
                    msum[k] += float(f(pred, y)) * rows
                mcount += rows
    finally:
        model.train(was_training)
    out = {"loss": total / n if n else float("nan")}
    for k in msum:
        out[k] = msum[k] / mcount if mcount else float("nan")
    return out


class _Progress:
    """tqdm when installed, else one printed line per epoch."""

    def __init__(self, enabled: bool, epochs: int, steps: int, desc: str) -> None:
        self.enabled = enabled
        self.epochs, self.steps, self.desc = epochs, steps, desc
        self.bar = None
        self._tqdm = None
        if enabled:
            try:
                from tqdm.auto import tqdm  # noqa: F401

                self._tqdm = tqdm
            except Exception:  # pragma: no cover - depends on the environment
                self._tqdm = None

    def start_epoch(self, epoch: int) -> None:
        if self.enabled and self._tqdm is not None:
            self.bar = self._tqdm(
                total=self.steps,
                desc=f"{self.desc} {epoch + 1}/{self.epochs}",
                leave=False,
                dynamic_ncols=True,
                file=sys.stderr,
            )

    def batch(self, loss: float) -> None:
        if self.bar is not None:
            self.bar.update(1)
            if self.bar.n % 10 == 0 or self.bar.n == self.steps:
                self.bar.set_postfix(loss=f"{loss:.4g}", refresh=False)

    def end_epoch(self, epoch: int, logs: dict[str, float]) -> None:
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        parts = [f"{k}={v:.4g}" for k, v in logs.items() if k not in ("epoch", "time")]
        line = f"{self.desc} {epoch + 1}/{self.epochs}: " + " ".join(parts) + f" ({logs.get('time', 0):.1f}s)"
        if self._tqdm is not None:
            self._tqdm.write(line, file=sys.stderr)
        else:
            print(line, file=sys.stderr, flush=True)


def fit(
    model: Any,
    loss_fn: Callable,
    optimizer: Any,
    train_loader: Any,
    val_loader: Any = None,
    epochs: int = 1,
    accumulate: int = 1,
    clip: Optional[float] = None,
    scheduler: Any = None,
    scheduler_interval: str = "epoch",
    early_stopping: Union[None, int, EarlyStopping] = None,
    ema: Any = None,
    metrics: Optional[dict[str, Union[str, Callable]]] = None,
    progress: bool = True,
    desc: str = "epoch",
    callback: Optional[Callable[[int, dict[str, float]], Any]] = None,
) -> dict[str, list[float]]:
    """Trains ``model`` and returns the history ``{"epoch": [...], "train_loss": [...],
    "val_loss": [...], "val_<metric>": [...], "lr": [...], "time": [...]}``.

    * batches are ``(x, y)`` or ``(x, y, ω)``; with ω the loss is called as
      ``loss_fn(pred, y, weight=ω)``. ``loss_fn`` must return a mean over the batch.
    * ``accumulate=k`` sums gradients over k batches before one update; each batch's loss
      is scaled by its share of the group's examples (Σω with weights), so every update
      equals the gradient of the group's big-batch mean — including a short final group.
    * ``clip``: max global gradient norm before each update.
    * ``scheduler``: stepped once per epoch (``scheduler_interval="step"``: per update);
      ReduceLROnPlateau gets the validation loss (train loss without validation).
    * ``early_stopping``: an EarlyStopping or an int patience (monitors val_loss);
      best weights are restored at the end.
    * ``ema``: an fg.optim.EMA updated after each step; validation uses the averaged
      weights and the model keeps them at the end.
    * ``metrics``: {name: fn(pred, y) -> float} (or "accuracy") evaluated on validation.
    """
    if accumulate < 1:
        raise ValueError(f"fit: accumulate must be >= 1, got {accumulate}")
    if scheduler_interval not in ("epoch", "step"):
        raise ValueError(f"fit: scheduler_interval must be 'epoch' or 'step', got {scheduler_interval!r}")
    mets: dict[str, Callable] = {}
    for k, f in (metrics or {}).items():
        mets[k] = _BUILTIN_METRICS[f] if isinstance(f, str) else f
    if isinstance(early_stopping, int) and not isinstance(early_stopping, bool):
        early_stopping = EarlyStopping(patience=early_stopping)
    if early_stopping is not None and early_stopping.monitor.startswith("val_") and val_loader is None:
        raise ValueError("fit: early stopping on a validation metric needs val_loader")
    params = [p for g in optimizer.param_groups for p in g["params"]]
    history: dict[str, list[float]] = {"epoch": [], "train_loss": [], "lr": [], "time": []}
    try:
        steps = len(train_loader)
    except TypeError:
        steps = 0
    prog = _Progress(progress, epochs, steps, desc)
    model.train()
    stopped = False
    for epoch in range(epochs):
        t0 = time.perf_counter()
        prog.start_epoch(epoch)
        total, count = 0.0, 0.0
        group: list = []

        def run_group(group: list) -> None:
            nonlocal total, count
            n_group = sum(nb for _, nb in group)
            for batch, nb in group:
                x, y, w = batch
                pred = model(x)
                loss = _call_loss(loss_fn, pred, y, w)
                lv = float(loss.item())
                if not math.isfinite(lv):
                    raise FloatingPointError(f"fit: loss became {lv} at epoch {epoch + 1}")  # noqa: B023 (called in this epoch)
                (loss * (nb / n_group) if len(group) > 1 else loss).backward()
                total += lv * nb
                count += nb
                prog.batch(lv)
            if clip is not None:
                clip_grad_norm_(params, clip)
            optimizer.step()
            optimizer.zero_grad()
            if ema is not None:
                ema.update(model)
            if (
                scheduler is not None
                and scheduler_interval == "step"
                and not isinstance(scheduler, ReduceLROnPlateau)
            ):
                scheduler.step()

        optimizer.zero_grad()
        for batch in train_loader:
            x, y, w = _split(batch)
            group.append(((x, y, w), _size(x, w)))
            if len(group) == accumulate:
                run_group(group)
                group = []
        if group:
            run_group(group)
        logs: dict[str, float] = {"epoch": epoch + 1, "train_loss": total / count if count else float("nan")}
        if val_loader is not None:
            if ema is not None:
                with ema.average_parameters(model):
                    ev = evaluate(model, loss_fn, val_loader, mets)
            else:
                ev = evaluate(model, loss_fn, val_loader, mets)
            for k, v in ev.items():
                logs["val_" + k] = v
        logs["lr"] = float(optimizer.param_groups[0]["lr"])
        if scheduler is not None:
            if isinstance(scheduler, ReduceLROnPlateau):
                scheduler.step(logs.get("val_loss", logs["train_loss"]))
            elif scheduler_interval == "epoch":
                scheduler.step()
        logs["time"] = time.perf_counter() - t0
        for k, v in logs.items():
            history.setdefault(k, []).append(v)
        prog.end_epoch(epoch, logs)
        if callback is not None:
            callback(epoch, logs)
        if early_stopping is not None:
            key = early_stopping.monitor
            if key not in logs:
                raise KeyError(f"fit: early stopping monitors {key!r}, available: {sorted(logs)}")
            if ema is not None and early_stopping.restore_best:
                with ema.average_parameters(model):
                    stop = early_stopping.update(float(logs[key]), epoch, model)
            else:
                stop = early_stopping.update(float(logs[key]), epoch, model)
            if stop:
                stopped = True
                break
    if ema is not None:
        ema.copy_to(model)
    if early_stopping is not None and early_stopping.restore_best and early_stopping.best_state is not None:
        model.load_state_dict(early_stopping.best_state)
        history["best_epoch"] = [early_stopping.best_epoch + 1]
    history["stopped_early"] = [bool(stopped)]
    return history
