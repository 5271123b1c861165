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
