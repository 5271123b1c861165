"""Module, Parameter, Sequential and ModuleList — the PyTorch-style containers.

``Parameter`` is a real subclass of ``fg.Tensor``: ``Parameter(data)`` is a new leaf that
requires grad and shares ``data``'s storage (what ``data.detach()`` would return), so
``isinstance(p, Parameter)`` is ordinary Python and the engine sees a plain tensor.

Speed matters here (small models are dominated by Python overhead), so parameters,
buffers and submodules live in the instance ``__dict__`` — attribute reads are plain
Python lookups — and ``__call__`` goes straight to ``forward``.
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from typing import Any, NamedTuple, Optional

import numpy as np

from .._device import check_device
from .._tensor import as_dtype, float32, float64, full
from .._tensor import tensor as _tensor
from ..autograd import Function, is_grad_enabled, no_grad
from ..ops import Tensor
from .interop import to_numpy


class Parameter(Tensor):
    """A learnable tensor: ``Parameter(data, requires_grad=True)``, like ``torch.nn.Parameter``.

    data: a Tensor (storage shared, graph history dropped) or anything ``fg.tensor`` accepts;
    ``None`` gives an empty float32 tensor of shape (0,). The result keeps ``data``'s shape
    and dtype and is a graph leaf.
    """

    def __init__(self, data: Any = None, requires_grad: bool = True) -> None:
        if data is None:
            data = full([0], 0.0, float32)
        elif not isinstance(data, Tensor):
            data = _tensor(data)
        super().__init__(data)
        if requires_grad:
            self.requires_grad = True


class _LayerArgumentError(TypeError):
    """A layer constructor's TypeError that already names the layer."""


class _StateDictKeyError(RuntimeError, KeyError):
    """load_state_dict's missing/unexpected keys: RuntimeError as PyTorch raises (and a
    KeyError, what fastgrad raised before)."""

    __str__ = BaseException.__str__  # KeyError's would quote the message


class _StateDictShapeError(RuntimeError, ValueError):
    """load_state_dict's size mismatch: RuntimeError as PyTorch (and a ValueError)."""


class _IncompatibleKeys(NamedTuple):
    """What ``load_state_dict`` returns: ``(missing_keys, unexpected_keys)``, as PyTorch's."""

    missing_keys: list[str]
    unexpected_keys: list[str]

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return f"_IncompatibleKeys(missing_keys={self.missing_keys}, unexpected_keys={self.unexpected_keys})"


class _BackwardHookFunction(Function):
    """Identity on a module's input or output tensors whose backward runs the module's
    full backward hooks (torch.nn.modules._functions.BackwardHookFunction)."""

    @staticmethod
    def forward(
        ctx: Any, on_grads: Callable[..., Any], materialize: bool, *tensors: Tensor
    ) -> tuple[Tensor, ...]:
        """The tensors themselves (their shapes); ``on_grads`` maps their gradients (zeros
        where none arrived with ``materialize``, else None)."""
        ctx.on_grads = on_grads
        ctx.set_materialize_grads(materialize)
        ctx.mark_non_differentiable(*[t for t in tensors if not t.requires_grad])
        return tensors

    @staticmethod
    def backward(ctx: Any, *grads: Any) -> Any:
        """``on_grads(grads)``: one gradient per tensor (None where none arrived)."""
        return (None, None, *ctx.on_grads(grads))


class _BackwardHook:
    """One call's full backward hooks (torch.utils.hooks.BackwardHook): the output
    identity's backward records grad_output and runs the pre-hooks; the input identity's
    backward runs the hooks on grad_input."""

    def __init__(self, module: Module, hooks: list, pre_hooks: list) -> None:
        self.module, self.hooks, self.pre_hooks = module, hooks, pre_hooks
        self.grad_outputs: Optional[tuple] = None
        self.n_inputs = self.n_outputs = -1
        self.input_index: Optional[list[int]] = None
        self.output_index: Optional[list[int]] = None

    @staticmethod
    def _pack(index: list[int], values: Any, size: int) -> tuple:
        res: list[Any] = [None] * size
        for i, v in zip(index, values):
            res[i] = v
        return tuple(res)

    def _wrap(
        self, args: tuple, on_grads: Callable[..., Any], materialize: bool
    ) -> tuple[tuple, Optional[list[int]]]:
        index = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        if not (is_grad_enabled() and any(args[i].requires_grad for i in index)):
            return args, None
        new = _BackwardHookFunction.apply(on_grads, materialize, *[args[i] for i in index])
        out = list(args)
        for i, t in zip(index, new):
            out[i] = t
        return tuple(out), index

    def _on_grad_inputs(self, grads: tuple) -> tuple:
        if self.grad_outputs is None:
            # The gradient reached the inputs without passing through the outputs (e.g.
            # a double backward): torch runs no hook then.
            return grads
        assert self.input_index is not None
        res = self._pack(self.input_index, grads, self.n_inputs)
        for hook in self.hooks:
            out = hook(self.module, res, self.grad_outputs)
            if out is None:
                continue
            out = out if isinstance(out, tuple) else (out,)
            if len(out) != len(res):
                raise RuntimeError(
                    f"Backward hook returned an invalid number of grad_input, got {len(out)}, but expected {len(res)}"
                )
            res = out
        self.grad_outputs = None
        return tuple(res[i] for i in self.input_index)

    def _on_grad_outputs(self, grads: tuple) -> tuple:
        assert self.output_index is not None
        self.grad_outputs = self._pack(self.output_index, grads, self.n_outputs)
        for hook in self.pre_hooks:
            r = hook(self.module, self.grad_outputs)
            if r is None:
                continue
            r = r if isinstance(r, tuple) else (r,)
            if len(r) != len(self.grad_outputs):
                raise RuntimeError(
                    f"Backward pre hook returned an invalid number of grad_output, got {len(r)}, but expected "
                    f"{len(self.grad_outputs)}"
                )
            self.grad_outputs = r
        local = self.grad_outputs
        if self.input_index is None:
            # No input requires grad: the hooks run here, with grad_input all None.
            grad_inputs = self._pack([], [], self.n_inputs)
            for hook in self.hooks:
                r = hook(self.module, grad_inputs, self.grad_outputs)
                if r is not None and not (isinstance(r, tuple) and all(el is None for el in r)):
                    raise RuntimeError(
                        "Backward hook for Modules where no input requires gradient should always return None or "
                        "None for all gradients."
                    )
            self.grad_outputs = None
        return tuple(local[i] for i in self.output_index)

    def setup_input_hook(self, args: tuple) -> tuple:
        # torch's hooks see grad_input as the identity's backward returns it (zeros for
        # inputs that got no gradient) and grad_output as it arrives (None for unused outputs).
        res, self.input_index = self._wrap(args, self._on_grad_inputs, True)
        self.n_inputs = len(args)
        return res

    def setup_output_hook(self, out: Any) -> Any:
        single = not isinstance(out, tuple)
        outs = (out,) if single else out
        res, self.output_index = self._wrap(outs, self._on_grad_outputs, False)
        self.n_outputs = len(outs)
        return res[0] if single else res


