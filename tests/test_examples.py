"""End-to-end: the digits CNN reaches >= 90% within 6 epochs; the CLI runs and writes its outputs."""

import json
import os

import pytest

from fastgrad.io import load


def test_digits_cnn_reaches_90_percent(tmp_path, one_thread):
    pytest.importorskip("sklearn")
    from fastgrad.examples import digits_cnn

    r = digits_cnn(epochs=6, out=str(tmp_path), seed=0, progress=False)
    assert r.value >= 0.90, r
    ck = load(tmp_path / "digits_cnn" / "model.fg")
    assert "features.0.weight" in ck["model"] and ck["history"]["epoch"][-1] == r.epochs


def test_cli_list_and_train(tmp_path, capsys, one_thread):
    pytest.importorskip("matplotlib")
    from fastgrad.cli import main

    assert main(["list"]) == 0
    assert "digits_cnn" in capsys.readouterr().out
    assert main(["train", "housing", "binary", "--epochs", "3", "--out", str(tmp_path), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "housing" in out and "test accuracy" in out
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert set(summary) == {"housing", "binary"}
    for name in ("housing", "binary"):
        files = os.listdir(tmp_path / name)
        assert "loss.png" in files and "model.fg" in files
    assert "confusion.png" in os.listdir(tmp_path / "binary")
    assert main(["train", "nope"]) == 2


def test_regression_examples_learn(tmp_path, one_thread):
    from fastgrad.examples import experiment, housing

    assert housing(epochs=15, out=str(tmp_path), progress=False).value > 0.95
    r = experiment(epochs=8, out=str(tmp_path), progress=False)
    assert r.value > 0.8, r
