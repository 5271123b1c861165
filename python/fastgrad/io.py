"""``fg.save`` / ``fg.load``: a safetensors-compatible container, never pickle.

Layout (https://github.com/huggingface/safetensors): an 8-byte little-endian header
length N, N bytes of JSON ``{name: {"dtype", "shape", "data_offsets": [begin, end]}}``
(padded with spaces to a multiple of 8), then the raw little-endian tensor bytes.
Anything that is not a tensor — nesting of dicts/lists/tuples, int keys of optimizer
states, hyper-parameters, strings — is stored as JSON text in
``"__metadata__"["fastgrad.tree"]``, so the file also opens in other safetensors
readers (which see the flat tensors).

Writes are atomic: a temp file in the same directory, flushed and fsynced, then
``os.replace`` and an fsync of the directory. A symlink is written through (its target
is replaced), the file's mode is kept (umask for new files), and temp files left by
killed saves of the same target are removed by the next save. Loading validates the header length,
JSON, dtypes, shapes, offsets (inside the file, sizes = ∏shape·itemsize, no overlaps
or holes) and raises ValueError naming the file and the problem.

Resource bound: every entry is validated (offsets, overlaps, count) before any tensor
is allocated; tensor bytes are copied once, and every tree reference to one entry
loads as the same Tensor object (an alias), so a load allocates about the file's size
plus the parsed header (at most ``_MAX_HEADER`` = 100 MB, safetensors' own limit, and
``_MAX_ENTRIES`` tensors; ndim at most ``_MAX_NDIM``): at worst about 60 bytes of Python
objects per header byte (a tree of empty lists). Time is linear in the file size.
"""

from __future__ import annotations

import errno
import io
import json
import math
import os
import re
import socket
import stat
import struct
import tempfile
from typing import Any

import numpy as np

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: the pid check alone guards live saves
    fcntl = None  # type: ignore[assignment]

from ._device import check_device, device
from ._tensor import tensor
from .nn.interop import load_pytorch_state_dict as load_pytorch_state_dict  # public here too
from .nn.interop import state_dict_in_layout, to_numpy
from .ops import Tensor

FORMAT = "fastgrad"
_MAX_HEADER = 100 * 1024 * 1024
# Each entry costs a few Python objects (~1-2 KB) whatever its size, so a header of
# empty tensors would amplify ~30x; 2**18 tensors is far above any real checkpoint
# (sharded LLM files hold a few thousand) and fg.save refuses to write more.
_MAX_ENTRIES = 1 << 18
_MAX_NDIM = 64  # NumPy's limit

_DT_TO_ST: dict[np.dtype, str] = {
    np.dtype(np.float32): "F32",
    np.dtype(np.float64): "F64",
    np.dtype(np.int64): "I64",
    np.dtype(np.bool_): "BOOL",
    np.dtype(np.float16): "F16",
    np.dtype(np.int32): "I32",
    np.dtype(np.int16): "I16",
    np.dtype(np.int8): "I8",
    np.dtype(np.uint8): "U8",
}
_ST_TO_DT: dict[str, np.dtype] = {v: k for k, v in _DT_TO_ST.items()}
_FG_DTYPES = (np.dtype(np.float32), np.dtype(np.float64), np.dtype(np.int64), np.dtype(np.bool_))