class RemovableHandle:
    """Returned by ``register_forward_hook`` and friends: ``handle.remove()`` (or leaving a
    ``with handle:`` block) unregisters the hook; removing twice is harmless."""

    _next_id = 0

    def __init__(self, hooks: dict[int, Any], module: Optional[Module] = None) -> None:
        self.id = RemovableHandle._next_id
        RemovableHandle._next_id += 1
        self._hooks = hooks
        self._module = module

    def remove(self) -> None:
        """Unregisters the hook (no effect if it is gone already)."""
        self._hooks.pop(self.id, None)
        if self._module is not None:
            self._module._update_hooked()

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.remove()


def _check_name(name: Any, what: str) -> None:
    if not isinstance(name, str):
        raise TypeError(f"{what} name should be a string. Got {type(name).__name__}")
    if name == "":
        raise KeyError(f'{what} name can\'t be empty string ""')
    if "." in name:
        raise KeyError(f'{what} name can\'t contain ".", got: {name}')


class Module:
    """Base class of layers and models (PyTorch semantics).

    Subclasses assign Parameters, buffers (``register_buffer``) and submodules as
    attributes in ``__init__`` and implement ``forward``.
    """

    training: bool
    _parameters: OrderedDict[str, Optional[Tensor]]
    _buffers: OrderedDict[str, Optional[Tensor]]
    _non_persistent: set[str]
    _modules: OrderedDict[str, Optional[Module]]
    _forward_pre_hooks: OrderedDict[int, tuple[Callable[..., Any], bool]]
    _forward_hooks: OrderedDict[int, tuple[Callable[..., Any], bool, bool]]
    _backward_hooks: OrderedDict[int, Callable[..., Any]]
    _backward_pre_hooks: OrderedDict[int, Callable[..., Any]]

    def __init_subclass__(cls, **kw: Any) -> None:
        # A constructor argument of the wrong type (Linear(2.5, 3), Conv2d(1, "a", 3))
        # fails deep inside (pybind11's "full(): incompatible function arguments", "'a' %
        # 1"): every TypeError of a constructor names the layer and its arguments.
        # Wrapped once per class: no cost per forward.
        super().__init_subclass__(**kw)
        init = cls.__dict__.get("__init__")
        if init is None or getattr(init, "_fg_named", False):
            return

        @functools.wraps(init)
        def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
            try:
                init(self, *args, **kwargs)
            except TypeError as e:
                name = type(self).__name__
                if isinstance(e, _LayerArgumentError) or str(e).startswith(name):
                    raise
                given = ", ".join(
                    [repr(a)[:40] for a in args] + [f"{k}={v!r:.40}" for k, v in kwargs.items()]
                )
                raise _LayerArgumentError(
                    f"{name}({given}): an argument has the wrong type (sizes must be ints, "
                    f"dtype a fastgrad/NumPy dtype): {str(e).splitlines()[0]}"
                ) from None

        __init__._fg_named = True  # type: ignore[attr-defined]
        cls.__init__ = __init__  # type: ignore[method-assign]

    def __init__(self) -> None:
        d = self.__dict__
        d["_parameters"] = OrderedDict()  # name -> Tensor | None
        d["_buffers"] = OrderedDict()  # name -> Tensor | None
        d["_non_persistent"] = set()
        d["_modules"] = OrderedDict()  # name -> Module | None
        d["training"] = True
        # Hooks: dicts made on first registration; `_hooked` is the one flag __call__ reads.
        d["_forward_pre_hooks"] = OrderedDict()  # id -> (hook, with_kwargs)
        d["_forward_hooks"] = OrderedDict()  # id -> (hook, with_kwargs, always_call)
        d["_backward_hooks"] = OrderedDict()  # id -> hook(module, grad_input, grad_output)
        d["_backward_pre_hooks"] = OrderedDict()  # id -> hook(module, grad_output)
        d["_hooked"] = False

    # ------------------------------------------------------------ attributes
    def __setattr__(self, name: str, value: Any) -> None:
        d = self.__dict__
        if "_parameters" not in d:
            if isinstance(value, (Module, Tensor)):
                raise AttributeError(
                    f"cannot assign {type(value).__name__} '{name}' before Module.__init__() call"
                )
            object.__setattr__(self, name, value)
            return
        params, bufs, mods = d["_parameters"], d["_buffers"], d["_modules"]
        if isinstance(value, Module):
            params.pop(name, None)
            bufs.pop(name, None)
            mods[name] = value
        elif isinstance(value, Parameter):
            bufs.pop(name, None)
            mods.pop(name, None)
            params[name] = value
        elif name in params:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(
                    f"cannot assign {type(value).__name__} as parameter '{name}' (Parameter or None expected)"
                )
            # A plain tensor over a parameter slot stays the same object (it may carry a
            # graph, e.g. functional weights in meta-learning); it is listed as a parameter.
            params[name] = value
        elif name in bufs:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(
                    f"cannot assign {type(value).__name__} as buffer '{name}' (Tensor or None expected)"
                )
            bufs[name] = value
        elif name in mods:
            if value is not None:
                raise TypeError(
                    f"cannot assign {type(value).__name__} as child module '{name}' (Module or None expected)"
                )
            mods[name] = None
        d[name] = value

    def __delattr__(self, name: str) -> None:
        for k in ("_parameters", "_buffers", "_modules"):
            self.__dict__[k].pop(name, None)
        self.__dict__["_non_persistent"].discard(name)
        object.__delattr__(self, name)

    def register_parameter(self, name: str, param: Optional[Tensor]) -> None:
        """Registers ``param`` (a Parameter, or None for an empty slot) under ``name``."""
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign parameter before Module.__init__() call")
        _check_name(name, "parameter")
        if name in self.__dict__ and name not in self._parameters:
            raise KeyError(f"attribute '{name}' already exists")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"register_parameter: cannot assign '{type(param).__name__}' object to parameter "
                f"'{name}' (fastgrad.nn.Parameter or None required)"
            )
        self._buffers.pop(name, None)
        self._modules.pop(name, None)
        self.__dict__["_parameters"][name] = param
        self.__dict__[name] = param

    def register_buffer(self, name: str, tensor: Optional[Tensor], persistent: bool = True) -> None:
        """Registers a non-learnable tensor (e.g. running statistics) under ``name``; a
        non-``persistent`` buffer is left out of ``state_dict``."""
        if "_buffers" not in self.__dict__:
            raise AttributeError("cannot assign buffer before Module.__init__() call")
        _check_name(name, "buffer")
        if name in self.__dict__ and name not in self._buffers:
            raise KeyError(f"attribute '{name}' already exists")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(
                f"register_buffer: cannot assign '{type(tensor).__name__}' object to buffer '{name}' "
                f"(Tensor or None required)"
            )
        self.__dict__["_buffers"][name] = tensor
        if not persistent:
            self.__dict__["_non_persistent"].add(name)
        else:
            self.__dict__["_non_persistent"].discard(name)
        self.__dict__[name] = tensor

    def register_module(self, name: str, module: Optional[Module]) -> None:
        """Registers ``module`` (or None) as the child ``name``; ``add_module`` is an alias."""
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        _check_name(name, "module")
        if name in self.__dict__ and name not in self._modules:
            raise KeyError(f"attribute '{name}' already exists")
        self.__dict__["_modules"][name] = module
        self.__dict__[name] = module

    def add_module(self, name: str, module: Optional[Module]) -> None:
        """Registers ``module`` (or None) as the child ``name`` (PyTorch's older spelling of
        ``register_module``; goes through a subclass's override)."""
        self.register_module(name, module)

    # ------------------------------------------------------------ calling
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """The computation; subclasses implement it (inputs and outputs are the layer's)."""
        raise NotImplementedError(f"{type(self).__name__} does not implement forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.__dict__.get("_hooked"):
            return self._call_with_hooks(args, kwargs)
        return self.forward(*args, **kwargs)

    def _call_with_hooks(self, args: tuple, kwargs: dict) -> Any:
        """__call__ when hooks are registered (PyTorch's order: forward pre-hooks, forward,
        forward hooks). A pre-hook may return new args (a non-tuple is wrapped) or, with
        ``with_kwargs``, an ``(args, kwargs)`` pair; a forward hook may return a new output."""
        for hook, with_kwargs in list(self._forward_pre_hooks.values()):
            if with_kwargs:
                r = hook(self, args, kwargs)
                if r is not None:
                    if not (isinstance(r, tuple) and len(r) == 2):
                        raise RuntimeError(
                            f"forward pre-hook must return None or a tuple of (new_args, new_kwargs), but got {r}."
                        )
                    args, kwargs = r
            else:
                r = hook(self, args)
                if r is not None:
                    args = r if isinstance(r, tuple) else (r,)
        bw = None
        if self.__dict__.get("_backward_hooks") or self.__dict__.get("_backward_pre_hooks"):
            bw = _BackwardHook(
                self, list(self._backward_hooks.values()), list(self._backward_pre_hooks.values())
            )
            args = bw.setup_input_hook(args)
        out = self.forward(*args, **kwargs)
        for hook, with_kwargs, _always in list(self._forward_hooks.values()):
            r = hook(self, args, kwargs, out) if with_kwargs else hook(self, args, out)
            if r is not None:
                out = r
        if bw is not None:
            out = bw.setup_output_hook(out)
        return out

    def _update_hooked(self) -> None:
        d = self.__dict__
        d["_hooked"] = bool(
            d["_forward_pre_hooks"]
            or d["_forward_hooks"]
            or d.get("_backward_hooks")
            or d.get("_backward_pre_hooks")
        )

    def _add_hook(self, table: str, entry: Any, prepend: bool) -> RemovableHandle:
        hooks = self.__dict__.setdefault(table, OrderedDict())
        h = RemovableHandle(hooks, self)
        hooks[h.id] = entry
        if prepend:
            hooks.move_to_end(h.id, last=False)
        self._update_hooked()
        return h

    def register_forward_pre_hook(
        self, hook: Callable[..., Any], *, prepend: bool = False, with_kwargs: bool = False
    ) -> RemovableHandle:
        """Runs ``hook(module, args)`` (``with_kwargs``: ``hook(module, args, kwargs)``) before
        every forward; a non-None result replaces the inputs. Returns a RemovableHandle."""
        return self._add_hook("_forward_pre_hooks", (hook, bool(with_kwargs)), prepend)

    def register_forward_hook(
        self,
        hook: Callable[..., Any],
        *,
        prepend: bool = False,
        with_kwargs: bool = False,
        always_call: bool = False,
    ) -> RemovableHandle:
        """Runs ``hook(module, args, output)`` (``with_kwargs``: ``hook(module, args, kwargs,
        output)``) after every forward; a non-None result replaces the output. Returns a
        RemovableHandle."""
        return self._add_hook("_forward_hooks", (hook, bool(with_kwargs), bool(always_call)), prepend)

    def register_full_backward_hook(self, hook: Callable[..., Any], prepend: bool = False) -> RemovableHandle:
        """Runs ``hook(module, grad_input, grad_output)`` when the gradients w.r.t. the
        module's positional Tensor inputs are computed (PyTorch's semantics). ``grad_input``
        and ``grad_output`` are tuples with one entry per positional input / output (each
        the shape of its tensor; None for non-tensors and tensors needing no gradient); a
        tuple it returns replaces ``grad_input``. Returns a RemovableHandle."""
        return self._add_hook("_backward_hooks", hook, prepend)

    def register_full_backward_pre_hook(
        self, hook: Callable[..., Any], prepend: bool = False
    ) -> RemovableHandle:
        """Runs ``hook(module, grad_output)`` when the gradients w.r.t. the module's outputs
        are computed, before those w.r.t. its inputs; a tuple it returns (one entry per
        output, shapes of the outputs) replaces ``grad_output``. Returns a RemovableHandle."""
        return self._add_hook("_backward_pre_hooks", hook, prepend)

    # ------------------------------------------------------------ traversal
    def named_modules(
        self, memo: Optional[set] = None, prefix: str = "", remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Module]]:
        """Yields ``(dotted name, module)`` for this module and every descendant, each once
        (``remove_duplicate=False``: a shared module under each of its names)."""
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, m in self._modules.items():
            if m is None:
                continue
            yield from m.named_modules(memo, prefix + ("." if prefix else "") + name, remove_duplicate)

    def get_submodule(self, target: str) -> Module:
        """The descendant at dotted path ``target`` ("" is this module); AttributeError if absent."""
        if target == "":
            return self
        mod: Module = self
        for item in target.split("."):
            if not hasattr(mod, item):
                raise AttributeError(f"{type(mod).__name__} has no attribute `{item}`")
            nxt = getattr(mod, item)
            if not isinstance(nxt, Module):
                raise AttributeError(f"`{item}` is not an nn.Module")
            mod = nxt
        return mod

    def get_parameter(self, target: str) -> Tensor:
        """The parameter at dotted path ``target`` (e.g. "0.weight"); AttributeError if absent."""
        mod_path, _, name = target.rpartition(".")
        mod = self.get_submodule(mod_path)
        if name not in mod._parameters or mod._parameters[name] is None:
            raise AttributeError(f"`{name}` is not an nn.Parameter")
        return mod._parameters[name]  # type: ignore[return-value]

    def get_buffer(self, target: str) -> Tensor:
        """The buffer at dotted path ``target``; AttributeError if absent."""
        mod_path, _, name = target.rpartition(".")
        mod = self.get_submodule(mod_path)
        if name not in mod._buffers or mod._buffers[name] is None:
            raise AttributeError(f"`{name}` is not a buffer")
        return mod._buffers[name]  # type: ignore[return-value]

    def modules(self) -> Iterator[Module]:
        """Yields this module and every descendant, each once."""
        for _, m in self.named_modules():
            yield m

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """Yields ``(name, child)`` for the direct children, each once."""
        seen = set()
        for name, m in self._modules.items():
            if m is not None and id(m) not in seen:
                seen.add(id(m))
                yield name, m

    def children(self) -> Iterator[Module]:
        """Yields the direct children, each once."""
        for _, m in self.named_children():
            yield m

    def named_parameters(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Tensor]]:
        """Yields ``(dotted name, parameter)``; a parameter shared by several modules once
        (unless ``remove_duplicate=False``); ``recurse=False``: this module's own only."""
        seen = set()
        mods = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        for mp, m in mods:
            for name, p in m._parameters.items():
                if p is None or (remove_duplicate and id(p) in seen):
                    continue
                seen.add(id(p))
                yield (mp + "." if mp else "") + name, p

    def parameters(self, recurse: bool = True) -> Iterator[Tensor]:
        """Yields the parameters (each once), e.g. for an optimizer."""
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple[str, Tensor]]:
        """Yields ``(dotted name, buffer)``, each buffer once."""
        seen = set()
        mods = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        for mp, m in mods:
            for name, b in m._buffers.items():
                if b is None or id(b) in seen:
                    continue
                seen.add(id(b))
                yield (mp + "." if mp else "") + name, b

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        """Yields the buffers, each once."""
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def apply(self, fn: Callable[[Module], Any]) -> Module:
        """Calls ``fn(m)`` on every child (recursively) and then on this module; returns self."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    def num_parameters(self) -> int:
        """The number of scalar parameters (sum of the parameters' sizes)."""
        return int(sum(p.numel() for p in self.parameters()))

    # ------------------------------------------------------------ modes and grads
    def train(self, mode: bool = True) -> Module:
        """Sets training mode (``mode=False``: eval mode) on this module and its descendants;
        returns self."""
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        for m in self.modules():
            m.__dict__["training"] = mode
        return self

    def eval(self) -> Module:
        """Eval mode (e.g. Dropout off, BatchNorm uses its running statistics); returns self."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Sets ``requires_grad`` on every parameter; returns self."""
        for p in self.parameters():
            p.requires_grad = requires_grad
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clears the parameters' gradients (``set_to_none=False``: fills them with zeros)."""
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                p.grad.zero_()

    def astype(self, dtype: Any) -> Module:
        """Casts every floating parameter and buffer to ``dtype`` (e.g. fg.float64 for gradchecks)."""
        dtype = as_dtype(dtype)
        for m in self.modules():
            for name, p in list(m._parameters.items()):
                if p is not None and p.dtype.is_floating_point and p.dtype != dtype:
                    setattr(m, name, Parameter(p.detach().astype(dtype), requires_grad=p.requires_grad))
            for name, b in list(m._buffers.items()):
                if b is not None and b.dtype.is_floating_point and b.dtype != dtype:
                    m.__dict__["_buffers"][name] = b.astype(dtype)
                    m.__dict__[name] = m._buffers[name]
        return self

    def to(self, *args: Any, **kwargs: Any) -> Module:
        """``to(device)``, ``to(dtype)``, ``to(device, dtype)``, ``to(tensor)`` or keywords
        ``device=``/``dtype=``/``non_blocking=``, as PyTorch: the device must be the CPU;
        a (floating) dtype casts the floating parameters and buffers. Returns self."""
        dev, dt = kwargs.pop("device", None), kwargs.pop("dtype", None)
        kwargs.pop("non_blocking", None)
        kwargs.pop("memory_format", None)
        if kwargs:
            raise TypeError(f"Module.to: unexpected keyword arguments {sorted(kwargs)}")
        for a in args:
            if isinstance(a, Tensor):
                dt = a.dtype
            elif isinstance(a, bool):
                continue  # non_blocking given positionally
            elif isinstance(a, str) or isinstance(getattr(a, "type", None), str):
                dev = a  # "cpu", fg.device or a torch.device-like object
            else:
                dt = a
        check_device(dev, "Module.to")
        if dt is not None:
            d = as_dtype(dt)
            if d is None or not d.is_floating_point:
                raise TypeError(
                    f"nn.Module.to only accepts floating point dtypes, but got desired dtype={dt}"
                )
            self.astype(d)
        return self

    def cpu(self) -> Module:
        """Returns self (parameters already live on the CPU)."""
        return self

    def cuda(self, device: Any = None) -> Module:
        """Raises: fastgrad runs on the CPU only."""
        check_device("cuda" if device is None else device, "Module.cuda")
        return self

    def double(self) -> Module:
        """Casts floating parameters and buffers to float64; returns self."""
        return self.astype(float64)

    def float(self) -> Module:
        """Casts floating parameters and buffers to float32; returns self."""
        return self.astype(float32)

    # ------------------------------------------------------------ state
    def state_dict(
        self, *args: Any, destination: Any = None, prefix: str = "", keep_vars: bool = False
    ) -> OrderedDict[str, Tensor]:
        """Parameters and persistent buffers by dotted name (detached, sharing storage),
        in PyTorch's order and with its keys: each module's own parameters, then its
        buffers, then each child's entries under ``child.`` (a shared child under each
        of its names). ``state_dict(destination, prefix, keep_vars)`` positionally too."""
        if args:  # PyTorch's deprecated positional form
            destination = args[0]
            if len(args) > 1:
                prefix = args[1]
            if len(args) > 2:
                keep_vars = args[2]
        out: Any = OrderedDict() if destination is None else destination
        self._save_to(out, prefix, keep_vars)
        return out

    def _save_to(self, out: Any, prefix: str, keep_vars: bool) -> None:
        for name, p in self._parameters.items():
            if p is not None:
                out[prefix + name] = p if keep_vars else p.detach()
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent:
                out[prefix + name] = b if keep_vars else b.detach()
        for name, m in self._modules.items():
            if m is not None:
                m._save_to(out, prefix + name + ".", keep_vars)

    def load_state_dict(
        self, state_dict: Any, strict: bool = True, assign: bool = False
    ) -> _IncompatibleKeys:
        """Copies values in place. Accepts fg Tensors, NumPy arrays or anything array-like
        (e.g. a PyTorch state dict, its tensors converted through NumPy).

        ``strict`` requires the key sets to match exactly (else RuntimeError listing the
        missing and unexpected keys, as PyTorch); shapes must always match. Returns the
        namedtuple ``(missing_keys, unexpected_keys)``. ``assign`` is accepted; values are
        always copied into the existing tensors (so optimizers keep working).
        """
        if not isinstance(state_dict, dict):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict).__name__}.")
        own = self.state_dict(keep_vars=True)
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        name = type(self).__name__
        if strict and (missing or unexpected):
            msg = []
            if unexpected:
                msg.append(
                    "Unexpected key(s) in state_dict: {}. ".format(", ".join(f'"{k}"' for k in unexpected))
                )
            if missing:
                msg.insert(
                    0, "Missing key(s) in state_dict: {}. ".format(", ".join(f'"{k}"' for k in missing))
                )
            raise _StateDictKeyError(f"Error(s) in loading state_dict for {name}:\n\t" + "\n\t".join(msg))
        errors = []
        arrays = {}
        for k, dst in own.items():
            if k not in state_dict:
                continue
            arr = to_numpy(state_dict[k])
            if tuple(arr.shape) != tuple(dst.shape):
                errors.append(
                    f"size mismatch for {k}: copying a param with shape {tuple(arr.shape)} from checkpoint, "
                    f"the shape in current model is {tuple(dst.shape)}."
                )
            arrays[k] = arr
        if errors:
            raise _StateDictShapeError(
                f"Error(s) in loading state_dict for {name}:\n\t" + "\n\t".join(errors)
            )
        with no_grad():
            for k, arr in arrays.items():
                dst = own[k]
                np.asarray(dst)[...] = arr.astype(np.asarray(dst).dtype, copy=False)
                dst._bump_version()
        return _IncompatibleKeys(missing, unexpected)

    # ------------------------------------------------------------ repr
    def extra_repr(self) -> str:
        """The layer's arguments shown inside ``repr`` (subclasses override)."""
        return ""

    def _get_name(self) -> str:
        return type(self).__name__

    def _child_lines(self) -> list[str]:
        return [f"({k}): {_addindent(repr(m), 2)}" for k, m in self._modules.items()]

    def __repr__(self) -> str:
        # PyTorch's layout: one-line extra_repr alone inline, otherwise one entry per line
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = self._child_lines()
        lines = extra_lines + child_lines
        main = self._get_name() + "("
        if lines:
            if len(extra_lines) == 1 and not child_lines:
                main += extra_lines[0]
            else:
                main += "\n  " + "\n  ".join(lines) + "\n"
        return main + ")"

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()))


