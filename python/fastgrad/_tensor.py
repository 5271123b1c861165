"""Tensor factories, dtypes and indexing, written over :mod:`fastgrad.ops`.

The Tensor type, its operators, methods and Python protocol are bound in C++
(cpp/bindings); the factories here parse Python data (nested lists, dtypes, ``*shape``)
and call the bound primitives. Indexing (``__getitem__``/``__setitem__``) is still
Python: its key parsing has not been ported to C++ yet.
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


# ---------------------------------------------------------------- indexing
def _index_tensor(k: Any) -> Tensor | None:
    """Integer or boolean array-likes used as indices, as fg tensors (else None)."""
    if isinstance(k, Tensor):
        if k.dtype in (int64, bool_):
            return k
        raise IndexError(f"tensors used as indices must be int64 or bool, got {k.dtype}")
    if isinstance(k, (list, np.ndarray)):
        a = np.asarray(k)
        if a.dtype == np.bool_:
            return ops.from_array_copy(a, bool_)
        if a.size == 0:
            return ops.from_array_copy(a.astype(np.int64), int64)
        if np.issubdtype(a.dtype, np.integer):
            return ops.from_array_copy(a.astype(np.int64), int64)
        raise IndexError(f"arrays used as indices must be integer or bool, got {a.dtype}")
    return None


def _slice_dim(x: Tensor, d: int, start: int, stop: int, step: int) -> Tensor:
    spec = [(0, n, 1) for n in x.shape]
    spec[d] = (start, stop, step)
    return ops.slice(x, spec)


def _getitem(self: Tensor, key: Any) -> Tensor:
    if not isinstance(key, tuple):
        key = (key,)
    keys = [
        (_index_tensor(k) if not isinstance(k, (int, np.integer, slice, type(None), type(Ellipsis))) else k)
        for k in key
    ]
    for k, orig in zip(keys, key):
        if k is None and orig is not None:
            raise IndexError(f"unsupported index type {type(orig).__name__}")
    consumed = sum(
        (k.ndim if k.dtype == bool_ else 1)
        if isinstance(k, Tensor)
        else (0 if k is None or k is Ellipsis else 1)
        for k in keys
    )
    if sum(k is Ellipsis for k in keys) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    if consumed > self.ndim:
        raise IndexError(f"too many indices for tensor of shape {self.shape}: {consumed} given")
    x, d, adv = self, 0, []
    for k in keys:
        if k is Ellipsis:
            d += self.ndim - consumed - 0
            consumed = self.ndim  # only the first ellipsis expands
        elif k is None:
            x = ops.unsqueeze(x, d)
            d += 1
        elif isinstance(k, slice):
            start, stop, step = k.indices(x.shape[d])
            if step <= 0:
                raise IndexError("negative slice steps are not supported")
            x = _slice_dim(x, d, start, max(stop, start), step)
            d += 1
        elif isinstance(k, (int, np.integer)):
            n = x.shape[d]
            i = int(k) + n if k < 0 else int(k)
            if not 0 <= i < n:
                raise IndexError(
                    f"index {int(k)} is out of bounds for axis {d} with size {n} (shape {self.shape})"
                )
            x = ops.squeeze(_slice_dim(x, d, i, i + 1, 1), d)
        else:
            span = k.ndim if k.dtype == bool_ else 1
            adv.append((d, k))
            d += span
    if not adv:
        return x
    return _advanced(x, adv)


def _advanced(x: Tensor, adv: list) -> Tensor:
    """Integer-array and bool-mask indexing via index_select on merged axes."""
    if len(adv) == 1 and adv[0][1].dtype == bool_:
        d, mask = adv[0]
        if tuple(x.shape[d : d + mask.ndim]) != tuple(mask.shape):
            raise IndexError(
                f"boolean index of shape {mask.shape} does not match tensor dims {x.shape[d : d + mask.ndim]}"
            )
        merged = _merge(x, d, mask.ndim)
        return ops.index_select(merged, d, ops.nonzero_flat(mask))
    if any(k.dtype == bool_ for _, k in adv):
        adv = [(d, ops.reshape(ops.nonzero_flat(k), [-1]) if k.dtype == bool_ else k) for d, k in adv]
        if any(a[1].ndim != 1 for a in adv):
            raise IndexError("mixing boolean masks with other advanced indices is not supported")
    dims = [d for d, _ in adv]
    if dims != list(range(dims[0], dims[0] + len(dims))):
        raise IndexError("advanced indices must be on adjacent axes")
    d0 = dims[0]
    idx: Sequence[np.ndarray] = [np.asarray(k) for _, k in adv]
    try:
        idx = np.broadcast_arrays(*idx)
    except ValueError:
        raise IndexError(
            f"shape mismatch: index arrays of shapes {[i.shape for i in idx]} cannot be broadcast"
        ) from None
    lin = np.zeros(idx[0].shape, dtype=np.int64)
    for j, i in enumerate(idx):
        n = x.shape[d0 + j]
        if i.size and (i.min() < -n or i.max() >= n):
            raise IndexError(f"index out of bounds for axis {d0 + j} with size {n} (shape {x.shape})")
        lin = lin * n + np.where(i < 0, i + n, i)
    merged = _merge(x, d0, len(idx))
    return ops.index_select(merged, d0, ops.from_array_copy(lin, int64))


def _merge(x: Tensor, d: int, n: int) -> Tensor:
    shape = list(x.shape)
    size = int(np.prod(shape[d : d + n])) if n else 1
    return ops.reshape(x, shape[:d] + [size] + shape[d + n :])


def _setitem(self: Tensor, key: Any, value: Any) -> None:
    if isinstance(key, Tensor):
        key = np.asarray(key)
    elif isinstance(key, tuple):
        key = tuple(np.asarray(k) if isinstance(k, Tensor) else k for k in key)
    vt = isinstance(value, Tensor)
    if (
        (ops.grad_enabled() and (self.requires_grad or (vt and value.requires_grad)))
        or self._has_tangents
        or (vt and value._has_tangents)
    ):
        # Recorded on the tape (and pushed forward) like every in-place op; C++ inplace_
        # checks the rules.
        self._inplace_apply("__setitem__", lambda old: _scatter(old, key, value))
        return
    if vt and value.dtype != self.dtype:
        # fastgrad's cast (NaN -> 0, saturating at the int64 bounds, canonical bools), the
        # same as copy_ and astype; NumPy's assignment cast made NaN INT64_MIN here.
        value = ops.cast(value, self.dtype)
    v = np.asarray(value) if vt else value
    np.asarray(self)[key] = v
    self._bump_version()


def _scatter(old: Tensor, key: Any, value: Any) -> Tensor:
    """``old`` with ``value`` written at ``key``, out of place and differentiable in both."""
    n, shape = old.size, list(old.shape)
    pos = np.arange(n, dtype=np.int64).reshape(shape)[key]
    val = value if isinstance(value, Tensor) else ops.to_tensor(value, old)
    if val.dtype != old.dtype:
        val = ops.cast(val, old.dtype)
    flat = np.asarray(pos, dtype=np.int64).reshape(-1)
    vflat = ops.reshape(ops.expand(val, list(np.shape(pos))), [-1])
    # Repeated positions: the last write wins (NumPy's order).
    uniq, first_rev = np.unique(flat[::-1], return_index=True)
    keep = (flat.size - 1 - first_rev).astype(np.int64)
    placed = ops.index_add(
        ops.index_select(vflat, 0, ops.from_array_copy(keep, int64)),
        [n],
        0,
        ops.from_array_copy(uniq.astype(np.int64), int64),
    )
    mask = np.zeros(n, dtype=np.bool_)
    mask[uniq] = True
    return ops.where(ops.from_array_copy(mask.reshape(shape), bool_), ops.reshape(placed, shape), old)


def _install() -> None:
    # Indexing is the one part of the Tensor surface still written in Python (its key
    # parsing is not yet ported to C++); everything else is bound in cpp/bindings.
    Tensor.__getitem__ = _getitem
    Tensor.__setitem__ = _setitem


#: ``(values, indices)`` of ``x.max(dim)`` / ``x.min(dim)``, as PyTorch's return type.
MaxMinResult = ops.MaxMinResult

_install()