# ------------------------------------------------------------------ encoding the tree
class _Encoder:
    def __init__(self) -> None:
        self.tensors: dict[str, np.ndarray] = {}

    def _key(self, path: list[str]) -> str:
        base = "/".join(path) if path else "tensor"
        key, i = base, 1
        while key in self.tensors:
            key = f"{base}#{i}"
            i += 1
        return key

    def encode(self, obj: Any, path: list[str]) -> Any:
        """The JSON tree for ``obj``; its tensors and arrays go to ``self.tensors`` by path."""
        if isinstance(obj, Tensor):
            key = self._key(path)
            self.tensors[key] = np.require(np.asarray(obj.detach()), requirements="C")
            return {"__tensor__": key}
        if isinstance(obj, np.ndarray) or (
            hasattr(obj, "__array__")
            and hasattr(obj, "dtype")
            and hasattr(obj, "shape")
            and not isinstance(obj, (np.generic,))
        ):
            a = to_numpy(obj)
            key = self._key(path)
            self.tensors[key] = np.require(a, requirements="C")
            return {"__ndarray__": key}
        if isinstance(obj, np.generic):
            obj = obj.item()
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, int):
            return obj
        if isinstance(obj, float):
            if math.isfinite(obj):
                return obj
            return {"__float__": repr(obj)}
        if isinstance(obj, dict):
            items = []
            for k, v in obj.items():
                if not isinstance(k, (str, int, bool)) and k is not None:
                    raise TypeError(f"fg.save: dict keys must be str or int, got {type(k).__name__}")
                items.append([k, self.encode(v, path + [str(k)])])
            return {"__dict__": items}
        if isinstance(obj, tuple):
            return {"__tuple__": [self.encode(v, path + [str(i)]) for i, v in enumerate(obj)]}
        if isinstance(obj, list):
            return [self.encode(v, path + [str(i)]) for i, v in enumerate(obj)]
        raise TypeError(
            f"fg.save: cannot store an object of type {type(obj).__name__} at "
            f"'{'/'.join(path) or '<root>'}' (tensors, arrays, numbers, str, None, dict/list/tuple only)"
        )


def _decode(
    obj: Any, tensors: dict[str, np.ndarray], fname: str, made: dict[str, Tensor] | None = None
) -> Any:
    # `made`: one Tensor per entry, shared by every reference to it (aliases), so a tree
    # naming one entry n times costs one copy, not n.
    made = {} if made is None else made
    if isinstance(obj, list):
        return [_decode(v, tensors, fname, made) for v in obj]
    if isinstance(obj, dict):
        if "__tensor__" in obj or "__ndarray__" in obj:
            key = obj.get("__tensor__", obj.get("__ndarray__"))
            if not isinstance(key, str) or key not in tensors:
                raise ValueError(f"fg.load: {fname}: metadata refers to a missing tensor {str(key)[:80]!r}")
            if "__tensor__" not in obj:
                return tensors[key]
            if key not in made:
                made[key] = _tensor_from(tensors[key])
            return made[key]
        if "__float__" in obj:
            return float(obj["__float__"])
        if "__tuple__" in obj:
            return tuple(_decode(v, tensors, fname, made) for v in obj["__tuple__"])
        if "__dict__" in obj:
            return {k: _decode(v, tensors, fname, made) for k, v in obj["__dict__"]}
        raise ValueError(f"fg.load: {fname}: malformed metadata entry {str(obj)[:80]}")
    return obj


def _tensor_from(a: np.ndarray) -> Tensor:
    if a.dtype not in _FG_DTYPES:
        a = a.astype(np.float32 if np.issubdtype(a.dtype, np.floating) else np.int64)
    return tensor(np.require(a, requirements="C"), None)


# ------------------------------------------------------------------ file format
def _serialize(tensors: dict[str, np.ndarray], metadata: dict[str, str]) -> tuple[bytes, list[np.ndarray]]:
    header: dict[str, Any] = {}
    if metadata:
        header["__metadata__"] = metadata
    off = 0
    blobs = []
    for k, a in tensors.items():
        le = np.require(a.astype(a.dtype.newbyteorder("<"), copy=False), requirements="C")
        st = _DT_TO_ST.get(np.dtype(le.dtype.str[1:]))
        if st is None:
            raise TypeError(f"fg.save: unsupported dtype {a.dtype} for tensor {k!r}")
        n = le.nbytes
        header[k] = {"dtype": st, "shape": list(a.shape), "data_offsets": [off, off + n]}
        off += n
        blobs.append(le)
    h = json.dumps(header, separators=(",", ":"), allow_nan=False).encode("utf-8")
    h += b" " * ((-len(h)) % 8)
    return struct.pack("<Q", len(h)) + h, blobs


