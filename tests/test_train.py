"""fg.train.fit: accumulation equals the big batch, validation does not update, early stopping."""

import numpy as np
import pytest

import fastgrad as fg
import fastgrad.nn as nn
import fastgrad.nn.functional as F
import fastgrad.optim as optim
from fastgrad.data import DataLoader, TensorDataset
from fastgrad.train import EarlyStopping, evaluate, fit


def A(t):
    return np.asarray(t.detach())


def _data(n=10, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 3)).astype(np.float64)
    Y = (X @ np.array([[1.0], [-2.0], [0.5]]) + 0.3).astype(np.float64)
    return X, Y


def _model():
    fg.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1)).double()


@pytest.mark.parametrize("n,bs,acc", [(10, 3, 4), (10, 3, 2), (9, 3, 3), (7, 2, 3)])
def test_accumulation_equals_big_batch(n, bs, acc):
    X, Y = _data(n)
    m1 = _model()
    o1 = optim.SGD(m1.parameters(), lr=0.1)
    fit(m1, F.mse_loss, o1, DataLoader(TensorDataset(X, Y), bs), epochs=1, accumulate=acc, progress=False)
    # reference: one SGD step per group of `acc` batches on the group's concatenated rows
    m2 = _model()
    o2 = optim.SGD(m2.parameters(), lr=0.1)
    rows = bs * acc
    for a in range(0, n, rows):
        o2.zero_grad()
        F.mse_loss(m2(fg.tensor(X[a : a + rows])), Y[a : a + rows]).backward()
        o2.step()
    for (k, p), (_, q) in zip(m1.named_parameters(), m2.named_parameters()):
        np.testing.assert_allclose(A(p), A(q), rtol=1e-12, atol=1e-13, err_msg=k)


def test_weighted_batches_and_accumulation():
    X, Y = _data(8)
    W = np.array([1.0, 0.0, 2.0, 1.0, 0.5, 0.5, 3.0, 1.0])
    m1 = _model()
    o1 = optim.SGD(m1.parameters(), lr=0.1)
    fit(m1, F.mse_loss, o1, DataLoader(TensorDataset(X, Y, W), 3), epochs=1, accumulate=3, progress=False)
    m2 = _model()
    o2 = optim.SGD(m2.parameters(), lr=0.1)
    F.mse_loss(m2(fg.tensor(X)), Y, sample_weight=W).backward()
    o2.step()
    for p, q in zip(m1.parameters(), m2.parameters()):
        np.testing.assert_allclose(A(p), A(q), rtol=1e-12, atol=1e-13)


def test_validation_does_not_update_and_history():
    X, Y = _data(40)
    m = _model()
    m.add_module("bn", nn.BatchNorm1d(1).double())
    opt = optim.Adam(m.parameters(), lr=1e-2)
    val = DataLoader(TensorDataset(X[:10], Y[:10]), 4)
    before = {k: A(v).copy() for k, v in m.state_dict().items()}
    r1 = evaluate(m, F.mse_loss, val)
    after = {k: A(v) for k, v in m.state_dict().items()}
    for k in before:
        np.testing.assert_array_equal(before[k], after[k])  # incl. BatchNorm running stats
    assert m.training
    assert all(p.grad is None for p in m.parameters())
    r2 = evaluate(m, F.mse_loss, val)
    assert r1["loss"] == r2["loss"]
    h = fit(
        m,
        F.mse_loss,
        opt,
        DataLoader(TensorDataset(X, Y), 8, shuffle=True, seed=0),
        val,
        epochs=3,
        progress=False,
        metrics={"mae": lambda p, y: float(np.abs(A(p) - np.asarray(y)).mean())},
        scheduler=optim.lr_scheduler.StepLR(opt, 1, 0.5),
    )
    assert h["epoch"] == [1, 2, 3] and len(h["val_loss"]) == 3 and len(h["val_mae"]) == 3
    assert h["lr"] == [1e-2, 5e-3, 2.5e-3]
    assert h["train_loss"][-1] < h["train_loss"][0]


def test_early_stopping_restores_best():
    X, Y = _data(30)
    m = _model()
    opt = optim.SGD(m.parameters(), lr=0.05)
    val = DataLoader(TensorDataset(X, Y), 30)
    seen = []

    def cb(epoch, logs):
        seen.append((logs["val_loss"], {k: A(v).copy() for k, v in m.state_dict().items()}))
        if epoch == 2:  # from now on, training makes the model worse
            for g in opt.param_groups:
                g["lr"] = -0.5

    h = fit(
        m,
        F.mse_loss,
        opt,
        DataLoader(TensorDataset(X, Y), 10),
        val,
        epochs=20,
        progress=False,
        early_stopping=EarlyStopping(patience=2),
        callback=cb,
    )
    assert h["stopped_early"] == [True] and len(h["epoch"]) < 20
    best = int(np.argmin([v for v, _ in seen]))
    assert h["best_epoch"] == [best + 1]
    for k, v in m.state_dict().items():
        np.testing.assert_array_equal(A(v), seen[best][1][k])
    np.testing.assert_allclose(evaluate(m, F.mse_loss, val)["loss"], seen[best][0], rtol=1e-12)


