"""``fastgrad.utils``: PyTorch's ``torch.utils`` paths (``fastgrad.utils.data``)."""

from __future__ import annotations

from . import checkpoint, data

__all__ = ["checkpoint", "data"]
