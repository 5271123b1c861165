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
from typing import Any, Optional

import numpy as np

from .._tensor import as_dtype, float32, float64, full
from .._tensor import tensor as _tensor
from ..autograd import no_grad
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
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"register_parameter: '{name}' must be a Parameter or None, got {type(param).__name__}"
            )
        self.__dict__["_parameters"][name] = param
        self.__dict__[name] = param

    def register_buffer(self, name: str, tensor: Optional[Tensor], persistent: bool = True) -> None:
        """Registers a non-learnable tensor (e.g. running statistics) under ``name``; a
        non-``persistent`` buffer is left out of ``state_dict``."""
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(
                f"register_buffer: '{name}' must be a Tensor or None, got {type(tensor).__name__}"
            )
        self.__dict__["_buffers"][name] = tensor
        if not persistent:
            self.__dict__["_non_persistent"].add(name)
        else:
            self.__dict__["_non_persistent"].discard(name)
        self.__dict__[name] = tensor

    def register_module(self, name: str, module: Optional[Module]) -> None:
        """Registers ``module`` (or None) as the child ``name``; ``add_module`` is an alias."""
        self.__dict__["_modules"][name] = module
        self.__dict__[name] = module

    add_module = register_module

    # ------------------------------------------------------------ calling
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """The computation; subclasses implement it (inputs and outputs are the layer's)."""
        raise NotImplementedError(f"{type(self).__name__} does not implement forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    # ------------------------------------------------------------ traversal
    def named_modules(self, memo: Optional[set] = None, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """Yields ``(dotted name, module)`` for this module and every descendant, each once."""
        if memo is None:
            memo = set()
        if id(self) in memo:
            return
        memo.add(id(self))
        yield prefix, self
        for name, m in self._modules.items():
            if m is None:
                continue
            yield from m.named_modules(memo, prefix + ("." if prefix else "") + name)

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
        for m in self.modules():
            m.__dict__["training"] = bool(mode)
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

    def double(self) -> Module:
        """Casts floating parameters and buffers to float64; returns self."""
        return self.astype(float64)

    def float(self) -> Module:
        """Casts floating parameters and buffers to float32; returns self."""
        return self.astype(float32)

    # ------------------------------------------------------------ state
    def state_dict(self, prefix: str = "", keep_vars: bool = False) -> OrderedDict[str, Tensor]:
        """Parameters and persistent buffers by dotted name (detached, sharing storage)."""
        out: OrderedDict[str, Tensor] = OrderedDict()
        for mp, m in self.named_modules(prefix=prefix.rstrip(".")):
            pre = mp + "." if mp else ""
            for name, p in m._parameters.items():
                if p is not None:
                    out[pre + name] = p if keep_vars else p.detach()
            for name, b in m._buffers.items():
                if b is not None and name not in m._non_persistent:
                    out[pre + name] = b if keep_vars else b.detach()
        return out

    def load_state_dict(self, state_dict: dict[str, Any], strict: bool = True) -> tuple[list[str], list[str]]:
        """Copies values in place. Accepts fg Tensors, NumPy arrays or anything array-like
        (e.g. a PyTorch state dict converted with ``.numpy()``).

        ``strict`` requires the key sets to match exactly; shapes must always match.
        Returns ``(missing_keys, unexpected_keys)``.
        """
        own = self.state_dict(keep_vars=True)
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        if strict and (missing or unexpected):
            msg = [f"load_state_dict for {type(self).__name__}:"]
            if missing:
                msg.append(f"missing keys {missing}")
            if unexpected:
                msg.append(f"unexpected keys {unexpected}")
            raise KeyError(" ".join(msg))
        errors = []
        arrays = {}
        for k, dst in own.items():
            if k not in state_dict:
                continue
            src = state_dict[k]
            arr = to_numpy(src)
            if tuple(arr.shape) != tuple(dst.shape):
                errors.append(f"'{k}': checkpoint shape {tuple(arr.shape)} != model shape {tuple(dst.shape)}")
            arrays[k] = arr
        if errors:
            raise ValueError(
                f"load_state_dict for {type(self).__name__}: size mismatch for " + "; ".join(errors)
            )
        with no_grad():
            for k, arr in arrays.items():
                dst = own[k]
                np.asarray(dst)[...] = arr.astype(np.asarray(dst).dtype, copy=False)
                dst._bump_version()
        return missing, unexpected

    # ------------------------------------------------------------ repr
    def extra_repr(self) -> str:
        """The layer's arguments shown inside ``repr`` (subclasses override)."""
        return ""

    def __repr__(self) -> str:
        lines = []
        for name, m in self._modules.items():
            sub = repr(m).replace("\n", "\n  ")
            lines.append(f"({name}): {sub}")
        extra = self.extra_repr()
        if not lines:
            return f"{type(self).__name__}({extra})"
        head = f"{type(self).__name__}(" + (extra + "\n  " if extra else "\n  ")
        return head + "\n  ".join(lines) + "\n)"

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()))


class _Container(Module):
    """What Sequential and ModuleList share: ``len``, iteration over the modules (empty
    slots skipped) and ``[i]`` / ``[a:b]`` (a slice is a new container of the same modules)."""

    def _from_items(self, items: list[tuple[str, Optional[Module]]]) -> _Container:
        raise NotImplementedError

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter([m for m in self._modules.values() if m is not None])

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return self._from_items(list(self._modules.items())[i])
        return list(self._modules.values())[i]


class Sequential(_Container):
    """Applies its modules in order. ``Sequential(a, b)`` or ``Sequential(OrderedDict(...))``."""

    def __init__(self, *mods: Any) -> None:
        super().__init__()
        if len(mods) == 1 and isinstance(mods[0], (dict, OrderedDict)):
            for name, m in mods[0].items():
                self.register_module(str(name), m)
        else:
            for i, m in enumerate(mods):
                if not isinstance(m, Module):
                    raise TypeError(f"Sequential: argument {i} is a {type(m).__name__}, not a Module")
                self.register_module(str(i), m)
        self.__dict__["_seq"] = None

    def register_module(self, name: str, module: Optional[Module]) -> None:
        """Registers a step (``name`` keeps its place in the order)."""
        super().register_module(name, module)
        self.__dict__["_seq"] = None

    def __setattr__(self, name: str, value: Any) -> None:
        super().__setattr__(name, value)
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

    def append(self, m: Module) -> Sequential:
        """Appends ``m`` as the next step; returns self."""
        self.register_module(str(len(self._modules)), m)
        return self


class ModuleList(_Container):
    """A list of modules whose parameters are registered (names "0", "1", ...)."""

    def __init__(self, modules: Optional[Iterable[Module]] = None) -> None:
        super().__init__()
        if modules is not None:
            for m in modules:
                self.append(m)

    def append(self, m: Module) -> ModuleList:
        """Appends ``m`` (a Module); returns self."""
        if not isinstance(m, Module):
            raise TypeError(f"ModuleList: expected a Module, got {type(m).__name__}")
        self.register_module(str(len(self._modules)), m)
        return self

    def extend(self, mods: Iterable[Module]) -> ModuleList:
        """Appends every module of ``mods``; returns self."""
        for m in mods:
            self.append(m)
        return self

    def _from_items(self, items: list[tuple[str, Optional[Module]]]) -> ModuleList:
        return ModuleList([m for _, m in items if m is not None])

    def __setitem__(self, i: int, m: Module) -> None:
        name = list(self._modules.keys())[i]
        self.register_module(name, m)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """Raises: a ModuleList is a container to iterate over, not a layer."""
        raise NotImplementedError("ModuleList has no forward(); iterate over it")
