"""fg.save / fg.load: round trips, safetensors compatibility, atomic writes, damaged files."""

import json
import os
import struct

import numpy as np
import pytest

import fastgrad as fg
import fastgrad.nn as nn
import fastgrad.optim as optim
from fastgrad.io import export_state_dict, load, load_pytorch_state_dict, save

try:
    import torch
except Exception:  # pragma: no cover
    torch = None


def A(t):
    return np.asarray(t.detach() if isinstance(t, fg.Tensor) else t)


def test_round_trip_nested_checkpoint(tmp_path):
    m = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
    opt = optim.Adam(optim.param_groups(m, 1e-4), lr=1e-3, amsgrad=True)
    fg.sum(m(fg.randn(5, 3))).backward()
    opt.step()
    ckpt = {
        "model": m.state_dict(),
        "optimizer": opt.state_dict(),
        "epoch": 3,
        "hp": {"lr": 1e-3, "best": float("inf"), "name": "x", "dims": (3, 4), "none": None},
        "arr": np.arange(4, dtype=np.int64),
        "f64": fg.ones(2, dtype=fg.float64),
    }
    p = tmp_path / "ck.fg"
    save(ckpt, p)
    back = load(p)
    assert back["epoch"] == 3 and back["hp"]["best"] == float("inf") and back["hp"]["dims"] == (3, 4)
    assert back["hp"]["none"] is None and isinstance(back["arr"], np.ndarray)
    assert back["f64"].dtype == fg.float64
    for k, v in m.state_dict().items():
        np.testing.assert_array_equal(A(back["model"][k]), A(v))
        assert back["model"][k].dtype == v.dtype
    assert back["model"]["1.num_batches_tracked"].dtype == fg.int64
    m2 = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
    m2.load_state_dict(back["model"])
    opt2 = optim.Adam(optim.param_groups(m2, 1e-4), lr=1e-3, amsgrad=True)
    opt2.load_state_dict(back["optimizer"])
    assert opt2.state[m2[0].weight]["step"] == 1
    np.testing.assert_array_equal(
        A(opt2.state[m2[0].weight]["exp_avg"]), A(opt.state[m[0].weight]["exp_avg"])
    )


def test_flat_state_dict_is_plain_safetensors(tmp_path):
    m = nn.Linear(3, 2)
    p = tmp_path / "m.safetensors"
    save(m.state_dict(), p)
    raw = p.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    assert header["weight"]["dtype"] == "F32" and header["weight"]["shape"] == [2, 3]
    assert (8 + n) % 8 == 0
    st = pytest.importorskip("safetensors.numpy")
    d = st.load_file(str(p))
    np.testing.assert_array_equal(d["weight"], A(m.weight))
    # and a file written by safetensors loads as a flat dict of tensors
    q = tmp_path / "other.safetensors"
    st.save_file({"a": np.arange(6, dtype=np.float32).reshape(2, 3)}, str(q))
    got = load(q)
    np.testing.assert_array_equal(A(got["a"]), np.arange(6).reshape(2, 3))


def test_atomic_write_leaves_old_file_on_failure(tmp_path):
    p = tmp_path / "x.fg"
    save({"a": fg.ones(3)}, p)
    with pytest.raises(TypeError, match="cannot store"):
        save({"a": fg.zeros(3), "bad": object()}, p)
    np.testing.assert_array_equal(A(load(p)["a"]), np.ones(3))
    assert sorted(os.listdir(tmp_path)) == ["x.fg"]  # no temp files left behind


def _corrupt(tmp_path, data, name="bad.fg"):
    p = tmp_path / name
    p.write_bytes(data)
    return p


