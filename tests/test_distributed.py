"""fg.distributed, DistributedDataParallel, DistributedSampler and fit(distributed=...).

The MPI tests spawn ``mpirun -n 2``/``-n 3 --oversubscribe`` on tests/_distributed_worker.py
and compare rank 0's results with the same worker run as one plain process (float64).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

import fastgrad as fg
from fastgrad.data import DistributedSampler

HERE = os.path.dirname(os.path.abspath(__file__))
WORKER = os.path.join(HERE, "_distributed_worker.py")
# The children import the fastgrad this process imported (the source tree here, the
# installed wheel in CI), never whichever a path guess would find.
PYPATH = os.path.dirname(os.path.dirname(os.path.abspath(fg.__file__)))


def _have_mpi() -> bool:
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return False
    return shutil.which("mpirun") is not None


# Skipped only off CI: in CI (which installs the test extra's MPI wheels) a missing MPI
# fails, so these tests can never pass by not running.
needs_mpi = pytest.mark.skipif(
    not _have_mpi() and not os.environ.get("CI"), reason="mpi4py / mpirun not installed"
)


def _env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = PYPATH + os.pathsep + env.get("PYTHONPATH", "")
    env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMP_NUM_THREADS="1")
    env.setdefault("OMPI_MCA_rmaps_base_oversubscribe", "1")
    return env


def _run(case: str, n: int, tmp_path, timeout: float = 120, extra_env=None) -> subprocess.CompletedProcess:
    out = str(tmp_path / f"{case}-{n}.npz")
    env = _env()
    env.update(extra_env or {})
    if n == 1:
        cmd = [sys.executable, WORKER, case, out]
    else:
        cmd = ["mpirun", "-n", str(n), "--oversubscribe", sys.executable, WORKER, case, out]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)


def _results(case: str, n: int, tmp_path, **kw) -> dict:
    p = _run(case, n, tmp_path, **kw)
    assert p.returncode == 0, f"{case} on {n} ranks failed:\n{p.stdout}\n{p.stderr}"
    with np.load(tmp_path / f"{case}-{n}.npz") as z:
        return {k: z[k] for k in z.files}


# ------------------------------------------------------------------ without MPI
def test_import_without_mpi4py_names_the_extra():
    code = (
        "import sys; sys.modules['mpi4py'] = None\n"
        "import fastgrad as fg, fastgrad.distributed as d\n"
        "assert d.rank() == 0 and d.world_size() == 1 and not d.is_initialized()\n"
        "try:\n    d.init()\nexcept ImportError as e:\n    print('ERR', e)\n"
    )
    env = {k: v for k, v in _env().items() if not k.startswith(("OMPI_COMM", "PMI", "SLURM"))}
    p = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert 'pip install "fastgrad[distributed]"' in p.stdout


def test_lazy_attribute_and_world_from_env(monkeypatch):
    assert fg.distributed.__name__ == "fastgrad.distributed"
    d = fg.distributed
    for k in ("OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK", "PMI_SIZE", "PMIX_SIZE", "SLURM_NTASKS"):
        monkeypatch.delenv(k, raising=False)
    assert (d.world_size(), d.rank(), d.launched()) == (1, 0, False)
    monkeypatch.setenv("SLURM_NTASKS", "4")
    monkeypatch.setenv("SLURM_PROCID", "2")
    assert (d.world_size(), d.rank(), d.launched()) == (4, 2, True)


@pytest.mark.parametrize("n", [0, 1, 7, 10, 11])
@pytest.mark.parametrize("replicas", [1, 3, 4])
@pytest.mark.parametrize("drop_last", [False, True])
def test_distributed_sampler_partitions_like_torch(n, replicas, drop_last):
    import torch.utils.data as tud

    ds = list(range(n))
    mine = [
        list(DistributedSampler(ds, replicas, r, shuffle=False, drop_last=drop_last)) for r in range(replicas)
    ]
    ref = [
        list(tud.DistributedSampler(ds, replicas, r, shuffle=False, drop_last=drop_last))
        for r in range(replicas)
    ]
    assert mine == ref
    assert [len(DistributedSampler(ds, replicas, r, drop_last=drop_last)) for r in range(replicas)] == [
        len(x) for x in ref
    ]


def test_distributed_sampler_shuffle_is_shared_and_per_epoch():
    ds = list(range(23))
    s = [DistributedSampler(ds, 3, r, shuffle=True, seed=7) for r in range(3)]
    e0 = [list(x) for x in s]
    flat = sorted(sum(e0, []))
    assert len(flat) == 24 and set(flat) == set(range(23))  # one index padded
    assert e0 == [list(DistributedSampler(ds, 3, r, shuffle=True, seed=7)) for r in range(3)]
    for x in s:
        x.set_epoch(1)
    e1 = [list(x) for x in s]
    assert e1 != e0 and set(sum(e1, [])) == set(range(23))
    with pytest.raises(ValueError, match="Invalid rank"):
        DistributedSampler(ds, 3, 3)
    with pytest.raises(TypeError):
        DistributedSampler(ds, 3, 1.5)


def test_ddp_world_of_one_is_the_bare_model():
    fg.manual_seed(0)
    m = fg.nn.Linear(3, 2).double()
    ddp = fg.nn.parallel.DistributedDataParallel(m)
    assert ddp.module is m
    assert list(ddp.state_dict()) == list(m.state_dict())
    x = fg.randn(4, 3, dtype=fg.float64)
    ddp(x).sum().backward()
    g = np.asarray(m.weight.grad).copy()
    m.zero_grad()
    m(x).sum().backward()
    np.testing.assert_array_equal(g, np.asarray(m.weight.grad))
    with pytest.raises(NotImplementedError):
        fg.nn.parallel.DistributedDataParallel(m, find_unused_parameters=True)


# ------------------------------------------------------------------ under mpirun
@needs_mpi
def test_collectives(tmp_path):
    for n in (2, 3):
        res = _results("collectives", n, tmp_path)
        # rank 0 waited ~1 s in MPI while a Python thread kept counting: the GIL was free
        assert res["gil_waited"] > 0.5
        assert res["gil_ticks"] > 10000, res


@needs_mpi
@pytest.mark.parametrize("n", [2, 3])
def test_ddp_matches_one_process(tmp_path, n):
    ref = _results("ddp", 1, tmp_path)
    got = _results("ddp", n, tmp_path)
    np.testing.assert_allclose(got["losses"], ref["losses"], rtol=1e-6, atol=0)
    np.testing.assert_allclose(got["weights"], ref["weights"], rtol=1e-6, atol=1e-12)
    # the reduction order differs from one process's (per-rank partial sums), so not bitwise
    assert np.max(np.abs(got["weights"] - ref["weights"])) < 1e-12


@needs_mpi
def test_ddp_no_sync_accumulation_equals_big_batch(tmp_path):
    ref = _results("no_sync", 1, tmp_path)
    for n in (2, 3):
        got = _results("no_sync", n, tmp_path)
        np.testing.assert_allclose(got["grads"], ref["grads"], rtol=1e-6, atol=1e-14)


@needs_mpi
def test_fit_under_mpirun_matches_one_process(tmp_path):
    ref = _results("fit", 1, tmp_path)
    for n in (2, 3):
        got = _results("fit", n, tmp_path)
        for k in ("train_loss", "val_loss", "val_acc", "weights"):
            np.testing.assert_allclose(got[k], ref[k], rtol=1e-6, atol=1e-12, err_msg=f"{k}, {n} ranks")


@needs_mpi
def test_fit_with_distributed_sampler_matches_the_union_batches(tmp_path):
    for n in (2, 3):
        ref = _results("fit_sampler", 1, tmp_path, extra_env={"FG_REPLICAS": str(n)})
        got = _results("fit_sampler", n, tmp_path)
        for k in ("train_loss", "weights"):
            np.testing.assert_allclose(got[k], ref[k], rtol=1e-6, atol=1e-12, err_msg=f"{k}, {n} ranks")


@needs_mpi
@pytest.mark.parametrize("case", ["die", "raise"])
def test_a_dying_rank_ends_the_job(tmp_path, case):
    t0 = time.perf_counter()
    p = _run(case, 2, tmp_path, timeout=90)
    took = time.perf_counter() - t0
    assert p.returncode != 0
    assert took < 60, f"took {took:.1f}s"
    text = p.stdout + p.stderr
    if case == "raise":
        assert "boom on rank 1" in text and "aborting the MPI job" in text
    else:
        assert "exit" in text.lower()


@needs_mpi
def test_cli_trains_digits_cnn_data_parallel_with_one_output(tmp_path):
    if not os.environ.get("CI"):  # CI installs the examples extra: there it must run
        pytest.importorskip("sklearn")
    out = tmp_path / "runs"
    cmd = ["mpirun", "-n", "2", "--oversubscribe", sys.executable, "-m", "fastgrad", "train", "digits_cnn"]
    p = subprocess.run(
        cmd + ["--epochs", "2", "--out", str(out)], env=_env(), capture_output=True, text=True, timeout=300
    )
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.stdout.count("[1/1] digits_cnn") == 1  # rank 0 prints, rank 1 is silent
    assert p.stdout.count("test accuracy =") == 1
    assert p.stderr.count("digits 2/2: train_loss=") == 1  # one bar, one line per epoch
    assert p.stderr.count("digits 1/2:   0%") <= 1  # the bar (with tqdm) is rank 0's alone
    assert (out / "digits_cnn" / "model.fg").exists()
    ck = fg.load(str(out / "digits_cnn" / "model.fg"))
    assert len(ck["history"]["train_loss"]) == 2
