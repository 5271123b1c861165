"""Datasets and the batch loader (cheat sheet "TRAINING LOOP": shuffle each epoch, then
M = ceil(N/B) batches; the last one is short unless ``drop_last``).

``DataLoader(num_workers=k)`` builds batches in k worker processes (multiprocessing,
"fork" or "spawn"); see ``_workers.py``."""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Iterator, Sequence
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
    """A map-style dataset: ``len(ds)`` samples, ``ds[i]`` one sample (tensors, arrays,
    numbers or dicts of them), as ``torch.utils.data.Dataset``; ``a + b`` concatenates."""

    def __getitem__(self, i: int) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not implement __getitem__")

    def __add__(self, other: Dataset) -> ConcatDataset:
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """A stream of samples: subclasses implement ``__iter__`` (``torch.utils.data.IterableDataset``).
    A DataLoader batches it in order; samplers and ``shuffle`` do not apply."""

    def __iter__(self) -> Iterator[Any]:
        raise NotImplementedError(f"{type(self).__name__} does not implement __iter__")

    def __add__(self, other: Any) -> Any:
        return ChainDataset([self, other])


class ChainDataset(IterableDataset):
    """The samples of several IterableDatasets, one after the other."""

    def __init__(self, datasets: Iterable[Any]) -> None:
        self.datasets = list(datasets)

    def __iter__(self) -> Iterator[Any]:
        for d in self.datasets:
            yield from d

    def __len__(self) -> int:
        return sum(len(d) for d in self.datasets)


class ConcatDataset(Dataset):
    """Map-style datasets joined end to end: ``len`` is the sum, index i goes to the dataset
    whose range holds it (negative indices count from the end), as PyTorch's."""

    def __init__(self, datasets: Iterable[Any]) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: datasets should not be an empty iterable")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise TypeError("ConcatDataset does not support IterableDataset")
        self.cumulative_sizes: list[int] = []
        total = 0
        for d in self.datasets:
            total += len(d)
            self.cumulative_sizes.append(total)

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx: int) -> Any:
        n = len(self)
        if idx < 0:
            if -idx > n:
                raise ValueError("absolute value of index should not exceed dataset length")
            idx += n
        if idx >= n:
            raise IndexError(f"ConcatDataset: index {idx} out of range for length {n}")
        k = bisect.bisect_right(self.cumulative_sizes, idx)
        start = self.cumulative_sizes[k - 1] if k else 0
        return self.datasets[k][idx - start]


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
        self.indices = indices
        self._idx = np.asarray(indices, dtype=np.int64).reshape(-1)

    def __len__(self) -> int:
        return len(self._idx)

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, list):
            return [self.dataset[int(self._idx[j])] for j in i]
        return self.dataset[int(self._idx[i])]

    def take(self, idx: np.ndarray) -> Any:
        """The batch of samples at positions idx: (B,) of this subset, collated."""
        if hasattr(self.dataset, "take"):
            return self.dataset.take(self._idx[idx])
        return default_collate([self.dataset[int(j)] for j in self._idx[idx]])


def _rng(generator: Any, what: str) -> np.random.Generator:
    """A NumPy generator for ``generator``: None draws a seed from fastgrad's RNG (so
    ``fg.manual_seed`` makes runs reproducible), an int seeds one, a NumPy Generator is
    used as is, a ``fg.Generator`` seeds one from its stream, and an object with ``initial_seed()`` (a torch.Generator-like) seeds
    from it."""
    if generator is None:
        return np.random.default_rng(ops.next_seed())
    if isinstance(generator, np.random.Generator):
        return generator
    if isinstance(generator, (int, np.integer)) and not isinstance(generator, bool):
        return np.random.default_rng(int(generator))
    if isinstance(generator, ops.Generator):  # advances the fastgrad stream, as torch's would
        return np.random.default_rng(int(ops.randint(0, 2**62, (), generator).item()))
    seed = getattr(generator, "initial_seed", None)
    if callable(seed):
        return np.random.default_rng(int(seed()))
    raise TypeError(
        f"{what}: generator must be None, an int seed, a numpy.random.Generator or have "
        f"initial_seed(), got {type(generator).__name__}"
    )


