"""RMSprop (torch.optim.RMSprop semantics: optional momentum, centered variant)."""

from __future__ import annotations

from typing import Any, Optional

from .. import ops
from ..ops import Tensor
from .optimizer import Optimizer, _zeros_like


class RMSprop(Optimizer):
    """s ← α s + (1 − α) g²; θ ← θ − η g / (√s + ε) (centered: √(s − ḡ²) with ḡ the
    running mean of g; momentum: a buffer b ← μ b + g / (…) and θ ← θ − η b).

    ``params``: leaf float Tensors of any shapes (or parameter groups); every state buffer
    has its parameter's shape. One fused ``ops.rmsprop_step`` per group and dtype.
    """

    _numeric = ("lr", "alpha", "eps", "weight_decay", "momentum")
    _flags = ("centered", "maximize")
    _option_type = ops.RmspropOptions

    def __init__(
        self,
        params: Any,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
        capturable: bool = False,
        foreach: Optional[bool] = None,
        maximize: bool = False,
        differentiable: bool = False,
    ) -> None:
        # torch.optim.RMSprop's positional order. capturable/foreach/differentiable choose
        # among torch's implementations; fastgrad has one: kept in the groups, unused.
        hyper = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum)
        extra = dict(capturable=bool(capturable), foreach=foreach, differentiable=bool(differentiable))
        super().__init__(params, dict(hyper, centered=centered, maximize=maximize, **extra))

    def _step_group(self, group: dict[str, Any]) -> None:
        ps, gs = self._with_grads(group)
        if not ps:
            return
        opts = self._options(group)
        mom, centered = float(group["momentum"]) > 0, bool(group["centered"])
        st = self.state._d
        sq: list[Tensor] = []
        mb: list[Tensor] = []
        ga: list[Tensor] = []
        for p in ps:
            s = st.get(id(p))
            if not s:
                s = st[id(p)] = {"step": 0, "square_avg": _zeros_like(p)}
            if mom and s.get("momentum_buffer") is None:
                s["momentum_buffer"] = _zeros_like(p)
            if centered and s.get("grad_avg") is None:
                s["grad_avg"] = _zeros_like(p)
            s["step"] += 1
            sq.append(s["square_avg"])
            if mom:
                mb.append(s["momentum_buffer"])
            if centered:
                ga.append(s["grad_avg"])
        for idx in self._buckets(ps, lambda p: p.dtype).values():
            ops.rmsprop_step(
                [ps[i] for i in idx],
                [gs[i] for i in idx],
                [sq[i] for i in idx],
                [mb[i] for i in idx] if mom else [],
                [ga[i] for i in idx] if centered else [],
                opts,
            )