def save(
    obj: Any,
    f: Any,
    pickle_module: Any = None,
    pickle_protocol: int = 2,
    _use_new_zipfile_serialization: bool = True,
    _disable_byteorder_record: bool = False,
) -> None:
    """Writes tensors/state dicts/optimizer states (nested dicts, lists, tuples with
    tensors, NumPy arrays, numbers, strings, None) to ``f``: a path (written
    atomically) or a binary file object with ``write`` (e.g. ``open(p, "wb")``,
    ``io.BytesIO()``; written at its current position), as ``torch.save(obj, f)``.

    A flat ``{str: Tensor}`` dict is stored under its own keys, so other safetensors
    readers see a normal state dict. The pickle arguments of ``torch.save`` are accepted
    and unused: the file never holds pickled objects.
    """
    head, blobs = _encode_file(obj)
    if _is_writer(f):
        if isinstance(f, io.TextIOBase):
            raise TypeError("fg.save: the file object must be opened in binary mode ('wb'), not text mode")
        f.write(head)
        for b in blobs:
            if b.nbytes:
                f.write(b.reshape(-1).view(np.uint8).data)
        flush = getattr(f, "flush", None)
        if callable(flush):
            flush()
        return
    _save_path(head, blobs, _fspath(f, "fg.save"))


def _is_writer(f: Any) -> bool:
    return not isinstance(f, (str, bytes, os.PathLike)) and callable(getattr(f, "write", None))


def _is_reader(f: Any) -> bool:
    return not isinstance(f, (str, bytes, os.PathLike)) and callable(getattr(f, "read", None))


def _encode_file(obj: Any) -> tuple[bytes, list[np.ndarray]]:
    enc = _Encoder()
    flat = (
        isinstance(obj, dict)
        and obj
        and all(isinstance(k, str) for k in obj)
        and all(isinstance(v, Tensor) for v in obj.values())
    )
    if flat:
        for k, v in obj.items():
            enc.tensors[k] = np.require(np.asarray(v.detach()), requirements="C")
        tree = {"__dict__": [[k, {"__tensor__": k}] for k in obj]}
    else:
        tree = enc.encode(obj, [])
    if len(enc.tensors) > _MAX_ENTRIES:
        raise ValueError(
            f"fg.save: {len(enc.tensors)} tensors exceed the {_MAX_ENTRIES} that fg.load accepts per file"
        )
    meta = {"format": FORMAT, "fastgrad.tree": json.dumps(tree, separators=(",", ":"), allow_nan=False)}
    head, blobs = _serialize(enc.tensors, meta)
    if len(head) - 8 > _MAX_HEADER:
        raise ValueError(
            f"fg.save: the header ({len(head) - 8} bytes) exceeds the {_MAX_HEADER} bytes fg.load accepts"
        )
    return head, blobs


def _save_path(head: bytes, blobs: list[np.ndarray], path: str) -> None:
    # Through a symlink, the link's target is replaced (the link stays a link). A file
    # with several hard links is detached from them, as with every atomic writer
    # (rename() installs a new inode; the other names keep the previous, complete
    # checkpoint): writing in place, as torch.save does, would let a killed save leave
    # a half-written file, and atomicity is the promise here.
    target = os.path.realpath(path)
    d, base = os.path.split(target)
    os.makedirs(d, exist_ok=True)
    try:
        st = os.stat(target)
        mode, owner = stat.S_IMODE(st.st_mode), (st.st_uid, st.st_gid)
    except FileNotFoundError:
        mode, owner = 0o666 & ~_umask(), None  # what open(path, "w") would create
    _remove_stale_temps(d, base)
    fd, tmp = tempfile.mkstemp(prefix=f".{base}.{os.getpid()}@{_HOST}.", suffix=".tmp", dir=d)
    try:
        with os.fdopen(fd, "wb") as f:
            if fcntl is not None:
                fcntl.flock(f.fileno(), fcntl.LOCK_EX)  # held until the rename: "a save is running"
            os.fchmod(f.fileno(), mode)  # mkstemp creates 0600; keep the file's mode
            if owner is not None and owner != (os.geteuid(), os.getegid()):
                try:
                    os.fchown(f.fileno(), *owner)
                except OSError:
                    pass
            f.write(head)
            for b in blobs:
                if b.nbytes:
                    f.write(b.reshape(-1).view(np.uint8).data)
            f.flush()
            os.fsync(f.fileno())
            os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:
        dfd = os.open(d, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:  # pragma: no cover - some filesystems refuse directory fsync
        pass


_HOST = socket.gethostname().replace("/", "_")[:32]  # temp names stay far below NAME_MAX


def _umask() -> int:
    try:  # Linux: read it without changing it (os.umask would race with other threads)
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    m = os.umask(0o022)
    os.umask(m)
    return m


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True  # exists (another user's) or unknowable: keep its file
    return True


def _remove_stale_temps(d: str, base: str) -> None:
    """Deletes temp files of earlier saves of the same target that were killed. A temp
    file is named .<base>.<pid>@<host>.<random>.tmp and flock()ed by its writer until
    its rename, so one is removed only if it is from this host, its pid is dead and its
    lock is free: a save still running in another process (or thread) is never hit, a
    reused pid only leaves a file behind."""
    pat = re.compile(r"\." + re.escape(base) + r"\.(\d+)@(.*)\.[A-Za-z0-9_]+\.tmp\Z")
    try:
        names = os.listdir(d)
    except OSError:
        return
    for name in names:
        m = pat.match(name)
        if not m or m.group(2) != _HOST or _pid_alive(int(m.group(1))):
            continue
        p = os.path.join(d, name)
        try:
            fd = os.open(p, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError:
            continue
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            os.unlink(p)
        except OSError:
            pass
        finally:
            os.close(fd)


def _bad(fname: str) -> Any:
    def bad(msg: str) -> ValueError:
        return ValueError(f"fg.load: {fname} is not a valid fastgrad/safetensors file: {msg}")

    return bad


def _read(path: str) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    fname = repr(path)
    bad = _bad(fname)

    # Opened without blocking (a FIFO would wait forever for a writer) and read only as far
    # as the regular file's size and the validated header allow: a device such as
    # /dev/zero or a huge sparse file never makes load read without bound.
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), path)
        if not stat.S_ISREG(st.st_mode):
            raise bad("not a regular file")
    except BaseException:
        os.close(fd)
        raise
    with open(fd, "rb", closefd=True) as f:
        return _parse(f, st.st_size, bad)


