"""``fastgrad.utils``: PyTorch's ``torch.utils`` paths (``fastgrad.utils.data``)."""

from __future__ import annotations

from . import data

__all__ = ["data"]
