"""The cheat sheet's training loop: ``fg.train.fit``, a small loop plus callbacks.

for epoch in range(E): shuffle, split into M = ceil(N/B) batches, and for each batch
forward → loss → backward → (every ``accumulate`` batches) clip → optimizer step; the
rest — EMA updates, validation without updating (no_grad, eval mode), the learning-rate
schedule, progress, early stopping, checkpoints — are ``Callback`` objects the loop calls
at fixed points (``on_train_start``, ``on_epoch_start``, ``on_batch_end``,
``on_step_end``, ``on_epoch_end``, ``on_train_end``). ``fit``'s keyword arguments build
the default callbacks; ``callbacks=[...]`` adds a user's own.
"""

from __future__ import annotations

import contextlib
import math
import sys
import time
from collections.abc import Iterator, Sequence
from typing import Any, Callable, Optional, Union

import numpy as np

from .autograd import no_grad
from .io import save
from .ops import Tensor
from .optim.clip import clip_grad_norm_
from .optim.lr_scheduler import ReduceLROnPlateau


class TrainState:
    """What the loop shares with its callbacks.

    ``model``, ``optimizer``, ``loss_fn``; ``epoch`` (0-based, current), ``epochs``;
    ``step`` (optimizer updates so far); ``steps_per_epoch`` (batches, 0 if unknown);
    ``history`` (what ``fit`` returns); ``ema`` (set by the EMA callback); a callback sets
    ``stop = True`` to end training after the current epoch; ``rank``, ``world_size`` and
    ``ddp`` describe data-parallel training (0, 1 and None otherwise).
    """

    def __init__(
        self, model: Any, optimizer: Any, loss_fn: Callable, epochs: int, steps_per_epoch: int
    ) -> None:
        self.model = model
        self.optimizer = optimizer
        self.loss_fn = loss_fn
        self.epochs = epochs
        self.steps_per_epoch = steps_per_epoch
        self.epoch = 0
        self.step = 0
        self.epoch_start = 0.0
        self.history: dict[str, list[Any]] = {"epoch": [], "train_loss": [], "lr": [], "time": []}
        self.ema: Any = None
        self.stop = False
        # Data-parallel training (fit(distributed=...)): this process's rank, the world
        # size, and ``ddp``, the DistributedDataParallel wrapper the loop runs (else None).
        self.rank = 0
        self.world_size = 1
        self.ddp: Any = None

    @contextlib.contextmanager
    def averaged(self) -> Iterator[None]:
        """Within it the model holds the EMA weights if an EMA is in use (else no change)."""
        if self.ema is None:
            yield
        else:
            with self.ema.average_parameters(self.model):
                yield


class Callback:
    """Base class of ``fit``'s hooks; override any of them (each does nothing here).

    Per epoch the loop calls ``on_epoch_start``, then per batch ``on_batch_end`` (with the
    batch's loss as a float) and per optimizer update ``on_step_end``, then
    ``on_epoch_end`` with the epoch's ``logs`` dict, which callbacks may read and extend
    (keys added there are recorded in the history). Callbacks run in list order.
    """

    def on_train_start(self, state: TrainState) -> None:
        """Before the first epoch."""

    def on_epoch_start(self, state: TrainState) -> None:
        """At the start of epoch ``state.epoch``."""

    def on_batch_end(self, state: TrainState, loss: float) -> None:
        """After one batch's backward pass (``loss``: its unscaled mean loss)."""

    def on_step_end(self, state: TrainState) -> None:
        """After an optimizer update (every ``accumulate`` batches) and ``zero_grad``."""

    def on_epoch_end(self, state: TrainState, logs: dict[str, Any]) -> None:
        """At the end of the epoch: ``logs`` has "epoch" and "train_loss" and what earlier
        callbacks added; set ``state.stop = True`` to stop training."""

    def on_train_end(self, state: TrainState) -> None:
        """After the last epoch (or an early stop)."""


