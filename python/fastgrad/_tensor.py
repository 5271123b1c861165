"""Tensor factories and dtypes, written over :mod:`fastgrad.ops`.

The Tensor type, its operators, methods, indexing and Python protocol are bound in C++
(cpp/bindings); the factories here parse Python data (nested lists, dtypes, ``*shape``)
and call the bound primitives.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from . import _trace, ops
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
def tensor(data: Any, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Copies ``data`` (numbers, nested lists, NumPy arrays, buffers, Tensors).

    Python floats become float32 (as PyTorch); NumPy arrays keep float64.
    """
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
        if dtype is None and arr.dtype == np.float64 and not isinstance(data, np.ndarray):
            dtype = float32
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


def zeros(*shape: Any, dtype: Any = float32, requires_grad: bool = False) -> Tensor:
    """A tensor of ``shape`` (ints or one sequence) filled with 0."""
    return _finish(ops.full(_shape(shape, "zeros"), 0.0, as_dtype(dtype) or float32), requires_grad)


def ones(*shape: Any, dtype: Any = float32, requires_grad: bool = False) -> Tensor:
    """A tensor of ``shape`` (ints or one sequence) filled with 1."""
    return _finish(ops.full(_shape(shape, "ones"), 1.0, as_dtype(dtype) or float32), requires_grad)


def _number(v: Any) -> Any:
    """Python ints stay ints (exact for int64 up to 2**63 - 1); anything else is a float."""
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, Tensor) and v.dtype in (int64, bool_):
        return int(v.item())
    return float(v)


def full(shape: Any, fill_value: float, dtype: Any = float32, requires_grad: bool = False) -> Tensor:
    """A tensor of ``shape`` (an int or a sequence) filled with ``fill_value``. An int ``fill_value`` fills int64 tensors exactly; a float one must be finite and in
    range for int64 (RuntimeError otherwise, as PyTorch)."""
    shape = shape_arg((shape,) if isinstance(shape, int) else shape, "full")
    return _finish(ops.full(shape, _number(fill_value), as_dtype(dtype) or float32), requires_grad)


def arange(
    start: Any, stop: Any = None, step: Any = 1, dtype: Any = None, requires_grad: bool = False
) -> Tensor:
    """The 1-d tensor ``start, start + step, ...`` below ``stop``: (ceil((stop - start) / step),). All-int arguments are computed exactly in integers (int64 by default)."""
    if stop is None:
        start, stop = 0, start
    if dtype is None:
        dtype = int64 if all(isinstance(v, int) for v in (start, stop, step)) else float32
    return _finish(
        ops.arange(_number(start), _number(stop), _number(step), as_dtype(dtype) or float32), requires_grad
    )


def linspace(
    start: float, stop: float, num: int = 50, dtype: Any = float32, requires_grad: bool = False
) -> Tensor:
    """``num`` evenly spaced values from ``start`` to ``stop`` inclusive: (num,)."""
    return _finish(
        ops.linspace(float(start), float(stop), int(num), as_dtype(dtype) or float32), requires_grad
    )


def eye(n: int, m: int | None = None, dtype: Any = float32, requires_grad: bool = False) -> Tensor:
    """The identity matrix: (n, m), m defaulting to n."""
    return _finish(ops.eye(n, n if m is None else m, as_dtype(dtype) or float32), requires_grad)


def rand(*shape: Any, dtype: Any = float32, requires_grad: bool = False) -> Tensor:
    """Uniform samples in [0, 1) of ``shape`` (ints or one sequence)."""
    return _finish(ops.rand(_shape(shape, "rand"), as_dtype(dtype) or float32), requires_grad)


def randn(*shape: Any, dtype: Any = float32, requires_grad: bool = False) -> Tensor:
    """Standard normal samples of ``shape`` (ints or one sequence)."""
    return _finish(ops.randn(_shape(shape, "randn"), as_dtype(dtype) or float32), requires_grad)


def randint(low: int, high: int, shape: Sequence[int]) -> Tensor:
    """Uniform int64 samples in [low, high) of ``shape``."""
    return ops.randint(int(low), int(high), shape_arg(shape, "randint"))


def randperm(n: int) -> Tensor:
    """A random permutation of 0..n-1: (n,) int64."""
    if int(n) < 0:
        raise ValueError(f"randperm: n must be >= 0, got {n}")
    return ops.randperm(int(n))


def tensor_arg(x: Any, op: str, arg: str, like: Tensor | None = None) -> Tensor:
    """The one conversion of a public function's tensor argument: Tensors pass through,
    array-likes are converted, anything else is a TypeError naming the op and the
    argument (never an AttributeError from deep inside)."""
    if isinstance(x, Tensor):
        return x
    try:
        return as_tensor(x, like)
    except (TypeError, ValueError) as e:
        raise TypeError(
            f"{op}: argument '{arg}' must be a Tensor or an array-like of numbers, got "
            f"{type(x).__name__} ({e})"
        ) from None


def zeros_like(t: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Zeros of t's shape (and dtype unless given)."""
    t = tensor_arg(t, "zeros_like", "input")
    return zeros(t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad)


def ones_like(t: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Ones of t's shape (and dtype unless given)."""
    t = tensor_arg(t, "ones_like", "input")
    return ones(t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad)


def full_like(t: Tensor, fill_value: float, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """``fill_value`` in t's shape (and dtype unless given)."""
    t = tensor_arg(t, "full_like", "input")
    return full(t.shape, fill_value, dtype=dtype or t.dtype, requires_grad=requires_grad)


def randn_like(t: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Standard normal samples of t's shape (and dtype unless given)."""
    t = tensor_arg(t, "randn_like", "input")
    return randn(t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad)


def rand_like(t: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Uniform [0, 1) samples of t's shape (and dtype unless given)."""
    t = tensor_arg(t, "rand_like", "input")
    return rand(t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad)


def as_tensor(x: Any, like: Tensor | None = None) -> Tensor:
    """Tensors pass through; anything else is converted (to ``like``'s float dtype)."""
    if isinstance(x, Tensor):
        return x
    if like is not None:
        return ops.to_tensor(x, like)
    return tensor(x)


#: ``(values, indices)`` of ``x.max(dim)`` / ``x.min(dim)``, as PyTorch's return type.
MaxMinResult = ops.MaxMinResult
