"""``fastgrad.utils.checkpoint``: PyTorch's ``torch.utils.checkpoint`` spellings of
``fg.checkpoint`` (recompute a block's intermediates in the backward pass)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Callable

from ..transforms import checkpoint as _remat


def checkpoint(
    function: Callable[..., Any],
    *args: Any,
    use_reentrant: bool | None = None,
    preserve_rng_state: bool = True,
    **kwargs: Any,
) -> Any:
    """``function(*args, **kwargs)`` (its outputs, their shapes) without keeping its
    intermediates: the backward pass recomputes them. Parameters ``function`` closes over
    (a module's) get their gradients too. ``use_reentrant`` is accepted for PyTorch
    compatibility; both settings behave as PyTorch's non-reentrant variant (``.backward()``
    and ``autograd.grad`` both work, inputs need not require grad)."""
    return _remat(function, preserve_rng_state=preserve_rng_state)(*args, **kwargs)


def checkpoint_sequential(
    functions: Any,
    segments: int,
    input: Any,
    use_reentrant: bool | None = None,
    preserve_rng_state: bool = True,
    **kwargs: Any,
) -> Any:
    """Runs ``functions`` (an ``nn.Sequential`` or a list of callables) on ``input`` in
    ``segments`` chunks, checkpointing every chunk but the last (PyTorch's rule: the last
    chunk's intermediates are needed at once by the backward pass)."""
    fns: Sequence[Callable[..., Any]] = (
        list(functions.children()) if hasattr(functions, "children") else list(functions)
    )
    if segments < 1:
        raise ValueError(f"checkpoint_sequential: segments must be >= 1, got {segments}")

    def run(chunk: Sequence[Callable[..., Any]]) -> Callable[[Any], Any]:
        def body(x: Any) -> Any:
            for f in chunk:
                x = f(x)
            return x

        return body

    # PyTorch's split: segments - 1 checkpointed chunks of len // segments, the rest last.
    size = len(fns) // segments
    x, start = input, 0
    for _ in range(segments - 1):
        if size:
            x = _remat(run(fns[start : start + size]), preserve_rng_state=preserve_rng_state)(x)
        start += size
    return run(fns[start:])(x)