class LambdaCallback(Callback):
    """``fn(epoch, logs)`` called at each epoch end (``fit(callback=fn)``'s form)."""

    def __init__(self, fn: Callable[[int, dict[str, Any]], Any]) -> None:
        self.fn = fn

    def on_epoch_end(self, state: TrainState, logs: dict[str, Any]) -> None:
        """Calls ``fn(state.epoch, logs)``."""
        self.fn(state.epoch, logs)


class EMACallback(Callback):
    """Updates an ``fg.optim.EMA`` after each step; validation and early stopping see the
    averaged weights (``TrainState.averaged``) and the model keeps them at the end."""

    def __init__(self, ema: Any) -> None:
        self.ema = ema

    def on_train_start(self, state: TrainState) -> None:
        """Makes the EMA visible to the other callbacks as ``state.ema``."""
        state.ema = self.ema

    def on_step_end(self, state: TrainState) -> None:
        """``ema.update(model)``."""
        self.ema.update(state.model)

    def on_train_end(self, state: TrainState) -> None:
        """Copies the averaged weights into the model."""
        self.ema.copy_to(state.model)


class Validation(Callback):
    """Evaluates ``loader`` at each epoch end (see ``evaluate``) and logs "val_loss" and
    "val_<metric>" for each of ``metrics`` ({name: fn(pred, y) -> float} or "accuracy")."""

    def __init__(
        self,
        loader: Any,
        loss_fn: Optional[Callable] = None,
        metrics: Optional[dict[str, Union[str, Callable]]] = None,
    ) -> None:
        self.loader = loader
        self.loss_fn = loss_fn
        self.metrics = {
            k: _BUILTIN_METRICS[f] if isinstance(f, str) else f for k, f in (metrics or {}).items()
        }

    def on_epoch_end(self, state: TrainState, logs: dict[str, Any]) -> None:
        """Adds ``val_*`` entries to ``logs`` (with the EMA weights when an EMA is in use)."""
        with state.averaged():
            ev = evaluate(
                state.model,
                self.loss_fn or state.loss_fn,
                self.loader,
                self.metrics,
                _shard=(state.rank, state.world_size) if state.world_size > 1 else None,
            )
        for k, v in ev.items():
            logs["val_" + k] = v


class LRScheduler(Callback):
    """Logs the epoch's learning rate ("lr", of the first param group) and steps
    ``scheduler`` once per epoch (``interval="step"``: once per update); a
    ReduceLROnPlateau gets the validation loss (the train loss without validation)."""

    def __init__(self, scheduler: Any = None, interval: str = "epoch") -> None:
        if interval not in ("epoch", "step"):
            raise ValueError(f"fit: scheduler_interval must be 'epoch' or 'step', got {interval!r}")
        self.scheduler = scheduler
        self.interval = interval
        self.plateau = isinstance(scheduler, ReduceLROnPlateau)

    def on_step_end(self, state: TrainState) -> None:
        """Steps a per-update schedule."""
        if self.scheduler is not None and self.interval == "step" and not self.plateau:
            self.scheduler.step()

    def on_epoch_end(self, state: TrainState, logs: dict[str, Any]) -> None:
        """Logs "lr", then steps a per-epoch or plateau schedule."""
        logs["lr"] = float(state.optimizer.param_groups[0]["lr"])
        if self.scheduler is None:
            return
        if self.plateau:
            self.scheduler.step(logs.get("val_loss", logs["train_loss"]))
        elif self.interval == "epoch":
            self.scheduler.step()


class _Timer(Callback):
    def on_epoch_end(self, state: TrainState, logs: dict[str, Any]) -> None:
        """Logs "time": seconds since the epoch started."""
        logs["time"] = time.perf_counter() - state.epoch_start


