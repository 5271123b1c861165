"""The per-thread vmap stack (``fastgrad.transforms._vmap`` pushes it) and what random
factories do under it: the one place ``rand``/``randn``/... learn whether they run inside
``vmap`` and with which ``randomness``."""

from __future__ import annotations

import threading
from typing import Callable

from . import ops
from .ops import Tensor


class _VmapState(threading.local):
    def __init__(self) -> None:
        # (level, size, randomness) of the active vmaps, outermost first.
        self.stack: list[tuple[int, int, str]] = []


vmap_state = _VmapState()


def random_draw(shape: tuple, draw: Callable[[tuple], Tensor], op: str) -> Tensor:
    """``draw(shape)`` outside vmap; inside, by the innermost vmap's ``randomness``:
    "different" draws ``(size, *shape)`` and maps over the new axis (independent samples
    per example), "same" draws once for the whole batch, "error" raises (torch.func)."""
    if not vmap_state.stack:
        return draw(shape)
    level, size, mode = vmap_state.stack[-1]
    if mode == "error":
        raise RuntimeError(
            f"vmap: {op} inside vmap needs a choice of randomness: pass randomness='different' "
            f"(independent per example) or randomness='same' (one draw shared by the batch)"
        )
    if mode == "same":
        return draw(shape)
    return ops.vmap_wrap(draw((size, *shape)), 0, level)


def any_vmap() -> bool:
    return bool(vmap_state.stack)
