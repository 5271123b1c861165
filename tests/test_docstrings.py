"""Every public module, function, class, method and property of fastgrad has a docstring.

What is walked: every importable module of the package whose dotted name has no
``_``-prefixed part (fastgrad, fastgrad.nn, fastgrad.nn.functional, fastgrad.optim, ...,
found by pkgutil, so a new module is covered the day it lands); in each, the names it
exports (``__all__`` if it has one, else every name without a leading ``_``) that are
functions or classes defined inside fastgrad (re-exports of NumPy etc. are not ours); in
each such class, the public functions, static/class methods and properties of its own
``__dict__``. That includes ``Tensor`` and every ``fg.*`` function bound in C++, whose
docstrings come from the pybind11 bindings (pybind11 puts the signature line first; only
text beyond the signatures counts).

Each object is reported once, under its canonical name (``obj.__module__`` +
``__qualname__``; a method as its class's canonical name + attribute), e.g.
``fastgrad._C.Tensor.sum`` or ``fastgrad.nn.linear.Linear.forward``.

TEMPORARY: tests/docstring_allowlist.txt lists the names that lacked a docstring when this
check was introduced. The list may only shrink: an entry that is documented now, or no
longer exists, fails ``test_allowlist_only_shrinks`` until it is deleted from the file.
Regenerate it (integrators, after a merge) with

    PYTHONPATH=python python tests/test_docstrings.py --write-allowlist
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
import sys
import types
from pathlib import Path
from typing import Any

import fastgrad

ALLOWLIST = Path(__file__).with_name("docstring_allowlist.txt")

# pybind11 enums carry these generated members; they are not fastgrad's API.
_PYBIND11_ENUM_MEMBERS = {"name", "value"}
# A pybind11 signature line: "name(args) -> ret", "1. name(...)" in overloads, and
# "(self: ...) -> ret" (no name) for properties.
_SIGNATURE = re.compile(r"^\s*(?:\d+\.\s+)?([A-Za-z_][\w.]*)?\(.*\)(\s*->\s*.+)?\s*$")


def _public_modules() -> list[types.ModuleType]:
    """fastgrad and every submodule whose dotted name has no ``_``-prefixed part."""
    mods = [fastgrad]
    for info in pkgutil.walk_packages(fastgrad.__path__, prefix="fastgrad."):
        if any(part.startswith("_") for part in info.name.split(".")):
            continue
        mods.append(importlib.import_module(info.name))
    return sorted(mods, key=lambda m: m.__name__)


def _own_text(doc: str | None, name: str) -> str:
    """The part of a docstring a person wrote: pybind11's signature lines, its
    "Overloaded function." header and an enum's generated "Members:" list removed."""
    if not doc:
        return ""
    lines = []
    for line in doc.splitlines():
        stripped = line.strip()
        if stripped == "Overloaded function.":
            continue
        sig = _SIGNATURE.match(line)
        if sig and (sig.group(1) is None or sig.group(1).split(".")[-1] == name):
            continue
        lines.append(line)
    text = "\n".join(lines)
    text = re.sub(r"Members:\s*(\n\s+\w+\s*(:.*)?)*\s*$", "", text)
    return text.strip()


def _is_ours(obj: Any) -> bool:
    """Defined in fastgrad (pybind11's own helper types registered in _C are not)."""
    mod = getattr(obj, "__module__", None) or ""
    if getattr(obj, "__name__", "").startswith("pybind11_"):
        return False
    return mod == "fastgrad" or mod.startswith("fastgrad.")


def _exported(module: types.ModuleType) -> list[str]:
    names = getattr(module, "__all__", None)
    if names is None:
        names = [n for n in vars(module) if not n.startswith("_")]
    return sorted(names)


def _members(cls: type, cls_name: str) -> list[tuple[str, Any, str]]:
    """(canonical name, object, short name) of the documented-API members of ``cls``."""
    out = []
    is_enum = hasattr(cls, "__members__")
    for attr, raw in sorted(vars(cls).items()):
        if attr.startswith("_") or (is_enum and attr in _PYBIND11_ENUM_MEMBERS):
            continue
        obj = raw.__func__ if isinstance(raw, (staticmethod, classmethod)) else raw
        if isinstance(obj, property) or inspect.isroutine(obj) or type(obj).__name__ == "instancemethod":
            out.append((f"{cls_name}.{attr}", obj, attr))
    return out


