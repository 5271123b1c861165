"""Learning-rate schedules with PyTorch semantics (closed forms; constructing a scheduler
performs its initial step, so the group lr is the epoch-0 value at once)."""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence
from typing import Any, Optional


class LRScheduler:
    """Base of the epoch schedules: sets every group's ``lr`` to ``lr_at(initial_lr, epoch)``.

    Constructing one performs the initial step (epoch 0); each group remembers its
    ``initial_lr``. Subclasses give the closed form ``lr_at``.
    """

    def __init__(self, optimizer: Any, last_epoch: int = -1) -> None:
        self.optimizer = optimizer
        if last_epoch == -1:
            for g in optimizer.param_groups:
                g.setdefault("initial_lr", g["lr"])
        self.base_lrs: list[float] = [g["initial_lr"] for g in optimizer.param_groups]
        self.last_epoch = last_epoch
        self.step()

    def lr_at(self, base_lr: float, epoch: int) -> float:
        """The learning rate at ``epoch`` for a group whose initial lr is ``base_lr``."""
        raise NotImplementedError

    def get_last_lr(self) -> list[float]:
        """The groups' learning rates after the last ``step()``, one float per group."""
        return list(self._last_lr)

    def step(self, epoch: Optional[int] = None) -> None:
        """Advances to the next epoch (or to ``epoch``) and writes each group's lr."""
        self.last_epoch = self.last_epoch + 1 if epoch is None else int(epoch)
        for g, base in zip(self.optimizer.param_groups, self.base_lrs):
            g["lr"] = self.lr_at(base, self.last_epoch)
        self._last_lr = [g["lr"] for g in self.optimizer.param_groups]

    def state_dict(self) -> dict[str, Any]:
        """The scheduler's state (everything but the optimizer), for ``load_state_dict``."""
        return {k: v for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, sd: dict[str, Any]) -> None:
        """Restores what ``state_dict()`` returned."""
        self.__dict__.update(sd)


class StepLR(LRScheduler):
    """lr = base · gamma^(epoch // step_size)."""

    def __init__(self, optimizer: Any, step_size: int, gamma: float = 0.1, last_epoch: int = -1) -> None:
        self.step_size = int(step_size)
        self.gamma = float(gamma)
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base_lr: float, epoch: int) -> float:
        """base · gamma^(epoch // step_size)."""
        return base_lr * self.gamma ** (epoch // self.step_size)


class CosineAnnealingLR(LRScheduler):
    """lr = η_min + (base − η_min)(1 + cos(π·epoch/T_max))/2."""

    def __init__(self, optimizer: Any, T_max: int, eta_min: float = 0.0, last_epoch: int = -1) -> None:  # noqa: N803
        self.T_max = int(T_max)
        self.eta_min = float(eta_min)
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base_lr: float, epoch: int) -> float:
        """η_min + (base − η_min)(1 + cos(π·epoch/T_max))/2."""
        return self.eta_min + (base_lr - self.eta_min) * (1 + math.cos(math.pi * epoch / self.T_max)) / 2


class LinearLR(LRScheduler):
    """torch.optim.lr_scheduler.LinearLR: the factor goes linearly from start_factor to
    end_factor over total_iters steps."""

    def __init__(
        self,
        optimizer: Any,
        start_factor: float = 1.0 / 3,
        end_factor: float = 1.0,
        total_iters: int = 5,
        last_epoch: int = -1,
    ) -> None:
        if not 0 < start_factor <= 1 or not 0 <= end_factor <= 1:
            raise ValueError("LinearLR: start_factor must be in (0, 1] and end_factor in [0, 1]")
        self.start_factor = float(start_factor)
        self.end_factor = float(end_factor)
        self.total_iters = int(total_iters)
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base_lr: float, epoch: int) -> float:
        """base times the factor interpolated linearly over total_iters epochs."""
        t = min(epoch, self.total_iters)
        return base_lr * (self.start_factor + (self.end_factor - self.start_factor) * t / self.total_iters)


class LinearWarmup(LRScheduler):
    """Linear warmup over ``warmup_steps`` steps: lr_t = base·(t + 1)/warmup_steps for
    t < warmup_steps, then base (with ``start_factor`` s: s + (1 − s)·t/(warmup_steps − 1)).
    Combine with a decay via SequentialLR(..., milestones=[warmup_steps])."""

    def __init__(
        self, optimizer: Any, warmup_steps: int, start_factor: Optional[float] = None, last_epoch: int = -1
    ) -> None:
        if warmup_steps < 1:
            raise ValueError(f"LinearWarmup: warmup_steps must be >= 1, got {warmup_steps}")
        self.warmup_steps = int(warmup_steps)
        self.start_factor = 1.0 / warmup_steps if start_factor is None else float(start_factor)
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base_lr: float, epoch: int) -> float:
        """The warmup ramp's value at ``epoch``, then ``base_lr``."""
        W = self.warmup_steps
        if W == 1 or epoch >= W - 1:
            return base_lr
        return base_lr * (self.start_factor + (1.0 - self.start_factor) * max(epoch, 0) / (W - 1))


