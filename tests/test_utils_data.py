"""fg.utils.data: PyTorch's module path, samplers, default_collate and DataLoader's
signature, with torch.utils.data as the oracle."""

import collections

import numpy as np
import pytest
import torch
import torch.utils.data as tud

import fastgrad as fg
import fastgrad.utils.data as fud
from fastgrad.utils.data import DataLoader, TensorDataset


def same(f, t):
    """fastgrad batch f equals torch batch t: structure, container types, dtypes, values."""
    if isinstance(t, torch.Tensor):
        assert isinstance(f, fg.Tensor), type(f)
        assert str(t.dtype).split(".")[1] == str(f.dtype).split(".")[1], (f.dtype, t.dtype)
        np.testing.assert_array_equal(np.asarray(f), t.numpy())
    elif isinstance(t, dict):
        assert type(f) is type(t) and list(f) == list(t)
        for k in t:
            same(f[k], t[k])
    elif isinstance(t, (list, tuple)):
        assert type(f) is type(t) and len(f) == len(t), (type(f), type(t))
        for a, b in zip(f, t):
            same(a, b)
    else:
        assert f == t


class Pairs:
    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return {"x": np.full(3, i, np.float32), "y": i, "w": float(i) / 2, "name": f"s{i}"}


P = collections.namedtuple("P", "a b")


@pytest.mark.parametrize(
    "batch",
    [
        [1, 2, 3],
        [1.5, 2.5],
        [True, False],
        [np.float32(1), np.float32(2)],
        [np.arange(3), np.arange(3)],
        [np.ones((2, 2), np.float64), np.zeros((2, 2), np.float64)],
        [(1, 2.0), (3, 4.0)],
        [[1, 2], [3, 4]],
        [{"a": 1, "b": [1.0, 2.0]}, {"a": 2, "b": [3.0, 4.0]}],
        ["x", "y"],
        [P(1, 2.0), P(3, 4.0)],
    ],
)
def test_default_collate_matches_torch(batch):
    same(fud.default_collate(batch), tud.default_collate(batch))


def test_default_collate_of_tensors_stacks():
    f = fud.default_collate([fg.ones([2, 3]), fg.zeros([2, 3])])
    t = tud.default_collate([torch.ones(2, 3), torch.zeros(2, 3)])
    same(f, t)


def test_import_paths():
    import fastgrad.utils.data  # noqa: F401

    assert fg.utils.data.DataLoader is fg.data.DataLoader
    from fastgrad.utils.data import Dataset, random_split  # noqa: F401


def test_loader_of_a_map_dataset_matches_torch():
    for kw in [dict(batch_size=3), dict(batch_size=3, drop_last=True), dict(batch_size=None), dict()]:
        f, t = list(DataLoader(Pairs(7), **kw)), list(tud.DataLoader(Pairs(7), **kw))
        assert len(f) == len(t) == len(DataLoader(Pairs(7), **kw)) == len(tud.DataLoader(Pairs(7), **kw))
        for a, b in zip(f, t):
            same(a, b)


def test_tensor_dataset_batches_are_lists_like_torch():
    X = np.arange(20, dtype=np.float32).reshape(10, 2)
    Y = np.arange(10)
    f = list(DataLoader(TensorDataset(X, Y), 4))
    t = list(tud.DataLoader(tud.TensorDataset(torch.from_numpy(X), torch.from_numpy(Y)), 4))
    for a, b in zip(f, t):
        same(a, b)
    # the vectorised path and the generic one (a sampler given) agree
    g = list(DataLoader(TensorDataset(X, Y), 4, sampler=fud.SequentialSampler(range(10))))
    for a, b in zip(g, t):
        same(a, b)


