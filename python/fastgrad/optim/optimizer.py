"""Optimizer base class: parameter groups, per-parameter state, state_dict (torch.optim's
format), and bucketing so that one group's update is one fused C++ call.

Hyperparameter values are validated once, by the C++ optimizer op family
(cpp/src/ops/optim.cpp, ``ops.SgdOptions(...).validate(name)``); what stays here are the
checks of Python values (a TypeError naming the optimizer and the argument) that must
run before those values can be handed to C++."""

from __future__ import annotations

import numbers
from collections.abc import Iterable
from typing import Any, Callable, Optional

import numpy as np

from .._tensor import tensor as _tensor
from .._tensor import zeros_like
from ..ops import Tensor

# What `_options` returns: the C++ options struct of the subclass's step op.
Options = Any


class _Required:
    """The default of a hyperparameter every parameter group must give (torch.optim's)."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _Required()


class _StateView:
    """``opt.state[p]`` -> that parameter's state dict (keyed by identity internally,
    since fg tensors compare elementwise)."""

    def __init__(self) -> None:
        self._d: dict[int, dict[str, Any]] = {}

    def __getitem__(self, p: Tensor) -> dict[str, Any]:
        return self._d.setdefault(id(p), {})

    def __contains__(self, p: Tensor) -> bool:
        return id(p) in self._d and bool(self._d[id(p)])

    def get(self, p: Tensor, default: Any = None) -> Any:
        """p's state dict, or ``default`` when it has none."""
        return self._d.get(id(p), default)

    def __len__(self) -> int:
        return sum(1 for v in self._d.values() if v)

    def clear(self) -> None:
        """Forgets every parameter's state."""
        self._d.clear()


def _is_real(v: Any) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def _check_hyper(op: str, tuples: Iterable[str] = ("betas",), **values: Any) -> None:
    """Numeric hyperparameters must be real numbers (those named in `tuples` a pair of
    them): a TypeError naming the optimizer, not a comparison error from inside its checks
    or pybind11's "incompatible function arguments" from the options struct."""
    for k, v in values.items():
        if k in tuples:
            if not isinstance(v, (tuple, list)) or not v or not all(_is_real(x) for x in v):
                raise TypeError(f"{op}: {k} must be a tuple of real numbers, got {v!r}"[:200])
            if len(v) != 2:
                raise ValueError(f"{op}: {k} must be a pair, got {v!r}"[:200])
        elif not _is_real(v):
            raise TypeError(f"{op}: {k} must be a real number, got {type(v).__name__}")


