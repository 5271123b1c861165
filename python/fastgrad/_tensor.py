"""Tensor factories and dtypes, written over :mod:`fastgrad.ops`.

The Tensor type, its operators, methods, indexing and Python protocol are bound in C++
(cpp/bindings); the factories here parse Python data (nested lists, dtypes, ``*shape``)
and call the bound primitives.
"""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np

from . import _trace, ops
from ._batching import random_draw
from ._device import check_device
from .ops import Tensor

float32 = ops.dtype.float32
float64 = ops.dtype.float64
int64 = ops.dtype.int64
bool_ = ops.dtype.bool

_NP_DTYPE = {float32: np.float32, float64: np.float64, int64: np.int64, bool_: np.bool_}


def as_dtype(dtype: Any) -> ops.dtype | None:
    """Accepts fg dtypes, NumPy dtypes and their names."""
    if dtype is None or isinstance(dtype, ops.dtype):
        return dtype
    if dtype is bool or dtype is np.bool_:
        return bool_
    name = np.dtype(dtype).name
    table = {
        "float32": float32,
        "float64": float64,
        "int64": int64,
        "bool": bool_,
        "int32": int64,
        "int16": int64,
        "int8": int64,
        "uint8": int64,
        "float16": float32,
    }
    if name not in table:
        raise TypeError(f"unsupported dtype {dtype!r}")
    return table[name]


def _shape(shape: tuple, op: str = "shape") -> tuple:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return shape_arg(shape, op)


def shape_arg(shape: Any, op: str, arg: str = "shape") -> tuple:
    """A shape argument as a tuple of ints: TypeError naming the op for non-integers,
    OverflowError for sizes outside int64 (C++ sizes)."""
    try:
        dims = tuple(shape)
    except TypeError:
        raise TypeError(f"{op}: {arg} must be a sequence of ints, got {type(shape).__name__}") from None
    out = []
    for d in dims:
        if isinstance(d, (bool, np.bool_)) or not hasattr(d, "__index__"):
            raise TypeError(f"{op}: {arg} entries must be ints, got {type(d).__name__} in {arg} {dims!r:.80}")
        try:
            v = d.__index__()
        except (TypeError, ValueError) as e:
            raise TypeError(f"{op}: {arg} entries must be ints ({e})") from None
        if not -(2**63) <= v < 2**63:
            raise OverflowError(f"{op}: {arg} entry {v} is outside the int64 range")
        out.append(v)
    return tuple(out)


def _finish(t: Tensor, requires_grad: bool) -> Tensor:
    if requires_grad:
        t.requires_grad = True
    return t


# ---------------------------------------------------------------- factories
def tensor(data: Any, dtype: Any = None, requires_grad: bool = False, *, device: Any = None) -> Tensor:
    """Copies ``data`` (numbers, nested lists, NumPy arrays, buffers, Tensors).

    Python floats become the default float dtype (float32, as PyTorch); NumPy arrays and
    NumPy scalars (``np.float64(x)``) keep float64.
    """
    check_device(device, "tensor")
    dtype = as_dtype(dtype)
    if isinstance(data, Tensor):
        if _trace._tl.traces:
            _trace.check_conversion(data, "fg.tensor(t) (a copy off the tape)")
        arr = np.asarray(data)
    else:
        try:
            arr = np.asarray(data)
        except ValueError as e:  # ragged nested lists
            raise ValueError(f"tensor: cannot convert {type(data).__name__}: {e}") from None
        if arr.dtype == object:
            arr = _object_array(data, dtype)
        elif (
            arr.dtype == np.float64
            and dtype not in (float32, float64)
            and not isinstance(data, np.ndarray)
            and arr.size
            and float(np.max(np.abs(arr))) >= 2.0**63
            and _all_ints(data)
        ):
            # NumPy makes [1, 2**63] float64; ints never silently become floats.
            raise OverflowError(
                "tensor: a Python int in the data is outside the int64 range [-2**63, 2**63 - 1]"
            )
        if arr.dtype == object or arr.dtype.kind in "USV":
            raise TypeError(
                f"tensor: cannot convert {type(data).__name__} with ragged or non-numeric entries "
                f"(NumPy dtype {arr.dtype})"
            )
        if dtype is None and arr.dtype == np.float64 and not isinstance(data, (np.ndarray, np.generic)):
            dtype = _default_dtype[0]
        elif dtype is None and arr.dtype.kind == "u":
            dtype = int64  # unsigned ints (Python ints >= 2**63 give uint64): range-checked in C++
        elif dtype is None:
            dtype = as_dtype(arr.dtype)  # float16 -> float32, int32 -> int64, ...; TypeError otherwise
    return _finish(ops.from_array_copy(arr, dtype), requires_grad)


