"""NumPy and DLPack interop: shared memory both ways, rejection of what cannot be
shared, lifetimes."""

from __future__ import annotations

import gc

import numpy as np
import pytest

import fastgrad as fg


@pytest.mark.parametrize(
    "npdt,fdt",
    [(np.float32, fg.float32), (np.float64, fg.float64), (np.int64, fg.int64), (np.bool_, fg.bool)],
)
def test_from_numpy_shares_memory_both_ways(npdt, fdt):
    a = np.zeros((2, 3), npdt)
    t = fg.from_numpy(a)
    assert t.dtype == fdt and t.shape == (2, 3)
    assert t._data_ptr == a.ctypes.data
    a[1, 2] = 1
    assert np.asarray(t)[1, 2] == 1
    with fg.no_grad():
        t[0, 0] = 1
    assert a[0, 0] == 1


def test_numpy_views_of_tensor_share_memory():
    t = fg.tensor(np.arange(6.0).reshape(2, 3))
    a, b = np.asarray(t), t.numpy()
    assert a.ctypes.data == t._data_ptr == b.ctypes.data
    a[0, 0] = 42.0
    assert t.tolist()[0][0] == 42.0
    v = np.asarray(t.T)  # strided views export their strides
    assert v.ctypes.data == t._data_ptr and v.strides == (8, 24)
    np.testing.assert_array_equal(v, np.asarray(t).T)
    s = np.asarray(t[:, 1:])
    assert s.ctypes.data == t._data_ptr + 8


def test_ops_see_writes_through_from_numpy():
    a = np.ones(4, np.float32)
    t = fg.from_numpy(a)
    a *= 3
    np.testing.assert_array_equal(np.asarray(t * 2.0), np.full(4, 6.0))


@pytest.mark.parametrize(
    "bad,err",
    [
        (np.zeros((3, 4))[::-1], ValueError),  # negative strides (torch refuses them too)
        (np.zeros((3, 4))[:, ::-2], ValueError),
        (np.zeros(3, np.complex128), TypeError),
        (np.zeros(3, np.float16), TypeError),
        (np.zeros(3, np.int32), TypeError),
        (np.zeros(3, np.uint8), TypeError),
        (np.zeros(3, ">f8"), TypeError),
    ],
)
def test_from_numpy_rejects_what_it_cannot_share(bad, err):
    with pytest.raises(err, match="from_numpy"):
        fg.from_numpy(bad)


def test_from_numpy_rejects_non_arrays():
    with pytest.raises(TypeError, match="from_numpy"):
        fg.from_numpy([1.0, 2.0])


@pytest.mark.parametrize(
    "src",
    [
        np.zeros((3, 4))[:, ::2] + 1,
        np.asfortranarray(np.ones((3, 4))),
        np.arange(3, dtype=np.int32),
        np.ones(3, np.float16),
    ],
)
def test_tensor_copies_what_from_numpy_rejects(src):
    t = fg.tensor(src)
    np.testing.assert_array_equal(np.asarray(t), src)
    assert t._data_ptr != src.ctypes.data


def test_tensor_rejects_complex():
    with pytest.raises(TypeError):
        fg.tensor(np.zeros(2, np.complex64))


def test_readonly_arrays_stay_readonly():
    a = np.arange(3.0)
    a.setflags(write=False)
    t = fg.from_numpy(a)
    np.testing.assert_array_equal(np.asarray(t * 2.0), [0, 2, 4])
    with pytest.raises(ValueError):
        t.copy_(fg.tensor(np.ones(3)))
    assert not np.asarray(t).flags.writeable


def test_source_array_may_be_deleted():
    a = np.arange(1000.0)
    t = fg.from_numpy(a)
    del a
    gc.collect()
    junk = [np.full(1000, -1.0) for _ in range(50)]  # reuse freed memory if it were freed
    np.testing.assert_array_equal(np.asarray(t), np.arange(1000.0))
    del junk


def test_numpy_view_keeps_tensor_alive():
    t = fg.tensor(np.arange(1000.0))
    a = np.asarray(t)
    del t
    gc.collect()
    junk = [fg.full((1000,), -1.0, dtype=fg.float64) for _ in range(50)]
    np.testing.assert_array_equal(a, np.arange(1000.0))
    del junk


def test_dlpack_numpy_from_tensor():
    t = fg.tensor(np.arange(12.0).reshape(3, 4))
    a = np.from_dlpack(t)
    assert a.ctypes.data == t._data_ptr
    with fg.no_grad():
        t[0, 1] = -5  # legacy (unversioned) capsules import read-only into NumPy >= 2.3
    assert a[0, 1] == -5
    v = np.from_dlpack(t.T)
    np.testing.assert_array_equal(v, np.asarray(t).T)
    del t
    gc.collect()
    assert a[0, 1] == -5 and a.sum() == np.arange(12.0).sum() - 1 - 5


def test_dlpack_tensor_from_numpy():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    t = fg.from_dlpack(a)
    assert t.dtype == fg.float32 and t.shape == (2, 3) and t._data_ptr == a.ctypes.data
    a[1, 1] = 100
    assert t.tolist()[1][1] == 100
    s = fg.from_dlpack(np.arange(10.0)[::3])  # strided producer
    np.testing.assert_array_equal(np.asarray(s), [0, 3, 6, 9])
    del a
    gc.collect()
    assert t.tolist()[1][1] == 100


def test_dlpack_round_trip_and_dtypes():
    for npdt in (np.float32, np.float64, np.int64, np.bool_):
        a = np.ones(3, npdt)
        t = fg.from_dlpack(a)
        b = np.from_dlpack(t)
        assert b.dtype == npdt and b.ctypes.data == a.ctypes.data
    with pytest.raises(TypeError, match="dtype"):
        fg.from_dlpack(np.ones(3, np.int32))


