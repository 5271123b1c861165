"""``fg.nn.parallel.DistributedDataParallel``: data-parallel training across MPI processes.

Each process (``mpirun -n N``) holds a replica of the model and runs forward/backward on
its own part of the batch; DDP makes the replicas' gradients the average over processes
before the optimizer step, so every replica takes the same step:

* at wrap time the parameters and buffers of rank 0 are broadcast to all ranks;
* parameters are grouped into buckets of about ``bucket_cap_mb`` MB, in reverse
  registration order (the order backward produces their gradients); a
  post-accumulate-grad hook on every parameter (``Tensor.register_post_accumulate_grad_hook``,
  fired by the engine as soon as that parameter's gradient is final in the pass) counts
  the bucket's ready gradients, and a full bucket is copied into its flat buffer and
  started as a non-blocking ``MPI_Iallreduce`` while backward goes on computing the
  earlier layers' gradients. Buckets start strictly in bucket order on every rank (MPI
  needs one collective order), a later bucket that becomes ready first waits for them;
* when the last bucket started, the hook waits for all of them (still inside
  ``backward()``), divides by the world size and writes the averages back into the
  ``.grad`` tensors: when ``backward()`` returns, the gradients are final, so the
  optimizer step needs nothing special;
* ``no_sync()``: backward passes inside it only accumulate locally; the first backward
  outside reduces the accumulated gradients (PyTorch's semantics);
* buffers (BatchNorm running statistics): with ``broadcast_buffers=True`` (PyTorch's
  default) rank 0's buffers are broadcast to every rank at the start of each forward,
  so all replicas evaluate with rank 0's statistics; the batch statistics used in
  training stay per-rank (as PyTorch's DDP without SyncBatchNorm).

Every parameter with ``requires_grad`` must receive a gradient in each synchronised
backward (``find_unused_parameters`` is not supported: freeze unused ones before wrapping);
otherwise the next forward raises instead of hanging.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, Optional

import numpy as np

from .module import Module

__all__ = ["DistributedDataParallel"]


class _Bucket:
    __slots__ = ("buf", "index", "offsets", "params", "ready", "req", "sizes")

    def __init__(self, index: int, params: list, dtype: Any) -> None:
        self.index = index
        self.params = params
        self.sizes = [int(p.numel()) for p in params]
        self.offsets = [int(o) for o in np.cumsum([0, *self.sizes[:-1]])]
        self.buf = np.empty(sum(self.sizes), dtype=dtype)
        self.ready = 0
        self.req: Any = None


class DistributedDataParallel(Module):
    """Wraps ``module`` for data-parallel training over ``fg.distributed`` (MPI).

    ``bucket_cap_mb``: size of a gradient bucket (MB; smaller buckets start earlier, larger
    ones cost fewer messages). ``broadcast_buffers``: rank 0's buffers are sent to every
    rank at each forward. ``overlap=False`` (not in PyTorch; for measurements) starts the
    buckets only once backward produced every gradient. ``device_ids``, ``output_device``,
    ``dim``, ``process_group``, ``gradient_as_bucket_view``, ``static_graph`` are accepted
    for PyTorch compatibility and have no effect (CPU, one world). ``.module`` is the
    wrapped model; ``state_dict``/``load_state_dict`` are the wrapped model's (no
    ``module.`` prefix, so a checkpoint loads into the bare model).
    """

    def __init__(
        self,
        module: Module,
        device_ids: Any = None,
        output_device: Any = None,
        dim: int = 0,
        broadcast_buffers: bool = True,
        process_group: Any = None,
        bucket_cap_mb: Optional[float] = 25,
        find_unused_parameters: bool = False,
        gradient_as_bucket_view: bool = False,
        static_graph: bool = False,
        overlap: bool = True,
    ) -> None:
        from .. import distributed as dist

        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel: expected an fg.nn.Module, got {type(module).__name__}")
        if find_unused_parameters:
            raise NotImplementedError(
                "DistributedDataParallel: find_unused_parameters=True is not supported; set "
                "requires_grad=False on parameters that get no gradient before wrapping"
            )
        cap = 25.0 if bucket_cap_mb is None else float(bucket_cap_mb)
        if not cap > 0:
            raise ValueError(f"DistributedDataParallel: bucket_cap_mb must be > 0, got {bucket_cap_mb}")
        self.module = module
        dist.init()
        self._dist = dist
        self._world = dist.world_size()
        self.broadcast_buffers = bool(broadcast_buffers)
        self.bucket_cap_mb = cap
        self.overlap = bool(overlap)
        self.require_backward_grad_sync = True
        seen: set[int] = set()
        params = []
        for p in module.parameters():
            if id(p) not in seen and p.requires_grad:
                seen.add(id(p))
                params.append(p)
        self._params = params
        self._sync_state(include_params=True)
        # Buckets: reverse registration order, split at the cap and at dtype changes.
        cap_bytes = cap * 1024 * 1024
        buckets: list[_Bucket] = []
        cur: list = []
        size = 0
        for p in reversed(params):
            nbytes = int(p.numel()) * np.dtype(np.asarray(p.detach()).dtype).itemsize
            if cur and (size + nbytes > cap_bytes or p.dtype != cur[0].dtype):
                buckets.append(_Bucket(len(buckets), cur, np.asarray(cur[0].detach()).dtype))
                cur, size = [], 0
            cur.append(p)
            size += nbytes
        if cur:
            buckets.append(_Bucket(len(buckets), cur, np.asarray(cur[0].detach()).dtype))
        self._buckets = buckets
        self._bucket_of = {id(p): b for b in buckets for p in b.params}
        self._next = 0  # the next bucket to start (buckets start in index order)
        self._started = 0
        self._handles = [p.register_post_accumulate_grad_hook(self._on_grad) for p in params]
        self.comm_seconds = 0.0  # time spent waiting for allreduces (bench/distributed.py)

    # ------------------------------------------------------------------ state
    def _sync_state(self, include_params: bool) -> None:
        if self._world == 1:
            return
        tensors = list(self.module.buffers()) if self.broadcast_buffers or include_params else []
        if include_params:
            tensors = (
                list(self._params) + [p for p in self.module.parameters() if not p.requires_grad] + tensors
            )
        for t in tensors:
            if t.is_contiguous():
                self._dist.broadcast(t.detach(), 0)
            else:  # pragma: no cover - parameters and buffers are contiguous in practice
                tmp = t.detach().contiguous()
                self._dist.broadcast(tmp, 0)
                np.asarray(t.detach())[...] = np.asarray(tmp)

    def state_dict(self, *args: Any, **kwargs: Any) -> Any:
        """The wrapped module's state dict (keys without a ``module.`` prefix)."""
        return self.module.state_dict(*args, **kwargs)

    def load_state_dict(self, *args: Any, **kwargs: Any) -> Any:
        """Loads into the wrapped module (keys without a ``module.`` prefix)."""
        return self.module.load_state_dict(*args, **kwargs)

    # ------------------------------------------------------------------ forward
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """Checks the previous step finished its reduction, broadcasts rank 0's buffers
        (``broadcast_buffers``), and runs the wrapped module."""
        if self._started or any(b.ready for b in self._buckets):
            pending = [b.index for b in self._buckets if b.ready < len(b.params)]
            self._reset()
            raise RuntimeError(
                "DistributedDataParallel: the previous backward did not produce a gradient for every "
                f"parameter (buckets {pending} incomplete), so its gradients were not averaged; every "
                "parameter with requires_grad must be used in each step (freeze unused ones), or run "
                "the step inside no_sync()"
            )
        if self.broadcast_buffers and self._world > 1 and self.training:
            self._sync_state(include_params=False)
        return self.module(*args, **kwargs)

    @contextlib.contextmanager
    def no_sync(self) -> Iterator[None]:
        """Backward passes inside accumulate gradients locally without communication; the
        first synchronised backward after it averages the accumulated sums."""
        prev = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = prev

    # ------------------------------------------------------------------ reduction
    def _reset(self) -> None:
        for b in self._buckets:
            b.ready = 0
            b.req = None
        self._next = 0
        self._started = 0

    def _on_grad(self, p: Any) -> None:
        if not self.require_backward_grad_sync or self._world == 1:
            return
        b = self._bucket_of[id(p)]
        b.ready += 1
        if self._started:  # progress for the ones in flight (MPI progresses inside calls)
            self._test()
        if b.ready < len(b.params) or (not self.overlap and not self._ready_all()):
            return
        # Start every complete bucket in order from the next one.
        while self._next < len(self._buckets):
            nb = self._buckets[self._next]
            if nb.ready < len(nb.params):
                break
            self._start(nb)
            self._next += 1
        if self._next == len(self._buckets):
            self._finish()

    def _ready_all(self) -> bool:
        return all(b.ready == len(b.params) for b in self._buckets)

    def _start(self, b: _Bucket) -> None:
        for p, off, n in zip(b.params, b.offsets, b.sizes):
            g = p.grad
            if g is None:  # pragma: no cover - the hook runs after .grad was set
                b.buf[off : off + n] = 0
            else:
                b.buf[off : off + n] = np.asarray(g).reshape(-1)
        comm = self._dist._world()
        b.req = comm.Iallreduce(self._dist._mpi_module().IN_PLACE, b.buf, op=self._dist._mpi_module().SUM)
        self._started += 1

    def _test(self) -> None:
        # MPI progresses a non-blocking collective only inside MPI calls: one Testall per
        # hook keeps the buckets in flight moving while backward computes.
        reqs = [b.req for b in self._buckets[: self._next] if b.req is not None]
        if reqs:
            self._dist._mpi_module().Request.Testall(reqs)

    def _finish(self) -> None:
        import time

        t0 = time.perf_counter()
        reqs = [b.req for b in self._buckets]
        self._dist._mpi_module().Request.Waitall(reqs)
        self.comm_seconds += time.perf_counter() - t0
        inv = 1.0 / self._world
        for b in self._buckets:
            b.buf *= inv
            for p, off, n in zip(b.params, b.offsets, b.sizes):
                g = np.asarray(p.grad)
                g[...] = b.buf[off : off + n].reshape(g.shape)
        self._reset()

    def extra_repr(self) -> str:
        """World size and bucket layout."""
        return f"world_size={self._world}, buckets={len(self._buckets)}, bucket_cap_mb={self.bucket_cap_mb}"