def random_split(
    dataset: Dataset, lengths: Sequence[Any], generator: Any = None, *, seed: Optional[int] = None
) -> list[Subset]:
    """Splits into non-overlapping random Subsets, as ``torch.utils.data.random_split``.

    lengths: counts summing to ``len(dataset)``, or fractions summing to 1 (each
    floor(n·f), the remainder handed out one by one from the first). ``generator`` (or
    fastgrad's ``seed=``) makes the permutation reproducible.
    """
    n = len(dataset)  # type: ignore[arg-type]
    lengths = list(lengths)
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        for i, frac in enumerate(lengths):
            if frac < 0 or frac > 1:
                raise ValueError(f"random_split: fraction at index {i} is not between 0 and 1")
        counts = [int(math.floor(n * f)) for f in lengths]
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
    else:
        counts = [int(x) for x in lengths]
    if sum(counts) != n:
        raise ValueError(
            f"random_split: sum of input lengths {lengths} does not equal the length of the input dataset ({n})"
        )
    rng = _rng(seed if generator is None and seed is not None else generator, "random_split")
    perm = rng.permutation(n)
    out, a = [], 0
    for c in counts:
        out.append(Subset(dataset, perm[a : a + c].tolist()))
        a += c
    return out


# ------------------------------------------------------------------ samplers
class Sampler:
    """Yields dataset indices (``torch.utils.data.Sampler``); subclasses implement ``__iter__``
    (and ``__len__`` when the count is known)."""

    def __init__(self, data_source: Any = None) -> None:
        pass

    def __iter__(self) -> Iterator[Any]:
        raise NotImplementedError(f"{type(self).__name__} does not implement __iter__")