def _addindent(s: str, n: int) -> str:
    first, *rest = s.split("\n")
    if not rest:
        return s
    return first + "\n" + "\n".join(" " * n + line for line in rest)


class _Container(Module):
    """What Sequential and ModuleList share: ``len``, iteration, ``[i]`` / ``[a:b]`` (a
    slice is a new container of the same modules), assignment, deletion (renumbering
    "0", "1", ...), ``insert``, ``extend``, ``pop`` and ``+``, as PyTorch's."""

    def _from_items(self, items: list[tuple[str, Optional[Module]]]) -> _Container:
        raise NotImplementedError

    def _changed(self) -> None:
        pass

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter([m for m in self._modules.values() if m is not None])

    def _key(self, i: Any) -> str:
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)):
            raise TypeError(
                f"{type(self).__name__} indices must be integers or slices, not {type(i).__name__}"
            )
        n = len(self._modules)
        i = int(i)
        if not -n <= i < n:
            raise IndexError(f"index {i} is out of range")
        return list(self._modules.keys())[i % n]

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return self._from_items(list(self._modules.items())[i])
        return self._modules[self._key(i)]

    def __setitem__(self, i: Any, m: Module) -> None:
        self.register_module(self._key(i), m)

    def __delitem__(self, i: Any) -> None:
        if isinstance(i, slice):
            keys = list(self._modules.keys())[i]
        else:
            keys = [self._key(i)]
        for k in keys:
            del self._modules[k]
            self.__dict__.pop(k, None)
        self._renumber(list(self._modules.values()))

    def _renumber(self, mods: list[Optional[Module]]) -> None:
        for k in list(self._modules):
            self.__dict__.pop(k, None)
        self._modules.clear()
        for j, m in enumerate(mods):
            self._modules[str(j)] = m
            self.__dict__[str(j)] = m
        self._changed()

    def insert(self, index: int, module: Module) -> None:
        """Inserts ``module`` before position ``index`` (negative counts from the end)."""
        if not isinstance(module, Module):
            raise TypeError(f"{type(self).__name__}.insert: expected a Module, got {type(module).__name__}")
        n = len(self._modules)
        if not isinstance(index, int) or not -n <= index <= n:
            raise IndexError(f"Index out of range: {index}")
        if index < 0:
            index += n
        mods = list(self._modules.values())
        mods.insert(index, module)
        self._renumber(mods)

    def pop(self, key: Any = -1) -> Module:
        """Removes and returns the module at position ``key`` (default the last)."""
        v = self[key]
        del self[key]
        return v

    def extend(self, mods: Iterable[Module]) -> Any:
        """Appends every module of ``mods``; returns self."""
        for m in mods:
            self.append(m)
        return self

    def append(self, m: Module) -> Any:
        """Appends ``m`` (a Module); returns self."""
        if not isinstance(m, Module):
            raise TypeError(f"{type(self).__name__}.append: expected a Module, got {type(m).__name__}")
        self.register_module(str(len(self._modules)), m)
        return self

    def __add__(self, other: Any) -> Any:
        if not isinstance(other, type(self)):
            raise ValueError(f"add operator supports only objects of {type(self).__name__} class")
        return self._from_items(
            [(str(i), m) for i, m in enumerate([*self._modules.values(), *other._modules.values()])]
        )

    def __iadd__(self, other: Any) -> Any:
        return self.extend(other)

    def __dir__(self) -> list[str]:
        return [k for k in super().__dir__() if not k.isdigit()]


