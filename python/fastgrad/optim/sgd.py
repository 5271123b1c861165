"""SGD with momentum, dampening, Nesterov and weight decay (torch.optim.SGD semantics)."""

from __future__ import annotations

from typing import Any, Optional

from .. import ops
from .optimizer import Optimizer, _zeros_like


class SGD(Optimizer):
    """v ← μ v + (1 − dampening) g (v = g on the first step); θ ← θ − η v (or θ − η(g + μ v)
    with Nesterov); g includes weight_decay·θ (for SGD, L2 ≡ weight decay).

    ``params``: leaf float Tensors of any shapes (or parameter groups); the momentum
    buffer of each has its parameter's shape. One fused ``ops.sgd_step`` per group.
    """

    _numeric = ("lr", "momentum", "dampening", "weight_decay")
    _flags = ("nesterov", "maximize")
    _option_type = ops.SgdOptions

    def __init__(
        self,
        params: Any,
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
        foreach: Optional[bool] = None,
        differentiable: bool = False,
        fused: Optional[bool] = None,
    ) -> None:
        # foreach/differentiable/fused choose among torch's implementations; fastgrad has
        # one (fused C++), so they are kept in the groups (state_dict structure) and unused.
        hyper = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay)
        extra = dict(foreach=foreach, differentiable=bool(differentiable), fused=fused)
        super().__init__(params, dict(hyper, nesterov=nesterov, maximize=maximize, **extra))

    def _step_group(self, group: dict[str, Any]) -> None:
        ps, gs = self._with_grads(group)
        if not ps:
            return
        opts = self._options(group)
        if float(group["momentum"]) == 0.0:
            for idx in self._buckets(ps, lambda p: p.dtype).values():
                ops.sgd_step([ps[i] for i in idx], [gs[i] for i in idx], [], opts)
            return
        st = self.state._d
        bufs, first = [], []
        for p in ps:
            s = st.setdefault(id(p), {})
            first.append(s.get("momentum_buffer") is None)
            if first[-1]:
                s["momentum_buffer"] = _zeros_like(p)
            bufs.append(s["momentum_buffer"])
        for (_dt, f), idx in self._buckets(list(range(len(ps))), lambda i: (ps[i].dtype, first[i])).items():
            ops.sgd_step([ps[i] for i in idx], [gs[i] for i in idx], [bufs[i] for i in idx], opts, f)