def test_samplers_match_torch():
    data = list(range(10))
    assert list(fud.SequentialSampler(data)) == list(tud.SequentialSampler(data))
    for bs, dl in [(3, False), (3, True), (5, False)]:
        f = fud.BatchSampler(fud.SequentialSampler(data), bs, dl)
        t = tud.BatchSampler(tud.SequentialSampler(data), bs, dl)
        assert list(f) == list(t) and len(f) == len(t)
    r = fud.RandomSampler(data, generator=0)
    a, b = list(r), list(r)
    assert sorted(a) == data and sorted(b) == data and a != b and len(r) == 10
    assert list(fud.RandomSampler(data, generator=0)) == a  # reproducible
    rr = list(fud.RandomSampler(data, replacement=True, num_samples=25))
    assert len(rr) == 25 and set(rr) <= set(data)
    assert len(list(fud.RandomSampler(data, num_samples=25))) == 25
    s = list(fud.SubsetRandomSampler([3, 5, 7]))
    assert sorted(s) == [3, 5, 7]
    w = list(fud.WeightedRandomSampler([0.0, 1.0, 0.0, 3.0], 200, generator=1))
    assert set(w) == {1, 3} and 120 < w.count(3) < 180
    wn = list(fud.WeightedRandomSampler([1.0, 1.0, 0.0, 1.0], 3, replacement=False))
    assert sorted(wn) == [0, 1, 3]


@pytest.mark.parametrize(
    "bad",
    [
        dict(batch_size=0),
        dict(num_samples=0),
        dict(replacement=1),
    ],
)
def test_sampler_errors_like_torch(bad):
    data = list(range(4))
    if "batch_size" in bad:
        with pytest.raises(ValueError):
            tud.BatchSampler(data, 0, False)
        with pytest.raises(ValueError):
            fud.BatchSampler(data, 0, False)
        return
    with pytest.raises((ValueError, TypeError)) as te:
        tud.RandomSampler(data, **bad)
    with pytest.raises(te.type):
        fud.RandomSampler(data, **bad)


def test_sampler_and_batch_sampler_options():
    ds = Pairs(6)
    for kw in [
        dict(sampler=[5, 1, 3]),
        dict(sampler=[5, 1, 3], batch_size=2),
        dict(batch_sampler=[[0, 1], [5], [2, 3, 4]]),
    ]:
        f, t = list(DataLoader(ds, **kw)), list(tud.DataLoader(ds, **kw))
        assert len(f) == len(t) and len(DataLoader(ds, **kw)) == len(tud.DataLoader(ds, **kw))
        for a, b in zip(f, t):
            same(a, b)
    for kw in [
        dict(sampler=[1], shuffle=True),
        dict(batch_sampler=[[0]], batch_size=2),
        dict(batch_sampler=[[0]], drop_last=True),
        dict(batch_size=None, drop_last=True),
        dict(batch_size=-1),
        dict(prefetch_factor=2),
        dict(persistent_workers=True),
    ]:
        with pytest.raises(ValueError):
            tud.DataLoader(ds, **kw)
        with pytest.raises(ValueError):
            DataLoader(ds, **kw)


def test_positional_signature_is_torchs():
    ds = Pairs(5)
    # dataset, batch_size, shuffle, sampler, batch_sampler, num_workers, collate_fn, pin_memory, drop_last
    args = (ds, 2, False, None, None, 0, lambda b: [s["y"] for s in b], False, True)
    assert list(DataLoader(*args)) == list(tud.DataLoader(*args)) == [[0, 1], [2, 3]]


def test_shuffle_with_generator_is_reproducible_and_new_each_epoch():
    X = np.arange(30, dtype=np.float32).reshape(30, 1)

    def epoch(dl):
        return np.concatenate([np.asarray(b[0]).ravel() for b in dl])

    d1 = DataLoader(TensorDataset(X), 4, shuffle=True, generator=np.random.default_rng(0))
    d2 = DataLoader(TensorDataset(X), 4, shuffle=True, generator=np.random.default_rng(0))
    e1, e2 = epoch(d1), epoch(d1)
    np.testing.assert_array_equal(e1, epoch(d2))
    assert sorted(e1.tolist()) == list(range(30)) and not np.array_equal(e1, e2)
    tg = torch.Generator().manual_seed(5)  # a torch-style generator object is accepted
    assert sorted(epoch(DataLoader(TensorDataset(X), 4, shuffle=True, generator=tg)).tolist()) == list(
        range(30)
    )
    with pytest.raises(TypeError, match="generator"):
        list(DataLoader(TensorDataset(X), 4, shuffle=True, generator="x"))