class Sequential(_Container):
    """Applies its modules in order. ``Sequential(a, b)`` or ``Sequential(OrderedDict(...))``."""

    def __init__(self, *mods: Any) -> None:
        super().__init__()
        self.__dict__["_seq"] = None
        if len(mods) == 1 and isinstance(mods[0], (dict, OrderedDict)):
            for name, m in mods[0].items():
                self.register_module(str(name), m)
        else:
            for i, m in enumerate(mods):
                if not isinstance(m, Module):
                    raise TypeError(f"Sequential: argument {i} is a {type(m).__name__}, not a Module")
                self.register_module(str(i), m)

    def _changed(self) -> None:
        self.__dict__["_seq"] = None

    def register_module(self, name: str, module: Optional[Module]) -> None:
        """Registers a step (``name`` keeps its place in the order)."""
        super().register_module(name, module)
        self.__dict__["_seq"] = None

    def __setattr__(self, name: str, value: Any) -> None:
        super().__setattr__(name, value)
        self.__dict__["_seq"] = None

    def __delattr__(self, name: str) -> None:
        super().__delattr__(name)
        self.__dict__["_seq"] = None

    def _list(self) -> tuple[Callable[[Any], Any], ...]:
        """The steps of forward: each non-None module's ``__call__``, in order (rebuilt after
        any change to the container, so forward is one loop over a tuple)."""
        s = self.__dict__.get("_seq")
        if s is None:
            s = tuple(m.__call__ for m in self._modules.values() if m is not None)
            self.__dict__["_seq"] = s
        return s

    def forward(self, x: Any) -> Any:
        """Applies the modules in order: ``x -> m0(x) -> m1(...) -> ...``; shapes are the modules'."""
        for f in self._list():
            x = f(x)
        return x

    def _from_items(self, items: list[tuple[str, Optional[Module]]]) -> Sequential:
        return Sequential(OrderedDict(items))

    def __delitem__(self, i: Any) -> None:
        super().__delitem__(i)
        self.__dict__["_seq"] = None


