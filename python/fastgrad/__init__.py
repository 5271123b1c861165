"""fastgrad: a small tape-based autodiff engine in C++ with SIMD/OpenMP kernels.

``import fastgrad as fg``; see API.md for the contract. The mathematics and
conventions follow the differentiation cheat sheet (gradients shaped like their
primals, Jacobians ``out.shape + in.shape``).
"""

from __future__ import annotations

import os as _os
import threading as _threading

# Idle OpenMP workers spin briefly, then sleep. Spinning without end steals the core
# the Python thread (or a neighbour's BLAS pool) needs: the digits CNN took 50 s instead
# of 2.5 s on a shared 2-core machine, and NumPy products interleaved with fastgrad's
# ran 6x slower. Sleeping at once makes every op after a short Python gap wake its
# workers: ~90 us on an Intel Xeon VM (15-20 us on Zen 3), the 256^3 product 197 us
# instead of 115 us. A spin of 3000 polls (~0.1 ms) covers the gaps between the ops of
# a training step; bench/wait_policy.py measures the choices. libgomp reads these once,
# when it loads, and one libgomp is shared by everything in the process (PyTorch's
# included, whichever is imported first); a value the user sets wins.
if "OMP_WAIT_POLICY" not in _os.environ and "GOMP_SPINCOUNT" not in _os.environ:
    _os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    _os.environ["GOMP_SPINCOUNT"] = "3000"

from . import (  # noqa: E402
    accelerator,
    autograd,
    data,
    func,
    linalg,
    nn,
    ops,
    optim,
    pytree,
    train,
    utils,
)
from ._device import device
from ._tensor import (
    Generator,
    arange,
    array,
    as_tensor,
    asarray,
    bool_,
    default_generator,
    empty,
    empty_like,
    eye,
    float32,
    float64,
    from_numpy,
    full,
    full_like,
    get_default_dtype,
    int64,
    is_tensor,
    linspace,
    manual_seed,
    ndim,
    numel,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    randperm,
    set_default_dtype,
    shape,
    tensor,
    zeros,
    zeros_like,
)
from ._threads import default_num_threads as _default_num_threads
from .autograd import enable_grad, is_grad_enabled, no_grad
from .io import load, save

# Every public op: the list is ops.__all__ (ops.py is the one place an op is named).
from .ops import *  # noqa: E402, F403
from .ops import (  # noqa: E402  (runtime functions that are not ops)
    from_dlpack,
    get_num_threads,
    set_num_threads,
)
from .pytree import tree_flatten, tree_leaves, tree_map, tree_structure, tree_unflatten
from .transforms import (
    GradcheckError,
    checkpoint,
    custom_jvp,
    custom_vjp,
    grad,
    gradcheck,
    hessian,
    hvp,
    jacfwd,
    jacobian,
    jacrev,
    jit,
    jvp,
    linear_transpose,
    linearize,
    remat,
    sharp,
    stop_gradient,
    value_and_grad,
    vjp,
    vmap,
)

bool = bool_  # noqa: A001  (fg.bool, as torch.bool)
dtype = ops.dtype
# PyTorch's dtype spellings. fastgrad has one integer dtype, so fg.int (torch's int32) is
# int64: code asking for "an int tensor" gets one that holds every int32 value exactly.
float = float32  # noqa: A001
double = float64
long = int64
int = int64  # noqa: A001

set_num_threads(_default_num_threads())


# Only the main thread's kernels stop for Ctrl-C (Python runs signal handlers there).
# After fork the forking thread is the child's main thread, and the C++ at-fork handler
# has put the child on one thread (see set_num_threads).
ops.set_main_thread(_threading.main_thread().ident or _threading.get_ident())
if hasattr(_os, "register_at_fork"):
    _os.register_at_fork(after_in_child=lambda: ops.set_main_thread(_threading.get_ident()))


def __getattr__(name: str):  # noqa: ANN202
    # fg.distributed is imported on first use (it never starts MPI by being imported).
    if name == "distributed":
        import importlib

        return importlib.import_module(".distributed", __name__)
    raise AttributeError(f"module 'fastgrad' has no attribute {name!r}")


def empty_cache() -> None:
    """Returns the allocator's cached blocks to the system."""
    ops.empty_cache()


__version__ = "0.1.0"
