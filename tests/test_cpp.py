"""Builds the C++ unit tests (GoogleTest) with CMake and runs them through ctest,
so the README's single test command covers C++ and Python alike."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "build" / "cpp-tests"


def _have_gtest() -> bool:
    return Path("/usr/include/gtest/gtest.h").exists() or Path("/usr/local/include/gtest/gtest.h").exists()


@pytest.mark.skipif(
    not (ROOT / "cpp" / "tests").is_dir(), reason="C++ sources not present (installed package)"
)
def test_cpp_unit_tests():
    if shutil.which("cmake") is None or not _have_gtest():
        if os.environ.get("CI"):
            pytest.fail("cmake and GoogleTest (libgtest-dev) are required in CI")
        pytest.skip("cmake or GoogleTest not installed (apt-get install libgtest-dev)")
    gen = ["-G", "Ninja"] if shutil.which("ninja") else []
    subprocess.run(
        [
            "cmake",
            "-S",
            str(ROOT),
            "-B",
            str(BUILD),
            *gen,
            "-DCMAKE_BUILD_TYPE=Release",
            "-DFASTGRAD_BUILD_PYTHON=OFF",
            "-DFASTGRAD_BUILD_TESTS=ON",
            f"-DPython_EXECUTABLE={sys.executable}",
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    build = subprocess.run(["cmake", "--build", str(BUILD), "-j", "2"], capture_output=True, text=True)
    assert build.returncode == 0, build.stdout[-4000:] + build.stderr[-4000:]
    run = subprocess.run(
        ["ctest", "--test-dir", str(BUILD), "--output-on-failure", "-j", "2"],
        capture_output=True,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "2"},
    )
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