class ModuleList(_Container):
    """A list of modules whose parameters are registered (names "0", "1", ...)."""

    def __init__(self, modules: Optional[Iterable[Module]] = None) -> None:
        super().__init__()
        if modules is not None:
            for m in modules:
                self.append(m)

    def _from_items(self, items: list[tuple[str, Optional[Module]]]) -> ModuleList:
        return ModuleList([m for _, m in items if m is not None])

    def __repr__(self) -> str:
        # PyTorch's: runs of identical children are collapsed into "(a-b): n x child"
        reprs = [repr(m) for m in self._modules.values()]
        if not reprs:
            return self._get_name() + "()"
        lines, start = [], 0
        for i in range(1, len(reprs) + 1):
            if i < len(reprs) and reprs[i] == reprs[start]:
                continue
            r = _addindent(reprs[start], 2)
            lines.append(f"({start}): {r}" if i - start == 1 else f"({start}-{i - 1}): {i - start} x {r}")
            start = i
        return self._get_name() + "(\n  " + "\n  ".join(lines) + "\n)"

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """Raises: a ModuleList is a container to iterate over, not a layer."""
        raise NotImplementedError("ModuleList has no forward(); iterate over it")


class ModuleDict(Module):
    """An ordered dict of named modules whose parameters are registered (``torch.nn.ModuleDict``)."""

    def __init__(self, modules: Any = None) -> None:
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str) -> Module:
        return self._modules[key]  # type: ignore[return-value]

    def __setitem__(self, key: str, module: Module) -> None:
        self.register_module(key, module)

    def __delitem__(self, key: str) -> None:
        del self._modules[key]
        self.__dict__.pop(key, None)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def __contains__(self, key: object) -> bool:
        return key in self._modules

    def clear(self) -> None:
        """Removes every module."""
        for k in list(self._modules):
            del self[k]

    def pop(self, key: str) -> Module:
        """Removes and returns the module ``key``."""
        v = self[key]
        del self[key]
        return v

    def keys(self) -> Any:
        """The names, in insertion order."""
        return self._modules.keys()

    def items(self) -> Any:
        """``(name, module)`` pairs, in insertion order."""
        return self._modules.items()

    def values(self) -> Any:
        """The modules, in insertion order."""
        return self._modules.values()

    def update(self, modules: Any) -> None:
        """Adds (or replaces) the modules of a mapping or an iterable of (name, module) pairs."""
        if isinstance(modules, (dict, ModuleDict)):
            for k, m in modules.items():
                self[k] = m
            return
        for j, kv in enumerate(modules):
            if not isinstance(kv, (list, tuple)) or len(kv) != 2:
                raise ValueError(f"ModuleDict update sequence element #{j} should be a (key, module) pair")
            self[kv[0]] = kv[1]

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """Raises: a ModuleDict is a container, not a layer."""
        raise NotImplementedError("ModuleDict has no forward(); index it by name")