class EarlyStopping(Callback):
    """Stops when ``monitor`` has not improved by more than ``min_delta`` for ``patience``
    epochs; with ``restore_best`` the model gets the best epoch's weights back.

    As a callback it reads ``logs[monitor]`` at each epoch end (with the EMA weights when an
    EMA is in use and ``restore_best``), sets ``state.stop`` and restores at the end.
    """

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
        """Whether ``value`` beats the best so far by more than ``min_delta``."""
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

    def on_epoch_end(self, state: TrainState, logs: dict[str, Any]) -> None:
        """Records ``logs[monitor]``; sets ``state.stop`` after ``patience`` bad epochs."""
        key = self.monitor
        if key not in logs:
            raise KeyError(f"fit: early stopping monitors {key!r}, available: {sorted(logs)}")
        ctx = state.averaged() if self.restore_best else contextlib.nullcontext()
        with ctx:
            if self.update(float(logs[key]), state.epoch, state.model):
                state.stop = True

    def on_train_end(self, state: TrainState) -> None:
        """Loads the best epoch's weights (``restore_best``) and records "best_epoch"."""
        if self.restore_best and self.best_state is not None:
            state.model.load_state_dict(self.best_state)
            state.history["best_epoch"] = [self.best_epoch + 1]


class ModelCheckpoint(Callback):
    """Saves ``model.state_dict()`` with ``fg.save`` at epoch ends: to ``path`` formatted with
    ``epoch`` (1-based, e.g. "ckpt-{epoch}.fg"); with ``monitor`` only when ``logs[monitor]``
    improves (``mode`` "min" or "max")."""

    def __init__(self, path: Any, monitor: Optional[str] = None, mode: str = "min") -> None:
        if mode not in ("min", "max"):
            raise ValueError(f"ModelCheckpoint: mode must be 'min' or 'max', got {mode!r}")
        self.path = path
        self.monitor = monitor
        self.mode = mode
        self.best = math.inf if mode == "min" else -math.inf
        self.saved: list[str] = []

    def on_epoch_end(self, state: TrainState, logs: dict[str, Any]) -> None:
        """Writes the checkpoint when due; the written paths are in ``saved``."""
        if self.monitor is not None:
            if self.monitor not in logs:
                raise KeyError(f"ModelCheckpoint: monitors {self.monitor!r}, available: {sorted(logs)}")
            v = float(logs[self.monitor])
            if not (v < self.best if self.mode == "min" else v > self.best):
                return
            self.best = v
        path = str(self.path).format(epoch=state.epoch + 1)
        if state.rank == 0:  # data-parallel: written once, by rank 0
            with state.averaged():
                save(state.model.state_dict(), path)
        self.saved.append(path)


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
        # "sample_weight" is the name of the loss keyword; "weight" is kept as its alias here
        # (a batch has no per-class/elementwise weight, so it is never PyTorch's weight=)
        if "sample_weight" in batch and "weight" in batch:
            raise ValueError("fit: a batch dict gives both 'sample_weight' and 'weight' (both mean ω)")
        return batch["x"], batch.get("y"), batch.get("sample_weight", batch.get("weight"))
    raise TypeError(
        "fit: batches must be (x, y) or (x, y, sample_weight) tuples or dicts with "
        "'x', 'y'[, 'sample_weight' (alias 'weight')]"
    )


def _size(x: Any, w: Any) -> float:
    if w is not None:
        return float(np.sum(np.asarray(w.detach() if isinstance(w, Tensor) else w)))
    return float(x.shape[0] if hasattr(x, "shape") and len(x.shape) else 1)


def _call_loss(loss_fn: Callable, pred: Any, y: Any, w: Any) -> Tensor:
    return loss_fn(pred, y) if w is None else loss_fn(pred, y, sample_weight=w)


def _rows(n: int, rank: int, world: int) -> tuple[int, int]:
    """Rank ``rank``'s contiguous share [lo, hi) of n rows (the first n % world ranks
    get one more, as numpy.array_split)."""
    q, r = divmod(n, world)
    lo = rank * q + min(rank, r)
    return lo, lo + q + (1 if rank < r else 0)


def _take(v: Any, lo: int, hi: int) -> Any:
    if v is None:
        return None
    if isinstance(v, (tuple, list)):
        return type(v)(_take(u, lo, hi) for u in v)
    if isinstance(v, dict):
        return {k: _take(u, lo, hi) for k, u in v.items()}
    return v[lo:hi]