def collect() -> dict[str, bool]:
    """Canonical name -> has a docstring, for every public module, function, class, method
    and property of fastgrad."""
    found: dict[str, bool] = {}
    seen: set[int] = set()

    def visit_class(cls: type, name: str) -> None:
        found[name] = bool(_own_text(cls.__doc__, cls.__name__))
        for member_name, obj, short in _members(cls, name):
            found[member_name] = bool(_own_text(getattr(obj, "__doc__", None), short))
        for attr, obj in sorted(vars(cls).items()):
            if not attr.startswith("_") and isinstance(obj, type) and _is_ours(obj) and id(obj) not in seen:
                seen.add(id(obj))
                visit_class(obj, f"{name}.{attr}")

    for module in _public_modules():
        found[module.__name__] = bool(_own_text(module.__doc__, ""))
        for attr in _exported(module):
            obj = getattr(module, attr, None)
            if not (inspect.isclass(obj) or inspect.isroutine(obj)) or not _is_ours(obj):
                continue
            if id(obj) in seen:
                continue
            seen.add(id(obj))
            # A pybind11 function's __qualname__ names pybind11's internal record type.
            qual = obj.__name__ if inspect.isbuiltin(obj) else getattr(obj, "__qualname__", attr)
            canonical = f"{obj.__module__}.{qual if '<' not in qual else attr}"
            if inspect.isclass(obj):
                visit_class(obj, canonical)
            else:
                found[canonical] = bool(_own_text(obj.__doc__, obj.__name__))
    return found


def read_allowlist() -> list[str]:
    """The names in tests/docstring_allowlist.txt (``#`` starts a comment)."""
    names = []
    for line in ALLOWLIST.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.append(line)
    return names


def test_every_public_name_has_a_docstring() -> None:
    """Fails listing each public name without a docstring that is not allowlisted."""
    allowed = set(read_allowlist())
    missing = sorted(n for n, ok in collect().items() if not ok and n not in allowed)
    assert not missing, (
        f"{len(missing)} public names have no docstring (say what it does; for tensors, "
        "their shapes):\n  " + "\n  ".join(missing)
    )


def test_allowlist_only_shrinks() -> None:
    """Every allowlisted name still exists and still lacks a docstring, once."""
    names = read_allowlist()
    dupes = sorted({n for n in names if names.count(n) > 1})
    assert not dupes, f"listed twice in {ALLOWLIST.name}: {dupes}"
    found = collect()
    gone = sorted(n for n in names if n not in found)
    documented = sorted(n for n in names if found.get(n))
    assert not gone and not documented, (
        f"delete these lines from tests/{ALLOWLIST.name}:\n"
        + "".join(f"  {n}   (documented now)\n" for n in documented)
        + "".join(f"  {n}   (no longer exists)\n" for n in gone)
    )


def test_checker_sees_bound_tensor_methods() -> None:
    """The walk reaches into the C++ bindings: every public method and property of Tensor
    is checked (a walk that silently skipped them would pass vacuously)."""
    found = collect()
    tensor = fastgrad.Tensor
    assert f"{tensor.__module__}.{tensor.__qualname__}" in found
    public = [
        a
        for a, v in vars(tensor).items()
        if not a.startswith("_") and (isinstance(v, property) or callable(v))
    ]
    assert any(type(vars(tensor)[a]).__name__ == "instancemethod" for a in public)  # bound in C++
    unchecked = [a for a in public if f"{tensor.__module__}.Tensor.{a}" not in found]
    assert not unchecked, unchecked
    assert "fastgrad.nn" in found and "fastgrad.nn.functional" in found and "fastgrad.optim" in found


def test_signature_lines_are_not_docstrings() -> None:
    """pybind11's generated signature text alone does not count as a docstring."""
    assert (
        _own_text("sum(self: fastgrad._C.Tensor, axis: object = None) -> fastgrad._C.Tensor\n", "sum") == ""
    )
    overloaded = (
        "f(*args, **kwargs)\nOverloaded function.\n\n1. f(x: int) -> int\n\n2. f(x: float) -> float\n"
    )
    assert _own_text(overloaded, "f") == ""
    assert _own_text("f(x: int) -> int\n\nAdd one. x: (N,)\n", "f") == "Add one. x: (N,)"
    assert _own_text("Members:\n\n  float32\n\n  float64\n", "dtype") == ""


def _write_allowlist() -> None:
    missing = sorted(n for n, ok in collect().items() if not ok)
    header = (
        "# TEMPORARY allowlist for tests/test_docstrings.py: public names that had no docstring\n"
        "# when the check was introduced. It may only shrink: document a name, then delete its line\n"
        "# (the test fails until you do). Regenerate after a merge with\n"
        "#   PYTHONPATH=python python tests/test_docstrings.py --write-allowlist\n"
    )
    ALLOWLIST.write_text(header + "".join(n + "\n" for n in missing))
    print(f"{ALLOWLIST}: {len(missing)} names")


if __name__ == "__main__":
    if sys.argv[1:] == ["--write-allowlist"]:
        _write_allowlist()
    else:
        found = collect()
        ok = sum(found.values())
        print(f"{ok}/{len(found)} public names documented ({100 * ok / len(found):.0f}%)")