def _param_repr(p: Any) -> str:
    if not isinstance(p, Tensor):
        return f"Object of type: {type(p).__name__}"
    size = "x".join(str(n) for n in p.shape)
    kind = "Parameter containing" if isinstance(p, Parameter) else "Tensor"
    return f"{kind}: [{str(p.dtype).replace('dtype.', 'fastgrad.')} of size {size}]"


def _as_param(v: Any) -> Any:
    # PyTorch's containers wrap a plain tensor into a Parameter (sharing its storage)
    if isinstance(v, Tensor) and not isinstance(v, Parameter):
        return Parameter(v)
    return v


class ParameterList(Module):
    """A list of Parameters registered under "0", "1", ... (``torch.nn.ParameterList``);
    plain tensors are wrapped into Parameters."""

    _size: int

    def __init__(self, values: Optional[Iterable[Any]] = None) -> None:
        super().__init__()
        self.__dict__["_size"] = 0
        if values is not None:
            self.extend(values)

    def _set(self, key: str, v: Any) -> None:
        v = _as_param(v)
        if isinstance(v, Parameter) or v is None:
            self.register_parameter(key, v)
        else:
            self.__dict__[key] = v

    def _index(self, i: Any) -> str:
        n = self._size
        if not isinstance(i, int) or not -n <= i < n:
            raise IndexError(f"index {i} is out of range")
        return str(i % n)

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return ParameterList([self[j] for j in range(self._size)[i]])
        return self.__dict__[self._index(i)]

    def __setitem__(self, i: int, v: Any) -> None:
        self._set(self._index(i), v)

    def __len__(self) -> int:
        return int(self._size)

    def __iter__(self) -> Iterator[Any]:
        return iter(self[i] for i in range(self._size))

    def append(self, value: Any) -> ParameterList:
        """Appends ``value`` (a Parameter, or a tensor wrapped into one); returns self."""
        n = self._size
        self.__dict__["_size"] = n + 1
        self._set(str(n), value)
        return self

    def extend(self, values: Iterable[Any]) -> ParameterList:
        """Appends every value; returns self."""
        for v in values:
            self.append(v)
        return self

    def __iadd__(self, values: Iterable[Any]) -> ParameterList:
        return self.extend(values)

    def extra_repr(self) -> str:
        """One line per entry: ``(i): Parameter containing: [dtype of size AxB]``."""
        return "\n".join(f"({i}): {_param_repr(p)}" for i, p in enumerate(self))

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """Raises: a ParameterList is a container, not a layer."""
        raise NotImplementedError("ParameterList has no forward()")


