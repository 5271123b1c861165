"""The one device of a CPU library: ``fg.device("cpu")`` and the check every ``device=``
keyword goes through (factories, ``Tensor.to``, layer constructors), so PyTorch code that
passes ``device="cpu"`` or ``device=torch_like.device`` runs and anything else fails clearly."""

from __future__ import annotations

from typing import Any


class device:  # noqa: N801  (PyTorch's spelling: fg.device("cpu"))
    """A device: only ``"cpu"`` (index 0 or none) exists in fastgrad."""

    __slots__ = ("type", "index")
    type: str
    index: int | None

    def __init__(self, spec: Any = "cpu", index: int | None = None) -> None:
        if isinstance(spec, device):
            spec, index = spec.type, spec.index if index is None else index
        if not isinstance(spec, str):
            raise TypeError(f"fg.device: expected a string such as 'cpu', got {type(spec).__name__}")
        kind, _, idx = spec.partition(":")
        if idx:
            if not idx.isdigit():
                raise ValueError(f"fg.device: invalid device string {spec!r}")
            index = int(idx)
        if kind != "cpu" or index not in (None, 0):
            raise ValueError(f"fg.device: fastgrad runs on the CPU only; got device {spec!r}")
        self.type = "cpu"
        self.index = index

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            try:
                other = device(other)
            except (TypeError, ValueError):
                return False
        return isinstance(other, device) and other.type == self.type

    def __hash__(self) -> int:
        return hash(self.type)

    def __repr__(self) -> str:
        return "device(type='cpu')"

    def __str__(self) -> str:
        return "cpu"


def check_device(dev: Any, where: str) -> None:
    """Accepts None, "cpu", "cpu:0", fg.device("cpu") or any object whose ``type`` is "cpu"
    (a torch.device); raises ValueError naming `where` for anything else (e.g. "cuda")."""
    if dev is None or isinstance(dev, device):
        return
    spec: Any
    if isinstance(dev, str):
        spec = dev
    else:  # a torch.device-like object: its type and index
        kind, index = getattr(dev, "type", None), getattr(dev, "index", None)
        spec = kind if not isinstance(kind, str) or index is None else f"{kind}:{index}"
    try:
        device(spec)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: fastgrad runs on the CPU only; got device={dev!r}") from None