class SequentialLR(LRScheduler):
    """Runs ``schedulers[i]`` between milestones; each restarts at its epoch 0 (PyTorch)."""

    def __init__(
        self,
        optimizer: Any,
        schedulers: Sequence[LRScheduler],
        milestones: Sequence[int],
        last_epoch: int = -1,
    ) -> None:
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(
                f"SequentialLR: expected {len(schedulers) - 1} milestones, got {len(milestones)}"
            )
        for s in schedulers:
            if s.optimizer is not optimizer:
                raise ValueError("SequentialLR: all schedulers must use the same optimizer")
        self.optimizer = optimizer
        self._schedulers = list(schedulers)
        self._milestones = list(milestones)
        self.last_epoch = last_epoch + 1
        for g in optimizer.param_groups:
            g["lr"] = g["initial_lr"]
        self._schedulers[0].step(0)
        self._last_lr = self._schedulers[0].get_last_lr()

    def step(self, epoch: Optional[int] = None) -> None:
        """Advances the active scheduler (a scheduler starts at its epoch 0 at its milestone)."""
        self.last_epoch += 1
        idx = bisect_right(self._milestones, self.last_epoch)
        s = self._schedulers[idx]
        if idx > 0 and self._milestones[idx - 1] == self.last_epoch:
            s.step(0)
        else:
            s.step()
        self._last_lr = s.get_last_lr()

    def state_dict(self) -> dict[str, Any]:
        """The epoch, milestones and each scheduler's own state."""
        return {
            "last_epoch": self.last_epoch,
            "_milestones": self._milestones,
            "_schedulers": [s.state_dict() for s in self._schedulers],
        }

    def load_state_dict(self, sd: dict[str, Any]) -> None:
        """Restores what ``state_dict()`` returned."""
        self.last_epoch = sd["last_epoch"]
        self._milestones = list(sd["_milestones"])
        for s, d in zip(self._schedulers, sd["_schedulers"]):
            s.load_state_dict(d)


class ReduceLROnPlateau:
    """Multiplies lr by ``factor`` after ``patience`` epochs without improvement of the
    metric passed to ``step(metric)`` (PyTorch semantics incl. threshold modes, cooldown)."""

    def __init__(
        self,
        optimizer: Any,
        mode: str = "min",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        threshold_mode: str = "rel",
        cooldown: int = 0,
        min_lr: Any = 0.0,
        eps: float = 1e-8,
    ) -> None:
        if factor >= 1.0:
            raise ValueError("ReduceLROnPlateau: factor should be < 1.0")
        if mode not in ("min", "max") or threshold_mode not in ("rel", "abs"):
            raise ValueError("ReduceLROnPlateau: mode must be 'min'/'max' and threshold_mode 'rel'/'abs'")
        self.optimizer = optimizer
        self.mode, self.factor, self.patience = mode, float(factor), int(patience)
        self.threshold, self.threshold_mode = float(threshold), threshold_mode
        self.cooldown, self.eps = int(cooldown), float(eps)
        n = len(optimizer.param_groups)
        self.min_lrs = list(min_lr) if isinstance(min_lr, (list, tuple)) else [float(min_lr)] * n
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        self.last_epoch = 0
        self._last_lr = [g["lr"] for g in optimizer.param_groups]

    def is_better(self, a: float, best: float) -> bool:
        """Whether metric value ``a`` improves on ``best`` under the mode and threshold."""
        if self.mode == "min" and self.threshold_mode == "rel":
            return a < best * (1.0 - self.threshold)
        if self.mode == "min":
            return a < best - self.threshold
        if self.threshold_mode == "rel":
            return a > best * (self.threshold + 1.0)
        return a > best + self.threshold

    def step(self, metrics: Any) -> None:
        """Records this epoch's metric (a number or a 0-d Tensor); lowers each group's lr
        by ``factor`` (not below its ``min_lr``) once ``patience`` epochs went without improvement."""
        current = float(metrics)
        self.last_epoch += 1
        if self.is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            for i, g in enumerate(self.optimizer.param_groups):
                old = float(g["lr"])
                new = max(old * self.factor, self.min_lrs[i])
                if old - new > self.eps:
                    g["lr"] = new
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = [g["lr"] for g in self.optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        """The groups' learning rates after the last ``step()``, one float per group."""
        return list(self._last_lr)

    def state_dict(self) -> dict[str, Any]:
        """The scheduler's state (everything but the optimizer), for ``load_state_dict``."""
        return {k: v for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, sd: dict[str, Any]) -> None:
        """Restores what ``state_dict()`` returned."""
        self.__dict__.update(sd)