class ParameterDict(Module):
    """An ordered dict of named Parameters (``torch.nn.ParameterDict``); plain tensors are
    wrapped into Parameters."""

    _keys: OrderedDict[str, None]

    def __init__(self, parameters: Any = None) -> None:
        super().__init__()
        self.__dict__["_keys"] = OrderedDict()
        if parameters is not None:
            self.update(parameters)

    def __getitem__(self, key: str) -> Any:
        if key not in self._keys:
            raise KeyError(key)
        return self.__dict__[key]

    def __setitem__(self, key: str, value: Any) -> None:
        value = _as_param(value)
        self._keys[key] = None
        if isinstance(value, Parameter) or value is None:
            self.register_parameter(key, value)
        else:
            self.__dict__[key] = value

    def __delitem__(self, key: str) -> None:
        del self._keys[key]
        self._parameters.pop(key, None)
        self.__dict__.pop(key, None)

    def __len__(self) -> int:
        return len(self._keys)

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def keys(self) -> Any:
        """The names, in insertion order."""
        return self._keys.keys()

    def items(self) -> list[tuple[str, Any]]:
        """``(name, parameter)`` pairs, in insertion order."""
        return [(k, self[k]) for k in self._keys]

    def values(self) -> list[Any]:
        """The parameters, in insertion order."""
        return [self[k] for k in self._keys]

    def get(self, key: str, default: Any = None) -> Any:
        """The parameter ``key``, or ``default``."""
        return self[key] if key in self else default

    def pop(self, key: str) -> Any:
        """Removes and returns the parameter ``key``."""
        v = self[key]
        del self[key]
        return v

    def clear(self) -> None:
        """Removes every entry."""
        for k in list(self._keys):
            del self[k]

    def update(self, parameters: Any) -> None:
        """Adds (or replaces) entries of a mapping or an iterable of (name, value) pairs."""
        items = parameters.items() if hasattr(parameters, "items") else parameters
        for j, kv in enumerate(items):
            if not isinstance(kv, (list, tuple)) or len(kv) != 2:
                raise ValueError(f"ParameterDict update sequence element #{j} should be a (key, value) pair")
            self[kv[0]] = kv[1]

    def extra_repr(self) -> str:
        """One line per entry: ``(name): Parameter containing: [dtype of size AxB]``."""
        return "\n".join(f"({k}): {_param_repr(p)}" for k, p in self.items())

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """Raises: a ParameterDict is a container, not a layer."""
        raise NotImplementedError("ParameterDict has no forward()")