def _all_ints(data: Any) -> bool:
    if isinstance(data, (list, tuple)):
        return all(_all_ints(v) for v in data)
    return isinstance(data, (int, np.integer))


def _object_array(data: Any, dtype: Any) -> np.ndarray:
    """NumPy gives dtype=object for Python ints outside int64/uint64 (alone or mixed with
    negatives): those are converted exactly to int64, or raise OverflowError."""
    target = np.float64 if dtype in (float32, float64) else np.int64
    try:
        return np.asarray(data, dtype=target)
    except OverflowError:
        raise OverflowError(
            "tensor: a Python int in the data is outside the int64 range [-2**63, 2**63 - 1]"
        ) from None
    except (TypeError, ValueError):
        return np.asarray(data, dtype=object)


def from_numpy(a: np.ndarray) -> Tensor:
    """Shares memory with a C-contiguous float32/float64/int64/bool array.

    A bool array whose bytes are not all 0/1 (e.g. a uint8 array viewed as bool) has the
    nonzero bytes rewritten to 1 in place, which changes no bool value; a read-only one
    raises ValueError (``fg.tensor`` copies and normalises instead)."""
    if not isinstance(a, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(a).__name__}")
    return ops.from_numpy(a)


# PyTorch's default float dtype: what Python floats and the float factories give.
_default_dtype = [float32]


def get_default_dtype() -> ops.dtype:
    """The dtype Python floats and float factories produce: fg.float32 unless changed."""
    return _default_dtype[0]


def set_default_dtype(d: Any) -> None:
    """Sets the default float dtype (fg.float32 or fg.float64, as torch.set_default_dtype)."""
    dt = as_dtype(d)
    if dt not in (float32, float64):
        raise TypeError(f"set_default_dtype: only fg.float32 and fg.float64 can be the default, got {d!r}")
    _default_dtype[0] = dt


def _float_dtype(dtype: Any) -> ops.dtype:
    return as_dtype(dtype) or _default_dtype[0]


#: ``fg.Generator()`` is an independent random stream (torch.Generator), bound in C++.
Generator = ops.Generator
#: The global stream: ``fg.manual_seed`` seeds it; draws without ``generator=`` use it.
default_generator = ops.default_generator


def manual_seed(seed: int) -> Generator:
    """Seeds every random draw of fastgrad (reproducible runs); returns ``fg.default_generator``."""
    return default_generator.manual_seed(seed)


