"""Python-side conveniences of :class:`fastgrad.Tensor` and the tensor factories.

The Tensor type itself, its arithmetic and its math methods live in C++ (``_C``);
what is here is argument handling that reads better in Python: indexing, repr,
shape methods taking ``*dims``, and factories.
"""

from __future__ import annotations

import collections
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from . import _C, _trace
from ._C import Tensor

float32 = _C.dtype.float32
float64 = _C.dtype.float64
int64 = _C.dtype.int64
bool_ = _C.dtype.bool

_NP_DTYPE = {float32: np.float32, float64: np.float64, int64: np.int64, bool_: np.bool_}


def as_dtype(dtype: Any) -> _C.dtype | None:
    """Accepts fg dtypes, NumPy dtypes and their names."""
    if dtype is None or isinstance(dtype, _C.dtype):
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
    return _finish(_C._from_array_copy(arr, dtype), requires_grad)


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
    return _C.from_numpy(a)


def zeros(*shape, dtype=float32, requires_grad: bool = False) -> Tensor:
    return _finish(_C.full(_shape(shape, "zeros"), 0.0, as_dtype(dtype) or float32), requires_grad)


def ones(*shape, dtype=float32, requires_grad: bool = False) -> Tensor:
    return _finish(_C.full(_shape(shape, "ones"), 1.0, as_dtype(dtype) or float32), requires_grad)


def _number(v: Any) -> Any:
    """Python ints stay ints (exact for int64 up to 2**63 - 1); anything else is a float."""
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, Tensor) and v.dtype in (int64, bool_):
        return int(_item(v))
    return float(v)


def full(shape, fill_value: float, dtype=float32, requires_grad: bool = False) -> Tensor:
    """An int ``fill_value`` fills int64 tensors exactly; a float one must be finite and in
    range for int64 (RuntimeError otherwise, as PyTorch)."""
    shape = shape_arg((shape,) if isinstance(shape, int) else shape, "full")
    return _finish(_C.full(shape, _number(fill_value), as_dtype(dtype) or float32), requires_grad)


def arange(start, stop=None, step=1, dtype=None, requires_grad: bool = False) -> Tensor:
    """All-int arguments are computed exactly in integers (int64 by default)."""
    if stop is None:
        start, stop = 0, start
    if dtype is None:
        dtype = int64 if all(isinstance(v, int) for v in (start, stop, step)) else float32
    return _finish(
        _C.arange(_number(start), _number(stop), _number(step), as_dtype(dtype) or float32), requires_grad
    )


def linspace(start: float, stop: float, num: int = 50, dtype=float32, requires_grad: bool = False) -> Tensor:
    return _finish(
        _C.linspace(float(start), float(stop), int(num), as_dtype(dtype) or float32), requires_grad
    )


def eye(n: int, m: int | None = None, dtype=float32, requires_grad: bool = False) -> Tensor:
    return _finish(_C.eye(n, n if m is None else m, as_dtype(dtype) or float32), requires_grad)


def rand(*shape, dtype=float32, requires_grad: bool = False) -> Tensor:
    return _finish(_C.rand(_shape(shape, "rand"), as_dtype(dtype) or float32), requires_grad)


def randn(*shape, dtype=float32, requires_grad: bool = False) -> Tensor:
    return _finish(_C.randn(_shape(shape, "randn"), as_dtype(dtype) or float32), requires_grad)


def randint(low: int, high: int, shape: Sequence[int]) -> Tensor:
    return _C.randint(int(low), int(high), shape_arg(shape, "randint"))


def randperm(n: int) -> Tensor:
    if int(n) < 0:
        raise ValueError(f"randperm: n must be >= 0, got {n}")
    return _C.randperm(int(n))


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


def zeros_like(t: Tensor, dtype=None, requires_grad: bool = False) -> Tensor:
    t = tensor_arg(t, "zeros_like", "input")
    return zeros(t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad)


def ones_like(t: Tensor, dtype=None, requires_grad: bool = False) -> Tensor:
    t = tensor_arg(t, "ones_like", "input")
    return ones(t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad)


def full_like(t: Tensor, fill_value: float, dtype=None, requires_grad: bool = False) -> Tensor:
    t = tensor_arg(t, "full_like", "input")
    return full(t.shape, fill_value, dtype=dtype or t.dtype, requires_grad=requires_grad)


