"""Checkpoint files under abuse (issue 7, item 5).

* a save SIGKILLed at a random moment leaves the previous checkpoint loadable and
  intact (atomic write: temp file + fsync + rename);
* loading never runs code: there is no pickle path, and a pickle payload (or a
  PyTorch zip checkpoint) is rejected with ValueError;
* truncated, bit-flipped, byte-fuzzed and hand-crafted malicious files give a clear
  ValueError (or load as valid data when the damage only changed tensor bytes) —
  never a crash, a hang, or another exception type.
"""

from __future__ import annotations

import json
import os
import pickle
import re
import signal
import struct
import subprocess
import sys
import textwrap
import time
import tracemalloc
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fastgrad as fg

io = pytest.importorskip("fastgrad.io")
save = getattr(fg, "save", None) or io.save
load = getattr(fg, "load", None) or io.load

try:
    from fuzz_profiles import BASE, COUNTER
except ImportError:  # pragma: no cover
    BASE, COUNTER = settings(max_examples=50, deadline=None), None


def _state(seed=0, n=4, size=64):
    rng = np.random.default_rng(seed)
    return {
        f"layer{i}.weight": fg.tensor(rng.standard_normal((size, size)), dtype=fg.float32) for i in range(n)
    }


def _reference_file(tmp_path):
    path = tmp_path / "ref.fg"
    obj = {
        "model": _state(),
        "step": 7,
        "lr": 1e-3,
        "betas": (0.9, 0.999),
        "name": "adam",
        "state": {0: {"m": fg.zeros(3, dtype=fg.float64), "v": fg.ones(2, 2)}},
        "none": None,
    }
    save(obj, path)
    return path, path.read_bytes()


def _load_outcome(path):
    """'ok' or 'ValueError'; anything else fails the test."""
    try:
        load(path)
        return "ok"
    except ValueError as e:
        assert str(e), "empty error message"
        return "ValueError"


# fg.load's documented bound: at most about 60 bytes of Python memory per header byte
# (io.py), plus the data itself (a copy per tensor); a little slack for the interpreter.
BYTES_PER_FILE_BYTE = 64
SLACK_BYTES = 1 << 20


def _bounded_load(path):
    """``_load_outcome(path)``, checking what a damaged file can make fg.load spend: it
    asks for no byte beyond the file's size (a header cannot make it read on, or size a
    buffer by a claimed length), and its peak Python/NumPy allocation stays within
    BYTES_PER_FILE_BYTE per file byte. Both are counts, not times: a hostile header that
    made load loop or allocate without bound fails here on any machine."""
    size = path.stat().st_size
    asked = []
    read_exactly = io._read_exactly

    def counting(f, n, bad):
        asked.append(n)
        return read_exactly(f, n, bad)

    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    try:
        with mock.patch.object(io, "_read_exactly", counting):
            outcome = _load_outcome(path)
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        if not was_tracing:
            tracemalloc.stop()
    assert asked, "fg.load no longer reads through io._read_exactly: update this bound"
    assert sum(asked) <= size, f"fg.load asked for {sum(asked)} bytes of a {size}-byte file ({asked})"
    limit = BYTES_PER_FILE_BYTE * size + SLACK_BYTES
    assert peak <= limit, f"fg.load of a {size}-byte file allocated {peak} bytes (limit {limit})"
    return outcome


# ------------------------------------------------------------------ kill during save
WRITER = textwrap.dedent(r"""
    import sys, numpy as np
    import fastgrad as fg
    from fastgrad import io
    save = getattr(fg, "save", None) or io.save
    path = sys.argv[1]
    rng = np.random.default_rng(0)
    base = rng.standard_normal((512, 1024)).astype(np.float32)   # 2 MB per tensor
    v = 0
    print("ready", flush=True)
    while True:
        v += 1
        save({"version": fg.tensor(np.array([v], np.int64)),
              **{f"w{i}": fg.tensor(base + v) for i in range(8)}}, path)
""")


def _check_checkpoint(path):
    d = load(path)
    v = int(d["version"].numpy()[0])
    base = np.random.default_rng(0).standard_normal((512, 1024)).astype(np.float32)
    for i in range(8):
        np.testing.assert_array_equal(d[f"w{i}"].numpy(), base + v)  # no half-written tensor
    return v


