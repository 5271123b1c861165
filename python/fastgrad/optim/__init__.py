"""fastgrad.optim — optimizers with torch.optim's semantics; each parameter group is
updated by one fused C++ call. Also gradient clipping, LR schedules and EMA."""

from __future__ import annotations

from . import lr_scheduler
from .adam import Adam, AdamW
from .adaptive import ASGD, Adadelta, Adagrad, Adamax, NAdam, RAdam
from .clip import clip_grad_norm_, clip_grad_value_
from .ema import EMA
from .lbfgs import LBFGS
from .optimizer import Optimizer, param_groups
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = [
    "Optimizer",
    "SGD",
    "Adam",
    "AdamW",
    "RMSprop",
    "Adadelta",
    "Adagrad",
    "Adamax",
    "NAdam",
    "RAdam",
    "ASGD",
    "LBFGS",
    "clip_grad_norm_",
    "clip_grad_value_",
    "lr_scheduler",
    "EMA",
    "param_groups",
]
