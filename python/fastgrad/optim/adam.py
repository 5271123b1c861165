"""Adam (optionally AMSGrad, L2 weight decay) and AdamW (decoupled weight decay),
torch.optim semantics; one fused C++ call per parameter group."""

from __future__ import annotations

from typing import Any, Optional

from .. import ops
from ..ops import Tensor
from .optimizer import Optimizer, _zeros_like


class Adam(Optimizer):
    """m ← β₁ m + (1 − β₁) g; v ← β₂ v + (1 − β₂) g²; θ ← θ − η m̂ / (√v̂ + ε) with the bias
    corrections m̂ = m / (1 − β₁ᵗ), v̂ = v / (1 − β₂ᵗ) (AMSGrad: v̂ from the running max of
    v); weight_decay adds λθ to g (L2). AdamW decouples it: θ ← θ(1 − ηλ) first.

    ``params``: leaf float Tensors of any shapes (or parameter groups); every state buffer
    has its parameter's shape. One fused ``ops.adam_step`` per group.
    """

    _numeric = ("lr", "betas", "eps", "weight_decay")
    _flags = ("amsgrad", "maximize")
    _option_type = ops.AdamOptions
    _decoupled = False

    def __init__(
        self,
        params: Any,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        *,
        foreach: Optional[bool] = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
        fused: Optional[bool] = None,
        decoupled_weight_decay: bool = False,
    ) -> None:
        if isinstance(betas, list):
            betas = tuple(betas)  # stored as torch does (state_dict, repr)
        hyper = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)
        # foreach/capturable/differentiable/fused choose among torch's implementations;
        # fastgrad has one (fused C++): kept in the groups (state_dict structure), unused.
        extra = dict(foreach=foreach, capturable=bool(capturable), differentiable=bool(differentiable))
        flags = dict(amsgrad=amsgrad, maximize=maximize, fused=fused)
        dec = bool(decoupled_weight_decay) or self._decoupled
        super().__init__(params, dict(hyper, **flags, **extra, decoupled_weight_decay=dec))

    def _options(self, group: dict[str, Any], **extra: Any) -> Any:
        b1, b2 = group["betas"]
        dec = bool(group.get("decoupled_weight_decay", self._decoupled))
        return super()._options(group, beta1=float(b1), beta2=float(b2), decoupled=dec, **extra)

    def _step_group(self, group: dict[str, Any]) -> None:
        ps = group["params"]
        grads = [p.grad for p in ps]
        opts = self._options(group)
        ams = bool(group["amsgrad"])
        cache = group.get("_fused")
        # Fast path (every step of a normal training loop): all parameters have gradients,
        # share one dtype and one step count, and their state lists are cached.
        if (
            cache is not None
            and cache[0] == len(ps)
            and cache[5] == ams
            and not any(g is None for g in grads)
        ):
            _, m1, m2, vm, states, _ = cache
            step = states[0]["step"] + 1
            try:
                ops.adam_step(ps, grads, m1, m2, vm, opts, step)
            except ValueError:  # e.g. a non-contiguous gradient: validated before any update
                pass
            else:
                for s in states:
                    s["step"] = step
                return
        group.pop("_fused", None)
        ps, gs = self._with_grads(group)
        if not ps:
            return
        m1, m2, vm, steps, states = self._state_lists(ps, ams)
        uniform = all(s == steps[0] for s in steps) and all(p.dtype == ps[0].dtype for p in ps)
        if uniform:
            ops.adam_step(ps, gs, m1, m2, vm, opts, steps[0])
            if len(ps) == len(group["params"]) and all(g.is_contiguous() for g in grads if g is not None):
                group["_fused"] = (len(ps), m1, m2, vm, states, ams)
            return
        for (_dt, stp), idx in self._buckets(list(range(len(ps))), lambda i: (ps[i].dtype, steps[i])).items():
            ops.adam_step(
                [ps[i] for i in idx],
                [gs[i] for i in idx],
                [m1[i] for i in idx],
                [m2[i] for i in idx],
                [vm[i] for i in idx] if ams else [],
                opts,
                stp,
            )

    def _state_lists(
        self, ps: list[Tensor], ams: bool
    ) -> tuple[list[Tensor], list[Tensor], list[Tensor], list[int], list[dict[str, Any]]]:
        """Each parameter's state (created on its first step), its step count advanced:
        exp_avgs, exp_avg_sqs, max_exp_avg_sqs (amsgrad), steps, state dicts."""
        st = self.state._d
        m1, m2, vm, steps, states = [], [], [], [], []
        for p in ps:
            s = st.get(id(p))
            if not s:
                s = st[id(p)] = {"step": 0, "exp_avg": _zeros_like(p), "exp_avg_sq": _zeros_like(p)}
            if ams and s.get("max_exp_avg_sq") is None:
                s["max_exp_avg_sq"] = _zeros_like(p)
            s["step"] += 1
            states.append(s)
            m1.append(s["exp_avg"])
            m2.append(s["exp_avg_sq"])
            if ams:
                vm.append(s["max_exp_avg_sq"])
            steps.append(s["step"])
        return m1, m2, vm, steps, states

    def _invalidate(self) -> None:
        for g in self.param_groups:
            g.pop("_fused", None)


class AdamW(Adam):
    """Adam with decoupled weight decay: θ ← θ(1 − ηλ) before the Adam step
    (torch.optim.AdamW); the same arguments as Adam, weight_decay defaulting to 1e-2."""

    _decoupled = True

    def __init__(
        self,
        params: Any,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        foreach: Optional[bool] = None,
        capturable: bool = False,
        differentiable: bool = False,
        fused: Optional[bool] = None,
    ) -> None:
        super().__init__(
            params,
            lr,
            betas,
            eps,
            weight_decay,
            amsgrad,
            foreach=foreach,
            maximize=maximize,
            capturable=capturable,
            differentiable=differentiable,
            fused=fused,
            decoupled_weight_decay=True,
        )
