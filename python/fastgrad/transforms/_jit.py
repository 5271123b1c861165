"""``jit``: JAX's compile decorator, for programs written against JAX.

fastgrad executes eagerly: every op already runs a compiled kernel, and there is no
tracer to stage a function into. ``jit`` therefore returns the function itself, so JAX
code decorated with ``@jit`` (or ``jit(f, static_argnums=...)``) runs unchanged and gives
the same numbers; it promises no speed-up of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def jit(fun: F | None = None, **options: Any) -> Any:
    """Returns `fun` unchanged (JAX's options such as ``static_argnums`` or ``donate_argnums``
    are accepted and have no effect); ``@jit`` and ``@jit(static_argnums=0)`` both work."""
    if fun is None:
        return lambda f: f
    if not callable(fun):
        raise TypeError(f"jit: expected a function, got {type(fun).__name__}")
    return fun
