"""RMSprop (torch.optim.RMSprop semantics: optional momentum, centered variant)."""

from __future__ import annotations

from typing import Any

from .. import _C
from .optimizer import Optimizer, _check_hyper, _zeros_like


class RMSprop(Optimizer):
    def __init__(
        self,
        params: Any,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
        maximize: bool = False,
    ) -> None:
        _check_hyper("RMSprop", lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum)
        if lr < 0 or eps < 0 or weight_decay < 0 or momentum < 0 or alpha < 0:
            raise ValueError("RMSprop: lr, alpha, eps, weight_decay and momentum must be non-negative")
        super().__init__(
            params,
            dict(
                lr=lr,
                alpha=alpha,
                eps=eps,
                weight_decay=weight_decay,
                momentum=momentum,
                centered=centered,
                maximize=maximize,
            ),
        )

    def _step_group(self, group: dict) -> None:
        ps, gs = self._with_grads(group)
        if not ps:
            return
        mom = float(group["momentum"])
        centered = bool(group["centered"])
        st = self.state._d
        sq, mb, ga = [], [], []
        for p in ps:
            s = st.get(id(p))
            if not s:
                s = {"step": 0, "square_avg": _zeros_like(p)}
                st[id(p)] = s
            if mom > 0 and s.get("momentum_buffer") is None:
                s["momentum_buffer"] = _zeros_like(p)
            if centered and s.get("grad_avg") is None:
                s["grad_avg"] = _zeros_like(p)
            s["step"] += 1
            sq.append(s["square_avg"])
            if mom > 0:
                mb.append(s["momentum_buffer"])
            if centered:
                ga.append(s["grad_avg"])
        for _dt, idx in self._buckets(list(range(len(ps))), lambda i: ps[i].dtype).items():
            _C.rmsprop_step(
                [ps[i] for i in idx],
                [gs[i] for i in idx],
                [sq[i] for i in idx],
                [mb[i] for i in idx] if mom > 0 else [],
                [ga[i] for i in idx] if centered else [],
                float(group["lr"]),
                float(group["alpha"]),
                float(group["eps"]),
                float(group["weight_decay"]),
                mom,
                centered,
                bool(group["maximize"]),
            )