def _allreduce_floats(values: list[float]) -> list[float]:
    """Sums of ``values`` over the data-parallel processes (float64)."""
    from . import distributed as dist
    from ._tensor import float64
    from ._tensor import tensor as _tensor

    t = _tensor(np.asarray(values, dtype=np.float64), dtype=float64)
    dist.all_reduce(t, "sum")
    dist.broadcast(t, 0)  # rank 0's bits everywhere: decisions on them agree
    return [float(v) for v in np.asarray(t)]


def evaluate(
    model: Any,
    loss_fn: Callable,
    loader: Any,
    metrics: Optional[dict[str, Callable]] = None,
    _shard: Optional[tuple[int, int]] = None,
) -> dict[str, float]:
    """Mean loss (weighted by batch size, or by Σω with per-example weights) and metrics
    over ``loader``, in eval mode without recording gradients; restores the mode.
    (``_shard=(rank, world)``: data-parallel, each process evaluates its share of every
    batch and the sums are reduced across processes.)"""
    was_training = model.training
    model.eval()
    total, n = 0.0, 0.0
    msum: dict[str, float] = {k: 0.0 for k in (metrics or {})}
    mcount = 0.0
    try:
        with no_grad():
            for batch in loader:
                x, y, w = _split(batch)
                if _shard is not None:
                    lo, hi = _rows(int(x.shape[0]), *_shard)
                    if hi <= lo:
                        continue
                    x, y, w = _take(x, lo, hi), _take(y, lo, hi), _take(w, lo, hi)
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
    if _shard is not None:
        keys = list(msum)
        red = _allreduce_floats([total, n, mcount] + [msum[k] for k in keys])
        total, n, mcount = red[0], red[1], red[2]
        msum = dict(zip(keys, red[3:]))
    out = {"loss": total / n if n else float("nan")}
    for k in msum:
        out[k] = msum[k] / mcount if mcount else float("nan")
    return out