def zeros(*shape: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of ``shape`` (ints or one sequence) filled with 0."""
    check_device(device, "zeros")
    return _finish(ops.full(_shape(shape, "zeros"), 0.0, _float_dtype(dtype)), requires_grad)


def empty(*shape: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of ``shape`` (ints or one sequence); fastgrad fills it with 0 (deterministic)."""
    check_device(device, "empty")
    return _finish(ops.full(_shape(shape, "empty"), 0.0, _float_dtype(dtype)), requires_grad)


def ones(*shape: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of ``shape`` (ints or one sequence) filled with 1."""
    check_device(device, "ones")
    return _finish(ops.full(_shape(shape, "ones"), 1.0, _float_dtype(dtype)), requires_grad)


def _number(v: Any) -> Any:
    """Python ints stay ints (exact for int64 up to 2**63 - 1); anything else is a float."""
    if isinstance(v, (builtins.int, np.integer)):
        return builtins.int(v)
    if isinstance(v, Tensor) and v.dtype in (int64, bool_):
        return builtins.int(v.item())
    return builtins.float(v)


def full(
    shape: Any,
    fill_value: Any,
    dtype: Any = None,
    requires_grad: bool = False,
    *,
    device: Any = None,
) -> Tensor:
    """A tensor of ``shape`` (an int or a sequence) filled with ``fill_value``. Without dtype it
    follows the value, as PyTorch: bool -> bool, int -> int64, float -> the default float
    dtype. An int ``fill_value`` fills int64 tensors exactly; a float one must be finite and
    in range for int64 (RuntimeError otherwise, as PyTorch)."""
    check_device(device, "full")
    shape = shape_arg((shape,) if isinstance(shape, builtins.int) else shape, "full")
    dt = as_dtype(dtype)
    if dt is None:
        if isinstance(fill_value, (builtins.bool, np.bool_)):
            dt = bool_
        elif isinstance(fill_value, (builtins.int, np.integer)):
            dt = int64
        else:
            dt = _default_dtype[0]
    return _finish(ops.full(shape, _number(fill_value), dt), requires_grad)


def arange(
    start: Any,
    stop: Any = None,
    step: Any = 1,
    dtype: Any = None,
    requires_grad: bool = False,
    *,
    end: Any = None,
    device: Any = None,
) -> Tensor:
    """The 1-d tensor ``start, start + step, ...`` below ``stop`` (PyTorch's ``end``):
    (ceil((stop - start) / step),). All-int arguments are computed exactly in integers
    (int64 by default); otherwise the default float dtype."""
    check_device(device, "arange")
    if end is not None:
        if stop is not None:
            raise TypeError("arange: got both stop and end")
        stop = end
    if stop is None:
        start, stop = 0, start
    if dtype is None:
        ints = all(isinstance(v, (builtins.int, np.integer)) for v in (start, stop, step))
        dtype = int64 if ints else _default_dtype[0]
    return _finish(
        ops.arange(_number(start), _number(stop), _number(step), as_dtype(dtype) or float32), requires_grad
    )


def linspace(
    start: Any,
    stop: Any = None,
    num: Any = None,
    dtype: Any = None,
    requires_grad: bool = False,
    *,
    end: Any = None,
    steps: Any = None,
    device: Any = None,
) -> Tensor:
    """``num`` (PyTorch's ``steps``; 50 by default, as NumPy) evenly spaced values from
    ``start`` to ``stop`` (``end``) inclusive: (num,)."""
    check_device(device, "linspace")
    if end is not None:
        if stop is not None:
            raise TypeError("linspace: got both stop and end")
        stop = end
    if steps is not None:
        if num is not None:
            raise TypeError("linspace: got both num and steps")
        num = steps
    if stop is None:
        raise TypeError("linspace: missing the end of the range (stop=/end=)")
    n = 50 if num is None else builtins.int(num)
    return _finish(
        ops.linspace(builtins.float(start), builtins.float(stop), n, _float_dtype(dtype)), requires_grad
    )


def eye(
    n: int,
    m: int | None = None,
    dtype: Any = None,
    requires_grad: bool = False,
    *,
    device: Any = None,
) -> Tensor:
    """The identity matrix: (n, m), m defaulting to n."""
    check_device(device, "eye")
    return _finish(ops.eye(n, n if m is None else m, _float_dtype(dtype)), requires_grad)


def rand(
    *shape: Any, generator: Any = None, dtype: Any = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    """Uniform samples in [0, 1) of ``shape`` (ints or one sequence)."""
    check_device(device, "rand")
    dt = _float_dtype(dtype)
    t = random_draw(_shape(shape, "rand"), lambda s: ops.rand(s, dt, generator), "rand")
    return _finish(t, requires_grad)


def randn(
    *shape: Any, generator: Any = None, dtype: Any = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    """Standard normal samples of ``shape`` (ints or one sequence)."""
    check_device(device, "randn")
    dt = _float_dtype(dtype)
    t = random_draw(_shape(shape, "randn"), lambda s: ops.randn(s, dt, generator), "randn")
    return _finish(t, requires_grad)


def randint(
    low: Any,
    high: Any = None,
    size: Any = None,
    *,
    generator: Any = None,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """Uniform integer samples in [low, high) of shape ``size`` (PyTorch's randint(low, high,
    size) and randint(high, size)); int64 unless ``dtype`` (a float dtype casts the draws)."""
    check_device(device, "randint")
    if size is None:
        if high is None:
            raise TypeError(
                "randint: missing the size argument (randint(low, high, size) or randint(high, size))"
            )
        low, high, size = 0, low, high
    elif high is None:
        raise TypeError("randint: missing the high argument")
    lo, hi = _index(low, "randint", "low"), _index(high, "randint", "high")
    t = random_draw(shape_arg(size, "randint"), lambda s: ops.randint(lo, hi, s, generator), "randint")
    dt = as_dtype(dtype)
    if dt is not None and dt != int64:
        t = ops.cast(t, dt)
    return _finish(t, requires_grad)


def _index(v: Any, op: str, arg: str) -> int:
    if isinstance(v, (builtins.bool, np.bool_)) or not hasattr(v, "__index__"):
        raise TypeError(f"{op}: {arg} must be an int, got {type(v).__name__}")
    return builtins.int(v.__index__())


def randperm(
    n: int, *, generator: Any = None, dtype: Any = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    """A random permutation of 0..n-1: (n,) int64 (or ``dtype``)."""
    check_device(device, "randperm")
    k = _index(n, "randperm", "n")
    if k < 0:
        raise ValueError(f"randperm: n must be >= 0, got {n}")
    t = ops.randperm(k, generator)
    dt = as_dtype(dtype)
    if dt is not None and dt != int64:
        t = ops.cast(t, dt)
    return _finish(t, requires_grad)


def tensor_arg(x: Any, op: str, arg: str, like: Tensor | None = None) -> Tensor:
    """The one conversion of a public function's tensor argument: Tensors pass through,
    array-likes are converted, anything else is a TypeError naming the op and the
    argument (never an AttributeError from deep inside)."""
    if isinstance(x, Tensor):
        return x
    try:
        return as_tensor(x, like=like)
    except (TypeError, ValueError) as e:
        raise TypeError(
            f"{op}: argument '{arg}' must be a Tensor or an array-like of numbers, got "
            f"{type(x).__name__} ({e})"
        ) from None


def _like(name: str, t: Any, dtype: Any, device: Any) -> tuple[Tensor, Any]:
    check_device(device, name)
    t = tensor_arg(t, name, "input")
    return t, dtype or t.dtype


def zeros_like(t: Tensor, dtype: Any = None, requires_grad: bool = False, *, device: Any = None) -> Tensor:
    """Zeros of t's shape (and dtype unless given)."""
    t, dt = _like("zeros_like", t, dtype, device)
    return zeros(t.shape, dtype=dt, requires_grad=requires_grad)


def empty_like(t: Tensor, dtype: Any = None, requires_grad: bool = False, *, device: Any = None) -> Tensor:
    """A tensor of t's shape (and dtype unless given); fastgrad fills it with 0."""
    t, dt = _like("empty_like", t, dtype, device)
    return zeros(t.shape, dtype=dt, requires_grad=requires_grad)


def ones_like(t: Tensor, dtype: Any = None, requires_grad: bool = False, *, device: Any = None) -> Tensor:
    """Ones of t's shape (and dtype unless given)."""
    t, dt = _like("ones_like", t, dtype, device)
    return ones(t.shape, dtype=dt, requires_grad=requires_grad)


def full_like(
    t: Tensor, fill_value: float, dtype: Any = None, requires_grad: bool = False, *, device: Any = None
) -> Tensor:
    """``fill_value`` in t's shape (and dtype unless given)."""
    t, dt = _like("full_like", t, dtype, device)
    return full(t.shape, fill_value, dtype=dt, requires_grad=requires_grad)


def randn_like(t: Tensor, dtype: Any = None, requires_grad: bool = False, *, device: Any = None) -> Tensor:
    """Standard normal samples of t's shape (and dtype unless given)."""
    t, dt = _like("randn_like", t, dtype, device)
    return randn(t.shape, dtype=dt, requires_grad=requires_grad)


def rand_like(t: Tensor, dtype: Any = None, requires_grad: bool = False, *, device: Any = None) -> Tensor:
    """Uniform [0, 1) samples of t's shape (and dtype unless given)."""
    t, dt = _like("rand_like", t, dtype, device)
    return rand(t.shape, dtype=dt, requires_grad=requires_grad)


def as_tensor(x: Any, dtype: Any = None, device: Any = None, *, like: Tensor | None = None) -> Tensor:
    """Tensors pass through (cast when ``dtype`` differs); anything else is converted (to
    ``like``'s float dtype when given, else by fg.tensor's rules or to ``dtype``)."""
    check_device(device, "as_tensor")
    if isinstance(dtype, Tensor):  # the older positional form as_tensor(x, like)
        dtype, like = None, dtype
    dt = as_dtype(dtype)
    if isinstance(x, Tensor):
        return x if dt is None or dt == x.dtype else ops.cast(x, dt)
    if like is not None and dt is None:
        return ops.to_tensor(x, like)
    return tensor(x, dtype=dt)


array = tensor
asarray = as_tensor


def is_tensor(obj: Any) -> bool:
    """Whether obj is a fastgrad Tensor (torch.is_tensor)."""
    return isinstance(obj, Tensor)


def numel(x: Any) -> int:
    """The number of elements of x (a Tensor or an array-like)."""
    return tensor_arg(x, "numel", "input").numel()


def ndim(x: Any) -> int:
    """The number of axes of x (NumPy's np.ndim)."""
    return builtins.int(tensor_arg(x, "ndim", "input").ndim)


def shape(x: Any) -> tuple:
    """The shape of x as a tuple (NumPy's np.shape)."""
    return tuple(tensor_arg(x, "shape", "input").shape)


# ---------------------------------------------------------------- Tensor conversions
_TYPE_NAMES = {float32: "FloatTensor", float64: "DoubleTensor", int64: "LongTensor", bool_: "BoolTensor"}
_TYPE_BY_NAME = {**{v: k for k, v in _TYPE_NAMES.items()}, "IntTensor": int64}


def _to(self: Tensor, *args: Any, non_blocking: bool = False, copy: bool = False, **kwargs: Any) -> Tensor:
    """to(device=None, dtype=None, non_blocking=False, copy=False) -> Tensor (also to(dtype),
    to(other): other's dtype)

    x in that dtype (x itself when nothing changes, unless copy); the device must be the CPU
    (fg.device('cpu'), "cpu", a torch.device('cpu')). Same shape; differentiable between float
    dtypes."""
    dev, dt = kwargs.pop("device", None), kwargs.pop("dtype", None)
    if kwargs:
        raise TypeError(f"to: unexpected keyword arguments {sorted(kwargs)}")
    for a in args:
        if isinstance(a, Tensor):
            dt = a.dtype
        elif isinstance(a, ops.dtype) or (a is not None and not isinstance(a, str) and _is_dtype(a)):
            dt = a
        else:
            dev = a
    check_device(dev, "to")
    d = as_dtype(dt)
    out = self if d is None or d == self.dtype else self.astype(d)
    return out.clone() if copy and out is self else out


def _is_dtype(a: Any) -> bool:
    if getattr(a, "type", None) is not None and getattr(a, "index", "x") != "x":
        return False  # a device object
    try:
        as_dtype(a)
        return True
    except TypeError:
        return False


def _cpu(self: Tensor) -> Tensor:
    """cpu() -> Tensor\n\nx itself (fastgrad tensors live in CPU memory)."""
    return self


def _cuda(self: Tensor, *args: Any, **kwargs: Any) -> Tensor:
    """cuda() -> Tensor\n\nAlways raises: fastgrad runs on the CPU only."""
    raise ValueError("cuda: fastgrad runs on the CPU only (use .cpu() or device='cpu')")


def _type(self: Tensor, dtype: Any = None, non_blocking: bool = False) -> Any:
    """type(dtype=None) -> str | Tensor

    No argument: the type name as PyTorch spells it ('fastgrad.FloatTensor', ...). With a dtype
    (or a name such as 'torch.DoubleTensor'): x converted to it (same shape)."""
    if dtype is None:
        return "fastgrad." + _TYPE_NAMES[self.dtype]
    if isinstance(dtype, str) and dtype.rpartition(".")[2] in _TYPE_BY_NAME:
        dtype = _TYPE_BY_NAME[dtype.rpartition(".")[2]]
    d = as_dtype(dtype)
    return self if d is None or d == self.dtype else self.astype(d)


def _new(name: str, self: Tensor, dtype: Any, device: Any) -> Any:
    check_device(device, name)
    return dtype or self.dtype


def _new_zeros(
    self: Tensor, *size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    """new_zeros(*size, dtype=None, device=None, requires_grad=False) -> Tensor\n\nZeros of size in
    x's dtype (unless given)."""
    return zeros(*size, dtype=_new("new_zeros", self, dtype, device), requires_grad=requires_grad)


def _new_ones(
    self: Tensor, *size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    """new_ones(*size, dtype=None, device=None, requires_grad=False) -> Tensor\n\nOnes of size in
    x's dtype (unless given)."""
    return ones(*size, dtype=_new("new_ones", self, dtype, device), requires_grad=requires_grad)


def _new_empty(
    self: Tensor, *size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    """new_empty(*size, dtype=None, device=None, requires_grad=False) -> Tensor\n\nA tensor of size in
    x's dtype (unless given), filled with 0."""
    return zeros(*size, dtype=_new("new_empty", self, dtype, device), requires_grad=requires_grad)


def _new_full(
    self: Tensor,
    size: Any,
    fill_value: Any,
    *,
    dtype: Any = None,
    device: Any = None,
    requires_grad: bool = False,
) -> Tensor:
    """new_full(size, fill_value, dtype=None, device=None, requires_grad=False) -> Tensor\n\n
    fill_value in shape size, x's dtype (unless given)."""
    return full(size, fill_value, dtype=_new("new_full", self, dtype, device), requires_grad=requires_grad)


def _new_tensor(
    self: Tensor, data: Any, *, dtype: Any = None, device: Any = None, requires_grad: bool = False
) -> Tensor:
    """new_tensor(data, dtype=None, device=None, requires_grad=False) -> Tensor\n\nA copy of data
    in x's dtype (unless given); data's shape."""
    return tensor(data, dtype=_new("new_tensor", self, dtype, device), requires_grad=requires_grad)


def _leaf_as(cls: type, t: Tensor, requires_grad: bool, state: Any) -> Tensor:
    # A leaf of type cls sharing t's storage (Parameter and user subclasses included).
    if cls is not Tensor:
        sub: Tensor = Tensor.__new__(cls)
        Tensor.__init__(sub, t)
        t = sub
    t.requires_grad = requires_grad
    if state:
        t.__dict__.update(state)
    return t


def _rebuild_tensor(cls: type, data: np.ndarray, requires_grad: bool, state: Any) -> Tensor:
    """Unpickles what ``Tensor.__reduce_ex__`` saved: a graph leaf of type ``cls`` holding ``data``."""
    return _leaf_as(cls, tensor(data), requires_grad, state)


def _copy(self: Tensor) -> Tensor:
    """copy.copy: a leaf sharing this tensor's storage, with its requires_grad (as torch)."""
    return _leaf_as(type(self), self.detach(), self.requires_grad, dict(getattr(self, "__dict__", {})))


def _reduce_ex(self: Tensor, protocol: int) -> tuple:
    # As torch: the values, dtype, shape, requires_grad and a subclass's attributes travel; the
    # graph and .grad do not (the result is a leaf). NumPy pickles the (copied) buffer.
    state = getattr(self, "__dict__", None) or None
    return (_rebuild_tensor, (type(self), np.array(self.detach().numpy()), self.requires_grad, state))


def _deepcopy(self: Tensor, memo: dict) -> Tensor:
    """copy.deepcopy: a new leaf with copied values, requires_grad and a deep-copied .grad
    (as torch); tensors shared inside the copied object stay shared (the memo)."""
    import copy

    if id(self) in memo:
        return memo[id(self)]
    if not self.is_leaf:
        raise RuntimeError(
            "deepcopy: only graph leaves (tensors created by the user) can be deep-copied, as in PyTorch; "
            f"this tensor of shape {tuple(self.shape)} is the result of an op (detach() it first)"
        )
    cls, args = _reduce_ex(self, 4)
    new = cls(args[0], args[1], args[2], copy.deepcopy(args[3], memo))
    memo[id(self)] = new
    if self.grad is not None:
        new.grad = copy.deepcopy(self.grad, memo)
    return new


for _name, _fn in {
    "__reduce_ex__": _reduce_ex,
    "__deepcopy__": _deepcopy,
    "__copy__": _copy,
    "to": _to,
    "cpu": _cpu,
    "cuda": _cuda,
    "type": _type,
    "new_zeros": _new_zeros,
    "new_ones": _new_ones,
    "new_empty": _new_empty,
    "new_full": _new_full,
    "new_tensor": _new_tensor,
}.items():
    _fn.__name__ = _fn.__qualname__ = _name
    setattr(Tensor, _name, _fn)


#: ``(values, indices)`` of ``x.max(dim)`` / ``x.min(dim)``, as PyTorch's return type.
MaxMinResult = ops.MaxMinResult