class Stream(fud.IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter([(i, float(i)) for i in range(self.n)])

    def __len__(self):
        return self.n


class TStream(tud.IterableDataset):
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter([(i, float(i)) for i in range(self.n)])

    def __len__(self):
        return self.n


def test_iterable_dataset_like_torch():
    for kw in [dict(batch_size=3), dict(batch_size=3, drop_last=True), dict(batch_size=None)]:
        f, t = list(DataLoader(Stream(7), **kw)), list(tud.DataLoader(TStream(7), **kw))
        assert len(f) == len(t) and len(DataLoader(Stream(7), **kw)) == len(tud.DataLoader(TStream(7), **kw))
        for a, b in zip(f, t):
            same(a, b)
    for kw in [dict(shuffle=True), dict(sampler=[0])]:
        with pytest.raises(ValueError):
            tud.DataLoader(TStream(3), **kw)
        with pytest.raises(ValueError):
            DataLoader(Stream(3), **kw)
    assert [x for x, _ in fud.ChainDataset([Stream(2), Stream(3)])] == [0, 1, 0, 1, 2]


def test_concat_dataset_like_torch():
    a, b = list(range(3)), list(range(10, 15))
    f, t = fud.ConcatDataset([a, b]), tud.ConcatDataset([a, b])
    assert len(f) == len(t) and f.cumulative_sizes == t.cumulative_sizes
    assert [f[i] for i in range(-8, 8)] == [t[i] for i in range(-8, 8)]
    for i in (8, -9):
        with pytest.raises((IndexError, ValueError)) as te:
            t[i]
        with pytest.raises(te.type):
            f[i]
    s = fud.Subset([0, 1, 2], [2]) + fud.Subset([5, 6], [0, 1])
    assert isinstance(s, fud.ConcatDataset) and [s[i] for i in range(3)] == [2, 5, 6]
    same(list(DataLoader(f, 4))[1], list(tud.DataLoader(t, 4))[1])


@pytest.mark.parametrize("lengths", [[3, 7], [0.5, 0.5], [0.3, 0.3, 0.4], [0.34, 0.33, 0.33], [1.0]])
def test_random_split_lengths_like_torch(lengths):
    data = list(range(10))
    f = fud.random_split(data, lengths, generator=0)
    t = tud.random_split(data, lengths, generator=torch.Generator().manual_seed(0))
    assert [len(s) for s in f] == [len(s) for s in t]
    assert sorted(i for s in f for i in s.indices) == data
    assert [s.indices for s in fud.random_split(data, lengths, generator=0)] == [s.indices for s in f]


def test_random_split_errors_like_torch():
    for lengths in ([3, 3], [0.5, 0.6]):
        with pytest.raises(ValueError):
            tud.random_split(list(range(10)), lengths)
        with pytest.raises(ValueError):
            fud.random_split(list(range(10)), lengths)


def test_workers_with_a_sampler_match_num_workers_0():
    X = np.arange(24, dtype=np.float32).reshape(12, 2)
    ds = TensorDataset(X, np.arange(12))
    kw = dict(sampler=[11, 0, 5, 3, 7, 2], batch_size=4)
    a = list(DataLoader(ds, **kw))
    b = list(DataLoader(ds, num_workers=1, multiprocessing_context="fork", **kw))
    assert len(a) == len(b) == 2
    for u, v in zip(a, b):
        for x, y in zip(u, v):
            np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
    np.testing.assert_array_equal(np.asarray(a[0][1]), [11, 0, 5, 3])