def test_save_killed_midway_leaves_previous_checkpoint(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    rng = np.random.default_rng(0)
    versions = []
    for trial in range(8):
        p = subprocess.Popen([sys.executable, str(script), str(path)], stdout=subprocess.PIPE, text=True)
        try:
            assert p.stdout.readline().strip() == "ready"
            if trial == 0:
                # let at least one save complete so there is a previous checkpoint
                t0 = time.time()
                while not path.exists() and time.time() - t0 < 30:
                    time.sleep(0.01)
            time.sleep(float(rng.uniform(0.0, 0.4)))
        finally:
            p.send_signal(signal.SIGKILL)
            p.wait()
        assert p.returncode == -signal.SIGKILL
        versions.append(_check_checkpoint(path))
    # leftovers are only the writer's own temp files, never a damaged checkpoint
    others = [f for f in os.listdir(tmp_path) if f not in ("ckpt.safetensors", "writer.py")]
    assert all(f.startswith(".ckpt.safetensors.") and f.endswith(".tmp") for f in others), others
    print(f"killed 8 writers; checkpoint versions found: {versions}; {len(others)} stale temp files")


def test_save_replaces_atomically_and_failed_save_keeps_old(tmp_path):
    path = tmp_path / "a.fg"
    save(_state(0), path)
    with pytest.raises(TypeError):
        save({"bad": object()}, path)  # encoding fails before anything is written
    d = load(path)
    np.testing.assert_array_equal(d["layer0.weight"].numpy(), _state(0)["layer0.weight"].numpy())
    assert [f for f in os.listdir(tmp_path)] == ["a.fg"]


# ------------------------------------------------------------------ no code execution
class _Boom:
    def __reduce__(self):
        return (os.system, ("touch PWNED_BY_PICKLE",))


@pytest.mark.parametrize("kind", ["pickle", "pickle_after_header", "torch_zip", "json_only", "empty"])
def test_code_is_never_executed(tmp_path, kind, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "evil.pt"
    payload = pickle.dumps({"w": _Boom()}, protocol=4)
    if kind == "pickle":
        data = payload
    elif kind == "pickle_after_header":
        header = json.dumps({"__metadata__": {"format": "pickle"}}).encode()
        data = struct.pack("<Q", len(header)) + header + payload
    elif kind == "torch_zip":
        import zipfile

        with zipfile.ZipFile(path, "w") as z:
            z.writestr("archive/data.pkl", payload)
        data = path.read_bytes()
    elif kind == "json_only":
        data = b'{"w": {"dtype": "F32"}}'
    else:
        data = b""
    path.write_bytes(data)
    with pytest.raises(ValueError):
        load(path)
    assert not (tmp_path / "PWNED_BY_PICKLE").exists()


def test_metadata_cannot_name_python_objects(tmp_path):
    """The fastgrad tree is JSON decoded by a closed set of tags; unknown tags are
    rejected rather than looked up (no class/function names are ever resolved)."""
    for tree in (
        {"__class__": "os.system"},
        {"__reduce__": ["os.system", ["true"]]},
        {"__tensor__": "missing"},
        {"__dict__": [[1]]},
        {"__float__": "__import__('os')"},
    ):
        header = {"__metadata__": {"format": "fastgrad", "fastgrad.tree": json.dumps(tree)}}
        h = json.dumps(header).encode()
        h += b" " * ((-len(h)) % 8)
        path = tmp_path / "t.fg"
        path.write_bytes(struct.pack("<Q", len(h)) + h)
        try:
            out = load(path)
        except ValueError:
            continue
        # if accepted, it must be inert data, never a callable's result
        assert not callable(out), tree


# ------------------------------------------------------------------ damaged files
def test_truncation_at_every_boundary(tmp_path):
    path, data = _reference_file(tmp_path)
    cut = tmp_path / "cut.fg"
    n = len(data)
    points = sorted(set(list(range(0, 64)) + list(range(0, n, max(1, n // 200))) + [n - 1]))
    for k in points:
        cut.write_bytes(data[:k])
        assert _load_outcome(cut) == "ValueError", f"truncated to {k} of {n} bytes loaded without error"
    if COUNTER:
        COUNTER.hit("checkpoint", "truncate", len(points))


@settings(BASE, max_examples=BASE.max_examples * 25)
@given(data=st.data())
def test_fuzzed_bytes_give_value_error_or_valid_data(tmp_path_factory, data):
    tmp = tmp_path_factory.mktemp("fz")
    path, raw = _reference_file(tmp)
    buf = bytearray(raw)
    how = data.draw(st.sampled_from(["flip", "bytes", "header", "insert", "delete"]), label="how")
    hlen = struct.unpack("<Q", raw[:8])[0]
    region = data.draw(st.sampled_from(["len", "header", "any"]), label="region")
    lo, hi = {"len": (0, 8), "header": (8, 8 + hlen), "any": (0, len(raw))}[region]
    for _ in range(data.draw(st.integers(1, 8), label="n")):
        i = data.draw(st.integers(lo, hi - 1), label="i")
        if how == "flip":
            buf[i] ^= 1 << data.draw(st.integers(0, 7))
        elif how in ("bytes", "header"):
            buf[i] = data.draw(st.integers(0, 255))
        elif how == "insert":
            buf[i:i] = data.draw(st.binary(min_size=1, max_size=8))
        else:
            del buf[i : i + data.draw(st.integers(1, 8))]
    bad = tmp / "bad.fg"
    bad.write_bytes(bytes(buf))
    outcome = _bounded_load(bad)
    if COUNTER:
        COUNTER.hit("checkpoint", "fuzz:" + outcome)


def _crafted(header: dict, data: bytes = b"", raw_len: int | None = None) -> bytes:
    h = json.dumps(header).encode()
    return struct.pack("<Q", len(h) if raw_len is None else raw_len) + h + data


CRAFTED = {
    "huge_header_len": _crafted({}, raw_len=2**63),
    "header_len_past_eof": _crafted({}, raw_len=10**6),
    "header_not_object": _crafted([1, 2, 3]),
    "bad_utf8": struct.pack("<Q", 4) + b"\xff\xfe\xfd\xfc",
    "unknown_dtype": _crafted({"w": {"dtype": "F128", "shape": [1], "data_offsets": [0, 16]}}, b"\0" * 16),
    "negative_shape": _crafted({"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}, b"\0" * 4),
    "float_shape": _crafted({"w": {"dtype": "F32", "shape": [1.5], "data_offsets": [0, 4]}}, b"\0" * 4),
    "huge_shape_int": _crafted({"w": {"dtype": "F32", "shape": [10**30], "data_offsets": [0, 4]}}, b"\0" * 4),
    "overflowing_shape": _crafted({"w": {"dtype": "F32", "shape": [2**62, 4], "data_offsets": [0, 0]}}),
    "huge_offsets": _crafted({"w": {"dtype": "F32", "shape": [1], "data_offsets": [2**70, 2**70 + 4]}}),
    "reversed_offsets": _crafted({"w": {"dtype": "F32", "shape": [1], "data_offsets": [4, 0]}}, b"\0" * 4),
    "overlap": _crafted(
        {
            "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
            "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]},
        },
        b"\0" * 12,
    ),
    "offsets_not_list": _crafted({"w": {"dtype": "F32", "shape": [1], "data_offsets": "0-4"}}, b"\0" * 4),
    "entry_not_dict": _crafted({"w": 5}),
    "metadata_not_dict": _crafted({"__metadata__": [1]}),
    "metadata_tree_garbage": _crafted({"__metadata__": {"fastgrad.tree": "{not json"}}),
    "metadata_tree_deep": _crafted({"__metadata__": {"fastgrad.tree": "[" * 100000 + "]" * 100000}}),
    "header_deep": struct.pack("<Q", 200000) + b"[" * 100000 + b"]" * 100000,
    "metadata_tree_wrong_types": _crafted({"__metadata__": {"fastgrad.tree": json.dumps({"__dict__": 5})}}),
    "bool_shape": _crafted({"w": {"dtype": "F32", "shape": [True], "data_offsets": [0, 4]}}, b"\0" * 4),
    "trailing_bytes": _crafted({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, b"\0" * 8),
}


@pytest.mark.parametrize("name", sorted(CRAFTED))
def test_crafted_malicious_headers(tmp_path, name):
    path = tmp_path / f"{name}.fg"
    path.write_bytes(CRAFTED[name])
    assert _bounded_load(path) == "ValueError"
    with pytest.raises(ValueError) as ei:
        load(path)
    assert "fg.load" in str(ei.value) or str(path) in str(ei.value) or path.name in str(ei.value), str(
        ei.value
    )


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "nope.fg")
    with pytest.raises((IsADirectoryError, ValueError, PermissionError)):
        load(tmp_path)


def test_round_trip_of_every_dtype_and_layout(tmp_path):
    x = fg.tensor(np.arange(24.0).reshape(4, 6))
    obj = {
        "f32": x,
        "f64": x.astype(fg.float64),
        "i64": x.astype(fg.int64),
        "b": x > 5,
        "t": x.T,
        "s": x[1:, ::2],
        "empty": fg.zeros(0, 3),
        "scalar": fg.tensor(3.5),
    }
    path = tmp_path / "rt.fg"
    save(obj, path)
    back = load(path)
    for k, v in obj.items():
        assert back[k].dtype == v.dtype, k
        np.testing.assert_array_equal(back[k].numpy(), v.numpy(), err_msg=k)


# ------------------------------------------------------------------ resource bounds of fg.load
def _craft_file(path, header: dict, data: bytes = b""):
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((-len(h)) % 8)
    path.write_bytes(struct.pack("<Q", len(h)) + h + data)
    return path


MEASURE = textwrap.dedent(r"""
    import json, resource, sys
    import fastgrad as fg
    path = sys.argv[1]
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    try:
        r = fg.load(path)
        vals = list(r.values()) if isinstance(r, dict) else list(r)
        out = {"ok": True, "n": len(r), "distinct": len({id(v) for v in vals})}
    except ValueError as e:
        out = {"ok": False, "msg": str(e)}
    out["rss_mb"] = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    print("RESULT", json.dumps(out))
""")


MEASURE_TIMEOUT = 300  # a hang guard only: the bounds below are memory, not time


def _measure(path):
    """fg.load in a fresh child: outcome and peak-RSS growth (MB)."""
    try:
        p = subprocess.run(
            [sys.executable, "-c", MEASURE, str(path)],
            capture_output=True,
            text=True,
            timeout=MEASURE_TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"fg.load({path.name}) did not return within {MEASURE_TIMEOUT} s: it hangs")
    assert p.returncode == 0, p.stderr[-2000:]
    return json.loads(p.stdout.split("RESULT ", 1)[1])


def test_load_aliases_load_once(tmp_path):
    """A 1 MB file whose tree names one tensor 2,000 times loaded 2,000 copies (2 GB):
    every reference now gets the same Tensor, and the load costs about the file size."""
    n, nbytes = 2000, 1 << 20
    tree = {"__dict__": [[f"k{i}", {"__tensor__": "w"}] for i in range(n)]}
    path = _craft_file(
        tmp_path / "alias.fg",
        {
            "__metadata__": {"format": "fastgrad", "fastgrad.tree": json.dumps(tree)},
            "w": {"dtype": "U8", "shape": [nbytes], "data_offsets": [0, nbytes]},
        },
        b"\1" * nbytes,
    )
    r = _measure(path)
    assert r["ok"] and r["n"] == n and r["distinct"] == 1, r
    assert r["rss_mb"] < 40, r  # file: 1.1 MB (was > 2000 MB)
    d = load(path)
    assert d["k0"] is d["k1999"] and d["k5"].numpy().sum() == nbytes
    # fg.save of a tree with a tensor used twice round-trips its values
    w = fg.ones(3)
    back = load(_save_to(tmp_path / "twice.fg", {"a": w, "b": [w, w]}))
    assert back["a"].tolist() == back["b"][1].tolist() == [1.0, 1.0, 1.0]


def _save_to(path, obj):
    save(obj, path)
    return path


def test_load_rejects_overlapping_entries_before_allocating(tmp_path):
    n, nbytes = 2000, 1 << 20
    path = _craft_file(
        tmp_path / "overlap.fg",
        {f"t{i}": {"dtype": "U8", "shape": [nbytes], "data_offsets": [0, nbytes]} for i in range(n)},
        b"\0" * nbytes,
    )
    r = _measure(path)
    assert not r["ok"] and "overlaps" in r["msg"] and str(path) in r["msg"], r
    assert r["rss_mb"] < 40, r  # was 2 GB of copies before the check


def test_load_bounds_the_number_of_entries(tmp_path):
    n = io._MAX_ENTRIES + 10  # empty tensors: header bytes only (was 25 s / 1.7 GB for 10**6)
    path = _craft_file(
        tmp_path / "empties.fg",
        {f"t{i}": {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]} for i in range(n)},
    )
    r = _measure(path)
    assert not r["ok"] and str(io._MAX_ENTRIES) in r["msg"] and str(path) in r["msg"], r
    assert r["rss_mb"] < 100, r


def test_load_is_linear_below_the_bounds(tmp_path):
    """20,000 empty tensors (1 MB header): memory within the documented constant (at
    most about 60 bytes of memory per header byte)."""
    n = 20000
    path = _craft_file(
        tmp_path / "many.fg",
        {f"t{i}": {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]} for i in range(n)},
    )
    size_mb = path.stat().st_size / 2**20
    r = _measure(path)
    assert r["ok"] and r["n"] == n, r
    assert r["rss_mb"] < 60 * size_mb + 20, (r, size_mb)
    # the costliest header per byte: a tree of 300,000 empty lists ("[]," is 3 bytes)
    n = 300000
    path = _craft_file(
        tmp_path / "lists.fg",
        {"__metadata__": {"format": "fastgrad", "fastgrad.tree": "[" + ",".join(["[]"] * n) + "]"}},
    )
    size_mb = path.stat().st_size / 2**20
    r = _measure(path)
    assert r["ok"] and r["n"] == n, r
    assert r["rss_mb"] < 60 * size_mb + 20, (r, size_mb)


def test_save_refuses_what_load_would_reject(tmp_path, monkeypatch):
    monkeypatch.setattr(io, "_MAX_ENTRIES", 3)
    with pytest.raises(ValueError, match="fg.save.*3"):
        save({f"w{i}": fg.zeros(1) for i in range(4)}, tmp_path / "x.fg")
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    "tree",
    [
        {"__float__": "nan-ish"},
        {"__dict__": [[1, 2, 3]]},
        {"__tensor__": ["w"]},
        {"__tuple__": 5},
        {"__dict__": [[[1], 2]]},
    ],
)
def test_every_load_error_names_the_file(tmp_path, tree):
    path = _craft_file(tmp_path / "tree.fg", {"__metadata__": {"fastgrad.tree": json.dumps(tree)}})
    with pytest.raises(ValueError) as ei:
        load(path)
    assert str(ei.value).startswith("fg.load: ") and str(path) in str(ei.value), str(ei.value)


def test_path_argument_types(tmp_path):
    for bad in (5, None, 1.5, ["a"]):
        with pytest.raises(TypeError, match="fg.load: path"):
            load(bad)
        with pytest.raises(TypeError, match="fg.save: path"):
            save({"w": fg.zeros(1)}, bad)
    p = os.fsencode(str(tmp_path / "bytes.fg"))
    save({"w": fg.ones(2)}, p)
    assert load(p)["w"].tolist() == [1.0, 1.0]


# ------------------------------------------------------------------ symlinks, modes, stale temps
def test_save_through_symlink_writes_the_target(tmp_path):
    real_dir = tmp_path / "store"
    real_dir.mkdir()
    target = real_dir / "model.fg"
    save({"w": fg.zeros(3)}, target)
    link = tmp_path / "latest.fg"
    link.symlink_to(os.path.relpath(target, tmp_path))
    chain = tmp_path / "chain.fg"
    chain.symlink_to(link)
    save({"w": fg.ones(3)}, link)
    assert link.is_symlink() and load(target)["w"].tolist() == [1.0] * 3
    save({"w": fg.full((3,), 2.0)}, chain)
    assert chain.is_symlink() and link.is_symlink()
    assert load(target)["w"].tolist() == [2.0] * 3 == load(chain)["w"].tolist()
    # a dangling link creates its target, as open(link, "w") would
    dangling = tmp_path / "new.fg"
    dangling.symlink_to(real_dir / "fresh.fg")
    save({"w": fg.ones(1)}, dangling)
    assert dangling.is_symlink() and load(real_dir / "fresh.fg")["w"].tolist() == [1.0]
    assert not [p for p in list(tmp_path.iterdir()) + list(real_dir.iterdir()) if p.name.endswith(".tmp")]


def test_save_to_hard_link_detaches_atomically(tmp_path):
    """Documented choice: an atomic save installs a new file, so other hard links keep
    the previous complete checkpoint (never a half-written one)."""
    a = tmp_path / "a.fg"
    save({"w": fg.zeros(2)}, a)
    b = tmp_path / "b.fg"
    os.link(a, b)
    save({"w": fg.ones(2)}, a)
    assert load(a)["w"].tolist() == [1.0, 1.0] and load(b)["w"].tolist() == [0.0, 0.0]
    assert os.stat(a).st_nlink == 1


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o600, 0o664, 0o444])
def test_save_keeps_the_file_mode(tmp_path, mode):
    p = tmp_path / "m.fg"
    save({"w": fg.zeros(2)}, p)
    os.chmod(p, mode)
    save({"w": fg.ones(2)}, p)
    assert stat_mode(p) == mode and load(p)["w"].tolist() == [1.0, 1.0]


def stat_mode(p):
    import stat

    return stat.S_IMODE(os.stat(p).st_mode)


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002, 0o027])
def test_new_file_gets_the_umask_mode(tmp_path, umask):
    old = os.umask(umask)
    try:
        save({"w": fg.zeros(2)}, tmp_path / "n.fg")
        with open(tmp_path / "ref", "w"):
            pass
    finally:
        os.umask(old)
    assert stat_mode(tmp_path / "n.fg") == stat_mode(tmp_path / "ref") == 0o666 & ~umask


def _temps(d):
    return sorted(p.name for p in d.iterdir() if p.name.endswith(".tmp"))


def test_stale_temp_of_a_killed_save_is_removed_by_the_next_save(tmp_path):
    path = tmp_path / "ckpt.fg"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        deadline = time.time() + 60
        while not _temps(tmp_path) and time.time() < deadline:
            time.sleep(0.002)
        os.kill(proc.pid, signal.SIGKILL)  # while a temp file exists (the writer may have renamed it since)
    finally:
        proc.wait()
    for _ in range(50):  # make sure a temp of the dead writer is there
        if _temps(tmp_path):
            break
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True)
        proc.stdout.readline()
        while not _temps(tmp_path) and proc.poll() is None:
            time.sleep(0.001)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    stale = _temps(tmp_path)
    assert stale, "no temp file left by the killed writers"
    save({"w": fg.ones(2)}, path)
    assert _temps(tmp_path) == [] and load(path)["w"].tolist() == [1.0, 1.0]


def test_temp_of_a_running_save_is_never_removed(tmp_path):
    import fcntl
    import socket

    host = socket.gethostname()
    path = tmp_path / "c.fg"
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    try:
        names = {
            "live": f".c.fg.{live.pid}@{host}.abc123_x.tmp",  # its writer is running
            "mine": f".c.fg.{os.getpid()}@{host}.abc123_y.tmp",  # a save in another thread
            "other-host": f".c.fg.{dead.pid}@not-{host}.abc123_z.tmp",
            "locked": f".c.fg.{dead.pid}@{host}.abc123_l.tmp",  # pid reused/unknown but lock held
            "other-file": f".d.fg.{dead.pid}@{host}.abc123_o.tmp",
            "dead": f".c.fg.{dead.pid}@{host}.abc123_d.tmp",
        }
        for n in names.values():
            (tmp_path / n).write_bytes(b"x" * 100)
        fd = os.open(tmp_path / names["locked"], os.O_RDONLY)
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            save({"w": fg.ones(2)}, path)
        finally:
            os.close(fd)
        left = set(_temps(tmp_path))
        assert left == {v for k, v in names.items() if k != "dead"}, left
    finally:
        live.kill()
        live.wait()


# ------------------------------------------------------------------ non-regular and huge files
LOAD_BOUNDED = r"""
import json, os, resource, sys
resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))
import fastgrad as fg
out = {}
for p in sys.argv[1:]:
    try:
        fg.load(p)
        out[p] = "loaded"
    except ValueError as e:
        out[p] = "ValueError" if repr(p) in str(e) else "unnamed: " + str(e)
    except Exception as e:
        out[p] = type(e).__name__ + ": " + str(e)
# VmHWM is this process's own peak RSS: ru_maxrss would carry the parent's peak over exec
with open("/proc/self/status") as f:
    out["maxrss_mb"] = next(int(l.split()[1]) for l in f if l.startswith("VmHWM:")) / 1024
print(json.dumps(out))
"""


def test_load_of_non_regular_or_huge_files_is_bounded(tmp_path):
    # A FIFO used to block in open() forever, /dev/zero was read until memory ran out, and a
    # sparse file with a valid small header and gigabytes of "trailing data" was read whole
    # before the layout check refused it.
    fifo = tmp_path / "pipe.fg"
    os.mkfifo(fifo)
    sparse = tmp_path / "sparse.fg"
    save({"w": fg.ones(4)}, sparse)
    with open(sparse, "r+b") as f:
        f.truncate(8 << 30)
    paths = [str(fifo), "/dev/zero", "/dev/null", str(sparse)]
    r = subprocess.run(
        [sys.executable, "-c", LOAD_BOUNDED, *paths],
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)),
    )
    assert r.returncode == 0, r.stderr[-2000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert all(out[p] == "ValueError" for p in paths), out
    assert out["maxrss_mb"] < 1024, out
    with pytest.raises(IsADirectoryError, match=re.escape(str(tmp_path))):
        load(tmp_path)
