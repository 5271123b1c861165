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
    addmm,
    addmv,
    addr,
    amax,
    amin,
    argmax,
    argmin,
    argsort,
    argwhere,
    baddbmm,
    bincount,
    bmm,
    broadcast_to,
    bucketize,
    cholesky,
    chunk,
    clip,
    concat,
    cos,
    count_nonzero,
    cross,
    cummax,
    cummin,
    cumprod,
    cumsum,
    det,
    diag,
    diag_embed,
    diagflat,
    diagonal,
    div,
    dot,
    einsum,
    eq,
    equal,
    erf,
    exp,
    expand,
    expand_dims,
    flatten,
    flip,
    fliplr,
    flipud,
    gather,
    ge,
    gelu,
    ger,
    greater,
    greater_equal,
    gt,
    index_select,
    inner,
    inverse,
    isfinite,
    isnan,
    kron,
    kthvalue,
    le,
    less,
    less_equal,
    log,
    log1p,
    log_softmax,
    logcumsumexp,
    logsumexp,
    lt,
    masked_fill,
    masked_scatter,
    masked_select,
    matmul,
    matrix_power,
    max,
    maximum,
    mean,
    min,
    minimum,
    mm,
    moveaxis,
    movedim,
    msort,
    mul,
    multinomial,
    mv,
    narrow,
    ne,
    neg,
    nonzero,
    norm,
    not_equal,
    outer,
    pad,
    permute,
    pow,
    prod,
    relu,
    repeat,
    repeat_interleave,
    reshape,
    roll,
    rot90,
    scatter,
    scatter_add,
    scatter_reduce,
    searchsorted,
    sigmoid,
    sign,
    silu,
    sin,
    slogdet,
    softmax,
    softplus,
    sort,
    split,
    sqrt,
    squeeze,
    stack,
    std,
    sub,
    sum,
    swapaxes,
    swapdims,
    take,
    take_along_dim,
    tanh,
    tensor_split,
    tensordot,
    tile,
    topk,
    trace,
    transpose,
    triangular_solve,
    tril,
    tril_indices,
    triu,
    triu_indices,
    unflatten,
    unique,
    unique_consecutive,
    unsqueeze,
    var,
    vdot,
    where,
)
from ._C import dtype as dtype  # noqa: PLC0414  (engine hook: the dtype class)

__all__ = [
    "Tensor",
    "abs",
    "add",
    "addmm",
    "addmv",
    "addr",
    "amax",
    "amin",
    "argmax",
    "argmin",
    "baddbmm",
    "bmm",
    "argsort",
    "argwhere",
    "bincount",
    "broadcast_to",
    "bucketize",
    "cat",
    "chunk",
    "cholesky",
    "clamp",
    "clip",
    "concat",
    "concatenate",
    "cos",
    "cross",
    "det",
    "count_nonzero",
    "cummax",
    "cummin",
    "cumprod",
    "cumsum",
    "detach",
    "diag",
    "diag_embed",
    "diagflat",
    "diagonal",
    "div",
    "eq",
    "equal",
    "dot",
    "einsum",
    "erf",
    "exp",
    "expand",
    "expand_dims",
    "flatten",
    "ge",
    "gelu",
    "greater",
    "greater_equal",
    "gt",
    "isfinite",
    "isnan",
    "le",
    "less",
    "less_equal",
    "ger",
    "inner",
    "inverse",
    "kron",
    "flip",
    "fliplr",
    "flipud",
    "gather",
    "index_select",
    "kthvalue",
    "log",
    "log1p",
    "log_softmax",
    "logcumsumexp",
    "logsumexp",
    "lt",
    "masked_fill",
    "masked_scatter",
    "masked_select",
    "matmul",
    "matrix_power",
    "max",
    "maximum",
    "mean",
    "min",
    "minimum",
    "moveaxis",
    "movedim",
    "mul",
    "narrow",
    "ne",
    "neg",
    "not_equal",
    "mm",
    "mv",
    "norm",
    "outer",
    "msort",
    "multinomial",
    "nonzero",
    "pad",
    "permute",
    "pow",
    "prod",
    "relu",
    "repeat",
    "repeat_interleave",
    "reshape",
    "roll",
    "rot90",
    "scatter",
    "scatter_add",
    "scatter_reduce",
    "searchsorted",
    "sigmoid",
    "sign",
    "silu",
    "sin",
    "slogdet",
    "softmax",
    "softplus",
    "sort",
    "split",
    "sqrt",
    "squeeze",
    "stack",
    "std",
    "sub",
    "sum",
    "swapaxes",
    "swapdims",
    "tanh",
    "tensor_split",
    "transpose",
    "unflatten",
    "tensordot",
    "triangular_solve",
    "take",
    "take_along_dim",
    "tile",
    "topk",
    "trace",
    "tril",
    "tril_indices",
    "triu",
    "triu_indices",
    "unique",
    "unique_consecutive",
    "unsqueeze",
    "var",
    "vdot",
    "where",
]

# Aliases: the same binding under a second name.
clamp = clip
cat = concatenate = concat
detach = _C.detach

# ---- engine hooks
# Extension functions that fastgrad's own modules need and that have no public form of
# their own. ops.py is the only module that touches _C; one name per line.
adam_step = _C.adam_step
AdamOptions = _C.AdamOptions
adaptive_avg_pool = _C.adaptive_avg_pool
avg_pool = _C.avg_pool
conv = _C.conv
grad_enabled = _C.grad_enabled
scatter_add_into = _C.scatter_add_into
linear = _C.linear
max_pool = _C.max_pool
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
linalg_cholesky = _C.linalg_cholesky
linalg_cross = _C.linalg_cross
linalg_det = _C.linalg_det
linalg_eigh = _C.linalg_eigh
linalg_eigvalsh = _C.linalg_eigvalsh
linalg_inv = _C.linalg_inv
linalg_matrix_norm = _C.linalg_matrix_norm
linalg_multi_dot = _C.linalg_multi_dot
linalg_norm = _C.linalg_norm
linalg_qr = _C.linalg_qr
linalg_slogdet = _C.linalg_slogdet
linalg_solve = _C.linalg_solve
linalg_solve_triangular = _C.linalg_solve_triangular
linalg_svd = _C.linalg_svd
linalg_svdvals = _C.linalg_svdvals
linalg_vector_norm = _C.linalg_vector_norm
