"""Exponential moving average of a model's weights (cheat sheet: "EMA of weights")."""

from __future__ import annotations

import contextlib
import numbers
from collections.abc import Iterator
from typing import Any

import numpy as np

from ..ops import Tensor


def _require_module(model: Any, op: str) -> None:
    # A TypeError naming EMA, not an AttributeError from deep inside.
    if not callable(getattr(model, "state_dict", None)):
        raise TypeError(
            f"{op}: model must be a fg.nn.Module (an object with state_dict()), got {type(model).__name__}"
        )


class EMA:
    """shadow ← decay·shadow + (1 − decay)·θ after each ``update()``.

    ``warmup=True`` uses decay_t = min(decay, (1 + t)/(10 + t)) so early averages are not
    dominated by the initial weights. Floating buffers (BatchNorm running stats) are
    averaged too; integer buffers are copied.

    Use ``ema.copy_to(model)`` to load the averages, or ``with ema.average_parameters(model):``
    to evaluate with them temporarily.
    """

    decay: float
    warmup: bool
    num_updates: int
    model: Any  # a fg.nn.Module

    def __init__(self, model: Any, decay: float = 0.999, warmup: bool = False) -> None:
        _require_module(model, "EMA")
        if isinstance(decay, bool) or not isinstance(decay, numbers.Real):
            raise TypeError(f"EMA: decay must be a real number, got {type(decay).__name__}")
        if not 0.0 <= decay <= 1.0:
            raise ValueError(f"EMA: decay must be in [0, 1], got {decay}")
        self.decay = float(decay)
        self.warmup = bool(warmup)
        self.num_updates = 0
        self.model = model
        self.shadow: dict[str, np.ndarray] = {
            k: np.array(np.asarray(v), copy=True) for k, v in model.state_dict().items()
        }

    def _live(self, model: Any = None) -> dict[str, Tensor]:
        m = self.model if model is None else model
        _require_module(m, "EMA")
        return m.state_dict()

    def current_decay(self) -> float:
        """The decay the next ``update()`` uses (the warmup ramp, when on)."""
        if self.warmup:
            return min(self.decay, (1.0 + self.num_updates) / (10.0 + self.num_updates))
        return self.decay

    def update(self, model: Any = None) -> None:
        """shadow ← d·shadow + (1 − d)·θ for every entry of the model's state_dict (each
        shadow array has its entry's shape; integer buffers are copied)."""
        d = self.current_decay()
        self.num_updates += 1
        for k, v in self._live(model).items():
            s = self.shadow[k]
            a = np.asarray(v)
            if np.issubdtype(s.dtype, np.floating):
                s *= d
                s += (1.0 - d) * a
            else:
                s[...] = a

    def copy_to(self, model: Any = None) -> None:
        """Loads the averages into ``model`` (default: the tracked one)."""
        (model or self.model).load_state_dict(self.shadow)

    @contextlib.contextmanager
    def average_parameters(self, model: Any = None) -> Iterator[None]:
        """Context manager: the model holds the averages inside, its own weights after."""
        m = model or self.model
        backup = {k: np.array(np.asarray(v), copy=True) for k, v in m.state_dict().items()}
        m.load_state_dict(self.shadow)
        try:
            yield
        finally:
            m.load_state_dict(backup)

    def state_dict(self) -> dict[str, Any]:
        """decay, warmup, num_updates and the shadow arrays (NumPy copies)."""
        return {
            "decay": self.decay,
            "warmup": self.warmup,
            "num_updates": self.num_updates,
            "shadow": {k: v.copy() for k, v in self.shadow.items()},
        }

    def load_state_dict(self, sd: dict[str, Any]) -> None:
        """Restores what ``state_dict()`` returned; each shadow entry must keep its shape."""
        self.decay = float(sd["decay"])
        self.warmup = bool(sd.get("warmup", False))
        self.num_updates = int(sd["num_updates"])
        for k, v in sd["shadow"].items():
            if k not in self.shadow:
                raise KeyError(f"EMA.load_state_dict: unexpected key {k!r}")
            a = np.asarray(v.detach() if isinstance(v, Tensor) else v)
            if a.shape != self.shadow[k].shape:
                raise ValueError(
                    f"EMA.load_state_dict: shape mismatch for {k!r}: {a.shape} vs {self.shadow[k].shape}"
                )
            self.shadow[k][...] = a
