"""Datasets and the batch loader (cheat sheet "TRAINING LOOP": shuffle each epoch, then
M = ceil(N/B) batches; the last one is short unless ``drop_last``).

``DataLoader(num_workers=k)`` builds batches in k worker processes (multiprocessing,
"fork" or "spawn"); see ``_workers.py``."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import Any, Callable, Optional

import numpy as np

from . import ops
from ._tensor import int64
from ._tensor import tensor as _tensor
from .ops import Tensor


def _as_tensor(x: Any) -> Tensor:
    if isinstance(x, Tensor):
        return x
    a = np.asarray(x)
    if a.dtype == np.float64 or a.dtype == np.float32 or a.dtype == np.int64 or a.dtype == np.bool_:
        return _tensor(a)
    if np.issubdtype(a.dtype, np.integer):
        return _tensor(a.astype(np.int64))
    return _tensor(a.astype(np.float32))


class Dataset:
    """A map-style dataset: ``len(ds)`` samples, ``ds[i]`` one sample (tensors, arrays, numbers or dicts of them)."""

    def __getitem__(self, i: int) -> Any:
        raise NotImplementedError

    def __len__(self) -> int:
        raise NotImplementedError


class TensorDataset(Dataset):
    """Rows of equally long tensors (or arrays): ``TensorDataset(X, Y[, W])``."""

    def __init__(self, *tensors: Any) -> None:
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor")
        self.tensors = tuple(_as_tensor(t).detach() for t in tensors)
        n = self.tensors[0].shape[0] if self.tensors[0].ndim else None
        for i, t in enumerate(self.tensors):
            if t.ndim == 0 or t.shape[0] != n:
                raise ValueError(
                    f"TensorDataset: all tensors need the same first dimension; tensor 0 has "
                    f"shape {self.tensors[0].shape}, tensor {i} has shape {t.shape}"
                )
        self._arrays = [np.asarray(t) for t in self.tensors]

    def __len__(self) -> int:
        return self.tensors[0].shape[0]

    # Spawned DataLoader workers receive the dataset pickled: as arrays (Tensors are not
    # picklable).
    def __getstate__(self) -> dict:
        return {"arrays": [np.array(a) for a in self._arrays]}

    def __setstate__(self, state: dict) -> None:
        type(self).__init__(self, *state["arrays"])

    def __getitem__(self, i: Any) -> tuple:
        return tuple(t[i] for t in self.tensors)

    def take(self, idx: np.ndarray) -> tuple:
        """A batch of rows ``idx`` (vectorised gather)."""
        ii = ops.from_array_copy(np.ascontiguousarray(idx, dtype=np.int64), int64)
        return tuple(ops.index_select(t, 0, ii) for t in self.tensors)

    def slice(self, a: int, b: int) -> tuple:
        """Rows a..b as views (no copy)."""
        return tuple(ops.slice(t, [(a, b, 1)] + [(0, n, 1) for n in t.shape[1:]]) for t in self.tensors)


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices`` (N,), in that order."""

    def __init__(self, dataset: Dataset, indices: Sequence[int] | np.ndarray) -> None:
        self.dataset = dataset
        self.indices = np.asarray(indices, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> Any:
        return self.dataset[int(self.indices[i])]

    def take(self, idx: np.ndarray) -> tuple:
        """The batch of samples at positions idx: (B,) of this subset, collated."""
        if hasattr(self.dataset, "take"):
            return self.dataset.take(self.indices[idx])
        return _collate([self.dataset[int(j)] for j in self.indices[idx]])


def random_split(dataset: Dataset, lengths: Sequence[Any], seed: Optional[int] = None) -> list:
    """Splits into non-overlapping Subsets (lengths as counts or fractions summing to 1)."""
    n = len(dataset)
    if all(isinstance(x, float) for x in lengths) and abs(sum(lengths) - 1.0) < 1e-6:
        counts = [int(math.floor(n * f)) for f in lengths]
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
    else:
        counts = [int(x) for x in lengths]
    if sum(counts) != n:
        raise ValueError(f"random_split: lengths {lengths} do not add up to the dataset size {n}")
    rng = np.random.default_rng(seed if seed is not None else ops.next_seed())
    perm = rng.permutation(n)
    out, a = [], 0
    for c in counts:
        out.append(Subset(dataset, perm[a : a + c]))
        a += c
    return out


def _collate(samples: list) -> Any:
    first = samples[0]
    if isinstance(first, (tuple, list)):
        return tuple(_collate([s[i] for s in samples]) for i in range(len(first)))
    if isinstance(first, dict):
        return {k: _collate([s[k] for s in samples]) for k in first}
    return _as_tensor(np.stack([np.asarray(s) for s in samples]))


class DataLoader:
    """Iterates over ``dataset`` in batches of ``batch_size``.

    ``shuffle`` draws a new permutation each epoch: from ``seed`` (then epoch e uses
    seed + e, so runs are reproducible) or, without a seed, from fastgrad's RNG (so
    ``fg.manual_seed`` makes it reproducible). TensorDataset batches are gathered
    with one vectorised index per tensor (views when not shuffling).

    ``num_workers=k > 0`` builds the batches in k worker processes
    (``multiprocessing_context``: "fork", "spawn", "forkserver" or a context; default
    the platform's) and yields them in order: the same batches as ``num_workers=0``.
    Each worker runs fastgrad on one thread, is seeded with ``base_seed + worker_id``
    (fastgrad's and Python's RNGs; ``get_worker_info()`` tells the seed), then calls
    ``worker_init_fn(worker_id)``. An exception in a worker is raised in the parent
    with the worker's traceback; a worker that dies raises RuntimeError. Workers stop
    when the iterator is exhausted or dropped, unless ``persistent_workers`` (then they
    serve every epoch until the loader is garbage collected or ``close()`` is called).
    Batches cross the process boundary as arrays: Tensors in a batch arrive as Tensors,
    anything else as pickled.
    """

    def __init__(
        self,
        dataset: Any,
        batch_size: int = 1,
        shuffle: bool = False,
        drop_last: bool = False,
        seed: Optional[int] = None,
        collate_fn: Optional[Callable[[list], Any]] = None,
        num_workers: int = 0,
        worker_init_fn: Optional[Callable[[int], None]] = None,
        multiprocessing_context: Any = None,
        persistent_workers: bool = False,
        prefetch_factor: int = 2,
        timeout: float = 0,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be >= 1, got {batch_size}")
        if not isinstance(num_workers, int) or isinstance(num_workers, bool) or num_workers < 0:
            raise ValueError(f"DataLoader: num_workers must be an int >= 0, got {num_workers!r}")
        if prefetch_factor < 1:
            raise ValueError(f"DataLoader: prefetch_factor must be >= 1, got {prefetch_factor}")
        if timeout < 0:
            raise ValueError(f"DataLoader: timeout must be >= 0, got {timeout}")
        if persistent_workers and num_workers == 0:
            raise ValueError("DataLoader: persistent_workers needs num_workers > 0")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.seed = seed
        self.collate_fn = collate_fn or _collate
        self.epoch = 0
        self.num_workers = num_workers
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.persistent_workers = persistent_workers
        self.prefetch_factor = int(prefetch_factor)
        self.timeout = float(timeout)
        self._pool = None

    def __len__(self) -> int:
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def set_epoch(self, epoch: int) -> None:
        """Sets the epoch that seeds the next shuffle (same seed and epoch, same order)."""
        self.epoch = int(epoch)

    def _order(self) -> Optional[np.ndarray]:
        if not self.shuffle:
            return None
        s = (self.seed + self.epoch) if self.seed is not None else ops.next_seed()
        return np.random.default_rng(s).permutation(len(self.dataset))

    def _batch_indices(self) -> Iterator[Any]:
        """Per batch: None-order (a, b) ranges or index arrays, in order."""
        n = len(self.dataset)
        B = self.batch_size
        order = self._order()
        self.epoch += 1
        stop = (n // B) * B if self.drop_last else n
        for a in range(0, stop, B):
            b = min(a + B, n)
            yield (a, b) if order is None else order[a:b]

    def _make_batch(self, spec: Any) -> Any:
        ds = self.dataset
        if isinstance(spec, tuple):  # a contiguous range, no shuffle
            a, b = spec
            if isinstance(ds, TensorDataset):
                return ds.slice(a, b)
            idx = np.arange(a, b)
        else:
            idx = spec
        if hasattr(ds, "take") and self.collate_fn is _collate:
            return ds.take(idx)
        return self.collate_fn([ds[int(i)] for i in idx])

    def __iter__(self) -> Iterator[Any]:
        if self.num_workers == 0:
            return (self._make_batch(spec) for spec in self._batch_indices())
        from ._workers import iterate

        return iterate(self)

    def close(self) -> None:
        """Stops persistent workers (also done when the loader is garbage collected)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # interpreter shutdown
            pass

    def __getstate__(self) -> dict:
        d = dict(self.__dict__)
        d["_pool"] = None
        return d


def get_worker_info() -> Any:
    """In a DataLoader worker: an object with ``id``, ``num_workers``, ``seed`` and
    ``dataset``; None in the main process."""
    from . import _workers

    return _workers.WORKER_INFO