def test_damaged_files_raise_clear_errors(tmp_path):
    p = tmp_path / "good.fg"
    save({"w": fg.ones(4, 4), "b": fg.zeros(4)}, p)
    raw = p.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    cases = {
        "short": raw[:5],
        "truncated data": raw[:-10],
        "truncated header": raw[: 8 + n // 2],
        "huge header": struct.pack("<Q", 1 << 40) + raw[8:],
        "garbage": os.urandom(200),
        "bad json": raw[:8] + b"{" * n + raw[8 + n :],
        "trailing": raw + b"\0" * 8,
    }
    for _what, data in cases.items():
        bad = _corrupt(tmp_path, data)
        with pytest.raises(ValueError, match="bad.fg"):
            load(bad)
    header = json.loads(raw[8 : 8 + n])
    for mutate in (
        lambda h: h["w"].update(shape=[4, 5]),
        lambda h: h["w"].update(data_offsets=[0, 80]),
        lambda h: h["w"].update(dtype="Q99"),
        lambda h: h["b"].update(data_offsets=[-1, 15]),
    ):
        h = json.loads(json.dumps(header))
        mutate(h)
        hb = json.dumps(h).encode()
        hb += b" " * ((-len(hb)) % 8)
        bad = _corrupt(tmp_path, struct.pack("<Q", len(hb)) + hb + raw[8 + n :])
        with pytest.raises(ValueError, match="bad.fg"):
            load(bad)
    # overlapping ranges
    h = json.loads(json.dumps(header))
    wb = h["w"]["data_offsets"]
    h["b"]["data_offsets"] = [wb[0], wb[0] + 16]
    hb = json.dumps(h).encode()
    bad = _corrupt(tmp_path, struct.pack("<Q", len(hb)) + hb + raw[8 + n :])
    with pytest.raises(ValueError, match="overlap|hole|trailing"):
        load(bad)


def test_pytorch_and_jax_layouts():
    m = nn.Sequential(nn.Linear(3, 4, layout="jax"), nn.ReLU(), nn.Conv1d(1, 2, 3, data_format="NLC"))
    sd = {
        "0.weight": np.arange(12, dtype=np.float32).reshape(4, 3),
        "0.bias": np.zeros(4, np.float32),
        "2.weight": np.arange(6, dtype=np.float32).reshape(2, 1, 3),
        "2.bias": np.ones(2, np.float32),
    }
    load_pytorch_state_dict(m, sd)
    np.testing.assert_array_equal(A(m[0].weight), sd["0.weight"].T)
    np.testing.assert_array_equal(A(m[2].weight), sd["2.weight"].transpose(0, 2, 1))
    back = export_state_dict(m, "torch")
    for k in sd:
        np.testing.assert_array_equal(back[k], sd[k])
    jx = export_state_dict(m, "jax")
    assert jx["0.weight"].shape == (3, 4) and jx["2.weight"].shape == (2, 3, 1)
    if torch is not None:
        tm = torch.nn.Linear(3, 4)
        fm = nn.Linear(3, 4, layout="jax")
        load_pytorch_state_dict(fm, tm.state_dict())
        x = np.random.default_rng(0).standard_normal((2, 3)).astype(np.float32)
        np.testing.assert_allclose(
            A(fm(fg.tensor(x))), tm(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-6
        )


def test_layout_helpers_live_in_nn_interop():
    """One layout check and one conversion table (nn.interop); a user layer that declares
    weight_layout_kind/weight_layout gets converted by the model-level helpers too."""
    from fastgrad.nn import interop

    for bad in [
        lambda: interop.check_layout("tf", "Linear"),
        lambda: nn.Linear(2, 3, layout="tf"),
        lambda: nn.functional.linear(fg.ones(2), fg.ones(3, 2), layout="tf"),
        lambda: export_state_dict(nn.Linear(2, 2), "tf"),
    ]:
        with pytest.raises(ValueError, match="layout must be 'torch' or 'jax', got 'tf'"):
            bad()
    w = np.arange(24.0).reshape(2, 3, 4)  # conv1d weight (C_out, C_in, k)
    cl = interop.convert_weight(w, "conv", "torch", "jax")
    assert cl.shape == (2, 4, 3)
    np.testing.assert_array_equal(interop.convert_weight(cl, "conv", "jax", "torch"), w)
    np.testing.assert_array_equal(interop.convert_weight(w[0], "linear", "torch", "jax"), w[0].T)
    assert interop.convert_weight(w, "conv", "jax", "jax") is w

    class MyDense(nn.Module):
        weight_layout_kind = "linear"
        weight_layout = "jax"

        def __init__(self):
            super().__init__()
            self.weight = nn.Parameter(fg.zeros(3, 2))

    m = nn.Sequential(MyDense())
    assert interop.weight_layouts(m) == {"0.weight": ("linear", "jax")}
    load_pytorch_state_dict(m, {"0.weight": np.arange(6.0).reshape(2, 3)})
    np.testing.assert_array_equal(A(m[0].weight), np.arange(6.0).reshape(2, 3).T)
    np.testing.assert_array_equal(export_state_dict(m, "torch")["0.weight"], np.arange(6.0).reshape(2, 3))


# ------------------------------------------------------------------ file objects, map_location
def _all_kinds():
    return {
        "f32": fg.tensor(np.arange(6, dtype=np.float32).reshape(2, 3)),
        "f64": fg.tensor(np.linspace(0, 1, 4)),
        "i64": fg.tensor(np.array([-(2**62), 0, 7], dtype=np.int64)),
        "bool": fg.tensor(np.array([True, False])),
        "scalar": fg.tensor(np.float64(2.5)),
        "empty": fg.zeros([0, 3]),
        "nested": [1, 2.5, "s", None, (3, [4.0, {"k": fg.ones([2])}]), True, float("inf")],
        7: "int key",
    }


def _same(a, b):
    if isinstance(a, fg.Tensor):
        assert isinstance(b, fg.Tensor) and a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(A(a), A(b))
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            _same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b)
        for x, y in zip(a, b):
            _same(x, y)
    else:
        assert a == b and type(a) is type(b)


def test_file_objects_round_trip(tmp_path):
    import io as _io

    obj = _all_kinds()
    buf = _io.BytesIO()
    save(obj, buf)
    buf.seek(0)
    _same(obj, load(buf))
    p = tmp_path / "c.fg"
    with open(p, "wb") as f:
        save(obj, f)
    with open(p, "rb") as f:
        _same(obj, load(f))
    _same(obj, load(str(p)))

    class OnlyRead:  # a non-seekable stream (a pipe, a socket file)
        def __init__(self, data):
            self.b = _io.BytesIO(data)

        def read(self, n=-1):
            return self.b.read(n)

    _same(obj, load(OnlyRead(buf.getvalue())))
    with pytest.raises(ValueError, match="not a valid"):
        load(_io.BytesIO(buf.getvalue()[:-3]))
    with open(p) as f, pytest.raises(TypeError, match="binary"):
        load(f)
    with open(tmp_path / "t.txt", "w") as f, pytest.raises(TypeError, match="binary"):
        save(obj, f)


def test_map_location_and_weights_only(tmp_path):
    from fastgrad._device import device

    p = tmp_path / "m.fg"
    sd = nn.Linear(2, 3).state_dict()
    save(sd, p)
    for loc in [
        None,
        "cpu",
        "cpu:0",
        device("cpu"),
        torch.device("cpu"),
        {"cuda:0": "cpu"},
        lambda s, loc: s,
    ]:
        _same(dict(sd), load(p, map_location=loc))
    _same(dict(sd), load(p, "cpu", weights_only=True))
    _same(dict(sd), load(p, weights_only=False, mmap=False))
    doubled = load(p, map_location=lambda t, loc: t * 2)
    np.testing.assert_array_equal(A(doubled["weight"]), 2 * A(sd["weight"]))
    for bad in ["cuda", "cuda:0", torch.device("meta"), {"cpu": "cuda:1"}]:
        with pytest.raises(ValueError, match="CPU only"):
            load(p, map_location=bad)
    with pytest.raises(TypeError, match="map_location"):
        load(p, map_location=lambda t, loc: 3)


def test_training_checkpoint_resumes_exactly(tmp_path):
    """The script pattern: {'epoch', 'model_state_dict', 'optimizer_state_dict', 'loss'}."""
    import io as _io

    rng = np.random.default_rng(0)
    X, Y = fg.tensor(rng.normal(size=(16, 3))), fg.tensor(rng.normal(size=(16, 1)))

    def make():
        fg.manual_seed(0)
        m = nn.Sequential(nn.Linear(3, 4, dtype=fg.float64), nn.Tanh(), nn.Linear(4, 1, dtype=fg.float64))
        return m, fg.optim.Adam(m.parameters(), lr=0.01)

    def step(m, opt):
        opt.zero_grad()
        loss = ((m(X) - Y) ** 2).mean()
        loss.backward()
        opt.step()
        return float(loss)

    m, opt = make()
    for _ in range(3):
        loss = step(m, opt)
    buf = _io.BytesIO()
    save(
        {
            "epoch": 3,
            "model_state_dict": m.state_dict(),
            "optimizer_state_dict": opt.state_dict(),
            "loss": loss,
        },
        buf,
    )
    want = [step(m, opt) for _ in range(3)]
    buf.seek(0)
    ck = load(buf, map_location="cpu", weights_only=True)
    assert ck["epoch"] == 3 and ck["loss"] == loss and isinstance(ck["loss"], float)
    m2, opt2 = make()
    m2.load_state_dict(ck["model_state_dict"])
    opt2.load_state_dict(ck["optimizer_state_dict"])
    assert [step(m2, opt2) for _ in range(3)] == want


def test_pytorch_checkpoint_is_refused_with_a_hint(tmp_path):
    p = tmp_path / "t.pt"
    torch.save({"w": torch.ones(2)}, p)
    with pytest.raises(ValueError, match="PyTorch checkpoint"):
        load(p)