class SequentialSampler(Sampler):
    """Indices 0, 1, ..., len(data_source) - 1."""

    def __init__(self, data_source: Any) -> None:
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler):
    """A fresh random permutation of the indices per ``iter`` (or, with
    ``replacement=True``, ``num_samples`` indices drawn uniformly with replacement)."""

    def __init__(
        self,
        data_source: Any,
        replacement: bool = False,
        num_samples: Optional[int] = None,
        generator: Any = None,
    ) -> None:
        if not isinstance(replacement, bool):
            raise TypeError(f"replacement should be a boolean value, but got replacement={replacement}")
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        self._gen: Optional[np.random.Generator] = None
        if (
            not isinstance(self.num_samples, int)
            or isinstance(self.num_samples, bool)
            or self.num_samples <= 0
        ):
            raise ValueError(
                f"num_samples should be a positive integer value, but got num_samples={self.num_samples}"
            )

    @property
    def num_samples(self) -> int:
        """How many indices one pass yields (``len(data_source)`` unless given)."""
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def _next_rng(self) -> np.random.Generator:
        if self.generator is None:
            return _rng(None, "RandomSampler")
        if self._gen is None:  # one stream per sampler: successive epochs differ
            self._gen = _rng(self.generator, "RandomSampler")
        return self._gen

    def __iter__(self) -> Iterator[int]:
        n, k = len(self.data_source), self.num_samples
        rng = self._next_rng()
        if self.replacement:
            return iter(rng.integers(0, n, size=k).tolist())
        idx = np.concatenate([rng.permutation(n) for _ in range(-(-k // n))])[:k] if n else np.arange(0)
        return iter(idx.tolist())

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given ``indices`` in a fresh random order per ``iter``."""

    def __init__(self, indices: Sequence[int], generator: Any = None) -> None:
        self.indices = indices
        self.generator = generator
        self._gen: Optional[np.random.Generator] = None

    def __iter__(self) -> Iterator[int]:
        if self.generator is None:
            rng = _rng(None, "SubsetRandomSampler")
        else:
            if self._gen is None:
                self._gen = _rng(self.generator, "SubsetRandomSampler")
            rng = self._gen
        return iter([self.indices[int(i)] for i in rng.permutation(len(self.indices))])

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices drawn with probability proportional to ``weights`` (N,)
    (with replacement unless ``replacement=False``)."""

    def __init__(
        self, weights: Any, num_samples: int, replacement: bool = True, generator: Any = None
    ) -> None:
        if not isinstance(num_samples, int) or isinstance(num_samples, bool) or num_samples <= 0:
            raise ValueError(
                f"num_samples should be a positive integer value, but got num_samples={num_samples}"
            )
        if not isinstance(replacement, bool):
            raise ValueError(f"replacement should be a boolean value, but got replacement={replacement}")
        w = np.asarray(weights.detach() if isinstance(weights, Tensor) else weights, dtype=np.float64)
        if w.ndim != 1:
            raise ValueError(f"weights should be a 1d sequence but given weights have shape {tuple(w.shape)}")
        if not replacement and num_samples > int(np.count_nonzero(w)):
            raise RuntimeError(
                "WeightedRandomSampler: cannot sample n_sample > prob_dist.size(-1) samples without replacement"
            )
        if np.any(w < 0) or not np.all(np.isfinite(w)) or w.sum() <= 0:
            raise RuntimeError("WeightedRandomSampler: weights must be finite, >= 0 and not all zero")
        self.weights = w
        self.num_samples = num_samples
        self.replacement = replacement
        self.generator = generator
        self._gen: Optional[np.random.Generator] = None

    def __iter__(self) -> Iterator[int]:
        if self.generator is None:
            rng = _rng(None, "WeightedRandomSampler")
        else:
            if self._gen is None:
                self._gen = _rng(self.generator, "WeightedRandomSampler")
            rng = self._gen
        p = self.weights / self.weights.sum()
        return iter(rng.choice(len(p), size=self.num_samples, replace=self.replacement, p=p).tolist())

    def __len__(self) -> int:
        return self.num_samples


class DistributedSampler(Sampler):
    """The share of the indices of one process in data-parallel training
    (``torch.utils.data.DistributedSampler``): rank r of ``num_replicas`` gets indices
    r, r + num_replicas, r + 2·num_replicas, ... of one order common to all ranks.

    The order is ``range(len(dataset))`` or, with ``shuffle``, a permutation drawn from
    ``seed + epoch`` (NumPy's generator: the same on every rank, new after ``set_epoch``;
    not torch's permutation). Without ``drop_last`` the order is padded with its own first
    indices to a multiple of ``num_replicas`` (every rank gets ceil(N / replicas)); with it
    the tail is dropped (floor). ``num_replicas``/``rank`` default to
    ``fg.distributed.world_size()``/``rank()`` (read from the launcher's environment).
    """

    def __init__(
        self,
        dataset: Any,
        num_replicas: Optional[int] = None,
        rank: Optional[int] = None,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
    ) -> None:
        from . import distributed as _dist

        if num_replicas is None:
            num_replicas = _dist.world_size()
        if rank is None:
            rank = _dist.rank()
        for name, v in (("num_replicas", num_replicas), ("rank", rank), ("seed", seed)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
                raise TypeError(f"DistributedSampler: {name} must be an int, got {type(v).__name__}")
        if num_replicas < 1:
            raise ValueError(f"DistributedSampler: num_replicas must be >= 1, got {num_replicas}")
        if rank < 0 or rank >= num_replicas:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval [0, {num_replicas - 1}]")
        self.dataset = dataset
        self.num_replicas = int(num_replicas)
        self.rank = int(rank)
        self.epoch = 0
        self.shuffle = bool(shuffle)
        self.seed = int(seed)
        self.drop_last = bool(drop_last)
        n = len(dataset)
        if self.drop_last and n % self.num_replicas != 0:
            self.num_samples = math.ceil((n - self.num_replicas) / self.num_replicas)
        else:
            self.num_samples = math.ceil(n / self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas

    def __iter__(self) -> Iterator[int]:
        n = len(self.dataset)
        if self.shuffle:
            idx = np.random.default_rng(self.seed + self.epoch).permutation(n)
        else:
            idx = np.arange(n)
        if not self.drop_last:
            pad = self.total_size - n
            if pad > 0 and n > 0:
                idx = np.concatenate([idx, np.tile(idx, -(-pad // n))[:pad]])
        else:
            idx = idx[: self.total_size]
        return iter(idx[self.rank : self.total_size : self.num_replicas].tolist())

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Sets the epoch the next shuffle is drawn from (call it at each epoch's start, on
        every rank, so that ranks agree and epochs differ)."""
        self.epoch = int(epoch)


class BatchSampler(Sampler):
    """Groups the indices of ``sampler`` into lists of ``batch_size`` (the last one short
    unless ``drop_last``)."""

    def __init__(self, sampler: Iterable[int], batch_size: int, drop_last: bool) -> None:
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
            raise ValueError(
                f"batch_size should be a positive integer value, but got batch_size={batch_size}"
            )
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got drop_last={drop_last}")
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last

    def __iter__(self) -> Iterator[list[int]]:
        batch: list[int] = []
        for i in self.sampler:
            batch.append(i)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self) -> int:
        n = len(self.sampler)  # type: ignore[arg-type]
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


# ------------------------------------------------------------------ collation
def default_convert(data: Any) -> Any:
    """What a loader with ``batch_size=None`` yields per sample: NumPy arrays (not of
    strings/objects) become Tensors, inside tuples/lists/dicts too; the rest unchanged."""
    if isinstance(data, np.ndarray) and data.dtype.kind in "biuf":
        return _as_tensor(data)
    if isinstance(data, np.generic) and data.dtype.kind in "biuf":
        return _as_tensor(data)
    if isinstance(data, dict):
        return (
            type(data)({k: default_convert(v) for k, v in data.items()})
            if type(data) is not dict
            else {k: default_convert(v) for k, v in data.items()}
        )
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, list):
        return [default_convert(d) for d in data]
    return data


def default_collate(batch: list) -> Any:
    """Stacks a list of B samples into a batch, as ``torch.utils.data.default_collate``:
    Tensors/arrays of shape s -> Tensor (B, *s); Python floats -> float64 (B,), ints ->
    int64 (B,), bools -> bool (B,); strings stay a list; dicts collate per key,
    tuples/lists per position (a list of batches; namedtuples keep their type)."""
    if not isinstance(batch, (list, tuple)) or not batch:
        raise TypeError("default_collate: expected a non-empty list of samples")
    first = batch[0]
    if isinstance(first, Tensor):
        return ops.stack(list(batch), 0)
    if isinstance(first, (np.ndarray, np.generic)):
        if first.dtype.kind not in "biuf":
            raise TypeError(
                f"default_collate: batch must contain tensors, numbers, dicts or lists; found {first.dtype}"
            )
        return _as_tensor(np.stack([np.asarray(s) for s in batch]))
    if isinstance(first, bool):
        return _tensor(np.asarray(batch, dtype=np.bool_))
    if isinstance(first, int):
        return _tensor(np.asarray(batch, dtype=np.int64))
    if isinstance(first, float):
        return _tensor(np.asarray(batch, dtype=np.float64))
    if isinstance(first, (str, bytes)):
        return list(batch)
    if isinstance(first, dict):
        return {k: default_collate([s[k] for s in batch]) for k in first}
    if isinstance(first, tuple) and hasattr(first, "_fields"):
        return type(first)(*(default_collate(list(s)) for s in zip(*batch)))
    if isinstance(first, (tuple, list)):
        n = len(first)
        if any(len(s) != n for s in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        return [default_collate(list(s)) for s in zip(*batch)]
    raise TypeError(
        f"default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; "
        f"found {type(first).__name__}"
    )


_collate = default_collate  # the name the workers and older code use


class DataLoader:
    """Iterates over ``dataset`` in batches, with ``torch.utils.data.DataLoader``'s signature.

    Each batch is ``collate_fn`` (default ``default_collate``) of ``batch_size`` samples:
    e.g. a TensorDataset of X (N, d) and Y (N,) gives lists ``[x (B, d), y (B,)]``.
    ``shuffle`` draws a new permutation each epoch: from ``generator`` (an int seed,
    NumPy Generator or torch-like generator), from fastgrad's ``seed`` (epoch e uses
    seed + e, so runs are reproducible) or, without either, from fastgrad's RNG (so
    ``fg.manual_seed`` makes it reproducible). ``sampler`` (indices) or
    ``batch_sampler`` (lists of indices) replace that order; ``batch_size=None`` yields
    samples unbatched. An ``IterableDataset`` is read in order. TensorDataset batches are
    gathered with one vectorised index per tensor (views when not shuffling).
    ``pin_memory``/``pin_memory_device``/``in_order`` are accepted (no effect on the CPU).

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
        batch_size: Optional[int] = 1,
        shuffle: Optional[bool] = None,
        sampler: Any = None,
        batch_sampler: Any = None,
        num_workers: int = 0,
        collate_fn: Optional[Callable[[list], Any]] = None,
        pin_memory: bool = False,
        drop_last: bool = False,
        timeout: float = 0,
        worker_init_fn: Optional[Callable[[int], None]] = None,
        multiprocessing_context: Any = None,
        generator: Any = None,
        *,
        prefetch_factor: Optional[int] = None,
        persistent_workers: bool = False,
        pin_memory_device: str = "",
        in_order: bool = True,
        seed: Optional[int] = None,
    ) -> None:
        if batch_size is not None and (
            not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1
        ):
            raise ValueError(f"DataLoader: batch_size should be a positive integer value, got {batch_size!r}")
        if not isinstance(num_workers, int) or isinstance(num_workers, bool) or num_workers < 0:
            raise ValueError(f"DataLoader: num_workers must be an int >= 0, got {num_workers!r}")
        if prefetch_factor is not None and num_workers == 0:
            raise ValueError(
                "DataLoader: prefetch_factor option could only be specified in multiprocessing. "
                "let num_workers > 0 to enable multiprocessing"
            )
        prefetch = 2 if prefetch_factor is None else prefetch_factor
        if prefetch < 1:
            raise ValueError(f"DataLoader: prefetch_factor must be >= 1, got {prefetch_factor}")
        if timeout < 0:
            raise ValueError(f"DataLoader: timeout option should be non-negative, got {timeout}")
        if persistent_workers and num_workers == 0:
            raise ValueError("DataLoader: persistent_workers option needs num_workers > 0")
        iterable = isinstance(dataset, IterableDataset)
        if iterable:
            if shuffle not in (None, False):
                raise ValueError(
                    f"DataLoader with IterableDataset: expected unspecified shuffle option, but got shuffle={shuffle}"
                )
            if sampler is not None:
                raise ValueError(
                    f"DataLoader with IterableDataset: expected unspecified sampler option, but got sampler={sampler}"
                )
            if batch_sampler is not None:
                raise ValueError(
                    f"DataLoader with IterableDataset: expected unspecified batch_sampler option, but got batch_sampler={batch_sampler}"
                )
            if num_workers > 0:
                raise NotImplementedError(
                    "DataLoader: an IterableDataset is read with num_workers=0 only in fastgrad"
                )
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError(
                    "batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, and drop_last"
                )
            batch_size = None
            drop_last = False
        elif batch_size is None and drop_last:
            raise ValueError(
                "batch_size=None option disables auto-batching and is mutually exclusive with drop_last"
            )
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = bool(shuffle)
        self.drop_last = drop_last
        self.seed = seed
        self.generator = generator
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.in_order = in_order
        self._auto = batch_size is not None or batch_sampler is not None
        self.collate_fn = collate_fn or (default_collate if self._auto else default_convert)
        self.epoch = 0
        self.num_workers = num_workers
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.persistent_workers = persistent_workers
        self.prefetch_factor = int(prefetch)
        self.timeout = float(timeout)
        self._pool = None
        self._iterable = iterable
        # The default order (no sampler given) is drawn by _order below, vectorised; the
        # sampler objects exist for code that inspects them (loader.sampler, len(...)).
        self._custom = sampler is not None or batch_sampler is not None
        if iterable:
            self.sampler: Any = None
        elif sampler is not None:
            self.sampler = sampler
        elif self.shuffle:
            self.sampler = RandomSampler(dataset, generator=generator)
        else:
            self.sampler = SequentialSampler(dataset)
        if batch_sampler is not None:
            self.batch_sampler: Any = batch_sampler
        elif batch_size is not None and not iterable:
            self.batch_sampler = BatchSampler(self.sampler, batch_size, bool(drop_last))
        else:
            self.batch_sampler = None
        self._gen: Optional[np.random.Generator] = None

    def __len__(self) -> int:
        if self._iterable:
            n = len(self.dataset)
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        return len(self.sampler)

    def set_epoch(self, epoch: int) -> None:
        """Sets the epoch that seeds the next shuffle (same seed and epoch, same order)."""
        self.epoch = int(epoch)

    def _order(self) -> Optional[np.ndarray]:
        if not self.shuffle:
            return None
        if self.generator is not None:
            if self._gen is None:  # one stream per loader: each epoch a new permutation
                self._gen = _rng(self.generator, "DataLoader")
            return self._gen.permutation(len(self.dataset))
        s = (self.seed + self.epoch) if self.seed is not None else ops.next_seed()
        return np.random.default_rng(s).permutation(len(self.dataset))

    def _batch_indices(self) -> Iterator[Any]:
        """Per batch: None-order (a, b) ranges or index arrays (an int: one unbatched
        sample), in order."""
        if self._custom:
            self.epoch += 1
            if self.batch_sampler is not None:
                for b in self.batch_sampler:
                    yield np.asarray(b, dtype=np.int64).reshape(-1)
            else:
                yield from (int(i) for i in self.sampler)
            return
        n = len(self.dataset)
        order = self._order()
        self.epoch += 1
        if self.batch_size is None:
            yield from (range(n) if order is None else order.tolist())
            return
        B = self.batch_size
        stop = (n // B) * B if self.drop_last else n
        for a in range(0, stop, B):
            b = min(a + B, n)
            yield (a, b) if order is None else order[a:b]

    def _make_batch(self, spec: Any) -> Any:
        ds = self.dataset
        if isinstance(spec, int):  # batch_size=None: one sample, converted
            return self.collate_fn(ds[spec])
        if isinstance(spec, tuple):  # a contiguous range, no shuffle
            a, b = spec
            if isinstance(ds, TensorDataset) and self.collate_fn is default_collate:
                return list(ds.slice(a, b))
            idx = np.arange(a, b)
        else:
            idx = spec
        if hasattr(ds, "take") and self.collate_fn is default_collate:
            out = ds.take(idx)
            return list(out) if isinstance(out, tuple) else out
        return self.collate_fn([ds[int(i)] for i in idx])

    def _iter_stream(self) -> Iterator[Any]:
        if self.batch_size is None:
            for s in self.dataset:
                yield self.collate_fn(s)
            return
        batch: list = []
        for s in self.dataset:
            batch.append(s)
            if len(batch) == self.batch_size:
                yield self.collate_fn(batch)
                batch = []
        if batch and not self.drop_last:
            yield self.collate_fn(batch)

    def __iter__(self) -> Iterator[Any]:
        if self._iterable:
            return self._iter_stream()
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