def _read_stream(f: Any) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Reads from a binary file object at its position: as far as its end when it can
    seek (then the same bounded reads as a path), else everything it yields."""
    fname = f"<{type(f).__name__} {getattr(f, 'name', '')}>".replace(" >", ">")
    bad = _bad(fname)
    try:
        seekable = bool(f.seekable()) if callable(getattr(f, "seekable", None)) else False
    except (OSError, ValueError):
        seekable = False
    if seekable:
        pos = f.tell()
        end = f.seek(0, os.SEEK_END)
        f.seek(pos)
        return _parse(f, end - pos, bad)
    data = f.read()
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"fg.load: {fname} must be opened in binary mode (read() gave {type(data).__name__})")
    return _parse(io.BytesIO(bytes(data)), len(data), bad)


def _parse(f: Any, size: int, bad: Any) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    # `size`: the bytes the stream holds from its position (a regular file's size): every
    # read below is bounded by it and by the validated header.
    if size < 8:
        raise bad(f"truncated: {size} bytes, shorter than the 8-byte header length")
    first = _read_exactly(f, 8, bad)
    if first.startswith((b"PK\x03\x04", b"\x80\x02", b"\x80\x03", b"\x80\x04")):
        raise bad(
            "it is a PyTorch checkpoint (zip/pickle, written by torch.save); fastgrad never unpickles: "
            "convert it with safetensors.torch.save_file(torch.load(path), new_path) and load that"
        )
    (n,) = struct.unpack("<Q", first)
    if n > _MAX_HEADER:
        raise bad(f"header length {n} is implausibly large (damaged file?)")
    if 8 + n > size:
        raise bad(f"truncated: header length {n} exceeds the {size - 8} bytes after the length field")
    head = _read_exactly(f, n, bad)
    # Each entry spells "data_offsets" once (quotes inside metadata strings are escaped),
    # so this counts an upper bound of the entries without building the JSON objects.
    if head.count(b'"data_offsets"') > _MAX_ENTRIES + 1:
        raise bad(f"more than {_MAX_ENTRIES} tensor entries (the limit)")
    try:
        header = json.loads(head.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise bad(f"header is not valid JSON ({type(e).__name__}: {str(e)[:200]})") from None
    if not isinstance(header, dict):
        raise bad("header is not a JSON object")
    meta = header.pop("__metadata__", None) or {}
    if not isinstance(meta, dict):
        raise bad("__metadata__ is not a JSON object")
    dlen = size - 8 - n
    _check_layout(header, dlen, bad)  # before the data section is read
    buf = memoryview(_read_exactly(f, dlen, bad))
    if f.read(1):
        raise bad("the file grew while it was read")
    out: dict[str, np.ndarray] = {}
    for k, info in header.items():
        if not isinstance(info, dict) or not {"dtype", "shape", "data_offsets"} <= set(info):
            raise bad(f"entry {k!r} lacks dtype/shape/data_offsets")
        st = info["dtype"]
        if st not in _ST_TO_DT:
            raise bad(f"entry {k!r} has unsupported dtype {st!r}")
        shape = info["shape"]
        offs = info["data_offsets"]
        if not isinstance(shape, list) or not all(
            isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in shape
        ):
            raise bad(f"entry {k!r} has an invalid shape {shape!r}")
        b, end = offs
        dt = _ST_TO_DT[st]
        nbytes = math.prod(shape) * dt.itemsize  # Python ints: a hostile shape cannot overflow
        if end - b != nbytes:
            raise bad(f"entry {k!r}: {end - b} bytes for shape {shape} of {st} (expected {nbytes})")
        try:
            if st == "BOOL":  # a BOOL byte other than 0/1 is True: normalised, never copied raw
                out[k] = np.frombuffer(buf[b:end], dtype=np.uint8).reshape(shape) != 0
            else:
                out[k] = (
                    np.frombuffer(buf[b:end], dtype=dt.newbyteorder("<")).reshape(shape).astype(dt, copy=True)
                    if nbytes
                    else np.zeros(shape, dtype=dt)
                )
        except (ValueError, OverflowError, MemoryError) as err:
            raise bad(f"entry {k!r} with shape {shape} cannot be built ({err})") from None
    return out, {str(k): v for k, v in meta.items()}


def _read_exactly(f: Any, n: int, bad: Any) -> bytes:
    data = f.read(n)
    if len(data) != n:
        raise bad(f"truncated: {len(data)} of {n} bytes could be read (file changed while loading?)")
    return data


def _check_layout(header: dict[str, Any], dlen: int, bad: Any) -> None:
    """Entry count, ndim and data_offsets (inside the data, no overlaps, no holes), all
    before any tensor is allocated: a header whose 2,000 entries share one megabyte
    must fail here, not after 2,000 copies."""
    if len(header) > _MAX_ENTRIES:
        raise bad(f"{len(header)} tensor entries exceed the limit of {_MAX_ENTRIES}")
    ranges = []
    for k, info in header.items():
        if not isinstance(info, dict):
            raise bad(f"entry {k!r} lacks dtype/shape/data_offsets")
        offs, shape = info.get("data_offsets"), info.get("shape")
        if isinstance(shape, list) and len(shape) > _MAX_NDIM:
            raise bad(f"entry {k!r} has {len(shape)} dimensions (at most {_MAX_NDIM})")
        if (
            not (
                isinstance(offs, list)
                and len(offs) == 2
                and all(isinstance(o, int) and not isinstance(o, bool) for o in offs)
            )
            or not 0 <= offs[0] <= offs[1]
        ):
            raise bad(f"entry {k!r} has invalid data_offsets {str(offs)[:80]}")
        if offs[1] > dlen:
            raise bad(
                f"truncated: entry {k!r} ends at byte {offs[1]} of the data section but only {dlen} bytes remain"
            )
        ranges.append((offs[0], offs[1], k))
    ranges.sort()
    pos = 0
    for b, e, k in ranges:
        if b < pos:
            raise bad(f"entry {k!r} overlaps the previous tensor (offset {b} < {pos})")
        if b > pos:
            raise bad(f"hole in the data section before entry {k!r} (bytes {pos}..{b})")
        pos = e
    if pos != dlen:
        raise bad(f"{dlen - pos} trailing bytes after the last tensor (damaged file?)")


def load(
    f: Any,
    map_location: Any = None,
    pickle_module: Any = None,
    *,
    weights_only: bool | None = None,
    mmap: bool | None = None,
    **pickle_load_args: Any,
) -> Any:
    """Reads what ``fg.save`` wrote (returns the saved structure) or any safetensors file
    (returns ``{name: fg.Tensor}``), from a path or a binary file object with ``read``
    (read from its current position), as ``torch.load(f, map_location=...)``.

    ``map_location`` may be None, "cpu", a CPU ``fg.device``/torch.device, a dict whose
    targets are the CPU, or a callable ``fn(tensor, "cpu")`` returning the tensor to use
    (None keeps it); any other device raises ValueError. ``weights_only``, ``mmap`` and the
    pickle arguments are accepted: the format never unpickles, so every load is
    weights-only. A damaged file raises ValueError naming it.
    """
    mapper = _map_location(map_location)
    if _is_reader(f):
        if isinstance(f, io.TextIOBase):
            raise TypeError("fg.load: the file object must be opened in binary mode ('rb'), not text mode")
        fname = f"<{type(f).__name__}>"
        out = _load_checked(lambda: _read_stream(f), fname)
    else:
        path = _fspath(f, "fg.load")
        out = _load_checked(lambda: _read(path), repr(path))
    return out if mapper is None else _map_tensors(out, mapper)


def _map_location(loc: Any) -> Any:
    """None (keep), or a callable applied to every loaded tensor."""
    if loc is None:
        return None
    if isinstance(loc, dict):
        for src, dst in loc.items():
            if not isinstance(dst, (str, device)) and not isinstance(getattr(dst, "type", None), str):
                raise TypeError(
                    f"fg.load: map_location dict values must be devices, got {type(dst).__name__}"
                )
            check_device(dst, f"fg.load: map_location[{src!r}]")
        return None
    if callable(loc) and not isinstance(loc, device) and not hasattr(loc, "type"):
        return loc
    check_device(loc, "fg.load: map_location")
    return None


def _map_tensors(obj: Any, fn: Any) -> Any:
    if isinstance(obj, Tensor):
        r = fn(obj, "cpu")
        if r is None:
            return obj
        if not isinstance(r, Tensor):
            raise TypeError(
                f"fg.load: map_location returned {type(r).__name__}, expected a fastgrad Tensor or None"
            )
        return r
    if isinstance(obj, dict):
        return {k: _map_tensors(v, fn) for k, v in obj.items()}
    if isinstance(obj, tuple):
        return tuple(_map_tensors(v, fn) for v in obj)
    if isinstance(obj, list):
        return [_map_tensors(v, fn) for v in obj]
    return obj


def _load_checked(read: Any, fname: str) -> Any:
    try:
        tensors, meta = read()
        tree = meta.get("fastgrad.tree")
        if tree is None:
            return {k: _tensor_from(a) for k, a in tensors.items()}
        try:
            t = json.loads(tree)
        except json.JSONDecodeError as e:
            raise ValueError(f"fg.load: {fname}: fastgrad metadata is not valid JSON ({e})") from None
        return _decode(t, tensors, fname)
    except (ValueError, RecursionError, OverflowError, TypeError, KeyError, AttributeError, MemoryError) as e:
        # Hostile headers (absurd nesting, sizes, types) are damage too, never a crash;
        # every message names the file (ours already do; float("x") etc. do not).
        if isinstance(e, ValueError) and str(e).startswith("fg.load: "):
            raise
        raise ValueError(
            f"fg.load: {fname} is not a valid fastgrad/safetensors file: {type(e).__name__}: {str(e)[:200]}"
        ) from None


def _fspath(path: Any, op: str) -> str:
    try:
        return os.fsdecode(os.fspath(path))
    except TypeError:
        raise TypeError(
            f"{op}: path must be a str, bytes or os.PathLike, got {type(path).__name__}"
        ) from None


def load_arrays(path: Any) -> dict[str, np.ndarray]:
    """The flat ``{name: np.ndarray}`` content of a safetensors file (validated)."""
    return _read(_fspath(path, "fg.load_arrays"))[0]


# ------------------------------------------------------------------ PyTorch / JAX layouts
def export_state_dict(model: Any, layout: str = "torch") -> dict[str, np.ndarray]:
    """The model's state dict as NumPy arrays with every Linear weight in ``layout``
    ("torch": (out, in); "jax": (in, out)) and convolution weights channels-first for
    "torch" / channels-last (C_out, k..., C_in) for "jax" (``nn.interop.state_dict_in_layout``)."""
    return state_dict_in_layout(model, layout)