class Optimizer:
    """Base of the optimizers (torch.optim.Optimizer's interface).

    ``params``: an iterable of leaf float Tensors (any shapes), of ``(name, Tensor)`` pairs,
    or of dicts (parameter groups: ``{"params": [...], "lr": ...}``) whose entries override
    ``defaults``. Subclasses name their hyperparameters (``_numeric``, pairs among them in
    ``_tuples``, ``_flags``) and their C++ options struct (``_option_type``), and update one
    group in ``_step_group``.
    """

    _numeric: tuple[str, ...] = ()
    _tuples: tuple[str, ...] = ("betas",)
    _flags: tuple[str, ...] = ()  # the boolean hyperparameters
    # ops.SgdOptions, ...; None in a user's subclass (then only the Python type checks run).
    _option_type: Optional[Callable[..., Options]] = None

    def __init__(self, params: Any, defaults: dict[str, Any]) -> None:
        if not any(v is required for v in defaults.values()):
            self._check_group(defaults)
        self.defaults = defaults
        self.state = _StateView()
        self.param_groups: list[dict[str, Any]] = []
        if isinstance(params, Tensor):
            raise TypeError("params must be an iterable of Tensors or of dicts, got a single Tensor")
        try:
            groups = list(params)
        except TypeError:
            raise TypeError(
                f"{type(self).__name__}: params must be an iterable of Tensors or of dicts, "
                f"got {type(params).__name__}"
            ) from None
        if not groups:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for g in groups:
            self.add_param_group(g)

    def _check_group(self, group: dict[str, Any]) -> None:
        """Python types first (TypeError naming optimizer and argument), then the values
        through the C++ op's own check (ValueError naming the optimizer and argument)."""
        op = type(self).__name__
        _check_hyper(op, self._tuples, **{k: group[k] for k in self._numeric if k in group})
        if self._option_type is not None:
            self._options(group).validate(op)

    def _options(self, group: dict[str, Any], **extra: Any) -> Options:
        """The C++ options struct (``ops.SgdOptions`` ...) of a group's hyperparameters:
        the numeric ones as floats, the flags as bools, plus ``extra``."""
        kw: dict[str, Any] = {k: float(group[k]) for k in self._numeric if k not in self._tuples}
        kw.update({k: bool(group[k]) for k in self._flags}, **extra)
        if self._option_type is None:
            raise NotImplementedError(f"{type(self).__name__}: no C++ options type")
        return self._option_type(**kw)

    def add_param_group(self, group: dict[str, Any]) -> None:
        """Adds a parameter group: ``group["params"]`` (leaf float Tensors of any shapes)
        with optional hyperparameters overriding the defaults (validated like the
        constructor's)."""
        op = type(self).__name__
        if not isinstance(group, dict) or "params" not in group:
            raise TypeError(
                f"{op}: a parameter group must be a dict with a 'params' entry, got {type(group).__name__}"
            )
        group = dict(group)
        ps = group["params"]
        try:
            ps = [ps] if isinstance(ps, Tensor) else list(ps)
        except TypeError:
            raise TypeError(
                f"{op}: a group's params must be a Tensor or an iterable of Tensors, got {type(ps).__name__}"
            ) from None
        if ps and isinstance(ps[0], tuple):  # named parameters
            ps = [p for _, p in ps]
        for p in ps:
            if not isinstance(p, Tensor):
                raise TypeError(
                    f"{type(self).__name__}: can only optimize fg Tensors, got {type(p).__name__}"
                )
            if not p.dtype.is_floating_point:
                raise TypeError(f"{type(self).__name__}: parameters must be floating point, got {p.dtype}")
            if not p.is_leaf:
                raise ValueError(f"{type(self).__name__}: can't optimize a non-leaf Tensor")
        group["params"] = ps
        for k, v in self.defaults.items():
            if v is required and k not in group:
                raise ValueError(
                    f"parameter group didn't specify a value of required optimization parameter {k}"
                )
            group.setdefault(k, v)
        # A group's own hyperparameters are checked like the constructor's (a string lr
        # would otherwise fail inside step()).
        self._check_group(group)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in ps) or len({id(p) for p in ps}) != len(ps):
            raise ValueError("some parameters appear in more than one parameter group (or twice in one)")
        self.param_groups.append(group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clears every parameter's ``.grad`` (None, or zeros of its shape in place)."""
        for g in self.param_groups:
            if set_to_none:
                for p in g["params"]:
                    p.grad = None
            else:
                for p in g["params"]:
                    if p.grad is not None:
                        p.grad.zero_()

    def step(self, closure: Optional[Callable[[], Any]] = None) -> Any:
        """One update of every group from the parameters' ``.grad`` (parameters without a
        gradient are skipped); ``closure`` re-evaluates the loss with grad enabled and its
        value is returned."""
        loss = None
        if closure is not None:
            from ..autograd import enable_grad

            with enable_grad():
                loss = closure()
        for g in self.param_groups:
            self._step_group(g)
        return loss

    def _step_group(self, group: dict[str, Any]) -> None:
        raise NotImplementedError

    # ------------------------------------------------------------------ helpers for subclasses
    @staticmethod
    def _with_grads(group: dict[str, Any]) -> tuple[list[Tensor], list[Tensor]]:
        ps, gs = [], []
        for p in group["params"]:
            g = p.grad
            if g is not None:
                if not g.is_contiguous():
                    g = g.contiguous()
                ps.append(p)
                gs.append(g)
        return ps, gs

    @staticmethod
    def _buckets(ps: list[Any], key: Callable[[Tensor], Any]) -> dict[Any, list[int]]:
        """Indices grouped by key (dtype, step, ...); normally a single bucket."""
        out: dict[Any, list[int]] = {}
        for i, p in enumerate(ps):
            out.setdefault(key(p), []).append(i)
        return out

    # ------------------------------------------------------------------ state dict (torch.optim format)
    def state_dict(self) -> dict[str, Any]:
        """torch.optim's format: ``{"state": {index: {name: Tensor shaped like its
        parameter, "step": int}}, "param_groups": [{hyperparameters, "params": [index]}]}``."""
        index: dict[int, int] = {}
        groups = []
        for g in self.param_groups:
            ids = []
            for p in g["params"]:
                index.setdefault(id(p), len(index))
                ids.append(index[id(p)])
            groups.append(
                {**{k: v for k, v in g.items() if k != "params" and not k.startswith("_")}, "params": ids}
            )
        state = {}
        for g in self.param_groups:
            for p in g["params"]:
                s = self.state.get(p)
                if s:
                    state[index[id(p)]] = dict(s)
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Loads what ``state_dict()`` returned (or torch's): groups and parameter counts
        must match; each state tensor must have its parameter's shape."""
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups):
            raise ValueError(
                f"loaded state dict has {len(groups)} parameter groups, optimizer has "
                f"{len(self.param_groups)}"
            )
        for i, (mine, theirs) in enumerate(zip(self.param_groups, groups)):
            if len(mine["params"]) != len(theirs["params"]):
                raise ValueError(
                    f"loaded state dict: group {i} has {len(theirs['params'])} parameters, "
                    f"optimizer group has {len(mine['params'])}"
                )
        saved = {int(k): v for k, v in state_dict["state"].items()}
        self.state.clear()
        for mine, theirs in zip(self.param_groups, groups):
            for k, v in theirs.items():
                if k != "params" and not k.startswith("_"):
                    mine[k] = tuple(v) if k == "betas" else v
            for p, idx in zip(mine["params"], theirs["params"]):
                s = saved.get(int(idx))
                if not s:
                    continue
                self.state[p].update({k: self._load_state_value(k, v, p) for k, v in s.items()})
        self._invalidate()

    def _load_state_value(self, k: str, v: Any, p: Tensor) -> Any:
        """One loaded state entry for parameter p: "step" as an int, a 0-d tensor (torch's
        scalar state: NAdam's mu_product, ASGD's eta) as a float, any other array as a
        Tensor of p's shape and dtype (ValueError for another shape)."""
        if k == "step":
            return int(np.asarray(v.detach() if isinstance(v, Tensor) else v).item())
        if isinstance(v, Tensor) or isinstance(v, np.ndarray) or hasattr(v, "__array__"):
            a = np.asarray(v.detach() if isinstance(v, Tensor) else v)
            if a.shape == () and tuple(p.shape) != ():
                return float(a)
            if a.shape != tuple(p.shape):
                raise ValueError(
                    f"loaded optimizer state '{k}' has shape {a.shape}, parameter has shape {p.shape}"
                )
            return _tensor(np.require(a, requirements="C"), dtype=p.dtype)
        return v

    def _invalidate(self) -> None:
        pass

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, g in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for k in sorted(g):
                if k != "params":
                    lines.append(f"    {k}: {g[k]}")
        lines.append(")")
        return "\n".join(lines)


def _zeros_like(p: Tensor) -> Tensor:
    """A state buffer: zeros of p's shape and dtype, contiguous."""
    return zeros_like(p)


def param_groups(
    model: Any, weight_decay: float, no_decay: Iterable[str] = ("bias",), **extra: Any
) -> list[dict[str, Any]]:
    """Two parameter groups: weights with ``weight_decay``, and biases plus every
    parameter of a normalisation layer (BatchNorm/LayerNorm) or embedding-free 1-D
    parameter with weight_decay 0 (cheat sheet: "no decay on biases and norm params").

    ``fg.optim.AdamW(fg.optim.param_groups(model, 1e-4), lr=1e-3)``.
    """
    from ..nn.norm import LayerNorm, _BatchNorm

    decay, nodecay = [], []
    seen = set()
    for _mname, m in model.named_modules():
        is_norm = isinstance(m, (LayerNorm, _BatchNorm))
        for pname, p in m._parameters.items():
            if p is None or id(p) in seen or not p.requires_grad:
                continue
            seen.add(id(p))
            if is_norm or p.ndim <= 1 or any(pname.endswith(s) for s in no_decay):
                nodecay.append(p)
            else:
                decay.append(p)
    groups = []
    if decay:
        groups.append({"params": decay, "weight_decay": float(weight_decay), **extra})
    if nodecay:
        groups.append({"params": nodecay, "weight_decay": 0.0, **extra})
    return groups
