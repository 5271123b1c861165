"""Adam (optionally AMSGrad, L2 weight decay) and AdamW (decoupled weight decay),
torch.optim semantics; one fused C++ call per parameter group."""

from __future__ import annotations

from typing import Any

from .. import _C
from .optimizer import Optimizer, _check_hyper, _zeros_like


class Adam(Optimizer):
    _decoupled = False

    def __init__(
        self,
        params: Any,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        maximize: bool = False,
    ) -> None:
        _check_hyper(type(self).__name__, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)
        if len(betas) != 2:
            raise ValueError(f"{type(self).__name__}: betas must be a pair, got {betas!r}")
        if lr < 0 or eps < 0 or weight_decay < 0:
            raise ValueError(
                f"{type(self).__name__}: invalid lr={lr}, eps={eps} or weight_decay={weight_decay}"
            )
        if not (0.0 <= betas[0] < 1.0 and 0.0 <= betas[1] < 1.0):
            raise ValueError(f"{type(self).__name__}: betas must be in [0, 1), got {betas}")
        super().__init__(
            params,
            dict(
                lr=lr,
                betas=tuple(betas),
                eps=eps,
                weight_decay=weight_decay,
                amsgrad=amsgrad,
                maximize=maximize,
            ),
        )

    def _step_group(self, group: dict) -> None:
        ps = group["params"]
        grads = [p.grad for p in ps]
        ams = bool(group["amsgrad"])
        b1, b2 = group["betas"]
        args = (
            float(group["lr"]),
            float(b1),
            float(b2),
            float(group["eps"]),
            float(group["weight_decay"]),
            ams,
            self._decoupled,
            bool(group["maximize"]),
        )
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
                _C.adam_step(ps, grads, m1, m2, vm, *args, step)
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
        st = self.state._d
        m1, m2, vm, steps, states = [], [], [], [], []
        for p in ps:
            s = st.get(id(p))
            if not s:
                s = {"step": 0, "exp_avg": _zeros_like(p), "exp_avg_sq": _zeros_like(p)}
                st[id(p)] = s
            if ams and s.get("max_exp_avg_sq") is None:
                s["max_exp_avg_sq"] = _zeros_like(p)
            s["step"] += 1
            states.append(s)
            m1.append(s["exp_avg"])
            m2.append(s["exp_avg_sq"])
            if ams:
                vm.append(s["max_exp_avg_sq"])
            steps.append(s["step"])
        uniform = all(s == steps[0] for s in steps) and all(p.dtype == ps[0].dtype for p in ps)
        if uniform:
            _C.adam_step(ps, gs, m1, m2, vm, *args, steps[0])
            if len(ps) == len(group["params"]) and all(g.is_contiguous() for g in grads if g is not None):
                group["_fused"] = (len(ps), m1, m2, vm, states, ams)
            return
        for (_dt, stp), idx in self._buckets(list(range(len(ps))), lambda i: (ps[i].dtype, steps[i])).items():
            _C.adam_step(
                [ps[i] for i in idx],
                [gs[i] for i in idx],
                [m1[i] for i in idx],
                [m2[i] for i in idx],
                [vm[i] for i in idx] if ams else [],
                *args,
                stp,
            )

    def _invalidate(self) -> None:
        for g in self.param_groups:
            g.pop("_fused", None)


class AdamW(Adam):
    """Adam with decoupled weight decay: θ ← θ(1 − ηλ) before the Adam step (torch.optim.AdamW)."""

    _decoupled = True

    def __init__(
        self,
        params: Any,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        maximize: bool = False,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize)
