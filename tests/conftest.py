"""Shared pytest setup: every test starts from a known RNG state and grad mode on."""
from __future__ import annotations

import numpy as np
import pytest

import fastgrad as fg


@pytest.fixture(autouse=True)
def _fresh_state():
    fg.manual_seed(0)
    prev = fg._C.grad_enabled()
    fg._C.set_grad_enabled(True)
    yield
    fg._C.set_grad_enabled(prev)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)
