"""Adadelta, Adagrad, Adamax, NAdam, RAdam and ASGD with torch.optim's semantics.

Each update is written as torch.optim's single-tensor (``foreach=False``, the CPU default)
code, operation by operation, with fastgrad tensor ops under ``no_grad``: the state
buffers are updated in place (``copy_``) and the parameter with one in-place op, which
bumps its version (a node that saved the old value refuses to run backward). Scalar state
that torch keeps in 0-d float32 tensors (NAdam's ``mu_product``, ASGD's ``eta`` and
``mu``) is rounded to float32 here too, so trajectories agree to rounding.

Papers: Adadelta (Zeiler 2012, arXiv:1212.5701), Adagrad (Duchi, Hazan & Singer 2011,
JMLR 12), Adamax (Kingma & Ba 2015, arXiv:1412.6980 section 7), NAdam (Dozat 2016,
"Incorporating Nesterov Momentum into Adam"), RAdam (Liu et al. 2020, arXiv:1908.03265),
ASGD (Polyak & Juditsky 1992, SIAM J. Control Optim. 30(4)).
"""

from __future__ import annotations

import math
from typing import Any, Optional

import numpy as np

from .. import ops
from .._tensor import full_like
from ..autograd import no_grad
from ..ops import Tensor
from .optimizer import Optimizer, _zeros_like


def _f32(x: float) -> float:
    """x rounded to float32, as a 0-d float32 torch tensor holds it."""
    return float(np.float32(x))


def _check_range(
    op: str, what: str, v: float, lo: float, hi: float = math.inf, hi_open: bool = False
) -> None:
    ok = lo <= v < hi if hi_open else lo <= v <= hi
    if not ok:
        raise ValueError(f"{op}: invalid {what} value: {v}")


