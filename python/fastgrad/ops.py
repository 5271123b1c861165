"""Functional forms of fastgrad's ops: ``fg.exp(x)``, ``fg.sum(x, axis=0)``, ...

The one module that touches the extension (``_C``). Every op is ONE C++ binding
(cpp/bindings/ops_*.cpp, ``def_op``) that is both ``fg.<op>`` and ``Tensor.<op>``: its
signature, docstring, argument conversion (array-likes, Python numbers) and validation
live there, next to the C++ op. This module re-exports them and adds aliases; nothing
here may wrap an op in Python (a second copy of a signature or a check would drift).
"""

from __future__ import annotations

from . import _C
from ._C import (
    Tensor,
    abs,
    add,
    amax,
    amin,
    argmax,
    argmin,
    broadcast_to,
    clip,
    concat,
    cos,
    div,
    erf,
    exp,
    expand,
    flatten,
    gelu,
    isfinite,
    isnan,
    log,
    log1p,
    log_softmax,
    logsumexp,
    matmul,
    maximum,
    mean,
    minimum,
    mul,
    neg,
    pad,
    permute,
    pow,
    prod,
    relu,
    reshape,
    sigmoid,
    sign,
    silu,
    sin,
    softmax,
    softplus,
    split,
    sqrt,
    squeeze,
    stack,
    std,
    sub,
    sum,
    tanh,
    transpose,
    unsqueeze,
    var,
    where,
)
from ._C import dtype as dtype  # noqa: PLC0414  (engine hook: the dtype class)

__all__ = [
    "Tensor",
    "abs",
    "add",
    "amax",
    "amin",
    "argmax",
    "argmin",
    "broadcast_to",
    "cat",
    "clamp",
    "clip",
    "concat",
    "concatenate",
    "cos",
    "detach",
    "div",
    "erf",
    "exp",
    "expand",
    "flatten",
    "gelu",
    "isfinite",
    "isnan",
    "log",
    "log1p",
    "log_softmax",
    "logsumexp",
    "matmul",
    "max",
    "maximum",
    "mean",
    "min",
    "minimum",
    "mul",
    "neg",
    "pad",
    "permute",
    "pow",
    "prod",
    "relu",
    "reshape",
    "sigmoid",
    "sign",
    "silu",
    "sin",
    "softmax",
    "softplus",
    "split",
    "sqrt",
    "squeeze",
    "stack",
    "std",
    "sub",
    "sum",
    "tanh",
    "transpose",
    "unsqueeze",
    "var",
    "where",
]

# Aliases: the same binding under a second name (fg.max is values only; the method form
# x.max(dim) also gives the indices, see Tensor.max).
clamp = clip
cat = concatenate = concat
max = amax  # noqa: A001
min = amin  # noqa: A001
detach = _C.detach

# ---- engine hooks
# Extension functions that fastgrad's own modules need and that have no public form of
# their own. ops.py is the only module that touches _C; one name per line.
adam_step = _C.adam_step
AdamOptions = _C.AdamOptions
adaptive_avg_pool = _C.adaptive_avg_pool
avg_pool = _C.avg_pool
conv = _C.conv
conv_transpose = _C.conv_transpose
grad_enabled = _C.grad_enabled
index_select = _C.index_select
linear = _C.linear
max_pool = _C.max_pool
max_pool_with_indices = _C.max_pool_with_indices
rmsprop_step = _C.rmsprop_step
RmspropOptions = _C.RmspropOptions
sgd_step = _C.sgd_step
SgdOptions = _C.SgdOptions
softmax_cross_entropy = _C.softmax_cross_entropy
cast = _C.cast
full = _C.full
arange = _C.arange
linspace = _C.linspace
eye = _C.eye
rand = _C.rand
randn = _C.randn
randint = _C.randint
randperm = _C.randperm
manual_seed = _C.manual_seed
next_seed = _C.next_seed
from_numpy = _C.from_numpy
from_array_copy = _C._from_array_copy
to_tensor = _C.to_tensor
from_dlpack = _C.from_dlpack
slice = _C.slice  # noqa: A001
index_add = _C.index_add
nonzero_flat = _C.nonzero_flat
set_grad_enabled = _C.set_grad_enabled
backward = _C.backward
grad = _C.grad
get_num_threads = _C.get_num_threads
set_num_threads = _C.set_num_threads
set_main_thread = _C._set_main_thread
empty_cache = _C.empty_cache
set_trace_depth = _C._set_trace_depth
reaches = _C._reaches
MaxMinResult = _C.MaxMinResult
push_jvp_level = _C.push_jvp_level
pop_jvp_level = _C.pop_jvp_level
