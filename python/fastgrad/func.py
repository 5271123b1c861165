"""``fastgrad.func``: torch.func's names over fastgrad's transforms, so programs written for
torch.func (per-sample gradients, model ensembling, Jacobians of modules) run with the
import changed.

``vmap``, ``grad``, ``vjp``, ``jvp``, ``jacrev``, ``jacfwd``, ``hessian`` and ``linearize``
are fastgrad's own (torch.func shares JAX's semantics); ``grad_and_value`` returns
``(grad, value)``, torch.func's order. ``functional_call`` runs a module with other
tensors in place of its parameters and buffers; ``stack_module_state`` stacks the states of
several same-shaped modules for a vmap over them.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Callable

from . import ops
from .nn.module import Module
from .ops import Tensor
from .transforms import grad as grad
from .transforms import hessian, jacfwd, jacrev, jvp, linearize, value_and_grad, vjp, vmap

__all__ = [
    "functional_call",
    "grad",
    "grad_and_value",
    "hessian",
    "jacfwd",
    "jacrev",
    "jvp",
    "linearize",
    "stack_module_state",
    "vjp",
    "vmap",
]


def grad_and_value(f: Callable[..., Any], argnums: Any = 0, has_aux: bool = False) -> Callable[..., Any]:
    """torch.func.grad_and_value: ``(grad, value)``; with ``has_aux``: ``(grad, (value, aux))``."""
    vg = value_and_grad(f, argnums=argnums, has_aux=has_aux)

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        value, g = vg(*args, **kwargs)
        return g, value

    return wrapper


def _owner(module: Module, name: str) -> tuple[Module, str]:
    """The submodule holding the dotted ``name`` and the attribute's own name."""
    *path, attr = name.split(".")
    m = module
    for part in path:
        sub = m._modules.get(part)
        if sub is None:
            raise AttributeError(
                f"functional_call: {type(module).__name__} has no submodule {'.'.join(path)!r}"
            )
        m = sub
    return m, attr


@contextlib.contextmanager
def _swapped(module: Module, tensors: Mapping[str, Tensor]) -> Iterator[None]:
    """``module`` with each named parameter/buffer replaced by the given tensor, restored on exit
    (also when the call raises)."""
    # Module keeps each parameter/buffer both in its table and in __dict__ (fast attribute
    # reads): both are swapped, and both restored.
    saved: list[tuple[Module, dict, str, Any, bool]] = []  # (module, table, key, old, existed)
    try:
        for name, t in tensors.items():
            m, attr = _owner(module, name)
            table = m._buffers if attr in m._buffers else m._parameters
            if attr not in table and attr in m.__dict__:
                raise ValueError(f"functional_call: {name!r} is a plain attribute, not a parameter or buffer")
            saved.append((m, table, attr, table.get(attr), attr in table))
            table[attr] = t
            m.__dict__[attr] = t
        yield
    finally:
        for m, table, attr, old, existed in reversed(saved):
            if existed:
                table[attr] = old
                m.__dict__[attr] = old
            else:
                table.pop(attr, None)
                m.__dict__.pop(attr, None)


def functional_call(
    module: Module,
    parameter_and_buffer_dicts: Mapping[str, Tensor] | Sequence[Mapping[str, Tensor]],
    args: Any = (),
    kwargs: Mapping[str, Any] | None = None,
    *,
    tie_weights: bool = True,
    strict: bool = False,
) -> Any:
    """``module(*args, **kwargs)`` with the named tensors in place of its parameters and buffers
    (names as ``named_parameters()``/``named_buffers()`` give them), as torch.func.
    functional_call: the module is unchanged afterwards. Several dicts are merged (a name in
    two is an error). ``tie_weights``: a parameter shared under several names follows the one
    name given. ``strict``: every parameter and buffer must be given, and nothing else."""
    dicts = (
        [parameter_and_buffer_dicts]
        if isinstance(parameter_and_buffer_dicts, Mapping)
        else parameter_and_buffer_dicts
    )
    merged: dict[str, Tensor] = {}
    for d in dicts:
        for k, v in d.items():
            if k in merged:
                raise ValueError(f"functional_call: {k!r} appears in more than one of the dicts")
            merged[k] = v
    own = dict(module.named_parameters(remove_duplicate=False)) if tie_weights else {}
    known = dict(module.named_parameters(remove_duplicate=False))
    known.update(dict(module.named_buffers()))
    if strict:
        missing = sorted(set(known) - set(merged))
        unexpected = sorted(set(merged) - set(known))
        if missing or unexpected:
            raise RuntimeError(f"functional_call: missing keys {missing}, unexpected keys {unexpected}")
    if tie_weights:  # names sharing one tensor with a given name follow it
        for name, t in list(merged.items()):
            if name in own:
                for other, p in own.items():
                    if other not in merged and p is own[name]:
                        merged[other] = t
    if not isinstance(args, tuple):
        args = (args,)
    with _swapped(module, merged):
        return module(*args, **(kwargs or {}))


def stack_module_state(models: Sequence[Module]) -> tuple[dict[str, Tensor], dict[str, Tensor]]:
    """torch.func.stack_module_state: ``(params, buffers)``, each name's tensors of the
    ``models`` stacked on a new axis 0 (fresh leaves; parameters keep ``requires_grad``), for
    ``vmap(lambda p, b, x: functional_call(base, (p, b), (x,)), in_dims=(0, 0, None))``."""
    if not models:
        raise ValueError("stack_module_state: expected at least one model")
    first = models[0]
    for m in models[1:]:
        if type(m) is not type(first):
            raise ValueError("stack_module_state: the models must all be of one class")
    params: dict[str, Tensor] = {}
    for name, p in first.named_parameters():
        stacked = ops.stack([dict(m.named_parameters())[name].detach() for m in models], 0)
        params[name] = stacked.requires_grad_(p.requires_grad)
    buffers = {
        name: ops.stack([dict(m.named_buffers())[name].detach() for m in models], 0)
        for name, _ in first.named_buffers()
    }
    return params, buffers
