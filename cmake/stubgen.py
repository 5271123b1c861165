"""Write the type stub of fastgrad's extension module (``_C.pyi``) from a built ``_C*.so``.

Usage: ``python cmake/stubgen.py <built _C*.so> <output _C.pyi>`` (CMake runs it after
linking ``_C``; see CMakeLists.txt).

The extension is imported on its own, from a throwaway ``fastgrad`` package that holds only
the .so, so the stub describes exactly what the C++ bindings declare (names, signatures,
docstrings) and nothing the Python package adds at import time. Any name pybind11-stubgen
cannot resolve fails the step: a stub with holes would silently turn types into ``Any``.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path


def _parser():  # -> pybind11_stubgen.parser.interface.IParser
    """pybind11-stubgen's default parser with two fixes for fastgrad's names."""
    from pybind11_stubgen import CLIArgs, arg_parser, stub_parser_from_args
    from pybind11_stubgen.parser.interface import IParser
    from pybind11_stubgen.parser.mixins.fix import FixNumpyDtype
    from pybind11_stubgen.structs import Class, Import, Module, QualifiedName, ResolvedType

    class KeepFastgradDtype(IParser):
        """Like FixNumpyDtype, but only for ``numpy.dtype``.

        The stock fixer also rewrites a bare ``dtype`` to ``numpy.dtype[Any]``, and the
        module-prefix fixer has already shortened ``fastgrad._C.dtype`` (our enum) to
        exactly that, so ``Tensor.dtype`` would be typed as a NumPy dtype.
        """

        def parse_annotation_str(self, annotation_str: str):  # type: ignore[no-untyped-def]
            result = super().parse_annotation_str(annotation_str)
            if isinstance(result, ResolvedType) and not result.parameters:
                if result.name[:2] == ("numpy", "dtype"):
                    result.parameters = [self.parse_annotation_str("typing.Any")]
            return result

    class QualifyBoolInDtype(IParser):
        """Inside ``class dtype`` the enum member ``dtype.bool`` shadows the builtin, and
        inside ``class Tensor`` the methods ``int()``, ``bool()``, ``float()`` do, so
        ``-> bool`` there must be spelled ``builtins.bool`` (and likewise int, float)."""

        _shadowed: frozenset[str] = frozenset()

        def handle_class(self, path: QualifiedName, class_: type) -> Class | None:
            names = frozenset(n for n in ("bool", "int", "float") if hasattr(class_, n))
            old, self._shadowed = self._shadowed, names
            try:
                return super().handle_class(path, class_)
            finally:
                self._shadowed = old

        def parse_annotation_str(self, annotation_str: str):  # type: ignore[no-untyped-def]
            result = super().parse_annotation_str(annotation_str)
            self._qualify(result)
            return result

        def _qualify(self, result: object) -> None:
            if isinstance(result, ResolvedType):
                if len(result.name) == 1 and str(result.name[0]) in self._shadowed:
                    result.name = QualifiedName.from_str("builtins." + str(result.name[0]))
                for p in result.parameters or []:
                    self._qualify(p)

        def handle_module(self, path: QualifiedName, module: object) -> Module | None:
            result = super().handle_module(path, module)  # type: ignore[arg-type]
            if result is not None:
                result.imports.add(Import(name=None, origin=QualifiedName.from_str("builtins")))
            return result

    class InstanceMethodsAreMethods(IParser):
        """An op bound once as ``fg.<op>`` and ``Tensor.<op>`` (``def_op`` in
        cpp/bindings/convert.h) sits in the class as an ``instancemethod`` wrapper, which
        pybind11-stubgen prints as a staticmethod; its first parameter is ``self``."""

        def handle_class(self, path: QualifiedName, class_: type) -> Class | None:
            result = super().handle_class(path, class_)
            if result is not None:
                wrapped = {k for k, v in vars(class_).items() if type(v).__name__ == "instancemethod"}
                for m in result.methods:
                    if m.modifier == "static" and str(m.function.name) in wrapped:
                        m.modifier = None
            return result

    args = arg_parser().parse_args(["--exit-code", "fastgrad._C"], namespace=CLIArgs())
    stock = type(stub_parser_from_args(args))
    bases = tuple(KeepFastgradDtype if b is FixNumpyDtype else b for b in stock.__bases__)
    if bases == stock.__bases__:
        raise SystemExit("stubgen.py: pybind11-stubgen changed (no FixNumpyDtype); update cmake/stubgen.py")
    return type("FastgradStubParser", (InstanceMethodsAreMethods, QualifyBoolInDtype, *bases), {})()


def main(so_path: str, out_path: str) -> None:
    """Import the built extension alone and write its stub to ``out_path``."""
    from pybind11_stubgen import Printer, Writer, run

    so = Path(so_path).resolve()
    out = Path(out_path).resolve()
    with tempfile.TemporaryDirectory(prefix="fastgrad-stubgen-") as tmp:
        pkg = Path(tmp, "pkg", "fastgrad")
        pkg.mkdir(parents=True)
        (pkg / "__init__.py").write_text("")
        (pkg / so.name).symlink_to(so)
        sys.path.insert(0, str(pkg.parent))
        sys.modules.pop("fastgrad", None)
        run(
            _parser(),
            Printer(invalid_expr_as_ellipses=True),
            ["fastgrad._C"],
            str(Path(tmp, "out")),
            root_suffix=None,
            dry_run=False,
            writer=Writer(stub_ext="pyi"),
        )
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(Path(tmp, "out", "fastgrad", "_C.pyi")), str(out))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    main(sys.argv[1], sys.argv[2])
