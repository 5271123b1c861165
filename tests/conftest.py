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


@pytest.fixture
def one_thread():
    """Runs the test with one OpenMP thread, then restores the count."""
    n = fg.get_num_threads()
    fg.set_num_threads(1)
    yield
    fg.set_num_threads(n)


def pytest_sessionstart(session):
    """In CI the torch and jax oracles are mandatory: tests that compare against them
    must not skip there (they could never fail). Locally they stay optional."""
    import importlib.util
    import os

    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        missing = [m for m in ("torch", "jax", "safetensors") if importlib.util.find_spec(m) is None]
        if missing:
            pytest.exit(f"CI: oracle package(s) {missing} not installed; .ci/run installs them", returncode=1)