class Progress(Callback):
    """A tqdm bar per epoch when tqdm is installed, and one printed line per epoch
    (to stderr) with the epoch's logs."""

    def __init__(self, enabled: bool = True, desc: str = "epoch") -> None:
        self.enabled = enabled
        self.epochs, self.steps, self.desc = 0, 0, desc
        self.bar = None
        self._tqdm = None
        if enabled:
            try:
                from tqdm.auto import tqdm  # noqa: F401

                self._tqdm = tqdm
            except Exception:  # pragma: no cover - depends on the environment
                self._tqdm = None

    def on_train_start(self, state: TrainState) -> None:
        """Takes the number of epochs and batches from ``state``."""
        self.epochs, self.steps = state.epochs, state.steps_per_epoch

    def on_epoch_start(self, state: TrainState) -> None:
        """Opens the epoch's bar."""
        epoch = state.epoch
        if self.enabled and self._tqdm is not None:
            self.bar = self._tqdm(
                total=self.steps,
                desc=f"{self.desc} {epoch + 1}/{self.epochs}",
                leave=False,
                dynamic_ncols=True,
                file=sys.stderr,
            )

    def on_batch_end(self, state: TrainState, loss: float) -> None:
        """Advances the bar; shows the loss every 10 batches."""
        if self.bar is not None:
            self.bar.update(1)
            if self.bar.n % 10 == 0 or self.bar.n == self.steps:
                self.bar.set_postfix(loss=f"{loss:.4g}", refresh=False)

    def on_epoch_end(self, state: TrainState, logs: dict[str, Any]) -> None:
        """Closes the bar and prints the epoch's logs."""
        epoch = state.epoch
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
    callback: Optional[Callable[[int, dict[str, Any]], Any]] = None,
    callbacks: Sequence[Callback] = (),
    distributed: Optional[bool] = None,
) -> dict[str, list[Any]]:
    """Trains ``model`` and returns the history ``{"epoch": [...], "train_loss": [...],
    "val_loss": [...], "val_<metric>": [...], "lr": [...], "time": [...]}``.

    * batches are ``(x, y)`` or ``(x, y, ω)`` (x: (B, ...), y: what ``loss_fn`` takes, ω: (B,)
      per-example weights, cheat sheet "LOSS REDUCTIONS & WEIGHTING"), or dicts with keys
      "x", "y" and optionally "sample_weight" (or its alias "weight", also ω — never
      PyTorch's per-class/elementwise ``weight``); with ω the loss is called as
      ``loss_fn(pred, y, sample_weight=ω)``. ``loss_fn`` must return a mean over the batch.
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
    * ``callback``: ``fn(epoch, logs)`` at each epoch end; ``callbacks``: ``Callback``
      objects, run after the built-in EMA, Validation and LRScheduler callbacks and before
      Progress and EarlyStopping (so keys they add to ``logs`` are printed and recorded).
    * ``distributed``: data-parallel training over MPI (``fg.distributed``); None (the
      default) turns it on when the process was started by ``mpirun``/``srun`` with more
      than one process. Every process runs ``fit`` with the same arguments (same seed);
      the model is wrapped in ``fg.nn.parallel.DistributedDataParallel`` (rank 0's weights
      broadcast, gradients averaged in overlapped buckets). Each global batch of
      ``train_loader`` is split into contiguous per-rank shares and each rank's loss scaled
      by its share, so every update equals the single-process one (to rounding) for any
      number of ranks. A loader whose sampler is a ``DistributedSampler`` is already
      per-rank: its batches are used whole (the global batch size is summed across ranks
      each batch). Validation is split the same way, losses and metrics are reduced across
      ranks, the progress bar and ModelCheckpoint files are rank 0's only, and the early
      stopping decision is rank 0's, broadcast (so all ranks stop at the same epoch).
    """
    if accumulate < 1:
        raise ValueError(f"fit: accumulate must be >= 1, got {accumulate}")
    es: Optional[EarlyStopping]
    if early_stopping is None or isinstance(early_stopping, EarlyStopping):
        es = early_stopping
    elif isinstance(early_stopping, int) and not isinstance(early_stopping, bool):
        es = EarlyStopping(patience=early_stopping)
    else:
        raise TypeError(
            f"fit: early_stopping must be an EarlyStopping, an int patience or None, "
            f"got {type(early_stopping).__name__}"
        )
    if es is not None and es.monitor.startswith("val_") and val_loader is None:
        raise ValueError("fit: early stopping on a validation metric needs val_loader")
    cbs: list[Callback] = []
    if ema is not None:
        cbs.append(EMACallback(ema))
    if val_loader is not None:
        cbs.append(Validation(val_loader, loss_fn, metrics))
    from . import distributed as dist

    use_dist = dist.launched() if distributed is None else bool(distributed)
    rank, world = 0, 1
    if use_dist:
        dist.init()
        rank, world = dist.rank(), dist.world_size()
    cbs += [
        LRScheduler(scheduler, scheduler_interval),
        _Timer(),
        *callbacks,
        Progress(progress and rank == 0, desc),
    ]
    if callback is not None:
        cbs.append(LambdaCallback(callback))
    if es is not None:
        cbs.append(es)
    try:
        steps = len(train_loader)
    except TypeError:
        steps = 0
    state = TrainState(model, optimizer, loss_fn, epochs, steps)
    state.rank, state.world_size = rank, world
    if use_dist and world > 1:
        from .nn.parallel import DistributedDataParallel

        state.ddp = model if isinstance(model, DistributedDataParallel) else DistributedDataParallel(model)
        if state.ddp is model:
            state.model = model.module
    _run(state, train_loader, accumulate, clip, cbs)
    return state.history


def _overriding(cbs: list[Callback], hook: str) -> list[Callable[..., None]]:
    """The bound ``hook`` of each callback that overrides it (the loop skips the no-ops)."""
    return [getattr(cb, hook) for cb in cbs if getattr(type(cb), hook) is not getattr(Callback, hook)]