class _Elementwise(Optimizer):
    """Shared step of the optimizers in this module: per parameter with a gradient, the
    gradient (negated with ``maximize``), the state dict (created by ``_init_state`` on
    the first step) and the group go to ``_update``, under ``no_grad``."""

    def _validate(self, group: dict[str, Any]) -> None:
        """ValueError naming the optimizer for a value torch.optim rejects."""

    def _check_group(self, group: dict[str, Any]) -> None:
        super()._check_group(group)
        op = type(self).__name__
        for k in ("lr", "eps", "weight_decay"):
            if k in group and float(group[k]) < 0:
                raise ValueError(f"{op}: invalid {k} value: {group[k]} (must be >= 0)")
        if "betas" in group:
            for i, b in enumerate(group["betas"]):
                _check_range(op, f"betas[{i}]", float(b), 0.0, 1.0, hi_open=True)
        self._validate(group)

    def _init_state(self, p: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def _update(self, p: Tensor, g: Tensor, s: dict[str, Any], group: dict[str, Any]) -> None:
        raise NotImplementedError

    def _step_group(self, group: dict[str, Any]) -> None:
        st = self.state._d
        with no_grad():
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                g = g.detach()
                if group.get("maximize", False):
                    g = -g
                s = st.get(id(p))
                if not s:
                    s = st[id(p)] = self._init_state(p, group)
                s["step"] += 1
                self._update(p, g, s, group)


def _no_ops(foreach: Any, capturable: Any, differentiable: Any) -> dict[str, Any]:
    """torch's implementation-choice keywords, kept in the groups as torch keeps them
    (state_dict structure); fastgrad has one CPU implementation, so they change nothing."""
    return dict(foreach=foreach, capturable=bool(capturable), differentiable=bool(differentiable))


class Adadelta(_Elementwise):
    """v ← ρv + (1−ρ)g²; Δ = √(u + ε)/√(v + ε)·g; u ← ρu + (1−ρ)Δ²; θ ← θ − ηΔ
    (g includes weight_decay·θ). torch.optim.Adadelta's arguments.

    ``params``: leaf float Tensors of any shapes (or parameter groups); the state buffers
    ``square_avg`` and ``acc_delta`` have their parameter's shape.
    """

    _numeric = ("lr", "rho", "eps", "weight_decay")
    _flags = ("maximize",)

    def __init__(
        self,
        params: Any,
        lr: float = 1.0,
        rho: float = 0.9,
        eps: float = 1e-6,
        weight_decay: float = 0.0,
        foreach: Optional[bool] = None,
        *,
        capturable: bool = False,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        d = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, {**d, **_no_ops(foreach, capturable, differentiable)})

    def _validate(self, group: dict[str, Any]) -> None:
        _check_range(type(self).__name__, "rho", float(group["rho"]), 0.0, 1.0)

    def _init_state(self, p: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        return {"step": 0, "square_avg": _zeros_like(p), "acc_delta": _zeros_like(p)}

    def _update(self, p: Tensor, g: Tensor, s: dict[str, Any], group: dict[str, Any]) -> None:
        rho, eps, wd = float(group["rho"]), float(group["eps"]), float(group["weight_decay"])
        if wd != 0:
            g = g + p * wd
        sq, acc = s["square_avg"], s["acc_delta"]
        sq.copy_(sq * rho + g * g * (1 - rho))
        std = ops.sqrt(sq + eps)
        delta = ops.sqrt(acc + eps) / std * g
        acc.copy_(acc * rho + delta * delta * (1 - rho))
        p.add_(delta * -float(group["lr"]))


class Adagrad(_Elementwise):
    """s ← s + g²; θ ← θ − η_t g/(√s + ε) with η_t = η/(1 + (t−1)·lr_decay) (g includes
    weight_decay·θ; s starts at initial_accumulator_value). torch.optim.Adagrad's arguments.

    ``params``: leaf float Tensors of any shapes (or parameter groups); the state buffer
    ``sum`` has its parameter's shape.
    """

    _numeric = ("lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps")
    _flags = ("maximize",)

    def __init__(
        self,
        params: Any,
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
        foreach: Optional[bool] = None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        fused: Optional[bool] = None,
    ) -> None:
        d = dict(
            lr=lr,
            lr_decay=lr_decay,
            weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value,
            eps=eps,
            maximize=maximize,
            foreach=foreach,
            differentiable=bool(differentiable),
            fused=fused,
        )
        super().__init__(params, d)
        # torch creates the state at construction (step 0, sum = initial value).
        for g in self.param_groups:
            for p in g["params"]:
                self.state._d[id(p)] = self._init_state(p, g)

    def _validate(self, group: dict[str, Any]) -> None:
        op = type(self).__name__
        for k in ("lr_decay", "initial_accumulator_value"):
            if float(group[k]) < 0:
                raise ValueError(f"{op}: invalid {k} value: {group[k]} (must be >= 0)")

    def _init_state(self, p: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        return {"step": 0, "sum": full_like(p, float(group["initial_accumulator_value"]))}

    def _update(self, p: Tensor, g: Tensor, s: dict[str, Any], group: dict[str, Any]) -> None:
        wd, eps = float(group["weight_decay"]), float(group["eps"])
        if wd != 0:
            g = g + p * wd
        clr = float(group["lr"]) / (1 + (s["step"] - 1) * float(group["lr_decay"]))
        sm = s["sum"]
        sm.copy_(sm + g * g)
        std = ops.sqrt(sm) + eps
        p.add_(g * -clr / std)


class Adamax(_Elementwise):
    """m ← β₁m + (1−β₁)g; u ← max(β₂u, |g| + ε); θ ← θ − η/(1 − β₁ᵗ)·m/u (g includes
    weight_decay·θ). torch.optim.Adamax's arguments.

    ``params``: leaf float Tensors of any shapes (or parameter groups); the state buffers
    ``exp_avg`` and ``exp_inf`` have their parameter's shape.
    """

    _numeric = ("lr", "betas", "eps", "weight_decay")
    _flags = ("maximize",)

    def __init__(
        self,
        params: Any,
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        foreach: Optional[bool] = None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        capturable: bool = False,
    ) -> None:
        d = dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, {**d, **_no_ops(foreach, capturable, differentiable)})

    def _init_state(self, p: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        return {"step": 0, "exp_avg": _zeros_like(p), "exp_inf": _zeros_like(p)}

    def _update(self, p: Tensor, g: Tensor, s: dict[str, Any], group: dict[str, Any]) -> None:
        b1, b2 = (float(b) for b in group["betas"])
        wd, eps = float(group["weight_decay"]), float(group["eps"])
        if wd != 0:
            g = g + p * wd
        m, u = s["exp_avg"], s["exp_inf"]
        m.copy_(m + (g - m) * (1 - b1))  # lerp(m, g, 1 - beta1)
        u.copy_(ops.maximum(u * b2, ops.abs(g) + eps))
        clr = float(group["lr"]) / (1 - b1 ** s["step"])
        p.add_(m * -clr / u)


class NAdam(_Elementwise):
    """Adam with Nesterov momentum (Dozat 2016) and torch's momentum schedule
    μ_t = β₁(1 − 0.5·0.96^(t·momentum_decay)): θ ← θ − η(1−μ_t)/(1−Πμ)·g/d
    − ημ_{t+1}/(1−Πμ·μ_{t+1})·m/d with d = √(v/(1−β₂ᵗ)) + ε; weight_decay is L2, or
    θ ← θ(1 − ηλ) with ``decoupled_weight_decay`` (NAdamW). torch.optim.NAdam's arguments.

    ``params``: leaf float Tensors of any shapes (or parameter groups); ``exp_avg`` and
    ``exp_avg_sq`` have their parameter's shape, ``mu_product`` is a float.
    """

    _numeric = ("lr", "betas", "eps", "weight_decay", "momentum_decay")
    _flags = ("maximize", "decoupled_weight_decay")

    def __init__(
        self,
        params: Any,
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum_decay: float = 4e-3,
        decoupled_weight_decay: bool = False,
        *,
        foreach: Optional[bool] = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
    ) -> None:
        d = dict(
            lr=lr,
            betas=tuple(betas),
            eps=eps,
            weight_decay=weight_decay,
            momentum_decay=momentum_decay,
            decoupled_weight_decay=bool(decoupled_weight_decay),
            maximize=maximize,
        )
        super().__init__(params, {**d, **_no_ops(foreach, capturable, differentiable)})

    def _validate(self, group: dict[str, Any]) -> None:
        if float(group["momentum_decay"]) < 0:
            raise ValueError(f"NAdam: invalid momentum_decay value: {group['momentum_decay']}")

    def _init_state(self, p: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        return {"step": 0, "mu_product": 1.0, "exp_avg": _zeros_like(p), "exp_avg_sq": _zeros_like(p)}

    def _update(self, p: Tensor, g: Tensor, s: dict[str, Any], group: dict[str, Any]) -> None:
        b1, b2 = (float(b) for b in group["betas"])
        lr, wd, eps = float(group["lr"]), float(group["weight_decay"]), float(group["eps"])
        md, step = float(group["momentum_decay"]), s["step"]
        bc2 = 1 - b2**step
        if wd != 0:
            if group["decoupled_weight_decay"]:
                p.mul_(1 - lr * wd)
            else:
                g = g + p * wd
        mu = b1 * (1.0 - 0.5 * (0.96 ** (step * md)))
        mu_next = b1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * md)))
        # torch keeps mu_product in a 0-d float32 tensor: `mu_product *= mu` rounds there.
        s["mu_product"] = mp = float(np.float32(s["mu_product"]) * np.float32(mu))
        m, v = s["exp_avg"], s["exp_avg_sq"]
        m.copy_(m + (g - m) * (1 - b1))
        v.copy_(v * b2 + g * g * (1 - b2))
        denom = ops.sqrt(v / full_like(v, bc2)) + eps
        mp_next = mp * mu_next
        p.add_(g * (-lr * (1.0 - mu) / (1.0 - mp)) / denom)
        p.add_(m * ((-lr * mu_next) / (1.0 - mp_next)) / denom)


class RAdam(_Elementwise):
    """Rectified Adam (Liu et al. 2020): with ρ_∞ = 2/(1−β₂) − 1 and
    ρ_t = ρ_∞ − 2tβ₂ᵗ/(1−β₂ᵗ), θ ← θ − η·m̂·r_t·√(1−β₂ᵗ)/(√v + ε) when ρ_t > 5, else
    θ ← θ − η·m̂ (m̂ = m/(1−β₁ᵗ)); weight_decay is L2 or decoupled
    (``decoupled_weight_decay``). torch.optim.RAdam's arguments.

    ``params``: leaf float Tensors of any shapes (or parameter groups); ``exp_avg`` and
    ``exp_avg_sq`` have their parameter's shape.
    """

    _numeric = ("lr", "betas", "eps", "weight_decay")
    _flags = ("maximize", "decoupled_weight_decay")

    def __init__(
        self,
        params: Any,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        decoupled_weight_decay: bool = False,
        *,
        foreach: Optional[bool] = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
    ) -> None:
        d = dict(
            lr=lr,
            betas=tuple(betas),
            eps=eps,
            weight_decay=weight_decay,
            maximize=maximize,
            decoupled_weight_decay=bool(decoupled_weight_decay),
        )
        super().__init__(params, {**d, **_no_ops(foreach, capturable, differentiable)})

    def _init_state(self, p: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        return {"step": 0, "exp_avg": _zeros_like(p), "exp_avg_sq": _zeros_like(p)}

    def _update(self, p: Tensor, g: Tensor, s: dict[str, Any], group: dict[str, Any]) -> None:
        b1, b2 = (float(b) for b in group["betas"])
        lr, wd, eps, step = float(group["lr"]), float(group["weight_decay"]), float(group["eps"]), s["step"]
        if wd != 0:
            if group["decoupled_weight_decay"]:
                p.mul_(1 - lr * wd)
            else:
                g = g + p * wd
        m, v = s["exp_avg"], s["exp_avg_sq"]
        m.copy_(m + (g - m) * (1 - b1))
        v.copy_(v * b2 + g * g * (1 - b2))
        bc1, bc2 = 1 - b1**step, 1 - b2**step
        mhat = m / full_like(m, bc1)
        rho_inf = 2 / (1 - b2) - 1
        rho_t = rho_inf - 2 * step * (b2**step) / bc2
        if rho_t > 5.0:
            rect = ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
            adaptive = full_like(v, bc2**0.5) / (ops.sqrt(v) + eps)
            p.sub_(mhat * lr * adaptive * rect)
        else:
            p.sub_(mhat * lr)


class ASGD(_Elementwise):
    """Averaged SGD (Polyak & Juditsky 1992): θ ← θ(1 − λη_t) − η_t g; the average
    ax ← ax + μ_t(θ − ax); η_t = lr/(1 + λ·lr·t)^α, μ_t = 1/max(1, t − t0) (g includes
    weight_decay·θ). torch.optim.ASGD's arguments.

    ``params``: leaf float Tensors of any shapes (or parameter groups); ``ax`` has its
    parameter's shape, ``eta`` and ``mu`` are floats.
    """

    _numeric = ("lr", "lambd", "alpha", "t0", "weight_decay")
    _flags = ("maximize",)

    def __init__(
        self,
        params: Any,
        lr: float = 1e-2,
        lambd: float = 1e-4,
        alpha: float = 0.75,
        t0: float = 1e6,
        weight_decay: float = 0.0,
        foreach: Optional[bool] = None,
        maximize: bool = False,
        differentiable: bool = False,
        capturable: bool = False,
    ) -> None:
        d = dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, {**d, **_no_ops(foreach, capturable, differentiable)})

    def _init_state(self, p: Tensor, group: dict[str, Any]) -> dict[str, Any]:
        # torch: 0-d float32 tensors eta = lr, mu = 1
        return {"step": 0, "eta": _f32(float(group["lr"])), "mu": 1.0, "ax": _zeros_like(p)}

    def _update(self, p: Tensor, g: Tensor, s: dict[str, Any], group: dict[str, Any]) -> None:
        lr, lambd, alpha = float(group["lr"]), float(group["lambd"]), float(group["alpha"])
        wd, t0, step = float(group["weight_decay"]), float(group["t0"]), s["step"]
        if wd != 0:
            g = g + p * wd
        eta = float(s["eta"])
        p.mul_(1 - lambd * eta)
        p.add_(g * -eta)
        ax = s["ax"]
        if float(s["mu"]) != 1:
            ax.copy_(ax + (p - ax) * float(s["mu"]))
        else:
            ax.copy_(p)
        s["eta"] = _f32(lr / ((1 + lambd * lr * step) ** alpha))
        s["mu"] = _f32(1 / max(1, step - t0))


__all__ = ["Adadelta", "Adagrad", "Adamax", "NAdam", "RAdam", "ASGD"]
