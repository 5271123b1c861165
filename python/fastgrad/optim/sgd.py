"""SGD with momentum, dampening, Nesterov and weight decay (torch.optim.SGD semantics)."""

from __future__ import annotations

from typing import Any

from .. import _C
from .optimizer import Optimizer, _check_hyper, _zeros_like


class SGD(Optimizer):
    """v ← μ v + (1 − dampening) g (v = g on the first step); θ ← θ − η v (or θ − η(g + μ v)
    with Nesterov); g includes weight_decay·θ (for SGD, L2 ≡ weight decay)."""

    def __init__(
        self,
        params: Any,
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        maximize: bool = False,
    ) -> None:
        _check_hyper("SGD", lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay)
        if lr < 0 or momentum < 0 or weight_decay < 0:
            raise ValueError(f"SGD: invalid lr={lr}, momentum={momentum} or weight_decay={weight_decay}")
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: Nesterov momentum requires a momentum and zero dampening")
        super().__init__(
            params,
            dict(
                lr=lr,
                momentum=momentum,
                dampening=dampening,
                weight_decay=weight_decay,
                nesterov=nesterov,
                maximize=maximize,
            ),
        )

    def _step_group(self, group: dict) -> None:
        ps, gs = self._with_grads(group)
        if not ps:
            return
        mom = float(group["momentum"])
        st = self.state._d
        if mom == 0.0:
            for idx in self._buckets(ps, lambda p: p.dtype).values():
                _C.sgd_step(
                    [ps[i] for i in idx],
                    [gs[i] for i in idx],
                    [],
                    float(group["lr"]),
                    0.0,
                    float(group["dampening"]),
                    float(group["weight_decay"]),
                    bool(group["nesterov"]),
                    bool(group["maximize"]),
                    False,
                )
            return
        bufs = []
        first = []
        for p in ps:
            s = st.get(id(p))
            b = s.get("momentum_buffer") if s else None
            if b is None:
                b = _zeros_like(p)
                st.setdefault(id(p), {})["momentum_buffer"] = b
                first.append(True)
            else:
                first.append(False)
            bufs.append(b)
        for (_dt, f), idx in self._buckets(list(range(len(ps))), lambda i: (ps[i].dtype, first[i])).items():
            _C.sgd_step(
                [ps[i] for i in idx],
                [gs[i] for i in idx],
                [bufs[i] for i in idx],
                float(group["lr"]),
                mom,
                float(group["dampening"]),
                float(group["weight_decay"]),
                bool(group["nesterov"]),
                bool(group["maximize"]),
                f,
            )