def randn_like(t: Tensor, dtype=None, requires_grad: bool = False) -> Tensor:
    t = tensor_arg(t, "randn_like", "input")
    return randn(t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad)


def rand_like(t: Tensor, dtype=None, requires_grad: bool = False) -> Tensor:
    t = tensor_arg(t, "rand_like", "input")
    return rand(t.shape, dtype=dtype or t.dtype, requires_grad=requires_grad)


def as_tensor(x: Any, like: Tensor | None = None) -> Tensor:
    """Tensors pass through; anything else is converted (to ``like``'s float dtype)."""
    if isinstance(x, Tensor):
        return x
    if like is not None:
        return _C.to_tensor(x, like)
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
            return _C._from_array_copy(a, bool_)
        if a.size == 0:
            return _C._from_array_copy(a.astype(np.int64), int64)
        if np.issubdtype(a.dtype, np.integer):
            return _C._from_array_copy(a.astype(np.int64), int64)
        raise IndexError(f"arrays used as indices must be integer or bool, got {a.dtype}")
    return None


def _slice_dim(x: Tensor, d: int, start: int, stop: int, step: int) -> Tensor:
    spec = [(0, n, 1) for n in x.shape]
    spec[d] = (start, stop, step)
    return _C.slice(x, spec)


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
            x = _C.unsqueeze(x, d)
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
            x = _C.squeeze(_slice_dim(x, d, i, i + 1, 1), d)
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
        return _C.index_select(merged, d, _C.nonzero_flat(mask))
    if any(k.dtype == bool_ for _, k in adv):
        adv = [(d, _C.reshape(_C.nonzero_flat(k), [-1]) if k.dtype == bool_ else k) for d, k in adv]
        if any(a[1].ndim != 1 for a in adv):
            raise IndexError("mixing boolean masks with other advanced indices is not supported")
    dims = [d for d, _ in adv]
    if dims != list(range(dims[0], dims[0] + len(dims))):
        raise IndexError("advanced indices must be on adjacent axes")
    d0 = dims[0]
    idx = [np.asarray(k) for _, k in adv]
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
    return _C.index_select(merged, d0, _C._from_array_copy(lin, int64))


def _merge(x: Tensor, d: int, n: int) -> Tensor:
    shape = list(x.shape)
    size = int(np.prod(shape[d : d + n])) if n else 1
    return _C.reshape(x, shape[:d] + [size] + shape[d + n :])