def _run(state: TrainState, loader: Any, accumulate: int, clip: Optional[float], cbs: list[Callback]) -> None:
    """The loop itself: batches, backward, (accumulated) updates, and the callbacks' hooks."""
    model, optimizer, loss_fn = state.model, state.optimizer, state.loss_fn
    on_batch, on_step = _overriding(cbs, "on_batch_end"), _overriding(cbs, "on_step_end")
    params = [p for g in optimizer.param_groups for p in g["params"]]
    total = count = 0.0
    ddp, rank, world = state.ddp, state.rank, state.world_size
    forward = ddp if ddp is not None else model
    # Data-parallel: with a DistributedSampler the batches are this rank's already;
    # otherwise every rank reads the same global batches and takes its share of rows.
    sampler = getattr(loader, "sampler", None)
    presharded = ddp is not None and getattr(sampler, "num_replicas", 1) > 1

    def run_group(group: list) -> None:
        nonlocal total, count
        n_group = sum(nb for _, nb in group)
        if presharded:
            n_group = _allreduce_floats([n_group])[0]
        for i, ((x, y, w), nb) in enumerate(group):
            sync = ddp is None or i == len(group) - 1
            ctx = contextlib.nullcontext() if sync else ddp.no_sync()
            if ddp is not None and not presharded:
                lo, hi = _rows(int(x.shape[0]), rank, world)
                x, y, w = _take(x, lo, hi), _take(y, lo, hi), _take(w, lo, hi)
                nb_r = _size(x, w) if hi > lo else 0.0
            else:
                nb_r = nb
            with ctx:
                if nb_r == 0:  # no rows here: a zero contribution, so every rank reduces
                    lv = 0.0
                    sum((p * 0).sum() for p in ddp._params).backward()  # type: ignore[union-attr]
                else:
                    loss = _call_loss(loss_fn, forward(x), y, w)
                    lv = float(loss.item())
                    if not math.isfinite(lv):
                        raise FloatingPointError(f"fit: loss became {lv} at epoch {state.epoch + 1}")
                    # DDP averages over ranks: world·(n_r/N) makes it the global mean.
                    scale = (nb_r / n_group) * (world if ddp is not None else 1)
                    (loss * scale if scale != 1 else loss).backward()
            total += lv * nb_r
            count += nb_r
            for f in on_batch:
                f(state, lv)
        if clip is not None:
            clip_grad_norm_(params, clip)
        optimizer.step()
        optimizer.zero_grad()
        state.step += 1
        for f in on_step:
            f(state)

    for cb in cbs:
        cb.on_train_start(state)
    model.train()
    for epoch in range(state.epochs):
        state.epoch, state.epoch_start = epoch, time.perf_counter()
        if hasattr(sampler, "set_epoch"):
            sampler.set_epoch(epoch)  # type: ignore[union-attr]
        for cb in cbs:
            cb.on_epoch_start(state)
        total, count = 0.0, 0.0
        group: list = []
        optimizer.zero_grad()
        for batch in loader:
            x, y, w = _split(batch)
            group.append(((x, y, w), _size(x, w)))
            if len(group) == accumulate:
                run_group(group)
                group = []
        if group:
            run_group(group)
        if ddp is not None:
            total, count = _allreduce_floats([total, count])
        logs: dict[str, Any] = {"epoch": epoch + 1, "train_loss": total / count if count else float("nan")}
        for cb in cbs:
            cb.on_epoch_end(state, logs)
        for k, v in logs.items():
            state.history.setdefault(k, []).append(v)
        if ddp is not None:  # rank 0 decides: every rank stops at the same epoch
            state.stop = bool(_allreduce_floats([float(state.stop) if rank == 0 else 0.0])[0])
        if state.stop:
            break
    for cb in cbs:
        cb.on_train_end(state)
    state.history["stopped_early"] = [bool(state.stop)]
