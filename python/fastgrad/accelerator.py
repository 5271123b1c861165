"""``fg.accelerator``: PyTorch's device-agnostic accelerator queries, for a CPU library.

Programs written for torch ≥ 2.6 pick their device with
``torch.accelerator.is_available()``; fastgrad has no accelerator, so they take their CPU
branch unchanged.
"""

from __future__ import annotations

from ._device import device


def is_available() -> bool:
    """False: fastgrad runs on the CPU only."""
    return False


def device_count() -> int:
    """0: there is no accelerator."""
    return 0


def current_accelerator(check_available: bool = False) -> device | None:
    """None, as PyTorch returns when no accelerator exists."""
    return None