def _setitem(self: Tensor, key: Any, value: Any) -> None:
    if isinstance(key, Tensor):
        key = np.asarray(key)
    elif isinstance(key, tuple):
        key = tuple(np.asarray(k) if isinstance(k, Tensor) else k for k in key)
    vt = isinstance(value, Tensor)
    if (
        (_C.grad_enabled() and (self.requires_grad or (vt and value.requires_grad)))
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
        value = _C.cast(value, self.dtype)
    v = np.asarray(value) if vt else value
    np.asarray(self)[key] = v
    self._bump_version()


def _scatter(old: Tensor, key: Any, value: Any) -> Tensor:
    """``old`` with ``value`` written at ``key``, out of place and differentiable in both."""
    n, shape = old.size, list(old.shape)
    pos = np.arange(n, dtype=np.int64).reshape(shape)[key]
    val = value if isinstance(value, Tensor) else _C.to_tensor(value, old)
    if val.dtype != old.dtype:
        val = _C.cast(val, old.dtype)
    flat = np.asarray(pos, dtype=np.int64).reshape(-1)
    vflat = _C.reshape(_C.expand(val, list(np.shape(pos))), [-1])
    # Repeated positions: the last write wins (NumPy's order).
    uniq, first_rev = np.unique(flat[::-1], return_index=True)
    keep = (flat.size - 1 - first_rev).astype(np.int64)
    placed = _C.index_add(
        _C.index_select(vflat, 0, _C._from_array_copy(keep, int64)),
        [n],
        0,
        _C._from_array_copy(uniq.astype(np.int64), int64),
    )
    mask = np.zeros(n, dtype=np.bool_)
    mask[uniq] = True
    return _C.where(_C._from_array_copy(mask.reshape(shape), bool_), _C.reshape(placed, shape), old)


# ---------------------------------------------------------------- methods
def _repr(self: Tensor) -> str:
    # detached: printing a value inside a transform is not a conversion off the graph
    body = np.array2string(np.asarray(self.detach()), separator=", ", prefix="tensor(")
    extra = "" if self.dtype == float32 else f", dtype=fastgrad.{self.dtype.name}"
    if self.grad_fn is not None:
        extra += f", grad_fn={self.grad_fn}"
    elif self.requires_grad:
        extra += ", requires_grad=True"
    return f"tensor({body}{extra})"


def _dims(args: tuple) -> list:
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        return list(args[0])
    return list(args)


def _converted(what: str):
    """Python/NumPy conversions check, while a transform traces f, that the tensor does
    not carry its derivative (see _trace.py); the buffer protocol checks np.asarray."""

    def check(self: Tensor) -> None:
        if _trace._tl.traces:
            _trace.check_conversion(self, what)

    return check


_check_item, _check_float, _check_int, _check_bool = (
    _converted(w) for w in (".item()", "float()", "int()", "bool()")
)
_check_numpy, _check_tolist = _converted(".numpy()"), _converted(".tolist()")


def _array(self: Tensor, dtype: Any = None, copy: Any = None) -> np.ndarray:
    """NumPy calls this only when the buffer protocol refused the tensor, which it does
    (and NumPy swallows) for a value carrying a tracing transform's derivative: raise
    here, where the error reaches the caller."""
    _trace.check_conversion(self, "np.asarray/np.array")
    a = np.asarray(self.detach())
    return a if dtype is None else a.astype(dtype, copy=False)


def _item(self: Tensor, _check=_check_item):
    _check(self)
    if self.size != 1:
        raise ValueError(
            f"item: only one-element tensors can be converted to Python scalars, got shape {self.shape}"
        )
    return np.asarray(self).reshape(()).item()


def _transpose(self: Tensor, a: int = -2, b: int = -1) -> Tensor:
    return _C.transpose(self, a, b)


def _T(self: Tensor) -> Tensor:
    return _C.permute(self, list(range(self.ndim))[::-1])


def _requires_grad_(self: Tensor, requires_grad: bool = True) -> Tensor:
    self.requires_grad = requires_grad
    return self


def _iter(self: Tensor) -> Iterable[Tensor]:
    if self.ndim == 0:
        raise TypeError("iteration over a 0-d tensor")
    return (self[i] for i in range(self.shape[0]))


def _install() -> None:
    T = Tensor
    T.__getitem__ = _getitem
    T.__setitem__ = _setitem
    T.__repr__ = _repr
    T.__str__ = _repr
    T.__iter__ = _iter
    T.__array_ufunc__ = None  # NumPy defers to Tensor's reflected operators
    T.__bool__ = lambda self: bool(_item(self, _check_bool))
    T.__float__ = lambda self: float(_item(self, _check_float))
    T.__int__ = lambda self: int(_item(self, _check_int))
    T.__index__ = lambda self: (
        int(_item(self))
        if self.dtype == int64
        else (_ for _ in ()).throw(TypeError("only int64 scalars can be indices"))
    )
    T.__array__ = _array
    T.numpy = lambda self: (_check_numpy(self), np.asarray(self))[1]
    T.tolist = lambda self: (_check_tolist(self), np.asarray(self).tolist())[1]
    T.item = _item
    T.T = property(_T)
    T.mT = property(lambda self: _C.transpose(self, -2, -1))
    T.reshape = lambda self, *shape: _C.reshape(self, _dims(shape))
    T.view = T.reshape
    T.transpose = _transpose
    T.permute = lambda self, *dims: _C.permute(self, _dims(dims))
    T.flatten = lambda self, start=0, end=-1: _C.flatten(self, start, end)
    T.squeeze = lambda self, axis=None: _C.squeeze(self, axis)
    T.unsqueeze = lambda self, axis: _C.unsqueeze(self, axis)
    T.expand = lambda self, *shape: _C.expand(
        self,
        [self.shape[i - len(_dims(shape)) + self.ndim] if s == -1 else s for i, s in enumerate(_dims(shape))],
    )
    T.broadcast_to = lambda self, shape: _C.expand(self, list(shape))
    T.requires_grad_ = _requires_grad_
    T.float = lambda self: _C.cast(self, float32)
    T.double = lambda self: _C.cast(self, float64)
    T.long = lambda self: _C.cast(self, int64)
    T.var = lambda self, axis=None, correction=1, keepdims=False: _C.var(
        self, axis, float(correction), keepdims
    )
    T.std = lambda self, axis=None, correction=1, keepdims=False: _C.std(
        self, axis, float(correction), keepdims
    )
    T.max = lambda self, axis=None, keepdims=False, **kw: _max_min(self, True, axis, keepdims, **kw)
    T.min = lambda self, axis=None, keepdims=False, **kw: _max_min(self, False, axis, keepdims, **kw)
    T.argmax = lambda self, axis=None, keepdims=False: _C.argmax(self, axis, keepdims)
    T.argmin = lambda self, axis=None, keepdims=False: _C.argmin(self, axis, keepdims)
    T.softmax = lambda self, axis=-1: _C.softmax(self, axis)
    T.log_softmax = lambda self, axis=-1: _C.log_softmax(self, axis)
    T.gelu = lambda self, approximate="none": _C.gelu(self, _approx(approximate))
    T.softplus = lambda self, beta=1.0, threshold=20.0: _C.softplus(self, float(beta), float(threshold))
    T.clip = lambda self, min=None, max=None: _C.clip(self, min, max)
    T.clamp = T.clip
    T.pow = lambda self, e: self**e
    T.matmul = lambda self, other: self @ other
    T.maximum = lambda self, other: _C.maximum(self, as_tensor(other, self))
    T.minimum = lambda self, other: _C.minimum(self, as_tensor(other, self))
    T.__array_priority__ = 1000


#: ``(values, indices)`` of ``x.max(dim)`` / ``x.min(dim)``, as PyTorch's return type.
MaxMinResult = collections.namedtuple("MaxMinResult", ["values", "indices"])


def _max_min(
    x: Tensor, is_max: bool, axis: Any = None, keepdims: bool = False, *, dim: Any = None, keepdim: Any = None
) -> Any:
    """PyTorch's method form: ``x.max()`` is the value, ``x.max(dim)`` the named tuple
    ``(values, indices)`` (first occurrence of ties and NaN, and the gradient flows to that
    entry only, as in PyTorch), ``x.max(other)`` the elementwise maximum."""
    op = "max" if is_max else "min"
    if dim is not None:
        if axis is not None:
            raise TypeError(f"{op}: got both axis and dim")
        axis = dim
    if keepdim is not None:
        keepdims = keepdim
    if isinstance(axis, Tensor):
        return (_C.maximum if is_max else _C.minimum)(x, axis)
    if axis is None:
        return (_C.amax if is_max else _C.amin)(x, None, bool(keepdims))
    if isinstance(axis, (bool, np.bool_)) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{op}: dim must be an int (got {axis!r}); for several axes use fg.amax/fg.amin")
    nd = x.ndim
    a = int(axis)
    if not -max(nd, 1) <= a < max(nd, 1):
        raise IndexError(f"{op}: axis {a} is out of bounds for a tensor of shape {tuple(x.shape)}")
    if nd == 0:
        return MaxMinResult(_C.reshape(x, []), _C._from_array_copy(np.zeros((), np.int64), int64))
    a %= nd
    if x.shape[a] == 0:
        raise ValueError(
            f"{op}: cannot reduce over the empty axis {a} of shape {tuple(x.shape)} (no identity)"
        )
    idx = (_C.argmax if is_max else _C.argmin)(x, a, True)
    coords = list(np.indices(tuple(idx.shape), sparse=True))
    coords[a] = np.asarray(idx)
    lin = np.ravel_multi_index(tuple(coords), tuple(x.shape)).astype(np.int64).reshape(-1)
    values = _C.reshape(
        _C.index_select(_C.reshape(x, [-1]), 0, _C._from_array_copy(lin, int64)), list(idx.shape)
    )
    if not keepdims:
        out = [n for d, n in enumerate(x.shape) if d != a]
        values, idx = _C.reshape(values, out), _C.reshape(idx, out)
    return MaxMinResult(values, idx)


def _approx(approximate: str) -> bool:
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return approximate == "tanh"


_install()