def test_clip_ema_and_plain_progress(capsys, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "tqdm", None)
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    X, Y = _data(20)
    m = _model()
    opt = optim.SGD(m.parameters(), lr=0.1)
    ema = optim.EMA(m, 0.5)
    h = fit(
        m,
        F.mse_loss,
        opt,
        DataLoader(TensorDataset(X, Y), 5),
        DataLoader(TensorDataset(X, Y), 20),
        epochs=2,
        clip=0.1,
        ema=ema,
        progress=True,
    )
    err = capsys.readouterr().err
    assert "epoch 1/2" in err and "val_loss" in err
    for k, v in m.state_dict().items():  # the model keeps the averaged weights
        np.testing.assert_allclose(A(v), ema.shadow[k])
    assert len(h["train_loss"]) == 2


def test_user_callback_sees_every_hook_in_order_and_can_stop():
    """A user Callback gets train/epoch/batch/step hooks in order, may add log entries
    (recorded in the history) and stop training by setting state.stop."""
    from fastgrad.train import Callback

    X, Y = _data(10)
    m = _model()
    opt = optim.SGD(m.parameters(), lr=0.05)
    events = []

    class Recorder(Callback):
        def on_train_start(self, state):
            events.append("train_start")

        def on_epoch_start(self, state):
            events.append(("epoch_start", state.epoch))

        def on_batch_end(self, state, loss):
            assert isinstance(loss, float) and loss >= 0
            events.append("batch")

        def on_step_end(self, state):
            events.append(("step", state.step))

        def on_epoch_end(self, state, logs):
            assert "train_loss" in logs and "val_loss" in logs and "lr" in logs
            logs["double_loss"] = 2 * logs["train_loss"]
            events.append(("epoch_end", state.epoch))
            if state.epoch == 1:
                state.stop = True

        def on_train_end(self, state):
            events.append("train_end")

    h = fit(
        m,
        F.mse_loss,
        opt,
        DataLoader(TensorDataset(X, Y), 4),  # 3 batches
        DataLoader(TensorDataset(X, Y), 10),
        epochs=5,
        accumulate=2,  # 2 updates per epoch: after batch 2 and after the short group
        progress=False,
        callbacks=[Recorder()],
    )
    per_epoch = lambda e, s: [
        ("epoch_start", e),
        "batch",
        "batch",
        ("step", s + 1),
        "batch",
        ("step", s + 2),
        ("epoch_end", e),
    ]  # noqa: E731
    assert events == ["train_start", *per_epoch(0, 0), *per_epoch(1, 2), "train_end"]
    assert h["epoch"] == [1, 2] and h["stopped_early"] == [True]
    np.testing.assert_allclose(h["double_loss"], 2 * np.array(h["train_loss"]))


def test_checkpoint_callback_saves_the_best(tmp_path):
    """ModelCheckpoint with a monitor writes only improving epochs; the file loads back."""
    from fastgrad.train import ModelCheckpoint

    X, Y = _data(20)
    m = _model()
    opt = optim.SGD(m.parameters(), lr=0.05)
    ck = ModelCheckpoint(tmp_path / "ck-{epoch}.fg", monitor="val_loss")
    h = fit(
        m,
        F.mse_loss,
        opt,
        DataLoader(TensorDataset(X, Y), 5),
        DataLoader(TensorDataset(X, Y), 20),
        epochs=4,
        progress=False,
        callbacks=[ck],
    )
    v = h["val_loss"]
    improving = [i + 1 for i in range(len(v)) if v[i] < min(v[:i], default=np.inf)]
    assert ck.saved == [str(tmp_path / f"ck-{e}.fg") for e in improving]
    assert improving[-1] == 4
    last = fg.load(ck.saved[-1])
    for k, t in m.state_dict().items():  # the last epoch improved here (training converges)
        np.testing.assert_array_equal(A(last[k]), A(t))


def test_dict_batches_take_sample_weight_or_its_alias_weight():
    X, Y = _data(6)
    W = np.array([1.0, 0.0, 2.0, 1.0, 0.5, 3.0])
    m2 = _model()
    o2 = optim.SGD(m2.parameters(), lr=0.1)
    F.mse_loss(m2(fg.tensor(X)), Y, sample_weight=W).backward()
    o2.step()
    for key in ("sample_weight", "weight"):
        m1 = _model()
        o1 = optim.SGD(m1.parameters(), lr=0.1)
        fit(m1, nn.MSELoss(), o1, [{"x": fg.tensor(X), "y": Y, key: W}], epochs=1, progress=False)
        for p, q in zip(m1.parameters(), m2.parameters()):
            np.testing.assert_allclose(A(p), A(q), rtol=1e-12, atol=1e-13)
    with pytest.raises(ValueError, match="both"):
        fit(
            _model(),
            F.mse_loss,
            optim.SGD(_model().parameters(), lr=0.1),
            [{"x": fg.tensor(X), "y": Y, "weight": W, "sample_weight": W}],
            epochs=1,
            progress=False,
        )
