"""The tree's seams, checked (issue 11): one wrapper of the extension, thin bindings,
no import cycle among fastgrad's modules.

These read the source tree, so they run from a checkout (CI runs them on a fresh clone).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "python" / "fastgrad"
BINDINGS = ROOT / "cpp" / "bindings"

pytestmark = pytest.mark.skipif(not PKG.is_dir(), reason="needs the source tree")


def _modules() -> dict[str, Path]:
    """Dotted module name -> file, for every module of the package."""
    out = {}
    for f in sorted(PKG.rglob("*.py")):
        parts = list(f.relative_to(PKG.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = f
    return out


def _resolve(mod: str, is_pkg: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = mod.split(".") if is_pkg else mod.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(mod: str, path: Path, known: dict[str, Path]) -> set[str]:
    """fastgrad modules `mod` imports anywhere: at module level or inside a function (a
    function-local import only postpones a cycle, it does not remove it)."""
    tree = ast.parse(path.read_text(), str(path))
    is_pkg = path.name == "__init__.py"
    deps: set[str] = set()

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            deps.update(a.name for a in node.names if a.name.startswith("fastgrad"))
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(mod, is_pkg, node)
            if not target.startswith("fastgrad"):
                continue
            for a in node.names:  # `from . import nn` imports the submodule fastgrad.nn
                sub = f"{target}.{a.name}"
                deps.add(sub if sub in known else target)
    deps.discard(mod)
    return {d for d in deps if d in known}


def test_no_import_cycle_among_fastgrad_modules():
    known = _modules()
    graph = {m: _imports(m, p, known) for m, p in known.items()}
    # A package importing its own submodules is how packages work, not a cycle: drop the
    # edges from a submodule back to a package that contains it.
    for m, deps in graph.items():
        graph[m] = {d for d in deps if not m.startswith(d + ".")}
    state: dict[str, int] = {}
    stack: list[str] = []

    def dfs(m: str) -> list[str] | None:
        state[m] = 1
        stack.append(m)
        for d in sorted(graph[m]):
            if state.get(d) == 1:
                return stack[stack.index(d) :] + [d]
            if d not in state and (cyc := dfs(d)):
                return cyc
        stack.pop()
        state[m] = 2
        return None

    for m in sorted(graph):
        if m not in state and (cycle := dfs(m)):
            pytest.fail("import cycle: " + " -> ".join(cycle))


def test_only_ops_py_touches_the_extension():
    offenders = []
    for mod, path in _modules().items():
        if mod == "fastgrad.ops":
            continue
        for i, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            if re.search(r"\b_C\.", code) or re.search(r"import\s+_C\b|from\s+\.+_C\b|\._C\b", code):
                offenders.append(f"{path.relative_to(ROOT)}:{i}: {line.strip()}")
    assert not offenders, "only fastgrad/ops.py may use the extension (_C):\n" + "\n".join(offenders)


def test_binding_files_stay_small():
    sizes = {f.name: len(f.read_text().splitlines()) for f in BINDINGS.glob("*.cpp")}
    sizes.update({f.name: len(f.read_text().splitlines()) for f in BINDINGS.glob("*.h")})
    big = {k: v for k, v in sizes.items() if v > 300}
    assert sizes and not big, f"binding files over 300 lines: {big}"
