"""fg.data: batching, shuffling reproducibility, drop_last."""

import numpy as np
import pytest

import fastgrad as fg
from fastgrad.data import DataLoader, TensorDataset, random_split


def A(t):
    return np.asarray(t)


def test_batches_ceil_and_drop_last():
    X = np.arange(10 * 2, dtype=np.float32).reshape(10, 2)
    Y = np.arange(10)
    ds = TensorDataset(X, Y)
    dl = DataLoader(ds, batch_size=4)
    bs = list(dl)
    assert len(dl) == 3 and [b[0].shape[0] for b in bs] == [4, 4, 2]
    np.testing.assert_array_equal(np.concatenate([A(b[0]) for b in bs]), X)
    assert bs[0][1].dtype == fg.int64
    dl = DataLoader(ds, batch_size=4, drop_last=True)
    assert len(dl) == 2 and [b[0].shape[0] for b in dl] == [4, 4]
    with pytest.raises(ValueError, match="first dimension"):
        TensorDataset(X, Y[:5])


def test_shuffle_reproducible_and_a_permutation():
    X = np.arange(50, dtype=np.float32).reshape(50, 1)
    ds = TensorDataset(X, X * 2)
    a = [A(b[0]).ravel() for b in DataLoader(ds, 8, shuffle=True, seed=3)]
    b = [A(b[0]).ravel() for b in DataLoader(ds, 8, shuffle=True, seed=3)]
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    allx = np.concatenate(a)
    assert sorted(allx.tolist()) == list(range(50)) and not np.array_equal(allx, np.arange(50))
    dl = DataLoader(ds, 8, shuffle=True, seed=3)
    e1 = np.concatenate([A(b[0]).ravel() for b in dl])
    e2 = np.concatenate([A(b[0]).ravel() for b in dl])
    assert not np.array_equal(e1, e2)  # a new permutation each epoch
    for xb, yb in dl:  # rows stay paired
        np.testing.assert_array_equal(A(yb), A(xb) * 2)
    fg.manual_seed(5)
    c = np.concatenate([A(b[0]).ravel() for b in DataLoader(ds, 8, shuffle=True)])
    fg.manual_seed(5)
    d = np.concatenate([A(b[0]).ravel() for b in DataLoader(ds, 8, shuffle=True)])
    np.testing.assert_array_equal(c, d)


def test_generic_dataset_and_split():
    class Sq:
        def __len__(self):
            return 7

        def __getitem__(self, i):
            return np.array([i], dtype=np.float32), np.array(i * i)

    bs = list(DataLoader(Sq(), 3))
    assert [b[0].shape for b in bs] == [(3, 1), (3, 1), (1, 1)]
    np.testing.assert_array_equal(A(bs[1][1]), [9, 16, 25])
    ds = TensorDataset(np.arange(10.0))
    tr, va = random_split(ds, [0.8, 0.2], seed=0)
    assert len(tr) == 8 and len(va) == 2
    got = np.concatenate([A(b[0]) for b in DataLoader(tr, 3)] + [A(b[0]) for b in DataLoader(va, 3)])
    assert sorted(got.tolist()) == list(range(10))