def test_dlpack_tensors_participate_in_autograd():
    a = np.array([1.0, 2.0])
    t = fg.from_dlpack(a)
    t.requires_grad = True
    fg.sum(t * t).backward()
    np.testing.assert_array_equal(np.asarray(t.grad), [2.0, 4.0])


def test_dlpack_export_is_writable():
    t = fg.tensor(np.zeros(3))
    a = np.from_dlpack(t)
    a[0] = 1.0
    assert t.tolist()[0] == 1.0


def _readonly_tensors(tmp_path):
    global torch
    import torch

    a = np.arange(6.0)
    a.flags.writeable = False
    f = tmp_path / "mm.bin"
    np.arange(6.0).tofile(f)
    mm = np.memmap(f, dtype=np.float64, mode="r", shape=(6,))  # pages mapped read-only: a write segfaults
    return [fg.from_numpy(a), fg.from_numpy(mm), fg.from_numpy(a)[2:], fg.from_numpy(mm).reshape(2, 3).T]


def test_dlpack_legacy_export_of_readonly_is_refused(tmp_path):
    """A legacy capsule has no read-only flag, so a consumer would write into read-only
    memory (a read-only np.memmap segfaults). NumPy refuses that export with BufferError;
    so does fastgrad, for every kind of read-only tensor and every spelling of "legacy"."""
    for t in _readonly_tensors(tmp_path):
        for kw in (
            {},
            {"max_version": None},
            {"max_version": (0, 8)},
            {"copy": False},
            {"dl_device": (1, 0)},
        ):
            with pytest.raises(BufferError, match="read-only"):
                t.__dlpack__(**kw)
        ref = np.asarray(t).copy()
        # DLPack >= 1.0 carries the flag: NumPy imports it read-only.
        b = np.from_dlpack(t)
        assert not b.flags.writeable
        np.testing.assert_array_equal(b, ref)
        assert fg.from_dlpack(t.__dlpack__(max_version=(1, 0))).tolist() == t.tolist()
        # copy=True exports a writable copy: writing to it leaves the source alone.
        # (torch ignores DLPack's read-only flag, so it is the consumer that writes here)
        for mv in (None, (1, 0)):
            c = torch.from_dlpack(t.__dlpack__(copy=True, max_version=mv))
            c.fill_(-1.0)
            np.testing.assert_array_equal(np.asarray(t), ref)
    # writable tensors keep the zero-copy legacy export
    w = fg.tensor(np.zeros(3))
    torch.from_dlpack(w.__dlpack__()).fill_(2.0)
    assert w.tolist() == [2.0, 2.0, 2.0]


@pytest.mark.parametrize(
    "kw, exc, needle",
    [
        ({"max_version": 1}, TypeError, "max_version"),
        ({"max_version": (1,)}, TypeError, "max_version"),
        ({"max_version": ("a", 0)}, TypeError, "max_version"),
        ({"max_version": (1.0, 0)}, TypeError, "max_version"),
        ({"dl_device": 1}, TypeError, "dl_device"),
        ({"dl_device": (2, 0)}, BufferError, "device"),
        ({"dl_device": (1, 1)}, BufferError, "device"),
        ({"copy": "yes"}, TypeError, "copy"),
        ({"stream": 1}, ValueError, "stream"),
        ({"stream": "x"}, TypeError, "stream"),
    ],
)
def test_dlpack_argument_validation(kw, exc, needle):
    with pytest.raises(exc, match=needle):
        fg.zeros(3).__dlpack__(**kw)


def test_dlpack_accepted_arguments():
    t = fg.tensor(np.arange(3.0))
    for kw in (
        {"stream": None},
        {"stream": -1},
        {"max_version": [1, 0]},
        {"max_version": (2, 5)},
        {"dl_device": (1, 0)},
        {"copy": None},
        {"copy": False},
    ):
        assert fg.from_dlpack(t.__dlpack__(**kw)).tolist() == [0.0, 1.0, 2.0]
    shared = fg.from_dlpack(t.__dlpack__(copy=False))
    assert shared._data_ptr == t._data_ptr
    copied = fg.from_dlpack(t.__dlpack__(copy=True, max_version=(1, 0)))
    assert copied._data_ptr != t._data_ptr and copied.tolist() == t.tolist()


def test_from_numpy_shares_strided_views_like_torch():
    """torch.from_numpy(data[3:, :-1]) is a view (pytorch/examples' time_sequence_prediction)."""
    import torch

    data = np.arange(40.0).reshape(5, 8)
    view = data[3:, :-1]
    t = fg.from_numpy(view)
    np.testing.assert_array_equal(np.asarray(t), torch.from_numpy(view).numpy())
    data[4, 0] = -1.0  # the memory is shared
    assert float(t[1, 0]) == -1.0
    np.testing.assert_array_equal(np.asarray(fg.from_numpy(data[:, ::3])), data[:, ::3])
    np.testing.assert_array_equal(np.asarray(fg.from_numpy(data.T) * 2), data.T * 2)
    with pytest.raises(ValueError, match="negative strides"):
        fg.from_numpy(data[::-1])
    with pytest.raises(ValueError):
        torch.from_numpy(data[::-1])
    raw = np.array([[0, 7], [1, 0], [2, 9]], np.uint8)  # bytes that are not 0/1 under a bool view
    b = fg.from_numpy(raw.view(np.bool_)[:, :1])
    assert np.asarray(b).tolist() == [[False], [True], [True]]
    assert raw[:, 1].tolist() == [7, 0, 9]  # only the view's own bytes were normalised
