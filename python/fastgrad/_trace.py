"""Which transforms are tracing a function right now, and the check that a value carrying
their derivative does not leave the graph.

While ``grad``/``vjp``/``jvp``/``jacrev``/... evaluate ``f``, converting a tensor that
depends on the differentiated inputs to a Python or NumPy value (``.item()``,
``float()``/``int()``/``bool()``, ``.numpy()``, ``.tolist()``, ``np.asarray``, the buffer
protocol, ``fg.tensor(t)``) would cut the derivative silently: the transform would
return zeros. As in torch.func and JAX, that raises instead, naming the transform and
the conversion. ``t.detach()`` takes a value out on purpose.

"Depends on" means: has a tangent at the transform's forward-mode level, or (with grad
mode on) reaches one of the transform's input aliases on the tape. Constant tensors,
index arrays (int64/bool) and closed-over tensors the transform does not differentiate
convert as usual. The check runs only on the conversion paths and only while a
transform traces (a thread-local depth, mirrored into C++ for the buffer protocol).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any, Optional

from . import ops


class _Trace:
    __slots__ = ("who", "aliases", "level")

    def __init__(self, who: str, aliases: Optional[Sequence[Any]], level: Optional[int]) -> None:
        self.who, self.aliases, self.level = who, list(aliases) if aliases is not None else None, level


class _Stack(threading.local):
    def __init__(self) -> None:
        self.traces: list[_Trace] = []


_tl = _Stack()


class tracing:
    """``with tracing("grad", aliases=...)`` / ``with tracing("jvp", level=L)`` around f."""

    def __init__(
        self, who: str, aliases: Optional[Sequence[Any]] = None, level: Optional[int] = None
    ) -> None:
        self.trace = _Trace(who, aliases, level)

    def __enter__(self) -> None:
        _tl.traces.append(self.trace)
        ops.set_trace_depth(len(_tl.traces))

    def __exit__(self, *exc) -> None:
        _tl.traces.remove(self.trace)
        ops.set_trace_depth(len(_tl.traces))


def active() -> bool:
    return bool(_tl.traces)


def _carrier(t: Any) -> Optional[str]:
    """The innermost tracing transform whose derivative ``t`` carries, or None."""
    if not isinstance(t, ops.Tensor) or not t.dtype.is_floating_point:
        return None
    tape = t.requires_grad and ops.grad_enabled()
    for tr in reversed(_tl.traces):
        if tr.level is not None and t._tangent(tr.level) is not None:
            return tr.who
        if tr.aliases is not None and tape and ops.reaches(t, tr.aliases):
            return tr.who
    return None


def check_conversion(t: Any, what: str) -> None:
    """Raises if ``t`` carries the derivative of a transform that is tracing."""
    if not _tl.traces:
        return
    who = _carrier(t)
    if who is not None:
        raise RuntimeError(
            f"{who}: f converts a tensor (shape {tuple(t.shape)}) that depends on the differentiated inputs to a "
            f"Python/NumPy value with {what}; the derivative cannot flow through that conversion, so {who} would "
            f"silently return zeros. Keep the computation in fastgrad ops, or call .detach() first if the value is "
            f"meant to be a constant"
        )
